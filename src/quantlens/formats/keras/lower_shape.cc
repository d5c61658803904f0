// Pooling, reshaping, padding/cropping, upsampling, merge and inference-identity layers.
#include <algorithm>

#include "quantlens/formats/keras/lower_context.h"

namespace ql::keras {
namespace {

using ir::OpType;

Status ChannelsLast(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(std::string f, ctx.cfg().String("data_format", "channels_last"));
  if (f != "channels_last") return ctx.Unsupported("data_format '{}' is not supported (only channels_last)", f);
  return Status::Ok();
}

Status NeedStaticRank(const LayerCtx& ctx, const Value& x, int rank) {
  if (x.rank() != rank)
    return ctx.Invalid("expects a rank-{} input, got shape {}", rank, ir::ShapeToString(x.shape));
  for (int i = 1; i < rank; ++i)
    if (x.shape[i] < 0) return ctx.Unsupported("input dimension {} is unknown (None)", i);
  return Status::Ok();
}

// MaxPooling2D / AveragePooling2D on [N, H, W, C]. TFLite's AVERAGE_POOL_2D divides by the
// number of taps inside the input, as TF (and so Keras) does with 'same' padding.
Result<Value> Pool2D(LayerCtx& ctx, const Value& x, bool max, std::vector<int64_t> pool,
                     std::vector<int64_t> strides, bool same) {
  QL_ASSIGN_OR_RETURN(int64_t oh, ConvOutSize(ctx, x.shape[1], pool[0], strides[0], 1, same));
  QL_ASSIGN_OR_RETURN(int64_t ow, ConvOutSize(ctx, x.shape[2], pool[1], strides[1], 1, same));
  ir::PoolAttrs a;
  a.padding = same ? ir::Padding::kSame : ir::Padding::kValid;
  a.filter_h = static_cast<int>(pool[0]);
  a.filter_w = static_cast<int>(pool[1]);
  a.stride_h = static_cast<int>(strides[0]);
  a.stride_w = static_cast<int>(strides[1]);
  return ctx.Op(max ? OpType::kMAX_POOL_2D : OpType::kAVERAGE_POOL_2D, {x.tensor},
                {x.shape[0], oh, ow, x.shape[3]}, a);
}

Result<bool> PaddingSame(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(std::string p, ctx.cfg().String("padding", "valid"));
  for (auto& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (p != "same" && p != "valid") return ctx.Unsupported("padding '{}' is not supported", p);
  return p == "same";
}

Result<std::vector<Value>> LowerPooling2D(LayerCtx& ctx, bool max) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedStaticRank(ctx, x, 4));
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  QL_ASSIGN_OR_RETURN(auto pool, ctx.cfg().IntTuple("pool_size", 2, {2, 2}));
  QL_ASSIGN_OR_RETURN(auto strides, ctx.cfg().IntTuple("strides", 2, pool));
  QL_ASSIGN_OR_RETURN(bool same, PaddingSame(ctx));
  QL_ASSIGN_OR_RETURN(Value y, Pool2D(ctx, x, max, pool, strides, same));
  return std::vector<Value>{y};
}

// Pooling1D runs as 2-d pooling over [N, 1, W, C].
Result<std::vector<Value>> LowerPooling1D(LayerCtx& ctx, bool max) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedStaticRank(ctx, x, 3));
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  QL_ASSIGN_OR_RETURN(auto pool, ctx.cfg().IntTuple("pool_size", 1, {2}));
  QL_ASSIGN_OR_RETURN(auto strides, ctx.cfg().IntTuple("strides", 1, pool));
  QL_ASSIGN_OR_RETURN(bool same, PaddingSame(ctx));
  Value x4 = ctx.Reshape(x, {-1, 1, x.shape[1], x.shape[2]});
  QL_ASSIGN_OR_RETURN(Value y, Pool2D(ctx, x4, max, {1, pool[0]}, {1, strides[0]}, same));
  return std::vector<Value>{ctx.Reshape(y, {-1, y.shape[2], y.shape[3]})};
}

// GlobalAveragePooling / GlobalMaxPooling: MEAN / REDUCE_MAX over the spatial axes.
Result<std::vector<Value>> LowerGlobalPooling(LayerCtx& ctx, bool max, int spatial) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedStaticRank(ctx, x, spatial + 2));
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  QL_ASSIGN_OR_RETURN(bool keep, ctx.cfg().Bool("keepdims", false));
  std::vector<int32_t> axes;
  for (int i = 1; i <= spatial; ++i) axes.push_back(i);
  const int ax = ctx.ConstI32({spatial}, axes);
  ir::Shape out = {x.shape[0]};
  if (keep)
    for (int i = 0; i < spatial; ++i) out.push_back(1);
  out.push_back(x.shape.back());
  ir::ReducerAttrs a;
  a.keep_dims = keep;
  return std::vector<Value>{ctx.Op(max ? OpType::kREDUCE_MAX : OpType::kMEAN, {x.tensor, ax}, out, a)};
}

