// Entry point of the Keras readers: picks the container (HDF5 or zip), reads the model config,
// the Keras version and the weights, and lowers the model.
#include "quantlens/formats/keras/reader.h"

#include <cstring>
#include <fstream>

#include "quantlens/formats/keras/h5_file.h"
#include "quantlens/formats/keras/json_util.h"
#include "quantlens/formats/keras/keras_archive.h"
#include "quantlens/formats/keras/keras_lowering.h"
#include "quantlens/formats/keras/model_config.h"
#include "quantlens/formats/keras/weight_store.h"

namespace ql::keras {
namespace {

std::string FirstOr(const Result<std::vector<std::string>>& r, std::string fallback) {
  if (r.ok() && !r->empty()) return (*r)[0];
  return fallback;
}

Result<KerasModelInfo> ReadH5(const H5File& file, const std::string& path) {
  const hid_t root = file.root();
  if (!H5HasAttr(root, "model_config")) {
    if (H5HasAttr(root, "layer_names"))
      return InvalidModel("{}: a weights-only file (no model_config attribute); quantlens needs the "
                          "whole model (model.save), not save_weights", path);
    return InvalidModel("{}: no model_config attribute (not a Keras model file)", path);
  }
  QL_ASSIGN_OR_RETURN(auto cfg_text, H5ReadStringAttr(root, "model_config", path));
  if (cfg_text.size() != 1) return InvalidModel("{}: model_config attribute holds {} strings, expected 1", path, cfg_text.size());
  QL_ASSIGN_OR_RETURN(nlohmann::json cfg, ParseJsonLimited(cfg_text[0], path + ": model_config"));
  QL_ASSIGN_OR_RETURN(ModelSpec model, ParseModelConfig(cfg, path));
  std::string version = FirstOr(H5ReadStringAttr(root, "keras_version", path), "");
  std::string weights_root = "model_weights";
  if (!H5PathExists(root, weights_root)) {
    // Files saved with include_optimizer and no separate group keep layer groups at the root.
    if (!H5HasAttr(root, "layer_names") && !H5HasAttr(root, "layer_names0"))
      return InvalidModel("{}: no model_weights group (weights missing)", path);
    weights_root = ".";
  } else if (version.empty()) {
    H5Id g(H5Gopen2(root, weights_root.c_str(), H5P_DEFAULT));
    if (g.valid()) version = FirstOr(H5ReadStringAttr(g.get(), "keras_version", path), "");
  }
  const KerasFlavor flavor = FlavorFromVersion(version, cfg);
  auto store = MakeLegacyH5Store(file, weights_root);
  KerasModelInfo info;
  info.container = "h5";
  info.keras_version = version;
  info.backend = FirstOr(H5ReadStringAttr(root, "backend", path), "");
  info.model_class = model.class_name;
  info.model_name = model.name;
  QL_ASSIGN_OR_RETURN(info.graph, LowerKerasModel(model, *store, flavor, path, ir::SourceFormat::kKerasH5,
                                                  &info.layers));
  return info;
}

Result<KerasModelInfo> ReadV3(const KerasArchive& ar, const std::string& path) {
  QL_ASSIGN_OR_RETURN(nlohmann::json cfg, ParseJsonLimited(ar.config_json, path + ":config.json"));
  std::string version;
  if (!ar.metadata_json.empty()) {
    QL_ASSIGN_OR_RETURN(nlohmann::json md, ParseJsonLimited(ar.metadata_json, path + ":metadata.json"));
    if (md.is_object() && md.contains("keras_version") && md["keras_version"].is_string())
      version = md["keras_version"].get<std::string>();
  }
  QL_ASSIGN_OR_RETURN(ModelSpec model, ParseModelConfig(cfg, path));
  if (ar.weights_h5.empty()) return InvalidModel("{}: .keras archive has no model.weights.h5 (weights missing)", path);
  QL_ASSIGN_OR_RETURN(H5File file, H5File::OpenImage(ar.weights_h5, path + ":model.weights.h5"));
  // A .keras archive is Keras 3's format even when metadata.json is absent.
  const KerasFlavor flavor = version.empty() ? KerasFlavor::kKeras3 : FlavorFromVersion(version, cfg);
  auto store = MakeKeras3Store(file);
  KerasModelInfo info;
  info.container = "keras";
  info.keras_version = version;
  info.model_class = model.class_name;
  info.model_name = model.name;
  QL_ASSIGN_OR_RETURN(info.graph, LowerKerasModel(model, *store, flavor, path, ir::SourceFormat::kKerasV3,
                                                  &info.layers));
  return info;
}

Result<KerasModelInfo> ReadH5(const std::string& path) {
  QL_ASSIGN_OR_RETURN(H5File file, H5File::OpenPath(path));
  return ReadH5(file, path);
}

Result<KerasModelInfo> ReadV3(const std::string& path) {
  QL_ASSIGN_OR_RETURN(KerasArchive ar, ReadKerasArchive(path));
  return ReadV3(ar, path);
}

}  // namespace

Result<KerasModelInfo> ReadKerasModelInfoFromBuffer(std::span<const uint8_t> bytes,
                                                    const std::string& name) {
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) {
    QL_ASSIGN_OR_RETURN(KerasArchive ar, ReadKerasArchiveFromBuffer(bytes, name));
    return ReadV3(ar, name);
  }
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89HDF\r\n\x1a\n", 8) == 0) {
    QL_ASSIGN_OR_RETURN(H5File file, H5File::OpenImage(std::vector<uint8_t>(bytes.begin(), bytes.end()), name));
    return ReadH5(file, name);
  }
  return InvalidModel("{}: neither an HDF5 file nor a .keras archive", name);
}

Result<ir::Graph> ReadKerasModel(const std::string& path) {
  QL_ASSIGN_OR_RETURN(KerasModelInfo info, ReadKerasModelInfo(path));
  return std::move(info.graph);
}

Result<KerasModelInfo> ReadKerasModelInfo(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("{}: cannot open file", path);
  char head[8] = {};
  f.read(head, sizeof(head));
  const auto got = f.gcount();
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return ReadV3(path);
  if (got >= 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return ReadH5(path);
  auto ends_with = [&](const char* ext) {
    const size_t n = std::strlen(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  if (ends_with(".keras")) return ReadV3(path);
  if (ends_with(".h5") || ends_with(".hdf5")) return ReadH5(path);
  return InvalidModel("{}: neither an HDF5 file nor a .keras archive", path);
}

}  // namespace ql::keras
