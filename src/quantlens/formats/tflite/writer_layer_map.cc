// The Keras layer map stored as TFLite metadata: which tensor holds each Keras layer's output, so
// `compare` can align a converted model with its Keras source after the file left quantlens.
// JSON because it is read by people and other tools too; strict on reading because it comes from
// a file.
#include <nlohmann/json.hpp>

#include "quantlens/formats/keras/json_util.h"
#include "quantlens/formats/tflite/writer.h"
#include "quantlens/util/limits.h"

namespace ql::tflite {
namespace {

using nlohmann::json;

constexpr int kLayerMapVersion = 1;
// {"outputs":[{...}]} is three levels deep; anything deeper is not a layer map.
constexpr int kLayerMapMaxDepth = 4;

// The rules one entry must satisfy, shared by encoder and decoder so a written map always reads.
Status CheckEntry(const ir::LayerOutput& lo, size_t i, int num_tensors) {
  if (lo.layer.empty()) return InvalidModel("layer map entry {}: the layer name is empty", i);
  if (lo.layer.size() > limits::kMaxNameBytes)
    return InvalidModel("layer map entry {}: layer name of {} bytes, more than the {} allowed", i,
                        lo.layer.size(), limits::kMaxNameBytes);
  if (lo.node < 0 || lo.node > limits::kMaxOps)
    return InvalidModel("layer map entry {} (layer '{}'): node {} is outside 0..{}", i, lo.layer,
                        lo.node, limits::kMaxOps);
  if (lo.tensor < 0 || lo.tensor >= num_tensors)
    return InvalidModel("layer map entry {} (layer '{}'): tensor {} is outside 0..{}", i, lo.layer,
                        lo.tensor, num_tensors - 1);
  return Status::Ok();
}

// An integer field of an entry object, within [lo, hi].
Result<int64_t> IntField(const json& e, const char* key, size_t i, int64_t lo, int64_t hi) {
  auto it = e.find(key);
  if (it == e.end()) return InvalidModel("layer map entry {}: no \"{}\"", i, key);
  if (!it->is_number_integer())
    return InvalidModel("layer map entry {}: \"{}\" is {}, not an integer", i, key, it->type_name());
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi))
      return InvalidModel("layer map entry {}: \"{}\" {} is outside {}..{}", i, key, u, lo, hi);
    return static_cast<int64_t>(u);
  }
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi)
    return InvalidModel("layer map entry {}: \"{}\" {} is outside {}..{}", i, key, v, lo, hi);
  return v;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeLayerMap(const std::vector<ir::LayerOutput>& layer_outputs,
                                            int num_tensors) {
  json outputs = json::array();
  for (size_t i = 0; i < layer_outputs.size(); ++i) {
    const ir::LayerOutput& lo = layer_outputs[i];
    QL_RETURN_IF_ERROR(CheckEntry(lo, i, num_tensors));
    outputs.push_back(json{{"layer", lo.layer}, {"node", lo.node}, {"tensor", lo.tensor}});
  }
  const json doc{{"version", kLayerMapVersion}, {"outputs", std::move(outputs)}};
  std::string text;
  try {
    text = doc.dump();  // strict: a name that is not UTF-8 throws instead of being altered
  } catch (const json::exception& e) {
    return InvalidArgument("layer map: a layer name is not valid UTF-8 ({})", e.what());
  }
  if (text.size() > kMaxLayerMapBytes)
    return InvalidArgument("layer map is {} bytes, more than the {} a reader accepts", text.size(),
                           kMaxLayerMapBytes);
  return std::vector<uint8_t>(text.begin(), text.end());
}

Result<std::vector<ir::LayerOutput>> DecodeLayerMap(std::span<const uint8_t> bytes, int num_tensors) {
  if (bytes.size() > kMaxLayerMapBytes)
    return InvalidModel("layer map is {} bytes, more than the {} allowed", bytes.size(),
                        kMaxLayerMapBytes);
  const std::string text(bytes.begin(), bytes.end());
  QL_ASSIGN_OR_RETURN(json doc, keras::ParseJsonLimited(text, "layer map", kLayerMapMaxDepth));
  if (!doc.is_object()) return InvalidModel("layer map is JSON {}, not an object", doc.type_name());
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<int64_t>() != kLayerMapVersion)
    return InvalidModel("layer map \"version\" is missing or not {} (this quantlens reads "
                        "version {} only)", kLayerMapVersion, kLayerMapVersion);
  auto outputs = doc.find("outputs");
  if (outputs == doc.end() || !outputs->is_array())
    return InvalidModel("layer map has no \"outputs\" array");
  if (outputs->size() > static_cast<size_t>(limits::kMaxTensors))
    return InvalidModel("layer map has {} entries, more than the {} allowed", outputs->size(),
                        limits::kMaxTensors);
  std::vector<ir::LayerOutput> result;
  result.reserve(outputs->size());
  for (size_t i = 0; i < outputs->size(); ++i) {
    const json& e = (*outputs)[i];
    if (!e.is_object()) return InvalidModel("layer map entry {} is {}, not an object", i, e.type_name());
    auto layer = e.find("layer");
    if (layer == e.end() || !layer->is_string())
      return InvalidModel("layer map entry {}: \"layer\" is missing or not a string", i);
    ir::LayerOutput lo;
    lo.layer = layer->get<std::string>();
    QL_ASSIGN_OR_RETURN(int64_t node, IntField(e, "node", i, 0, limits::kMaxOps));
    QL_ASSIGN_OR_RETURN(int64_t tensor, IntField(e, "tensor", i, 0, int64_t{num_tensors} - 1));
    lo.node = static_cast<int>(node);
    lo.tensor = static_cast<int>(tensor);
    QL_RETURN_IF_ERROR(CheckEntry(lo, i, num_tensors));
    result.push_back(std::move(lo));
  }
  return result;
}

}  // namespace ql::tflite
