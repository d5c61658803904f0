#include "quantlens/formats/keras/keras_writer.h"

#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "quantlens/formats/keras/json_util.h"
#include "quantlens/formats/keras/keras_archive.h"
#include "quantlens/formats/keras/model_config.h"
#include "quantlens/formats/keras/weight_store.h"

namespace ql::keras {
namespace {

// Builds model.weights.h5 in memory (HDF5's core driver without a backing file) and returns its
// bytes, so no temporary HDF5 file is needed.
Result<std::vector<uint8_t>> BuildWeightsImage(const KerasV3Contents& c, const std::string& where) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0) < 0)
    return Internal("{}: cannot set up HDF5's in-memory driver", where);
  H5Id file(H5Fcreate("model.weights.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  if (!file.valid()) return IoError("{}: cannot create the in-memory weights file", where);
  H5Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  for (const auto& [layer_path, arrays] : c.vars) {
    const std::string vars = layer_path + "/vars";
    H5Id g(H5Gcreate2(file.get(), vars.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!g.valid()) return IoError("{}: cannot create group '{}'", where, vars);
    for (size_t i = 0; i < arrays.size(); ++i) {
      const FloatArray& a = arrays[i];
      int64_t n = 1;
      std::vector<hsize_t> dims;
      for (int64_t d : a.shape) {
        if (d < 0) return InvalidArgument("{}: '{}' variable {} has a negative dimension", where, vars, i);
        dims.push_back(static_cast<hsize_t>(d));
        n *= d;
      }
      if (n != static_cast<int64_t>(a.data.size()))
        return InvalidArgument("{}: '{}' variable {} has {} values for shape of {} elements", where,
                               vars, i, a.data.size(), n);
      H5Id space(dims.empty() ? H5Screate(H5S_SCALAR)
                              : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
      H5Id ds(H5Dcreate2(g.get(), std::to_string(i).c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT));
      if (!ds.valid() || (n > 0 && H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                            a.data.data()) < 0))
        return IoError("{}: cannot write '{}/{}'", where, vars, i);
    }
  }
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) return IoError("{}: cannot flush the weights file", where);
  const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
  if (size <= 0) return IoError("{}: cannot get the weights file image", where);
  std::vector<uint8_t> image(static_cast<size_t>(size));
  if (H5Fget_file_image(file.get(), image.data(), image.size()) != size)
    return IoError("{}: cannot copy the weights file image", where);
  return image;
}

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};

