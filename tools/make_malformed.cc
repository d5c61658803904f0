// make_malformed OUT_DIR: writes the malformed-file set checked in under tests/malformed.
//
// Every file is built here from scratch (flatbuffers object API for .tflite, the HDF5 C API for
// Keras .h5 and model.weights.h5, a small zip writer for .keras and .npz, hand-made PNG, JPEG and
// BMP encoders), starting from a valid file and breaking one thing on purpose. The output is the
// same bytes on every run: no timestamps (HDF5 object times off, fixed zip dates), no randomness.
//
// Layout of OUT_DIR:
//   models/              valid models and inputs the cases are run against (also baselines.tsv)
//   <format>/NNN_<what>.<ext>   one malformation each
//   expected.tsv         file, command, exit code, substring of the one-line error [, pending]
//   baselines.tsv        file, command, exit code 0: the valid files each case starts from
//
// In a command, {} is the case file; other paths are relative to OUT_DIR.
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tflite_schema_generated.h"

namespace {

namespace fs = std::filesystem;
namespace tfl = ::tflite;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "make_malformed: %s\n", what.c_str());
  std::exit(1);
}

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }
void Append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
void Put8(Bytes& b, uint8_t v) { b.push_back(v); }
void Put16(Bytes& b, uint16_t v) {
  b.push_back(v & 0xff);
  b.push_back(v >> 8);
}
void Put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xff);
}
void Put64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back((v >> (8 * i)) & 0xff);
}
void Put16BE(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void Put32BE(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back((v >> (8 * i)) & 0xff);
}
void Set32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = (v >> (8 * i)) & 0xff;
}
void Set16(Bytes& b, size_t at, uint16_t v) {
  b.at(at) = v & 0xff;
  b.at(at + 1) = v >> 8;
}
void Set32BE(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = (v >> (8 * (3 - i))) & 0xff;
}
void Set16BE(Bytes& b, size_t at, uint16_t v) {
  b.at(at) = v >> 8;
  b.at(at + 1) = v & 0xff;
}
Bytes Head(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + std::min(n, b.size())); }
size_t Find(const Bytes& hay, const Bytes& needle, size_t from = 0) {
  auto it = std::search(hay.begin() + from, hay.end(), needle.begin(), needle.end());
  if (it == hay.end()) Die("pattern not found while building a case");
  return static_cast<size_t>(it - hay.begin());
}

uint32_t Crc32(const uint8_t* p, size_t n) { return crc32(crc32(0, nullptr, 0), p, static_cast<uInt>(n)); }
uint32_t Crc32(const Bytes& b) { return Crc32(b.data(), b.size()); }

Bytes Floats(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Raw deflate (no zlib header), as zip stores it.
Bytes Deflate(const Bytes& in) {
  z_stream s{};
  if (deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) Die("deflateInit2");
  Bytes out(deflateBound(&s, in.size()));
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) Die("deflate");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// zlib-wrapped deflate, as PNG's IDAT holds.
Bytes ZlibCompress(const Bytes& in) {
  uLongf n = compressBound(in.size());
  Bytes out(n);
  if (compress2(out.data(), &n, in.data(), in.size(), 9) != Z_OK) Die("compress2");
  out.resize(n);
  return out;
}

// ------------------------------------------------------------------------------------------------
// The set being written.

constexpr const char* kInspect = "inspect {}";
constexpr const char* kRunModelOnFcInput = "run {} --input models/fc_input.npy";
constexpr const char* kRunFc = "run models/fc.tflite --input {}";
constexpr const char* kRunQfc = "run models/qfc.tflite --input {}";
constexpr const char* kRunImage = "run models/image_add.tflite --input {}";
constexpr const char* kRunModelOnQfcInput = "run {} --input models/qfc_input.npy";

class CaseSet {
 public:
  explicit CaseSet(fs::path root) : root_(std::move(root)) {}

  void Write(const std::string& rel, const Bytes& b) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) Die("cannot write " + p.string());
  }

  // A valid file the cases rely on, with the command that must succeed on it.
  void Baseline(const std::string& rel, const Bytes& b, const std::string& command) {
    Write(rel, b);
    baselines_.push_back(rel + "\t" + command + "\t0");
  }

  // One malformed file. `expect` is a substring of the one-line error; `pending` (if not empty)
  // says which fix, not made yet, produces it.
  void Add(const std::string& dir, const std::string& what, const std::string& ext, const Bytes& b,
           const std::string& command, const std::string& expect, const std::string& pending = "") {
    const int n = ++count_[dir];
    const std::string rel = fmt::format("{}/{:03d}_{}.{}", dir, n, what, ext);
    if (expect.empty() || expect.find('\t') != std::string::npos) Die("bad expectation for " + rel);
    Write(rel, b);
    std::string row = fmt::format("{}\t{}\t2\t{}", rel, command, expect);
    if (!pending.empty()) row += "\tpending: " + pending;
    rows_.push_back(row);
  }

  void Finish() {
    std::string text = "# file\tcommand ({} = the file; other paths relative to this folder)\texit\t"
                       "the one-line error contains\t[pending: fix not made yet]\n";
    for (const auto& r : rows_) text += r + "\n";
    Write("expected.tsv", B(text));
    std::string base = "# file\tcommand\texit\n";
    for (const auto& r : baselines_) base += r + "\n";
    Write("baselines.tsv", B(base));
    Write("README.md", B(R"(# Malformed files

Written by `tools/make_malformed.cc` (do not edit by hand): each file is a valid model or input
made by the generator with one deliberate malformation. `expected.tsv` gives, per file, the
command (`{}` is the file; `models/...` are the valid files here), the exit status (2) and a
substring of the one-line error naming the broken rule; a fifth column `pending: ...` marks a
case whose fix is not made yet (its test is skipped). `baselines.tsv` lists the valid files,
which must run cleanly.

Regenerate (from the repository root, after building):

    build/release/make_malformed tests/malformed

`tests/hostile/malformed_files_test.cc` runs every file through the CLI (also under
ASan/UBSan) and checks that the generator reproduces this folder byte for byte.
)"));
    for (const auto& [dir, n] : count_) std::printf("%-8s %d files\n", dir.c_str(), n);
  }

 private:
  fs::path root_;
  std::map<std::string, int> count_;
  std::vector<std::string> rows_, baselines_;
};

// ------------------------------------------------------------------------------------------------
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

Bytes Pack(const tfl::ModelT& m, bool identifier = true) {
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

// ------------------------------------------------------------------------------------------------
// .npy

// A .npy file: magic, version, header length, `dict` padded with spaces and '\n' to 64 bytes.
Bytes Npy(const std::string& dict, const Bytes& data, int major = 1, int minor = 0) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  const size_t total = ((prefix + header.size() + 1 + 63) / 64) * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  Bytes b = B("\x93NUMPY");
  Put8(b, static_cast<uint8_t>(major));
  Put8(b, static_cast<uint8_t>(minor));
  if (major == 1) Put16(b, static_cast<uint16_t>(header.size()));
  else Put32(b, static_cast<uint32_t>(header.size()));
  Append(b, B(header));
  Append(b, data);
  return b;
}

std::string NpyDict(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr, order, shape);
}

const Bytes kFcInputData = Floats({0.5f, -1.0f, 2.0f, 0.25f});

Bytes FcInputNpy() { return Npy(NpyDict("<f4", "(1, 4)"), kFcInputData); }

// The header errors, shared by .npy and (nested) .npz cases: {what, bytes, expected substring}.
struct DataCase {
  std::string what;
  Bytes bytes;
  std::string expect;
  std::string pending = {};
};

