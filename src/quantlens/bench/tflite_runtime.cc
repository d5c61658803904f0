#include "quantlens/bench/tflite_runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <string_view>

namespace ql::bench {

// The few declarations of the TFLite 2.9 C API (tensorflow/lite/c/c_api.h) that bench uses, so
// nothing depends on the package's headers at build time. Opaque handles are void*; TfLiteStatus
// and TfLiteType are C enums (int).
struct TfliteApi {
  using Status = int;  // kTfLiteOk = 0
  const char* (*Version)() = nullptr;
  void* (*ModelCreateFromFile)(const char*) = nullptr;
  void (*ModelDelete)(void*) = nullptr;
  void* (*OptionsCreate)() = nullptr;
  void (*OptionsDelete)(void*) = nullptr;
  void (*OptionsSetNumThreads)(void*, int32_t) = nullptr;
  void (*OptionsAddDelegate)(void*, void*) = nullptr;
  void (*OptionsSetErrorReporter)(void*, void (*)(void*, const char*, va_list), void*) = nullptr;
  void* (*InterpreterCreate)(const void*, const void*) = nullptr;
  void (*InterpreterDelete)(void*) = nullptr;
  Status (*AllocateTensors)(void*) = nullptr;
  int32_t (*GetInputTensorCount)(const void*) = nullptr;
  int32_t (*GetOutputTensorCount)(const void*) = nullptr;
  void* (*GetInputTensor)(const void*, int32_t) = nullptr;
  const void* (*GetOutputTensor)(const void*, int32_t) = nullptr;
  Status (*Invoke)(void*) = nullptr;
  int (*TensorType)(const void*) = nullptr;
  size_t (*TensorByteSize)(const void*) = nullptr;
  void* (*TensorData)(const void*) = nullptr;
  Status (*TensorCopyFromBuffer)(void*, const void*, size_t) = nullptr;

  // tensorflow/lite/delegates/xnnpack/xnnpack_delegate.h of 2.9 (not shipped in the package):
  //   typedef struct { int32_t num_threads; uint32_t flags; } TfLiteXNNPackDelegateOptions;
  // The layout is confirmed by the shipped library's code: ...OptionsDefault returns the struct in
  // RAX alone (8 bytes, zeroed) and ...DelegateCreate reads exactly 8 bytes through its argument.
  struct XnnpackOptions {
    int32_t num_threads;
    uint32_t flags;
  };
  XnnpackOptions (*XnnpackOptionsDefault)() = nullptr;
  void* (*XnnpackCreate)(const XnnpackOptions*) = nullptr;
  void (*XnnpackDelete)(void*) = nullptr;
};
static_assert(sizeof(TfliteApi::XnnpackOptions) == 8);

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPackagePath =
    ".deps/tflite/node_modules/tfjs-tflite-node/cc_deps/linux_amd64/libtensorflowlite_c.so";

std::string ExecutableDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// The source tree this file was compiled from (CMake passes absolute paths), or "".
std::string SourceTree() {
  const std::string_view file = __FILE__;
  constexpr std::string_view suffix = "src/quantlens/bench/tflite_runtime.cc";
  if (file.size() < suffix.size() || file.front() != '/' ||
      file.substr(file.size() - suffix.size()) != suffix)
    return "";
  return std::string(file.substr(0, file.size() - suffix.size()));
}

template <typename Fn>
Status Resolve(void* handle, const std::string& path, const char* name, Fn& fn) {
  void* sym = dlsym(handle, name);
  if (!sym)
    return InvalidArgument("{}: does not export {}; it is not the TensorFlow Lite 2.9 C library "
                           "(with XNNPACK) that bench expects", path, name);
  fn = reinterpret_cast<Fn>(sym);
  return Status::Ok();
}

int TfliteTypeOf(ir::DType t) {
  using ir::DType;
  switch (t) {
    case DType::kFloat32: return 1;
    case DType::kInt32: return 2;
    case DType::kUInt8: return 3;
    case DType::kInt64: return 4;
    case DType::kString: return 5;
    case DType::kBool: return 6;
    case DType::kInt16: return 7;
    case DType::kInt8: return 9;
    case DType::kFloat16: return 10;
    case DType::kFloat64: return 11;
    default: return 0;
  }
}

}  // namespace

