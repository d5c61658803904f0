// Model inputs the data targets (npy, npz, image) feed into, as `quantlens run --input` does:
// float32 NHWC, quantized uint8/int8 (NHWC, NCHW, HWC), int32 and an open batch.
#pragma once

#include <vector>

#include "quantlens/io/feed.h"
#include "quantlens/ir/graph.h"

namespace ql::fuzz {

struct SampleInput {
  ir::Tensor tensor;
  io::InputSpec spec;
};

inline ir::Tensor MakeTensor(const char* name, ir::DType dtype, ir::Shape shape, float scale = 0,
                             int64_t zp = 0) {
  ir::Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (scale != 0) {
    t.quant.scale = {scale};
    t.quant.zero_point = {zp};
  }
  return t;
}

// Built once; the specs point into the vector's tensors (never resized afterwards).
inline const std::vector<io::InputSpec>& SampleInputSpecs() {
  static const std::vector<ir::Tensor>* tensors = new std::vector<ir::Tensor>{
      MakeTensor("float_nhwc", ir::DType::kFloat32, {1, 4, 4, 3}),
      MakeTensor("uint8_q", ir::DType::kUInt8, {1, 5, 3, 1}, 0.5f, 3),
      MakeTensor("int8_nchw", ir::DType::kInt8, {1, 3, 2, 2}, 0.02f, -7),
      MakeTensor("int32_open_batch", ir::DType::kInt32, {-1, 6}),
      MakeTensor("float16_hwc", ir::DType::kFloat16, {2, 2, 1}),
  };
  static const std::vector<io::InputSpec>* specs = [] {
    auto* v = new std::vector<io::InputSpec>;
    for (size_t i = 0; i < tensors->size(); ++i) {
      const ir::Tensor& t = (*tensors)[i];
      ir::Shape resolved = t.shape;
      for (auto& d : resolved) if (d < 0) d = 1;
      v->push_back(io::MakeInputSpec(t, static_cast<int>(i), resolved));
    }
    return v;
  }();
  return *specs;
}

// What `run` does with a loaded array: count samples, slice each, convert to the input's dtype.
inline void FeedArray(const io::Array& a, const io::InputSpec& spec) {
  auto n = io::CountSamples(a, spec, "fuzz");
  if (!n.ok()) return;
  auto converted = io::ConvertToInputDType(a, spec, "fuzz");
  if (!converted.ok()) return;
  const int64_t samples = *n;
  for (int64_t i = 0; i < samples && i < 4; ++i) {
    io::Array s = io::SliceSample(*converted, i, samples, spec.sample_shape);
    (void)s;
  }
}

}  // namespace ql::fuzz
