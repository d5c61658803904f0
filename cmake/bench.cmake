# Benchmarks (not tests): programs that measure, run by hand. Included from CMakeLists.txt.
# bench_calibration: calibration time against float inference, per method (docs/calibration.md).
add_executable(bench_calibration ${PROJECT_SOURCE_DIR}/tools/bench_calibration/main.cc)
target_link_libraries(bench_calibration PRIVATE quantlens ql_warnings)
target_include_directories(bench_calibration PRIVATE ${PROJECT_SOURCE_DIR}/tools)
# bench_compare: the per-layer analysis of `compare` against running both models (docs/compare.md).
add_executable(bench_compare ${PROJECT_SOURCE_DIR}/tools/bench_compare/main.cc)
target_link_libraries(bench_compare PRIVATE quantlens ql_warnings)
target_include_directories(bench_compare PRIVATE ${PROJECT_SOURCE_DIR}/tools)
