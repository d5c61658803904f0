#include "quantlens/io/sample_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

#include "quantlens/io/element.h"
#include "quantlens/io/image.h"
#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"

namespace ql::io {
namespace {

namespace fs = std::filesystem;

std::string SampleCount(int64_t used, int64_t available) {
  if (used == available) return fmt::format("{} sample{}", used, used == 1 ? "" : "s");
  return fmt::format("first {} of {} samples", used, available);
}

// The number of samples to use: all, or the first max_samples.
int64_t Limit(int64_t available, const SampleSourceOptions& o) {
  return o.max_samples < 0 ? available : std::min(available, o.max_samples);
}

// NaN/Inf in float data would poison every range computed from it (minmax would return Inf, and
// quantizing a NaN gives the zero point silently), so it is refused where it enters.
Status CheckFinite(const Array& a, const std::string& source, int64_t sample, const std::string& what) {
  if (!ir::IsFloat(a.dtype)) return Status::Ok();
  const int64_t n = a.num_elements();
  const float* f32 = a.dtype == ir::DType::kFloat32 ? a.as<float>() : nullptr;
  for (int64_t k = 0; k < n; ++k) {
    if (f32 && std::isfinite(f32[k])) continue;  // the common case, without the generic load
    const double v = LoadAsDouble(a.dtype, a.data.data(), k);
    if (!std::isfinite(v)) {
      return InvalidArgument(
          "{}: sample {}{}: element {} is {}; calibration data must be finite (clean the data, or "
          "allow non-finite values explicitly)",
          source, sample, what, k, std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
    }
  }
  return Status::Ok();
}

// Checks up front that data of `dtype` can be converted for `spec` (ConvertToInputDType's dtype
// rules), with an empty array so no values are involved.
Status CheckDTypeConvertible(ir::DType dtype, const InputSpec& spec, const std::string& source) {
  Array probe;
  probe.dtype = dtype;
  probe.shape = {0};
  auto r = ConvertToInputDType(probe, spec, source);
  return r.ok() ? Status::Ok() : r.status();
}

// Shape-only array: CountSamples looks at nothing else.
Array ShapeOnly(ir::DType dtype, const ir::Shape& shape) {
  Array a;
  a.dtype = dtype;
  a.shape = shape;
  return a;
}

// Converts one raw sample (already reshaped to the sample shape) for `spec`, checking finiteness
// before (the raw values) and after (float64 data overflowing a float32 input) conversion.
Result<Array> ConvertSample(const Array& raw, const InputSpec& spec, const std::string& source,
                            int64_t i, const SampleSourceOptions& o) {
  if (o.reject_non_finite) QL_RETURN_IF_ERROR(CheckFinite(raw, source, i, ""));
  QL_ASSIGN_OR_RETURN(Array out, ConvertToInputDType(raw, spec, source));
  if (o.reject_non_finite && out.dtype != raw.dtype) {
    QL_RETURN_IF_ERROR(CheckFinite(out, source, i,
                                   fmt::format(" (after conversion to {})", ir::DTypeName(out.dtype))));
  }
  return out;
}

Status RequireOneInput(const std::vector<InputSpec>& specs, const std::string& data, const char* kind) {
  if (specs.size() == 1) return Status::Ok();
  return InvalidArgument("{}: {} feeds one model input but the model has {}; use random:SEED for "
                         "multi-input models",
                         data, kind, specs.size());
}

// Copies of the graph's input tensors (without constant data) that the specs point into: a source
// does not depend on the graph outliving it.
using InputTensors = std::shared_ptr<const std::vector<ir::Tensor>>;

// ---- .npy: header up front, then one sample per Get at its offset. ----
class NpySource final : public SampleSource {
 public:
  static Result<std::unique_ptr<SampleSource>> Open(const std::string& path, const InputSpec& spec,
                                                    const SampleSourceOptions& o, InputTensors tensors) {
    auto src = std::unique_ptr<NpySource>(new NpySource(path, spec, o));
    src->tensors_ = std::move(tensors);
    src->file_.open(path, std::ios::binary);
    if (!src->file_) return NotFound("{}: no such file or not readable", path);
    src->file_.seekg(0, std::ios::end);
    const auto file_size = static_cast<uint64_t>(src->file_.tellg());
    src->file_.seekg(0);
    // The header is at most ParseNpyHeader's limit (1 MiB) plus a 12-byte preamble; read what the
    // preamble announces and no more.
    std::vector<uint8_t> head(std::min<uint64_t>(file_size, 12));
    src->file_.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    uint64_t header_end = head.size();
    if (head.size() >= 10) {
      const int major = head[6];
      uint64_t len = head[8] | (uint64_t{head[9]} << 8), prefix = 10;
      if ((major == 2 || major == 3) && head.size() >= 12) {
        len |= (uint64_t{head[10]} << 16) | (uint64_t{head[11]} << 24);
        prefix = 12;
      }
      header_end = std::min(file_size, prefix + std::min<uint64_t>(len, uint64_t{1} << 21));
    }
    head.resize(header_end);
    src->file_.seekg(0);
    src->file_.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    if (!src->file_) return IoError("{}: cannot read the .npy header", path);
    QL_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(head, path));
    QL_RETURN_IF_ERROR(CheckDTypeConvertible(h.dtype, spec, path));
    QL_ASSIGN_OR_RETURN(int64_t n, CountSamples(ShapeOnly(h.dtype, h.shape), spec, path));
    const uint64_t elem = ir::DTypeSize(h.dtype);
    const uint64_t count = static_cast<uint64_t>(ir::ShapeProduct(h.shape));
    if (file_size - h.data_offset != count * elem) {
      return InvalidArgument("{}: .npy shape {} of {} needs {} data bytes but the file has {}", path,
                             ir::ShapeToString(h.shape), h.descr, count * elem,
                             file_size - h.data_offset);
    }
    if (n == 0) return InvalidArgument("{}: the array holds no samples (shape {})", path,
                                       ir::ShapeToString(h.shape));
    src->dtype_ = h.dtype;
    src->offset_ = h.data_offset;
    src->available_ = n;
    src->sample_bytes_ = count * elem / static_cast<uint64_t>(n);
    src->num_ = Limit(n, o);
    return std::unique_ptr<SampleSource>(std::move(src));
  }

  int64_t num_samples() const override { return num_; }
  std::string description() const override {
    return fmt::format("{} ({})", path_, SampleCount(num_, available_));
  }
  Result<std::vector<Array>> Get(int64_t i) override {
    if (i < 0 || i >= num_) return InvalidArgument("{}: sample {} out of range [0, {})", path_, i, num_);
    Array raw;
    raw.dtype = dtype_;
    raw.shape = spec_.sample_shape;
    raw.data.resize(sample_bytes_);
    file_.clear();
    file_.seekg(static_cast<std::streamoff>(offset_ + sample_bytes_ * static_cast<uint64_t>(i)));
    file_.read(reinterpret_cast<char*>(raw.data.data()), static_cast<std::streamsize>(sample_bytes_));
    if (!file_) return IoError("{}: cannot read sample {} (the file changed while in use?)", path_, i);
    QL_ASSIGN_OR_RETURN(Array a, ConvertSample(raw, spec_, path_, i, options_));
    std::vector<Array> out;
    out.push_back(std::move(a));
    return out;
  }

 private:
  NpySource(std::string path, InputSpec spec, SampleSourceOptions o)
      : path_(std::move(path)), spec_(std::move(spec)), options_(std::move(o)) {}
  std::string path_;
  InputSpec spec_;
  SampleSourceOptions options_;
  InputTensors tensors_;
  std::ifstream file_;
  ir::DType dtype_ = ir::DType::kUnknown;
  uint64_t offset_ = 0, sample_bytes_ = 0;
  int64_t available_ = 0, num_ = 0;
};

// ---- .npz: "x" read whole (zip members are compressed), optional labels "y". ----
class NpzSource final : public SampleSource {
 public:
  static Result<std::unique_ptr<SampleSource>> Open(const std::string& path, const InputSpec& spec,
                                                    const SampleSourceOptions& o, InputTensors tensors) {
    QL_ASSIGN_OR_RETURN(auto names, ListNpz(path));
    auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    if (!has("x")) {
      std::string present;
      for (const auto& n : names) present += (present.empty() ? "" : ", ") + n;
      return InvalidArgument("{}: no array 'x' in the archive (it holds: {}); calibration data must "
                             "be in 'x', with optional integer labels in 'y'",
                             path, present.empty() ? "nothing" : present);
    }
    auto src = std::unique_ptr<NpzSource>(new NpzSource(path, spec, o));
    src->tensors_ = std::move(tensors);
    QL_ASSIGN_OR_RETURN(src->x_, ReadNpzMember(path, "x"));
    const std::string xsrc = path + ": array 'x'";
    // uint8 NHWC pictures ([N, H, W, 1 or 3]) of another size than the model's input, with
    // --resize given: each sample is an image, resized and scaled as an image file would be
    // (CIFAR-10's 32x32 pictures fed to a 96x96 model).
    const auto& xs = src->x_.shape;
    src->as_images_ = o.image.resize_h > 0 && src->x_.dtype == ir::DType::kUInt8 && xs.size() == 4 &&
                      (xs[3] == 1 || xs[3] == 3) && xs[1] > 0 && xs[2] > 0 &&
                      spec.sample_shape.size() == 4 &&
                      (xs[1] != spec.sample_shape[1] || xs[2] != spec.sample_shape[2]);
    int64_t n = 0;
    if (src->as_images_) {
      n = xs[0];
    } else {
      QL_RETURN_IF_ERROR(CheckDTypeConvertible(src->x_.dtype, spec, xsrc));
      QL_ASSIGN_OR_RETURN(n, CountSamples(ShapeOnly(src->x_.dtype, src->x_.shape), spec, xsrc));
    }
    if (n == 0) return InvalidArgument("{}: 'x' holds no samples (shape {})", path,
                                       ir::ShapeToString(src->x_.shape));
    src->available_ = n;
    src->num_ = Limit(n, o);
    if (has("y")) {
      QL_ASSIGN_OR_RETURN(Array y, ReadNpzMember(path, "y"));
      const bool shape_ok = (y.shape.size() == 1 && y.shape[0] == n) ||
                            (y.shape.size() == 2 && y.shape[0] == n && y.shape[1] == 1);
      if (!ir::IsInteger(y.dtype) || !shape_ok) {
        return InvalidArgument("{}: labels 'y' are {} of shape {}; they must be integers of shape "
                               "[{}] (one per sample of 'x')",
                               path, ir::DTypeName(y.dtype), ir::ShapeToString(y.shape), n);
      }
      src->labels_.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) {
        src->labels_[static_cast<size_t>(k)] = static_cast<int64_t>(LoadAsDouble(y.dtype, y.data.data(), k));
      }
    }
    return std::unique_ptr<SampleSource>(std::move(src));
  }

