find_package(GTest REQUIRED)
include(GoogleTest)

# Flags every test executable shares. (A shared precompiled header was measured and dropped: a
# test file's compile time is template instantiation, not parsing, and loading the 300 MB header
# made it slower.)
# Test code is compiled at -O1: it is not where time is spent when the tests run (the library keeps
# the build type's -O3), and the suite's build is most of CI's time.
function(ql_test_flags name)
  target_link_libraries(${name} PRIVATE quantlens ql_warnings GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE -O1)
  # In the libFuzzer build (scripts/fuzz.sh with QL_FUZZ_TESTS=ON, CI's sanitizer run) the tests
  # are compiled with the sanitizers too; the library carries them already (cmake/fuzz.cmake).
  if(QUANTLENS_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=undefined
                                           -fno-omit-frame-pointer)
  endif()
  target_compile_definitions(${name} PRIVATE
    QUANTLENS_CLI_PATH="$<TARGET_FILE:quantlens_cli>"
    QUANTLENS_SHARED_DIR="${QUANTLENS_SHARED_DIR}"
    QUANTLENS_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    QUANTLENS_MAKE_MALFORMED_PATH="$<TARGET_FILE:make_malformed>")
endfunction()

# One executable per test file, so one broken test file cannot hide the others.
# Labels: unit (fast, run under ASan too), hostile (broken files; ASan too), corpus (golden data,
# Release only), diff (genuine TFLite runtime, Release only).
function(ql_add_test_dir dir label)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${dir}/*_test.cc)
  foreach(src ${srcs})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    ql_test_flags(${name})
    gtest_discover_tests(${name} PROPERTIES LABELS ${label} DISCOVERY_TIMEOUT 60)
  endforeach()
endfunction()

ql_add_test_dir(unit unit)
ql_add_test_dir(hostile hostile)

# The malformed-file set (cmake/malformed.cmake) is generated before the test is built: test
# discovery reads its expected.tsv.
add_dependencies(malformed_files_test malformed_set make_malformed quantlens_cli)
target_compile_definitions(malformed_files_test PRIVATE QUANTLENS_MALFORMED_DIR="${QL_MALFORMED_DIR}")
if(NOT QUANTLENS_ASAN AND NOT QUANTLENS_FUZZ)
  ql_add_test_dir(corpus corpus)
  if(QUANTLENS_TFLITE_C_DIR)
    include(cmake/difftests.cmake OPTIONAL)
  endif()
endif()
