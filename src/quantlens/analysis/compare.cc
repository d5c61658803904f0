#include "quantlens/analysis/compare.h"

#include <chrono>
#include <cstring>

#include "quantlens/io/results.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::analysis {
namespace {

io::Array ToArray(const rt::TensorRef& t) {
  io::Array a;
  a.dtype = t.dtype();
  a.shape = t.shape;
  const auto* p = static_cast<const uint8_t*>(t.data);
  a.data.assign(p, p + t.bytes());
  return a;
}

Result<std::vector<float>> AsFloats(const io::Array& a, const ir::Quantization& q) {
  QL_ASSIGN_OR_RETURN(std::vector<double> d, io::Dequantize(a, q));
  return std::vector<float>(d.begin(), d.end());
}

// Sample data made for the reference's input `from`, converted to the candidate's input: the same
// dtype passes through; an integer array of a quantized input is dequantized first, so that a
// float model sees the values the integer model means; float data is quantized with the
// candidate's input parameters (io::ConvertToInputDType).
Result<io::Array> ForCandidate(const io::Array& a, const ir::Tensor& from, const io::InputSpec& spec,
                               const std::string& source) {
  io::Array x = a;
  if (x.dtype != spec.tensor->dtype && !from.quant.empty() && ir::IsInteger(x.dtype)) {
    QL_ASSIGN_OR_RETURN(std::vector<float> f, AsFloats(x, from.quant));
    x = io::Array::From(a.shape, f);
  }
  if (x.dtype != spec.tensor->dtype) {
    QL_ASSIGN_OR_RETURN(x, io::ConvertToInputDType(x, spec, source));
  }
  if (x.num_elements() != ir::ShapeProduct(spec.sample_shape))
    return InvalidArgument("{}: a sample has shape {} but the candidate's {} takes {}", source,
                           ir::ShapeToString(a.shape), spec.label, ir::ShapeToString(spec.sample_shape));
  x.shape = spec.sample_shape;
  return x;
}

}  // namespace


Result<std::unique_ptr<ModelPair>> ModelPair::Open(const ir::Graph& reference, const ir::Graph& candidate,
                                                   const CompareOptions& options, bool same_outputs) {
  std::unique_ptr<ModelPair> p(new ModelPair());
  p->reference_graph_ = &reference;
  p->data_ = options.data;
  p->data_scale_ = options.data_scale;
  p->data_offset_ = options.data_offset;
  rt::InterpreterOptions ro, co;
  ro.profile = options.reference_profile;
  co.profile = options.candidate_profile;
  ro.reference_kernels = co.reference_kernels = options.reference_kernels;
  ro.threads = co.threads = options.threads;
  auto ref_or = rt::Interpreter::Create(reference, ro);
  if (!ref_or.ok()) return ref_or.status().WithContext("reference: ");
  auto cand_or = rt::Interpreter::Create(candidate, co);
  if (!cand_or.ok()) return cand_or.status().WithContext("candidate: ");
  p->ref_ = std::move(*ref_or);
  p->cand_ = std::move(*cand_or);
  rt::Interpreter& ref = *p->ref_;
  rt::Interpreter& cand = *p->cand_;
  if (ref.num_inputs() != cand.num_inputs())
    return InvalidArgument("the reference has {} input(s) and the candidate {}", ref.num_inputs(),
                           cand.num_inputs());
  if (same_outputs && ref.num_outputs() != cand.num_outputs())
    return InvalidArgument("the reference has {} output(s) and the candidate {}", ref.num_outputs(),
                           cand.num_outputs());

  std::vector<ir::Shape> shapes;
  for (int i = 0; i < ref.num_inputs(); ++i) {
    shapes.push_back(ref.input(i).shape);
    p->ref_specs_.push_back(io::MakeInputSpec(reference.tensors[reference.inputs[i]], i, ref.input(i).shape));
    p->cand_specs_.push_back(io::MakeInputSpec(candidate.tensors[candidate.inputs[i]], i, cand.input(i).shape));
  }
  auto opened = io::OpenSampleSource(options.data, reference, shapes, options.data_options);
  // Values are checked as samples are read: a first sample that does not fit counts as a refusal.
  Status first = opened.ok() && (*opened)->num_samples() > 0 ? (*opened)->Get(0).status() : Status::Ok();
  if (!opened.ok() || !first.ok()) {
    if (opened.ok()) opened = first;
    bool quantized_input = false;
    for (int t : reference.inputs)
      quantized_input |= ir::IsInteger(reference.tensors[t].dtype) && !reference.tensors[t].quant.empty();
    if (!quantized_input) return opened.status();
    p->float_view_ = reference;
    for (int t : p->float_view_.inputs) {
      p->float_view_.tensors[t].dtype = ir::DType::kFloat32;
      p->float_view_.tensors[t].quant = {};
    }
    auto retry = io::OpenSampleSource(options.data, p->float_view_, shapes, options.data_options);
    if (!retry.ok()) return opened.status();
    opened = std::move(retry);
    p->via_float_ = true;
  }
  p->source_ = std::move(opened).value();
  return p;
}

