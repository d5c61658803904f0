// The structure-aware part of the Keras targets: one random edit of a Keras model config (JSON),
// the way byte flips inside an HDF5 attribute or a deflated zip member cannot: change a value or
// its type, rename or delete a key, delete, duplicate or swap a layer (or any array element).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantlens/formats/keras/json_util.h"

namespace ql::fuzz {

using Rng = std::mt19937;
using nlohmann::json;

inline int PickN(Rng& rng, size_t n) { return n == 0 ? 0 : static_cast<int>(rng() % n); }

// Keys and string values Keras configs use; renames and string edits draw from here.
inline const std::vector<std::string>& KerasTokens() {
  static const std::vector<std::string> kTokens = {
      "class_name", "config", "layers", "inbound_nodes", "batch_input_shape", "batch_shape",
      "input_shape", "filters", "kernel_size", "strides", "padding", "data_format",
      "dilation_rate", "activation", "use_bias", "units", "name", "dtype", "axis", "momentum",
      "epsilon", "center", "scale", "pool_size", "target_shape", "dims", "rate", "alpha",
      "max_value", "threshold", "negative_slope", "size", "interpolation", "depth_multiplier",
      "groups", "keepdims", "input_layers", "output_layers", "args", "kwargs", "keras_history",
      "module", "registered_name", "build_config", "shared_object_id", "cropping", "Sequential",
      "Functional", "Model", "InputLayer", "Dense", "Conv2D", "DepthwiseConv2D",
      "SeparableConv2D", "Conv2DTranspose", "Conv1D", "BatchNormalization",
      "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
      "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
      "Flatten", "Reshape", "Permute", "Dropout", "Add", "Subtract", "Multiply", "Average",
      "Maximum", "Minimum", "Concatenate", "ZeroPadding2D", "UpSampling2D", "Rescaling",
      "Normalization", "Cropping2D", "same", "valid", "causal", "channels_last",
      "channels_first", "relu", "relu6", "sigmoid", "softmax", "tanh", "linear", "swish",
      "hard_sigmoid", "gelu", "elu", "selu", "softplus", "softsign", "exponential", "float32",
      "float16", "mixed_float16", "int32", "bilinear", "nearest", "keras.layers", "", "x"};
  return kTokens;
}

inline json SomeValue(Rng& rng, const json& old) {
  switch (PickN(rng, 20)) {
    case 0: return nullptr;
    case 1: return true;
    case 2: return false;
    case 3: return 0;
    case 4: return -1;
    case 5: return 1;
    case 6: return 2147483648LL;
    case 7: return -9223372036854775807LL - 1;
    case 8: return 1e308;
    case 9: return 0.5;
    case 10: return json::array();
    case 11: return json::object();
    case 12: return json::array({nullptr, 1, 1, 3});
    case 13: return json::array({0, 0});
    case 14: return json::array({old});
    case 15: return 65536;
    case 16: return -0.0;
    default: return KerasTokens()[PickN(rng, KerasTokens().size())];
  }
}

// A small change of the same type when possible.
inline void Tweak(Rng& rng, json& v) {
  if (v.is_number_integer()) {
    static const int64_t kDeltas[] = {1, -1, 2, -2, 100};
    // Wrapping arithmetic (no signed overflow in the mutator itself).
    const uint64_t x = static_cast<uint64_t>(v.get<int64_t>());
    switch (PickN(rng, 5)) {
      case 0: v = static_cast<int64_t>(x + static_cast<uint64_t>(kDeltas[PickN(rng, 5)])); break;
      case 1: v = static_cast<int64_t>(0 - x); break;
      case 2: v = static_cast<int64_t>(x * 1000); break;
      case 3: v = 0; break;
      default: v = static_cast<double>(static_cast<int64_t>(x)) + 0.5; break;
    }
  } else if (v.is_number_float()) {
    const double x = v.get<double>();
    switch (PickN(rng, 4)) {
      case 0: v = -x; break;
      case 1: v = x * 1e30; break;
      case 2: v = 0.0; break;
      default: v = std::fabs(x) < 1e15 ? static_cast<int64_t>(x) + 1 : 1; break;
    }
  } else if (v.is_boolean()) {
    v = !v.get<bool>();
  } else if (v.is_string()) {
    v = KerasTokens()[PickN(rng, KerasTokens().size())];
  } else {
    v = SomeValue(rng, v);
  }
}

struct JsonSlot {
  json* parent;     // object or array holding the value (null for the root)
  std::string key;  // for objects
  size_t index;     // for arrays
  json* value;
};

inline void CollectSlots(json& v, json* parent, const std::string& key, size_t index,
                         std::vector<JsonSlot>& out, int depth = 0) {
  out.push_back({parent, key, index, &v});
  if (depth > 64 || out.size() > 200000) return;
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) CollectSlots(it.value(), &v, it.key(), 0, out, depth + 1);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) CollectSlots(v[i], &v, "", i, out, depth + 1);
  }
}