std::vector<std::string> TfliteLibraryCandidates() {
  std::vector<std::string> out;
  if (std::string dir = ExecutableDir(); !dir.empty())
    out.push_back((fs::path(dir) / ".." / ".." / kPackagePath).lexically_normal().string());
  if (std::string src = SourceTree(); !src.empty()) {
    std::string p = (fs::path(src) / kPackagePath).lexically_normal().string();
    if (out.empty() || out.front() != p) out.push_back(std::move(p));
  }
  return out;
}

Result<std::shared_ptr<const GenuineTflite>> GenuineTflite::Load() {
  if (const char* env = std::getenv(kTfliteLibraryEnv); env && *env) {
    std::error_code ec;
    if (!fs::is_regular_file(env, ec))
      return NotFound("{}={}: no such file (it must name libtensorflowlite_c.so)", kTfliteLibraryEnv, env);
    return LoadPath(env);
  }
  const std::vector<std::string> candidates = TfliteLibraryCandidates();
  for (const std::string& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return LoadPath(c);
  }
  std::string looked;
  for (const std::string& c : candidates) looked += (looked.empty() ? "" : ", ") + c;
  return NotFound("--compare-tflite: the genuine TensorFlow Lite C library was not found (looked at {}); "
                  "install it with scripts/setup_tflite_c.sh or set {} to libtensorflowlite_c.so",
                  looked.empty() ? "nothing" : looked, kTfliteLibraryEnv);
}

Result<std::shared_ptr<const GenuineTflite>> GenuineTflite::LoadPath(const std::string& path) {
  // RTLD_LOCAL: the library's own copies of flatbuffers and friends stay out of quantlens's way.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    return InvalidArgument("{}: cannot load: {}", path, err ? err : "dlopen failed");
  }
  std::shared_ptr<GenuineTflite> lib(new GenuineTflite());
  lib->path_ = path;
  lib->api_ = std::make_unique<TfliteApi>();
  TfliteApi& a = *lib->api_;
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteVersion", a.Version));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteModelCreateFromFile", a.ModelCreateFromFile));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteModelDelete", a.ModelDelete));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterOptionsCreate", a.OptionsCreate));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterOptionsDelete", a.OptionsDelete));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterOptionsSetNumThreads", a.OptionsSetNumThreads));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterOptionsAddDelegate", a.OptionsAddDelegate));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterOptionsSetErrorReporter", a.OptionsSetErrorReporter));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterCreate", a.InterpreterCreate));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterDelete", a.InterpreterDelete));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterAllocateTensors", a.AllocateTensors));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterGetInputTensorCount", a.GetInputTensorCount));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterGetOutputTensorCount", a.GetOutputTensorCount));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterGetInputTensor", a.GetInputTensor));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterGetOutputTensor", a.GetOutputTensor));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteInterpreterInvoke", a.Invoke));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteTensorType", a.TensorType));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteTensorByteSize", a.TensorByteSize));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteTensorData", a.TensorData));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteTensorCopyFromBuffer", a.TensorCopyFromBuffer));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteXNNPackDelegateOptionsDefault", a.XnnpackOptionsDefault));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteXNNPackDelegateCreate", a.XnnpackCreate));
  QL_RETURN_IF_ERROR(Resolve(handle, path, "TfLiteXNNPackDelegateDelete", a.XnnpackDelete));
  // The handle is deliberately never closed (see Load).
  return std::shared_ptr<const GenuineTflite>(std::move(lib));
}

GenuineTflite::~GenuineTflite() = default;

std::string GenuineTflite::version() const {
  const char* v = api_->Version();
  return v ? v : "";
}

struct GenuineInterpreter::Handles {
  const TfliteApi* api = nullptr;
  void* model = nullptr;
  void* options = nullptr;
  void* delegate = nullptr;
  void* interp = nullptr;
  std::string errors;  // what TFLite's error reporter said

  static void Report(void* user, const char* format, va_list args) {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, args);
    auto* s = static_cast<std::string*>(user);
    if (!s->empty()) s->append("; ");
    s->append(buf);
  }
  ~Handles() {
    // The delegate must outlive the interpreter that uses it.
    if (interp) api->InterpreterDelete(interp);
    if (delegate) api->XnnpackDelete(delegate);
    if (options) api->OptionsDelete(options);
    if (model) api->ModelDelete(model);
  }
};

