// Float32 kernels for Keras's BatchNormalization (inference) and LayerNormalization, with the
// formula of tf.nn.batch_normalization that both layers use:
//   inv = rsqrt(variance + epsilon) * gamma;  y = x * inv + (beta - mean * inv).
#include <cmath>

#include "quantlens/kernels/keras_kernels.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {
namespace {

// Optional per-channel parameter `i` (gamma or beta): null when omitted.
Result<const float*> StaticParam(const rt::KernelArgs& args, int i, int64_t n, const char* what,
                                 bool required) {
  if (i >= args.num_inputs() || !args.inputs[i]) {
    if (required) return InvalidModel("{}{} is required", args.Where(), what);
    return static_cast<const float*>(nullptr);
  }
  const rt::TensorRef& t = args.in(i);
  if (t.dtype() != ir::DType::kFloat32 || !t.is_static || !t.data)
    return Unsupported("{}{} must be a float32 constant", args.Where(), what);
  if (t.num_elements() != n)
    return InvalidModel("{}{} has {} values, expected {}", args.Where(), what, t.num_elements(), n);
  return t.as<float>();
}

Status CheckFloatIO(const rt::KernelArgs& args) {
  if (args.num_outputs() != 1 || args.num_inputs() < 1 || !args.inputs[0])
    return InvalidModel("{}expects an input and 1 output", args.Where());
  if (args.in(0).dtype() != ir::DType::kFloat32 || args.out(0).dtype() != ir::DType::kFloat32)
    return Unsupported("{}only float32 is supported", args.Where());
  return Status::Ok();
}

// BATCH_NORM folds the moving statistics into one scale and offset per channel at Prepare.
class BatchNormKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckFloatIO(args));
    if (args.num_inputs() != 5) return InvalidModel("{}expects 5 inputs (x, gamma, beta, mean, variance)", args.Where());
    const auto* a = std::get_if<ir::NormAttrs>(&args.op.attrs);
    if (!a || a->axes.size() != 1) return InvalidModel("{}needs NormAttrs with one channel axis", args.Where());
    const rt::TensorRef& x = args.in(0);
    const int axis = a->axes[0];
    if (axis < 0 || axis >= x.rank()) return InvalidModel("{}channel axis {} out of range for rank {}", args.Where(), axis, x.rank());
    const int64_t c = x.dim(axis);
    QL_ASSIGN_OR_RETURN(const float* gamma, StaticParam(args, 1, c, "gamma", false));
    QL_ASSIGN_OR_RETURN(const float* beta, StaticParam(args, 2, c, "beta", false));
    QL_ASSIGN_OR_RETURN(const float* mean, StaticParam(args, 3, c, "moving_mean", true));
    QL_ASSIGN_OR_RETURN(const float* var, StaticParam(args, 4, c, "moving_variance", true));
    scale_.resize(c);
    offset_.resize(c);
    for (int64_t i = 0; i < c; ++i) {
      float inv = 1.0f / std::sqrt(var[i] + a->epsilon);
      if (gamma) inv *= gamma[i];
      scale_[i] = inv;
      offset_[i] = (beta ? beta[i] : 0.0f) - mean[i] * inv;
    }
    channels_ = c;
    inner_ = 1;
    for (int d = axis + 1; d < x.rank(); ++d) inner_ *= x.dim(d);
    args.out(0).shape = x.shape;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const float* in = args.in(0).as<float>();
    float* out = args.out(0).mut<float>();
    const int64_t n = args.in(0).num_elements();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = (i / inner_) % channels_;
      out[i] = in[i] * scale_[c] + offset_[c];
    }
    return Status::Ok();
  }

 private:
  std::vector<float> scale_, offset_;
  int64_t channels_ = 1, inner_ = 1;
};

// LAYER_NORM over the trailing axes: statistics per row in double (the exact mean and variance
// Keras's float32 reductions approximate), the output formula in float32.
class LayerNormKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckFloatIO(args));
    if (args.num_inputs() != 3) return InvalidModel("{}expects 3 inputs (x, gamma, beta)", args.Where());
    const auto* a = std::get_if<ir::NormAttrs>(&args.op.attrs);
    if (!a || a->axes.empty()) return InvalidModel("{}needs NormAttrs with the normalized axes", args.Where());
    const rt::TensorRef& x = args.in(0);
    // Only trailing, contiguous axes: each row is then one contiguous run of elements.
    for (size_t i = 0; i < a->axes.size(); ++i) {
      if (a->axes[i] != x.rank() - static_cast<int>(a->axes.size()) + static_cast<int>(i))
        return Unsupported("{}normalizing axes that are not the trailing ones", args.Where());
    }
    row_ = 1;
    for (int32_t ax : a->axes) row_ *= x.dim(ax);
    QL_ASSIGN_OR_RETURN(const float* gamma, StaticParam(args, 1, row_, "gamma", false));
    QL_ASSIGN_OR_RETURN(const float* beta, StaticParam(args, 2, row_, "beta", false));
    gamma_.assign(static_cast<size_t>(row_), 1.0f);
    beta_.assign(static_cast<size_t>(row_), 0.0f);
    if (gamma) gamma_.assign(gamma, gamma + row_);
    if (beta) beta_.assign(beta, beta + row_);
    epsilon_ = a->epsilon;
    args.out(0).shape = x.shape;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const float* in = args.in(0).as<float>();
    float* out = args.out(0).mut<float>();
    const int64_t rows = row_ > 0 ? args.in(0).num_elements() / row_ : 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float* x = in + r * row_;
      float* y = out + r * row_;
      double sum = 0;
      for (int64_t i = 0; i < row_; ++i) sum += x[i];
      const double mean = sum / static_cast<double>(row_);
      double sq = 0;
      for (int64_t i = 0; i < row_; ++i) sq += (x[i] - mean) * (x[i] - mean);
      const float meanf = static_cast<float>(mean);
      const float var = static_cast<float>(sq / static_cast<double>(row_));
      const float inv0 = 1.0f / std::sqrt(var + epsilon_);
      for (int64_t i = 0; i < row_; ++i) {
        const float inv = inv0 * gamma_[i];
        y[i] = x[i] * inv + (beta_[i] - meanf * inv);
      }
    }
    return Status::Ok();
  }

 private:
  std::vector<float> gamma_, beta_;  // 1 and 0 when the layer has no scale / center
  float epsilon_ = 1e-3f;
  int64_t row_ = 1;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeBatchNormKernel() { return std::make_unique<BatchNormKernel>(); }
std::unique_ptr<rt::Kernel> MakeLayerNormKernel() { return std::make_unique<LayerNormKernel>(); }

}  // namespace ql::kern