  int64_t num_samples() const override { return num_; }
  std::string description() const override {
    return fmt::format("{} ({}{})", path_, SampleCount(num_, available_),
                       labels_.empty() ? "" : ", labelled");
  }
  std::optional<int64_t> Label(int64_t i) const override {
    if (labels_.empty() || i < 0 || i >= num_) return std::nullopt;
    return labels_[static_cast<size_t>(i)];
  }
  Result<std::vector<Array>> Get(int64_t i) override {
    if (i < 0 || i >= num_) return InvalidArgument("{}: sample {} out of range [0, {})", path_, i, num_);
    if (as_images_) {
      Image img;
      img.height = static_cast<int>(x_.shape[1]);
      img.width = static_cast<int>(x_.shape[2]);
      img.channels = static_cast<int>(x_.shape[3]);
      const size_t bytes = static_cast<size_t>(img.height) * img.width * img.channels;
      img.pixels.assign(x_.data.begin() + static_cast<std::ptrdiff_t>(bytes * static_cast<size_t>(i)),
                        x_.data.begin() + static_cast<std::ptrdiff_t>(bytes * static_cast<size_t>(i + 1)));
      QL_ASSIGN_OR_RETURN(Array a, ImageToInput(img, spec_, options_.image,
                                                fmt::format("{}: array 'x' sample {}", path_, i)));
      std::vector<Array> out;
      out.push_back(std::move(a));
      return out;
    }
    Array raw = SliceSample(x_, i, available_, spec_.sample_shape);
    QL_ASSIGN_OR_RETURN(Array a, ConvertSample(raw, spec_, path_ + ": array 'x'", i, options_));
    std::vector<Array> out;
    out.push_back(std::move(a));
    return out;
  }

