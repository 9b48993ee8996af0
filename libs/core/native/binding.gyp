{
  "targets": [
    {
      "target_name": "warmstart_kernels",
      "sources": ["batch_matmul.cc", "half_scan.cc", "rows_at_least.cc"],
      "cflags_cc": ["-O3", "-std=c++17"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
