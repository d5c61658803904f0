find_package(GTest REQUIRED)
include(GoogleTest)

# One executable per test file, so one broken test file cannot hide the others.
# Labels: unit (fast, run under ASan too), hostile (broken files; ASan too), corpus (golden data,
# Release only), diff (genuine TFLite runtime, Release only).
function(ql_add_test_dir dir label)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${dir}/*_test.cc)
  foreach(src ${srcs})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE quantlens ql_warnings GTest::gtest GTest::gtest_main)
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    target_compile_definitions(${name} PRIVATE
      QUANTLENS_CLI_PATH="$<TARGET_FILE:quantlens_cli>"
      QUANTLENS_SHARED_DIR="${QUANTLENS_SHARED_DIR}"
      QUANTLENS_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      QUANTLENS_MAKE_MALFORMED_PATH="$<TARGET_FILE:make_malformed>")
    gtest_discover_tests(${name} PROPERTIES LABELS ${label} DISCOVERY_TIMEOUT 60)
  endforeach()
endfunction()

ql_add_test_dir(unit unit)
ql_add_test_dir(hostile hostile)

# The generator of the checked-in malformed-file set (tests/malformed); malformed_files_test
# checks that it reproduces the set byte for byte and runs the CLI on every file.
# It builds models with flatbuffers' object API, which the project's generated schema header
# includes (flatc --gen-object-api in CMakeLists.txt).
find_package(ZLIB REQUIRED)
file(GLOB QL_MAKE_MALFORMED_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/make_malformed/*.cc)
add_executable(make_malformed ${QL_MAKE_MALFORMED_SOURCES})
add_dependencies(make_malformed ql_schema)
target_include_directories(make_malformed PRIVATE ${QL_GEN_DIR})
target_include_directories(make_malformed SYSTEM PRIVATE ${HDF5_INCLUDE_DIRS})
target_link_libraries(make_malformed PRIVATE flatbuffers::flatbuffers ${HDF5_C_LIBRARIES}
  nlohmann_json::nlohmann_json fmt::fmt ZLIB::ZLIB)
if(TARGET ql_warnings)
  target_link_libraries(make_malformed PRIVATE ql_warnings)
endif()
add_dependencies(malformed_files_test make_malformed quantlens_cli)
if(NOT QUANTLENS_ASAN)
  ql_add_test_dir(corpus corpus)
  if(QUANTLENS_TFLITE_C_DIR)
    include(cmake/difftests.cmake OPTIONAL)
  endif()
endif()
