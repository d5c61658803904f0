// Keras pooling/shape/merge layers, Functional models (several inputs, shared layers, nested
// models), the lowered graph's structure (layer tags, layer_outputs, open batch), a Keras 2 .h5
// written with the HDF5 C API, and refusals.
#include <cmath>

#include "quantlens/formats/keras/reader.h"
#include "unit/keras_test_model.h"

namespace ql::testing {
namespace {

std::vector<double> D(const std::vector<float>& v) { return {v.begin(), v.end()}; }

TEST(KerasModel, PoolingSameEvenPoolExcludesPadding) {
  // 3x3 input, 2x2 pool, stride 2, SAME: output 2x2; the last row/column windows hang over the
  // edge and average only the taps inside (Keras/TF), max ignores the padding.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  json cfg = {{"name", "p"}, {"pool_size", {2, 2}}, {"strides", {2, 2}}, {"padding", "same"}, {"data_format", "channels_last"}};
  ExpectNear(RunSequential("avg.keras", {3, 3, 1}, {{L("AveragePooling2D", cfg), {}}}, x),
             {(1 + 2 + 4 + 5) / 4.0, (3 + 6) / 2.0, (7 + 8) / 2.0, 9});
  ExpectNear(RunSequential("max.keras", {3, 3, 1}, {{L("MaxPooling2D", cfg), {}}}, x), {5, 6, 8, 9});
  json cfg1 = {{"name", "p"}, {"pool_size", 2}, {"strides", 1}, {"padding", "valid"}, {"data_format", "channels_last"}};
  std::vector<float> s = {1, -2, 3, 0, 5};
  ExpectNear(RunSequential("max1.keras", {5, 1}, {{L("MaxPooling1D", cfg1), {}}}, s), {1, 3, 3, 5});
  ExpectNear(RunSequential("avg1.keras", {5, 1}, {{L("AveragePooling1D", cfg1), {}}}, s), {-0.5, 0.5, 1.5, 2.5});
}

TEST(KerasModel, GlobalPooling) {
  auto x = Random(2 * 3 * 2, 30);
  json cfg = {{"name", "g"}, {"data_format", "channels_last"}, {"keepdims", false}};
  ir::Shape shape;
  auto avg = RunSequential("gap.keras", {2, 3, 2}, {{L("GlobalAveragePooling2D", cfg), {}}}, x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 2}));
  auto mx = RunSequential("gmp.keras", {2, 3, 2}, {{L("GlobalMaxPooling2D", cfg), {}}}, x);
  std::vector<double> wa(2, 0), wm(2, -1e9);
  for (size_t i = 0; i < x.size(); ++i) {
    wa[i % 2] += x[i] / 6.0;
    wm[i % 2] = std::max<double>(wm[i % 2], x[i]);
  }
  ExpectNear(avg, wa);
  ExpectNear(mx, wm);
  auto avg1 = RunSequential("gap1.keras", {6, 2}, {{L("GlobalAveragePooling1D", cfg), {}}}, x);
  ExpectNear(avg1, wa);
  auto mx1 = RunSequential("gmp1.keras", {6, 2}, {{L("GlobalMaxPooling1D", cfg), {}}}, x);
  ExpectNear(mx1, wm);
}

TEST(KerasModel, ReshapeFlattenPermuteDropout) {
  std::vector<float> x = {0, 1, 2, 3, 4, 5};
  ir::Shape shape;
  auto r = RunSequential("reshape.keras", {2, 3}, {{L("Reshape", {{"name", "r"}, {"target_shape", {3, -1}}}), {}}}, x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 3, 2}));
  ExpectNear(r, D(x));
  auto p = RunSequential("permute.keras", {2, 3}, {{L("Permute", {{"name", "p"}, {"dims", {2, 1}}}), {}}}, x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 3, 2}));
  ExpectNear(p, {0, 3, 1, 4, 2, 5});
  auto f = RunSequential("flatten.keras", {2, 3}, {{L("Flatten", {{"name", "f"}}), {}},
                                                 {L("Dropout", {{"name", "d"}, {"rate", 0.5}}), {}},
                                                 {L("SpatialDropout1D", {{"name", "sd"}, {"rate", 0.5}}), {}}},
                         x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 6}));
  ExpectNear(f, D(x));
}

