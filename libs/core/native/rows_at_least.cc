// The rows of a score vector at or above a cut, for the first stage of two-stage ranking.
//
// Why: choosing the shortlist passes over every candidate's score once per call (100k floats at
// 100k items); in JavaScript that pass cost about as much as half the scan itself. With AVX2 it
// compares eight scores per instruction.
//
// JS API: rowsAtLeast(values Float32Array, cut, out Int32Array[, portable]) -> count: writes the
// indices i (ascending) with values[i] >= cut and values[i] > -Infinity (NaN never) to out, which
// must hold values.length; `portable` forces the scalar loop (tests compare the two).
#include <node_api.h>

#include "napi_args.h"

#include <cfloat>
#include <cmath>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define WS_X86 1
#endif

namespace {

size_t rowsAtLeastPortable(const float* v, size_t n, float cut, int32_t* out) {
  size_t m = 0;
  for (size_t i = 0; i < n; ++i)
    if (v[i] >= cut) out[m++] = static_cast<int32_t>(i);
  return m;
}

#ifdef WS_X86
bool hasAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

__attribute__((target("avx2"))) size_t rowsAtLeastAvx2(const float* v, size_t n, float cut, int32_t* out) {
  const __m256 c = _mm256_set1_ps(cut);
  size_t m = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + i), c, _CMP_GE_OQ)));
    while (mask) {
      out[m++] = static_cast<int32_t>(i + __builtin_ctz(mask));
      mask &= mask - 1;
    }
  }
  const size_t tail = rowsAtLeastPortable(v + i, n - i, cut, out + m);
  for (size_t t = m; t < m + tail; ++t) out[t] += static_cast<int32_t>(i);
  return m + tail;
}
#endif

using warmstart::fail;

napi_value RowsAtLeast(napi_env env, napi_callback_info info) {
  const warmstart::Args<4> args(env, info);
  const size_t argc = args.argc;
  const napi_value* argv = args.argv;
  float* v;
  int32_t* out;
  size_t n, lo;
  double cut;
  if ((argc != 3 && argc != 4) || !warmstart::typedArrayOf(env, argv[0], napi_float32_array, &v, &n) ||
      napi_get_value_double(env, argv[1], &cut) != napi_ok ||
      !warmstart::typedArrayOf(env, argv[2], napi_int32_array, &out, &lo) || lo < n) {
    return fail(env, "rowsAtLeast: expected (Float32Array, cut, Int32Array at least as long)");
  }
  const bool portable = args.flag(env, 3);
  // Not -Infinity: the lowest finite float keeps excluded rows (-Infinity) out. A cut between
  // floats rounds up, so that float comparisons agree with the double ones JavaScript makes.
  float c = std::isnan(cut) ? NAN : cut <= -static_cast<double>(FLT_MAX) ? -FLT_MAX : static_cast<float>(cut);
  if (static_cast<double>(c) < cut) c = std::nextafter(c, INFINITY);
  size_t count;
#ifdef WS_X86
  count = !portable && hasAvx2() ? rowsAtLeastAvx2(v, n, c, out) : rowsAtLeastPortable(v, n, c, out);
#else
  count = rowsAtLeastPortable(v, n, c, out);
#endif
  napi_value result;
  napi_create_uint32(env, static_cast<uint32_t>(count), &result);
  return result;
}

}  // namespace

// Called from the module's Init (batch_matmul.cc).
void RegisterRowsAtLeast(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "rowsAtLeast", NAPI_AUTO_LENGTH, RowsAtLeast, nullptr, &fn);
  napi_set_named_property(env, exports, "rowsAtLeast", fn);
}