std::vector<DataCase> NpyCases() {
  std::vector<DataCase> c;
  const Bytes good = FcInputNpy();
  auto with_dict = [&](const std::string& dict, const Bytes& data = kFcInputData) { return Npy(dict, data); };
  c.push_back({"magic_only", B("\x93NUMPY"), "truncated"});
  c.push_back({"magic_and_version_only", B("\x93NUMPY\x01\x00"), "truncated"});
  c.push_back({"version_0_0", [&] { Bytes b = good; b[6] = 0; return b; }(), "format version 0.0 is not supported"});
  c.push_back({"version_4_0", [&] { Bytes b = good; b[6] = 4; return b; }(), "format version 4.0 is not supported"});
  c.push_back({"version_255_7", [&] { Bytes b = good; b[6] = 255; b[7] = 7; return b; }(), "format version 255.7"});
  c.push_back({"header_length_past_end", [&] { Bytes b = good; Set16(b, 8, 0xffff); return b; }(),
               "header length 65535 runs past the end"});
  c.push_back({"header_length_one_past_end", [&] {
                 Bytes b = Head(good, 10 + 118);
                 Set16(b, 8, 119);
                 return b;
               }(), "header length 119 runs past the end of the 128-byte file"});
  c.push_back({"v2_header_length_4GiB", [&] {
                 Bytes b = Npy(NpyDict("<f4", "(1, 4)"), kFcInputData, 2);
                 Set32(b, 8, 0xffffffffu);
                 return b;
               }(), "header length 4294967295 exceeds the 1048576-byte limit"});
  c.push_back({"v2_truncated_preamble", B("\x93NUMPY\x02\x00\x40\x00"), "truncated"});
  c.push_back({"v3_header_length_past_end", [&] {
                 Bytes b = Npy(NpyDict("<f4", "(1, 4)"), kFcInputData, 3);
                 Set32(b, 8, 5000);
                 return b;
               }(), "header length 5000 runs past the end"});
  c.push_back({"header_length_zero", [&] { Bytes b = good; Set16(b, 8, 0); return b; }(), "does not start with '{'"});
  c.push_back({"header_is_a_list", with_dict("['<f4', False, (1, 4)]"), "does not start with '{'"});
  c.push_back({"header_unterminated_dict", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4)"),
               "expected ',' or '}'"});
  c.push_back({"header_unquoted_key", with_dict("{descr: '<f4', 'fortran_order': False, 'shape': (1, 4), }"),
               "expected a quoted key"});
  c.push_back({"header_missing_colon", with_dict("{'descr' '<f4', 'fortran_order': False, 'shape': (1, 4), }"),
               "expected ':' after key 'descr'"});
  c.push_back({"header_missing_comma", with_dict("{'descr': '<f4' 'fortran_order': False, 'shape': (1, 4), }"),
               "expected ',' or '}'"});
  c.push_back({"header_unterminated_string", with_dict("{'descr': '<f4, 'fortran_order': False, 'shape': (1, 4), }"),
               "expected ',' or '}' in header dictionary"});
  c.push_back({"header_missing_shape", with_dict("{'descr': '<f4', 'fortran_order': False, }"),
               "lacks one of 'descr', 'fortran_order', 'shape'"});
  c.push_back({"header_missing_descr", with_dict("{'fortran_order': False, 'shape': (1, 4), }"),
               "lacks one of 'descr', 'fortran_order', 'shape'"});
  c.push_back({"header_unknown_key", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), 'x': 1, }"),
               "unknown key 'x'"});
  c.push_back({"structured_dtype", with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 4), }"),
               "'descr' is not a string"});
  c.push_back({"descr_is_a_dict", with_dict("{'descr': {'a': 1}, 'fortran_order': False, 'shape': (1, 4), }"),
               "'descr' is not a string"});
  c.push_back({"dtype_complex64", with_dict(NpyDict("<c8", "(1, 4)"), Bytes(32, 0)), "dtype '<c8' is not supported"});
  c.push_back({"dtype_unicode", with_dict(NpyDict("<U4", "(1, 4)"), Bytes(64, 0)), "dtype '<U4' is not supported"});
  c.push_back({"dtype_object", with_dict(NpyDict("|O", "(1, 4)"), Bytes(32, 0)), "'descr' '|O' is too short"});
  c.push_back({"dtype_without_byte_order", with_dict(NpyDict("f4", "(1, 4)")), "'descr' 'f4' is too short"});
  c.push_back({"dtype_float128", with_dict(NpyDict("<f16", "(1, 4)"), Bytes(64, 0)), "dtype '<f16' is not supported"});
  c.push_back({"dtype_big_endian_float", with_dict(NpyDict(">f4", "(1, 4)")), "big-endian"});
  c.push_back({"dtype_empty_string", with_dict(NpyDict("", "(1, 4)")), "is too short"});
  c.push_back({"fortran_order_2d", with_dict(NpyDict("<f4", "(2, 2)", "True")), "Fortran order"});
  c.push_back({"fortran_order_not_bool", with_dict(NpyDict("<f4", "(1, 4)", "'maybe'")),
               "'fortran_order' is not True or False"});
  c.push_back({"shape_is_a_list", with_dict(NpyDict("<f4", "[1, 4]")), "'shape' is not a tuple"});
  c.push_back({"shape_negative_dim", with_dict(NpyDict("<f4", "(-1, 4)")), "other than a non-negative integer"});
  c.push_back({"shape_float_dim", with_dict(NpyDict("<f4", "(1.5, 4)")), "expected ',' or ')'"});
  c.push_back({"shape_unterminated_tuple", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4"),
               "expected ',' or ')' in 'shape'"});
  c.push_back({"shape_dim_overflows_int64", with_dict(NpyDict("<f4", "(99999999999999999999, 4)")),
               "dimension overflows int64"});
  c.push_back({"shape_product_overflows", with_dict(NpyDict("<f4", "(4294967296, 4294967296, 4)")),
               "elements"});
  c.push_back({"shape_rank_40", with_dict(NpyDict("<f4", "(" + [] {
                 std::string s;
                 for (int i = 0; i < 40; ++i) s += "1, ";
                 return s;
               }() + ")")), "rank above 32"});
  c.push_back({"data_shorter_than_shape", with_dict(NpyDict("<f4", "(1, 4)"), Head(kFcInputData, 8)),
               "needs 4*4 data bytes but the file has 8"});
  c.push_back({"data_longer_than_shape", with_dict(NpyDict("<f4", "(1, 4)"), Floats(std::vector<float>(5, 1.0f))),
               "needs 4*4 data bytes but the file has 20"});
  c.push_back({"no_data_at_all", with_dict(NpyDict("<f4", "(1, 4)"), {}), "needs 4*4 data bytes but the file has 0"});
  c.push_back({"float64_odd_byte_count", with_dict(NpyDict("<f8", "(1, 4)"), Bytes(31, 0)),
               "needs 4*8 data bytes but the file has 31"});
  c.push_back({"huge_shape_tiny_data", with_dict(NpyDict("<f4", "(1000000, 1000000)"), kFcInputData),
               "needs 1000000000000*4 data bytes but the file has 16"});
  return c;
}

void NpyCasesTo(CaseSet& set) {
  for (const auto& c : NpyCases()) set.Add("npy", c.what, "npy", c.bytes, kRunFc, c.expect, c.pending);
  // Content that parses but does not fit the model.
  set.Add("npy", "shape_does_not_fit_model", "npy", Npy(NpyDict("<f4", "(1, 5)"), Floats({1, 2, 3, 4, 5})), kRunFc,
          "data of shape [1,5] does not fit input 0 'input' of shape [1,4]");
  set.Add("npy", "zero_batch", "npy", Npy(NpyDict("<f4", "(0, 4)"), {}), kRunFc, "data of shape [0,4] does not fit");
  set.Add("npy", "scalar_for_vector_input", "npy", Npy(NpyDict("<f4", "()"), Floats({1})), kRunFc,
          "data of shape [] does not fit");
  {
    Bytes data;
    for (int v : {300, 1, 2, 3}) Put16(data, static_cast<uint16_t>(v));
    set.Add("npy", "int16_values_outside_int8_input", "npy", Npy(NpyDict("<i2", "(1, 4)"), data), kRunQfc,
            "element 0 = 300 does not fit");
  }
  set.Add("npy", "bad_magic", "npy", [] { Bytes b = FcInputNpy(); b[5] = 'Z'; return b; }(), kRunFc,
          "not a .npy, .npz or image");
  set.Add("npy", "empty_file", "npy", {}, kRunFc, "not a .npy, .npz or image");
  set.Add("npy", "truncated_magic", "npy", B("\x93NUM"), kRunFc, "not a .npy, .npz or image");
}

// ------------------------------------------------------------------------------------------------
// Zip (for .npz and .keras): a writer that can lie in every header field.

struct ZipMember {
  std::string name;
  Bytes data;        // the content
  bool deflate = false;
  std::optional<Bytes> payload = {};              // stored bytes instead of (compressed) `data`
  std::optional<uint32_t> crc = {}, usize = {}, csize = {};  // header values instead of the true ones
  std::optional<uint64_t> zip64_usize = {};       // write sizes as zip64, with this uncompressed size
  std::optional<uint16_t> method = {};            // method field instead of 0 / 8
  uint16_t flags = 0;
  std::optional<std::string> local_name = {};     // local header name, if different from the central
};

struct ZipLayout {
  std::optional<uint16_t> eocd_entries = {};
  int64_t cd_offset_delta = 0;
  std::optional<uint32_t> cd_size = {};
  uint16_t comment_len = 0;
  size_t truncate_central = 0;  // drop this many bytes from the end of the central directory
};

