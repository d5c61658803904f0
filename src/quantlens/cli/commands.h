// The quantlens subcommands. main.cc parses arguments with CLI11 and calls one of these; each
// returns the process exit code and prints its own one-line error on failure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ql::cli {

struct InspectArgs {
  std::string model;
  bool json = false;
};
int RunInspect(const InspectArgs& args);

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string numerics = "tflite-x86";
  std::string output;
  bool all_tensors = false;
  int top = 0;
  std::string labels;
  std::string resize;  // "HxW"
  std::optional<float> scale, offset;
  bool grayscale = false;
  bool reference_kernels = false;
  int threads = 1;
  int batch = 16;
};
int RunRun(const RunArgs& args);

struct ConvertArgs {
  std::string model;
  std::string output;
  std::string mode = "int8";
  std::string calibration;
  int64_t calibration_samples = -1;
  std::string calibration_method = "minmax";
  bool per_tensor = false;
  bool bias_correction = false;
  std::string input_type = "float32", output_type = "float32";
  std::vector<std::string> keep_float, int16;
  std::string resize;
  std::optional<float> scale, offset;
  bool grayscale = false;
  int threads = 1;
};
int RunConvert(const ConvertArgs& args);

struct CompareArgs {
  std::string reference, candidate;
  std::string data;
  int64_t samples = -1;
  std::string reference_numerics = "tflite-x86", candidate_numerics = "tflite-x86";
  std::string json;
  std::string resize;
  std::optional<float> scale, offset;
  bool grayscale = false;
  bool layers = false;  // per-layer analysis
  std::string html;
  std::string fail_if;
  bool try_fixes = false;
  std::string fix_calibration;
  bool reference_kernels = false;
  int threads = 1;
};
int RunCompare(const CompareArgs& args);

struct BenchArgs {
  std::string model;
  int iterations = 100;
  int warmup = 10;
  int threads = 1;
  std::string json;
  bool compare_tflite = false;
  std::vector<std::string> inputs;  // one per model input; empty: random data, seed 1
  std::string numerics = "tflite-x86";
  bool reference_kernels = false;
};
int RunBench(const BenchArgs& args);

}  // namespace ql::cli
