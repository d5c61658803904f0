// Keras cases: .h5 (HDF5 written in memory, no timestamps) and .keras archives.
#include "common.h"

namespace make_malformed {

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
json FunctionalConfig(const std::string& dense_from, const std::string& output) {
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

Bytes MakeKeras(const std::string& config, const Bytes& weights, bool with_metadata) {
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

}  // namespace make_malformed