Bytes MakeZip(const std::vector<ZipMember>& members, const ZipLayout& lay = {}) {
  Bytes out, central;
  constexpr uint16_t kDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, 00:00
  for (const ZipMember& m : members) {
    const Bytes stored = m.payload ? *m.payload : (m.deflate ? Deflate(m.data) : m.data);
    const uint16_t method = m.method.value_or(m.deflate ? 8 : 0);
    const uint32_t crc = m.crc.value_or(Crc32(m.data));
    const bool z64 = m.zip64_usize.has_value();
    const uint32_t usize = z64 ? 0xffffffffu : m.usize.value_or(static_cast<uint32_t>(m.data.size()));
    const uint32_t csize = z64 ? 0xffffffffu : m.csize.value_or(static_cast<uint32_t>(stored.size()));
    Bytes extra;
    if (z64) {
      Put16(extra, 1);
      Put16(extra, 16);
      Put64(extra, *m.zip64_usize);
      Put64(extra, stored.size());
    }
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const std::string lname = m.local_name.value_or(m.name);
    Put32(out, 0x04034b50);
    Put16(out, z64 ? 45 : 20);
    Put16(out, m.flags);
    Put16(out, method);
    Put16(out, 0);
    Put16(out, kDate);
    Put32(out, crc);
    Put32(out, csize);
    Put32(out, usize);
    Put16(out, static_cast<uint16_t>(lname.size()));
    Put16(out, static_cast<uint16_t>(extra.size()));
    Append(out, B(lname));
    Append(out, extra);
    Append(out, stored);

    Put32(central, 0x02014b50);
    Put16(central, z64 ? 45 : 20);
    Put16(central, z64 ? 45 : 20);
    Put16(central, m.flags);
    Put16(central, method);
    Put16(central, 0);
    Put16(central, kDate);
    Put32(central, crc);
    Put32(central, csize);
    Put32(central, usize);
    Put16(central, static_cast<uint16_t>(m.name.size()));
    Put16(central, static_cast<uint16_t>(extra.size()));
    Put16(central, 0);  // comment
    Put16(central, 0);  // disk
    Put16(central, 0);  // internal attributes
    Put32(central, 0);  // external attributes
    Put32(central, offset);
    Append(central, B(m.name));
    Append(central, extra);
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  if (lay.truncate_central) central.resize(central.size() - std::min(central.size(), lay.truncate_central));
  Append(out, central);
  Put32(out, 0x06054b50);
  Put16(out, 0);
  Put16(out, 0);
  const uint16_t n = lay.eocd_entries.value_or(static_cast<uint16_t>(members.size()));
  Put16(out, n);
  Put16(out, n);
  Put32(out, lay.cd_size.value_or(static_cast<uint32_t>(central.size() + lay.truncate_central)));
  Put32(out, static_cast<uint32_t>(cd_offset + lay.cd_offset_delta));
  Put16(out, lay.comment_len);
  return out;
}

// Cases about the zip container, for both .npz and .keras; `member` is the entry the reader needs
// (x.npy or config.json) with valid content. {what, bytes, expected substring}.
std::vector<DataCase> ZipContainerCases(const std::string& member, const Bytes& content,
                                        const std::vector<ZipMember>& others, bool keras) {
  std::vector<DataCase> c;
  auto zip = [&](ZipMember m, const ZipLayout& lay = {}) {
    std::vector<ZipMember> all = {std::move(m)};
    all.insert(all.end(), others.begin(), others.end());
    return MakeZip(all, lay);
  };
  const ZipMember ok{member, content};
  const Bytes good = zip(ok);
  c.push_back({"zip_magic_then_garbage", [] {
                 Bytes b = B("PK\x03\x04");
                 for (int i = 0; i < 200; ++i) b.push_back(static_cast<uint8_t>(i * 37 + 11));
                 return b;
               }(), "not a readable"});
  c.push_back({"central_directory_truncated", zip(ok, {.truncate_central = 20}), "not a readable"});
  c.push_back({"central_directory_offset_past_end", zip(ok, {.cd_offset_delta = 100000}), "not a readable"});
  c.push_back({"eocd_claims_65535_entries", zip(ok, {.eocd_entries = 65535}), "not a readable"});
  c.push_back({"eocd_comment_past_end", zip(ok, {.comment_len = 500}), "not a readable"});
  c.push_back({"eocd_only_no_end_record", Head(good, good.size() - 22), "not a readable"});
  c.push_back({"bad_crc", zip([&] { ZipMember m = ok; m.crc = 0xdeadbeef; return m; }()), "CRC"});
  c.push_back({"bad_crc_deflated", zip([&] { ZipMember m = ok; m.deflate = true; m.crc = 0x12345678; return m; }()),
               "CRC"});
  c.push_back({"corrupt_deflate_stream", zip([&] {
                 ZipMember m = ok;
                 m.deflate = true;
                 Bytes d = Deflate(content);
                 for (size_t i = 0; i < d.size(); i += 3) d[i] ^= 0xa5;
                 m.payload = d;
                 return m;
               }()), "corrupt"});
  c.push_back({"member_size_overlaps_next_member", [&] {
                 ZipMember m = ok;
                 m.csize = static_cast<uint32_t>(content.size() + 5000);
                 m.usize = m.csize;
                 return zip(m);
               }(), keras ? "archive member is corrupt (CRC error)" : "not a readable"});
  c.push_back({"unsupported_compression_method", zip([&] { ZipMember m = ok; m.method = 77; return m; }()),
               "ompression method"});
  c.push_back({"encrypted_member", zip([&] { ZipMember m = ok; m.flags = 1; return m; }()), "ncrypt"});
  c.push_back({"stored_size_mismatch", zip([&] {
                 ZipMember m = ok;
                 m.usize = static_cast<uint32_t>(content.size() + 1);
                 return m;
               }()), keras ? "archive member is truncated or corrupt" : "Zip archive inconsistent"});
  c.push_back({"declared_size_1TiB_zip64", zip([&] {
                 ZipMember m = ok;
                 m.zip64_usize = uint64_t{1} << 40;
                 return m;
               }()), "1099511627776 bytes"});
  c.push_back({"deflate_bomb_declared_small", zip([&] {
                 ZipMember m = ok;
                 m.deflate = true;
                 m.payload = Deflate(Bytes(size_t{32} << 20, 0));
                 return m;
               }()), keras ? "more data than its declared size" : "CRC error"});
  c.push_back({"duplicate_member_names", [&] {
                 std::vector<ZipMember> all = {ok, ok};
                 all.insert(all.end(), others.begin(), others.end());
                 return MakeZip(all);
               }(), "not a readable"});
  c.push_back({"local_header_name_differs", zip([&] { ZipMember m = ok; m.local_name = "other.bin"; return m; }()),
               "not a readable"});
  return c;
}

void NpzCasesTo(CaseSet& set) {
  const Bytes x = FcInputNpy();
  for (auto& c : ZipContainerCases("x.npy", x, {}, false)) set.Add("npz", c.what, "npz", c.bytes, kRunFc, c.expect, c.pending);
  set.Add("npz", "empty_archive", "npz", MakeZip({}), kRunFc, "no array 'x' in archive (it holds: nothing)");
  set.Add("npz", "missing_array_x", "npz", MakeZip({{"y.npy", x}, {"z.npy", x}}), kRunFc,
          "no array 'x' in archive (it holds: y, z)");
  set.Add("npz", "x_is_a_directory", "npz", MakeZip({{"x.npy/", {}}, {"y.npy", x}}), kRunFc, "no array 'x'");
  set.Add("npz", "x_member_empty", "npz", MakeZip({{"x.npy", {}}}), kRunFc, "member 'x.npy'");
  set.Add("npz", "x_member_not_npy", "npz", MakeZip({{"x.npy", B("just some text, not an array")}}), kRunFc,
          "member 'x.npy': not a .npy file");
  set.Add("npz", "x_shape_does_not_fit", "npz",
          MakeZip({{"x.npy", Npy(NpyDict("<f4", "(2, 3)"), Bytes(24, 0))}}), kRunFc,
          "data of shape [2,3] does not fit");
  // Nested corruption: each .npy header error inside the archive.
  for (auto& c : NpyCases()) {
    if (c.what.find("magic") != std::string::npos) continue;
    set.Add("npz", "nested_" + c.what, "npz", MakeZip({{"x.npy", c.bytes}}), kRunFc, c.expect, c.pending);
  }
  set.Add("npz", "nested_deflated_bad_header", "npz",
          MakeZip({{"x.npy", Npy("{'descr': '<f4' 'fortran_order': False, 'shape': (1, 4), }", kFcInputData), true}}),
          kRunFc, "member 'x.npy': bad .npy header");
  set.Add("npz", "nested_npz_in_npz", "npz", MakeZip({{"x.npy", MakeZip({{"x.npy", x}})}}), kRunFc,
          "member 'x.npy': not a .npy file");
}

// ------------------------------------------------------------------------------------------------
// HDF5 (Keras .h5 and the model.weights.h5 inside .keras), written in memory with no timestamps.

class H5Mem {
 public:
  H5Mem() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    fapl_ = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl_, 4096, 0);
    fcpl_ = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl_, 0);
    file_ = H5Fcreate("in-memory.h5", H5F_ACC_TRUNC, fcpl_, fapl_);
    if (file_ < 0) Die("H5Fcreate");
  }
  ~H5Mem() {
    if (file_ >= 0) H5Fclose(file_);
    H5Pclose(fcpl_);
    H5Pclose(fapl_);
  }
  hid_t root() const { return file_; }

  Bytes Finish() {
    if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) Die("H5Fflush");
    const ssize_t n = H5Fget_file_image(file_, nullptr, 0);
    if (n <= 0) Die("H5Fget_file_image");
    Bytes b(static_cast<size_t>(n));
    H5Fget_file_image(file_, b.data(), b.size());
    return b;
  }

 private:
  hid_t fapl_ = -1, fcpl_ = -1, file_ = -1;
};

hid_t H5Group(hid_t parent, const std::string& name) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  H5Pset_obj_track_times(gcpl, 0);
  hid_t g = H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT);
  H5Pclose(gcpl);
  if (g < 0) Die("H5Gcreate2 " + name);
  return g;
}

// A scalar fixed-length string attribute, as h5py writes Python bytes.
void H5StrAttr(hid_t obj, const std::string& name, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::max<size_t>(1, value.size()));
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) Die("H5Acreate2 " + name);
  std::string buf = value;
  buf.resize(std::max<size_t>(1, value.size()), '\0');
  H5Awrite(a, type, buf.data());
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

// A 1-D array of fixed-length strings (Keras's layer_names / weight_names).
void H5StrListAttr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  size_t len = 1;
  for (const auto& v : values) len = std::max(len, v.size());
  std::string buf(len * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * len, values[i].data(), values[i].size());
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, len);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  const hsize_t n = values.size();
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) Die("H5Acreate2 " + name);
  if (n) H5Awrite(a, type, buf.data());
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

void H5IntAttr(hid_t obj, const std::string& name, int32_t v) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name.c_str(), H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT32, &v);
  H5Aclose(a);
  H5Sclose(space);
}