Result<std::vector<Value>> LowerFlatten(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  int64_t n = 1;
  for (int i = 1; i < x.rank(); ++i) {
    if (x.shape[i] < 0) return ctx.Unsupported("input dimension {} is unknown (None)", i);
    n *= x.shape[i];
  }
  return std::vector<Value>{ctx.Reshape(x, {x.shape[0], n})};
}

Result<std::vector<Value>> LowerReshape(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  const auto& cfg = ctx.cfg().json();
  if (!cfg.contains("target_shape") || !cfg["target_shape"].is_array())
    return ctx.Invalid("config has no target_shape list");
  QL_ASSIGN_OR_RETURN(auto target, ctx.cfg().IntTuple("target_shape", cfg["target_shape"].size()));
  int64_t total = 1, known = 1;
  int unknown = -1;
  for (int i = 1; i < x.rank(); ++i) {
    if (x.shape[i] < 0) return ctx.Unsupported("input dimension {} is unknown (None)", i);
    total *= x.shape[i];
  }
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1 && unknown < 0) unknown = static_cast<int>(i);
    else if (target[i] < 1) return ctx.Invalid("target_shape {} has a bad dimension", cfg["target_shape"].dump());
    else known *= target[i];
  }
  if (unknown >= 0) {
    if (total % known != 0) return ctx.Invalid("cannot reshape {} elements to {}", total, cfg["target_shape"].dump());
    target[unknown] = total / known;
  } else if (known != total) {
    return ctx.Invalid("cannot reshape {} to target_shape {}", ir::ShapeToString(x.shape), cfg["target_shape"].dump());
  }
  ir::Shape out = {x.shape[0]};
  out.insert(out.end(), target.begin(), target.end());
  return std::vector<Value>{ctx.Reshape(x, out)};
}

Result<std::vector<Value>> LowerPermute(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  const auto& cfg = ctx.cfg().json();
  if (!cfg.contains("dims") || !cfg["dims"].is_array()) return ctx.Invalid("config has no dims list");
  QL_ASSIGN_OR_RETURN(auto dims, ctx.cfg().IntTuple("dims", cfg["dims"].size()));
  if (static_cast<int>(dims.size()) != x.rank() - 1) return ctx.Invalid("dims {} do not match input rank {}", cfg["dims"].dump(), x.rank());
  std::vector<int32_t> perm = {0};
  std::vector<bool> seen(x.rank(), false);
  ir::Shape out = {x.shape[0]};
  for (int64_t d : dims) {
    if (d < 1 || d >= x.rank() || seen[d]) return ctx.Invalid("dims {} is not a permutation of 1..{}", cfg["dims"].dump(), x.rank() - 1);
    seen[d] = true;
    perm.push_back(static_cast<int32_t>(d));
    out.push_back(x.shape[d]);
  }
  const int p = ctx.ConstI32({x.rank()}, perm);
  return std::vector<Value>{ctx.Op(OpType::kTRANSPOSE, {x.tensor, p}, out)};
}

Result<std::vector<Value>> LowerIdentity(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  return std::vector<Value>{x};
}

// Keras's (a, b) pairs for padding/cropping: an int, (sym_h, sym_w) or ((t, b), (l, r)).
Result<std::vector<std::pair<int64_t, int64_t>>> Pairs(LayerCtx& ctx, const char* key, size_t dims) {
  const auto& cfg = ctx.cfg().json();
  std::vector<std::pair<int64_t, int64_t>> out;
  if (!cfg.contains(key)) return ctx.Invalid("config has no '{}'", key);
  const auto& v = cfg[key];
  auto bad = [&]() { return ctx.Invalid("'{}' {} is malformed", key, v.dump()); };
  if (v.is_number_integer()) {
    for (size_t i = 0; i < dims; ++i) out.push_back({v.get<int64_t>(), v.get<int64_t>()});
  } else if (v.is_array() && dims == 1 && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer()) {
    out.push_back({v[0].get<int64_t>(), v[1].get<int64_t>()});
  } else if (v.is_array() && v.size() == dims) {
    for (const auto& e : v) {
      if (e.is_number_integer()) out.push_back({e.get<int64_t>(), e.get<int64_t>()});
      else if (e.is_array() && e.size() == 2 && e[0].is_number_integer() && e[1].is_number_integer())
        out.push_back({e[0].get<int64_t>(), e[1].get<int64_t>()});
      else return bad();
    }
  } else {
    return bad();
  }
  for (auto& p : out)
    if (p.first < 0 || p.second < 0) return bad();
  return out;
}

