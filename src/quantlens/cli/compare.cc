// `quantlens compare REFERENCE CANDIDATE --data DATA`: output metrics of two models on the same
// samples, as a table and optionally JSON.
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/layer_compare.h"
#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"
#include "quantlens/cli/progress.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

double Pct(int64_t a, int64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0; }

// JSON has no infinity: identical outputs report SQNR as null.
nlohmann::json Finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json ToJson(const CompareArgs& args, const analysis::CompareResult& r) {
  nlohmann::json j;
  j["reference"] = args.reference;
  j["candidate"] = args.candidate;
  j["data"] = r.data_description;
  j["samples"] = r.num_samples;
  for (const auto& o : r.outputs) {
    const auto& m = o.metrics;
    nlohmann::json e;
    e["reference_name"] = o.reference_name;
    e["candidate_name"] = o.candidate_name;
    e["mean_abs_diff"] = m.mean_abs;
    e["max_abs_diff"] = m.max_abs;
    e["rmse"] = m.rmse;
    e["sqnr_db"] = Finite(m.sqnr_db);
    e["cosine"] = m.cosine;
    if (m.classifier) {
      e["top1_agreement"] = Pct(m.top1_agree, m.num_samples) / 100;
      e["top5_agreement"] = Pct(m.top5_agree, m.num_samples) / 100;
      if (m.labelled) {
        e["reference_accuracy"] = Pct(m.ref_correct, m.labelled) / 100;
        e["candidate_accuracy"] = Pct(m.cand_correct, m.labelled) / 100;
      }
      nlohmann::json flips = nlohmann::json::array();
      for (const auto& f : o.flips)
        flips.push_back({{"sample", f.index}, {"reference_class", f.ref_class},
                         {"candidate_class", f.cand_class}});
      e["flips"] = flips;
    }
    nlohmann::json worst = nlohmann::json::array();
    for (const auto& w : o.worst)
      worst.push_back({{"sample", w.index}, {"max_abs_diff", w.max_abs}, {"mean_abs_diff", w.mean_abs}});
    e["worst_samples"] = worst;
    j["outputs"].push_back(e);
  }
  return j;
}

void PrintText(const analysis::CompareResult& r) {
  std::cout << fmt::format("{} samples of {}\n", r.num_samples, Printable(r.data_description));
  for (size_t k = 0; k < r.outputs.size(); ++k) {
    const auto& o = r.outputs[k];
    const auto& m = o.metrics;
    std::cout << fmt::format("output {} '{}' vs '{}':\n", k, Printable(o.reference_name),
                             Printable(o.candidate_name));
    std::cout << fmt::format("  mean |diff| {:.6g}  max |diff| {:.6g}  RMSE {:.6g}  SQNR {} dB  "
                             "cosine {:.6f}\n", m.mean_abs, m.max_abs, m.rmse,
                             std::isfinite(m.sqnr_db) ? fmt::format("{:.2f}", m.sqnr_db) : "inf",
                             m.cosine);
    if (m.classifier) {
      std::cout << fmt::format("  top-1 agreement {:.2f}% ({} of {}), top-5 {:.2f}%, {} class flips\n",
                               Pct(m.top1_agree, m.num_samples), m.top1_agree, m.num_samples,
                               Pct(m.top5_agree, m.num_samples), o.flips.size());
      if (m.labelled)
        std::cout << fmt::format("  accuracy: reference {:.2f}%, candidate {:.2f}% ({} labelled)\n",
                                 Pct(m.ref_correct, m.labelled), Pct(m.cand_correct, m.labelled),
                                 m.labelled);
    }
    if (!o.worst.empty()) {
      std::cout << "  worst samples:";
      for (const auto& w : o.worst) std::cout << fmt::format(" #{} ({:.4g})", w.index, w.max_abs);
      std::cout << "\n";
    }
  }
}

// --- compare --layers ---
std::string Db(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : (v > 0 ? "inf" : "-inf"); }

// Table cell: long TensorFlow converter names are cut to `width` (the JSON keeps them whole).
std::string Cell(const std::string& s, size_t width) {
  std::string p = Printable(s);
  return p.size() <= width ? p : p.substr(0, width - 3) + "...";
}

nlohmann::json LayersJson(const analysis::LayerCompareResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers)
    layers.push_back({{"layer", l.pair.layer}, {"node", l.pair.node},
                      {"candidate_tensor", l.candidate_name},
                      {"candidate_dtype", std::string(ir::DTypeName(l.candidate_dtype))},
                      {"aligned_by", std::string(analysis::AlignMethodName(l.pair.method))},
                      {"sqnr_db", Finite(l.metrics.sqnr_db)}, {"sqnr_drop_db", Finite(l.sqnr_drop_db)},
                      {"mean_abs_diff", l.metrics.mean_abs}, {"max_abs_diff", l.metrics.max_abs},
                      {"cosine", l.metrics.cosine}});
  return layers;
}

nlohmann::json UnalignedJson(const std::vector<analysis::UnalignedLayer>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& u : v) a.push_back({{"name", u.name}, {"reason", u.reason}});
  return a;
}