hid_t NoTimesDcpl() {
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(dcpl, 0);
  return dcpl;
}

// A float32 dataset of `dims` filled with a deterministic ramp (or `type` elements, zero-filled).
void H5Dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
               hid_t file_type = H5T_IEEE_F32LE, hid_t dcpl = -1, bool write = true) {
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const bool own = dcpl < 0;
  if (own) dcpl = NoTimesDcpl();
  hid_t d = H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d < 0) Die("H5Dcreate2 " + name);
  hsize_t n = 1;
  for (hsize_t x : dims) n *= x;
  if (write && n > 0 && n < (1u << 20) && H5Tget_class(file_type) == H5T_FLOAT) {
    std::vector<float> v(n);
    for (hsize_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 7) * 0.25f - 0.5f;
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  }
  H5Dclose(d);
  if (own) H5Pclose(dcpl);
  H5Sclose(space);
}

// Keras configs.
json Dtype3() { return {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "float32"}}}}; }

json DenseLayer(bool keras3, const std::string& name = "dense", json units = 2) {
  json cfg = {{"name", name}, {"trainable", true}, {"units", units}, {"activation", "linear"}, {"use_bias", true}};
  cfg["dtype"] = keras3 ? Dtype3() : json("float32");
  json l = {{"class_name", "Dense"}, {"config", cfg}};
  if (keras3) l["module"] = "keras.layers";
  return l;
}

json InputLayer(bool keras3, json shape = json::array({nullptr, 4}), const std::string& name = "") {
  json cfg = {{"dtype", "float32"}, {"sparse", false}};
  cfg[keras3 ? "batch_shape" : "batch_input_shape"] = shape;
  cfg["name"] = name.empty() ? (keras3 ? "input_layer" : "input_1") : name;
  json l = {{"class_name", "InputLayer"}, {"config", cfg}};
  if (keras3) l["module"] = "keras.layers";
  return l;
}

json Sequential(bool keras3, json layers) {
  json m = {{"class_name", "Sequential"}, {"config", {{"name", "sequential"}, {"layers", layers}}}};
  if (keras3) {
    m["module"] = "keras";
    m["config"]["dtype"] = Dtype3();
    m["build_config"] = {{"input_shape", {nullptr, 4}}};
  }
  return m;
}

json SeqConfig(bool keras3) { return Sequential(keras3, {InputLayer(keras3), DenseLayer(keras3)}); }

// Keras 2 functional: input_1 -> dense.
json FunctionalConfig(const std::string& dense_from = "input_1", const std::string& output = "dense") {
  json input = InputLayer(false);
  input["name"] = "input_1";
  input["inbound_nodes"] = json::array();
  json dense = DenseLayer(false);
  dense["name"] = "dense";
  dense["inbound_nodes"] = {{{dense_from, 0, 0, json::object()}}};
  return {{"class_name", "Functional"},
          {"config",
           {{"name", "model"},
            {"layers", {input, dense}},
            {"input_layers", {{"input_1", 0, 0}}},
            {"output_layers", {{output, 0, 0}}}}}};
}

// A Keras 2 .h5 file: attributes model_config, keras_version, backend; model_weights/dense holding
// dense/kernel:0 [4,2] and dense/bias:0 [2]. Each field can be changed or dropped.
struct KerasH5 {
  std::optional<std::string> config = SeqConfig(false).dump();
  bool weights_group = true;
  bool layer_group = true;
  std::vector<std::string> weight_names = {"dense/kernel:0", "dense/bias:0"};
  std::vector<hsize_t> kernel_dims = {4, 2}, bias_dims = {2};
  hid_t kernel_type = H5T_IEEE_F32LE;
  std::function<void(hid_t root, hid_t layer)> hook = {};  // extra changes (layer < 0 without one)
};

Bytes MakeKerasH5(const KerasH5& s) {
  H5Mem f;
  const hid_t root = f.root();
  if (s.config) H5StrAttr(root, "model_config", *s.config);
  H5StrAttr(root, "keras_version", "2.11.0");
  H5StrAttr(root, "backend", "tensorflow");
  hid_t layer = -1;
  if (s.weights_group) {
    hid_t mw = H5Group(root, "model_weights");
    H5StrListAttr(mw, "layer_names", {"input_1", "dense"});
    H5StrAttr(mw, "keras_version", "2.11.0");
    H5StrAttr(mw, "backend", "tensorflow");
    hid_t in = H5Group(mw, "input_1");
    H5StrListAttr(in, "weight_names", {});
    H5Gclose(in);
    if (s.layer_group) {
      layer = H5Group(mw, "dense");
      H5StrListAttr(layer, "weight_names", s.weight_names);
      hid_t inner = H5Group(layer, "dense");
      if (!s.kernel_dims.empty()) H5Dataset(inner, "kernel:0", s.kernel_dims, s.kernel_type);
      if (!s.bias_dims.empty()) H5Dataset(inner, "bias:0", s.bias_dims);
      H5Gclose(inner);
    }
    if (s.hook) s.hook(root, layer);
    if (layer >= 0) H5Gclose(layer);
    H5Gclose(mw);
  } else if (s.hook) {
    s.hook(root, -1);
  }
  return f.Finish();
}

// model.weights.h5 of Keras 3: layers/dense/vars/0 (kernel) and /1 (bias).
struct Keras3Weights {
  std::vector<std::vector<hsize_t>> vars = {{4, 2}, {2}};
  std::vector<std::string> names = {"0", "1"};
  bool dense_group = true;
  hid_t type0 = H5T_IEEE_F32LE;
  std::function<void(hid_t root, hid_t vars)> hook = {};
};

Bytes MakeKeras3Weights(const Keras3Weights& s) {
  H5Mem f;
  const hid_t root = f.root();
  hid_t layers = H5Group(root, "layers");
  hid_t vars = -1, dense = -1;
  if (s.dense_group) {
    dense = H5Group(layers, "dense");
    vars = H5Group(dense, "vars");
    for (size_t i = 0; i < s.vars.size(); ++i)
      H5Dataset(vars, s.names.at(i), s.vars[i], i == 0 ? s.type0 : H5T_IEEE_F32LE);
  }
  if (s.hook) s.hook(root, vars);
  if (vars >= 0) H5Gclose(vars);
  if (dense >= 0) H5Gclose(dense);
  H5Gclose(layers);
  hid_t opt = H5Group(root, "optimizer");
  H5Gclose(opt);
  return f.Finish();
}

Bytes MakeKeras(const std::string& config, const Bytes& weights, bool with_metadata = true) {
  std::vector<ZipMember> m;
  if (with_metadata) m.push_back({"metadata.json", B(R"({"keras_version": "3.5.0", "date_saved": "2024-01-01@00:00:00"})")});
  m.push_back({"config.json", B(config)});
  m.push_back({"model.weights.h5", weights});
  return MakeZip(m);
}