Result<std::vector<Value>> LowerZeroPadding(LayerCtx& ctx, int spatial) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedStaticRank(ctx, x, spatial + 2));
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  QL_ASSIGN_OR_RETURN(auto pads, Pairs(ctx, "padding", spatial));
  std::vector<int32_t> p = {0, 0};
  ir::Shape out = {x.shape[0]};
  for (int i = 0; i < spatial; ++i) {
    p.push_back(static_cast<int32_t>(pads[i].first));
    p.push_back(static_cast<int32_t>(pads[i].second));
    out.push_back(x.shape[i + 1] + pads[i].first + pads[i].second);
  }
  p.push_back(0);
  p.push_back(0);
  out.push_back(x.shape.back());
  const int pt = ctx.ConstI32({spatial + 2, 2}, p);
  return std::vector<Value>{ctx.Op(OpType::kPAD, {x.tensor, pt}, out)};
}

Result<std::vector<Value>> LowerCropping(LayerCtx& ctx, int spatial) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedStaticRank(ctx, x, spatial + 2));
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  QL_ASSIGN_OR_RETURN(auto crops, Pairs(ctx, "cropping", spatial));
  const int rank = spatial + 2;
  std::vector<int32_t> begin(rank, 0), end(rank, 0), strides(rank, 1);
  ir::Shape out = {x.shape[0]};
  for (int i = 0; i < spatial; ++i) {
    const int64_t size = x.shape[i + 1] - crops[i].first - crops[i].second;
    if (size < 1) return ctx.Invalid("cropping removes all of dimension {} (size {})", i + 1, x.shape[i + 1]);
    begin[i + 1] = static_cast<int32_t>(crops[i].first);
    end[i + 1] = static_cast<int32_t>(crops[i].first + size);
    out.push_back(size);
  }
  out.push_back(x.shape.back());
  ir::StridedSliceAttrs a;
  // Batch and channels are kept whole through the masks.
  a.begin_mask = a.end_mask = 1 | (1 << (rank - 1));
  const int b = ctx.ConstI32({rank}, begin), e = ctx.ConstI32({rank}, end), s = ctx.ConstI32({rank}, strides);
  return std::vector<Value>{ctx.Op(OpType::kSTRIDED_SLICE, {x.tensor, b, e, s}, out, a)};
}

// UpSampling2D: Keras 2 resizes with tf.image.resize (half-pixel centers); Keras 3 repeats for
// 'nearest' (the same values for integer factors) and resizes with half-pixel centers for
// 'bilinear'.
Result<std::vector<Value>> LowerUpSampling2D(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedStaticRank(ctx, x, 4));
  QL_RETURN_IF_ERROR(ChannelsLast(ctx));
  QL_ASSIGN_OR_RETURN(auto size, ctx.cfg().IntTuple("size", 2, {2, 2}));
  if (size[0] < 1 || size[1] < 1) return ctx.Invalid("size {}x{} must be >= 1", size[0], size[1]);
  QL_ASSIGN_OR_RETURN(std::string interp, ctx.cfg().String("interpolation", "nearest"));
  if (interp != "nearest" && interp != "bilinear")
    return ctx.Unsupported("interpolation '{}' is not supported (nearest, bilinear)", interp);
  const int64_t oh = x.shape[1] * size[0], ow = x.shape[2] * size[1];
  const int st = ctx.ConstI32({2}, {static_cast<int32_t>(oh), static_cast<int32_t>(ow)});
  ir::ResizeAttrs a;
  a.align_corners = false;
  a.half_pixel_centers = true;
  const OpType t = interp == "nearest" ? OpType::kRESIZE_NEAREST_NEIGHBOR : OpType::kRESIZE_BILINEAR;
  return std::vector<Value>{ctx.Op(t, {x.tensor, st}, {x.shape[0], oh, ow, x.shape[3]}, a)};
}

// Numpy broadcasting of two static shapes (batch -1 broadcasts with -1 or 1).
Result<ir::Shape> Broadcast(const LayerCtx& ctx, const ir::Shape& a, const ir::Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  ir::Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else return ctx.Invalid("input shapes {} and {} do not broadcast", ir::ShapeToString(a), ir::ShapeToString(b));
  }
  return out;
}

// Add, Subtract, Multiply, Maximum, Minimum, Average: left to right, as Keras's merge layers.
Result<std::vector<Value>> LowerMerge(LayerCtx& ctx, OpType op, bool average) {
  const auto& in = ctx.inputs();
  if (in.size() < 2) return ctx.Invalid("expects at least 2 inputs, called with {}", in.size());
  if (op == OpType::kSUB && in.size() != 2) return ctx.Invalid("expects exactly 2 inputs, called with {}", in.size());
  Value acc = in[0];
  for (size_t i = 1; i < in.size(); ++i) {
    QL_ASSIGN_OR_RETURN(ir::Shape s, Broadcast(ctx, acc.shape, in[i].shape));
    acc = ctx.Op(op, {acc.tensor, in[i].tensor}, s, ir::BinaryAttrs{});
  }
  if (average) {
    const int n = ctx.ConstF32({}, {static_cast<float>(in.size())});
    acc = ctx.Op(OpType::kDIV, {acc.tensor, n}, acc.shape, ir::BinaryAttrs{});
  }
  return std::vector<Value>{acc};
}

