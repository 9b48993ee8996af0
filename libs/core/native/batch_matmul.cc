// Batched float32 matrix product for the TensorFlow.js wasm and cpu backends.
//
// Why: the stock wasm BatchMatMul only takes XNNPACK's fast path when the right operand has
// batch 1 (shared weights); with per-user weights [B, in, out] (batched adaptation) it falls
// back to a naive loop that runs ~10x slower than its 2-D product. This kernel computes
// out[b] = op(A[b]) * op(B[b]) with a register-blocked micro-kernel (4 rows x 16 columns),
// compiled for AVX2+FMA with a portable fallback chosen at load time (GCC target_clones); large
// products are split over a small thread pool.
//
// JS API: batchMatMul(a, b, out, batchA, batchB, m, k, n, transposeA, transposeB[, c, batchC,
// alpha]); reluGrad(dy, z, out); `threads` (the pool size) and `minParallelWork`
// (multiply-accumulates above which a product is split).
//   a, b, out, c: Float32Array (views on the backend's heap are fine); batchA/batchB/batchC are
//   1 or the common batch size (a batch of 1 broadcasts); op(X) = X^T when the flag is set.
//   With c, out[b] = c[b] + alpha * op(A[b]) * op(B[b]): a gradient step on per-user weights in
//   one pass, instead of a product and then a subtraction over the whole [B, in, out] tensor.
//   reluGrad: out = z > 0 ? dy : 0 (the backward pass of ReLU, fused).
//   addRowsRelu(x, xBatch, r0, r0Batch, r1 | null, r1Batch, out, batch, s, h): a dense layer's
//   bias and ReLU in one pass, out[b, i, :] = max(0, x[b, i, :] + r0[b, :] + r1[b, :]), each
//   operand's batch 1 or `batch` (1 broadcasts); large calls are split over the threads.
// The half-precision scan (toHalf, halfMatVec) is in half_scan.cc, rowsAtLeast in rows_at_least.cc.
#include <node_api.h>

#include "napi_args.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

void RegisterHalfScan(napi_env env, napi_value exports);    // half_scan.cc
void RegisterRowsAtLeast(napi_env env, napi_value exports);  // rows_at_least.cc

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WS_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WS_MULTIVERSION
#endif

typedef float v8 __attribute__((vector_size(32), aligned(4)));

// Where a product's results go: c[i] = acc, or c[i] = cin[i] + alpha * acc when cin is set.
struct Sink {
  float* c;
  const float* cin;
  float alpha;
  inline void put(std::ptrdiff_t i, v8 acc) const {
    if (cin) acc = *reinterpret_cast<const v8*>(cin + i) + alpha * acc;
    *reinterpret_cast<v8*>(c + i) = acc;
  }
  inline void put(std::ptrdiff_t i, float acc) const { c[i] = cin ? cin[i] + alpha * acc : acc; }
  Sink offset(std::ptrdiff_t i) const { return {c + i, cin ? cin + i : nullptr, alpha}; }
};

