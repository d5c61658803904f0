// Normalization-type layers: BatchNormalization and LayerNormalization (quantlens-internal
// BATCH_NORM / LAYER_NORM ops, which compute Keras's formulas), Normalization and Rescaling
// (elementwise SUB/DIV and MUL/ADD with constants).
#include <algorithm>
#include <cmath>
#include <functional>

#include "quantlens/formats/keras/lower_context.h"

namespace ql::keras {
namespace {

using ir::OpType;

// Keras's `axis` (an int or a list of ints) as non-negative axes of a rank-`rank` input.
Result<std::vector<int32_t>> NormAxes(LayerCtx& ctx, int rank, int64_t fallback) {
  const nlohmann::json& c = ctx.cfg().json();
  std::vector<int64_t> raw;
  if (!c.contains("axis") || c["axis"].is_null()) raw = {fallback};
  else if (c["axis"].is_number_integer()) raw = {c["axis"].get<int64_t>()};
  else if (c["axis"].is_array()) {
    QL_ASSIGN_OR_RETURN(raw, ctx.cfg().IntTuple("axis", c["axis"].size()));
  } else {
    return ctx.Invalid("axis {} is neither an int nor a list", c["axis"].dump());
  }
  std::vector<int32_t> axes;
  for (int64_t a : raw) {
    if (a < -rank || a >= rank || a == 0 || a == -rank)
      return ctx.Unsupported("axis {} for a rank-{} input (the batch axis cannot be normalized)", a, rank);
    axes.push_back(static_cast<int32_t>(a < 0 ? a + rank : a));
  }
  return axes;
}

Result<std::vector<Value>> LowerBatchNorm(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(auto axes, NormAxes(ctx, x.rank(), -1));
  if (axes.size() != 1) return ctx.Unsupported("normalizing over {} axes at once", axes.size());
  const int64_t c = x.shape[axes[0]];
  if (c < 0) return ctx.Unsupported("the normalized axis has unknown size (None)");
  QL_ASSIGN_OR_RETURN(bool center, ctx.cfg().Bool("center", true));
  QL_ASSIGN_OR_RETURN(bool scale, ctx.cfg().Bool("scale", true));
  QL_ASSIGN_OR_RETURN(double eps, ctx.cfg().Number("epsilon", 1e-3));
  if (!(eps >= 0)) return ctx.Invalid("epsilon {} must be >= 0", eps);
  std::vector<std::string> names;
  if (scale) names.push_back("gamma");
  if (center) names.push_back("beta");
  names.push_back("moving_mean");
  names.push_back("moving_variance");
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(names));
  for (size_t i = 0; i < w.size(); ++i) QL_RETURN_IF_ERROR(ctx.CheckShape(w[i], {c}, names[i]));
  size_t k = 0;
  const int gamma = scale ? ctx.ConstF32({c}, w[k++].data) : -1;
  const int beta = center ? ctx.ConstF32({c}, w[k++].data) : -1;
  const int mean = ctx.ConstF32({c}, w[k++].data);
  const int var = ctx.ConstF32({c}, w[k++].data);
  ir::NormAttrs a;
  a.axes = axes;
  a.epsilon = static_cast<float>(eps);
  a.center = center;
  a.scale = scale;
  return std::vector<Value>{ctx.Op(OpType::kBATCH_NORM, {x.tensor, gamma, beta, mean, var}, x.shape, a)};
}

Result<std::vector<Value>> LowerLayerNorm(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(auto axes, NormAxes(ctx, x.rank(), -1));
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  QL_ASSIGN_OR_RETURN(bool center, ctx.cfg().Bool("center", true));
  QL_ASSIGN_OR_RETURN(bool scale, ctx.cfg().Bool("scale", true));
  QL_ASSIGN_OR_RETURN(bool rms, ctx.cfg().Bool("rms_scaling", false));
  if (rms) return ctx.Unsupported("rms_scaling=True is not supported");
  QL_ASSIGN_OR_RETURN(double eps, ctx.cfg().Number("epsilon", 1e-3));
  ir::Shape param_shape;
  for (int32_t a : axes) {
    if (x.shape[a] < 0) return ctx.Unsupported("normalized axis {} has unknown size (None)", a);
    param_shape.push_back(x.shape[a]);
  }
  std::vector<std::string> names;
  if (scale) names.push_back("gamma");
  if (center) names.push_back("beta");
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(names));
  for (size_t i = 0; i < w.size(); ++i) QL_RETURN_IF_ERROR(ctx.CheckShape(w[i], param_shape, names[i]));
  size_t k = 0;
  const int gamma = scale ? ctx.ConstF32(param_shape, w[k++].data) : -1;
  const int beta = center ? ctx.ConstF32(param_shape, w[k++].data) : -1;
  ir::NormAttrs a;
  a.axes = axes;
  a.epsilon = static_cast<float>(eps);
  a.center = center;
  a.scale = scale;
  return std::vector<Value>{ctx.Op(OpType::kLAYER_NORM, {x.tensor, gamma, beta}, x.shape, a)};
}

