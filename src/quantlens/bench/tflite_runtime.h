// The genuine TensorFlow Lite 2.9 C library (libtensorflowlite_c.so, as tfjs-tflite-node ships it),
// loaded with dlopen at run time so quantlens has no link-time dependency on it: `quantlens bench
// --compare-tflite` times it next to quantlens on the same file and input, with its builtin
// kernels and with the XNNPACK delegate (docs/bench.md).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantlens/ir/dtype.h"
#include "quantlens/util/status.h"

namespace ql::bench {

// Environment variable naming the library (a .so path); overrides the search.
inline constexpr const char* kTfliteLibraryEnv = "QUANTLENS_TFLITE_C";

// Where the library is looked for when kTfliteLibraryEnv is unset, in order:
// <dir of the running executable>/../../.deps/tflite/... (a build tree build/<name>/ of the source
// tree) and the source tree's own .deps/tflite/... (scripts/setup_tflite_c.sh installs it there).
std::vector<std::string> TfliteLibraryCandidates();

struct TfliteApi;  // the C functions, resolved with dlsym

class GenuineTflite {
 public:
  // Loads the library from kTfliteLibraryEnv, else the first candidate that exists. The error
  // names every place looked at and how to install it. The library stays loaded for the life of
  // the process (XNNPACK's thread pool must not lose its code under it).
  static Result<std::shared_ptr<const GenuineTflite>> Load();
  static Result<std::shared_ptr<const GenuineTflite>> LoadPath(const std::string& path);
  ~GenuineTflite();

  const std::string& path() const { return path_; }
  std::string version() const;  // TfLiteVersion(), "2.9.1"
  const TfliteApi& api() const { return *api_; }

 private:
  GenuineTflite() = default;
  std::string path_;
  std::unique_ptr<TfliteApi> api_;
};

struct GenuineOptions {
  int threads = 1;       // TfLiteInterpreterOptionsSetNumThreads, and XNNPACK's num_threads
  bool xnnpack = false;  // apply the XNNPACK delegate (TfLiteXNNPackDelegateCreate)
};

// One genuine interpreter on a .tflite file, tensors allocated.
class GenuineInterpreter {
 public:
  // Errors carry what TFLite reported.
  static Result<std::unique_ptr<GenuineInterpreter>> Create(std::shared_ptr<const GenuineTflite> lib,
                                                            const std::string& model_path,
                                                            const GenuineOptions& options);
  ~GenuineInterpreter();
  GenuineInterpreter(const GenuineInterpreter&) = delete;
  GenuineInterpreter& operator=(const GenuineInterpreter&) = delete;

  int num_inputs() const;
  int num_outputs() const;
  // Copies `bytes` into input i; its size must equal the tensor's and `dtype` its type.
  Status SetInput(int i, ir::DType dtype, std::span<const uint8_t> bytes);
  Status Invoke();
  std::vector<uint8_t> Output(int i) const;

 private:
  GenuineInterpreter() = default;
  std::shared_ptr<const GenuineTflite> lib_;
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string model_path_;
};

}  // namespace ql::bench
