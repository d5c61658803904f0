// `quantlens compare REFERENCE CANDIDATE --data DATA`: output metrics of two models on the same
// samples; with --layers where the error enters, why, and what fixes it (--try-fixes measures the
// fixes). Writes a terminal summary, and on request JSON (docs/compare_report.md) and HTML.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/fail_if.h"
#include "quantlens/analysis/report_json.h"
#include "quantlens/analysis/try_fixes.h"
#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"
#include "quantlens/cli/progress.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/io/results.h"
#include "quantlens/report/html_report.h"
#include "quantlens/report/png.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

double Pct(int64_t a, int64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0; }
std::string Db(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : (v > 0 ? "inf" : "-inf"); }

// Table cell: long TensorFlow converter names are cut to `width` (the JSON keeps them whole).
std::string Cell(const std::string& s, size_t width) {
  std::string p = Printable(s);
  return p.size() <= width ? p : p.substr(0, width - 3) + "...";
}

void PrintOutputs(const analysis::CompareResult& r) {
  std::cout << fmt::format("{} samples of {}\n", r.num_samples, Printable(r.data_description));
  for (size_t k = 0; k < r.outputs.size(); ++k) {
    const auto& o = r.outputs[k];
    const auto& m = o.metrics;
    std::cout << fmt::format("output {} '{}' vs '{}':\n", k, Printable(o.reference_name),
                             Printable(o.candidate_name));
    std::cout << fmt::format("  mean |diff| {:.6g}  max |diff| {:.6g}  RMSE {:.6g}  SQNR {} dB  "
                             "cosine {:.6f}\n", m.mean_abs, m.max_abs, m.rmse, Db(m.sqnr_db), m.cosine);
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

const analysis::TensorStats& Iso(const analysis::LayerReport& l) {
  return l.isolated ? *l.isolated : l.accumulated;
}

void PrintAnalysis(const analysis::CompareResult& r) {
  if (!r.findings.empty()) {
    std::cout << "\nfindings:\n";
    for (const auto& f : r.findings)
      std::cout << fmt::format("  {}: {}\n    remedy: {}\n", analysis::CauseName(f.cause),
                               Printable(f.evidence), Printable(f.remedy.text));
  }
  if (r.budget) {
    const auto& b = *r.budget;
    std::cout << fmt::format("\nerror budget (output MSE {:.4g}): weight quantization {:.0f}%, activation "
                             "quantization {:.0f}%, kernel numerics {:.0f}%\n",
                             b.total_mse, 100 * b.weight.share, 100 * b.activation.share, 100 * b.kernel.share);
  } else if (!r.budget_note.empty()) {
    std::cout << fmt::format("\nno error budget: {}\n", r.budget_note);
  }
  std::vector<const analysis::LayerReport*> ranked;
  for (const auto& l : r.layers)
    if (l.rank > 0) ranked.push_back(&l);
  std::sort(ranked.begin(), ranked.end(), [](auto* a, auto* b) { return a->rank < b->rank; });
  if (!ranked.empty()) {
    std::cout << "\nwhere the error enters (layers ranked by the error they add on their own):\n";
    for (size_t i = 0; i < ranked.size() && i < 5; ++i) {
      const auto& l = *ranked[i];
      std::cout << fmt::format("  #{} {} ({} {}): isolated SQNR {} dB, accumulated {} dB\n     {}: {}\n     "
                               "remedy: {}\n", l.rank, Printable(l.pair.layer), l.candidate_op,
                               ir::DTypeName(l.candidate_dtype), Db(Iso(l).sqnr_db), Db(l.accumulated.sqnr_db),
                               analysis::CauseName(l.cause), Printable(l.evidence), Printable(l.remedy.text));
    }
  }
  std::cout << fmt::format("\nper layer ({} aligned, reference execution order):\n", r.layers.size());
  std::cout << fmt::format("  {:>4} {:<26} {:<34} {:<18} {:>8} {:>8} {:>8} {:>7}  {:<13} {}\n", "rank", "layer",
                           "candidate tensor", "op", "iso dB", "acc dB", "steps", "clip%", "aligned by",
                           "cause");
  for (const auto& l : r.layers) {
    const auto& s = Iso(l);
    std::cout << fmt::format("  {:>4} {:<26} {:<34} {:<18} {:>8} {:>8} {:>8} {:>7}  {:<13} {}\n",
                             l.rank ? std::to_string(l.rank) : "-", Cell(l.pair.layer, 26),
                             Cell(l.candidate_name, 34), Cell(l.candidate_op, 18), Db(s.sqnr_db),
                             Db(l.accumulated.sqnr_db),
                             s.rmse_over_step ? fmt::format("{:.2f}", *s.rmse_over_step) : "-",
                             s.clipped_share ? fmt::format("{:.2f}", 100 * *s.clipped_share) : "-",
                             analysis::AlignMethodName(l.pair.method), analysis::CauseName(l.cause));
  }
  const auto print_unaligned = [](const char* side, const std::vector<analysis::UnalignedLayer>& v) {
    if (v.empty()) return;
    std::cout << fmt::format("unmatched {} ({}):\n", side, v.size());
    for (const auto& u : v) std::cout << fmt::format("  {}: {}\n", Printable(u.name), Printable(u.reason));
  };
  print_unaligned("reference layers", r.unaligned_reference);
  print_unaligned("candidate tensors", r.unaligned_candidate);
}

void PrintFixes(const std::vector<analysis::FixResult>& fixes) {
  if (fixes.empty()) {
    std::cout << "\n--try-fixes: no remedy quantlens can apply by itself\n";
    return;
  }
  std::cout << "\nfixes tried (output 0):\n";
  auto metrics = [](const analysis::FixMetrics& m) {
    return fmt::format("SQNR {} dB{}", Db(m.sqnr_db),
                       m.top1_agreement ? fmt::format(", top-1 {:.2f}%", 100 * *m.top1_agreement) : "");
  };
  for (const auto& f : fixes) {
    std::cout << fmt::format("  {} ({}{}): {}\n    {}\n", Printable(f.remedy), analysis::CauseName(f.cause),
                             f.layer.empty() ? "" : " at " + Printable(f.layer),
                             f.after ? metrics(f.before) + " -> " + metrics(*f.after) : "not applied: " + Printable(f.error),
                             Printable(f.command));
  }
}

// A thumbnail of an image input ([1, H, W, C] or [H, W, C], C = 1 or 3) for the HTML report.
std::string Thumbnail(const io::Array& a) {
  ir::Shape s = a.shape;
  if (s.size() == 4 && s[0] == 1) s.erase(s.begin());
  if (s.size() != 3 || (s[2] != 1 && s[2] != 3) || s[0] < 4 || s[1] < 4 || s[0] > 4096 || s[1] > 4096) return "";
  const int64_t n = a.num_elements();
  auto values = io::Dequantize(a, {});
  if (!values.ok()) return "";
  double lo = (*values)[0], hi = (*values)[0];
  for (double v : *values) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // Pixels as they were (uint8) or stretched to the sample's own range (float data).
  const bool raw = a.dtype == ir::DType::kUInt8;
  std::vector<uint8_t> px(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double v = raw ? (*values)[i] : (hi > lo ? ((*values)[i] - lo) / (hi - lo) * 255.0 : 0.0);
    px[i] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
  }
  return report::PngDataUri(px, static_cast<int>(s[0]), static_cast<int>(s[1]), static_cast<int>(s[2]));
}

Status WriteText(const std::string& path, const std::string& text) {
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  return io::WriteFileAtomic(path, bytes);
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
  opts.reference_kernels = args.reference_kernels;
  opts.threads = args.threads;
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
  opts.layers = args.layers || !args.html.empty() || args.try_fixes;
  std::vector<analysis::FailCondition> gate;
  if (!args.fail_if.empty()) {
    auto g = analysis::ParseFailIf(args.fail_if);
    if (!g.ok()) return Fail(g.status());
    gate = std::move(*g);
  }
  for (const std::string* out : {&args.json, &args.html}) {
    if (out->empty()) continue;
    for (const std::string* in : {&args.reference, &args.candidate, &args.data, &args.fix_calibration})
      if (!in->empty() && io::SameExistingFile(*out, *in))
        return Fail(fmt::format("{} is one of the inputs; refusing to overwrite it", *out));
  }
  if (!args.json.empty() && args.json == args.html)
    return Fail(fmt::format("--json and --html both name {}", args.json));

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

  std::vector<analysis::FixResult> fixes;
  if (args.try_fixes) {
    analysis::TryFixOptions fo;
    fo.reference_path = args.reference;
    fo.data_label = args.data;
    fo.calibration = args.fix_calibration;
    if (!args.resize.empty()) fo.data_flags += " --resize " + args.resize;
    if (args.scale) fo.data_flags += fmt::format(" --scale {}", *args.scale);
    if (args.offset) fo.data_flags += fmt::format(" --offset {}", *args.offset);
    if (args.grayscale) fo.data_flags += " --grayscale";
    std::cerr << "quantlens: trying fixes\n";
    auto f = analysis::TryFixes(*ref, *cand, *res, opts, fo);
    if (!f.ok()) return Fail(f.status().WithContext("--try-fixes: "));
    fixes = std::move(*f);
  }

  analysis::ReportInfo info;
  info.reference = args.reference;
  info.candidate = args.candidate;
  if (!args.html.empty())
    for (const auto& [s, a] : res->flip_inputs)
      if (std::string uri = Thumbnail(a); !uri.empty()) info.flip_images.emplace_back(s, std::move(uri));
  const nlohmann::json report = analysis::CompareReportJson(*res, info, fixes);
  if (!args.json.empty())
    if (Status st = WriteText(args.json, report.dump(1) + "\n"); !st.ok()) return Fail(st);
  if (!args.html.empty()) {
    auto html = report::RenderCompareHtml(report);
    if (!html.ok()) return Fail(html.status());
    if (Status st = WriteText(args.html, *html); !st.ok()) return Fail(st);
  }

  PrintOutputs(*res);
  if (opts.layers) PrintAnalysis(*res);
  if (args.try_fixes) PrintFixes(fixes);
  int code = kExitOk;
  if (!gate.empty()) {
    auto held = analysis::EvaluateFailIf(gate, report);
    if (!held.ok()) return Fail(held.status());
    for (const std::string& h : *held) std::cout << fmt::format("--fail-if: {} holds\n", h);
    if (!held->empty()) code = 1;
  }
  std::cout.flush();
  return std::cout ? code : Fail("cannot write to standard output");
}

}  // namespace ql::cli
