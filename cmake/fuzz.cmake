# libFuzzer targets (fuzz/*.cc), built with clang only: configure a separate build directory with
#   CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DQUANTLENS_FUZZ=ON -DQUANTLENS_TESTS=OFF
# (scripts/fuzz.sh does this). The library and every target are compiled with coverage
# instrumentation plus AddressSanitizer and UBSan (UB aborts, so libFuzzer reports it as a crash);
# each target links libFuzzer's main.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "QUANTLENS_FUZZ needs clang (configure with CC=clang CXX=clang++)")
endif()

set(QL_FUZZ_COMPILE_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -g1)
set(QL_FUZZ_SAN_LINK -fsanitize=address,undefined)
target_compile_options(quantlens PRIVATE ${QL_FUZZ_COMPILE_FLAGS})
target_link_options(quantlens INTERFACE ${QL_FUZZ_SAN_LINK})
# The CLI still builds (instrumented library, sanitizer runtime) but is not part of `fuzz_all`.
target_compile_options(quantlens_cli PRIVATE ${QL_FUZZ_COMPILE_FLAGS})

add_custom_target(fuzz_all)
file(GLOB QL_FUZZ_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/fuzz_*.cc)
foreach(src ${QL_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${QL_FUZZ_COMPILE_FLAGS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz)
  target_link_libraries(${name} PRIVATE quantlens)
  add_dependencies(fuzz_all ${name})
endforeach()