// C[m x n] = A * Bp for one batch, where Bp is row-major k x n and A(i, p) = a[i * ars + p * acs].
WS_MULTIVERSION
void gemm(const float* a, std::ptrdiff_t ars, std::ptrdiff_t acs, const float* bp, const Sink& c,
          int m, int k, int n) {
  const int n16 = n - n % 16;
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const float* a0 = a + i * ars;
    for (int j = 0; j < n16; j += 16) {
      v8 c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {};
      for (int p = 0; p < k; ++p) {
        const v8 b0 = *reinterpret_cast<const v8*>(bp + p * n + j);
        const v8 b1 = *reinterpret_cast<const v8*>(bp + p * n + j + 8);
        const float* ap = a0 + p * acs;
        const float x0 = ap[0], x1 = ap[ars], x2 = ap[2 * ars], x3 = ap[3 * ars];
        c00 += x0 * b0; c01 += x0 * b1;
        c10 += x1 * b0; c11 += x1 * b1;
        c20 += x2 * b0; c21 += x2 * b1;
        c30 += x3 * b0; c31 += x3 * b1;
      }
      const std::ptrdiff_t r = i * n + j;
      c.put(r, c00); c.put(r + 8, c01);
      c.put(r + n, c10); c.put(r + n + 8, c11);
      c.put(r + 2 * n, c20); c.put(r + 2 * n + 8, c21);
      c.put(r + 3 * n, c30); c.put(r + 3 * n + 8, c31);
    }
  }
  for (; i < m; ++i) {
    const float* ai = a + i * ars;
    for (int j = 0; j < n16; j += 16) {
      v8 c0 = {}, c1 = {};
      for (int p = 0; p < k; ++p) {
        const float x = ai[p * acs];
        c0 += x * *reinterpret_cast<const v8*>(bp + p * n + j);
        c1 += x * *reinterpret_cast<const v8*>(bp + p * n + j + 8);
      }
      c.put(i * n + j, c0);
      c.put(i * n + j + 8, c1);
    }
  }
  if (n16 == n) return;
  // Remaining columns (n % 16, e.g. the one-unit output layer). With contiguous A rows these are
  // dot products against the packed tail columns of B, 8 lanes at a time; otherwise plain loops.
  const int nt = n - n16;
  if (acs == 1) {
    std::vector<float> bt(static_cast<size_t>(nt) * k);
    for (int p = 0; p < k; ++p)
      for (int jj = 0; jj < nt; ++jj) bt[jj * k + p] = bp[p * n + n16 + jj];
    const int k8 = k - k % 8;
    for (int r = 0; r < m; ++r) {
      const float* ar = a + r * ars;
      for (int jj = 0; jj < nt; ++jj) {
        const float* bj = bt.data() + jj * k;
        v8 acc = {};
        for (int p = 0; p < k8; p += 8)
          acc += *reinterpret_cast<const v8*>(ar + p) * *reinterpret_cast<const v8*>(bj + p);
        float sum = 0.0f;
        for (int l = 0; l < 8; ++l) sum += acc[l];
        for (int p = k8; p < k; ++p) sum += ar[p] * bj[p];
        c.put(r * n + n16 + jj, sum);
      }
    }
    return;
  }
  for (int r = 0; r < m; ++r) {
    const float* ar = a + r * ars;
    for (int j = n16; j < n; ++j) {
      float sum = 0.0f;  // a local accumulator: summing into c[] would serialise on stores
      for (int p = 0; p < k; ++p) sum += ar[p * acs] * bp[p * n + j];
      c.put(r * n + j, sum);
    }
  }
}

