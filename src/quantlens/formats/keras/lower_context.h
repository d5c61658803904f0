// What a Keras layer's lowering function sees: its config, its input values, its stored weights
// and a builder that appends float32 IR tensors and ops tagged with the layer's name. Layer
// lowerings live in lower_*.cc, one file per family, and register themselves in a table by Keras
// class name.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "quantlens/formats/keras/json_util.h"
#include "quantlens/formats/keras/model_config.h"
#include "quantlens/formats/keras/weight_store.h"
#include "quantlens/ir/graph.h"

namespace ql::keras {

// A tensor in the graph being built, with its static shape (batch stays -1).
struct Value {
  int tensor = -1;
  ir::Shape shape;
  int rank() const { return static_cast<int>(shape.size()); }
};

// Appends tensors and ops to the graph.
class GraphBuilder {
 public:
  explicit GraphBuilder(ir::Graph& g) : g_(g) {}
  ir::Graph& graph() { return g_; }

  int AddTensor(const std::string& name, ir::DType dtype, ir::Shape shape, const std::string& layer,
                int node);
  int AddConst(const std::string& name, ir::DType dtype, ir::Shape shape, const void* data,
               size_t bytes, const std::string& layer, int node);
  void AddOp(ir::OpType type, std::vector<int> inputs, std::vector<int> outputs, ir::Attrs attrs,
             const std::string& layer);

 private:
  ir::Graph& g_;
};

class LayerCtx {
 public:
  LayerCtx(GraphBuilder& b, const LayerSpec& spec, std::string tag, int node, KerasFlavor flavor,
           std::string file, WeightStore& store, WeightLocator loc, std::vector<Value> inputs);

  const LayerSpec& spec() const { return spec_; }
  const ConfigView& cfg() const { return cfg_; }
  KerasFlavor flavor() const { return flavor_; }
  int node() const { return node_; }
  const std::string& tag() const { return tag_; }
  // "model.h5: layer 'conv2d' (Conv2D): "
  const std::string& where() const { return where_; }
  const std::vector<Value>& inputs() const { return inputs_; }
  // The single input; error if the layer was called with another number of inputs.
  Result<Value> SingleInput() const;

  // The layer's stored variables, checked against the names Keras creates for it (in order):
  // a count mismatch is an error naming what was expected.
  Result<std::vector<FloatArray>> Weights(const std::vector<std::string>& expected);
  // The stored variables without a count check (layers whose count varies by Keras version).
  Result<std::vector<FloatArray>> RawWeights();
  // Number of weight values loaded so far (for the inspect table).
  int64_t params_loaded() const { return params_loaded_; }
  // Error unless `a` has exactly `shape`.
  Status CheckShape(const FloatArray& a, const ir::Shape& shape, const std::string& what) const;

  // Appends an op with one float32 output of `out_shape`, tagged with this layer.
  Value Op(ir::OpType type, std::vector<int> inputs, ir::Shape out_shape, ir::Attrs attrs = {});
  int ConstF32(ir::Shape shape, const std::vector<float>& values);
  int ConstI32(ir::Shape shape, const std::vector<int32_t>& values);
  // RESHAPE of `x` to `shape` (batch -1 kept as -1 in the shape operand).
  Value Reshape(const Value& x, ir::Shape shape);

  template <typename... Args>
  Status Invalid(fmt::format_string<Args...> f, Args&&... args) const {
    return Status(StatusCode::kInvalidModel, where_ + fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  Status Unsupported(fmt::format_string<Args...> f, Args&&... args) const {
    return Status(StatusCode::kUnsupported, where_ + fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  std::string NextName();

  GraphBuilder& b_;
  const LayerSpec& spec_;
  std::string tag_;
  int node_;
  KerasFlavor flavor_;
  std::string where_;
  ConfigView cfg_;  // after where_: built from it
  WeightStore& store_;
  WeightLocator loc_;
  std::vector<Value> inputs_;
  int counter_ = 0;
  int64_t params_loaded_ = 0;
};

using LowerFn = std::function<Result<std::vector<Value>>(LayerCtx&)>;
using LayerTable = std::map<std::string, LowerFn, std::less<>>;

// The lowering of every supported Keras layer class.
const LayerTable& KerasLayerTable();
// Per-family registration (lower_*.cc).
void AddConvLayers(LayerTable& t);        // Conv1D/2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, Dense
void AddActivationLayers(LayerTable& t);  // Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax
void AddNormLayers(LayerTable& t);        // BatchNormalization, LayerNormalization, Normalization, Rescaling
void AddShapeLayers(LayerTable& t);       // pooling, reshape/flatten/permute, padding, cropping,
                                          // upsampling, merges, dropout

// Applies the Keras activation `name` ("relu", "hard_sigmoid", ...) to `x`; "linear" returns `x`.
Result<Value> ApplyActivation(LayerCtx& ctx, const Value& x, const std::string& name);
// The activation named by the layer's "activation" config ("linear" if absent); refuses custom
// (non-string) activations.
Result<std::string> ActivationName(const LayerCtx& ctx);
// The fused activation CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED can apply for `name`, if any.
bool FusableActivation(const std::string& name, ir::Activation* fused);

// TF's output size for one spatial dimension: SAME ceil(in / stride); VALID
// ceil((in - (k - 1) * dilation) / stride). Error if it would be < 1.
Result<int64_t> ConvOutSize(const LayerCtx& ctx, int64_t in, int64_t k, int64_t stride,
                            int64_t dilation, bool same);

}  // namespace ql::keras