 private:
  NpzSource(std::string path, InputSpec spec, SampleSourceOptions o)
      : path_(std::move(path)), spec_(std::move(spec)), options_(std::move(o)) {}
  std::string path_;
  InputSpec spec_;
  SampleSourceOptions options_;
  InputTensors tensors_;
  Array x_;
  bool as_images_ = false;
  std::vector<int64_t> labels_;
  int64_t available_ = 0, num_ = 0;
};

// ---- A folder of images, sorted by file name, decoded one per Get. ----
class ImageFolderSource final : public SampleSource {
 public:
  static Result<std::unique_ptr<SampleSource>> Open(const std::string& dir, const InputSpec& spec,
                                                    const SampleSourceOptions& o, InputTensors tensors) {
    auto src = std::unique_ptr<ImageFolderSource>(new ImageFolderSource(dir, spec, o));
    src->tensors_ = std::move(tensors);
    std::error_code ec;
    int64_t skipped = 0;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::error_code ec2;
      if (name.empty() || name[0] == '.' || !it->is_regular_file(ec2)) continue;
      if (LooksLikeImage(it->path().string())) {
        src->files_.push_back(it->path().string());
      } else {
        ++skipped;
      }
    }
    if (ec) return IoError("{}: cannot list the folder: {}", dir, ec.message());
    if (src->files_.empty()) {
      return InvalidArgument("{}: the folder holds no PNG, JPEG or BMP image{}", dir,
                             skipped ? fmt::format(" ({} other file(s) skipped)", skipped) : "");
    }
    // Byte-wise name order: the same on every machine, whatever the locale or directory order.
    std::sort(src->files_.begin(), src->files_.end());
    src->skipped_ = skipped;
    src->available_ = static_cast<int64_t>(src->files_.size());
    src->num_ = Limit(src->available_, o);
    // Layout, channel and size errors show up before anything runs: decode the first image now.
    auto first = src->Get(0);
    if (!first.ok()) return first.status();
    return std::unique_ptr<SampleSource>(std::move(src));
  }