// dst (cols x rows) = src (rows x cols)^T, in 8 x 8 tiles so reads and writes both stay in cache lines.
void transpose(const float* src, float* dst, int rows, int cols) {
  for (int r0 = 0; r0 < rows; r0 += 8) {
    const int r1 = r0 + 8 < rows ? r0 + 8 : rows;
    for (int c0 = 0; c0 < cols; c0 += 8) {
      const int c1 = c0 + 8 < cols ? c0 + 8 : cols;
      for (int r = r0; r < r1; ++r)
        for (int c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
    }
  }
}

/** One BatchMatMul call: out[s] = [c[s] + alpha *] op(a[s]) * op(b[s]), a batch of 1 broadcasting. */
struct Job {
  const float* a;
  const float* b;
  float* out;
  size_t batchA, batchB, m, k, n;
  bool ta, tb;
  const float* c;  // nullable
  size_t batchC;
  float alpha;
  Sink sink(size_t s) const {
    return {out + s * m * n, c ? c + (batchC == 1 ? 0 : s * m * n) : nullptr, alpha};
  }
  // A(i, p) = a[i * ars + p * acs]: row-major m x k, or stored k x m when transposed.
  std::ptrdiff_t ars() const { return ta ? 1 : k; }
  std::ptrdiff_t acs() const { return ta ? m : 1; }
};

void runBatches(const Job& j, size_t s0, size_t s1) {
  std::vector<float> packed(j.tb ? j.k * j.n : 0);
  for (size_t s = s0; s < s1; ++s) {
    const float* as = j.a + (j.batchA == 1 ? 0 : s * j.m * j.k);
    const float* bs = j.b + (j.batchB == 1 ? 0 : s * j.k * j.n);
    if (j.tb && (s == s0 || j.batchB != 1)) {
      // B stored n x k: transpose into row-major k x n once per distinct B (measured faster than
      // computing dot products along k, whose horizontal sums dominate at these widths).
      transpose(bs, packed.data(), j.n, j.k);
    }
    gemm(as, j.ars(), j.acs(), j.tb ? packed.data() : bs, j.sink(s), j.m, j.k, j.n);
  }
}

// Products below this many multiply-accumulates (~60 us of work) run on the calling thread
// alone. (With threads that slept, 8M was the break-even; since the caller no longer waits for
// a thread to wake, see Pool, 2M measured faster: MeLU's 256-user adaptation 12,100-12,900
// users/s against 11,200-12,200.)
constexpr double kMinParallelWork = 1 << 21;

/**
 * A fixed set of threads that help the calling (JavaScript) thread with one call at a time. The
 * call is cut into chunks; the caller and every pool thread that is awake claim chunks from a
 * shared counter until none are left, and the caller returns once all are done (so the
 * operands cannot move meanwhile). Size: WARMSTART_NATIVE_THREADS, else the core count (at
 * most 4). Never destroyed.
 *
 * Why chunks and spinning: waking a sleeping thread was measured at 0.1-0.5 ms on a virtual
 * machine, longer than a whole 20 x 64 x 64 product for 256 users. With claimed chunks the
 * caller never waits for a thread to wake (it does the chunks itself if none has), and threads
 * spin for up to kSpin after their last chunk, so an adaptation's back-to-back products find
 * them awake.
 */
class Pool {
 public:
  static constexpr auto kSpin = std::chrono::microseconds(200);

  explicit Pool(int size) : size_(size) {
    for (int t = 1; t < size; ++t) std::thread([this] { work(); }).detach();
  }
  int size() const { return size_; }
  /** How many chunks to cut `units` independent units of work into. */
  int chunks(size_t units) const { return static_cast<int>(std::min<size_t>(units, size_ * 4)); }

  /** Runs fn(0 .. chunks-1), each once, on the caller and the awake threads. */
  void run(int chunks, const std::function<void(int)>& fn) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || size_ == 1 || chunks <= 1) {  // another JS thread holds the pool
      for (int i = 0; i < chunks; ++i) fn(i);
      return;
    }
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      chunks_ = chunks;
      completed_.store(0, std::memory_order_relaxed);
      gen = ++generation_;
      claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
      published_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();
    int mine = 0;
    for (int i; (i = claim(gen, chunks)) >= 0; ++mine) fn(i);
    auto finished = [&] { return completed_.load(std::memory_order_acquire) == chunks; };
    if (completed_.fetch_add(mine, std::memory_order_acq_rel) + mine == chunks) return;
    if (!spinUntil(finished)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, finished);
    }
  }

 private:
  /** The next unclaimed chunk of job `gen`, or -1 when none is left (or another job started). */
  int claim(uint32_t gen, int chunks) {
    uint64_t v = claim_.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(v >> 32) != gen || static_cast<int>(v & 0xffffffffu) >= chunks) return -1;
      if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) return static_cast<int>(v & 0xffffffffu);
    }
  }

  template <typename Ready>
  static bool spinUntil(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (!ready()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::yield();
    }
    return true;
  }

  void work() {
    uint32_t seen = 0;
    for (;;) {
      auto moved = [&] { return published_.load(std::memory_order_acquire) != seen; };
      if (!spinUntil(moved)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, moved);
      }
      const std::function<void(int)>* fn;
      int chunks;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen = generation_;
        fn = fn_;
        chunks = chunks_;
      }
      // fn may belong to a job that has already finished: then no chunk can be claimed for it.
      int done = 0;
      for (int i; (i = claim(seen, chunks)) >= 0; ++done) (*fn)(i);
      if (done > 0 && completed_.fetch_add(done, std::memory_order_acq_rel) + done == chunks) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  const int size_;
  std::mutex busy_, mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int chunks_ = 0;
  uint32_t generation_ = 0;                // guarded by mutex_
  std::atomic<uint32_t> published_{0};     // generation_, readable without the lock
  std::atomic<uint64_t> claim_{0};         // generation << 32 | next chunk
  std::atomic<int> completed_{0};          // chunks of the current job done
};

Pool& pool() {
  static Pool* instance = [] {
    int size = static_cast<int>(std::thread::hardware_concurrency());
    if (size > 4) size = 4;
    if (const char* env = std::getenv("WARMSTART_NATIVE_THREADS")) size = std::atoi(env);
    return new Pool(size < 1 ? 1 : size);
  }();
  return *instance;
}

bool typedArray(napi_env env, napi_value v, float** data, size_t* length) {
  return warmstart::typedArrayOf(env, v, napi_float32_array, data, length);
}

using warmstart::fail;