Status ModelPair::Feed(int64_t s) {
  QL_ASSIGN_OR_RETURN(std::vector<io::Array> in, source_->Get(s));
  if (data_scale_ != 1 || data_offset_ != 0) {
    for (io::Array& a : in) {
      if (a.dtype != ir::DType::kFloat32) continue;
      float* v = reinterpret_cast<float*>(a.data.data());
      for (int64_t k = 0; k < a.num_elements(); ++k)
        v[k] = static_cast<float>(v[k] * data_scale_ + data_offset_);
    }
  }
  if (!in.empty()) last_sample_ = in[0];
  const std::string where = fmt::format("{} sample {}", data_, s);
  const ir::Graph& data_graph = via_float_ ? float_view_ : *reference_graph_;
  for (int i = 0; i < ref_->num_inputs(); ++i) {
    const ir::Tensor& data_tensor = data_graph.tensors[data_graph.inputs[i]];
    if (via_float_) {
      QL_ASSIGN_OR_RETURN(io::Array r, ForCandidate(in[i], data_tensor, ref_specs_[i], where));
      QL_RETURN_IF_ERROR(ref_->SetInput(i, r.data.data(), r.data.size()).WithContext("reference: "));
    } else {
      QL_RETURN_IF_ERROR(ref_->SetInput(i, in[i].data.data(), in[i].data.size()).WithContext("reference: "));
    }
    QL_ASSIGN_OR_RETURN(io::Array c, ForCandidate(in[i], data_tensor, cand_specs_[i], where));
    QL_RETURN_IF_ERROR(cand_->SetInput(i, c.data.data(), c.data.size()).WithContext("candidate: "));
  }
  return Status::Ok();
}

Result<std::vector<float>> TensorValues(const rt::TensorRef& t) {
  // The common types directly (this runs for every aligned tensor of every sample); the rest
  // through io::Dequantize.
  const int64_t n = t.num_elements();
  const ir::Quantization& q = t.quant();
  const bool per_tensor = q.scale.size() <= 1;
  if (n >= 0 && per_tensor) {
    std::vector<float> out(static_cast<size_t>(n));
    if (t.dtype() == ir::DType::kFloat32) {
      std::memcpy(out.data(), t.data, out.size() * sizeof(float));
      return out;
    }
    const double s = q.scale.empty() ? 1.0 : q.scale[0];
    const double zp = q.zero_point.empty() ? 0.0 : static_cast<double>(q.zero_point[0]);
    auto convert = [&](const auto* p) {
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(s * (static_cast<double>(p[i]) - zp));
    };
    switch (t.dtype()) {
      case ir::DType::kInt8: convert(t.as<int8_t>()); return out;
      case ir::DType::kUInt8: convert(t.as<uint8_t>()); return out;
      case ir::DType::kInt16: convert(t.as<int16_t>()); return out;
      default: break;
    }
  }
  return AsFloats(ToArray(t), t.quant());
}

}  // namespace ql::analysis
