// Builds tiny Keras models for unit tests: layer configs plus weights, written as a Keras 3
// archive by quantlens's writer (or any config as a legacy .h5 with the HDF5 C API), then read
// and run by quantlens.
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantlens/formats/keras/keras_writer.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::testing {

using nlohmann::json;
using keras::FloatArray;

struct TinyLayer {
  json layer;                       // {"class_name": ..., "config": {...}} (+ inbound_nodes)
  std::vector<FloatArray> weights;  // in Keras's order
};

inline json L(const std::string& cls, json config) {
  return json{{"class_name", cls}, {"config", std::move(config)}};
}

inline std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("ql_keras_" + std::to_string(::getpid()) + "_" + name)).string();
}

// A Sequential model object with an InputLayer of `input_shape` (without batch).
inline json SequentialConfig(const std::vector<int64_t>& input_shape, const std::vector<TinyLayer>& layers) {
  json batch = json::array({nullptr});
  for (int64_t d : input_shape) batch.push_back(d);
  json ls = json::array();
  ls.push_back(L("InputLayer", {{"batch_shape", batch}, {"dtype", "float32"}, {"name", "input"}}));
  for (const auto& l : layers) ls.push_back(l.layer);
  return json{{"class_name", "Sequential"}, {"config", {{"name", "tiny"}, {"layers", ls}}}};
}

// Writes `model` with the weights of `layers` (matched by layer name) as a .keras file.
inline std::string WriteKeras(const std::string& file, const json& model, const std::vector<TinyLayer>& layers,
                              const std::string& keras_version = "3.8.0") {
  keras::KerasV3Contents c;
  c.config = model;
  c.keras_version = keras_version;
  auto paths = keras::KerasV3LayerPaths(model);
  EXPECT_TRUE(paths.ok()) << paths.status().message();
  if (!paths.ok()) return "";
  for (const auto& l : layers) {
    if (l.weights.empty()) continue;
    const std::string name = l.layer["config"]["name"];
    for (const auto& [n, p] : *paths)
      if (n == name) c.vars[p] = l.weights;
  }
  const std::string path = TempPath(file);
  Status s = keras::WriteKerasV3(path, c);
  EXPECT_TRUE(s.ok()) << s.message();
  return path;
}

// Loads and prepares a model; keeps the graph alive with the interpreter.
struct Loaded {
  std::unique_ptr<ir::Graph> graph;
  std::unique_ptr<rt::Interpreter> interp;
  Status status;
};

inline Loaded Load(const std::string& path) {
  Loaded l;
  auto g = LoadModel(path);
  if (!g.ok()) {
    l.status = g.status();
    return l;
  }
  l.graph = std::make_unique<ir::Graph>(std::move(g).value());
  auto it = rt::Interpreter::Create(*l.graph);
  if (!it.ok()) {
    l.status = it.status();
    return l;
  }
  l.interp = std::move(it).value();
  return l;
}

// Runs a loaded model on float inputs and returns output 0 (and its shape).
inline std::vector<float> RunLoaded(Loaded& l, const std::vector<std::vector<float>>& inputs, ir::Shape* shape = nullptr) {
  EXPECT_TRUE(l.interp) << l.status.message();
  if (!l.interp) return {};
  for (size_t i = 0; i < inputs.size(); ++i) {
    Status s = l.interp->SetInput(static_cast<int>(i), inputs[i].data(), inputs[i].size() * sizeof(float));
    EXPECT_TRUE(s.ok()) << s.message();
  }
  Status s = l.interp->Invoke();
  EXPECT_TRUE(s.ok()) << s.message();
  const rt::TensorRef& o = l.interp->output(0);
  if (shape) *shape = o.shape;
  return std::vector<float>(o.as<float>(), o.as<float>() + o.num_elements());
}

// Builds, writes, loads and runs a one-input Sequential model.
inline std::vector<float> RunSequential(const std::string& file, const std::vector<int64_t>& input_shape,
                                        const std::vector<TinyLayer>& layers, const std::vector<float>& x,
                                        ir::Shape* shape = nullptr, const std::string& version = "3.8.0") {
  const std::string path = WriteKeras(file, SequentialConfig(input_shape, layers), layers, version);
  Loaded l = Load(path);
  std::remove(path.c_str());
  return RunLoaded(l, {x}, shape);
}

inline std::vector<float> Random(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline FloatArray Arr(std::vector<int64_t> shape, uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return FloatArray{shape, Random(static_cast<size_t>(n), seed)};
}

// Float32 results of the same formula computed in another order: a few ulps of the largest term.
constexpr float kTol = 1e-5f;

inline void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, float tol = kTol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i]))) << "element " << i;
}

}  // namespace ql::testing
