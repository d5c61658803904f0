// The TFLite writer: checks the whole graph first (ir::VerifyGraph, TFLite's rules, the reader's
// limits), then builds the flatbuffer in one pass. Every check runs before the builder is touched,
// and sizes are bounded up front, because flatbuffers asserts (rather than failing) past 2 GiB.
#include "quantlens/formats/tflite/writer.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "quantlens/formats/tflite/op_version.h"
#include "quantlens/formats/tflite/writer_internal.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/util/limits.h"
#include "tflite_schema_generated.h"

namespace ql::tflite {
namespace {

namespace tfl = ::tflite;

constexpr uint32_t kSchemaVersion = 3;
// Largest flatbuffer the builder can make (32-bit signed offsets).
constexpr uint64_t kMaxFlatbufferBytes = (uint64_t{1} << 31) - 1;
// TFLite's converter pads buffer data to 16 bytes so kernels may read constants with SIMD loads.
constexpr size_t kBufferAlignment = 16;
// TFLite reserves codes above 127 in the int8 deprecated_builtin_code field with this value.
constexpr int kPlaceholderForGreaterOpCodes = 127;

// Constant data and metadata bytes, each distinct content stored once. Buffer 0 is the empty
// sentinel TFLite expects; empty content always maps to it.
class BufferPool {
 public:
  BufferPool() { contents_.push_back(nullptr); }

  uint32_t Intern(const std::vector<uint8_t>& bytes) {
    if (bytes.empty()) return 0;
    const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    auto [first, last] = by_hash_.equal_range(std::hash<std::string_view>{}(view));
    for (auto it = first; it != last; ++it)
      if (*contents_[it->second] == bytes) return it->second;
    const auto index = static_cast<uint32_t>(contents_.size());
    contents_.push_back(&bytes);
    by_hash_.emplace(std::hash<std::string_view>{}(view), index);
    total_bytes_ += bytes.size();
    return index;
  }
  size_t size() const { return contents_.size(); }
  const std::vector<uint8_t>* contents(size_t i) const { return contents_[i]; }
  uint64_t total_bytes() const { return total_bytes_; }

