#include "quantlens/formats/keras/json_util.h"

#include <cmath>

namespace ql::keras {

Result<nlohmann::json> ParseJsonLimited(const std::string& text, const std::string& where,
                                        int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return InvalidModel("{}: JSON nested deeper than {} levels (refused)", where, max_depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  // nlohmann throws on syntax errors; the library API must not throw, so convert here.
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidModel("{}: invalid JSON: {}", where, e.what());
  }
}

bool ConfigView::Has(const std::string& key) const { return obj_.is_object() && obj_.contains(key); }

bool ConfigView::IsNull(const std::string& key) const { return !Has(key) || obj_.at(key).is_null(); }

Result<int64_t> ConfigView::Int(const std::string& key) const {
  if (!Has(key)) return InvalidModel("{}config has no '{}'", where_, key);
  const auto& v = obj_.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  // Some writers store integral values as floats (2.0); accept exact ones only, and only inside
  // int64's range (converting 1e308 or NaN to an integer is undefined behaviour).
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) return static_cast<int64_t>(d);
  }
  return InvalidModel("{}config '{}' is not an integer ({})", where_, key, v.dump());
}

Result<int64_t> ConfigView::Int(const std::string& key, int64_t fallback) const {
  if (IsNull(key)) return fallback;
  return Int(key);
}

Result<double> ConfigView::Number(const std::string& key) const {
  if (!Has(key)) return InvalidModel("{}config has no '{}'", where_, key);
  const auto& v = obj_.at(key);
  if (!v.is_number()) return InvalidModel("{}config '{}' is not a number ({})", where_, key, v.dump());
  return v.get<double>();
}

Result<double> ConfigView::Number(const std::string& key, double fallback) const {
  if (IsNull(key)) return fallback;
  return Number(key);
}

Result<bool> ConfigView::Bool(const std::string& key, bool fallback) const {
  if (IsNull(key)) return fallback;
  const auto& v = obj_.at(key);
  // Some writers store Python booleans as 0 / 1.
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) return v.get<int64_t>() == 1;
  if (!v.is_boolean()) return InvalidModel("{}config '{}' is not a boolean ({})", where_, key, v.dump());
  return v.get<bool>();
}

Result<std::string> ConfigView::String(const std::string& key) const {
  if (!Has(key)) return InvalidModel("{}config has no '{}'", where_, key);
  const auto& v = obj_.at(key);
  if (!v.is_string()) return InvalidModel("{}config '{}' is not a string ({})", where_, key, v.dump());
  return v.get<std::string>();
}

Result<std::string> ConfigView::String(const std::string& key, const std::string& fallback) const {
  if (IsNull(key)) return fallback;
  return String(key);
}

Result<std::vector<int64_t>> ConfigView::IntTuple(const std::string& key, size_t n) const {
  if (!Has(key)) return InvalidModel("{}config has no '{}'", where_, key);
  const auto& v = obj_.at(key);
  if (v.is_number_integer()) return std::vector<int64_t>(n, v.get<int64_t>());
  if (!v.is_array() || v.size() != n)
    return InvalidModel("{}config '{}' should be an int or a list of {} ints ({})", where_, key, n,
                        v.dump());
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_integer())
      return InvalidModel("{}config '{}' should hold integers ({})", where_, key, v.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}

Result<std::vector<int64_t>> ConfigView::IntTuple(const std::string& key, size_t n,
                                                  std::vector<int64_t> fallback) const {
  if (IsNull(key)) return fallback;
  return IntTuple(key, n);
}

Result<std::vector<int64_t>> ConfigView::ShapeList(const std::string& key) const {
  if (!Has(key)) return InvalidModel("{}config has no '{}'", where_, key);
  const auto& v = obj_.at(key);
  if (!v.is_array()) return InvalidModel("{}config '{}' is not a list ({})", where_, key, v.dump());
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (e.is_null()) out.push_back(-1);
    else if (e.is_number_integer() && e.get<int64_t>() >= 0) out.push_back(e.get<int64_t>());
    else return InvalidModel("{}config '{}' holds a bad dimension ({})", where_, key, v.dump());
  }
  return out;
}

}  // namespace ql::keras
