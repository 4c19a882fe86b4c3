{
  "targets": [
    {
      "target_name": "meterproof_native",
      "sources": ["addon.c", "poseidon.c", "babyjub.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra"],
      "cflags!": ["-O2"],
      "libraries": ["-lpthread"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11"] }
    }
  ]
}