 private:
  std::vector<const std::vector<uint8_t>*> contents_;  // index -> bytes (owned by the graph)
  std::unordered_multimap<size_t, uint32_t> by_hash_;
  uint64_t total_bytes_ = 0;
};

Status CheckName(const std::string& s, size_t max, const std::string& what) {
  if (s.size() > max)
    return InvalidArgument("{} is {} bytes long, more than the {} a TFLite reader accepts", what,
                           s.size(), max);
  return Status::Ok();
}

Status CheckTensor(const ir::Tensor& t, int index) {
  const std::string where = fmt::format("tensor {} '{}': ", index, t.name);
  QL_RETURN_IF_ERROR(CheckName(t.name, limits::kMaxNameBytes, "the name").WithContext(where));
  QL_RETURN_IF_ERROR(TfliteTypeFrom(t.dtype).status().WithContext(where));
  if (t.shape.size() > static_cast<size_t>(limits::kMaxRank))
    return InvalidArgument("{}rank {} is more than the {} quantlens accepts", where, t.shape.size(),
                           limits::kMaxRank);
  if (!t.shape_declared && !t.shape.empty())
    return InvalidArgument("{}shape {} is marked undeclared; an undeclared shape must be empty",
                           where, ir::ShapeToString(t.shape));
  ir::Shape known = t.shape;
  for (int64_t& d : known) {
    if (d < -1 || d > std::numeric_limits<int32_t>::max())
      return InvalidArgument("{}dimension {} of shape {} does not fit TFLite's int32 dimensions "
                             "(-1 marks an open one)", where, d, ir::ShapeToString(t.shape));
    d = std::max<int64_t>(d, 1);
  }
  if (auto n = ir::CheckedNumElements(known, limits::kMaxElements); !n.ok())
    return n.status().WithContext(where);
  if (t.quant.scale.size() > static_cast<size_t>(limits::kMaxQuantParams) ||
      t.quant.zero_point.size() > static_cast<size_t>(limits::kMaxQuantParams))
    return InvalidArgument("{}{} scales, more than the {} allowed", where, t.quant.scale.size(),
                           limits::kMaxQuantParams);
  if (t.quant.scale.empty() && !t.quant.zero_point.empty())
    return InvalidArgument("{}{} zero points without a scale; TFLite keeps quantization only "
                           "with scales", where, t.quant.zero_point.size());
  if (t.is_variable && t.is_constant)
    return InvalidArgument("{}is a variable with constant data; TFLite starts variables from "
                           "zero and refuses a variable tensor with a buffer", where);
  if (t.is_constant && t.data.size() > kMaxFlatbufferBytes)
    return Unsupported("{}{} bytes of data; a flatbuffer holds at most 2 GiB", where, t.data.size());
  return Status::Ok();
}

// The version written for each op: its own when positive (unless told to recompute), else the
// converter's: every op of one builtin (or custom code) shares the highest ComputeOpVersion
// among them, so a model's FULLY_CONNECTED ops have one operator code.
Result<std::vector<int>> WrittenVersions(const ir::Graph& g, const WriteOptions& options) {
  const bool any_missing = std::any_of(g.ops.begin(), g.ops.end(),
                                       [](const ir::Op& op) { return op.version <= 0; });
  std::vector<int> computed;
  if (options.recompute_op_versions || any_missing) computed = ComputeOperatorCodeVersions(g);
  std::vector<int> versions(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const ir::Op& op = g.ops[i];
    versions[i] = (op.version > 0 && !options.recompute_op_versions) ? op.version : computed.at(i);
    if (versions[i] < 1)
      return Internal("{}: computed operator version {}", g.OpLabel(static_cast<int>(i)), versions[i]);
  }
  return versions;
}

Status CheckOp(const ir::Graph& g, int i) {
  const ir::Op& op = g.ops[i];
  const std::string where = g.OpLabel(i) + ": ";
  const int code = ir::OpTypeTfliteCode(op.type);
  if (code < 0)
    return Unsupported("{}{} is a quantlens-internal op with no TFLite builtin; TFLite cannot run "
                       "it (passes::LegalizeForTflite, run by `quantlens convert`, folds or lowers "
                       "it into TFLite ops)", where, ir::OpTypeName(op.type));
  if (op.type == ir::OpType::kCUSTOM) {
    if (op.custom_code.empty())
      return InvalidArgument("{}a CUSTOM op needs a custom code naming its kernel", where);
    QL_RETURN_IF_ERROR(CheckName(op.custom_code, limits::kMaxNameBytes, "custom code").WithContext(where));
  } else if (!op.custom_code.empty()) {
    return InvalidArgument("{}builtin {} carries custom code '{}', which TFLite would ignore", where,
                           ir::OpTypeName(op.type), op.custom_code);
  }
  if (std::max(op.inputs.size(), op.outputs.size()) > static_cast<size_t>(limits::kMaxOpOperands))
    return InvalidArgument("{}{} inputs and {} outputs, more than the {} allowed", where,
                           op.inputs.size(), op.outputs.size(), limits::kMaxOpOperands);
  return CheckBuiltinOptions(g, op).WithContext(where);
}

Status CheckSignatures(const ir::Graph& g) {
  const int nt = static_cast<int>(g.tensors.size());
  if (g.signature_defs.size() > kMaxSignatureDefs)
    return InvalidArgument("{} signature defs, more than the {} allowed", g.signature_defs.size(),
                           kMaxSignatureDefs);
  for (size_t s = 0; s < g.signature_defs.size(); ++s) {
    const ir::SignatureDef& sig = g.signature_defs[s];
    const std::string where = fmt::format("signature def {} '{}': ", s, sig.key);
    QL_RETURN_IF_ERROR(CheckName(sig.key, limits::kMaxNameBytes, "the key").WithContext(where));
    if (sig.subgraph_index != 0)
      return Unsupported("{}refers to subgraph {}; quantlens writes one subgraph (0)", where,
                         sig.subgraph_index);
    for (const auto* list : {&sig.inputs, &sig.outputs}) {
      if (list->size() > static_cast<size_t>(limits::kMaxTensors))
        return InvalidArgument("{}{} entries, more than the {} allowed", where, list->size(),
                               limits::kMaxTensors);
      for (const ir::SignatureTensor& st : *list) {
        QL_RETURN_IF_ERROR(CheckName(st.name, limits::kMaxNameBytes, "a tensor name").WithContext(where));
        if (st.tensor < 0 || st.tensor >= nt)
          return InvalidArgument("{}'{}' names tensor {}, outside 0..{}", where, st.name, st.tensor,
                                 nt - 1);
      }
    }
  }
  return Status::Ok();
}

// The model's minimum runtime as TFLite's converter computes it, over the versions written: the
// highest known minimum of its ops; pairs TFLite does not know (CUSTOM) are skipped.
std::string MinRuntimeOfGraph(const ir::Graph& g, const std::vector<int>& versions) {
  std::string best;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const std::string v = MinRuntimeVersion(g.ops[i].type, versions[i]);
    if (!v.empty() && (best.empty() || CompareRuntimeVersions(best, v) < 0)) best = v;
  }
  return best;
}

// An upper bound of the flatbuffer's size (data with alignment padding, every table and vector
// with generous headers), so the builder is never asked to pass 2 GiB.
uint64_t SizeBound(const ir::Graph& g, const BufferPool& pool,
                   const std::vector<ir::MetadataEntry>& metadata) {
  uint64_t n = 4096 + g.description.size() + g.subgraph_name.size();
  n += pool.total_bytes() + pool.size() * (kBufferAlignment + 64);
  for (const ir::Tensor& t : g.tensors)
    n += 256 + t.name.size() + 16 * t.shape.size() + 12 * t.quant.scale.size() +
         8 * t.quant.zero_point.size();
  for (const ir::Op& op : g.ops) {
    n += 256 + 4 * (op.inputs.size() + op.outputs.size()) + op.custom_code.size();
    if (const auto* c = std::get_if<ir::CustomAttrs>(&op.attrs)) n += c->options.size() + 16;
    if (const auto* r = std::get_if<ir::ReshapeAttrs>(&op.attrs)) n += 4 * r->new_shape.size();
    if (const auto* a = std::get_if<ir::ActivationAttrs>(&op.attrs)) n += 4 * a->squeeze_dims.size();
  }
  for (const ir::MetadataEntry& m : metadata) n += 64 + m.name.size();
  n += 16 * g.metadata_buffers.size();
  for (const ir::SignatureDef& s : g.signature_defs) {
    n += 128 + s.key.size();
    for (const auto* list : {&s.inputs, &s.outputs})
      for (const ir::SignatureTensor& st : *list) n += 64 + st.name.size();
  }
  return n;
}

flatbuffers::Offset<tfl::QuantizationParameters> BuildQuantization(
    flatbuffers::FlatBufferBuilder& fbb, const ir::Quantization& q) {
  if (q.empty()) return 0;
  const auto scale = fbb.CreateVector(q.scale);
  const auto zero_point = q.zero_point.empty() ? 0 : fbb.CreateVector(q.zero_point);
  return tfl::CreateQuantizationParameters(fbb, 0, 0, scale, zero_point,
                                           tfl::QuantizationDetails::NONE, 0, q.axis);
}

flatbuffers::Offset<tfl::Tensor> BuildTensor(flatbuffers::FlatBufferBuilder& fbb,
                                             const ir::Tensor& t, uint32_t buffer) {
  // The converter's convention for open (Keras batch) dimensions: 1 in `shape`, -1 in
  // `shape_signature`, which it writes only when some dimension is open.
  std::vector<int32_t> shape, signature;
  bool open = false;
  for (int64_t d : t.shape) {
    shape.push_back(d < 0 ? 1 : static_cast<int32_t>(d));
    signature.push_back(static_cast<int32_t>(d));
    open = open || d < 0;
  }
  const auto shape_vec = t.shape_declared ? fbb.CreateVector(shape) : 0;
  const auto signature_vec = open ? fbb.CreateVector(signature) : 0;
  const auto name = t.name.empty() ? 0 : fbb.CreateString(t.name);
  const auto quant = BuildQuantization(fbb, t.quant);
  // TfliteTypeFrom cannot fail here: CheckTensor ran on every tensor.
  const tfl::TensorType type = TfliteTypeFrom(t.dtype).value();
  return tfl::CreateTensor(fbb, shape_vec, type, buffer, name, quant, t.is_variable, 0,
                           signature_vec, /*has_rank=*/t.shape_declared);
}

struct OpcodeKey {
  int code;
  std::string custom_code;
  int version;
  bool operator==(const OpcodeKey&) const = default;
};

Result<std::vector<uint8_t>> Write(const ir::Graph& g, const WriteOptions& options) {
  QL_RETURN_IF_ERROR(ir::VerifyGraph(g));
  if (static_cast<int64_t>(g.tensors.size()) > limits::kMaxTensors ||
      static_cast<int64_t>(g.ops.size()) > limits::kMaxOps)
    return InvalidArgument("{} tensors and {} ops; a TFLite reader accepts at most {} and {}",
                           g.tensors.size(), g.ops.size(), limits::kMaxTensors, limits::kMaxOps);
  QL_RETURN_IF_ERROR(CheckName(g.description, limits::kMaxTextBytes, "the description"));
  QL_RETURN_IF_ERROR(CheckName(g.subgraph_name, limits::kMaxNameBytes, "the subgraph name"));
  for (size_t t = 0; t < g.tensors.size(); ++t)
    QL_RETURN_IF_ERROR(CheckTensor(g.tensors[t], static_cast<int>(t)));
  for (size_t i = 0; i < g.ops.size(); ++i) QL_RETURN_IF_ERROR(CheckOp(g, static_cast<int>(i)));
  QL_ASSIGN_OR_RETURN(const std::vector<int> versions, WrittenVersions(g, options));
  QL_RETURN_IF_ERROR(CheckSignatures(g));

  // Metadata as written: the graph's entries, plus the layer map and (on request) the minimum
  // runtime version, both generated here and so refused as inputs.
  std::vector<ir::MetadataEntry> metadata;
  const bool add_min_runtime =
      options.add_min_runtime_version &&
      std::none_of(g.metadata.begin(), g.metadata.end(), [](const ir::MetadataEntry& m) {
        return m.name == kMinRuntimeVersionMetadataName;
      });
  if (add_min_runtime) {
    const std::string v = MinRuntimeOfGraph(g, versions);
    if (!v.empty()) metadata.push_back({kMinRuntimeVersionMetadataName, MinRuntimeVersionBuffer(v)});
  }
  for (const ir::MetadataEntry& m : g.metadata) {
    QL_RETURN_IF_ERROR(CheckName(m.name, limits::kMaxNameBytes, "a metadata name"));
    if (m.name == kLayerMapMetadataName)
      return InvalidArgument("metadata entry '{}' is reserved: the writer makes it from the "
                             "graph's layer outputs", m.name);
    metadata.push_back(m);
  }
  if (!g.layer_outputs.empty()) {
    QL_ASSIGN_OR_RETURN(auto map, EncodeLayerMap(g.layer_outputs, static_cast<int>(g.tensors.size())));
    metadata.push_back({kLayerMapMetadataName, std::move(map)});
  }
  if (metadata.size() > kMaxMetadataEntries ||
      g.metadata_buffers.size() > kMaxMetadataEntries)
    return InvalidArgument("{} metadata entries and {} metadata buffers, more than the {} allowed",
                           metadata.size(), g.metadata_buffers.size(), kMaxMetadataEntries);

  // Buffer numbering: constants in tensor order, then metadata, then the deprecated list.
  BufferPool pool;
  std::vector<uint32_t> tensor_buffer(g.tensors.size(), 0);
  for (size_t t = 0; t < g.tensors.size(); ++t)
    if (g.tensors[t].is_constant) tensor_buffer[t] = pool.Intern(g.tensors[t].data);
  std::vector<uint32_t> metadata_buffer_index;
  for (const ir::MetadataEntry& m : metadata) metadata_buffer_index.push_back(pool.Intern(m.data));
  std::vector<int32_t> deprecated_buffers;
  for (const auto& bytes : g.metadata_buffers)
    deprecated_buffers.push_back(static_cast<int32_t>(pool.Intern(bytes)));
  for (const ir::MetadataEntry& m : metadata)
    if (m.data.size() > kMaxFlatbufferBytes)
      return Unsupported("metadata '{}' is {} bytes; a flatbuffer holds at most 2 GiB", m.name,
                         m.data.size());
  if (const uint64_t bound = SizeBound(g, pool, metadata); bound > kMaxFlatbufferBytes)
    return Unsupported("the model needs up to {} bytes, past the 2 GiB a TFLite flatbuffer can "
                       "hold (TFLite stores larger weights outside the flatbuffer, which "
                       "quantlens does not write)", bound);

  // Building. Buffers first: the builder writes back to front, so the data ends up at the end of
  // the file, each vector aligned to 16 bytes from the start of the file.
  flatbuffers::FlatBufferBuilder fbb(std::min<uint64_t>(SizeBound(g, pool, metadata), 1 << 20));
  std::vector<flatbuffers::Offset<tfl::Buffer>> buffers;
  buffers.push_back(tfl::CreateBuffer(fbb));
  for (size_t b = 1; b < pool.size(); ++b) {
    const std::vector<uint8_t>& bytes = *pool.contents(b);
    fbb.ForceVectorAlignment(bytes.size(), sizeof(uint8_t), kBufferAlignment);
    buffers.push_back(tfl::CreateBuffer(fbb, fbb.CreateVector(bytes)));
  }
  const auto buffers_vec = fbb.CreateVector(buffers);

  std::vector<flatbuffers::Offset<tfl::Tensor>> tensors;
  tensors.reserve(g.tensors.size());
  for (size_t t = 0; t < g.tensors.size(); ++t)
    tensors.push_back(BuildTensor(fbb, g.tensors[t], tensor_buffer[t]));
  const auto tensors_vec = fbb.CreateVector(tensors);

  // Operator codes: one per (builtin code, custom code, version), numbered by first use.
  std::vector<OpcodeKey> opcodes;
  std::vector<flatbuffers::Offset<tfl::Operator>> operators;
  operators.reserve(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const ir::Op& op = g.ops[i];
    OpcodeKey key{ir::OpTypeTfliteCode(op.type), op.custom_code, versions[i]};
    auto it = std::find(opcodes.begin(), opcodes.end(), key);
    const auto opcode_index = static_cast<uint32_t>(it - opcodes.begin());
    if (it == opcodes.end()) opcodes.push_back(std::move(key));

    const auto inputs = fbb.CreateVector(op.inputs);
    const auto outputs = fbb.CreateVector(op.outputs);
    const BuiltinOptionsOut options_out = BuildBuiltinOptions(fbb, g, op);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> custom = 0;
    if (const auto* c = std::get_if<ir::CustomAttrs>(&op.attrs); c && !c->options.empty())
      custom = fbb.CreateVector(c->options);
    operators.push_back(tfl::CreateOperator(fbb, opcode_index, inputs, outputs, options_out.type,
                                            options_out.table, custom,
                                            tfl::CustomOptionsFormat::FLEXBUFFERS));
  }
  const auto operators_vec = fbb.CreateVector(operators);
  const auto sg_inputs = fbb.CreateVector(g.inputs);
  const auto sg_outputs = fbb.CreateVector(g.outputs);
  const auto sg_name = g.subgraph_name.empty() ? 0 : fbb.CreateString(g.subgraph_name);
  const auto subgraph =
      tfl::CreateSubGraph(fbb, tensors_vec, sg_inputs, sg_outputs, operators_vec, sg_name);
  const auto subgraphs_vec = fbb.CreateVector(&subgraph, 1);

  std::vector<flatbuffers::Offset<tfl::OperatorCode>> codes;
  for (const OpcodeKey& k : opcodes) {
    const auto custom = k.custom_code.empty() ? 0 : fbb.CreateString(k.custom_code);
    codes.push_back(tfl::CreateOperatorCode(
        fbb, static_cast<int8_t>(std::min(k.code, kPlaceholderForGreaterOpCodes)), custom,
        k.version, static_cast<tfl::BuiltinOperator>(k.code)));
  }
  const auto codes_vec = fbb.CreateVector(codes);

  std::vector<flatbuffers::Offset<tfl::Metadata>> metadata_tables;
  for (size_t m = 0; m < metadata.size(); ++m)
    metadata_tables.push_back(
        tfl::CreateMetadata(fbb, fbb.CreateString(metadata[m].name), metadata_buffer_index[m]));
  const auto metadata_vec = metadata.empty() ? 0 : fbb.CreateVector(metadata_tables);
  const auto deprecated_vec = deprecated_buffers.empty() ? 0 : fbb.CreateVector(deprecated_buffers);

  std::vector<flatbuffers::Offset<tfl::SignatureDef>> signatures;
  for (const ir::SignatureDef& s : g.signature_defs) {
    auto maps = [&](const std::vector<ir::SignatureTensor>& list) {
      std::vector<flatbuffers::Offset<tfl::TensorMap>> v;
      for (const ir::SignatureTensor& st : list)
        v.push_back(tfl::CreateTensorMap(fbb, fbb.CreateString(st.name),
                                         static_cast<uint32_t>(st.tensor)));
      return fbb.CreateVector(v);
    };
    const auto in = maps(s.inputs);
    const auto out = maps(s.outputs);
    signatures.push_back(tfl::CreateSignatureDef(fbb, in, out, fbb.CreateString(s.key),
                                                 static_cast<uint32_t>(s.subgraph_index)));
  }
  const auto signatures_vec = signatures.empty() ? 0 : fbb.CreateVector(signatures);
  const auto description = g.description.empty() ? 0 : fbb.CreateString(g.description);

  const auto model = tfl::CreateModel(fbb, kSchemaVersion, codes_vec, subgraphs_vec, description,
                                      buffers_vec, deprecated_vec, metadata_vec, signatures_vec);
  tfl::FinishModelBuffer(fbb, model);
  std::vector<uint8_t> bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());

  // What the reader will check first; a failure here is a writer bug, not bad input.
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!verifier.VerifyBuffer<tfl::Model>(tfl::ModelIdentifier()))
    return Internal("the written flatbuffer fails verification ({} bytes)", bytes.size());
  return bytes;
}

}  // namespace

Result<std::vector<uint8_t>> WriteTfliteBuffer(const ir::Graph& g, const WriteOptions& options) {
  auto bytes = Write(g, options);
  if (!bytes.ok()) {
    const std::string source = g.source_path.empty() ? "graph" : g.source_path;
    return bytes.status().WithContext(source + ": cannot write as TFLite: ");
  }
  return bytes;
}

Status WriteTfliteFile(const ir::Graph& g, const std::string& path, const WriteOptions& options) {
  QL_ASSIGN_OR_RETURN(auto bytes, WriteTfliteBuffer(g, options));
  return io::WriteFileAtomic(path, bytes);
}

}  // namespace ql::tflite