napi_value BatchMatMul(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 10 && argc != 13) return fail(env, "batchMatMul: expected 10 or 13 arguments");
  float *a, *b, *out;
  size_t la, lb, lo;
  if (!typedArray(env, argv[0], &a, &la) || !typedArray(env, argv[1], &b, &lb) ||
      !typedArray(env, argv[2], &out, &lo)) {
    return fail(env, "batchMatMul: a, b and out must be Float32Arrays");
  }
  int32_t dims[5];
  for (int i = 0; i < 5; ++i) {
    if (napi_get_value_int32(env, argv[3 + i], &dims[i]) != napi_ok || dims[i] < 1) {
      return fail(env, "batchMatMul: batchA, batchB, m, k, n must be positive integers");
    }
  }
  bool ta, tb;
  if (napi_get_value_bool(env, argv[8], &ta) != napi_ok || napi_get_value_bool(env, argv[9], &tb) != napi_ok) {
    return fail(env, "batchMatMul: transposeA and transposeB must be booleans");
  }
  const size_t batchA = dims[0], batchB = dims[1], m = dims[2], k = dims[3], n = dims[4];
  const size_t batch = batchA > batchB ? batchA : batchB;
  if ((batchA != 1 && batchA != batch) || (batchB != 1 && batchB != batch)) {
    return fail(env, "batchMatMul: batch sizes must be equal or 1");
  }
  if (la != batchA * m * k || lb != batchB * k * n || lo != batch * m * n) {
    return fail(env, "batchMatMul: array lengths do not match the shapes");
  }
  float* c = nullptr;
  size_t batchC = 1;
  double alpha = 1;
  if (argc == 13) {
    size_t lc;
    int32_t bc;
    if (!typedArray(env, argv[10], &c, &lc) || napi_get_value_int32(env, argv[11], &bc) != napi_ok ||
        napi_get_value_double(env, argv[12], &alpha) != napi_ok) {
      return fail(env, "batchMatMul: c must be a Float32Array, batchC an integer and alpha a number");
    }
    batchC = bc;
    if ((batchC != 1 && batchC != batch) || lc != batchC * m * n) {
      return fail(env, "batchMatMul: c's batch size must be 1 or the product's, and its length match");
    }
  }
  const Job job{a, b, out, batchA, batchB, m, k, n, ta, tb, c, batchC, static_cast<float>(alpha)};
  const double work = static_cast<double>(batch) * m * k * n;
  const bool parallel = work >= kMinParallelWork && pool().size() > 1;
  if (!parallel) {
    runBatches(job, 0, batch);
  } else if (batch > 1) {
    const int p = pool().chunks(batch);
    pool().run(p, [&](int t) { runBatches(job, batch * t / p, batch * (t + 1) / p); });
  } else {
    // One large product: split its rows (in multiples of the 4-row tile) over the threads.
    std::vector<float> packed(tb ? k * n : 0);
    if (tb) transpose(b, packed.data(), n, k);
    const float* bp = tb ? packed.data() : b;
    const size_t tiles = (m + 3) / 4;
    const int parts = pool().chunks(tiles);
    pool().run(parts, [&](int t) {
      const size_t i0 = tiles * t / parts * 4, i1 = std::min(m, tiles * (t + 1) / parts * 4);
      if (i0 < i1) gemm(a + i0 * job.ars(), job.ars(), job.acs(), bp, job.sink(0).offset(i0 * n), i1 - i0, k, n);
    });
  }
  return nullptr;
}

// Elementwise calls on at least this many floats use the threads (smaller ones are cheaper
// than waking a thread).
constexpr size_t kMinParallelElements = 1 << 17;

// out = z > 0 ? dy : 0, elementwise over equal-length arrays.
WS_MULTIVERSION
void reluGrad(const float* dy, const float* z, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = z[i] > 0.0f ? dy[i] : 0.0f;
}

napi_value ReluGrad(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  float *dy, *z, *out;
  size_t ld, lz, lo;
  if (argc != 3 || !typedArray(env, argv[0], &dy, &ld) || !typedArray(env, argv[1], &z, &lz) ||
      !typedArray(env, argv[2], &out, &lo)) {
    return fail(env, "reluGrad: expected three Float32Arrays (dy, z, out)");
  }
  if (ld != lz || lo != lz) return fail(env, "reluGrad: dy, z and out must have the same length");
  const int parts = lz >= kMinParallelElements ? pool().chunks(lz / 1024) : 1;
  if (parts <= 1) {
    reluGrad(dy, z, out, lz);
  } else {
    pool().run(parts, [&](int t) {
      const size_t i0 = lz * t / parts, i1 = lz * (t + 1) / parts;
      reluGrad(dy + i0, z + i0, out + i0, i1 - i0);
    });
  }
  return nullptr;
}

