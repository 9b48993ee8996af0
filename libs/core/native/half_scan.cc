// Half-precision (IEEE binary16) storage for the first-stage scan of two-stage ranking.
//
// Why: the scan reads every candidate's retrieval row ([N, 65] floats, 26 MB at 100k items) once
// per call and does one multiply-add per value, so it is bound by memory, not arithmetic. Stored
// as halves the rows take half the bytes; F16C widens them to floats in registers for free.
// The caller (core retrieval/shortlist.ts) bounds the rounding error and re-scores exactly in
// float32 where it matters.
//
// JS API: toHalf(src Float32Array, dst Uint16Array[, portable]) -> the largest |value| (Infinity
// when one is NaN; rows are usable while it is below 65504, the largest half);
// halfMatVec(a Uint16Array [m, k], x Float32Array [k], out Float32Array [m], m, k[, portable]):
// out = a . x with float32 accumulation. Both run with AVX2+FMA+F16C when the CPU has them, else
// a portable loop with the same rounding (round to nearest even); `portable` forces the loop
// (tests compare the two).
#include <node_api.h>

#include "napi_args.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define WS_X86 1
#endif

namespace {

// Portable conversions, bit-exact with F16C's (round to nearest even; subnormals kept).
float halfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(man), -24);  // zero or subnormal
  } else if (exp == 31) {
    f = man ? NAN : INFINITY;
  } else {
    const uint32_t bits = ((exp + 112) << 23) | (man << 13);
    std::memcpy(&f, &bits, 4);
  }
  uint32_t out;
  std::memcpy(&out, &f, 4);
  out |= sign;
  std::memcpy(&f, &out, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN, Inf
  if (absx >= 0x477ff000u) return sign | 0x7c00u;  // rounds past 65504: Inf
  if (absx < 0x38800000u) {
    // Below the smallest normal half (2^-14): a subnormal, in units of 2^-24, rounded to even.
    float a;
    std::memcpy(&a, &absx, 4);
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  // Normal: drop 13 mantissa bits, round to nearest even (a carry may bump the exponent).
  const uint32_t rebased = absx - (112u << 23);
  const uint32_t halfBits = rebased >> 13;
  const uint32_t rest = rebased & 0x1fffu;
  const uint32_t up = rest > 0x1000u || (rest == 0x1000u && (halfBits & 1u));
  return sign | static_cast<uint16_t>(halfBits + up);
}

#ifdef WS_X86
bool hasF16c() {
  static const bool yes =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return yes;
}

__attribute__((target("avx2,fma,f16c"))) float toHalfF16c(const float* src, uint16_t* dst, size_t n) {
  __m256 peak = _mm256_setzero_ps();
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    peak = _mm256_max_ps(peak, _mm256_and_ps(v, absMask));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, peak);
  float m = 0.0f;
  for (float l : lanes) m = l > m ? l : m;
  for (; i < n; ++i) {
    dst[i] = floatToHalf(src[i]);
    m = std::fabs(src[i]) > m ? std::fabs(src[i]) : m;
  }
  return m;
}

__attribute__((target("avx2,fma,f16c"))) inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

__attribute__((target("avx2,fma,f16c"))) inline __m256 load(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// sum plus row[p] * x[p] for the columns past the last full group of 8.
__attribute__((target("avx2,fma,f16c"))) inline float tail(const uint16_t* row, const float* x, float sum,
                                                             int k8, int k) {
  for (int p = k8; p < k; ++p) sum += _cvtsh_ss(row[p]) * x[p];
  return sum;
}

// Four rows at a time: four independent FMA chains keep the units busy while rows stream in.
__attribute__((target("avx2,fma,f16c"))) void halfMatVecF16c(const uint16_t* a, const float* x,
                                                               float* out, int m, int k) {
  const int k8 = k - k % 8;
  int r = 0;
  for (; r + 4 <= m; r += 4) {
    const uint16_t* r0 = a + static_cast<size_t>(r) * k;
    const uint16_t *r1 = r0 + k, *r2 = r1 + k, *r3 = r2 + k;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int p = 0; p < k8; p += 8) {
      const __m256 xv = _mm256_loadu_ps(x + p);
      c0 = _mm256_fmadd_ps(load(r0 + p), xv, c0);
      c1 = _mm256_fmadd_ps(load(r1 + p), xv, c1);
      c2 = _mm256_fmadd_ps(load(r2 + p), xv, c2);
      c3 = _mm256_fmadd_ps(load(r3 + p), xv, c3);
    }
    out[r] = tail(r0, x, hsum(c0), k8, k);
    out[r + 1] = tail(r1, x, hsum(c1), k8, k);
    out[r + 2] = tail(r2, x, hsum(c2), k8, k);
    out[r + 3] = tail(r3, x, hsum(c3), k8, k);
  }
  for (; r < m; ++r) {
    const uint16_t* row = a + static_cast<size_t>(r) * k;
    __m256 c = _mm256_setzero_ps();
    for (int p = 0; p < k8; p += 8) c = _mm256_fmadd_ps(load(row + p), _mm256_loadu_ps(x + p), c);
    out[r] = tail(row, x, hsum(c), k8, k);
  }
}
#endif

