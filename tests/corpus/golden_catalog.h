// The golden folder (shared/golden) as test parameters: one entry per model folder, with its
// input folders and, per input, the engines that ran it (from meta.json). Shared by the golden
// corpus test and the differential test against the genuine TFLite library.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ql::testing {

inline std::string SharedDir() { return QUANTLENS_SHARED_DIR; }
inline std::string GoldenDir() { return SharedDir() + "/golden"; }

struct GoldenEngine {
  std::string name;          // "native", "tfjs-a6", "tfjs"
  std::string outputs_file;  // "native.npz"; empty when the engine failed
  bool xnnpack_applied = false;
  bool failed = false;       // meta.json records an `error` for this engine
};

struct GoldenInput {
  std::string name;  // folder name, e.g. "grace_hopper"
  std::string dir;   // absolute folder
  std::vector<std::string> input_files;   // input0.npy, ... in model input order
  std::vector<std::string> input_dtypes;  // numpy names from meta.json
  std::vector<GoldenEngine> engines;
  std::string error;  // non-empty when meta.json could not be read

  const GoldenEngine* engine(const std::string& n) const {
    for (const auto& e : engines)
      if (e.name == n) return &e;
    return nullptr;
  }
};

struct GoldenModel {
  std::string name;        // folder name, e.g. "det_ssd_mobilenet_v1_u8"
  std::string model_path;  // absolute path of the .tflite (from the first input's meta.json)
  std::vector<GoldenInput> inputs;

  // All model inputs are of this integer type ("int8", "uint8"), or empty.
  std::string IntegerInputType() const {
    if (inputs.empty() || inputs[0].input_dtypes.empty()) return "";
    const std::string& t = inputs[0].input_dtypes[0];
    if (t != "int8" && t != "uint8") return "";
    for (const auto& d : inputs[0].input_dtypes)
      if (d != t) return "";
    return t;
  }
};

inline GoldenInput ReadGoldenInput(const std::filesystem::path& dir, std::string* model_rel) {
  GoldenInput in;
  in.name = dir.filename().string();
  in.dir = dir.string();
  std::ifstream f(dir / "meta.json");
  if (!f) {
    in.error = "cannot open " + (dir / "meta.json").string();
    return in;
  }
  // Parse without exceptions: a malformed meta.json becomes a test failure, not a crash.
  nlohmann::json meta = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) {
    in.error = "cannot parse " + (dir / "meta.json").string();
    return in;
  }
  if (meta.contains("model") && meta["model"].is_string()) *model_rel = meta["model"].get<std::string>();
  if (meta.contains("inputs") && meta["inputs"].is_array()) {
    for (const auto& i : meta["inputs"]) {
      in.input_files.push_back(i.value("file", std::string()));
      in.input_dtypes.push_back(i.value("dtype", std::string()));
    }
  }
  if (meta.contains("engines") && meta["engines"].is_object()) {
    for (const auto& [name, e] : meta["engines"].items()) {
      GoldenEngine ge;
      ge.name = name;
      ge.failed = e.contains("error");
      ge.outputs_file = ge.failed ? "" : e.value("outputs_file", std::string());
      ge.xnnpack_applied = e.value("xnnpack_applied", false);
      in.engines.push_back(ge);
    }
  }
  return in;
}

// Every model folder under shared/golden except keras3/ (Keras models have their own test),
// sorted by name; input folders sorted too, so test names and seeds are stable.
inline std::vector<GoldenModel> ListGoldenModels() {
  namespace fs = std::filesystem;
  std::vector<GoldenModel> models;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(GoldenDir(), ec)) {
    if (!entry.is_directory() || entry.path().filename() == "keras3") continue;
    GoldenModel m;
    m.name = entry.path().filename().string();
    std::vector<fs::path> dirs;
    for (const auto& sub : fs::directory_iterator(entry.path(), ec))
      if (sub.is_directory()) dirs.push_back(sub.path());
    std::sort(dirs.begin(), dirs.end());
    std::string model_rel;
    for (const auto& d : dirs) m.inputs.push_back(ReadGoldenInput(d, &model_rel));
    if (!model_rel.empty()) m.model_path = SharedDir() + "/" + model_rel;
    models.push_back(std::move(m));
  }
  std::sort(models.begin(), models.end(),
            [](const GoldenModel& a, const GoldenModel& b) { return a.name < b.name; });
  return models;
}

// gtest parameter names allow only [A-Za-z0-9_].
inline std::string TestNameSafe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

}  // namespace ql::testing
