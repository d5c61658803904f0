#include "quantlens/ir/graph_compare.h"

#include <cstring>
#include <type_traits>

#include <fmt/ranges.h>

namespace ql::ir {
namespace {

// Counts an aggregate's fields by trying brace-initialisation with ever more arguments. The
// static_asserts below use it so that a field added to an attrs struct without a line in its
// FieldsOf() visitor breaks the build instead of silently escaping comparison.
struct AnyField {
  template <typename T>
  operator T() const;  // NOLINT(runtime/explicit): declared only, used in unevaluated contexts
};
template <typename T, typename... A>
constexpr size_t FieldCount() {
  if constexpr (requires { T{A{}..., AnyField{}}; }) return FieldCount<T, A..., AnyField>();
  else return sizeof...(A);
}

std::string Show(Padding p) { return p == Padding::kSame ? "SAME" : "VALID"; }
std::string Show(Activation a) { return std::string(ActivationName(a)); }
std::string Show(DType t) { return std::string(DTypeName(t)); }
std::string Show(bool b) { return b ? "true" : "false"; }
std::string Show(int v) { return std::to_string(v); }
std::string Show(float f) { return fmt::format("{:.9g}", f); }
std::string Show(const std::vector<int32_t>& v) { return fmt::format("[{}]", fmt::join(v, ",")); }
std::string Show(const std::vector<uint8_t>& v) { return fmt::format("{} bytes", v.size()); }

// Floats compare bit for bit: a NaN equals itself and -0 differs from +0, as bytes in a file do.
bool Same(float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; }
template <typename T>
bool Same(const T& x, const T& y) { return x == y; }

// Calls f(name, field_of_a, field_of_b) for every field of one attrs struct.
template <typename F> void FieldsOf(const ConvAttrs& a, const ConvAttrs& b, F&& f) {
  f("padding", a.padding, b.padding);
  f("stride_h", a.stride_h, b.stride_h);
  f("stride_w", a.stride_w, b.stride_w);
  f("dilation_h", a.dilation_h, b.dilation_h);
  f("dilation_w", a.dilation_w, b.dilation_w);
  f("depth_multiplier", a.depth_multiplier, b.depth_multiplier);
  f("activation", a.activation, b.activation);
}
static_assert(FieldCount<ConvAttrs>() == 7, "ConvAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const PoolAttrs& a, const PoolAttrs& b, F&& f) {
  f("padding", a.padding, b.padding);
  f("stride_h", a.stride_h, b.stride_h);
  f("stride_w", a.stride_w, b.stride_w);
  f("filter_h", a.filter_h, b.filter_h);
  f("filter_w", a.filter_w, b.filter_w);
  f("activation", a.activation, b.activation);
}
static_assert(FieldCount<PoolAttrs>() == 6, "PoolAttrs changed: update FieldsOf");

template <typename F>
void FieldsOf(const FullyConnectedAttrs& a, const FullyConnectedAttrs& b, F&& f) {
  f("activation", a.activation, b.activation);
  f("keep_num_dims", a.keep_num_dims, b.keep_num_dims);
  f("asymmetric_quantize_inputs", a.asymmetric_quantize_inputs, b.asymmetric_quantize_inputs);
}
static_assert(FieldCount<FullyConnectedAttrs>() == 3, "FullyConnectedAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const BinaryAttrs& a, const BinaryAttrs& b, F&& f) {
  f("activation", a.activation, b.activation);
  f("pot_scale_int16", a.pot_scale_int16, b.pot_scale_int16);
}
static_assert(FieldCount<BinaryAttrs>() == 2, "BinaryAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const AxisAttrs& a, const AxisAttrs& b, F&& f) {
  f("axis", a.axis, b.axis);
  f("count", a.count, b.count);
  f("batch_dims", a.batch_dims, b.batch_dims);
  f("activation", a.activation, b.activation);
}
static_assert(FieldCount<AxisAttrs>() == 4, "AxisAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const ReshapeAttrs& a, const ReshapeAttrs& b, F&& f) {
  f("new_shape", a.new_shape, b.new_shape);
  f("has_new_shape", a.has_new_shape, b.has_new_shape);
}
static_assert(FieldCount<ReshapeAttrs>() == 2, "ReshapeAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const SoftmaxAttrs& a, const SoftmaxAttrs& b, F&& f) {
  f("beta", a.beta, b.beta);
  f("axis", a.axis, b.axis);
}
static_assert(FieldCount<SoftmaxAttrs>() == 2, "SoftmaxAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const ReducerAttrs& a, const ReducerAttrs& b, F&& f) {
  f("keep_dims", a.keep_dims, b.keep_dims);
}
static_assert(FieldCount<ReducerAttrs>() == 1, "ReducerAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const ResizeAttrs& a, const ResizeAttrs& b, F&& f) {
  f("align_corners", a.align_corners, b.align_corners);
  f("half_pixel_centers", a.half_pixel_centers, b.half_pixel_centers);
}
static_assert(FieldCount<ResizeAttrs>() == 2, "ResizeAttrs changed: update FieldsOf");

template <typename F>
void FieldsOf(const StridedSliceAttrs& a, const StridedSliceAttrs& b, F&& f) {
  f("begin_mask", a.begin_mask, b.begin_mask);
  f("end_mask", a.end_mask, b.end_mask);
  f("ellipsis_mask", a.ellipsis_mask, b.ellipsis_mask);
  f("new_axis_mask", a.new_axis_mask, b.new_axis_mask);
  f("shrink_axis_mask", a.shrink_axis_mask, b.shrink_axis_mask);
  f("offset", a.offset, b.offset);
}
static_assert(FieldCount<StridedSliceAttrs>() == 6, "StridedSliceAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const TypeAttrs& a, const TypeAttrs& b, F&& f) {
  f("in_type", a.in_type, b.in_type);
  f("out_type", a.out_type, b.out_type);
}
static_assert(FieldCount<TypeAttrs>() == 2, "TypeAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const ActivationAttrs& a, const ActivationAttrs& b, F&& f) {
  f("alpha", a.alpha, b.alpha);
  f("beta", a.beta, b.beta);
  f("max_value", a.max_value, b.max_value);
  f("threshold", a.threshold, b.threshold);
  f("approximate", a.approximate, b.approximate);
  f("squeeze_dims", a.squeeze_dims, b.squeeze_dims);
}
static_assert(FieldCount<ActivationAttrs>() == 6, "ActivationAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const NormAttrs& a, const NormAttrs& b, F&& f) {
  f("axes", a.axes, b.axes);
  f("epsilon", a.epsilon, b.epsilon);
  f("center", a.center, b.center);
  f("scale", a.scale, b.scale);
}
static_assert(FieldCount<NormAttrs>() == 4, "NormAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const CustomAttrs& a, const CustomAttrs& b, F&& f) {
  f("options", a.options, b.options);
}
static_assert(FieldCount<CustomAttrs>() == 1, "CustomAttrs changed: update FieldsOf");

template <typename F> void FieldsOf(const std::monostate&, const std::monostate&, F&&) {}

static_assert(std::variant_size_v<Attrs> == 15, "Attrs gained an alternative: give it FieldsOf");

constexpr std::string_view kAttrsNames[] = {
    "monostate",   "ConvAttrs",    "PoolAttrs",      "FullyConnectedAttrs", "BinaryAttrs",
    "AxisAttrs",   "ReshapeAttrs", "SoftmaxAttrs",   "ReducerAttrs",        "ResizeAttrs",
    "StridedSliceAttrs", "TypeAttrs", "ActivationAttrs", "NormAttrs",       "CustomAttrs"};
static_assert(std::size(kAttrsNames) == std::variant_size_v<Attrs>);

// First differing byte of two byte strings, as text; empty when equal.
std::string DiffBytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return fmt::format("{} bytes vs {} bytes", a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return fmt::format("differs at byte {}: 0x{:02x} vs 0x{:02x}", i, a[i], b[i]);
  return "";
}

std::string ShowList(const std::vector<int>& v) { return fmt::format("[{}]", fmt::join(v, ",")); }

std::string DiffQuant(const Quantization& a, const Quantization& b) {
  if (a.scale.size() != b.scale.size())
    return fmt::format("{} scales vs {}", a.scale.size(), b.scale.size());
  for (size_t i = 0; i < a.scale.size(); ++i)
    if (!Same(a.scale[i], b.scale[i]))
      return fmt::format("scale[{}] {:.9g} vs {:.9g}", i, a.scale[i], b.scale[i]);
  if (a.zero_point != b.zero_point)
    return fmt::format("zero points [{}] vs [{}]", fmt::join(a.zero_point, ","),
                       fmt::join(b.zero_point, ","));
  if (a.axis != b.axis) return fmt::format("quantized axis {} vs {}", a.axis, b.axis);
  return "";
}

std::string DiffTensor(const Tensor& a, const Tensor& b) {
  if (a.name != b.name) return fmt::format("name '{}' vs '{}'", a.name, b.name);
  if (a.dtype != b.dtype) return fmt::format("dtype {} vs {}", DTypeName(a.dtype), DTypeName(b.dtype));
  if (a.shape_declared != b.shape_declared)
    return fmt::format("shape declared {} vs {}", Show(a.shape_declared), Show(b.shape_declared));
  if (a.shape != b.shape)
    return fmt::format("shape {} vs {}", ShapeToString(a.shape), ShapeToString(b.shape));
  if (std::string d = DiffQuant(a.quant, b.quant); !d.empty()) return "quantization: " + d;
  if (a.is_constant != b.is_constant)
    return fmt::format("is_constant {} vs {}", Show(a.is_constant), Show(b.is_constant));
  if (a.is_variable != b.is_variable)
    return fmt::format("is_variable {} vs {}", Show(a.is_variable), Show(b.is_variable));
  if (std::string d = DiffBytes(a.data, b.data); !d.empty()) return "data " + d;
  return "";
}

std::string OpName(const Op& op) {
  return op.type == OpType::kCUSTOM ? "CUSTOM " + op.custom_code : std::string(OpTypeName(op.type));
}

std::string DiffOp(const Op& a, const Op& b) {
  if (a.type != b.type) return fmt::format("type {} vs {}", OpName(a), OpName(b));
  if (a.custom_code != b.custom_code)
    return fmt::format("custom code '{}' vs '{}'", a.custom_code, b.custom_code);
  if (a.version != b.version) return fmt::format("version {} vs {}", a.version, b.version);
  if (a.inputs != b.inputs)
    return fmt::format("inputs {} vs {}", ShowList(a.inputs), ShowList(b.inputs));
  if (a.outputs != b.outputs)
    return fmt::format("outputs {} vs {}", ShowList(a.outputs), ShowList(b.outputs));
  if (std::string d = DiffAttrs(a.attrs, b.attrs); !d.empty()) return "attrs " + d;
  return "";
}

std::string DiffSignatureTensors(const std::vector<SignatureTensor>& a,
                                 const std::vector<SignatureTensor>& b, const char* what) {
  if (a.size() != b.size()) return fmt::format("{} {} vs {}", what, a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].tensor != b[i].tensor)
      return fmt::format("{} {}: '{}' (tensor {}) vs '{}' (tensor {})", what, i, a[i].name,
                         a[i].tensor, b[i].name, b[i].tensor);
  return "";
}

}  // namespace

