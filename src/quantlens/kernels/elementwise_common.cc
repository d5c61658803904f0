#include "quantlens/kernels/elementwise_common.h"

#include <cmath>

#include "quantlens/kernels/quant_math.h"

namespace ql::kern {

Status CheckArity(const rt::KernelArgs& args, int num_inputs, int num_outputs) {
  if (args.num_inputs() != num_inputs || args.num_outputs() != num_outputs) {
    return InvalidModel("{}has {} inputs and {} outputs; the op takes {} and {}", args.Where(),
                        args.num_inputs(), args.num_outputs(), num_inputs, num_outputs);
  }
  for (int i = 0; i < num_inputs; ++i) {
    if (args.inputs[i] == nullptr) {
      return InvalidModel("{}input {} is omitted (-1) but is required", args.Where(), i);
    }
  }
  return Status::Ok();
}

Status PrepareUnaryShape(const rt::KernelArgs& args) {
  QL_RETURN_IF_ERROR(CheckArity(args, 1, 1));
  args.out(0).shape = args.in(0).shape;
  return Status::Ok();
}

Status CheckPerTensorQuant(const rt::KernelArgs& args, const rt::TensorRef& t,
                           std::string_view role) {
  const ir::Quantization& q = t.quant();
  if (q.scale.empty() || q.zero_point.empty()) {
    return InvalidModel("{}{} '{}' is {} but has no quantization parameters", args.Where(), role,
                        t.info->name, ir::DTypeName(t.dtype()));
  }
  if (q.scale.size() != 1) {
    return Unsupported("{}{} '{}' has {} per-axis scales; this op needs one per-tensor scale",
                       args.Where(), role, t.info->name, q.scale.size());
  }
  const float s = q.scale[0];
  if (!(s > 0.0f) || !std::isfinite(s)) {
    return InvalidModel("{}{} '{}' has scale {}; a scale must be finite and > 0", args.Where(),
                        role, t.info->name, s);
  }
  int32_t qmin, qmax;
  QuantizedTypeRange(t.dtype(), &qmin, &qmax);
  if (q.zero_point[0] < qmin || q.zero_point[0] > qmax) {
    return InvalidModel("{}{} '{}' has zero point {} outside the {} range [{}, {}]", args.Where(),
                        role, t.info->name, q.zero_point[0], ir::DTypeName(t.dtype()), qmin,
                        qmax);
  }
  return Status::Ok();
}

std::string DTypeSignature(const rt::KernelArgs& args) {
  std::string s;
  for (int i = 0; i < args.num_inputs(); ++i) {
    if (i > 0) s += ", ";
    s += args.inputs[i] ? std::string(ir::DTypeName(args.inputs[i]->dtype())) : "(omitted)";
  }
  s += " -> ";
  for (int i = 0; i < args.num_outputs(); ++i) {
    if (i > 0) s += ", ";
    s += std::string(ir::DTypeName(args.outputs[i]->dtype()));
  }
  return s;
}

Status UnsupportedTypes(const rt::KernelArgs& args, std::string_view supported) {
  return Unsupported("{}no kernel for dtypes {} (supported: {})", args.Where(),
                     DTypeSignature(args), supported);
}

ir::Activation FusedActivation(const ir::Op& op) {
  if (const auto* a = std::get_if<ir::BinaryAttrs>(&op.attrs)) return a->activation;
  return ir::Activation::kNone;
}

Status CheckClampActivation(const rt::KernelArgs& args, ir::Activation act) {
  if (act == ir::Activation::kTanh || act == ir::Activation::kSignBit) {
    return Unsupported("{}fused activation {} is not supported (only NONE, RELU, RELU6, "
                       "RELU_N1_TO_1 clamp an arithmetic result)",
                       args.Where(), ir::ActivationName(act));
  }
  return Status::Ok();
}

}  // namespace ql::kern
