// The quantlens subcommands. main.cc parses arguments with CLI11 and calls one of these; each
// returns the process exit code and prints its own one-line error on failure.
#pragma once

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
};
int RunRun(const RunArgs& args);

}  // namespace ql::cli