TEST(KerasModel, PaddingCroppingUpsampling) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};  // 2x3x1
  ir::Shape shape;
  auto z = RunSequential("zpad.keras", {2, 3, 1}, {{L("ZeroPadding2D", {{"name", "z"}, {"padding", {{1, 0}, {0, 2}}}}), {}}}, x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 3, 5, 1}));
  ExpectNear(z, {0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0});
  auto c = RunSequential("crop.keras", {2, 3, 1}, {{L("Cropping2D", {{"name", "c"}, {"cropping", {{0, 1}, {1, 1}}}}), {}}}, x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 1, 1, 1}));
  ExpectNear(c, {2});
  auto n = RunSequential("upn.keras", {2, 3, 1}, {{L("UpSampling2D", {{"name", "u"}, {"size", {2, 1}}, {"interpolation", "nearest"}}), {}}}, x, &shape);
  EXPECT_EQ(shape, (ir::Shape{1, 4, 3, 1}));
  ExpectNear(n, {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  // Bilinear with half-pixel centers (tf.image.resize): output column j samples input
  // (j + 0.5) / 2 - 0.5, clamped to the edges.
  std::vector<float> row = {0, 4};  // 1x2x1
  auto b = RunSequential("upb.keras", {1, 2, 1}, {{L("UpSampling2D", {{"name", "u"}, {"size", {1, 2}}, {"interpolation", "bilinear"}}), {}}}, row);
  ExpectNear(b, {0, 1, 3, 4});
}

json KerasTensor(const std::string& layer, int node = 0) {
  return {{"class_name", "__keras_tensor__"}, {"config", {{"keras_history", {layer, node, 0}}}}};
}

// A Keras 3 Functional model: inputs a, b -> each merge layer.
TEST(KerasModel, MergeLayers) {
  auto a = Random(6, 31), b = Random(6, 32);
  struct Case {
    const char* cls;
    std::function<double(double, double)> f;
  };
  const std::vector<Case> cases = {
      {"Add", [](double x, double y) { return x + y; }},
      {"Subtract", [](double x, double y) { return x - y; }},
      {"Multiply", [](double x, double y) { return x * y; }},
      {"Average", [](double x, double y) { return (x + y) / 2; }},
      {"Maximum", [](double x, double y) { return std::max(x, y); }},
      {"Minimum", [](double x, double y) { return std::min(x, y); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cls);
    json layers = json::array();
    layers.push_back(L("InputLayer", {{"name", "a"}, {"batch_shape", {nullptr, 2, 3}}, {"dtype", "float32"}}));
    layers.push_back(L("InputLayer", {{"name", "b"}, {"batch_shape", {nullptr, 2, 3}}, {"dtype", "float32"}}));
    json m = L(c.cls, {{"name", "m"}});
    m["inbound_nodes"] = {{{"args", {{KerasTensor("a"), KerasTensor("b")}}}, {"kwargs", json::object()}}};
    layers.push_back(m);
    json model = {{"class_name", "Functional"},
                  {"config", {{"name", "f"}, {"layers", layers}, {"input_layers", {{"a", 0, 0}, {"b", 0, 0}}},
                              {"output_layers", {{"m", 0, 0}}}}}};
    const std::string path = WriteKeras("merge.keras", model, {});
    Loaded l = Load(path);
    std::remove(path.c_str());
    std::vector<double> want;
    for (int i = 0; i < 6; ++i) want.push_back(c.f(a[i], b[i]));
    ExpectNear(RunLoaded(l, {a, b}), want);
  }
}

// Keras 2 Functional spelling, Concatenate, a shared Dense called twice and a nested Sequential.
TEST(KerasModel, FunctionalSharedAndNested) {
  FloatArray k = Arr({3, 2}, 33), bias = Arr({2}, 34), k2 = Arr({2, 2}, 35);
  json inner = {{"class_name", "Sequential"},
                {"config", {{"name", "inner"},
                            {"layers", {L("InputLayer", {{"name", "inner_in"}, {"batch_input_shape", {nullptr, 2}}, {"dtype", "float32"}}),
                                        L("Dense", {{"name", "inner_dense"}, {"units", 2}, {"activation", "tanh"}, {"use_bias", false}})}}}}};
  auto node = [](std::vector<std::pair<std::string, int>> refs) {
    json n = json::array();
    for (auto& [l, i] : refs) n.push_back({l, i, 0, json::object()});
    return json::array({n});
  };
  json shared = L("Dense", {{"name", "shared"}, {"units", 2}, {"activation", "linear"}, {"use_bias", true}});
  shared["inbound_nodes"] = json::array({node({{"a", 0}})[0], node({{"b", 0}})[0]});
  json cat = L("Concatenate", {{"name", "cat"}, {"axis", -1}});
  cat["inbound_nodes"] = node({{"shared", 0}, {"shared", 1}});
  json nested = inner;
  nested["name"] = "inner";
  nested["inbound_nodes"] = node({{"shared", 1}});
  json layers = {L("InputLayer", {{"name", "a"}, {"batch_input_shape", {nullptr, 3}}, {"dtype", "float32"}}),
                 L("InputLayer", {{"name", "b"}, {"batch_input_shape", {nullptr, 3}}, {"dtype", "float32"}}),
                 shared, cat, nested};
  layers[0]["inbound_nodes"] = json::array();
  layers[1]["inbound_nodes"] = json::array();
  json model = {{"class_name", "Functional"},
                {"config", {{"name", "f"}, {"layers", layers}, {"input_layers", {{"a", 0, 0}, {"b", 0, 0}}},
                            {"output_layers", {{"cat", 0, 0}, {"inner", 0, 0}}}}}};
  std::vector<TinyLayer> weights = {{shared, {k, bias}}};
  // The nested model's Dense sits at layers/sequential/layers/dense.
  keras::KerasV3Contents c;
  c.config = model;
  c.keras_version = "3.8.0";
  c.vars["layers/dense"] = {k, bias};
  c.vars["layers/sequential/layers/dense"] = {k2};
  const std::string path = TempPath("shared.keras");
  ASSERT_TRUE(keras::WriteKerasV3(path, c).ok());
  Loaded l = Load(path);
  ASSERT_TRUE(l.interp) << l.status.message();
  auto a = Random(3, 36), b = Random(3, 37);
  auto dense = [&](const std::vector<float>& x) {
    std::vector<double> y;
    for (int o = 0; o < 2; ++o) {
      double acc = bias.data[o];
      for (int i = 0; i < 3; ++i) acc += double(x[i]) * k.data[i * 2 + o];
      y.push_back(acc);
    }
    return y;
  };
  auto da = dense(a), db = dense(b);
  std::vector<double> want = {da[0], da[1], db[0], db[1]};
  ExpectNear(RunLoaded(l, {a, b}), want);
  // Output 1: the nested model on the shared layer's second call.
  const rt::TensorRef& o1 = l.interp->output(1);
  for (int o = 0; o < 2; ++o) {
    double acc = 0;
    for (int i = 0; i < 2; ++i) acc += db[i] * k2.data[i * 2 + o];
    EXPECT_NEAR(o1.as<float>()[o], std::tanh(acc), 1e-5);
  }
  // Structure: open batch on inputs, tensors tagged by layer and node, every call recorded.
  const ir::Graph& g = *l.graph;
  EXPECT_EQ(g.format, ir::SourceFormat::kKerasV3);
  ASSERT_EQ(g.inputs.size(), 2u);
  EXPECT_EQ(g.tensors[g.inputs[0]].shape, (ir::Shape{-1, 3}));
  std::vector<std::string> keys;
  for (const auto& lo : g.layer_outputs) keys.push_back(lo.layer + ":" + std::to_string(lo.node));
  EXPECT_EQ(keys, (std::vector<std::string>{"a:0", "b:0", "shared:0", "shared:1", "cat:0", "inner/inner_in:0",
                                            "inner/inner_dense:0", "inner:0"}));
  for (const auto& lo : g.layer_outputs)
    if (lo.layer == "shared") {
      EXPECT_EQ(g.tensors[lo.tensor].layer, "shared");
      EXPECT_EQ(g.tensors[lo.tensor].layer_node, lo.node);
      // Output tensors carry the Keras name, with the node for a shared layer's later calls.
      EXPECT_EQ(g.tensors[lo.tensor].name, lo.node ? "shared:1" : "shared");
    }
  std::remove(path.c_str());
}

// A Keras 2 .h5 written with the HDF5 C API: model_config, keras_version and model_weights with
// weight_names, as tf.keras's save does.
void WriteStringAttr(hid_t obj, const char* name, const std::vector<std::string>& values, bool scalar) {
  size_t len = 1;
  for (const auto& v : values) len = std::max(len, v.size());
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, len);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  hsize_t n = values.size();
  hid_t s = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  std::vector<char> buf(len * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * len, values[i].data(), values[i].size());
  hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, buf.data());
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
}

