// The TFLite reader: verify the flatbuffer, then copy subgraph 0 into an ir::Graph, checking every
// index and size the flatbuffers verifier cannot know about (tensor, buffer and opcode indices,
// constant sizes, enum ranges). Nothing here trusts a value from the file before checking it.
#include "quantlens/formats/tflite/reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "quantlens/formats/tflite/options.h"
#include "quantlens/formats/tflite/writer.h"
#include "quantlens/util/limits.h"
#include "tflite_schema_generated.h"

namespace ql::tflite {
namespace {

namespace tfl = ::tflite;

// Flatbuffers' 32-bit offsets cap a file at 2 GiB; larger TFLite files keep buffers outside the
// flatbuffer (Buffer.offset), which quantlens does not read.
constexpr size_t kMaxFileBytes = (size_t{1} << 31) - 1;
// Nesting in the TFLite schema is shallow (Model > SubGraph > Tensor > Quantization > details);
// a small bound rejects crafted deep recursion early.
constexpr flatbuffers::uoffset_t kMaxDepth = 64;
// A 2 GiB model holds at most a few hundred thousand tables; the bound stops table-count bombs.
constexpr flatbuffers::uoffset_t kMaxTables = 4'000'000;
constexpr int64_t kMaxElements = limits::kMaxElements;

// A string field of the file, refused past `max_bytes` (names are printed and used as keys).
Result<std::string> ReadString(const flatbuffers::String* s, size_t max_bytes, const char* what) {
  if (s == nullptr) return std::string();
  if (s->size() > max_bytes)
    return InvalidModel("{} is {} bytes long, more than the {} allowed", what, s->size(), max_bytes);
  return s->str();
}

// A human hint for files that are obviously something else, so users see "this is a PNG image"
// instead of only "not a TFLite model".
std::string GuessOtherFormat(std::span<const uint8_t> b) {
  auto starts = [&](const char* magic, size_t n) {
    return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
  };
  if (starts("\x89PNG", 4)) return " (it looks like a PNG image)";
  if (starts("\x89HDF", 4)) return " (it looks like an HDF5 file, e.g. a Keras .h5 model)";
  if (starts("PK\x03\x04", 4)) return " (it looks like a zip archive, e.g. a .keras model)";
  if (starts("\xff\xd8\xff", 3)) return " (it looks like a JPEG image)";
  if (starts("\x93NUMPY", 6)) return " (it looks like a NumPy .npy array)";
  return "";
}

std::string OpName(const ir::Op& op) {
  if (op.type == ir::OpType::kCUSTOM) return "CUSTOM " + op.custom_code;
  return std::string(ir::OpTypeName(op.type));
}

Status ReadTensor(const tfl::Tensor& t, int index, const tfl::Model& model, ir::Tensor& out) {
  out.source_index = index;
  auto name = ReadString(t.name(), limits::kMaxNameBytes, "the name");
  if (!name.ok()) return name.status().WithContext(fmt::format("tensor {}: ", index));
  out.name = std::move(name).value();
  const std::string where = fmt::format("tensor {} '{}': ", index, out.name);

  auto dtype = DTypeFromTflite(t.type());
  if (!dtype.ok()) return dtype.status().WithContext(where);
  out.dtype = *dtype;
  out.is_variable = t.is_variable();
  if (t.sparsity() != nullptr)
    return Unsupported("{}sparse tensors (sparsity parameters) are not supported", where);

  // Shape: `shape` holds the concrete dims; `shape_signature` marks open dims with -1.
  const auto* shape = t.shape();
  const auto* sig = t.shape_signature();
  // The schema says an unknown rank is written as shape [] with has_rank false. Converters older
  // than has_rank also write scalars that way, so the two can only be told apart for constants
  // (their data says one element). Non-constant [] without has_rank is treated as undeclared (the
  // old SSD post-processing outputs); the runtime infers such shapes anyway.
  out.shape_declared = (shape != nullptr && shape->size() > 0) || t.has_rank();
  if (shape != nullptr && shape->size() > static_cast<uint32_t>(limits::kMaxRank))
    return InvalidModel("{}shape has rank {}, more than the {} quantlens accepts", where,
                        shape->size(), limits::kMaxRank);
  if (shape != nullptr) {
    out.shape.assign(shape->begin(), shape->end());
    for (int64_t d : out.shape)
      if (d < -1)
        return InvalidModel("{}shape {} has dimension {}, must be >= 0 (or -1 for unknown)", where,
                            ir::ShapeToString(out.shape), d);
  }
  if (sig != nullptr && sig->size() > 0) {
    if (sig->size() != out.shape.size())
      return InvalidModel("{}shape_signature has rank {} but shape {} has rank {}", where,
                          sig->size(), ir::ShapeToString(out.shape), out.shape.size());
    for (size_t i = 0; i < sig->size(); ++i) {
      int32_t s = sig->Get(i);
      if (s == -1) out.shape[i] = -1;
      else if (s < -1)
        return InvalidModel("{}shape_signature dimension {} is {}, must be >= -1", where, i, s);
    }
  }
  // Even open dims (counted as 1) must not make the element count overflow.
  ir::Shape known = out.shape;
  for (auto& d : known) d = std::max<int64_t>(d, 1);
  if (auto n = ir::CheckedNumElements(known, kMaxElements); !n.ok())
    return n.status().WithContext(where);

  // Quantization.
  if (const auto* q = t.quantization()) {
    const uint32_t nscale = q->scale() ? q->scale()->size() : 0;
    const uint32_t nzp = q->zero_point() ? q->zero_point()->size() : 0;
    if (std::max(nscale, nzp) > static_cast<uint64_t>(limits::kMaxQuantParams))
      return InvalidModel("{}quantization has {} scales and {} zero points, more than the {} "
                          "allowed", where, nscale, nzp, limits::kMaxQuantParams);
    if (q->scale() != nullptr && q->scale()->size() > 0) {
      out.quant.scale.assign(q->scale()->begin(), q->scale()->end());
      if (const auto* zp = q->zero_point()) {
        // The verifier (flatbuffers 2.0.8) checks a vector's length field for 4-byte alignment
        // only, so a corrupt file can place these int64 elements at 4 mod 8: copy bytes rather
        // than load misaligned int64s. Little-endian, as every TFLite file.
        out.quant.zero_point.resize(zp->size());
        if (zp->size() > 0)
          std::memcpy(out.quant.zero_point.data(), zp->Data(), zp->size() * sizeof(int64_t));
      }
      // Kept even with a single scale (person_detect.tflite stores 3 there); only per-axis
      // quantization gives it a meaning, and ir::VerifyGraph checks it in that case.
      out.quant.axis = q->quantized_dimension();
      // Old TFLite Micro models (person_detect.tflite) give per-channel biases the filter's
      // quantized_dimension (3) although a bias has rank 1. TFLite Micro ignores the field for
      // biases; the only axis the scales can belong to is 0 when their count matches it, so the
      // reader says so rather than refusing a model TFLite Micro runs.
      if (out.quant.scale.size() > 1 && out.shape.size() == 1 &&
          out.shape[0] == static_cast<int64_t>(out.quant.scale.size()) && out.quant.axis != 0)
        out.quant.axis = 0;
    }
  }

  // Constant data.
  const auto* buffers = model.buffers();
  const uint32_t nbuf = buffers ? buffers->size() : 0;
  const uint32_t b = t.buffer();
  if (b >= nbuf) {
    // Buffer 0 is the conventional "no data" sentinel; a file with no buffers at all may use it.
    if (b == 0) return Status::Ok();
    return InvalidModel("{}buffer index {} out of range (0..{})", where, b,
                        static_cast<int64_t>(nbuf) - 1);
  }
  const tfl::Buffer* buf = buffers->Get(b);
  if (buf == nullptr) return Status::Ok();
  if (buf->offset() > 1)
    return Unsupported("{}buffer {} stores its data outside the flatbuffer (offset {}, size {}); "
                       "models over 2 GB are not supported", where, b, buf->offset(), buf->size());
  const auto* data = buf->data();
  if (data == nullptr || data->size() == 0) return Status::Ok();
  if (out.dtype != ir::DType::kString) {
    auto n = ir::CheckedNumElements(out.shape, kMaxElements);
    if (!n.ok())
      return InvalidModel("{}constant data in buffer {} but shape {} is not fully known", where, b,
                          ir::ShapeToString(out.shape));
    const uint64_t want = static_cast<uint64_t>(*n) * ir::DTypeSize(out.dtype);
    if (want != data->size())
      return InvalidModel("{}buffer {} holds {} bytes but shape {} of {} needs {}", where, b,
                          data->size(), ir::ShapeToString(out.shape), ir::DTypeName(out.dtype),
                          want);
  }
  // TFLite 2.9 refuses a variable with data ("variable tensor with buffer"): it starts from
  // zeros (ResetVariableTensors), and quantlens reads the file the same way.
  if (out.is_variable)
    return Unsupported("{}is a variable tensor with data in buffer {}; TFLite starts variables "
                       "from zero and refuses such files", where, b);
  out.shape_declared = true;  // a constant's [] is a scalar: its data size was checked above
  out.data.assign(data->begin(), data->end());
  out.is_constant = true;
  return Status::Ok();
}

Result<std::vector<int>> ReadIndexList(const flatbuffers::Vector<int32_t>* v, int num_tensors,
                                       bool allow_omitted, const char* what) {
  std::vector<int> out;
  if (v == nullptr) return out;
  out.reserve(v->size());
  for (int32_t t : *v) {
    if ((t == -1 && allow_omitted)) {
      out.push_back(t);
      continue;
    }
    if (t < 0 || t >= num_tensors)
      return InvalidModel("{} tensor index {} out of range (0..{})", what, t, num_tensors - 1);
    out.push_back(t);
  }
  return out;
}

Status ReadOperator(const tfl::Operator& top, int index, const tfl::Model& model, ir::Graph& g) {
  const int nt = static_cast<int>(g.tensors.size());
  const auto* codes = model.operator_codes();
  const uint32_t ncodes = codes ? codes->size() : 0;
  if (top.opcode_index() >= ncodes)
    return InvalidModel("op {}: opcode index {} out of range (0..{})", index, top.opcode_index(),
                        static_cast<int64_t>(ncodes) - 1);
  const tfl::OperatorCode* oc = codes->Get(top.opcode_index());
  if (oc == nullptr) return InvalidModel("op {}: operator code {} is null", index, top.opcode_index());

  // Files written before builtin_code existed (and converters that still fill only the old byte)
  // leave one field 0; the real code is the larger one.
  const int code = std::max(static_cast<int>(oc->deprecated_builtin_code()),
                            static_cast<int>(oc->builtin_code()));
  auto type = ir::OpTypeFromTfliteCode(code);
  if (!type)
    return Unsupported("op {}: unsupported operator code {} ({})", index, code,
                       TfliteBuiltinName(code));

  ir::Op op;
  op.type = *type;
  op.version = oc->version();
  op.source_index = index;
  if (op.type == ir::OpType::kCUSTOM) {
    auto custom = ReadString(oc->custom_code(), limits::kMaxNameBytes, "custom code");
    if (!custom.ok()) return custom.status().WithContext(fmt::format("op {}: ", index));
    op.custom_code = std::move(custom).value();
    if (top.large_custom_options_offset() > 1)
      return Unsupported("op {} ({}): custom options stored outside the flatbuffer (offset {}) are "
                         "not supported", index, OpName(op), top.large_custom_options_offset());
  }
  const std::string where = fmt::format("op {} ({}): ", index, OpName(op));

  const uint32_t nin = top.inputs() ? top.inputs()->size() : 0;
  const uint32_t nout = top.outputs() ? top.outputs()->size() : 0;
  if (std::max(nin, nout) > static_cast<uint64_t>(limits::kMaxOpOperands))
    return InvalidModel("{}{} inputs and {} outputs, more than the {} allowed", where, nin, nout,
                        limits::kMaxOpOperands);
  auto inputs = ReadIndexList(top.inputs(), nt, /*allow_omitted=*/true, "input");
  if (!inputs.ok()) return inputs.status().WithContext(where);
  auto outputs = ReadIndexList(top.outputs(), nt, /*allow_omitted=*/false, "output");
  if (!outputs.ok()) return outputs.status().WithContext(where);
  op.inputs = std::move(*inputs);
  op.outputs = std::move(*outputs);

  auto attrs = ParseBuiltinOptions(top, op.type, g, op.inputs, op.outputs);
  if (!attrs.ok()) return attrs.status().WithContext(where);
  op.attrs = std::move(*attrs);
  g.ops.push_back(std::move(op));
  return Status::Ok();
}

// The bytes of buffer `b` for metadata: an out-of-range index is an error (unlike tensors, a
// metadata entry always names real data); a missing or empty buffer gives no bytes.
Result<std::vector<uint8_t>> MetadataBytes(const tfl::Model& model, uint32_t b, uint64_t* budget) {
  const auto* buffers = model.buffers();
  const uint32_t nbuf = buffers ? buffers->size() : 0;
  if (b >= nbuf)
    return InvalidModel("buffer index {} out of range (0..{})", b, static_cast<int64_t>(nbuf) - 1);
  const tfl::Buffer* buf = buffers->Get(b);
  if (buf == nullptr) return std::vector<uint8_t>();
  if (buf->offset() > 1)
    return Unsupported("buffer {} stores its data outside the flatbuffer (offset {}), which "
                       "quantlens does not read", b, buf->offset());
  const auto* data = buf->data();
  if (data == nullptr) return std::vector<uint8_t>();
  // Entries may share a buffer; copying is bounded in total so that many entries naming one
  // large buffer cannot multiply memory.
  if (data->size() > *budget)
    return InvalidModel("metadata buffers copied would exceed twice the file's size ({} bytes "
                        "more at buffer {})", data->size(), b);
  *budget -= data->size();
  return std::vector<uint8_t>(data->begin(), data->end());
}

// Model-level extras a writer needs to reproduce the file: metadata (the quantlens layer map
// becomes Graph::layer_outputs), the deprecated metadata_buffer list and the signature defs.
Status ReadModelExtras(const tfl::Model& model, size_t file_bytes, ir::Graph& g) {
  uint64_t budget = 2 * static_cast<uint64_t>(file_bytes);
  if (const auto* md = model.metadata()) {
    if (md->size() > kMaxMetadataEntries)
      return InvalidModel("{} metadata entries, more than the {} allowed", md->size(),
                          kMaxMetadataEntries);
    bool have_layer_map = false;
    for (uint32_t i = 0; i < md->size(); ++i) {
      const tfl::Metadata* m = md->Get(i);
      if (m == nullptr) return InvalidModel("metadata entry {} is null", i);
      ir::MetadataEntry entry;
      auto mname = ReadString(m->name(), limits::kMaxNameBytes, "the name");
      if (!mname.ok()) return mname.status().WithContext(fmt::format("metadata entry {}: ", i));
      entry.name = std::move(mname).value();
      const std::string where = fmt::format("metadata entry {} '{}': ", i, entry.name);
      auto data = MetadataBytes(model, m->buffer(), &budget);
      if (!data.ok()) return data.status().WithContext(where);
      entry.data = std::move(data).value();
      if (entry.name == kLayerMapMetadataName) {
        if (have_layer_map) return InvalidModel("{}a second layer map", where);
        have_layer_map = true;
        auto map = DecodeLayerMap(entry.data, static_cast<int>(g.tensors.size()));
        if (!map.ok()) return map.status().WithContext(where);
        g.layer_outputs = std::move(map).value();
        continue;  // regenerated from layer_outputs when written
      }
      g.metadata.push_back(std::move(entry));
    }
  }
  if (const auto* mb = model.metadata_buffer()) {
    if (mb->size() > kMaxMetadataEntries)
      return InvalidModel("{} metadata_buffer entries, more than the {} allowed", mb->size(),
                          kMaxMetadataEntries);
    for (uint32_t i = 0; i < mb->size(); ++i) {
      const int32_t b = mb->Get(i);
      if (b < 0) return InvalidModel("metadata_buffer entry {}: buffer index {} is negative", i, b);
      auto data = MetadataBytes(model, static_cast<uint32_t>(b), &budget);
      if (!data.ok()) return data.status().WithContext(fmt::format("metadata_buffer entry {}: ", i));
      g.metadata_buffers.push_back(std::move(data).value());
    }
  }
  if (const auto* sigs = model.signature_defs()) {
    if (sigs->size() > kMaxSignatureDefs)
      return InvalidModel("{} signature defs, more than the {} allowed", sigs->size(),
                          kMaxSignatureDefs);
    const uint32_t num_subgraphs = model.subgraphs()->size();
    const int nt = static_cast<int>(g.tensors.size());
    for (uint32_t i = 0; i < sigs->size(); ++i) {
      const tfl::SignatureDef* s = sigs->Get(i);
      if (s == nullptr) return InvalidModel("signature def {} is null", i);
      ir::SignatureDef sig;
      auto key = ReadString(s->signature_key(), limits::kMaxNameBytes, "the key");
      if (!key.ok()) return key.status().WithContext(fmt::format("signature def {}: ", i));
      sig.key = std::move(key).value();
      const std::string where = fmt::format("signature def {} '{}': ", i, sig.key);
      if (s->subgraph_index() >= num_subgraphs)
        return InvalidModel("{}subgraph index {} out of range (0..{})", where, s->subgraph_index(),
                            num_subgraphs - 1);
      // quantlens holds subgraph 0 only; signatures of other subgraphs name tensors it lacks.
      if (s->subgraph_index() != 0) continue;
      sig.subgraph_index = 0;
      for (auto [maps, list] : {std::pair{s->inputs(), &sig.inputs}, std::pair{s->outputs(), &sig.outputs}}) {
        if (maps == nullptr) continue;
        if (maps->size() > static_cast<uint64_t>(limits::kMaxTensors))
          return InvalidModel("{}{} tensor maps, more than the {} allowed", where, maps->size(),
                              limits::kMaxTensors);
        for (uint32_t k = 0; k < maps->size(); ++k) {
          const tfl::TensorMap* tm = maps->Get(k);
          if (tm == nullptr) return InvalidModel("{}tensor map {} is null", where, k);
          auto tname = ReadString(tm->name(), limits::kMaxNameBytes, "a tensor name");
          if (!tname.ok()) return tname.status().WithContext(where);
          if (tm->tensor_index() >= static_cast<uint32_t>(nt))
            return InvalidModel("{}'{}' names tensor {}, out of range (0..{})", where, *tname,
                                tm->tensor_index(), nt - 1);
          list->push_back({std::move(tname).value(), static_cast<int>(tm->tensor_index())});
        }
      }
      g.signature_defs.push_back(std::move(sig));
    }
  }
  return Status::Ok();
}

Result<ir::Graph> ParseVerified(const tfl::Model& model, const std::string& name, size_t file_bytes) {
  // TFLite itself refuses any other schema version; so does quantlens, rather than guess.
  if (model.version() != 3)
    return Unsupported("{}: schema version {} is not supported (TFLite reads version 3)", name,
                       model.version());
  const auto* subgraphs = model.subgraphs();
  if (subgraphs == nullptr || subgraphs->size() == 0)
    return InvalidModel("{}: the model has no subgraphs", name);
  const tfl::SubGraph* sg = subgraphs->Get(0);
  if (sg == nullptr) return InvalidModel("{}: subgraph 0 is null", name);

  ir::Graph g;
  g.format = ir::SourceFormat::kTflite;
  g.source_path = name;
  auto description = ReadString(model.description(), limits::kMaxTextBytes, "the description");
  if (!description.ok()) return description.status().WithContext(name + ": ");
  g.description = std::move(description).value();

  const std::string prefix = name + ": ";
  const uint32_t num_tensors = sg->tensors() ? sg->tensors()->size() : 0;
  const uint32_t num_ops = sg->operators() ? sg->operators()->size() : 0;
  if (num_tensors > static_cast<uint64_t>(limits::kMaxTensors) ||
      num_ops > static_cast<uint64_t>(limits::kMaxOps))
    return InvalidModel("{}subgraph 0 has {} tensors and {} operators; quantlens accepts at most {} "
                        "and {}", prefix, num_tensors, num_ops, limits::kMaxTensors, limits::kMaxOps);
  if (const auto* tensors = sg->tensors()) {
    g.tensors.resize(tensors->size());
    for (uint32_t i = 0; i < tensors->size(); ++i) {
      const tfl::Tensor* t = tensors->Get(i);
      if (t == nullptr) return InvalidModel("{}tensor {} is null", prefix, i);
      QL_RETURN_IF_ERROR(ReadTensor(*t, static_cast<int>(i), model, g.tensors[i]).WithContext(prefix));
    }
  }
  const int nt = static_cast<int>(g.tensors.size());
  if (const auto* ops = sg->operators()) {
    g.ops.reserve(ops->size());
    for (uint32_t i = 0; i < ops->size(); ++i) {
      const tfl::Operator* op = ops->Get(i);
      if (op == nullptr) return InvalidModel("{}op {} is null", prefix, i);
      QL_RETURN_IF_ERROR(ReadOperator(*op, static_cast<int>(i), model, g).WithContext(prefix));
    }
  }
  auto inputs = ReadIndexList(sg->inputs(), nt, /*allow_omitted=*/false, "subgraph input");
  if (!inputs.ok()) return inputs.status().WithContext(prefix);
  auto outputs = ReadIndexList(sg->outputs(), nt, /*allow_omitted=*/false, "subgraph output");
  if (!outputs.ok()) return outputs.status().WithContext(prefix);
  g.inputs = std::move(*inputs);
  g.outputs = std::move(*outputs);
  auto sg_name = ReadString(sg->name(), limits::kMaxNameBytes, "the subgraph name");
  if (!sg_name.ok()) return sg_name.status().WithContext(prefix);
  g.subgraph_name = std::move(sg_name).value();
  QL_RETURN_IF_ERROR(ReadModelExtras(model, file_bytes, g).WithContext(prefix));

  QL_RETURN_IF_ERROR(ir::VerifyGraph(g).WithContext(prefix));
  return g;
}

// Takes the bytes by value: the verifier checks alignment against the buffer start, and a vector's
// storage is aligned by operator new whatever the caller's span was.
Result<ir::Graph> ParseOwned(std::vector<uint8_t> copy, const std::string& source_name) {
  std::span<const uint8_t> bytes(copy);
  if (bytes.size() < 8)
    return InvalidModel("{}: {} bytes is too short for a TFLite flatbuffer (at least 8 needed)",
                        source_name, bytes.size());
  if (bytes.size() > kMaxFileBytes)
    return Unsupported("{}: {} bytes exceeds the 2 GiB flatbuffer limit", source_name, bytes.size());

  const bool has_identifier = std::memcmp(copy.data() + 4, tfl::ModelIdentifier(), 4) == 0;

  flatbuffers::Verifier verifier(copy.data(), copy.size(), kMaxDepth, kMaxTables);
  // Without the identifier the file is accepted only if it verifies as a whole Model table; files
  // with it must verify too. Either way nothing is read before verification.
  const bool verified =
      verifier.VerifyBuffer<tfl::Model>(has_identifier ? tfl::ModelIdentifier() : nullptr);
  if (!verified) {
    if (has_identifier)
      return InvalidModel("{}: has the TFLite identifier \"TFL3\" but fails flatbuffer "
                          "verification: the file is truncated or corrupt", source_name);
    return InvalidModel("{}: not a TFLite model: no \"TFL3\" identifier at byte 4 and not a valid "
                        "TFLite flatbuffer{}", source_name, GuessOtherFormat(bytes));
  }
  const tfl::Model* model = tfl::GetModel(copy.data());
  if (model == nullptr) return InvalidModel("{}: flatbuffer has no root table", source_name);
  return ParseVerified(*model, source_name, copy.size());
}

}  // namespace

Result<ir::Graph> ReadTfliteBuffer(std::span<const uint8_t> bytes, const std::string& source_name) {
  if (bytes.size() > kMaxFileBytes)  // before copying gigabytes for nothing
    return Unsupported("{}: {} bytes exceeds the 2 GiB flatbuffer limit", source_name, bytes.size());
  return ParseOwned(std::vector<uint8_t>(bytes.begin(), bytes.end()), source_name);
}

Result<ir::Graph> ReadTfliteFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    return NotFound("{}: no such file", path);
  if (std::filesystem::is_directory(status))
    return IoError("{}: is a directory, not a .tflite file", path);

  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("{}: cannot open for reading", path);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return IoError("{}: cannot determine the file size", path);
  if (static_cast<uint64_t>(size) > kMaxFileBytes)
    return Unsupported("{}: {} bytes exceeds the 2 GiB flatbuffer limit", path, size);
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    return IoError("{}: read failed after {} of {} bytes", path, in.gcount(), size);
  return ParseOwned(std::move(bytes), path);
}

}  // namespace ql::tflite