std::string_view AttrsName(const Attrs& a) { return kAttrsNames[a.index()]; }

std::string DiffAttrs(const Attrs& a, const Attrs& b) {
  if (a.index() != b.index()) return fmt::format("are {} vs {}", AttrsName(a), AttrsName(b));
  std::string first;
  std::visit(
      [&](const auto& x) {
        const auto& y = std::get<std::decay_t<decltype(x)>>(b);
        FieldsOf(x, y, [&](const char* name, const auto& fx, const auto& fy) {
          if (first.empty() && !Same(fx, fy))
            first = fmt::format("{}: {} vs {}", name, Show(fx), Show(fy));
        });
      },
      a);
  return first;
}

std::string DiffGraphs(const Graph& a, const Graph& b) {
  if (a.description != b.description)
    return fmt::format("description '{}' vs '{}'", a.description, b.description);
  if (a.subgraph_name != b.subgraph_name)
    return fmt::format("subgraph name '{}' vs '{}'", a.subgraph_name, b.subgraph_name);
  if (a.tensors.size() != b.tensors.size())
    return fmt::format("{} tensors vs {}", a.tensors.size(), b.tensors.size());
  for (size_t t = 0; t < a.tensors.size(); ++t)
    if (std::string d = DiffTensor(a.tensors[t], b.tensors[t]); !d.empty())
      return fmt::format("tensor {} '{}': {}", t, a.tensors[t].name, d);
  if (a.ops.size() != b.ops.size()) return fmt::format("{} ops vs {}", a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i)
    if (std::string d = DiffOp(a.ops[i], b.ops[i]); !d.empty())
      return fmt::format("op {} ({}): {}", i, OpName(a.ops[i]), d);
  if (a.inputs != b.inputs)
    return fmt::format("graph inputs {} vs {}", ShowList(a.inputs), ShowList(b.inputs));
  if (a.outputs != b.outputs)
    return fmt::format("graph outputs {} vs {}", ShowList(a.outputs), ShowList(b.outputs));
  if (a.layer_outputs.size() != b.layer_outputs.size())
    return fmt::format("{} layer outputs vs {}", a.layer_outputs.size(), b.layer_outputs.size());
  for (size_t i = 0; i < a.layer_outputs.size(); ++i) {
    const LayerOutput& x = a.layer_outputs[i];
    const LayerOutput& y = b.layer_outputs[i];
    if (x.layer != y.layer || x.node != y.node || x.tensor != y.tensor)
      return fmt::format("layer output {}: '{}':{} -> tensor {} vs '{}':{} -> tensor {}", i,
                         x.layer, x.node, x.tensor, y.layer, y.node, y.tensor);
  }
  if (a.metadata.size() != b.metadata.size())
    return fmt::format("{} metadata entries vs {}", a.metadata.size(), b.metadata.size());
  for (size_t i = 0; i < a.metadata.size(); ++i) {
    if (a.metadata[i].name != b.metadata[i].name)
      return fmt::format("metadata {}: name '{}' vs '{}'", i, a.metadata[i].name, b.metadata[i].name);
    if (std::string d = DiffBytes(a.metadata[i].data, b.metadata[i].data); !d.empty())
      return fmt::format("metadata {} '{}': {}", i, a.metadata[i].name, d);
  }
  if (a.metadata_buffers.size() != b.metadata_buffers.size())
    return fmt::format("{} metadata buffers vs {}", a.metadata_buffers.size(), b.metadata_buffers.size());
  for (size_t i = 0; i < a.metadata_buffers.size(); ++i)
    if (std::string d = DiffBytes(a.metadata_buffers[i], b.metadata_buffers[i]); !d.empty())
      return fmt::format("metadata buffer {}: {}", i, d);
  if (a.signature_defs.size() != b.signature_defs.size())
    return fmt::format("{} signature defs vs {}", a.signature_defs.size(), b.signature_defs.size());
  for (size_t i = 0; i < a.signature_defs.size(); ++i) {
    const SignatureDef& x = a.signature_defs[i];
    const SignatureDef& y = b.signature_defs[i];
    std::string d;
    if (x.key != y.key) d = fmt::format("key '{}' vs '{}'", x.key, y.key);
    else if (x.subgraph_index != y.subgraph_index)
      d = fmt::format("subgraph {} vs {}", x.subgraph_index, y.subgraph_index);
    else if (d = DiffSignatureTensors(x.inputs, y.inputs, "inputs"); d.empty())
      d = DiffSignatureTensors(x.outputs, y.outputs, "outputs");
    if (!d.empty()) return fmt::format("signature def {} '{}': {}", i, x.key, d);
  }
  return "";
}

}  // namespace ql::ir