  int64_t num_samples() const override { return num_; }
  std::string description() const override {
    return fmt::format("{} ({} of images{})", dir_, SampleCount(num_, available_),
                       skipped_ ? fmt::format(", {} other file(s) skipped", skipped_) : "");
  }
  Result<std::vector<Array>> Get(int64_t i) override {
    if (i < 0 || i >= num_) return InvalidArgument("{}: sample {} out of range [0, {})", dir_, i, num_);
    const std::string& path = files_[static_cast<size_t>(i)];
    QL_ASSIGN_OR_RETURN(Array a, LoadInputFile(path, spec_, options_.image));
    if (options_.reject_non_finite) QL_RETURN_IF_ERROR(CheckFinite(a, path, i, ""));
    std::vector<Array> out;
    out.push_back(std::move(a));
    return out;
  }

 private:
  ImageFolderSource(std::string dir, InputSpec spec, SampleSourceOptions o)
      : dir_(std::move(dir)), spec_(std::move(spec)), options_(std::move(o)) {}
  std::string dir_;
  InputSpec spec_;
  SampleSourceOptions options_;
  InputTensors tensors_;
  std::vector<std::string> files_;
  int64_t skipped_ = 0, available_ = 0, num_ = 0;
};

// ---- random:SEED ----
// SplitMix64 (a public-domain mixing function): a counter-based generator, so sample i's values
// are a pure function of (seed, input, i, element) and Get can be called in any order.
uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class RandomSource final : public SampleSource {
 public:
  RandomSource(std::string data, uint64_t seed, std::vector<InputSpec> specs, int64_t n,
               InputTensors tensors)
      : data_(std::move(data)), seed_(seed), specs_(std::move(specs)), num_(n), tensors_(std::move(tensors)) {}

  int64_t num_samples() const override { return num_; }
  std::string description() const override {
    return fmt::format("{} ({} uniform random sample{})", data_, num_, num_ == 1 ? "" : "s");
  }
  Result<std::vector<Array>> Get(int64_t i) override {
    if (i < 0 || i >= num_) return InvalidArgument("{}: sample {} out of range [0, {})", data_, i, num_);
    std::vector<Array> out;
    for (size_t k = 0; k < specs_.size(); ++k) {
      const InputSpec& spec = specs_[k];
      Array a;
      a.dtype = spec.tensor->dtype;
      a.shape = spec.sample_shape;
      const int64_t n = ir::ShapeProduct(a.shape);
      a.data.resize(static_cast<size_t>(n) * ir::DTypeSize(a.dtype));
      uint64_t state = Mix(Mix(Mix(seed_) ^ static_cast<uint64_t>(i)) ^ (k + 1));
      for (int64_t e = 0; e < n; ++e) {
        const uint64_t r = Mix(state + static_cast<uint64_t>(e));
        StoreFromDouble(a.dtype, a.data.data(), e, Value(a.dtype, r));
      }
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  static double Value(ir::DType t, uint64_t r) {
    using ir::DType;
    // Floats: the top 24 bits give a float32-exact value in [0, 1).
    if (ir::IsFloat(t)) return static_cast<double>(r >> 40) * 0x1.0p-24;
    switch (t) {
      case DType::kBool: return static_cast<double>(r >> 63);
      case DType::kInt8: return static_cast<double>(static_cast<int8_t>(r >> 56));
      case DType::kUInt8: return static_cast<double>(r >> 56);
      case DType::kInt16: return static_cast<double>(static_cast<int16_t>(r >> 48));
      case DType::kInt32: return static_cast<double>(static_cast<int32_t>(r >> 32));
      // int64: kept within +-2^53 so the double StoreFromDouble takes is exact.
      case DType::kInt64: return static_cast<double>(static_cast<int64_t>(r) >> 11);
      default: return 0;
    }
  }
  std::string data_;
  uint64_t seed_;
  std::vector<InputSpec> specs_;
  int64_t num_;
  InputTensors tensors_;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool StartsWith(const std::string& path, std::string_view magic) {
  std::ifstream f(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  return f.gcount() == static_cast<std::streamsize>(magic.size()) && head == magic;
}

}  // namespace

std::vector<ir::Shape> InputSampleShapes(const ir::Graph& graph) {
  std::vector<ir::Shape> shapes;
  for (int t : graph.inputs) {
    ir::Shape s = (t >= 0 && t < static_cast<int>(graph.tensors.size())) ? graph.tensors[t].shape
                                                                          : ir::Shape{};
    for (int64_t& d : s) d = d < 0 ? 1 : d;
    shapes.push_back(std::move(s));
  }
  return shapes;
}

Result<std::unique_ptr<SampleSource>> OpenSampleSource(const std::string& data, const ir::Graph& graph,
    const std::vector<ir::Shape>& input_sample_shapes, const SampleSourceOptions& options) {
  if (options.max_samples == 0 || options.max_samples < -1) {
    return InvalidArgument("{}: a sample limit of {} is not a positive count (-1 means all)", data,
                           options.max_samples);
  }
  if (input_sample_shapes.size() != graph.inputs.size()) {
    return InvalidArgument("{}: {} input shapes given for a model with {} inputs", data,
                           input_sample_shapes.size(), graph.inputs.size());
  }
  auto tensors = std::make_shared<std::vector<ir::Tensor>>();
  for (size_t k = 0; k < graph.inputs.size(); ++k) {
    const int t = graph.inputs[k];
    if (t < 0 || t >= static_cast<int>(graph.tensors.size())) {
      return InvalidModel("{}: input {} names tensor {}, which does not exist", graph.source_path, k, t);
    }
    tensors->push_back(graph.tensors[t]);
    tensors->back().data.clear();
  }
  std::vector<InputSpec> specs;
  for (size_t k = 0; k < tensors->size(); ++k) {
    specs.push_back(MakeInputSpec((*tensors)[k], static_cast<int>(k), input_sample_shapes[k]));
  }
  if (graph.inputs.empty()) return InvalidArgument("{}: the model has no inputs to feed", data);

  if (data.rfind("random", 0) == 0) {
    const std::string seed_text = data.size() > 7 && data[6] == ':' ? data.substr(7) : "";
    uint64_t seed = 0;
    auto [end, ec] = std::from_chars(seed_text.data(), seed_text.data() + seed_text.size(), seed);
    if (seed_text.empty() || ec != std::errc() || end != seed_text.data() + seed_text.size()) {
      return InvalidArgument("'{}': random data is written random:SEED with SEED a non-negative "
                             "integer, e.g. random:0",
                             data);
    }
    for (const InputSpec& s : specs) {
      if (ir::DTypeSize(s.tensor->dtype) == 0) {
        return Unsupported("{}: {} has dtype {}, for which no random data is made", data, s.label,
                           ir::DTypeName(s.tensor->dtype));
      }
    }
    const int64_t n = options.max_samples < 0 ? kDefaultRandomSamples : options.max_samples;
    return std::unique_ptr<SampleSource>(new RandomSource(data, seed, std::move(specs), n, tensors));
  }

  std::error_code ec;
  if (fs::is_directory(data, ec)) {
    QL_RETURN_IF_ERROR(RequireOneInput(specs, data, "an image folder"));
    return ImageFolderSource::Open(data, specs[0], options, tensors);
  }
  if (!fs::exists(data, ec)) {
    return NotFound("{}: no such file or folder (calibration data is a .npy, a .npz with 'x', a "
                    "folder of images, or random:SEED)",
                    data);
  }
  if (StartsWith(data, "\x93NUMPY")) {
    QL_RETURN_IF_ERROR(RequireOneInput(specs, data, "a .npy file"));
    return NpySource::Open(data, specs[0], options, tensors);
  }
  if (StartsWith(data, "PK\x03\x04") || StartsWith(data, "PK\x05\x06")) {
    QL_RETURN_IF_ERROR(RequireOneInput(specs, data, "a .npz file"));
    return NpzSource::Open(data, specs[0], options, tensors);
  }
  return InvalidArgument("{}: not a .npy or .npz file{}; calibration data is a .npy, a .npz with "
                         "'x', a folder of images, or random:SEED",
                         data, EndsWith(data, ".npy") || EndsWith(data, ".npz") ? " (bad header)" : "");
}

}  // namespace ql::io