float toHalfPortable(const float* src, uint16_t* dst, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    dst[i] = floatToHalf(src[i]);
    const float a = std::fabs(src[i]);
    if (a > m || std::isnan(a)) m = std::isnan(a) ? INFINITY : a;
  }
  return m;
}

void halfMatVecPortable(const uint16_t* a, const float* x, float* out, int m, int k) {
  for (int r = 0; r < m; ++r) {
    const uint16_t* row = a + static_cast<size_t>(r) * k;
    float sum = 0.0f;
    for (int p = 0; p < k; ++p) sum += halfToFloat(row[p]) * x[p];
    out[r] = sum;
  }
}

using warmstart::fail;

napi_value ToHalf(napi_env env, napi_callback_info info) {
  const warmstart::Args<3> args(env, info);
  float* src;
  uint16_t* dst;
  size_t ls, ld;
  if ((args.argc != 2 && args.argc != 3) ||
      !warmstart::typedArrayOf(env, args.argv[0], napi_float32_array, &src, &ls) ||
      !warmstart::typedArrayOf(env, args.argv[1], napi_uint16_array, &dst, &ld) || ls != ld) {
    return fail(env, "toHalf: expected a Float32Array and a Uint16Array of the same length");
  }
  const bool fast = !args.flag(env, 2);
  float peak;
#ifdef WS_X86
  peak = fast && hasF16c() ? toHalfF16c(src, dst, ls) : toHalfPortable(src, dst, ls);
  // F16C's max ignores NaN: look again when the fast pass saw nothing out of range.
  if (fast && hasF16c() && std::isfinite(peak)) {
    for (size_t i = 0; i < ls; ++i)
      if (std::isnan(src[i])) {
        peak = INFINITY;
        break;
      }
  }
#else
  peak = toHalfPortable(src, dst, ls);
#endif
  napi_value result;
  napi_create_double(env, peak, &result);
  return result;
}

napi_value HalfMatVec(napi_env env, napi_callback_info info) {
  const warmstart::Args<6> args(env, info);
  const size_t argc = args.argc;
  const napi_value* argv = args.argv;
  uint16_t* a;
  float *x, *out;
  size_t la, lx, lo;
  int32_t m, k;
  if ((argc != 5 && argc != 6) || !warmstart::typedArrayOf(env, argv[0], napi_uint16_array, &a, &la) ||
      !warmstart::typedArrayOf(env, argv[1], napi_float32_array, &x, &lx) || !warmstart::typedArrayOf(env, argv[2], napi_float32_array, &out, &lo) ||
      napi_get_value_int32(env, argv[3], &m) != napi_ok || napi_get_value_int32(env, argv[4], &k) != napi_ok ||
      m < 0 || k < 1) {
    return fail(env, "halfMatVec: expected (Uint16Array, Float32Array, Float32Array, m >= 0, k >= 1)");
  }
  if (la != static_cast<size_t>(m) * k || lx != static_cast<size_t>(k) || lo != static_cast<size_t>(m)) {
    return fail(env, "halfMatVec: array lengths do not match m and k");
  }
#ifdef WS_X86
  if (!args.flag(env, 5) && hasF16c()) {
    halfMatVecF16c(a, x, out, m, k);
    return nullptr;
  }
#endif
  halfMatVecPortable(a, x, out, m, k);
  return nullptr;
}

}  // namespace

// Called from the module's Init (batch_matmul.cc).
void RegisterHalfScan(napi_env env, napi_value exports) {
  napi_value toHalf, matVec;
  napi_create_function(env, "toHalf", NAPI_AUTO_LENGTH, ToHalf, nullptr, &toHalf);
  napi_set_named_property(env, exports, "toHalf", toHalf);
  napi_create_function(env, "halfMatVec", NAPI_AUTO_LENGTH, HalfMatVec, nullptr, &matVec);
  napi_set_named_property(env, exports, "halfMatVec", matVec);
}