Status AddBuffer(zip_t* z, const char* name, const void* data, size_t size, const std::string& where) {
  zip_source_t* src = zip_source_buffer(z, data, size, 0);
  if (!src) return IoError("{}: cannot add {}: {}", where, name, zip_strerror(z));
  if (zip_file_add(z, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
    zip_source_free(src);
    return IoError("{}: cannot add {}: {}", where, name, zip_strerror(z));
  }
  return Status::Ok();
}

// Walks a parsed model computing each layer's Keras 3 weight path.
void CollectPaths(const ModelSpec& m, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out, std::vector<std::string>& names,
                  std::vector<const LayerSpec*>* layers = nullptr) {
  std::map<std::string, int> per_class;
  for (const LayerSpec& l : m.layers) {
    const std::string snake = KerasSnakeCase(l.class_name);
    const int k = per_class[snake]++;
    const std::string path = prefix + "layers/" + snake + (k > 0 ? "_" + std::to_string(k) : "");
    out.push_back({l.name, path});
    if (layers) layers->push_back(&l);
    if (l.model) CollectPaths(*l.model, path + "/", out, names, layers);
  }
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> KerasV3LayerPaths(const nlohmann::json& cfg) {
  QL_ASSIGN_OR_RETURN(ModelSpec m, ParseModelConfig(cfg, "model config"));
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> names;
  CollectPaths(m, "", out, names);
  return out;
}

Status WriteKerasV3(const std::string& path, const KerasV3Contents& c) {
  QL_ASSIGN_OR_RETURN(std::vector<uint8_t> weights, BuildWeightsImage(c, path));
  const std::string config = c.config.dump();
  const std::string metadata = nlohmann::json{{"keras_version", c.keras_version},
                                              {"date_saved", "1980-01-01@00:00:00"}}.dump();
  // A unique temporary name beside the destination: rename() is atomic on one filesystem.
  std::string tmp = path + ".tmpXXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return IoError("{}: cannot create a temporary file: {}", path, std::strerror(errno));
  close(fd);
  int err = 0;
  std::unique_ptr<zip_t, ZipDiscard> z(zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  if (!z) {
    std::remove(tmp.c_str());
    return IoError("{}: cannot create the archive (libzip error {})", path, err);
  }
  Status s = AddBuffer(z.get(), "metadata.json", metadata.data(), metadata.size(), path);
  if (s.ok()) s = AddBuffer(z.get(), "config.json", config.data(), config.size(), path);
  if (s.ok()) s = AddBuffer(z.get(), "model.weights.h5", weights.data(), weights.size(), path);
  if (!s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  zip_t* raw = z.release();
  if (zip_close(raw) != 0) {
    s = IoError("{}: cannot write the archive: {}", path, zip_strerror(raw));
    zip_discard(raw);
    std::remove(tmp.c_str());
    return s;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    s = IoError("{}: cannot rename the temporary archive into place: {}", path, std::strerror(errno));
    std::remove(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Status ConvertToKerasV3(const std::string& src, const std::string& dst) {
  std::ifstream f(src, std::ios::binary);
  if (!f) return NotFound("{}: cannot open file", src);
  char head[4] = {};
  f.read(head, 4);
  const bool is_zip = f.gcount() == 4 && std::memcmp(head, "PK\x03\x04", 4) == 0;
  KerasV3Contents out;
  std::unique_ptr<H5File> file;
  std::unique_ptr<WeightStore> store;
  if (is_zip) {
    QL_ASSIGN_OR_RETURN(KerasArchive ar, ReadKerasArchive(src));
    QL_ASSIGN_OR_RETURN(out.config, ParseJsonLimited(ar.config_json, src + ":config.json"));
    if (!ar.metadata_json.empty()) {
      QL_ASSIGN_OR_RETURN(auto md, ParseJsonLimited(ar.metadata_json, src + ":metadata.json"));
      if (md.is_object() && md.contains("keras_version") && md["keras_version"].is_string())
        out.keras_version = md["keras_version"].get<std::string>();
    }
    QL_ASSIGN_OR_RETURN(H5File h, H5File::OpenImage(ar.weights_h5, src + ":model.weights.h5"));
    file = std::make_unique<H5File>(std::move(h));
    store = MakeKeras3Store(*file);
  } else {
    QL_ASSIGN_OR_RETURN(H5File h, H5File::OpenPath(src));
    file = std::make_unique<H5File>(std::move(h));
    QL_ASSIGN_OR_RETURN(auto text, H5ReadStringAttr(file->root(), "model_config", src));
    if (text.size() != 1) return InvalidModel("{}: model_config holds {} strings", src, text.size());
    QL_ASSIGN_OR_RETURN(out.config, ParseJsonLimited(text[0], src + ": model_config"));
    auto v = H5ReadStringAttr(file->root(), "keras_version", src);
    // Keep the writer's version: it decides version-dependent semantics (hard_sigmoid).
    if (v.ok() && !v->empty()) out.keras_version = (*v)[0];
    store = MakeLegacyH5Store(*file, H5PathExists(file->root(), "model_weights") ? "model_weights" : ".");
  }
  QL_ASSIGN_OR_RETURN(ModelSpec m, ParseModelConfig(out.config, src));
  // Walk layers with both locators: read from the source store, write under the v3 path.
  struct Walk {
    static Status Run(const ModelSpec& m, const std::vector<std::string>& names, const std::string& prefix,
                      WeightStore& store, KerasV3Contents& out) {
      std::map<std::string, int> per_class;
      for (const LayerSpec& l : m.layers) {
        const std::string snake = KerasSnakeCase(l.class_name);
        const int k = per_class[snake]++;
        WeightLocator loc;
        loc.names = names;
        loc.names.push_back(l.name);
        loc.v3_path = prefix + "layers/" + snake + (k > 0 ? "_" + std::to_string(k) : "");
        if (l.model) {
          QL_RETURN_IF_ERROR(Run(*l.model, loc.names, loc.v3_path + "/", store, out));
          continue;
        }
        QL_ASSIGN_OR_RETURN(auto w, store.Load(loc));
        if (!w.empty()) out.vars[loc.v3_path] = std::move(w);
      }
      return Status::Ok();
    }
  };
  QL_RETURN_IF_ERROR(Walk::Run(m, {}, "", *store, out));
  return WriteKerasV3(dst, out);
}

}  // namespace ql::keras