// A config value given as a number or a list, broadcast to `n` channel values.
Result<std::vector<float>> PerChannel(LayerCtx& ctx, const nlohmann::json& v, int64_t n, const char* what) {
  if (v.is_number()) return std::vector<float>(static_cast<size_t>(n), v.get<float>());
  if (v.is_array()) {
    // Nested lists of a broadcastable shape flatten to their values.
    std::vector<float> flat;
    std::function<bool(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
      if (j.is_number()) {
        flat.push_back(j.get<float>());
        return true;
      }
      if (!j.is_array()) return false;
      for (const auto& e : j)
        if (!walk(e)) return false;
      return true;
    };
    if (!walk(v)) return ctx.Invalid("{} {} is not numeric", what, v.dump());
    if (flat.size() == 1) return std::vector<float>(static_cast<size_t>(n), flat[0]);
    if (static_cast<int64_t>(flat.size()) == n) return flat;
  }
  return ctx.Invalid("{} {} does not match {} channels", what, v.dump(), n);
}

// Normalization: (x - mean) / max(sqrt(variance), 1e-7), or its inverse with invert=True.
Result<std::vector<Value>> LowerNormalization(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_ASSIGN_OR_RETURN(auto axes, NormAxes(ctx, x.rank(), -1));
  if (axes.size() != 1 || axes[0] != x.rank() - 1)
    return ctx.Unsupported("only normalization over the last axis is supported");
  const int64_t c = x.shape.back();
  QL_ASSIGN_OR_RETURN(bool invert, ctx.cfg().Bool("invert", false));
  std::vector<float> mean, var;
  const nlohmann::json& cfg = ctx.cfg().json();
  if (cfg.contains("mean") && !cfg["mean"].is_null()) {
    QL_ASSIGN_OR_RETURN(mean, PerChannel(ctx, cfg["mean"], c, "mean"));
    if (!cfg.contains("variance") || cfg["variance"].is_null()) return ctx.Invalid("mean given without variance");
    QL_ASSIGN_OR_RETURN(var, PerChannel(ctx, cfg["variance"], c, "variance"));
  } else {
    // Keras 2 stores mean, variance and count; Keras 3 may store mean and variance only.
    QL_ASSIGN_OR_RETURN(auto w, ctx.RawWeights());
    if (w.size() < 2 || w.size() > 3)
      return ctx.Invalid("expects 2 or 3 weights (mean, variance[, count]), the file has {}", w.size());
    for (int i = 0; i < 2; ++i) {
      if (static_cast<int64_t>(w[i].data.size()) != c)
        return ctx.Invalid("weight '{}' has shape {}, expected {} values", i == 0 ? "mean" : "variance",
                           ir::ShapeToString(w[i].shape), c);
    }
    mean = w[0].data;
    var = w[1].data;
  }
  std::vector<float> denom(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) denom[i] = std::max(std::sqrt(var[i]), 1e-7f);  // backend.epsilon()
  const int m = ctx.ConstF32({c}, mean);
  const int d = ctx.ConstF32({c}, denom);
  if (invert) {
    Value t = ctx.Op(OpType::kMUL, {x.tensor, d}, x.shape, ir::BinaryAttrs{});
    return std::vector<Value>{ctx.Op(OpType::kADD, {m, t.tensor}, x.shape, ir::BinaryAttrs{})};
  }
  Value t = ctx.Op(OpType::kSUB, {x.tensor, m}, x.shape, ir::BinaryAttrs{});
  return std::vector<Value>{ctx.Op(OpType::kDIV, {t.tensor, d}, x.shape, ir::BinaryAttrs{})};
}

// Rescaling: x * scale + offset.
Result<std::vector<Value>> LowerRescaling(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  const nlohmann::json& cfg = ctx.cfg().json();
  const int64_t c = x.shape.back();
  auto values = [&](const char* key, float fallback) -> Result<std::pair<ir::Shape, std::vector<float>>> {
    if (!cfg.contains(key) || cfg[key].is_null()) return std::pair<ir::Shape, std::vector<float>>{{}, {fallback}};
    if (cfg[key].is_number()) return std::pair<ir::Shape, std::vector<float>>{{}, {cfg[key].get<float>()}};
    QL_ASSIGN_OR_RETURN(auto v, PerChannel(ctx, cfg[key], c, key));
    return std::pair<ir::Shape, std::vector<float>>{{c}, v};
  };
  QL_ASSIGN_OR_RETURN(auto scale, values("scale", 1.0f));
  QL_ASSIGN_OR_RETURN(auto offset, values("offset", 0.0f));
  const int s = ctx.ConstF32(scale.first, scale.second);
  Value y = ctx.Op(OpType::kMUL, {x.tensor, s}, x.shape, ir::BinaryAttrs{});
  bool zero_offset = true;
  for (float o : offset.second) zero_offset = zero_offset && o == 0.0f;
  if (!zero_offset) {
    const int o = ctx.ConstF32(offset.first, offset.second);
    y = ctx.Op(OpType::kADD, {y.tensor, o}, x.shape, ir::BinaryAttrs{});
  }
  return std::vector<Value>{y};
}

}  // namespace

void AddNormLayers(LayerTable& t) {
  t["BatchNormalization"] = LowerBatchNorm;
  t["LayerNormalization"] = LowerLayerNorm;
  t["Normalization"] = LowerNormalization;
  t["Rescaling"] = LowerRescaling;
}

}  // namespace ql::keras
