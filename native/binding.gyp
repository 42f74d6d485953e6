{
  "targets": [
    {
      "target_name": "cifs_upcall_native",
      "sources": ["src/addon.cc", "src/crypto.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