struct RowsRelu {
  const float *x, *r0, *r1;
  bool xb, r0b, r1b;  // whether the operand has a batch (else it broadcasts)
  float* out;
  size_t s, h;
};

WS_MULTIVERSION
void addRowsRelu(const RowsRelu& j, size_t b0, size_t b1) {
  for (size_t b = b0; b < b1; ++b) {
    const float* x = j.x + (j.xb ? b * j.s * j.h : 0);
    const float* r0 = j.r0 + (j.r0b ? b * j.h : 0);
    const float* r1 = j.r1 ? j.r1 + (j.r1b ? b * j.h : 0) : nullptr;
    float* o = j.out + b * j.s * j.h;
    for (size_t i = 0; i < j.s; ++i) {
      const float* xi = x + i * j.h;
      float* oi = o + i * j.h;
      if (r1) {
        for (size_t k = 0; k < j.h; ++k) oi[k] = std::max(0.0f, xi[k] + r0[k] + r1[k]);
      } else {
        for (size_t k = 0; k < j.h; ++k) oi[k] = std::max(0.0f, xi[k] + r0[k]);
      }
    }
  }
}

napi_value AddRowsRelu(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 10) return fail(env, "addRowsRelu: expected 10 arguments");
  float *x, *r0, *r1 = nullptr, *out;
  size_t lx, l0, l1 = 0, lo;
  napi_valuetype t1;
  napi_typeof(env, argv[4], &t1);
  if (!typedArray(env, argv[0], &x, &lx) || !typedArray(env, argv[2], &r0, &l0) ||
      (t1 != napi_null && !typedArray(env, argv[4], &r1, &l1)) || !typedArray(env, argv[6], &out, &lo)) {
    return fail(env, "addRowsRelu: x, r0, out must be Float32Arrays and r1 one or null");
  }
  int32_t d[6];
  const int at[6] = {1, 3, 5, 7, 8, 9};
  for (int i = 0; i < 6; ++i) {
    if (napi_get_value_int32(env, argv[at[i]], &d[i]) != napi_ok || d[i] < 1) {
      return fail(env, "addRowsRelu: batches and sizes must be positive integers");
    }
  }
  const size_t batch = d[3], s = d[4], h = d[5];
  auto fits = [&](size_t len, int32_t b, size_t per) { return (b == 1 || static_cast<size_t>(b) == batch) && len == b * per; };
  if (!fits(lx, d[0], s * h) || !fits(l0, d[1], h) || (r1 && !fits(l1, d[2], h)) || lo != batch * s * h) {
    return fail(env, "addRowsRelu: array lengths do not match the shapes");
  }
  const RowsRelu job{x, r0, r1, d[0] != 1, d[1] != 1, d[2] != 1, out, s, h};
  const int parts = lo >= kMinParallelElements ? pool().chunks(batch) : 1;
  if (parts <= 1) {
    addRowsRelu(job, 0, batch);
  } else {
    pool().run(parts, [&](int t) { addRowsRelu(job, batch * t / parts, batch * (t + 1) / parts); });
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn, relu, rowsRelu, threads, minParallel;
  RegisterHalfScan(env, exports);
  RegisterRowsAtLeast(env, exports);
  napi_create_function(env, "addRowsRelu", NAPI_AUTO_LENGTH, AddRowsRelu, nullptr, &rowsRelu);
  napi_set_named_property(env, exports, "addRowsRelu", rowsRelu);
  napi_create_function(env, "batchMatMul", NAPI_AUTO_LENGTH, BatchMatMul, nullptr, &fn);
  napi_set_named_property(env, exports, "batchMatMul", fn);
  napi_create_function(env, "reluGrad", NAPI_AUTO_LENGTH, ReluGrad, nullptr, &relu);
  napi_set_named_property(env, exports, "reluGrad", relu);
  napi_create_int32(env, pool().size(), &threads);
  napi_set_named_property(env, exports, "threads", threads);
  napi_create_double(env, kMinParallelWork, &minParallel);
  napi_set_named_property(env, exports, "minParallelWork", minParallel);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
