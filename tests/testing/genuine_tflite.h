// The genuine TFLite 2.9 C library (libtensorflowlite_c.so) as a test oracle: one interpreter on
// an in-memory model, 1 thread, no delegate, with Prepare's error messages captured. Only for
// tests linked with ql_tflite_c (tests/diff).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tensorflow/lite/c/c_api.h"

namespace ql::testing {

// Sets (or clears) an environment variable for the lifetime of the object.
class ScopedEnvVar {
 public:
  ScopedEnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnvVar() {
    if (had_) setenv(name_, old_.c_str(), 1); else unsetenv(name_);
  }
  ScopedEnvVar(const ScopedEnvVar&) = delete;
  ScopedEnvVar& operator=(const ScopedEnvVar&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

class GenuineTflite {
 public:
  GenuineTflite() = default;
  GenuineTflite(const GenuineTflite&) = delete;
  GenuineTflite& operator=(const GenuineTflite&) = delete;
  ~GenuineTflite() {
    if (interp_) TfLiteInterpreterDelete(interp_);
    if (options_) TfLiteInterpreterOptionsDelete(options_);
    if (model_) TfLiteModelDelete(model_);
  }

  // Creates the interpreter and allocates tensors (which runs every kernel's Prepare). False when
  // TFLite refuses the model; error() then holds what it reported. `ruy_portable` sets
  // RUY_PATHS=1 while the interpreter is created and first invoked (ruy picks its kernel path
  // once per context, at the first matrix product).
  bool Init(std::vector<uint8_t> bytes, bool ruy_portable = false) {
    bytes_ = std::move(bytes);
    ScopedEnvVar env("RUY_PATHS", ruy_portable ? "1" : nullptr);
    model_ = TfLiteModelCreate(bytes_.data(), bytes_.size());
    if (!model_) {
      error_ = "TfLiteModelCreate failed";
      return false;
    }
    options_ = TfLiteInterpreterOptionsCreate();
    TfLiteInterpreterOptionsSetNumThreads(options_, 1);
    TfLiteInterpreterOptionsSetErrorReporter(options_, &Capture, &error_);
    interp_ = TfLiteInterpreterCreate(model_, options_);
    if (!interp_) return false;
    if (TfLiteInterpreterAllocateTensors(interp_) != kTfLiteOk) return false;
    for (int i = 0; i < num_inputs(); ++i) {
      std::vector<uint8_t> zeros(TfLiteTensorByteSize(input(i)), 0);
      TfLiteTensorCopyFromBuffer(input(i), zeros.data(), zeros.size());
    }
    return TfLiteInterpreterInvoke(interp_) == kTfLiteOk;
  }

  const std::string& error() const { return error_; }
  int num_inputs() const { return TfLiteInterpreterGetInputTensorCount(interp_); }
  int num_outputs() const { return TfLiteInterpreterGetOutputTensorCount(interp_); }
  TfLiteTensor* input(int i) const { return TfLiteInterpreterGetInputTensor(interp_, i); }

  bool Run(const std::vector<std::vector<uint8_t>>& inputs,
           std::vector<std::vector<uint8_t>>* outputs) {
    for (int i = 0; i < num_inputs(); ++i) {
      if (inputs[i].size() != TfLiteTensorByteSize(input(i))) return false;
      if (TfLiteTensorCopyFromBuffer(input(i), inputs[i].data(), inputs[i].size()) != kTfLiteOk)
        return false;
    }
    if (TfLiteInterpreterInvoke(interp_) != kTfLiteOk) return false;
    outputs->clear();
    for (int i = 0; i < num_outputs(); ++i) {
      const TfLiteTensor* t = TfLiteInterpreterGetOutputTensor(interp_, i);
      const auto* p = static_cast<const uint8_t*>(TfLiteTensorData(t));
      outputs->emplace_back(p, p + TfLiteTensorByteSize(t));
    }
    return true;
  }

 private:
  static void Capture(void* user, const char* format, va_list args) {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, args);
    static_cast<std::string*>(user)->append(buf).append("\n");
  }

  std::vector<uint8_t> bytes_;  // TfLiteModelCreate does not copy
  TfLiteModel* model_ = nullptr;
  TfLiteInterpreterOptions* options_ = nullptr;
  TfLiteInterpreter* interp_ = nullptr;
  std::string error_;
};

}  // namespace ql::testing
