// The format-neutral model graph. Readers (formats/) build it, passes rewrite it, the runtime runs
// it. Every tensor keeps its source name and index so reports can point back into the user's file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantlens/ir/attrs.h"
#include "quantlens/ir/dtype.h"
#include "quantlens/ir/op_type.h"
#include "quantlens/util/status.h"

namespace ql::ir {

// Per-tensor (one scale) or per-axis (one scale per slice along `axis`) affine quantization:
// real = scale * (q - zero_point).
struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int axis = 0;  // TFLite's quantized_dimension; meaningful when scale.size() > 1

  bool empty() const { return scale.empty(); }
  bool per_axis() const { return scale.size() > 1; }
};

using Shape = std::vector<int64_t>;

struct Tensor {
  std::string name;
  int source_index = -1;   // index in the source file (TFLite subgraph 0), -1 if none
  DType dtype = DType::kUnknown;
  Shape shape;             // -1 marks a dimension the file leaves open (batch)
  bool shape_declared = true;  // false when the file declares no shape at all
  Quantization quant;
  std::vector<uint8_t> data;   // constant contents (little-endian, row-major); empty if not constant
  bool is_constant = false;
  bool is_variable = false;

  // Source-model layer this tensor belongs to (Keras layer name), and the node index for shared
  // layers. Empty when unknown.
  std::string layer;
  int layer_node = 0;
};

struct Op {
  OpType type = OpType::kCUSTOM;
  std::string custom_code;        // for kCUSTOM: TFLite's custom_code, e.g. "TFLite_Detection_PostProcess"
  int version = 1;                // TFLite operator-code version (informational)
  std::vector<int> inputs;        // tensor indices; -1 marks an omitted optional input
  std::vector<int> outputs;
  Attrs attrs;
  int source_index = -1;          // operator index in the source file
  std::string layer;              // source-model layer name, if known
};

// Where a source-model layer's output lives in the graph (Keras: one entry per layer and node).
struct LayerOutput {
  std::string layer;
  int node = 0;
  int tensor = -1;
};

enum class SourceFormat { kUnknown, kTflite, kKerasH5, kKerasV3 };

// A named blob the model file carries for tools (TFLite: Model.metadata, e.g.
// "min_runtime_version", "TFLITE_METADATA"). Kept as bytes so a writer can copy it unchanged.
struct MetadataEntry {
  std::string name;
  std::vector<uint8_t> data;
};

// One named input or output of a signature: `tensor` indexes Graph::tensors.
struct SignatureTensor {
  std::string name;
  int tensor = -1;
};

// A serving signature (TFLite: Model.signature_defs), e.g. "serving_default".
struct SignatureDef {
  std::string key;
  int subgraph_index = 0;  // the source file's subgraph; quantlens graphs hold subgraph 0
  std::vector<SignatureTensor> inputs;
  std::vector<SignatureTensor> outputs;
};

struct Graph {
  std::vector<Tensor> tensors;
  std::vector<Op> ops;            // in execution order
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::string source_path;        // the file it was read from, for messages
  std::string description;
  SourceFormat format = SourceFormat::kUnknown;
  std::vector<LayerOutput> layer_outputs;  // Keras graphs: every layer output, in layer order
  // What a file carries besides the computation, kept so that writing it back loses nothing.
  std::string subgraph_name;               // TFLite SubGraph.name ("main")
  std::vector<MetadataEntry> metadata;     // in file order
  // TFLite's deprecated Model.metadata_buffer list, as the listed buffers' bytes (buffer indices
  // do not survive a rewrite, which renumbers and shares buffers).
  std::vector<std::vector<uint8_t>> metadata_buffers;
  std::vector<SignatureDef> signature_defs;

  // "CONV_2D" or the custom code, with the op index: "op 12 (CONV_2D)".
  std::string OpLabel(int op_index) const;
};

// Product of a shape's dimensions (1 for a scalar), or -1 when a dimension is negative or the
// product overflows int64: a wrapped-around count can never be mistaken for a real one.
int64_t ShapeProduct(const Shape& shape);

// Number of elements of a fully known shape; error if a dimension is negative or the product
// overflows int64 (or exceeds `max_elements`).
Result<int64_t> CheckedNumElements(const Shape& shape, int64_t max_elements = int64_t{1} << 40);
std::string ShapeToString(const Shape& shape);

// Structural checks: tensor indices in range, each non-constant tensor produced at most once and
// before it is read, constants have exactly shape-product * dtype-size bytes, quantization arrays
// consistent. Returns the first problem found, naming the op and tensor.
Status VerifyGraph(const Graph& g);

}  // namespace ql::ir
