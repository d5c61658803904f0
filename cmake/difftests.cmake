# Differential tests against the genuine TFLite 2.9 C library (tfjs-tflite-node's cc_deps folder,
# given as QUANTLENS_TFLITE_C_DIR; scripts/setup_tflite_c.sh installs it). Each tests/diff/*_test.cc
# becomes one gtest executable labelled `diff`, linked with libtensorflowlite_c.so through an rpath
# so it runs from the build tree without LD_LIBRARY_PATH.
set(QL_TFLITE_C_LIBDIR "${QUANTLENS_TFLITE_C_DIR}/linux_amd64")
set(QL_TFLITE_C_INCLUDE "${QUANTLENS_TFLITE_C_DIR}/include")
if(NOT EXISTS "${QL_TFLITE_C_LIBDIR}/libtensorflowlite_c.so"
   OR NOT EXISTS "${QL_TFLITE_C_INCLUDE}/tensorflow/lite/c/c_api.h")
  message(FATAL_ERROR "QUANTLENS_TFLITE_C_DIR=${QUANTLENS_TFLITE_C_DIR} does not hold "
                      "linux_amd64/libtensorflowlite_c.so and include/tensorflow/lite/c/c_api.h; "
                      "run scripts/setup_tflite_c.sh DEST and pass the folder it prints")
endif()

add_library(ql_tflite_c SHARED IMPORTED)
set_target_properties(ql_tflite_c PROPERTIES
  IMPORTED_LOCATION "${QL_TFLITE_C_LIBDIR}/libtensorflowlite_c.so"
  IMPORTED_NO_SONAME ON
  INTERFACE_INCLUDE_DIRECTORIES "${QL_TFLITE_C_INCLUDE}")

file(GLOB ql_diff_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/diff/*_test.cc)
foreach(src ${ql_diff_srcs})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  ql_test_flags(${name})
  target_link_libraries(${name} PRIVATE ql_tflite_c)
  # The genuine library's headers are third-party: keep their warnings out of ours.
  target_include_directories(${name} SYSTEM PRIVATE ${QL_TFLITE_C_INCLUDE})
  set_target_properties(${name} PROPERTIES BUILD_RPATH "${QL_TFLITE_C_LIBDIR}")
  # Discovery runs the executable, which needs the .so: the rpath above provides it.
  gtest_discover_tests(${name} PROPERTIES LABELS diff DISCOVERY_TIMEOUT 120)
endforeach()