void PrintLayers(const analysis::LayerCompareResult& r) {
  std::cout << fmt::format("\nper layer ({} aligned, reference execution order):\n", r.layers.size());
  std::cout << fmt::format("  {:<28} {:<40} {:<8} {:>9} {:>9} {:>11} {:>11}  {}\n", "layer",
                           "candidate tensor", "dtype", "SQNR dB", "drop dB", "mean|diff|",
                           "max|diff|", "aligned by");
  for (const auto& l : r.layers)
    std::cout << fmt::format("  {:<28} {:<40} {:<8} {:>9} {:>9} {:>11.4g} {:>11.4g}  {}\n",
                             Cell(l.pair.layer, 28), Cell(l.candidate_name, 40),
                             ir::DTypeName(l.candidate_dtype), Db(l.metrics.sqnr_db),
                             Db(l.sqnr_drop_db), l.metrics.mean_abs, l.metrics.max_abs,
                             analysis::AlignMethodName(l.pair.method));
  const auto print_unaligned = [](const char* side, const std::vector<analysis::UnalignedLayer>& v) {
    if (v.empty()) return;
    std::cout << fmt::format("unaligned {} ({}):\n", side, v.size());
    for (const auto& u : v)
      std::cout << fmt::format("  {}: {}\n", Printable(u.name), Printable(u.reason));
  };
  print_unaligned("reference layers", r.unaligned_reference);
  print_unaligned("candidate entries", r.unaligned_candidate);
  const auto worst = analysis::WorstSqnrDrops(r, 3);
  if (!worst.empty()) {
    std::cout << "largest SQNR drops (where the error enters):\n";
    for (size_t i : worst)
      std::cout << fmt::format("  {} ({}): {} dB -> {} dB\n", Printable(r.layers[i].pair.layer),
                               Cell(r.layers[i].candidate_name, 60),
                               i ? Db(r.layers[i - 1].metrics.sqnr_db) : "-",
                               Db(r.layers[i].metrics.sqnr_db));
  }
}

}  // namespace

int RunCompare(const CompareArgs& args) {
  analysis::CompareOptions opts;
  opts.data = args.data;
  auto rp = rt::ProfileFromName(args.reference_numerics);
  auto cp = rt::ProfileFromName(args.candidate_numerics);
  if (!rp) return Fail(fmt::format("--reference-numerics '{}': unknown profile (known: tflite-x86, tflite-wasm)", args.reference_numerics));
  if (!cp) return Fail(fmt::format("--candidate-numerics '{}': unknown profile (known: tflite-x86, tflite-wasm)", args.candidate_numerics));
  opts.reference_profile = *rp;
  opts.candidate_profile = *cp;
  if (args.samples == 0 || args.samples < -1)
    return Fail(fmt::format("--samples {}: must be a positive count", args.samples));
  opts.data_options.max_samples = args.samples;
  if (!args.resize.empty()) {
    auto size = ParseResize(args.resize);
    if (!size.ok()) return Fail(size.status());
    opts.data_options.image.resize_h = size->first;
    opts.data_options.image.resize_w = size->second;
  }
  opts.data_options.image.scale = args.scale;
  opts.data_options.image.offset = args.offset;
  if (args.grayscale) opts.data_options.image.grayscale = true;
  for (const std::string* in : {&args.reference, &args.candidate, &args.data})
    if (!args.json.empty() && io::SameExistingFile(args.json, *in))
      return Fail(fmt::format("--json {} is one of the inputs; refusing to overwrite it", args.json));

  auto ref = LoadModel(args.reference);
  if (!ref.ok()) return Fail(ref.status());
  auto cand = LoadModel(args.candidate);
  if (!cand.ok()) return Fail(cand.status());
  std::unique_ptr<ProgressBar> bar;
  opts.progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>(total);
    bar->Update(done);
  };
  auto res = analysis::CompareModels(*ref, *cand, opts);
  if (bar) bar->Finish();
  if (!res.ok()) return Fail(res.status());
  std::optional<analysis::LayerCompareResult> layers;
  if (args.layers) {
    bar.reset();
    auto lr = analysis::CompareLayers(*ref, *cand, opts);
    if (bar) bar->Finish();
    if (!lr.ok()) return Fail(lr.status().WithContext("--layers: "));
    layers = std::move(*lr);
  }
  if (!args.json.empty()) {
    nlohmann::json j = ToJson(args, *res);
    if (layers) {
      j["layers"] = LayersJson(*layers);
      j["unaligned_reference_layers"] = UnalignedJson(layers->unaligned_reference);
      j["unaligned_candidate"] = UnalignedJson(layers->unaligned_candidate);
    }
    const std::string text = j.dump(1) + "\n";
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    if (Status st = io::WriteFileAtomic(args.json, bytes); !st.ok()) return Fail(st);
  }
  PrintText(*res);
  if (layers) PrintLayers(*layers);
  std::cout.flush();
  return std::cout ? kExitOk : Fail("cannot write to standard output");
}

}  // namespace ql::cli
