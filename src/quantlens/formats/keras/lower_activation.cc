// Keras activations (the `activation` argument of layers and the Activation layer) and the
// activation layers ReLU, LeakyReLU, PReLU, ELU, Softmax. Where Keras 2 and 3 differ the file's
// version decides (hard_sigmoid: Keras 2 clip(0.2 x + 0.5, 0, 1), Keras 3 relu6(x + 3) / 6).
#include <cmath>

#include "quantlens/formats/keras/lower_context.h"

namespace ql::keras {
namespace {

using ir::OpType;

Value Unary(LayerCtx& ctx, OpType t, const Value& x, ir::Attrs a = {}) {
  return ctx.Op(t, {x.tensor}, x.shape, std::move(a));
}

Value Softmax(LayerCtx& ctx, const Value& x, int axis, bool log) {
  ir::SoftmaxAttrs a;
  a.beta = 1.0f;
  a.axis = axis;
  return Unary(ctx, log ? OpType::kLOG_SOFTMAX : OpType::kSOFTMAX, x, a);
}

// ELU with Keras's alpha: x > 0 ? x : alpha * expm1(x). The ELU op has alpha 1, so for other
// alphas: relu(x) + alpha * elu(min(x, 0)), exact term by term (one side is always zero).
Value EluAlpha(LayerCtx& ctx, const Value& x, float alpha) {
  if (alpha == 1.0f) return Unary(ctx, OpType::kELU, x);
  const int zero = ctx.ConstF32({}, {0.0f});
  Value neg = ctx.Op(OpType::kMINIMUM, {x.tensor, zero}, x.shape, ir::BinaryAttrs{});
  Value e = Unary(ctx, OpType::kELU, neg);
  const int a = ctx.ConstF32({}, {alpha});
  Value scaled = ctx.Op(OpType::kMUL, {e.tensor, a}, x.shape, ir::BinaryAttrs{});
  Value pos = Unary(ctx, OpType::kRELU, x);
  return ctx.Op(OpType::kADD, {pos.tensor, scaled.tensor}, x.shape, ir::BinaryAttrs{});
}

Value LeakyRelu(LayerCtx& ctx, const Value& x, float slope) {
  ir::ActivationAttrs a;
  a.alpha = slope;
  return Unary(ctx, OpType::kLEAKY_RELU, x, a);
}

}  // namespace

bool FusableActivation(const std::string& name, ir::Activation* fused) {
  if (name == "linear") {
    *fused = ir::Activation::kNone;
    return true;
  }
  if (name == "relu") {
    *fused = ir::Activation::kRelu;
    return true;
  }
  if (name == "relu6") {
    *fused = ir::Activation::kRelu6;
    return true;
  }
  return false;
}

Result<std::string> ActivationName(const LayerCtx& ctx) {
  const nlohmann::json& c = ctx.cfg().json();
  auto it = c.find("activation");
  if (it == c.end() || it->is_null()) return std::string("linear");
  if (it->is_string()) return it->get<std::string>();
  // Keras 3 may serialize a built-in function as {"class_name": "function", "config": "relu"}.
  if (it->is_object() && it->contains("config") && (*it)["config"].is_string()) {
    auto mod = it->find("module");
    if (mod == it->end() || (mod->is_string() && mod->get<std::string>().find("activations") != std::string::npos))
      return (*it)["config"].get<std::string>();
  }
  return ctx.Unsupported("custom activation {} is not supported", it->dump());
}

Result<Value> ApplyActivation(LayerCtx& ctx, const Value& x, const std::string& name) {
  const bool k3 = ctx.flavor() == KerasFlavor::kKeras3;
  if (name == "linear") return x;
  if (name == "relu") return Unary(ctx, OpType::kRELU, x);
  if (name == "relu6") return Unary(ctx, OpType::kRELU6, x);
  if (name == "sigmoid") return Unary(ctx, OpType::kLOGISTIC, x);
  if (name == "tanh") return Unary(ctx, OpType::kTANH, x);
  if (name == "softmax") return Softmax(ctx, x, -1, false);
  if (name == "log_softmax") return Softmax(ctx, x, -1, true);
  if (name == "swish" || name == "silu") return Unary(ctx, OpType::kSWISH, x);
  // Keras 3's hard_swish / hard_silu is x * relu6(x + 3) / 6, TFLite's HARD_SWISH formula.
  if (name == "hard_swish" || name == "hard_silu") return Unary(ctx, OpType::kHARD_SWISH, x);
  if (name == "gelu") {
    ir::ActivationAttrs a;
    a.approximate = false;  // keras.activations.gelu defaults to the exact erf form in 2 and 3
    return Unary(ctx, OpType::kGELU, x, a);
  }
  if (name == "elu") return Unary(ctx, OpType::kELU, x);
  if (name == "selu") return Unary(ctx, OpType::kSELU, x);
  if (name == "softplus") return Unary(ctx, OpType::kSOFTPLUS, x);
  if (name == "softsign") return Unary(ctx, OpType::kSOFTSIGN, x);
  if (name == "exponential") return Unary(ctx, OpType::kEXP, x);
  if (name == "hard_sigmoid") {
    ir::ActivationAttrs a;
    // Keras 2: clip(0.2 x + 0.5, 0, 1). Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
    a.alpha = k3 ? 1.0f / 6.0f : 0.2f;
    a.beta = 0.5f;
    return Unary(ctx, OpType::kHARD_SIGMOID, x, a);
  }
  // keras.activations.leaky_relu (Keras 3 only) defaults to negative_slope 0.2.
  if (name == "leaky_relu" && k3) return LeakyRelu(ctx, x, 0.2f);
  if (name == "mish") {  // x * tanh(softplus(x))
    Value sp = Unary(ctx, OpType::kSOFTPLUS, x);
    Value th = Unary(ctx, OpType::kTANH, sp);
    return ctx.Op(OpType::kMUL, {x.tensor, th.tensor}, x.shape, ir::BinaryAttrs{});
  }
  return ctx.Unsupported("unknown activation '{}'", name);
}

namespace {

Result<std::vector<Value>> LowerActivation(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(std::string name, ActivationName(ctx));
  QL_ASSIGN_OR_RETURN(Value y, ApplyActivation(ctx, x, name));
  return std::vector<Value>{y};
}

// Keras ReLU layer: f(x) = min(x, max_value) for x >= threshold, negative_slope * (x - threshold)
// below it.
Result<std::vector<Value>> LowerRelu(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(double max_value, ctx.cfg().Number("max_value", -1.0));
  QL_ASSIGN_OR_RETURN(double slope, ctx.cfg().Number("negative_slope", 0.0));
  QL_ASSIGN_OR_RETURN(double threshold, ctx.cfg().Number("threshold", 0.0));
  if (!ctx.cfg().IsNull("max_value") && max_value < 0)
    return ctx.Invalid("max_value {} must be >= 0", max_value);
  if (slope < 0) return ctx.Invalid("negative_slope {} must be >= 0", slope);
  const bool has_max = !ctx.cfg().IsNull("max_value");
  Value y;
  if (threshold != 0.0) {
    // No TFLite op has a step at a threshold: the float RELU kernel takes Keras's full formula.
    ir::ActivationAttrs a;
    a.threshold = static_cast<float>(threshold);
    a.alpha = static_cast<float>(slope);
    a.max_value = has_max ? static_cast<float>(max_value) : -1.0f;
    y = Unary(ctx, OpType::kRELU, x, a);
  } else if (slope == 0.0) {
    if (has_max && max_value == 6.0) {
      y = Unary(ctx, OpType::kRELU6, x);
    } else {
      ir::ActivationAttrs a;
      a.max_value = has_max ? static_cast<float>(max_value) : -1.0f;
      y = Unary(ctx, OpType::kRELU, x, a);
    }
  } else {
    y = LeakyRelu(ctx, x, static_cast<float>(slope));
    if (has_max) {
      const int m = ctx.ConstF32({}, {static_cast<float>(max_value)});
      y = ctx.Op(OpType::kMINIMUM, {y.tensor, m}, y.shape, ir::BinaryAttrs{});
    }
  }
  return std::vector<Value>{y};
}

Result<std::vector<Value>> LowerLeakyRelu(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  // Keras 2 calls it alpha, Keras 3 negative_slope; both default to 0.3 for the layer.
  double slope = 0.3;
  if (!ctx.cfg().IsNull("negative_slope")) {
    QL_ASSIGN_OR_RETURN(slope, ctx.cfg().Number("negative_slope"));
  } else if (!ctx.cfg().IsNull("alpha")) {
    QL_ASSIGN_OR_RETURN(slope, ctx.cfg().Number("alpha"));
  }
  return std::vector<Value>{LeakyRelu(ctx, x, static_cast<float>(slope))};
}

Result<std::vector<Value>> LowerElu(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(double alpha, ctx.cfg().Number("alpha", 1.0));
  return std::vector<Value>{EluAlpha(ctx, x, static_cast<float>(alpha))};
}

// PReLU: alpha has the input's shape without the batch, with size 1 along shared_axes.
Result<std::vector<Value>> LowerPrelu(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  ir::Shape alpha_shape(x.shape.begin() + 1, x.shape.end());
  const nlohmann::json& c = ctx.cfg().json();
  if (c.contains("shared_axes") && !c["shared_axes"].is_null()) {
    std::vector<int64_t> axes;
    if (c["shared_axes"].is_number_integer()) axes.push_back(c["shared_axes"].get<int64_t>());
    else {
      QL_ASSIGN_OR_RETURN(axes, ctx.cfg().IntTuple("shared_axes", c["shared_axes"].is_array() ? c["shared_axes"].size() : 0));
    }
    for (int64_t a : axes) {
      if (a < 1 || a >= x.rank()) return ctx.Invalid("shared axis {} is out of range for shape {}", a, ir::ShapeToString(x.shape));
      alpha_shape[a - 1] = 1;
    }
  }
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights({"alpha"}));
  QL_RETURN_IF_ERROR(ctx.CheckShape(w[0], alpha_shape, "alpha"));
  const int alpha = ctx.ConstF32(alpha_shape, w[0].data);
  return std::vector<Value>{ctx.Op(OpType::kPRELU, {x.tensor, alpha}, x.shape)};
}

Result<std::vector<Value>> LowerSoftmax(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(int64_t axis, ctx.cfg().Int("axis", -1));
  if (axis < -x.rank() || axis >= x.rank() || axis == 0 || axis == -x.rank())
    return ctx.Unsupported("softmax over axis {} of shape {}", axis, ir::ShapeToString(x.shape));
  if (axis < 0) axis += x.rank();
  // The last axis is spelled -1, TFLite's only softmax axis.
  return std::vector<Value>{Softmax(ctx, x, axis == x.rank() - 1 ? -1 : static_cast<int>(axis), false)};
}

}  // namespace

void AddActivationLayers(LayerTable& t) {
  t["Activation"] = LowerActivation;
  t["ReLU"] = LowerRelu;
  t["LeakyReLU"] = LowerLeakyRelu;
  t["ELU"] = LowerElu;
  t["PReLU"] = LowerPrelu;
  t["Softmax"] = LowerSoftmax;
}

}  // namespace ql::keras
