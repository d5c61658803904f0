# The malformed-file set: tools/make_malformed writes valid models and inputs with one deliberate
# malformation each, plus expected.tsv (the error each must give) and baselines.tsv. Nothing of it
# is checked in: the tests generate it into the build tree (QL_MALFORMED_DIR) whenever the
# generator changes, and scripts/fuzz.sh generates it for its seeds.
# The generator builds models with flatbuffers' object API, which the project's generated schema
# header includes (flatc --gen-object-api in CMakeLists.txt).
find_package(ZLIB REQUIRED)
file(GLOB QL_MAKE_MALFORMED_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/make_malformed/*.cc)
add_executable(make_malformed ${QL_MAKE_MALFORMED_SOURCES})
add_dependencies(make_malformed ql_schema)
target_include_directories(make_malformed PRIVATE ${QL_GEN_DIR})
target_include_directories(make_malformed SYSTEM PRIVATE ${HDF5_INCLUDE_DIRS})
target_link_libraries(make_malformed PRIVATE flatbuffers::flatbuffers ${HDF5_C_LIBRARIES}
  nlohmann_json::nlohmann_json fmt::fmt ZLIB::ZLIB)
target_link_libraries(make_malformed PRIVATE ql_warnings)
# A generator run once per build: -O1 compiles its flatbuffers-heavy files in half the time.
target_compile_options(make_malformed PRIVATE -O1)

if(QUANTLENS_TESTS)
  set(QL_MALFORMED_DIR ${PROJECT_BINARY_DIR}/malformed)
  add_custom_command(
    OUTPUT ${QL_MALFORMED_DIR}/expected.tsv
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${QL_MALFORMED_DIR}
    COMMAND make_malformed ${QL_MALFORMED_DIR} >/dev/null
    DEPENDS make_malformed
    COMMENT "make_malformed: writing the malformed-file set")
  add_custom_target(malformed_set ALL DEPENDS ${QL_MALFORMED_DIR}/expected.tsv)
endif()
