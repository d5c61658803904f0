#include "quantlens/formats/keras/weight_store.h"

#include <algorithm>
#include <cctype>

namespace ql::keras {
namespace {

std::vector<std::string> Segments(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '/') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

class LegacyH5Store final : public WeightStore {
 public:
  LegacyH5Store(const H5File& file, std::string root) : file_(file), root_(std::move(root)) {}
  const std::string& label() const override { return file_.label(); }

  Result<std::vector<FloatArray>> Load(const WeightLocator& loc) override {
    std::vector<FloatArray> out;
    if (loc.names.empty()) return out;
    const std::string group = root_ + "/" + loc.names[0];
    if (!H5PathExists(file_.root(), group)) return out;
    H5Id g(H5Gopen2(file_.root(), group.c_str(), H5P_DEFAULT));
    if (!g.valid()) return InvalidModel("{}: '{}' is not a group", label(), group);
    const std::string where = label() + ": " + group;
    if (!H5HasAttr(g.get(), "weight_names") && !H5HasAttr(g.get(), "weight_names0")) return out;
    QL_ASSIGN_OR_RETURN(auto names, H5ReadStringAttr(g.get(), "weight_names", where));
    for (const std::string& n : names) {
      // A layer inside a nested model is stored with the nested model's variables, named
      // ".../<inner layer>/<variable>": keep those of the wanted layer, in stored order.
      if (loc.names.size() > 1) {
        auto seg = Segments(n);
        if (seg.size() < 2 || seg[seg.size() - 2] != loc.names.back()) continue;
      }
      QL_ASSIGN_OR_RETURN(auto arr, H5ReadFloatDataset(g.get(), n, where));
      out.push_back(std::move(arr));
    }
    return out;
  }

 private:
  const H5File& file_;
  std::string root_;
};

class Keras3Store final : public WeightStore {
 public:
  explicit Keras3Store(const H5File& file) : file_(file) {}
  const std::string& label() const override { return file_.label(); }

  Result<std::vector<FloatArray>> Load(const WeightLocator& loc) override {
    std::vector<FloatArray> out;
    const std::string vars = loc.v3_path + "/vars";
    if (!H5PathExists(file_.root(), vars)) return out;
    QL_ASSIGN_OR_RETURN(auto names, H5ListGroup(file_.root(), vars, label()));
    // Variables are numbered "0", "1", ...; HDF5 lists names in string order ("10" < "2").
    std::vector<int> idx;
    for (const auto& n : names) {
      if (n.empty() || n.size() > 6 || !std::all_of(n.begin(), n.end(), ::isdigit))
        return InvalidModel("{}: unexpected entry '{}/{}'", label(), vars, n);
      idx.push_back(std::stoi(n));
    }
    std::sort(idx.begin(), idx.end());
    for (size_t i = 0; i < idx.size(); ++i) {
      if (idx[i] != static_cast<int>(i))
        return InvalidModel("{}: '{}' lacks variable {}", label(), vars, i);
      QL_ASSIGN_OR_RETURN(auto arr, H5ReadFloatDataset(file_.root(), vars + "/" + std::to_string(i), label()));
      out.push_back(std::move(arr));
    }
    return out;
  }

 private:
  const H5File& file_;
};

}  // namespace

std::unique_ptr<WeightStore> MakeLegacyH5Store(const H5File& file, std::string weights_root) {
  return std::make_unique<LegacyH5Store>(file, std::move(weights_root));
}

std::unique_ptr<WeightStore> MakeKeras3Store(const H5File& file) {
  return std::make_unique<Keras3Store>(file);
}

std::string KerasSnakeCase(const std::string& name) {
  // re.sub(r"\W+", "", name)
  std::string s;
  for (char c : name)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') s += c;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", s): an underscore before each capitalised word that is
  // not at the start. Matches do not overlap: a match consumes the capital and its lowercase run.
  std::string t;
  for (size_t i = 0; i < s.size();) {
    if (i + 2 < s.size() + 1 && i + 1 < s.size() && upper(s[i + 1]) && i + 2 < s.size() && lower(s[i + 2])) {
      size_t j = i + 2;
      while (j < s.size() && lower(s[j])) ++j;
      t += s[i];
      t += '_';
      t.append(s, i + 1, j - (i + 1));
      i = j;
    } else {
      t += s[i];
      ++i;
    }
  }
  // re.sub("([a-z])([A-Z])", r"\1_\2", t).lower()
  std::string u;
  for (size_t i = 0; i < t.size(); ++i) {
    u += t[i];
    if (i + 1 < t.size() && lower(t[i]) && upper(t[i + 1])) u += '_';
  }
  for (char& c : u) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return u;
}

}  // namespace ql::keras