std::string Deep(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

void H5Cases(CaseSet& set) {
  auto add = [&](const std::string& what, const Bytes& b, const std::string& expect, const char* cmd = kInspect,
                 const std::string& pending = "") { set.Add("h5", what, "h5", b, cmd, expect, pending); };
  auto cfg = [](const json& j) {
    KerasH5 s;
    s.config = j.dump();
    return MakeKerasH5(s);
  };
  auto seq_with = [](json dense, json input = InputLayer(false)) { return Sequential(false, {input, dense}); };
  const Bytes good = MakeKerasH5({});
  const size_t n = good.size();
  // HDF5 container.
  add("empty_file", {}, "not a readable HDF5 file");
  add("signature_only", Head(good, 8), "not a readable HDF5 file");
  add("truncated_in_superblock", Head(good, 40), "not a readable HDF5 file");
  add("truncated_after_superblock", Head(good, 96), "not a readable HDF5 file");
  add("truncated_at_1k", Head(good, 1024), "not a readable HDF5 file");
  add("truncated_at_half", Head(good, n / 2), "not a readable HDF5 file");
  add("truncated_last_byte", Head(good, n - 1), "not a readable HDF5 file");
  add("bad_signature", [&] { Bytes b = good; b[1] = 'X'; return b; }(), "not a readable HDF5 file");
  add("superblock_version_9", [&] { Bytes b = good; b[8] = 9; return b; }(), "not a readable HDF5 file");
  add("superblock_eof_address_too_small", [&] {
        Bytes b = good;
        // Version 0 superblock: end-of-file address at byte 40 (8-byte addresses).
        Set32(b, 40, 64);
        Set32(b, 44, 0);
        return b;
      }(), "not a readable HDF5 file");
  add("root_object_header_address_past_end", [&] {
        Bytes b = good;
        // The root group's symbol table entry: object header address at byte 64.
        Set32(b, 64, 0x7ffffff0);
        return b;
      }(), "HDF5");
  // model_config.
  add("no_model_config", [] { KerasH5 s; s.config.reset(); return MakeKerasH5(s); }(), "no model_config attribute");
  add("weights_only_file", [] {
        KerasH5 s;
        s.config.reset();
        s.hook = [](hid_t root, hid_t) { H5StrListAttr(root, "layer_names", {"dense"}); };
        return MakeKerasH5(s);
      }(), "weights-only file");
  add("model_config_not_a_string", [] {
        KerasH5 s;
        s.config.reset();
        s.hook = [](hid_t root, hid_t) { H5IntAttr(root, "model_config", 7); };
        return MakeKerasH5(s);
      }(), "attribute 'model_config' is not a string");
  add("model_config_two_strings", [] {
        KerasH5 s;
        s.config.reset();
        s.hook = [](hid_t root, hid_t) { H5StrListAttr(root, "model_config", {"{}", "{}"}); };
        return MakeKerasH5(s);
      }(), "model_config attribute holds 2 strings, expected 1");
  add("model_config_empty_string", [] { KerasH5 s; s.config = ""; return MakeKerasH5(s); }(), "invalid JSON");
  add("model_config_invalid_json", [] { KerasH5 s; s.config = "{\"class_name\": \"Sequential\", "; return MakeKerasH5(s); }(),
      "invalid JSON");
  add("model_config_json_number", [] { KerasH5 s; s.config = "42"; return MakeKerasH5(s); }(), "model config has no class_name");
  add("model_config_json_array", [] { KerasH5 s; s.config = "[1, 2]"; return MakeKerasH5(s); }(), "model config has no class_name");
  add("model_config_deep_nesting", [] { KerasH5 s; s.config = Deep(5000); return MakeKerasH5(s); }(), "JSON nested deeper than 100 levels");
  add("top_level_is_a_layer", cfg(DenseLayer(false)), "top-level object is a 'Dense', not a Sequential or Functional model");
  add("model_without_config_object", cfg(json{{"class_name", "Sequential"}, {"config", "nope"}}), "has no config object");
  add("layers_is_an_object", cfg(json{{"class_name", "Sequential"}, {"config", {{"layers", {{"a", 1}}}}}}), "has no layer list");
  add("sequential_without_layers", cfg(Sequential(false, json::array())), "has no layers");
  add("layer_without_class_name", cfg(seq_with(json{{"config", {{"name", "d"}}}})), "layer #1 has no class_name");
  add("layer_without_config", cfg(seq_with(json{{"class_name", "Dense"}})), "layer #1 (Dense) has no config object");
  add("layer_without_name", cfg(seq_with(json{{"class_name", "Dense"}, {"config", {{"units", 2}}}})), "layer #1 (Dense) has no name");
  add("unknown_layer_class", cfg(seq_with(json{{"class_name", "MyCustomLayer"}, {"config", {{"name", "custom"}}}})),
      "layer 'custom' (MyCustomLayer): unsupported layer class");
  add("lambda_layer", cfg(seq_with(json{{"class_name", "Lambda"}, {"config", {{"name", "lam"}, {"function", "4wEAAAAA"}}}})),
      "Lambda layers hold Python code");
  add("dense_units_is_a_string", cfg(seq_with(DenseLayer(false, "dense", "many"))), "config 'units' is not an integer (\"many\")");
  add("dense_units_missing", cfg(seq_with([] { json d = DenseLayer(false); d["config"].erase("units"); return d; }())),
      "config has no 'units'");
  add("dense_units_huge", cfg(seq_with(DenseLayer(false, "dense", 1000000000000LL))),
      "weight 'kernel' has shape [4,2], expected [4,1000000000000]");
  add("input_shape_negative_dim", cfg(seq_with(DenseLayer(false), InputLayer(false, {nullptr, -4}))),
      "config 'batch_input_shape' holds a bad dimension");
  add("input_shape_huge_dims", cfg(seq_with(DenseLayer(false), InputLayer(false, {nullptr, 1000000000000LL, 1000000000000LL}))),
      "weight 'kernel' has shape [4,2], expected [1000000000000,2]");
  add("input_dtype_int8", cfg(seq_with(DenseLayer(false), [] { json i = InputLayer(false); i["config"]["dtype"] = "int8"; return i; }())),
      "input dtype is int8; only float32 models are lowered");
  add("inputlayer_in_the_middle", cfg(Sequential(false, {InputLayer(false), DenseLayer(false), InputLayer(false, {nullptr, 2}, "input_2")})),
      "InputLayer in the middle of a Sequential model");
  add("nested_models_20_deep", [] {
        json inner = Sequential(false, {InputLayer(false), DenseLayer(false)});
        for (int i = 0; i < 20; ++i) {
          inner["config"]["name"] = "s" + std::to_string(i);
          inner = Sequential(false, {InputLayer(false), inner});
        }
        KerasH5 s;
        s.config = inner.dump();
        return MakeKerasH5(s);
      }(), "models nested more than 16 deep");
  // Functional graphs.
  add("inbound_node_names_unknown_layer", cfg(FunctionalConfig("no_such_layer")),
      "layer 'dense' (Dense): call 0 waits for an input no layer produces");
  add("output_layer_unknown", cfg(FunctionalConfig("input_1", "ghost")), "output 'ghost' (node 0, tensor 0) is never produced");
  add("inbound_nodes_not_a_list", cfg([] {
        json f = FunctionalConfig();
        f["config"]["layers"][1]["inbound_nodes"] = "input_1";
        return f;
      }()), "inbound_nodes is not a list");
  add("inbound_node_malformed", cfg([] {
        json f = FunctionalConfig();
        f["config"]["layers"][1]["inbound_nodes"] = {{{"input_1", "zero", 0}}};
        return f;
      }()), "an inbound node is neither a Keras 2 nor a Keras 3 connection list");
  add("input_layers_missing", cfg([] { json f = FunctionalConfig(); f["config"].erase("input_layers"); return f; }()),
      "input_layers missing or malformed");
  add("two_layers_same_name", cfg([] {
        json f = FunctionalConfig();
        f["config"]["layers"][1]["name"] = "input_1";
        f["config"]["layers"][1]["config"]["name"] = "input_1";
        return f;
      }()), "has two layers named 'input_1'");
  add("self_loop_layer", cfg(FunctionalConfig("dense")), "waits for an input no layer produces");
  // Weights.
  add("no_model_weights_group", [] { KerasH5 s; s.weights_group = false; return MakeKerasH5(s); }(),
      "no model_weights group (weights missing)");
  add("dense_weights_missing", [] { KerasH5 s; s.layer_group = false; return MakeKerasH5(s); }(),
      "weights missing: expects 2 (kernel, bias), the file has none");
  add("weight_names_lists_missing_dataset", [] { KerasH5 s; s.weight_names = {"dense/kernel:0", "dense/gamma:0"}; return MakeKerasH5(s); }(),
      "dataset 'dense/gamma:0' is missing");
  add("only_kernel_no_bias", [] { KerasH5 s; s.weight_names = {"dense/kernel:0"}; return MakeKerasH5(s); }(),
      "expects 2 weights (kernel, bias), the file has 1");
  add("kernel_wrong_shape", [] { KerasH5 s; s.kernel_dims = {4, 3}; return MakeKerasH5(s); }(),
      "weight 'kernel' has shape [4,3], expected [4,2]");
  add("kernel_transposed", [] { KerasH5 s; s.kernel_dims = {2, 4}; return MakeKerasH5(s); }(),
      "weight 'kernel' has shape [2,4], expected [4,2]");
  add("bias_wrong_shape", [] { KerasH5 s; s.bias_dims = {3}; return MakeKerasH5(s); }(), "weight 'bias' has shape [3], expected [2]");
  add("kernel_rank_9", [] { KerasH5 s; s.kernel_dims = {1, 1, 1, 1, 1, 1, 1, 4, 2}; return MakeKerasH5(s); }(),
      "dataset 'dense/kernel:0' has rank 9");
  add("kernel_string_dtype", [] {
        KerasH5 s;
        static hid_t str = [] { hid_t t = H5Tcopy(H5T_C_S1); H5Tset_size(t, 4); return t; }();
        s.kernel_type = str;
        return MakeKerasH5(s);
      }(), "dataset 'dense/kernel:0' is not numeric");
  add("kernel_huge_declared_dims", [] {
        KerasH5 s;
        s.kernel_dims = {};
        s.hook = [](hid_t, hid_t layer) {
          hid_t inner = H5Gopen2(layer, "dense", H5P_DEFAULT);
          hid_t dcpl = NoTimesDcpl();
          const hsize_t chunk[2] = {1, 2};
          H5Pset_chunk(dcpl, 2, chunk);
          H5Dataset(inner, "kernel:0", {1u << 31, 1u << 31}, H5T_IEEE_F32LE, dcpl);
          H5Pclose(dcpl);
          H5Gclose(inner);
        };
        return MakeKerasH5(s);
      }(), "dataset 'dense/kernel:0' is larger than 268435456 elements");
  add("weight_names_not_strings", [] {
        KerasH5 s;
        s.weight_names = {};
        s.hook = [](hid_t, hid_t layer) {
          H5Adelete(layer, "weight_names");
          H5IntAttr(layer, "weight_names", 3);
        };
        return MakeKerasH5(s);
      }(), "attribute 'weight_names' is not a string");
  add("kernel_in_external_file", [] {
        KerasH5 s;
        s.kernel_dims = {};
        s.hook = [](hid_t, hid_t layer) {
          hid_t inner = H5Gopen2(layer, "dense", H5P_DEFAULT);
          hid_t dcpl = NoTimesDcpl();
          // A path outside the model's folder; never written (no fill, no data), only named.
          H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
          H5Pset_external(dcpl, "/nonexistent/quantlens/external-weights.bin", 0, 32);
          H5Dataset(inner, "kernel:0", {4, 2}, H5T_IEEE_F32LE, dcpl, /*write=*/false);
          H5Pclose(dcpl);
          H5Gclose(inner);
        };
        return MakeKerasH5(s);
      }(), "external file");
  add("kernel_chunk_corrupt", [] {
        KerasH5 s;
        s.kernel_dims = {};
        s.hook = [](hid_t, hid_t layer) {
          hid_t inner = H5Gopen2(layer, "dense", H5P_DEFAULT);
          hid_t dcpl = NoTimesDcpl();
          const hsize_t chunk[2] = {4, 2};
          H5Pset_chunk(dcpl, 2, chunk);
          H5Pset_fletcher32(dcpl);
          H5Dataset(inner, "kernel:0", {4, 2}, H5T_IEEE_F32LE, dcpl);
          H5Pclose(dcpl);
          H5Gclose(inner);
        };
        Bytes b = MakeKerasH5(s);
        // The chunk is 32 bytes of the ramp, then its checksum: flip one float of it.
        Bytes ramp;
        for (int i = 0; i < 8; ++i) {
          float v = static_cast<float>(i % 7) * 0.25f - 0.5f;
          Append(ramp, Floats({v}));
        }
        b[Find(b, ramp) + 5] ^= 0x40;
        return b;
      }(), "cannot read dataset 'dense/kernel:0'");
}

void KerasCases(CaseSet& set) {
  auto add = [&](const std::string& what, const Bytes& b, const std::string& expect, const char* cmd = kInspect,
                 const std::string& pending = "") { set.Add("keras", what, "keras", b, cmd, expect, pending); };
  const std::string config = SeqConfig(true).dump();
  const Bytes weights = MakeKeras3Weights({});
  const ZipMember md{"metadata.json", B(R"({"keras_version": "3.5.0"})")};
  const ZipMember wm{"model.weights.h5", weights};
  // Zip container: config.json broken in each way, the other members valid.
  for (auto& c : ZipContainerCases("config.json", B(config), {md, wm}, true)) add(c.what, c.bytes, c.expect);
  auto cfg = [&](const json& j) { return MakeKeras(j.dump(), weights); };
  auto seq_with = [](json dense, json input = InputLayer(true)) { return Sequential(true, {input, dense}); };
  // Members.
  add("no_config_json", MakeZip({md, wm}), "has no config.json");
  add("no_weights_member", MakeZip({md, {"config.json", B(config)}}), "has no model.weights.h5 (weights missing)");
  add("path_traversal_dotdot", MakeZip({{"config.json", B(config)}, md, wm, {"../evil.txt", B("x")}}),
      "archive entry '../evil.txt' would unpack outside its folder");
  add("path_traversal_absolute", MakeZip({{"config.json", B(config)}, {"/etc/cron.d/evil", B("x")}}),
      "archive entry '/etc/cron.d/evil' would unpack outside its folder");
  add("path_traversal_nested", MakeZip({{"config.json", B(config)}, {"assets/../../evil", B("x")}}),
      "would unpack outside its folder");
  add("path_traversal_backslash", MakeZip({{"config.json", B(config)}, {"..\\evil.txt", B("x")}}),
      "would unpack outside its folder");
  add("path_traversal_drive_letter", MakeZip({{"config.json", B(config)}, {"C:/evil.txt", B("x")}}),
      "would unpack outside its folder");
  add("weights_declared_1TiB_zip64", MakeZip({{"config.json", B(config)}, md, [&] {
        ZipMember m = wm;
        m.zip64_usize = uint64_t{1} << 40;
        return m;
      }()}), "archive member is 1099511627776 bytes, more than the");
  add("many_entries_declared", MakeZip({{"config.json", B(config)}, md, wm}, {.eocd_entries = 60000}), "not a readable");
  // config.json content.
  add("config_empty", MakeKeras("", weights), "invalid JSON");
  add("config_invalid_json", MakeKeras("{\"class_name\": ", weights), "invalid JSON");
  add("config_json_array", cfg(json::array({1, 2})), "model config has no class_name");
  add("config_json_string", cfg(json("Sequential")), "model config has no class_name");
  add("config_deep_nesting", MakeKeras(Deep(100000), weights), "JSON nested deeper than 100 levels");
  add("config_deep_objects", MakeKeras([] {
        std::string s;
        for (int i = 0; i < 1000; ++i) s += "{\"a\":";
        s += "1";
        s += std::string(1000, '}');
        return s;
      }(), weights), "JSON nested deeper than 100 levels");
  add("unknown_layer_class", cfg(seq_with(json{{"class_name", "MyCustomLayer"}, {"config", {{"name", "custom"}}}})),
      "layer 'custom' (MyCustomLayer): unsupported layer class");
  add("dense_dtype_policy_mixed", cfg(seq_with([] {
        json d = DenseLayer(true);
        d["config"]["dtype"]["config"]["name"] = "mixed_float16";
        return d;
      }())), "dtype policy 'mixed_float16' is not float32");
  add("dense_units_negative", cfg(seq_with(DenseLayer(true, "dense", -2))), "expected [4,-2]");
  add("dense_activation_custom", cfg(seq_with([] {
        json d = DenseLayer(true);
        d["config"]["activation"] = {{"module", "my_module"}, {"class_name", "function"}, {"config", "swishy"}};
        return d;
      }())), "custom activation");
  add("input_batch_shape_string", cfg(seq_with(DenseLayer(true), InputLayer(true, "(None, 4)"))),
      "config 'batch_shape' is not a list");
  add("input_unknown_feature_dim", cfg(seq_with(DenseLayer(true), InputLayer(true, {nullptr, nullptr}))),
      "input dimension 1 is unknown (None)");
  add("metadata_invalid_json", MakeZip({{"metadata.json", B("{\"keras_version\": ")}, {"config.json", B(config)}, wm}),
      "metadata.json: invalid JSON");
  add("keras3_inbound_bad_history", cfg([] {
        json input = InputLayer(true);
        input["name"] = "input_layer";
        input["inbound_nodes"] = json::array();
        json dense = DenseLayer(true);
        dense["name"] = "dense";
        dense["inbound_nodes"] = {{{"args", {{{"class_name", "__keras_tensor__"}, {"config", {{"keras_history", {"input_layer", "x", 0}}}}}}},
                                   {"kwargs", json::object()}}};
        return json{{"module", "keras"}, {"class_name", "Functional"},
                    {"config", {{"name", "f"}, {"layers", {input, dense}},
                                {"input_layers", {{"input_layer", 0, 0}}}, {"output_layers", {{"dense", 0, 0}}}}}};
      }()), "an inbound node is neither a Keras 2 nor a Keras 3 connection list");
  // model.weights.h5.
  add("weights_not_hdf5", MakeKeras(config, B("this is not an HDF5 file")), "not a readable HDF5 file");
  add("weights_empty", MakeKeras(config, {}), "model.weights.h5 (weights missing)");
  add("weights_truncated", MakeKeras(config, Head(weights, weights.size() / 2)), "not a readable HDF5 file");
  add("weights_missing_dense_group", MakeKeras(config, MakeKeras3Weights({.dense_group = false})),
      "weights missing: expects 2 (kernel, bias), the file has none");
  add("weights_kernel_wrong_shape", MakeKeras(config, MakeKeras3Weights({.vars = {{4, 3}, {2}}})),
      "weight 'kernel' has shape [4,3], expected [4,2]");
  add("weights_bias_rank_2", MakeKeras(config, MakeKeras3Weights({.vars = {{4, 2}, {1, 2}}})),
      "weight 'bias' has shape [1,2], expected [2]");
  add("weights_extra_variable", MakeKeras(config, MakeKeras3Weights({.vars = {{4, 2}, {2}, {2}}, .names = {"0", "1", "2"}})),
      "expects 2 weights (kernel, bias), the file has 3");
  add("weights_variable_index_gap", MakeKeras(config, MakeKeras3Weights({.vars = {{4, 2}, {2}}, .names = {"0", "2"}})),
      "lacks variable 1");
  add("weights_variable_bad_name", MakeKeras(config, MakeKeras3Weights({.vars = {{4, 2}, {2}}, .names = {"0", "kernel"}})),
      "unexpected entry 'layers/dense/vars/kernel'");
  add("weights_kernel_string_dtype", MakeKeras(config, [] {
        Keras3Weights w;
        static hid_t str = [] { hid_t t = H5Tcopy(H5T_C_S1); H5Tset_size(t, 4); return t; }();
        w.type0 = str;
        return MakeKeras3Weights(w);
      }()), "dataset 'layers/dense/vars/0' is not numeric");
  add("weights_kernel_huge_dims", MakeKeras(config, [] {
        Keras3Weights w;
        w.vars = {{2}};
        w.names = {"1"};
        w.hook = [](hid_t, hid_t vars) {
          hid_t dcpl = NoTimesDcpl();
          const hsize_t chunk[2] = {1, 2};
          H5Pset_chunk(dcpl, 2, chunk);
          H5Dataset(vars, "0", {1ull << 40, 2}, H5T_IEEE_F32LE, dcpl);
          H5Pclose(dcpl);
        };
        return MakeKeras3Weights(w);
      }()), "is larger than 268435456 elements");
  add("weights_vars_is_a_dataset", MakeKeras(config, [] {
        Keras3Weights w;
        w.dense_group = false;
        w.hook = [](hid_t root, hid_t) {
          hid_t dense = H5Group(root, "layers/dense");
          H5Dataset(dense, "vars", {2});
          H5Gclose(dense);
        };
        return MakeKeras3Weights(w);
      }()), "'layers/dense/vars' is not a group");
}

// ------------------------------------------------------------------------------------------------
// Images.

Bytes PngChunk(const std::string& type, const Bytes& data) {
  Bytes c;
  Put32BE(c, static_cast<uint32_t>(data.size()));
  Bytes td = B(type);
  Append(td, data);
  Append(c, td);
  Put32BE(c, Crc32(td));
  return c;
}

Bytes Ihdr(uint32_t w, uint32_t h, uint8_t depth = 8, uint8_t color = 2, uint8_t comp = 0, uint8_t filter = 0,
           uint8_t interlace = 0) {
  Bytes d;
  Put32BE(d, w);
  Put32BE(d, h);
  for (uint8_t v : {depth, color, comp, filter, interlace}) d.push_back(v);
  return d;
}

// 8x8 RGB scanlines (filter byte 0), a colour ramp.
Bytes RgbScanlines(int w = 8, int h = 8, uint8_t filter = 0) {
  Bytes s;
  for (int y = 0; y < h; ++y) {
    s.push_back(filter);
    for (int x = 0; x < w; ++x) {
      s.push_back(static_cast<uint8_t>(x * 30));
      s.push_back(static_cast<uint8_t>(y * 30));
      s.push_back(static_cast<uint8_t>(128));
    }
  }
  return s;
}

const Bytes kPngSig = B("\x89PNG\r\n\x1a\n");

Bytes Png(const std::vector<Bytes>& chunks) {
  Bytes b = kPngSig;
  for (const auto& c : chunks) Append(b, c);
  return b;
}

Bytes GoodPng() {
  return Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", ZlibCompress(RgbScanlines())), PngChunk("IEND", {})});
}

// A baseline JPEG: 8x8, one grey component, one block whose coefficients are all zero (one-code
// Huffman tables: DC category 0 and AC end-of-block, each coded as the bit 0).
struct JpegParts {
  Bytes dqt, sof, dht_dc, dht_ac, sos, scan;
};

JpegParts GoodJpegParts(uint16_t w = 8, uint16_t h = 8) {
  JpegParts p;
  p.dqt = {0xff, 0xdb};
  Put16BE(p.dqt, 67);
  p.dqt.push_back(0x00);
  for (int i = 0; i < 64; ++i) p.dqt.push_back(1);
  p.sof = {0xff, 0xc0};
  Put16BE(p.sof, 11);
  p.sof.push_back(8);
  Put16BE(p.sof, h);
  Put16BE(p.sof, w);
  for (uint8_t v : {1, 1, 0x11, 0}) p.sof.push_back(v);
  auto dht = [](uint8_t cls) {
    Bytes d = {0xff, 0xc4};
    Put16BE(d, 20);
    d.push_back(cls);
    d.push_back(1);
    for (int i = 1; i < 16; ++i) d.push_back(0);
    d.push_back(0);  // the one symbol: DC category 0 / AC EOB
    return d;
  };
  p.dht_dc = dht(0x00);
  p.dht_ac = dht(0x10);
  p.sos = {0xff, 0xda};
  Put16BE(p.sos, 8);
  for (uint8_t v : {1, 1, 0x00, 0, 63, 0}) p.sos.push_back(v);
  p.scan = {0x3f};  // bits 0 (DC), 0 (EOB), then 1-padding
  return p;
}

Bytes Jpeg(const JpegParts& p, bool eoi = true) {
  Bytes b = {0xff, 0xd8};
  for (const Bytes* part : {&p.dqt, &p.sof, &p.dht_dc, &p.dht_ac, &p.sos, &p.scan}) Append(b, *part);
  if (eoi) Append(b, {0xff, 0xd9});
  return b;
}

// A bottom-up BMP with the 40-byte BITMAPINFOHEADER.
struct BmpSpec {
  int32_t w = 8, h = 8;
  uint16_t planes = 1, bpp = 24;
  uint32_t compression = 0, colors_used = 0;
  uint32_t info_size = 40;
  std::optional<uint32_t> data_offset = {};
  std::optional<size_t> pixel_bytes = {};  // bytes of pixel data actually written
};

Bytes Bmp(const BmpSpec& s) {
  const int64_t row = ((int64_t{std::abs(s.w)} * s.bpp + 31) / 32) * 4;
  const size_t want = static_cast<size_t>(std::min<int64_t>(row * std::abs(static_cast<int64_t>(s.h)), 1 << 20));
  const size_t pixels = s.pixel_bytes.value_or(want);
  Bytes b = B("BM");
  const uint32_t offset = s.data_offset.value_or(14 + s.info_size);
  Put32(b, static_cast<uint32_t>(14 + s.info_size + pixels));
  Put32(b, 0);
  Put32(b, offset);
  Put32(b, s.info_size);
  Put32(b, static_cast<uint32_t>(s.w));
  Put32(b, static_cast<uint32_t>(s.h));
  Put16(b, s.planes);
  Put16(b, s.bpp);
  Put32(b, s.compression);
  Put32(b, static_cast<uint32_t>(pixels));
  Put32(b, 2835);
  Put32(b, 2835);
  Put32(b, s.colors_used);
  Put32(b, 0);
  while (b.size() < 14 + s.info_size) b.push_back(0);
  for (size_t i = 0; i < pixels; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

void ImageCases(CaseSet& set) {
  auto png = [&](const std::string& what, const Bytes& b, const std::string& expect, const std::string& pending = "") {
    set.Add("image", "png_" + what, "png", b, kRunImage, expect, pending);
  };
  auto jpg = [&](const std::string& what, const Bytes& b, const std::string& expect, const std::string& pending = "") {
    set.Add("image", "jpeg_" + what, "jpg", b, kRunImage, expect, pending);
  };
  auto bmp = [&](const std::string& what, const Bytes& b, const std::string& expect, const std::string& pending = "") {
    set.Add("image", "bmp_" + what, "bmp", b, kRunImage, expect, pending);
  };
  const Bytes idat = PngChunk("IDAT", ZlibCompress(RgbScanlines()));
  const Bytes iend = PngChunk("IEND", {});
  const Bytes good_png = GoodPng();
  // PNG.
  png("signature_only", kPngSig, "first not IHDR");
  png("garbage_after_signature", [&] { Bytes b = kPngSig; Append(b, B("garbage garbage garbage garbage!")); return b; }(),
      "first not IHDR");
  png("truncated_in_ihdr", Head(good_png, 20), "1/2/4/8/16-bit only");
  png("truncated_in_idat", Head(good_png, 33 + 20), "PNG chunk 'IDAT' at byte 33 declares 108 bytes, past the end of the 53-byte file");
  png("ihdr_length_12", [&] {
        Bytes c = PngChunk("IHDR", Ihdr(8, 8));
        Set32BE(c, 0, 12);
        return Png({c, idat, iend});
      }(), "bad IHDR len");
  png("zero_width", Png({PngChunk("IHDR", Ihdr(0, 8)), idat, iend}), "0-pixel image");
  png("zero_height", Png({PngChunk("IHDR", Ihdr(8, 0)), idat, iend}), "0-pixel image");
  png("100000x100000", Png({PngChunk("IHDR", Ihdr(100000, 100000)), idat, iend}),
      "(too large)");
  png("width_2pow31", Png({PngChunk("IHDR", Ihdr(0x80000000u, 8)), idat, iend}), "(too large)");
  png("bit_depth_3", Png({PngChunk("IHDR", Ihdr(8, 8, 3, 0)), idat, iend}), "1/2/4/8/16-bit only");
  png("palette_with_16_bit_depth", Png({PngChunk("IHDR", Ihdr(8, 8, 16, 3)), idat, iend}),
      "bad ctype");
  png("color_type_5", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 5)), idat, iend}), "bad ctype");
  png("compression_method_1", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 2, 1)), idat, iend}),
      "bad comp method");
  png("filter_method_1", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 2, 0, 1)), idat, iend}),
      "bad filter method");
  png("interlace_method_2", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 2, 0, 0, 2)), idat, iend}),
      "bad interlace method");
  png("ihdr_bad_crc", [&] { Bytes b = good_png; b[8 + 8 + 13] ^= 0xff; return b; }(), "PNG chunk 'IHDR' at byte 8 has CRC b46d29dc but its bytes give 4b6d29dc");
  png("idat_bad_crc", [&] { Bytes b = good_png; b[33 + idat.size() - 1] ^= 0x01; return b; }(), "PNG chunk 'IDAT' at byte 33 has CRC");
  png("iend_bad_crc", [&] { Bytes b = good_png; b.back() ^= 0x80; return b; }(), "PNG chunk 'IEND' at byte 153 has CRC");
  png("no_idat", Png({PngChunk("IHDR", Ihdr(8, 8)), iend}), "no IDAT");
  png("idat_not_zlib", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", B("definitely not zlib data")), iend}),
      "bad zlib header");
  png("idat_too_little_data", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", ZlibCompress(Head(RgbScanlines(), 50))), iend}),
      "not enough pixels");
  png("scanline_filter_7", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", ZlibCompress(RgbScanlines(8, 8, 7))), iend}),
      "invalid filter");
  png("palette_without_plte", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 3)), idat, iend}), "no PLTE");
  png("plte_300_entries", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 3)), PngChunk("PLTE", Bytes(900, 7)), idat, iend}),
      "invalid PLTE");
  png("idat_length_2GiB", [&] {
        Bytes c = idat;
        Set32BE(c, 0, 0x7fffffff);
        return Png({PngChunk("IHDR", Ihdr(8, 8)), c, iend});
      }(), "declares 2147483647 bytes, past the end");
  png("first_chunk_not_ihdr", Png({idat, PngChunk("IHDR", Ihdr(8, 8)), iend}), "first not IHDR");
  png("two_ihdr_chunks", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IHDR", Ihdr(8, 8)), idat, iend}),
      "multiple IHDR");
  png("unknown_critical_chunk", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("QLNS", B("x")), idat, iend}),
      "QLNS PNG chunk not known");
  png("no_iend", Png({PngChunk("IHDR", Ihdr(8, 8)), idat}), "without an IEND chunk (truncated)");
  // JPEG.
  const JpegParts jp = GoodJpegParts();
  const Bytes good_jpg = Jpeg(jp);
  jpg("soi_only", {0xff, 0xd8}, "expected marker");
  jpg("garbage_after_soi", [] { Bytes b = {0xff, 0xd8}; Append(b, B("no markers here, only text")); return b; }(),
      "expected marker");
  jpg("soi_then_eoi", {0xff, 0xd8, 0xff, 0xd9}, "unknown marker");
  jpg("truncated_in_sof", Head(good_jpg, 2 + jp.dqt.size() + 6), "no header height");
  jpg("zero_width", Jpeg(GoodJpegParts(0, 8)), "0 width");
  jpg("zero_height", Jpeg(GoodJpegParts(8, 0)), "no header height");
  jpg("65535x65535", Jpeg(GoodJpegParts(65535, 65535)), "image size 65535x65535 is outside the supported range");
  jpg("precision_12", [&] { JpegParts p = jp; p.sof[4] = 12; return Jpeg(p); }(), "only 8-bit");
  jpg("two_components_declared", [&] { JpegParts p = jp; p.sof[9] = 2; return Jpeg(p); }(), "bad component count");
  jpg("sampling_factor_zero", [&] { JpegParts p = jp; p.sof[11] = 0x00; return Jpeg(p); }(), "bad H");
  jpg("quant_table_id_5", [&] { JpegParts p = jp; p.sof[12] = 5; return Jpeg(p); }(), "bad TQ");
  jpg("dqt_table_id_4", [&] { JpegParts p = jp; p.dqt[4] = 0x04; return Jpeg(p); }(), "bad DQT table");
  jpg("dqt_length_1", [&] { JpegParts p = jp; Set16BE(p.dqt, 2, 1); return Jpeg(p); }(), "corrupt JPEG marker segment");
  jpg("dht_counts_overflow", [&] {
        JpegParts p = jp;
        for (int i = 0; i < 16; ++i) p.dht_dc[5 + i] = 255;
        return Jpeg(p);
      }(), "declares 4080 codes, more than the 256 a table can hold");
  // The same before the frame header: stbi_info itself reads it.
  jpg("dht_before_sof_counts_overflow", [&] {
        JpegParts p = jp;
        for (int i = 0; i < 16; ++i) p.dht_ac[5 + i] = 17;
        Bytes b = {0xff, 0xd8};
        for (const Bytes* part : {&p.dqt, &p.dht_ac, &p.sof, &p.dht_dc, &p.sos, &p.scan}) Append(b, *part);
        Append(b, {0xff, 0xd9});
        return b;
      }(), "declares 272 codes, more than the 256 a table can hold");
  jpg("sos_unknown_component", [&] { JpegParts p = jp; p.sos[5] = 9; return Jpeg(p); }(), "corrupt JPEG marker segment");
  jpg("sos_huffman_table_5", [&] { JpegParts p = jp; p.sos[6] = 0x55; return Jpeg(p); }(), "bad DC huff");
  jpg("lossless_sof3", [&] { JpegParts p = jp; p.sof[1] = 0xc3; return Jpeg(p); }(), "unknown marker");
  jpg("arithmetic_sof9", [&] { JpegParts p = jp; p.sof[1] = 0xc9; return Jpeg(p); }(), "unknown marker");
  jpg("sos_before_sof", [&] {
        Bytes b = {0xff, 0xd8};
        for (const Bytes* part : {&jp.dqt, &jp.dht_dc, &jp.dht_ac, &jp.sos, &jp.scan, &jp.sof}) Append(b, *part);
        Append(b, {0xff, 0xd9});
        return b;
      }(), "unknown marker");
  jpg("dri_bad_length", [&] {
        JpegParts p = jp;
        Bytes dri = {0xff, 0xdd, 0x00, 0x05, 0x00, 0x01, 0x00};
        dri.insert(dri.end(), p.dht_dc.begin(), p.dht_dc.end());
        p.dht_dc = dri;
        return Jpeg(p);
      }(), "bad DRI len");
  // BMP.
  bmp("magic_only", B("BM"), "unknown image type");
  bmp("truncated_file_header", Head(Bmp({}), 10), "unknown image type");
  bmp("truncated_info_header", Head(Bmp({}), 30), "bad offset");
  bmp("info_header_size_13", Bmp({.info_size = 13}), "unknown image type");
  bmp("zero_width", Bmp({.w = 0}), "image size 0x8 is outside the supported range");
  bmp("zero_height", Bmp({.h = 0}), "image size 8x0 is outside the supported range");
  bmp("100000x100000", Bmp({.w = 100000, .h = 100000, .pixel_bytes = 64}), "image size 100000x100000 is outside the supported range");
  bmp("negative_width", Bmp({.w = -8}), "image size -8x8 is outside the supported range");
  bmp("height_int_min", Bmp({.h = INT32_MIN, .pixel_bytes = 64}), "image size 8x-2147483648 is outside the supported range");
  bmp("bpp_7", Bmp({.bpp = 7}), "image decoding failed: invalid");
  bmp("bpp_0", Bmp({.bpp = 0}), "image decoding failed: invalid");
  bmp("planes_2", Bmp({.planes = 2}), "bad BMP");
  bmp("rle8_compression", Bmp({.bpp = 8, .compression = 1}), "BMP RLE");
  bmp("compression_99", Bmp({.compression = 99}), "BMP JPEG/PNG");
  bmp("bitfields_zero_masks", Bmp({.bpp = 32, .compression = 3}), "image decoding failed: bad offset");
  bmp("palette_2pow31_colors", Bmp({.bpp = 8, .colors_used = 0x80000000u}), "image decoding failed: invalid");
  bmp("pixel_data_missing", Bmp({.pixel_bytes = 0}), "BMP pixel data (8 rows of 24 bytes from byte 54) runs past the end of the 54-byte file");
  bmp("pixel_data_half", Bmp({.pixel_bytes = 96}), "runs past the end of the 150-byte file (truncated)");
  bmp("data_offset_past_end", Bmp({.data_offset = 100000}), "from byte 100000) runs past the end");
  bmp("data_offset_inside_header", Bmp({.data_offset = 20}), "image decoding failed: bad offset");
}

