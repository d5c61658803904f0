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

Result<io::Array> SampleForCandidate(const io::Array& sample, const ir::Tensor& reference_input,
                                     const io::InputSpec& spec, const std::string& where) {
  return ForCandidate(sample, reference_input, spec, where);
}

Result<CompareResult> CompareModels(const ir::Graph& reference, const ir::Graph& candidate,
                                    const CompareOptions& options) {
  rt::InterpreterOptions ro, co;
  ro.profile = options.reference_profile;
  co.profile = options.candidate_profile;
  auto ref_or = rt::Interpreter::Create(reference, ro);
  if (!ref_or.ok()) return ref_or.status().WithContext("reference: ");
  auto cand_or = rt::Interpreter::Create(candidate, co);
  if (!cand_or.ok()) return cand_or.status().WithContext("candidate: ");
  rt::Interpreter& ref = **ref_or;
  rt::Interpreter& cand = **cand_or;
  if (ref.num_inputs() != cand.num_inputs())
    return InvalidArgument("the reference has {} input(s) and the candidate {}", ref.num_inputs(),
                           cand.num_inputs());
  if (ref.num_outputs() != cand.num_outputs())
    return InvalidArgument("the reference has {} output(s) and the candidate {}", ref.num_outputs(),
                           cand.num_outputs());

  std::vector<ir::Shape> shapes;
  std::vector<io::InputSpec> cand_specs;
  for (int i = 0; i < ref.num_inputs(); ++i) {
    shapes.push_back(ref.input(i).shape);
    cand_specs.push_back(io::MakeInputSpec(candidate.tensors[candidate.inputs[i]], i, cand.input(i).shape));
  }
  QL_ASSIGN_OR_RETURN(auto source, io::OpenSampleSource(options.data, reference, shapes, options.data_options));

  CompareResult res;
  res.data_description = source->description();
  res.num_samples = source->num_samples();
  std::vector<OutputAccumulator> acc(static_cast<size_t>(ref.num_outputs()));
  for (int64_t s = 0; s < res.num_samples; ++s) {
    QL_ASSIGN_OR_RETURN(std::vector<io::Array> in, source->Get(s));
    const std::string where = fmt::format("{} sample {}", options.data, s);
    for (int i = 0; i < ref.num_inputs(); ++i) {
      QL_RETURN_IF_ERROR(ref.SetInput(i, in[i].data.data(), in[i].data.size()).WithContext("reference: "));
      QL_ASSIGN_OR_RETURN(io::Array c, ForCandidate(in[i], reference.tensors[reference.inputs[i]],
                                                    cand_specs[i], where));
      QL_RETURN_IF_ERROR(cand.SetInput(i, c.data.data(), c.data.size()).WithContext("candidate: "));
    }
    QL_RETURN_IF_ERROR(ref.Invoke().WithContext("reference: "));
    QL_RETURN_IF_ERROR(cand.Invoke().WithContext("candidate: "));
    for (int k = 0; k < ref.num_outputs(); ++k) {
      const rt::TensorRef& ro_t = ref.output(k);
      const rt::TensorRef& co_t = cand.output(k);
      QL_ASSIGN_OR_RETURN(std::vector<float> r, AsFloats(ToArray(ro_t), ro_t.quant()));
      QL_ASSIGN_OR_RETURN(std::vector<float> c, AsFloats(ToArray(co_t), co_t.quant()));
      if (r.size() != c.size())
        return InvalidArgument("output {}: the reference gives {} values ({}) and the candidate {} "
                               "({})", k, r.size(), ir::ShapeToString(ro_t.shape), c.size(),
                               ir::ShapeToString(co_t.shape));
      acc[k].Add(s, r, c, source->Label(s));
    }
    if (options.progress) options.progress(s + 1, res.num_samples);
  }
  for (int k = 0; k < ref.num_outputs(); ++k) {
    OutputComparison oc;
    oc.reference_name = reference.tensors[reference.outputs[k]].name;
    oc.candidate_name = candidate.tensors[candidate.outputs[k]].name;
    oc.metrics = acc[k].Finish();
    oc.worst = acc[k].Worst(options.worst_samples);
    oc.flips = acc[k].Flips();
    res.outputs.push_back(std::move(oc));
  }
  return res;
}

}  // namespace ql::analysis
