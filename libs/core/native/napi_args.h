// Argument helpers shared by the addon's source files (batch_matmul.cc, half_scan.cc).
#pragma once
#include <node_api.h>

#include <cstddef>

namespace warmstart {

// Whether `v` is a typed array of type `want`; if so, its data and element count.
template <typename T>
inline bool typedArrayOf(napi_env env, napi_value v, napi_typedarray_type want, T** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, &buffer, &offset) != napi_ok) return false;
  if (type != want) return false;
  *data = static_cast<T*>(ptr);
  return true;
}

// A binding's arguments (at most N; `argc` says how many came).
template <size_t N>
struct Args {
  size_t argc = N;
  napi_value argv[N];
  Args(napi_env env, napi_callback_info info) { napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr); }
  // Whether optional boolean argument `at` is present and true.
  bool flag(napi_env env, size_t at) const {
    bool yes = false;
    return argc > at && napi_get_value_bool(env, argv[at], &yes) == napi_ok && yes;
  }
};

// Throws a TypeError with `message` to JavaScript; return its result from the binding.
inline napi_value fail(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

}  // namespace warmstart