// ------------------------------------------------------------------------------------------------

void Baselines(CaseSet& set) {
  set.Baseline("models/fc.tflite", Pack(FcModel()), "run {} --input models/fc_input.npy");
  set.Baseline("models/fc_input.npy", FcInputNpy(), kRunFc);
  set.Baseline("models/qfc.tflite", Pack(QfcModel()), "run {} --input models/qfc_input.npy");
  set.Baseline("models/qfc_input.npy", Npy(NpyDict("|i1", "(1, 4)"), Bytes{1, 2, 3, 4}), kRunQfc);
  set.Baseline("models/image_add.tflite", Pack(ImageAddModel()), "run {} --input models/good.png");
  set.Baseline("models/chain.tflite", Pack(ChainModel()), "run {} --input models/fc_input.npy");
  set.Baseline("models/conv.tflite", Pack(ConvModel()), "run {} --input models/conv_input.npy");
  set.Baseline("models/conv_input.npy", Npy(NpyDict("<f4", "(1, 5, 5, 1)"), Floats(std::vector<float>(25, 1.0f))),
               "run models/conv.tflite --input {}");
  set.Baseline("models/good.npz", MakeZip({{"x.npy", FcInputNpy()}}), kRunFc);
  set.Baseline("models/good_deflated.npz", MakeZip({{"x.npy", FcInputNpy(), true}}), kRunFc);
  set.Baseline("models/good.h5", MakeKerasH5({}), "run {} --input models/fc_input.npy");
  {
    KerasH5 f;
    f.config = FunctionalConfig().dump();
    set.Baseline("models/good_functional.h5", MakeKerasH5(f), "run {} --input models/fc_input.npy");
  }
  set.Baseline("models/good.keras", MakeKeras(SeqConfig(true).dump(), MakeKeras3Weights({})),
               "run {} --input models/fc_input.npy");
  set.Baseline("models/good.png", GoodPng(), kRunImage);
  set.Baseline("models/good.jpg", Jpeg(GoodJpegParts()), kRunImage);
  set.Baseline("models/good.bmp", Bmp({}), kRunImage);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_malformed OUT_DIR\n  writes the malformed-file set (see tests/malformed)\n");
    return 2;
  }
  const fs::path root = argv[1];
  std::error_code ec;
  // Start from an empty folder so a renamed case leaves no stale file behind.
  for (const char* sub : {"models", "tflite", "h5", "keras", "npy", "npz", "image"}) fs::remove_all(root / sub, ec);
  CaseSet set(root);
  Baselines(set);
  TfliteCases(set);
  H5Cases(set);
  KerasCases(set);
  NpyCasesTo(set);
  NpzCasesTo(set);
  ImageCases(set);
  set.Finish();
  return 0;
}
