// Builds small .tflite flatbuffers in tests (valid ones, then broken one field at a time), with
// the generated schema code.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tflite_schema_generated.h"

namespace ql::testing {

namespace tfl = ::tflite;
using Bytes = std::vector<uint8_t>;

struct TensorSpec {
  std::string name;
  std::optional<std::vector<int32_t>> shape;
  tfl::TensorType type = tfl::TensorType::FLOAT32;
  uint32_t buffer = 0;
  std::vector<int32_t> shape_signature;
  bool is_variable = false;
  // Quantization, written when `scale` is not empty.
  std::vector<float> scale = {};
  std::vector<int64_t> zero_point = {};
  int32_t quantized_dimension = 0;
};

struct OpcodeSpec {
  int8_t deprecated_code = 9;
  int32_t builtin_code = 9;  // FULLY_CONNECTED
  std::string custom_code;
};

struct ModelSpec {
  uint32_t version = 3;
  bool identifier = true;
  bool subgraph = true;
  std::vector<Bytes> buffers;
  std::vector<TensorSpec> tensors;
  std::vector<OpcodeSpec> opcodes;
  uint32_t opcode_index = 0;
  std::vector<int32_t> op_inputs, op_outputs;
  std::vector<int32_t> graph_inputs, graph_outputs;
  tfl::BuiltinOptions options_type = tfl::BuiltinOptions::NONE;
  std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)> options;
};

inline Bytes FloatBytes(size_t n) { return Bytes(n * 4, 0); }

// input [1,4] float -> FULLY_CONNECTED(weights [2,4] constant) -> output [1,2].
inline ModelSpec FcModel() {
  ModelSpec m;
  m.buffers = {{}, FloatBytes(8)};
  m.tensors = {{"input", std::vector<int32_t>{1, 4}, tfl::TensorType::FLOAT32, 0, {}},
               {"weights", std::vector<int32_t>{2, 4}, tfl::TensorType::FLOAT32, 1, {}},
               {"output", std::vector<int32_t>{1, 2}, tfl::TensorType::FLOAT32, 0, {}}};
  m.opcodes = {OpcodeSpec{}};
  m.op_inputs = {0, 1, -1};
  m.op_outputs = {2};
  m.graph_inputs = {0};
  m.graph_outputs = {2};
  m.options_type = tfl::BuiltinOptions::FullyConnectedOptions;
  m.options = [](flatbuffers::FlatBufferBuilder& b) {
    return tfl::CreateFullyConnectedOptions(b).Union();
  };
  return m;
}

// input [1,5,5,1] -> CONV_2D(3x3 filter, 1 output channel) -> output [1,3,3,1], VALID stride 1.
inline ModelSpec ConvModel(std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)> opts) {
  ModelSpec m;
  m.buffers = {{}, FloatBytes(9), FloatBytes(1)};
  m.tensors = {{"input", std::vector<int32_t>{1, 5, 5, 1}, tfl::TensorType::FLOAT32, 0, {}},
               {"filter", std::vector<int32_t>{1, 3, 3, 1}, tfl::TensorType::FLOAT32, 1, {}},
               {"bias", std::vector<int32_t>{1}, tfl::TensorType::FLOAT32, 2, {}},
               {"output", std::vector<int32_t>{1, 3, 3, 1}, tfl::TensorType::FLOAT32, 0, {}}};
  m.opcodes = {OpcodeSpec{3, 3, ""}};
  m.op_inputs = {0, 1, 2};
  m.op_outputs = {3};
  m.graph_inputs = {0};
  m.graph_outputs = {3};
  m.options_type = tfl::BuiltinOptions::Conv2DOptions;
  m.options = std::move(opts);
  return m;
}

inline Bytes Build(const ModelSpec& s) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<tfl::Buffer>> buffers;
  for (const auto& data : s.buffers)
    buffers.push_back(tfl::CreateBufferDirect(b, data.empty() ? nullptr : &data));
  std::vector<flatbuffers::Offset<tfl::Tensor>> tensors;
  for (const auto& t : s.tensors) {
    flatbuffers::Offset<tfl::QuantizationParameters> q;
    if (!t.scale.empty())
      q = tfl::CreateQuantizationParametersDirect(b, nullptr, nullptr, &t.scale, &t.zero_point,
                                                  tfl::QuantizationDetails::NONE, 0,
                                                  t.quantized_dimension);
    tensors.push_back(tfl::CreateTensorDirect(
        b, t.shape ? &*t.shape : nullptr, t.type, t.buffer, t.name.c_str(), q, t.is_variable, 0,
        t.shape_signature.empty() ? nullptr : &t.shape_signature));
  }
  std::vector<flatbuffers::Offset<tfl::OperatorCode>> codes;
  for (const auto& c : s.opcodes)
    codes.push_back(tfl::CreateOperatorCodeDirect(b, c.deprecated_code,
                                                  c.custom_code.empty() ? nullptr : c.custom_code.c_str(),
                                                  1, static_cast<tfl::BuiltinOperator>(c.builtin_code)));
  auto options = s.options ? s.options(b) : flatbuffers::Offset<void>();
  auto op = tfl::CreateOperatorDirect(b, s.opcode_index, &s.op_inputs, &s.op_outputs,
                                      s.options ? s.options_type : tfl::BuiltinOptions::NONE, options);
  std::vector<flatbuffers::Offset<tfl::Operator>> ops = {op};
  std::vector<flatbuffers::Offset<tfl::SubGraph>> subgraphs;
  if (s.subgraph)
    subgraphs.push_back(
        tfl::CreateSubGraphDirect(b, &tensors, &s.graph_inputs, &s.graph_outputs, &ops, "main"));
  auto model = tfl::CreateModelDirect(b, s.version, &codes, &subgraphs, "hostile test", &buffers);
  if (s.identifier) tfl::FinishModelBuffer(b, model);
  else b.Finish(model);
  return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace ql::testing