// Finds every "layers" array (Sequential, Functional and nested models).
inline void CollectLayerLists(json& v, std::vector<json*>& out, int depth = 0) {
  if (depth > 64) return;
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "layers" && it.value().is_array()) out.push_back(&it.value());
      CollectLayerLists(it.value(), out, depth + 1);
    }
  } else if (v.is_array()) {
    for (auto& e : v) CollectLayerLists(e, out, depth + 1);
  }
}

// One edit of `root`.
inline void MutateJson(json& root, Rng& rng) {
  if (PickN(rng, 4) == 0) {
    std::vector<json*> lists;
    CollectLayerLists(root, lists);
    if (!lists.empty()) {
      json& layers = *lists[PickN(rng, lists.size())];
      if (!layers.empty()) {
        const size_t i = static_cast<size_t>(PickN(rng, layers.size()));
        switch (PickN(rng, 3)) {
          case 0: layers.erase(i); return;
          case 1: layers.insert(layers.begin() + PickN(rng, layers.size() + 1), json(layers[i])); return;
          default: std::swap(layers[i], layers[static_cast<size_t>(PickN(rng, layers.size()))]); return;
        }
      }
    }
  }
  std::vector<JsonSlot> slots;
  CollectSlots(root, nullptr, "", 0, slots);
  // Leaves (numbers, strings, ...) are where the interesting values are: prefer them.
  JsonSlot s = slots[PickN(rng, slots.size())];
  for (int tries = 0; tries < 3 && (s.value->is_object() || s.value->is_array()); ++tries)
    s = slots[PickN(rng, slots.size())];
  switch (PickN(rng, 10)) {
    case 0: case 1: case 2: case 3: Tweak(rng, *s.value); break;
    case 4: case 5: *s.value = SomeValue(rng, *s.value); break;
    case 6:  // delete
      if (s.parent && s.parent->is_object()) s.parent->erase(s.key);
      else if (s.parent && s.parent->is_array()) s.parent->erase(s.index);
      break;
    case 7:  // rename the key
      if (s.parent && s.parent->is_object()) {
        json v = std::move(*s.value);
        s.parent->erase(s.key);
        (*s.parent)[KerasTokens()[PickN(rng, KerasTokens().size())]] = std::move(v);
      }
      break;
    case 8:  // duplicate an array element / grow an array
      if (s.parent && s.parent->is_array()) s.parent->push_back(json(*s.value));
      else if (s.value->is_array()) s.value->push_back(s.value->empty() ? json(1) : json((*s.value)[0]));
      break;
    default:  // add a key with some value
      if (s.value->is_object())
        (*s.value)[KerasTokens()[PickN(rng, KerasTokens().size())]] = SomeValue(rng, nullptr);
      else
        Tweak(rng, *s.value);
      break;
  }
}

// Parses, edits and re-serializes `text`; false if it is not JSON or nests deeper than the Keras
// reader accepts (such text is left to byte mutations: nlohmann's dump and destructor recurse, and
// a mutated corpus entry nested a hundred thousand levels overflowed the stack here).
inline bool MutateJsonText(std::string& text, Rng& rng) {
  auto parsed = ql::keras::ParseJsonLimited(text, "fuzz", ql::keras::kMaxJsonDepth);
  if (!parsed.ok()) return false;
  json j = std::move(parsed).value();
  const int edits = 1 + (PickN(rng, 4) == 0 ? PickN(rng, 3) : 0);
  for (int i = 0; i < edits; ++i) MutateJson(j, rng);
  text = j.dump();
  return true;
}

}  // namespace ql::fuzz