Result<std::vector<Value>> LowerConcatenate(LayerCtx& ctx) {
  const auto& in = ctx.inputs();
  if (in.empty()) return ctx.Invalid("called with no inputs");
  QL_ASSIGN_OR_RETURN(int64_t axis, ctx.cfg().Int("axis", -1));
  const int rank = in[0].rank();
  if (axis < -rank || axis >= rank || axis == 0 || axis == -rank)
    return ctx.Unsupported("concatenation axis {} for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  ir::Shape out = in[0].shape;
  out[axis] = 0;
  std::vector<int> ins;
  for (const Value& v : in) {
    if (v.rank() != rank) return ctx.Invalid("inputs have different ranks");
    for (int d = 1; d < rank; ++d)
      if (d != axis && v.shape[d] != in[0].shape[d])
        return ctx.Invalid("input shapes {} and {} differ outside axis {}", ir::ShapeToString(in[0].shape),
                           ir::ShapeToString(v.shape), axis);
    out[axis] += v.shape[axis];
    ins.push_back(v.tensor);
  }
  ir::AxisAttrs a;
  a.axis = static_cast<int>(axis);
  return std::vector<Value>{ctx.Op(OpType::kCONCATENATION, ins, out, a)};
}

}  // namespace

void AddShapeLayers(LayerTable& t) {
  t["MaxPooling2D"] = [](LayerCtx& c) { return LowerPooling2D(c, true); };
  t["MaxPool2D"] = t["MaxPooling2D"];
  t["AveragePooling2D"] = [](LayerCtx& c) { return LowerPooling2D(c, false); };
  t["AvgPool2D"] = t["AveragePooling2D"];
  t["MaxPooling1D"] = [](LayerCtx& c) { return LowerPooling1D(c, true); };
  t["MaxPool1D"] = t["MaxPooling1D"];
  t["AveragePooling1D"] = [](LayerCtx& c) { return LowerPooling1D(c, false); };
  t["AvgPool1D"] = t["AveragePooling1D"];
  t["GlobalAveragePooling2D"] = [](LayerCtx& c) { return LowerGlobalPooling(c, false, 2); };
  t["GlobalAvgPool2D"] = t["GlobalAveragePooling2D"];
  t["GlobalMaxPooling2D"] = [](LayerCtx& c) { return LowerGlobalPooling(c, true, 2); };
  t["GlobalMaxPool2D"] = t["GlobalMaxPooling2D"];
  t["GlobalAveragePooling1D"] = [](LayerCtx& c) { return LowerGlobalPooling(c, false, 1); };
  t["GlobalAvgPool1D"] = t["GlobalAveragePooling1D"];
  t["GlobalMaxPooling1D"] = [](LayerCtx& c) { return LowerGlobalPooling(c, true, 1); };
  t["GlobalMaxPool1D"] = t["GlobalMaxPooling1D"];
  t["Flatten"] = LowerFlatten;
  t["Reshape"] = LowerReshape;
  t["Permute"] = LowerPermute;
  // Identity at inference.
  for (const char* n : {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                        "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"})
    t[n] = LowerIdentity;
  t["ZeroPadding1D"] = [](LayerCtx& c) { return LowerZeroPadding(c, 1); };
  t["ZeroPadding2D"] = [](LayerCtx& c) { return LowerZeroPadding(c, 2); };
  t["Cropping1D"] = [](LayerCtx& c) { return LowerCropping(c, 1); };
  t["Cropping2D"] = [](LayerCtx& c) { return LowerCropping(c, 2); };
  t["UpSampling2D"] = LowerUpSampling2D;
  t["Add"] = [](LayerCtx& c) { return LowerMerge(c, OpType::kADD, false); };
  t["Subtract"] = [](LayerCtx& c) { return LowerMerge(c, OpType::kSUB, false); };
  t["Multiply"] = [](LayerCtx& c) { return LowerMerge(c, OpType::kMUL, false); };
  t["Maximum"] = [](LayerCtx& c) { return LowerMerge(c, OpType::kMAXIMUM, false); };
  t["Minimum"] = [](LayerCtx& c) { return LowerMerge(c, OpType::kMINIMUM, false); };
  t["Average"] = [](LayerCtx& c) { return LowerMerge(c, OpType::kADD, true); };
  t["Concatenate"] = LowerConcatenate;
}

}  // namespace ql::keras