Result<std::unique_ptr<GenuineInterpreter>> GenuineInterpreter::Create(
    std::shared_ptr<const GenuineTflite> lib, const std::string& model_path, const GenuineOptions& options) {
  std::unique_ptr<GenuineInterpreter> gi(new GenuineInterpreter());
  gi->lib_ = std::move(lib);
  gi->model_path_ = model_path;
  gi->h_ = std::make_unique<Handles>();
  Handles& h = *gi->h_;
  const TfliteApi& a = gi->lib_->api();
  h.api = &a;
  const std::string what = options.xnnpack ? "genuine TFLite (XNNPACK)" : "genuine TFLite (builtin)";
  auto failed = [&](const char* step) {
    return InvalidModel("{}: {}: {} failed{}{}", model_path, what, step, h.errors.empty() ? "" : ": ",
                        h.errors);
  };
  h.model = a.ModelCreateFromFile(model_path.c_str());
  if (!h.model) return failed("TfLiteModelCreateFromFile");
  h.options = a.OptionsCreate();
  if (!h.options) return failed("TfLiteInterpreterOptionsCreate");
  a.OptionsSetErrorReporter(h.options, &Handles::Report, &h.errors);
  a.OptionsSetNumThreads(h.options, options.threads);
  if (options.xnnpack) {
    TfliteApi::XnnpackOptions xo = a.XnnpackOptionsDefault();
    xo.num_threads = options.threads;
    // TFLITE_XNNPACK_DELEGATE_FLAG_QS8: 2.9 leaves int8 operators to the builtin kernels unless
    // asked (later versions enable it by default); a user deploying an int8 model with XNNPACK
    // sets it, so the comparison does too. Its uint8 flag (QU8) is left off: with it 2.9 fails to
    // prepare the corpus's uint8 MobileNetV2 (it cannot delegate some of its CONV_2D nodes).
    xo.flags |= 0x1u;
    h.delegate = a.XnnpackCreate(&xo);
    if (!h.delegate) return failed("TfLiteXNNPackDelegateCreate");
    a.OptionsAddDelegate(h.options, h.delegate);
  }
  h.interp = a.InterpreterCreate(h.model, h.options);
  if (!h.interp) return failed("TfLiteInterpreterCreate");
  if (a.AllocateTensors(h.interp) != 0) return failed("TfLiteInterpreterAllocateTensors");
  return gi;
}

GenuineInterpreter::~GenuineInterpreter() = default;

int GenuineInterpreter::num_inputs() const { return h_->api->GetInputTensorCount(h_->interp); }
int GenuineInterpreter::num_outputs() const { return h_->api->GetOutputTensorCount(h_->interp); }

Status GenuineInterpreter::SetInput(int i, ir::DType dtype, std::span<const uint8_t> bytes) {
  const TfliteApi& a = *h_->api;
  if (i < 0 || i >= num_inputs())
    return InvalidModel("{}: genuine TFLite has {} input(s), no input {}", model_path_, num_inputs(), i);
  void* t = a.GetInputTensor(h_->interp, i);
  if (!t) return InvalidModel("{}: genuine TFLite: input {} has no tensor", model_path_, i);
  if (a.TensorType(t) != TfliteTypeOf(dtype))
    return InvalidModel("{}: input {}: genuine TFLite's type {} is not quantlens's {}", model_path_, i,
                        a.TensorType(t), ir::DTypeName(dtype));
  if (a.TensorByteSize(t) != bytes.size())
    return InvalidModel("{}: input {}: genuine TFLite expects {} bytes, quantlens feeds {}", model_path_, i,
                        a.TensorByteSize(t), bytes.size());
  if (a.TensorCopyFromBuffer(t, bytes.data(), bytes.size()) != 0)
    return InvalidModel("{}: input {}: TfLiteTensorCopyFromBuffer failed", model_path_, i);
  return Status::Ok();
}

Status GenuineInterpreter::Invoke() {
  if (h_->api->Invoke(h_->interp) != 0)
    return InvalidModel("{}: genuine TFLite: TfLiteInterpreterInvoke failed{}{}", model_path_,
                        h_->errors.empty() ? "" : ": ", h_->errors);
  return Status::Ok();
}

std::vector<uint8_t> GenuineInterpreter::Output(int i) const {
  const TfliteApi& a = *h_->api;
  const void* t = a.GetOutputTensor(h_->interp, i);
  if (!t) return {};
  const auto* p = static_cast<const uint8_t*>(a.TensorData(t));
  if (!p) return {};
  return std::vector<uint8_t>(p, p + a.TensorByteSize(t));
}

}  // namespace ql::bench
