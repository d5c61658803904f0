#include "quantlens/formats/keras/lower_context.h"

#include <cstring>

namespace ql::keras {

int GraphBuilder::AddTensor(const std::string& name, ir::DType dtype, ir::Shape shape,
                            const std::string& layer, int node) {
  ir::Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.layer = layer;
  t.layer_node = node;
  g_.tensors.push_back(std::move(t));
  return static_cast<int>(g_.tensors.size()) - 1;
}

int GraphBuilder::AddConst(const std::string& name, ir::DType dtype, ir::Shape shape,
                           const void* data, size_t bytes, const std::string& layer, int node) {
  const int idx = AddTensor(name, dtype, std::move(shape), layer, node);
  ir::Tensor& t = g_.tensors[idx];
  t.is_constant = true;
  t.data.resize(bytes);
  if (bytes) std::memcpy(t.data.data(), data, bytes);
  return idx;
}

void GraphBuilder::AddOp(ir::OpType type, std::vector<int> inputs, std::vector<int> outputs,
                         ir::Attrs attrs, const std::string& layer) {
  ir::Op op;
  op.type = type;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  op.attrs = std::move(attrs);
  op.layer = layer;
  g_.ops.push_back(std::move(op));
}

LayerCtx::LayerCtx(GraphBuilder& b, const LayerSpec& spec, std::string tag, int node,
                   KerasFlavor flavor, std::string file, WeightStore& store, WeightLocator loc,
                   std::vector<Value> inputs)
    : b_(b),
      spec_(spec),
      tag_(std::move(tag)),
      node_(node),
      flavor_(flavor),
      where_(fmt::format("{}: layer '{}' ({}): ", file, tag_, spec.class_name)),
      cfg_(spec.config, where_),
      store_(store),
      loc_(std::move(loc)),
      inputs_(std::move(inputs)) {}

Result<Value> LayerCtx::SingleInput() const {
  if (inputs_.size() != 1) return Invalid("expects 1 input, called with {}", inputs_.size());
  return inputs_[0];
}

Result<std::vector<FloatArray>> LayerCtx::Weights(const std::vector<std::string>& expected) {
  auto loaded = store_.Load(loc_);
  if (!loaded.ok()) return loaded.status().WithContext(where_);
  std::vector<FloatArray> w = std::move(loaded).value();
  for (const auto& a : w) params_loaded_ += static_cast<int64_t>(a.data.size());
  if (w.size() != expected.size()) {
    std::string names;
    for (const auto& e : expected) names += (names.empty() ? "" : ", ") + e;
    if (w.empty())
      return Invalid("weights missing: expects {} ({}), the file has none for this layer",
                     expected.size(), names);
    return Invalid("expects {} weights ({}), the file has {}", expected.size(), names, w.size());
  }
  return w;
}

Result<std::vector<FloatArray>> LayerCtx::RawWeights() {
  auto loaded = store_.Load(loc_);
  if (!loaded.ok()) return loaded.status().WithContext(where_);
  for (const auto& a : *loaded) params_loaded_ += static_cast<int64_t>(a.data.size());
  return loaded;
}

Status LayerCtx::CheckShape(const FloatArray& a, const ir::Shape& shape, const std::string& what) const {
  if (a.shape != shape)
    return Invalid("weight '{}' has shape {}, expected {}", what, ir::ShapeToString(a.shape),
                   ir::ShapeToString(shape));
  return Status::Ok();
}

std::string LayerCtx::NextName() {
  std::string n = tag_;
  if (node_ > 0) n += ":" + std::to_string(node_);
  return n + "/" + std::to_string(counter_++);
}

Value LayerCtx::Op(ir::OpType type, std::vector<int> inputs, ir::Shape out_shape, ir::Attrs attrs) {
  const int out = b_.AddTensor(NextName(), ir::DType::kFloat32, out_shape, tag_, node_);
  b_.AddOp(type, std::move(inputs), {out}, std::move(attrs), tag_);
  return {out, std::move(out_shape)};
}

int LayerCtx::ConstF32(ir::Shape shape, const std::vector<float>& values) {
  return b_.AddConst(NextName(), ir::DType::kFloat32, std::move(shape), values.data(),
                     values.size() * sizeof(float), tag_, node_);
}

int LayerCtx::ConstI32(ir::Shape shape, const std::vector<int32_t>& values) {
  return b_.AddConst(NextName(), ir::DType::kInt32, std::move(shape), values.data(),
                     values.size() * sizeof(int32_t), tag_, node_);
}

Value LayerCtx::Reshape(const Value& x, ir::Shape shape) {
  std::vector<int32_t> dims(shape.begin(), shape.end());
  ir::ReshapeAttrs a;
  a.new_shape = dims;
  a.has_new_shape = true;
  const int s = ConstI32({static_cast<int64_t>(dims.size())}, dims);
  return Op(ir::OpType::kRESHAPE, {x.tensor, s}, std::move(shape), a);
}

const LayerTable& KerasLayerTable() {
  static const LayerTable table = [] {
    LayerTable t;
    AddConvLayers(t);
    AddActivationLayers(t);
    AddNormLayers(t);
    AddShapeLayers(t);
    return t;
  }();
  return table;
}

Result<int64_t> ConvOutSize(const LayerCtx& ctx, int64_t in, int64_t k, int64_t stride,
                            int64_t dilation, bool same) {
  if (k < 1 || stride < 1 || dilation < 1)
    return ctx.Invalid("kernel size {}, stride {} and dilation {} must be >= 1", k, stride, dilation);
  if (in < 0) return ctx.Unsupported("spatial dimension is unknown (None); quantlens needs static shapes");
  int64_t out;
  if (same) {
    out = (in + stride - 1) / stride;
  } else {
    const int64_t eff = (k - 1) * dilation + 1;
    out = in >= eff ? (in - eff) / stride + 1 : 0;
  }
  if (out < 1)
    return ctx.Invalid("input size {} is too small for kernel {} (dilation {}, stride {})", in, k,
                       dilation, stride);
  return out;
}

}  // namespace ql::keras
