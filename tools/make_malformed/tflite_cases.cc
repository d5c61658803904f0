// .tflite cases: valid models built with the flatbuffers object API, then one field changed.
#include "common.h"

namespace make_malformed {

// .tflite, through the flatbuffers object API: build a valid ModelT, change one field, pack.

std::unique_ptr<tfl::TensorT> Tensor(const std::string& name, std::vector<int32_t> shape,
                                     tfl::TensorType type = tfl::TensorType::FLOAT32, uint32_t buffer = 0) {
  auto t = std::make_unique<tfl::TensorT>();
  t->name = name;
  t->shape = std::move(shape);
  t->type = type;
  t->buffer = buffer;
  return t;
}

std::unique_ptr<tfl::QuantizationParametersT> Quant(std::vector<float> scale, std::vector<int64_t> zp,
                                                    int axis = 0) {
  auto q = std::make_unique<tfl::QuantizationParametersT>();
  q->scale = std::move(scale);
  q->zero_point = std::move(zp);
  q->quantized_dimension = axis;
  return q;
}

std::unique_ptr<tfl::OperatorCodeT> Code(int code, const std::string& custom = "") {
  auto c = std::make_unique<tfl::OperatorCodeT>();
  c->deprecated_builtin_code = static_cast<int8_t>(std::clamp(code, -128, 127));
  c->builtin_code = static_cast<tfl::BuiltinOperator>(code);
  c->custom_code = custom;
  c->version = 1;
  return c;
}

std::unique_ptr<tfl::BufferT> Buffer(Bytes data = {}) {
  auto b = std::make_unique<tfl::BufferT>();
  b->data = std::move(data);
  return b;
}

std::unique_ptr<tfl::OperatorT> Op(uint32_t opcode, std::vector<int32_t> in, std::vector<int32_t> out) {
  auto o = std::make_unique<tfl::OperatorT>();
  o->opcode_index = opcode;
  o->inputs = std::move(in);
  o->outputs = std::move(out);
  return o;
}

tfl::SubGraphT& Sg(tfl::ModelT& m) { return *m.subgraphs.at(0); }

// input [1,4] float32 -> FULLY_CONNECTED(weights [2,4], bias [2]) -> output [1,2].
tfl::ModelT FcModel() {
  tfl::ModelT m;
  m.version = 3;
  m.description = "quantlens malformed-file set";
  m.buffers.push_back(Buffer());
  m.buffers.push_back(Buffer(Floats({0.5f, -0.25f, 1.0f, 2.0f, -1.0f, 0.75f, 0.125f, -2.0f})));
  m.buffers.push_back(Buffer(Floats({0.1f, -0.1f})));
  m.operator_codes.push_back(Code(9));
  auto sg = std::make_unique<tfl::SubGraphT>();
  sg->name = "main";
  sg->tensors.push_back(Tensor("input", {1, 4}));
  sg->tensors.push_back(Tensor("weights", {2, 4}, tfl::TensorType::FLOAT32, 1));
  sg->tensors.push_back(Tensor("bias", {2}, tfl::TensorType::FLOAT32, 2));
  sg->tensors.push_back(Tensor("output", {1, 2}));
  auto op = Op(0, {0, 1, 2}, {3});
  op->builtin_options.Set(tfl::FullyConnectedOptionsT{});
  sg->operators.push_back(std::move(op));
  sg->inputs = {0};
  sg->outputs = {3};
  m.subgraphs.push_back(std::move(sg));
  return m;
}

// The same with int8 activations, int8 weights and int32 bias (per-tensor scales).
tfl::ModelT QfcModel() {
  tfl::ModelT m;
  m.version = 3;
  m.description = "quantlens malformed-file set (int8)";
  m.buffers.push_back(Buffer());
  Bytes w = {10, 20, 30, 40, (uint8_t)-10, (uint8_t)-20, 5, 7};
  m.buffers.push_back(Buffer(w));
  Bytes bias;
  Put32(bias, 3);
  Put32(bias, static_cast<uint32_t>(-4));
  m.buffers.push_back(Buffer(bias));
  m.operator_codes.push_back(Code(9));
  auto sg = std::make_unique<tfl::SubGraphT>();
  sg->name = "main";
  sg->tensors.push_back(Tensor("input", {1, 4}, tfl::TensorType::INT8));
  sg->tensors[0]->quantization = Quant({0.5f}, {0});
  sg->tensors.push_back(Tensor("weights", {2, 4}, tfl::TensorType::INT8, 1));
  sg->tensors[1]->quantization = Quant({0.1f}, {0});
  sg->tensors.push_back(Tensor("bias", {2}, tfl::TensorType::INT32, 2));
  sg->tensors[2]->quantization = Quant({0.05f}, {0});
  sg->tensors.push_back(Tensor("output", {1, 2}, tfl::TensorType::INT8));
  sg->tensors[3]->quantization = Quant({0.25f}, {-3});
  auto op = Op(0, {0, 1, 2}, {3});
  op->builtin_options.Set(tfl::FullyConnectedOptionsT{});
  sg->operators.push_back(std::move(op));
  sg->inputs = {0};
  sg->outputs = {3};
  m.subgraphs.push_back(std::move(sg));
  return m;
}

// input [1,8,8,3] float32 -> ADD(input, input) -> output: a target for images.
tfl::ModelT ImageAddModel() {
  tfl::ModelT m;
  m.version = 3;
  m.description = "quantlens malformed-file set (image)";
  m.buffers.push_back(Buffer());
  m.operator_codes.push_back(Code(0));
  auto sg = std::make_unique<tfl::SubGraphT>();
  sg->name = "main";
  sg->tensors.push_back(Tensor("image", {1, 8, 8, 3}));
  sg->tensors.push_back(Tensor("doubled", {1, 8, 8, 3}));
  auto op = Op(0, {0, 0}, {1});
  op->builtin_options.Set(tfl::AddOptionsT{});
  sg->operators.push_back(std::move(op));
  sg->inputs = {0};
  sg->outputs = {1};
  m.subgraphs.push_back(std::move(sg));
  return m;
}

// input [1,4] -> ADD(input, input) -> t1 -> ADD(t1, t1) -> t2: for graph-order cases.
tfl::ModelT ChainModel() {
  tfl::ModelT m;
  m.version = 3;
  m.buffers.push_back(Buffer());
  m.operator_codes.push_back(Code(0));
  auto sg = std::make_unique<tfl::SubGraphT>();
  sg->tensors.push_back(Tensor("input", {1, 4}));
  sg->tensors.push_back(Tensor("t1", {1, 4}));
  sg->tensors.push_back(Tensor("t2", {1, 4}));
  for (auto [a, b] : {std::pair{0, 1}, std::pair{1, 2}}) {
    auto op = Op(0, {a, a}, {b});
    op->builtin_options.Set(tfl::AddOptionsT{});
    sg->operators.push_back(std::move(op));
  }
  sg->inputs = {0};
  sg->outputs = {2};
  m.subgraphs.push_back(std::move(sg));
  return m;
}

// input [1,5,5,1] -> CONV_2D(3x3x1, bias) -> [1,3,3,1].
tfl::ModelT ConvModel() {
  tfl::ModelT m;
  m.version = 3;
  m.buffers.push_back(Buffer());
  m.buffers.push_back(Buffer(Floats(std::vector<float>(9, 0.5f))));
  m.buffers.push_back(Buffer(Floats({0.0f})));
  m.operator_codes.push_back(Code(3));
  auto sg = std::make_unique<tfl::SubGraphT>();
  sg->tensors.push_back(Tensor("input", {1, 5, 5, 1}));
  sg->tensors.push_back(Tensor("filter", {1, 3, 3, 1}, tfl::TensorType::FLOAT32, 1));
  sg->tensors.push_back(Tensor("bias", {1}, tfl::TensorType::FLOAT32, 2));
  sg->tensors.push_back(Tensor("output", {1, 3, 3, 1}));
  auto op = Op(0, {0, 1, 2}, {3});
  tfl::Conv2DOptionsT o;
  o.padding = tfl::Padding::VALID;
  o.stride_w = 1;
  o.stride_h = 1;
  op->builtin_options.Set(std::move(o));
  sg->operators.push_back(std::move(op));
  sg->inputs = {0};
  sg->outputs = {3};
  m.subgraphs.push_back(std::move(sg));
  return m;
}

Bytes Pack(const tfl::ModelT& m, bool identifier) {
  flatbuffers::FlatBufferBuilder b;
  auto root = tfl::Model::Pack(b, &m);
  if (identifier) tfl::FinishModelBuffer(b, root);
  else b.Finish(root);
  return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// Applies `change` to a copy of `base` and packs it.
Bytes Mutated(const tfl::ModelT& base, const std::function<void(tfl::ModelT&)>& change) {
  tfl::ModelT m(base);
  change(m);
  return Pack(m);
}

void TfliteCases(CaseSet& set) {
  const tfl::ModelT fc = FcModel(), qfc = QfcModel(), chain = ChainModel(), conv = ConvModel();
  const Bytes fc_bytes = Pack(fc);
  auto add = [&](const std::string& what, const Bytes& b, const std::string& expect,
                 const char* cmd = kInspect, const std::string& pending = "") {
    set.Add("tflite", what, "tflite", b, cmd, expect, pending);
  };
  auto mut = [&](const tfl::ModelT& base, const std::function<void(tfl::ModelT&)>& f) { return Mutated(base, f); };

  // Container: size, identifier, verification.
  add("empty_file", {}, "0 bytes is too short");
  add("seven_bytes", Head(fc_bytes, 7), "7 bytes is too short");
  add("text_not_flatbuffer", B("this is a text file, not a TFLite model at all\n"), "not a TFLite model");
  add("png_bytes_named_tflite", B("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x02\0\0\0"),
      "it looks like a PNG image");
  {
    Bytes b = fc_bytes;
    std::memcpy(b.data() + 4, "TFL2", 4);
    Set32(b, 0, 0x7fffff00);  // and a root offset that cannot verify
    add("wrong_identifier_TFL2", b, "no \"TFL3\" identifier");
  }
  {
    Bytes b = fc_bytes;
    Set32(b, 0, static_cast<uint32_t>(b.size() + 64));
    add("root_offset_past_end", b, "fails flatbuffer verification");
  }
  add("truncated_after_identifier", Head(fc_bytes, 8), "fails flatbuffer verification");
  add("truncated_at_half", Head(fc_bytes, fc_bytes.size() / 2), "fails flatbuffer verification");
  add("truncated_last_byte", Head(fc_bytes, fc_bytes.size() - 1), "fails flatbuffer verification");
  {
    // The vtable offset of the root table pointing before the buffer.
    Bytes b = fc_bytes;
    const uint32_t root = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t{b[3]} << 24);
    Set32(b, root, 0x7ffffff0);
    add("root_vtable_offset_out_of_buffer", b, "fails flatbuffer verification");
  }
  // Model table.
  add("schema_version_2", mut(fc, [](auto& m) { m.version = 2; }), "schema version 2 is not supported");
  add("schema_version_4", mut(fc, [](auto& m) { m.version = 4; }), "schema version 4 is not supported");
  add("no_subgraphs", mut(fc, [](auto& m) { m.subgraphs.clear(); }), "has no subgraphs");
  add("no_operator_codes", mut(fc, [](auto& m) { m.operator_codes.clear(); }), "opcode index 0 out of range");
  add("opcode_index_out_of_range", mut(fc, [](auto& m) { Sg(m).operators[0]->opcode_index = 5; }),
      "opcode index 5 out of range (0..0)");
  add("no_buffers_but_constant_buffer_index", mut(fc, [](auto& m) { m.buffers.clear(); }),
      "buffer index 1 out of range (0..-1)");
  add("buffer_index_out_of_range", mut(fc, [](auto& m) { Sg(m).tensors[1]->buffer = 7; }),
      "buffer index 7 out of range (0..2)");
  add("buffer_index_uint_max", mut(fc, [](auto& m) { Sg(m).tensors[2]->buffer = 0xffffffffu; }),
      "buffer index 4294967295 out of range");
  // Tensors: shapes.
  add("negative_dimension", mut(fc, [](auto& m) { Sg(m).tensors[0]->shape = {1, -5}; }),
      "has dimension -5, must be >= 0");
  add("dimension_int_min", mut(fc, [](auto& m) { Sg(m).tensors[3]->shape = {1, INT32_MIN}; }),
      "has dimension -2147483648");
  add("shape_product_overflows",
      mut(fc, [](auto& m) { Sg(m).tensors[3]->shape = {2147483647, 2147483647, 2147483647, 4}; }),
      "has more than 1099511627776 elements");
  add("shape_signature_rank_mismatch",
      mut(fc, [](auto& m) { Sg(m).tensors[0]->shape_signature = {-1, 4, 1}; }),
      "shape_signature has rank 3 but shape [1,4] has rank 2");
  add("shape_signature_below_minus_one",
      mut(fc, [](auto& m) { Sg(m).tensors[0]->shape_signature = {-7, 4}; }),
      "shape_signature dimension 0 is -7");
  add("rank_100_tensor", mut(fc, [](auto& m) { Sg(m).tensors[3]->shape = std::vector<int32_t>(100, 1); }),
      "shape has rank 100, more than the 16 quantlens accepts");
  add("huge_activation_shape",
      mut(fc, [](auto& m) {
        Sg(m).tensors[0]->shape = {1, 1 << 30};
        Sg(m).tensors[1]->shape = {2, 1 << 30};
        Sg(m).tensors[1]->buffer = 0;
        Sg(m).inputs = {0, 1};
      }),
      "has 2^31 or more elements", kRunModelOnFcInput);
  // Tensors: types and data.
  add("unknown_tensor_type_99", mut(fc, [](auto& m) { Sg(m).tensors[3]->type = static_cast<tfl::TensorType>(99); }),
      "99");
  add("constant_data_size_mismatch", mut(fc, [](auto& m) { m.buffers[1]->data.resize(30); }),
      "buffer 1 holds 30 bytes but shape [2,4] of float32 needs 32");
  add("constant_data_for_unknown_dimension",
      mut(fc, [](auto& m) { Sg(m).tensors[1]->shape_signature = {-1, 4}; }),
      "constant data in buffer 1 but shape [-1,4] is not fully known");
  add("buffer_outside_flatbuffer", mut(fc, [](auto& m) {
        m.buffers[1]->data.clear();
        m.buffers[1]->offset = 4096;
        m.buffers[1]->size = 32;
      }), "stores its data outside the flatbuffer (offset 4096");
  add("sparse_tensor", mut(fc, [](auto& m) {
        Sg(m).tensors[1]->sparsity = std::make_unique<tfl::SparsityParametersT>();
      }), "sparse tensors");
  add("weights_without_data", mut(fc, [](auto& m) { Sg(m).tensors[1]->buffer = 0; }),
      "reads tensor 1 'weights' before any op produces it");
  add("weights_buffer_empty", mut(fc, [](auto& m) { m.buffers[1]->data.clear(); }),
      "reads tensor 1 'weights' before any op produces it");
  add("string_type_weights", mut(fc, [](auto& m) { Sg(m).tensors[1]->type = tfl::TensorType::STRING; }),
      "string", kRunModelOnFcInput);
  // Quantization parameters.
  add("per_axis_scale_count_vs_dim", mut(qfc, [](auto& m) {
        Sg(m).tensors[1]->quantization->scale = {0.1f, 0.2f, 0.3f};
        Sg(m).tensors[1]->quantization->zero_point = {0, 0, 0};
      }), "3 scales for dimension 0 of size 2");
  add("zero_point_count_mismatch", mut(qfc, [](auto& m) {
        Sg(m).tensors[1]->quantization->scale = {0.1f, 0.2f};
        Sg(m).tensors[1]->quantization->zero_point = {0};
      }),
      "2 scales but 1 zero points");
  add("quantized_dimension_out_of_range",
      mut(qfc, [](auto& m) { Sg(m).tensors[1]->quantization = Quant({0.1f, 0.2f}, {0, 0}, 5); }),
      "quantized dimension 5 is outside its rank 2");
  add("quantized_dimension_negative",
      mut(qfc, [](auto& m) { Sg(m).tensors[1]->quantization = Quant({0.1f, 0.2f}, {0, 0}, -1); }),
      "quantized dimension -1 is outside its rank 2");
  add("nan_scale", mut(qfc, [](auto& m) { Sg(m).tensors[0]->quantization->scale = {std::nanf("")}; }),
      "scale", kRunModelOnQfcInput);
  add("negative_scale", mut(qfc, [](auto& m) { Sg(m).tensors[3]->quantization->scale = {-0.25f}; }),
      "scale", kRunModelOnQfcInput);
  add("zero_scale", mut(qfc, [](auto& m) { Sg(m).tensors[3]->quantization->scale = {0.0f}; }),
      "scale", kRunModelOnQfcInput);
  add("infinite_weight_scale",
      mut(qfc, [](auto& m) {
        Sg(m).tensors[1]->quantization->scale = {std::numeric_limits<float>::infinity()};
      }),
      "scale", kRunModelOnQfcInput);
  add("zero_point_out_of_int8_range", mut(qfc, [](auto& m) { Sg(m).tensors[0]->quantization->zero_point = {300}; }),
      "zero point", kRunModelOnQfcInput);
  add("quantized_int8_without_scale", mut(qfc, [](auto& m) { Sg(m).tensors[3]->quantization.reset(); }),
      "quantiz", kRunModelOnFcInput);
  // Operators.
  add("unknown_opcode_250", mut(fc, [](auto& m) { m.operator_codes[0] = Code(250); }),
      "unsupported operator code 250");
  add("negative_opcode", mut(fc, [](auto& m) { m.operator_codes[0] = Code(-3); }),
      "unsupported operator code -3");
  add("unsupported_builtin_lstm", mut(fc, [](auto& m) { m.operator_codes[0] = Code(44); }),
      "UNIDIRECTIONAL_SEQUENCE_LSTM");
  add("unknown_custom_op", mut(fc, [](auto& m) {
        m.operator_codes[0] = Code(32, "NoSuchCustomOp");
        Sg(m).operators[0]->builtin_options.Reset();
      }), "CUSTOM NoSuchCustomOp", kRunModelOnFcInput);
  add("custom_options_outside_flatbuffer", mut(fc, [](auto& m) {
        m.operator_codes[0] = Code(32, "Big");
        Sg(m).operators[0]->builtin_options.Reset();
        Sg(m).operators[0]->large_custom_options_offset = 1 << 20;
        Sg(m).operators[0]->large_custom_options_size = 16;
      }), "custom options stored outside the flatbuffer");
  add("op_input_out_of_range", mut(fc, [](auto& m) { Sg(m).operators[0]->inputs = {0, 999, 2}; }),
      "input tensor index 999 out of range (0..3)");
  add("op_input_minus_two", mut(fc, [](auto& m) { Sg(m).operators[0]->inputs = {-2, 1, 2}; }),
      "input tensor index -2 out of range");
  add("op_output_out_of_range", mut(fc, [](auto& m) { Sg(m).operators[0]->outputs = {50}; }),
      "output tensor index 50 out of range (0..3)");
  add("op_output_omitted", mut(fc, [](auto& m) { Sg(m).operators[0]->outputs = {-1}; }),
      "output tensor index -1 out of range");
  add("subgraph_input_out_of_range", mut(fc, [](auto& m) { Sg(m).inputs = {9}; }),
      "subgraph input tensor index 9 out of range");
  add("subgraph_output_out_of_range", mut(fc, [](auto& m) { Sg(m).outputs = {-4}; }),
      "subgraph output tensor index -4 out of range");
  add("fc_missing_weights_input", mut(fc, [](auto& m) { Sg(m).operators[0]->inputs = {0}; }),
      "FULLY_CONNECTED", kRunModelOnFcInput);
  add("fc_weights_wrong_width", mut(fc, [](auto& m) {
        Sg(m).tensors[1]->shape = {2, 5};
        m.buffers[1]->data.resize(40);
      }), "FULLY_CONNECTED", kRunModelOnFcInput);
  add("fc_bias_wrong_size", mut(fc, [](auto& m) {
        Sg(m).tensors[2]->shape = {3};
        m.buffers[2]->data.resize(12);
      }), "bias", kRunModelOnFcInput);
  add("add_float_and_int32", mut(chain, [](auto& m) {
        Sg(m).tensors.push_back(Tensor("ints", {1, 4}, tfl::TensorType::INT32, 1));
        m.buffers.push_back(Buffer(Bytes(16, 0)));
        Sg(m).operators[0]->inputs = {0, 3};
      }), "ADD", kRunModelOnFcInput);
  add("tensor_produced_twice", mut(chain, [](auto& m) { Sg(m).operators[1]->outputs = {1}; }),
      "tensor 1 't1' is already produced by op 0");
  add("cycle_between_two_ops", mut(chain, [](auto& m) {
        Sg(m).operators[0]->inputs = {2, 2};
      }), "reads tensor 2 't2' before any op produces it");
  add("op_reads_its_own_output", mut(chain, [](auto& m) { Sg(m).operators[1]->inputs = {2, 2}; }),
      "reads tensor 2 't2' before any op produces it");
  add("op_writes_constant", mut(fc, [](auto& m) { Sg(m).operators[0]->outputs = {1}; }),
      "writes tensor 1 'weights', which is a constant");
  add("graph_output_never_produced", mut(chain, [](auto& m) {
        Sg(m).tensors.push_back(Tensor("orphan", {1, 4}));
        Sg(m).outputs = {3};
      }), "graph output tensor 3 'orphan' is never produced");
  // Builtin options.
  add("options_of_wrong_type", mut(fc, [](auto& m) { Sg(m).operators[0]->builtin_options.Set(tfl::Conv2DOptionsT{}); }),
      "builtin options are Conv2DOptions (1), expected FullyConnectedOptions");
  add("fc_fused_activation_9", mut(fc, [](auto& m) {
        tfl::FullyConnectedOptionsT o;
        o.fused_activation_function = static_cast<tfl::ActivationFunctionType>(9);
        Sg(m).operators[0]->builtin_options.Set(std::move(o));
      }), "fused activation function 9 is not one of TFLite's");
  add("conv_stride_zero", mut(conv, [](auto& m) { Sg(m).operators[0]->builtin_options.AsConv2DOptions()->stride_w = 0; }),
      "stride_w is 0, must be >= 1");
  add("conv_dilation_negative",
      mut(conv, [](auto& m) { Sg(m).operators[0]->builtin_options.AsConv2DOptions()->dilation_h_factor = -3; }),
      "dilation_h_factor is -3, must be >= 1");
  add("conv_padding_7", mut(conv, [](auto& m) {
        Sg(m).operators[0]->builtin_options.AsConv2DOptions()->padding = static_cast<tfl::Padding>(7);
      }), "padding 7 is neither SAME (0) nor VALID (1)");
  add("conv_filter_rank_2", mut(conv, [](auto& m) { Sg(m).tensors[1]->shape = {3, 3}; }),
      "CONV_2D", "run {} --input models/conv_input.npy");
}

}  // namespace make_malformed
