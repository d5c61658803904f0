#include "quantlens/io/feed.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "quantlens/io/element.h"
#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"

namespace ql::io {
namespace {

bool IsQuantizedInteger(const ir::Tensor& t) {
  return ir::IsInteger(t.dtype) && !t.quant.empty();
}

// Integer range of a dtype, as doubles (exact for all but int64's extremes, which only matter for
// range checks where the 2^63 rounding is harmless).
void IntRange(ir::DType t, double* lo, double* hi) {
  using ir::DType;
  switch (t) {
    case DType::kInt8: *lo = -128; *hi = 127; break;
    case DType::kUInt8: *lo = 0; *hi = 255; break;
    case DType::kInt16: *lo = -32768; *hi = 32767; break;
    case DType::kInt32: *lo = -2147483648.0; *hi = 2147483647.0; break;
    case DType::kInt64: *lo = -9223372036854775808.0; *hi = 9223372036854775807.0; break;
    case DType::kBool: *lo = 0; *hi = 1; break;
    default: *lo = 0; *hi = 0; break;
  }
}

// TFLite's QUANTIZE arithmetic (float32): zp + round_half_away(x / scale), clamped.
double QuantizeValue(float x, float scale, int64_t zp, double lo, double hi) {
  float q = std::round(x / scale);
  double v = static_cast<double>(q) + static_cast<double>(zp);
  if (std::isnan(v)) return std::clamp(static_cast<double>(zp), lo, hi);
  return std::clamp(v, lo, hi);
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool StartsWithMagic(const std::string& path, std::string_view magic) {
  std::ifstream f(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  return f.gcount() == static_cast<std::streamsize>(magic.size()) && head == magic;
}

// Layout of an image-like input: where height, width and channels sit in the sample shape.
struct ImageLayout {
  int h_axis = -1, w_axis = -1, c_axis = -1;
};

Result<ImageLayout> ImageLayoutOf(const InputSpec& spec, const std::string& source) {
  const ir::Shape& s = spec.sample_shape;
  auto is_ch = [](int64_t d) { return d == 1 || d == 3; };
  if (s.size() == 4 && s[0] == 1) {
    if (is_ch(s[3])) return ImageLayout{1, 2, 3};
    if (is_ch(s[1])) return ImageLayout{2, 3, 1};  // NCHW (e.g. PyTorch-exported models)
  } else if (s.size() == 3) {
    if (is_ch(s[2])) return ImageLayout{0, 1, 2};
    if (s[0] == 1) return ImageLayout{1, 2, -1};  // [1, H, W]: one grayscale channel, no axis
  } else if (s.size() == 2) {
    return ImageLayout{0, 1, -1};
  }
  return InvalidArgument(
      "{}: {} has shape {}, which is not an image layout (NHWC/HWC/NCHW with 1 or 3 channels); "
      "pass a .npy array instead",
      source, spec.label, ir::ShapeToString(s));
}

}  // namespace

InputSpec MakeInputSpec(const ir::Tensor& tensor, int input_index, const ir::Shape& resolved) {
  InputSpec spec;
  spec.tensor = &tensor;
  spec.sample_shape = resolved;
  for (int64_t& d : spec.sample_shape) {
    if (d < 0) d = 1;
  }
  spec.label = tensor.name.empty() ? fmt::format("input {}", input_index)
                                   : fmt::format("input {} '{}'", input_index, tensor.name);
  return spec;
}

Result<Array> ConvertToInputDType(const Array& a, const InputSpec& spec, const std::string& source) {
  const ir::Tensor& t = *spec.tensor;
  if (a.dtype == t.dtype) return a;
  if (ir::DTypeSize(a.dtype) == 0 || ir::DTypeSize(t.dtype) == 0) {
    return Unsupported("{}: cannot feed {} data to {} of dtype {}", source, ir::DTypeName(a.dtype),
                       spec.label, ir::DTypeName(t.dtype));
  }
  const int64_t n = a.num_elements();
  Array out;
  out.dtype = t.dtype;
  out.shape = a.shape;
  out.data.resize(static_cast<size_t>(n) * ir::DTypeSize(t.dtype));
  const bool src_float = ir::IsFloat(a.dtype);
  if (ir::IsFloat(t.dtype)) {
    // Integers and bools become the same values; float widths convert by rounding to nearest.
    for (int64_t i = 0; i < n; ++i) StoreFromDouble(t.dtype, out.data.data(), i, LoadAsDouble(a.dtype, a.data.data(), i));
    return out;
  }
  double lo, hi;
  IntRange(t.dtype, &lo, &hi);
  if (src_float && IsQuantizedInteger(t)) {
    if (t.quant.per_axis()) {
      return Unsupported("{}: {} has per-axis quantization ({} scales); quantizing float data for it "
                         "is not supported, pass {} data",
                         source, spec.label, t.quant.scale.size(), ir::DTypeName(t.dtype));
    }
    const float scale = t.quant.scale[0];
    const int64_t zp = t.quant.zero_point.empty() ? 0 : t.quant.zero_point[0];
    if (!(scale > 0.0f) || !std::isfinite(scale)) {
      return InvalidModel("{}: {} has quantization scale {}, which must be a positive finite number",
                          source, spec.label, scale);
    }
    for (int64_t i = 0; i < n; ++i) {
      float x = static_cast<float>(LoadAsDouble(a.dtype, a.data.data(), i));
      StoreFromDouble(t.dtype, out.data.data(), i, QuantizeValue(x, scale, zp, lo, hi));
    }
    return out;
  }
  if (src_float) {
    return InvalidArgument(
        "{}: {} expects {} (not quantized) but the data is {}; convert the data to {} first", source,
        spec.label, ir::DTypeName(t.dtype), ir::DTypeName(a.dtype), ir::DTypeName(t.dtype));
  }
  // Integer to a different integer type: only when no value changes.
  for (int64_t i = 0; i < n; ++i) {
    double v = LoadAsDouble(a.dtype, a.data.data(), i);
    if (v < lo || v > hi) {
      return InvalidArgument(
          "{}: {} expects {} but the data is {} and element {} = {} does not fit; pass float values "
          "to have them quantized, or {} data",
          source, spec.label, ir::DTypeName(t.dtype), ir::DTypeName(a.dtype), i, v,
          ir::DTypeName(t.dtype));
    }
    StoreFromDouble(t.dtype, out.data.data(), i, v);
  }
  return out;
}

Result<int64_t> CountSamples(const Array& a, const InputSpec& spec, const std::string& source) {
  // The interpreter resolved every open dimension, so data must match the resolved shape exactly;
  // only the batch dimension (1 or open in the file) may instead count stacked samples.
  const ir::Shape& want = spec.sample_shape;
  const ir::Shape& declared = spec.tensor->shape;
  const bool batch_one = !want.empty() && want[0] == 1;
  if (a.shape == want) return 1;
  if (batch_one && a.shape.size() == want.size() && a.shape[0] >= 1 &&
      std::equal(a.shape.begin() + 1, a.shape.end(), want.begin() + 1)) {
    return a.shape[0];
  }
  if (batch_one && a.shape.size() + 1 == want.size() &&
      std::equal(a.shape.begin(), a.shape.end(), want.begin() + 1)) {
    return 1;  // the batch dimension left out
  }
  std::string hint;
  if (batch_one) {
    hint = fmt::format("; stacked samples need shape [N,{}",
                       ir::ShapeToString(ir::Shape(want.begin() + 1, want.end())).substr(1));
  }
  return InvalidArgument("{}: data of shape {} does not fit {} of shape {} (declared in the model as {}){}",
                         source, ir::ShapeToString(a.shape), spec.label, ir::ShapeToString(want),
                         ir::ShapeToString(declared), hint);
}

Array SliceSample(const Array& a, int64_t i, int64_t num_samples, const ir::Shape& sample_shape) {
  Array out;
  out.dtype = a.dtype;
  out.shape = sample_shape;
  const size_t bytes = a.data.size() / static_cast<size_t>(num_samples);
  out.data.assign(a.data.begin() + static_cast<std::ptrdiff_t>(bytes * i),
                  a.data.begin() + static_cast<std::ptrdiff_t>(bytes * (i + 1)));
  return out;
}

Result<Array> ImageToInput(const Image& image, const InputSpec& spec, const ImageFeedOptions& opts,
                           const std::string& source) {
  QL_ASSIGN_OR_RETURN(ImageLayout layout, ImageLayoutOf(spec, source));
  const ir::Shape& s = spec.sample_shape;
  const int64_t want_c = layout.c_axis >= 0 ? s[layout.c_axis] : 1;
  if (image.channels != want_c) {
    return InvalidArgument("{}: image decoded with {} channel(s) but {} has {} (shape {}){}", source,
                           image.channels, spec.label, want_c, ir::ShapeToString(s),
                           want_c == 1 ? "; use --grayscale" : "; drop --grayscale");
  }
  const int out_h = opts.resize_h > 0 ? opts.resize_h : static_cast<int>(s[layout.h_axis]);
  const int out_w = opts.resize_w > 0 ? opts.resize_w : static_cast<int>(s[layout.w_axis]);
  if (out_h != s[layout.h_axis] || out_w != s[layout.w_axis]) {
    return InvalidArgument("{}: resize to {}x{} does not give {}'s size {}x{} (shape {})", source,
                           out_h, out_w, spec.label, s[layout.h_axis], s[layout.w_axis],
                           ir::ShapeToString(s));
  }
  auto resized = ResizeBilinear(image, out_h, out_w);
  if (!resized.ok()) return resized.status().WithContext(source + ": ");
  const FloatImage& img = *resized;

  const ir::Tensor& t = *spec.tensor;
  const bool raw_pixels = !opts.scale && !opts.offset && IsQuantizedInteger(t) &&
                          (t.dtype == ir::DType::kUInt8 || t.dtype == ir::DType::kInt8);
  const float scale = opts.scale.value_or(1.0f), offset = opts.offset.value_or(0.0f);

  // Values in HWC order first, as float32 (or as final integers for the raw-pixel convention).
  Array values;
  values.shape = s;
  const int64_t n = static_cast<int64_t>(img.values.size());
  if (raw_pixels) {
    values.dtype = t.dtype;
    values.data.resize(static_cast<size_t>(n));
    const double shift = t.dtype == ir::DType::kInt8 ? -128.0 : 0.0;
    for (int64_t i = 0; i < n; ++i) {
      double p = std::clamp(std::round(static_cast<double>(img.values[i])), 0.0, 255.0);
      StoreFromDouble(t.dtype, values.data.data(), i, p + shift);
    }
  } else {
    values.dtype = ir::DType::kFloat32;
    values.data.resize(static_cast<size_t>(n) * sizeof(float));
    float* v = values.mut<float>();
    for (int64_t i = 0; i < n; ++i) v[i] = img.values[i] * scale + offset;
  }
  if (layout.c_axis >= 0 && layout.c_axis < layout.h_axis && want_c > 1) {
    // NCHW: move channels first.
    Array planar = values;
    const size_t elem = ir::DTypeSize(values.dtype);
    const int64_t hw = int64_t{out_h} * out_w;
    for (int64_t p = 0; p < hw; ++p) {
      for (int64_t c = 0; c < want_c; ++c) {
        std::copy_n(values.data.begin() + static_cast<std::ptrdiff_t>((p * want_c + c) * elem), elem,
                    planar.data.begin() + static_cast<std::ptrdiff_t>((c * hw + p) * elem));
      }
    }
    values = std::move(planar);
  }
  return ConvertToInputDType(values, spec, source);
}

Result<Array> LoadInputFile(const std::string& path, const InputSpec& spec,
                            const ImageFeedOptions& image_opts) {
  Array raw;
  if (StartsWithMagic(path, "\x93NUMPY")) {
    QL_ASSIGN_OR_RETURN(raw, ReadNpyFile(path));
  } else if (StartsWithMagic(path, "PK\x03\x04") || StartsWithMagic(path, "PK\x05\x06")) {
    QL_ASSIGN_OR_RETURN(auto names, ListNpz(path));
    std::string name = "x";
    if (std::find(names.begin(), names.end(), "x") == names.end() && names.size() == 1) name = names[0];
    QL_ASSIGN_OR_RETURN(raw, ReadNpzMember(path, name));
  } else if (LooksLikeImage(path)) {
    const bool gray = image_opts.grayscale.value_or([&] {
      auto layout = ImageLayoutOf(spec, path);
      if (!layout.ok() || layout->c_axis < 0) return true;
      return spec.sample_shape[layout->c_axis] == 1;
    }());
    QL_ASSIGN_OR_RETURN(Image img, DecodeImage(path, gray ? 1 : 3));
    return ImageToInput(img, spec, image_opts, path);
  } else {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) return NotFound("{}: no such file or not readable", path);
    return InvalidArgument("{}: not a .npy, .npz or image (PNG, JPEG, BMP) file{}", path,
                           EndsWith(path, ".npy") || EndsWith(path, ".npz") ? " (bad header)" : "");
  }
  QL_ASSIGN_OR_RETURN(int64_t samples, CountSamples(raw, spec, path));
  (void)samples;
  return ConvertToInputDType(raw, spec, path);
}

Result<Array> StackSamples(const std::vector<Array>& samples) {
  if (samples.empty()) return InvalidArgument("cannot stack zero samples");
  const Array& first = samples[0];
  for (size_t i = 1; i < samples.size(); ++i) {
    if (samples[i].dtype != first.dtype || samples[i].shape != first.shape) {
      return InvalidArgument("cannot stack samples: sample {} is {} {} but sample 0 is {} {}", i,
                             ir::DTypeName(samples[i].dtype), ir::ShapeToString(samples[i].shape),
                             ir::DTypeName(first.dtype), ir::ShapeToString(first.shape));
    }
  }
  Array out;
  out.dtype = first.dtype;
  const int64_t n = static_cast<int64_t>(samples.size());
  if (!first.shape.empty() && first.shape[0] == 1) {
    out.shape = first.shape;
    out.shape[0] = n;
  } else {
    out.shape = first.shape;
    out.shape.insert(out.shape.begin(), n);
  }
  out.data.reserve(first.data.size() * samples.size());
  for (const Array& s : samples) out.data.insert(out.data.end(), s.data.begin(), s.data.end());
  return out;
}

}  // namespace ql::io