void WriteDataset(hid_t loc, const std::string& path, const FloatArray& a) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
  hid_t s = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t d = H5Dcreate2(loc, path.c_str(), H5T_IEEE_F32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data.data());
  H5Dclose(d);
  H5Sclose(s);
  H5Pclose(lcpl);
}

TEST(KerasModel, Keras2H5HardSigmoidAndDense) {
  FloatArray k = Arr({2, 3}, 38), b = Arr({3}, 39);
  json model = {{"class_name", "Sequential"},
                {"config", {{"name", "s"},
                            {"layers", {L("InputLayer", {{"name", "in"}, {"batch_input_shape", {nullptr, 2}}, {"dtype", "float32"}}),
                                        L("Dense", {{"name", "dense"}, {"units", 3}, {"activation", "hard_sigmoid"}, {"use_bias", true}})}}}}};
  const std::string path = TempPath("k2.h5");
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  WriteStringAttr(f, "model_config", {model.dump()}, true);
  WriteStringAttr(f, "keras_version", {"2.8.0"}, true);
  WriteStringAttr(f, "backend", {"tensorflow"}, true);
  hid_t g = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  WriteStringAttr(g, "layer_names", {"in", "dense"}, false);
  hid_t gd = H5Gcreate2(g, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  WriteStringAttr(gd, "weight_names", {"dense/kernel:0", "dense/bias:0"}, false);
  WriteDataset(gd, "dense/kernel:0", k);
  WriteDataset(gd, "dense/bias:0", b);
  H5Gclose(gd);
  H5Gclose(g);
  H5Fclose(f);
  Loaded l = Load(path);
  std::remove(path.c_str());
  ASSERT_TRUE(l.interp) << l.status.message();
  EXPECT_EQ(l.graph->format, ir::SourceFormat::kKerasH5);
  std::vector<float> x = {2.0f, -1.5f};
  std::vector<double> want;
  for (int o = 0; o < 3; ++o) {
    double z = b.data[o] + x[0] * k.data[o] + x[1] * k.data[3 + o];
    want.push_back(std::min(std::max(0.2 * z + 0.5, 0.0), 1.0));  // Keras 2's hard_sigmoid
  }
  ExpectNear(RunLoaded(l, {x}), want);
}

Status LoadStatus(const std::string& file, const json& model, const std::vector<TinyLayer>& layers) {
  const std::string path = WriteKeras(file, model, layers);
  auto g = LoadModel(path);
  std::remove(path.c_str());
  return g.status();
}

TEST(KerasModel, Refusals) {
  json dense = {{"name", "dense_x"}, {"units", 2}, {"activation", "linear"}, {"use_bias", true}};
  // Lambda layers.
  Status s = LoadStatus("lambda.keras", SequentialConfig({2}, {{L("Lambda", {{"name", "lam"}, {"function", "x"}}), {}}}), {});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 'lam' (Lambda)"), std::string::npos) << s.message();
  // Custom layer classes.
  s = LoadStatus("custom.keras", SequentialConfig({2}, {{L("MyFancyLayer", {{"name", "fancy"}}), {}}}), {});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("'fancy' (MyFancyLayer)"), std::string::npos) << s.message();
  // Unknown activations.
  json bad_act = dense;
  bad_act["activation"] = "tanh_shrink_of_doom";
  std::vector<TinyLayer> l1 = {{L("Dense", bad_act), {Arr({2, 2}, 1), Arr({2}, 2)}}};
  s = LoadStatus("act.keras", SequentialConfig({2}, l1), l1);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("unknown activation 'tanh_shrink_of_doom'"), std::string::npos) << s.message();
  // Missing weights.
  std::vector<TinyLayer> l2 = {{L("Dense", dense), {}}};
  s = LoadStatus("missing.keras", SequentialConfig({2}, l2), l2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("layer 'dense_x' (Dense): weights missing"), std::string::npos) << s.message();
  // Weight shape mismatch.
  std::vector<TinyLayer> l3 = {{L("Dense", dense), {Arr({3, 2}, 1), Arr({2}, 2)}}};
  s = LoadStatus("shape.keras", SequentialConfig({2}, l3), l3);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("weight 'kernel' has shape [3,2], expected [2,2]"), std::string::npos) << s.message();
  // channels_first.
  json cf = {{"name", "cf"}, {"pool_size", 2}, {"data_format", "channels_first"}};
  s = LoadStatus("cf.keras", SequentialConfig({2, 4, 4}, {{L("MaxPooling2D", cf), {}}}), {});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("channels_first"), std::string::npos) << s.message();
}

TEST(KerasModel, SnakeCaseMatchesKeras) {
  EXPECT_EQ(keras::KerasSnakeCase("Conv2D"), "conv2d");
  EXPECT_EQ(keras::KerasSnakeCase("BatchNormalization"), "batch_normalization");
  EXPECT_EQ(keras::KerasSnakeCase("DepthwiseConv2D"), "depthwise_conv2d");
  EXPECT_EQ(keras::KerasSnakeCase("Conv2DTranspose"), "conv2d_transpose");
  EXPECT_EQ(keras::KerasSnakeCase("PReLU"), "p_re_lu");
  EXPECT_EQ(keras::KerasSnakeCase("ReLU"), "re_lu");
  EXPECT_EQ(keras::KerasSnakeCase("GlobalAveragePooling2D"), "global_average_pooling2d");
}

}  // namespace
}  // namespace ql::testing
