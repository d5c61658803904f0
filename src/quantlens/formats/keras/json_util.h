// JSON helpers for Keras configs: parsing that refuses hostile nesting before nlohmann sees the
// text, and typed field access that turns a wrong type into a Status instead of an exception.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "quantlens/util/status.h"

namespace ql::keras {

// Deeper than any real Keras config (nested models add about six levels each); deep enough
// nesting would otherwise exhaust the stack of recursive consumers of the parsed tree.
inline constexpr int kMaxJsonDepth = 100;

// Parses `text`; `where` names the file (and member) for messages. Refuses nesting deeper than
// `max_depth` by a bracket scan that skips string contents.
Result<nlohmann::json> ParseJsonLimited(const std::string& text, const std::string& where,
                                        int max_depth = kMaxJsonDepth);

// Typed getters over a layer's config object. `where` is the message prefix naming file and
// layer ("model.h5: layer 'conv2d' (Conv2D): "). A missing key gives `fallback` where one is
// passed, an error otherwise; a present key of the wrong type is always an error.
class ConfigView {
 public:
  ConfigView(const nlohmann::json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}
  const nlohmann::json& json() const { return obj_; }
  const std::string& where() const { return where_; }
  bool Has(const std::string& key) const;
  bool IsNull(const std::string& key) const;  // missing or null

  Result<int64_t> Int(const std::string& key) const;
  Result<int64_t> Int(const std::string& key, int64_t fallback) const;
  Result<double> Number(const std::string& key) const;
  Result<double> Number(const std::string& key, double fallback) const;
  Result<bool> Bool(const std::string& key, bool fallback) const;
  Result<std::string> String(const std::string& key) const;
  Result<std::string> String(const std::string& key, const std::string& fallback) const;
  // An int or a list of ints (Keras accepts both for kernel_size, strides...); a single int is
  // repeated `n` times; a list must have `n` entries. Nulls inside are refused.
  Result<std::vector<int64_t>> IntTuple(const std::string& key, size_t n) const;
  Result<std::vector<int64_t>> IntTuple(const std::string& key, size_t n,
                                        std::vector<int64_t> fallback) const;
  // A list of ints where null stands for an unknown dimension (returned as -1).
  Result<std::vector<int64_t>> ShapeList(const std::string& key) const;

 private:
  const nlohmann::json& obj_;
  std::string where_;
};

}  // namespace ql::keras
