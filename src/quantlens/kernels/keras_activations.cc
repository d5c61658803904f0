// Float32 kernels for the Keras activations TFLite has no builtin for: HARD_SIGMOID, SELU,
// SOFTPLUS, SOFTSIGN, SWISH. Each computes the formula Keras (TensorFlow backend) uses, in float32.
#include <algorithm>
#include <cmath>
#include <limits>

#include "quantlens/kernels/keras_kernels.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {
namespace {

enum class KerasUnary { kHardSigmoid, kSelu, kSoftplus, kSoftsign, kSwish };

// HARD_SIGMOID: clip(alpha * x + beta, 0, 1). Keras 2 uses alpha 0.2, Keras 3 relu6(x + 3) / 6,
// i.e. alpha 1/6, beta 0.5; the reader picks them by the file's Keras version.
float HardSigmoid(float x, float alpha, float beta) {
  return std::min(std::max(x * alpha + beta, 0.0f), 1.0f);
}

// tf.nn.selu: scale * (x > 0 ? x : alpha * expm1(x)) with the constants of Klambauer et al.
float Selu(float x) {
  constexpr float kAlpha = 1.6732632423543772848170429916717f;
  constexpr float kScale = 1.0507009873554804934193349852946f;
  return x > 0.0f ? kScale * x : kScale * kAlpha * std::expm1(x);
}

// tf.math.softplus as Eigen computes it: log1p(exp(x)), returning x itself where exp(x) would
// dwarf 1 and exp(x) where it underflows against 1 (thresholds log(eps) + 2 as in TensorFlow).
float Softplus(float x) {
  static const float kThreshold = std::log(std::numeric_limits<float>::epsilon()) + 2.0f;
  if (x > -kThreshold) return x;
  if (x < kThreshold) return std::exp(x);
  return std::log1p(std::exp(x));
}

float Softsign(float x) { return x / (1.0f + std::fabs(x)); }

// x * sigmoid(x), the sigmoid as 1 / (1 + exp(-x)).
float Swish(float x) { return x / (1.0f + std::exp(-x)); }

class KerasUnaryKernel final : public rt::Kernel {
 public:
  explicit KerasUnaryKernel(KerasUnary kind) : kind_(kind) {}

  Status Prepare(const rt::KernelArgs& args) override {
    if (args.num_inputs() != 1 || args.num_outputs() != 1 || !args.inputs[0])
      return InvalidModel("{}expects 1 input and 1 output", args.Where());
    if (args.in(0).dtype() != ir::DType::kFloat32 || args.out(0).dtype() != ir::DType::kFloat32)
      return Unsupported("{}only float32 is supported (got {} -> {})", args.Where(),
                         ir::DTypeName(args.in(0).dtype()), ir::DTypeName(args.out(0).dtype()));
    if (kind_ == KerasUnary::kHardSigmoid) {
      const auto* a = std::get_if<ir::ActivationAttrs>(&args.op.attrs);
      if (!a) return InvalidModel("{}HARD_SIGMOID needs ActivationAttrs (slope alpha, offset beta)", args.Where());
      if (!std::isfinite(a->alpha) || !std::isfinite(a->beta))
        return InvalidModel("{}slope {} / offset {} not finite", args.Where(), a->alpha, a->beta);
      alpha_ = a->alpha;
      beta_ = a->beta;
    }
    args.out(0).shape = args.in(0).shape;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const float* in = args.in(0).as<float>();
    float* out = args.out(0).mut<float>();
    const int64_t n = args.in(0).num_elements();
    switch (kind_) {
      case KerasUnary::kHardSigmoid:
        for (int64_t i = 0; i < n; ++i) out[i] = HardSigmoid(in[i], alpha_, beta_);
        break;
      case KerasUnary::kSelu:
        for (int64_t i = 0; i < n; ++i) out[i] = Selu(in[i]);
        break;
      case KerasUnary::kSoftplus:
        for (int64_t i = 0; i < n; ++i) out[i] = Softplus(in[i]);
        break;
      case KerasUnary::kSoftsign:
        for (int64_t i = 0; i < n; ++i) out[i] = Softsign(in[i]);
        break;
      case KerasUnary::kSwish:
        for (int64_t i = 0; i < n; ++i) out[i] = Swish(in[i]);
        break;
    }
    return Status::Ok();
  }

 private:
  KerasUnary kind_;
  float alpha_ = 0.0f, beta_ = 0.0f;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeHardSigmoidKernel() {
  return std::make_unique<KerasUnaryKernel>(KerasUnary::kHardSigmoid);
}
std::unique_ptr<rt::Kernel> MakeSeluKernel() { return std::make_unique<KerasUnaryKernel>(KerasUnary::kSelu); }
std::unique_ptr<rt::Kernel> MakeSoftplusKernel() {
  return std::make_unique<KerasUnaryKernel>(KerasUnary::kSoftplus);
}
std::unique_ptr<rt::Kernel> MakeSoftsignKernel() {
  return std::make_unique<KerasUnaryKernel>(KerasUnary::kSoftsign);
}
std::unique_ptr<rt::Kernel> MakeSwishKernel() { return std::make_unique<KerasUnaryKernel>(KerasUnary::kSwish); }

}  // namespace ql::kern
