# hubgate_options: build switches shared by every hubgate target (sanitizers, coverage of
# separately compiled Asio/Beast).
add_library(hubgate_options INTERFACE)
target_compile_features(hubgate_options INTERFACE cxx_std_20)
if(HUBGATE_ENABLE_ASAN_UBSAN)
  target_compile_options(hubgate_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=undefined)
  target_link_options(hubgate_options INTERFACE -fsanitize=address,undefined)
endif()
# HUBGATE_BUILD_FUZZERS (clang only, tests/fuzz): every hubgate target gets libFuzzer's coverage
# instrumentation and ASan + UBSan, so the fuzz target runs against an instrumented core.
if(HUBGATE_BUILD_FUZZERS)
  target_compile_options(hubgate_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                   -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(hubgate_options INTERFACE -fsanitize=address,undefined)
endif()
