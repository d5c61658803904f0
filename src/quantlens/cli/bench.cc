// `quantlens bench MODEL`: latency of quantlens's interpreter on one fixed input, peak memory, a
// per-op profile, and (--compare-tflite) the genuine TFLite 2.9 runtime on the same file and bytes.
// What is measured and how: docs/bench.md.
#include <algorithm>
#include <iostream>
#include <optional>
#include <span>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "quantlens/bench/latency.h"
#include "quantlens/bench/tflite_runtime.h"
#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/sample_source.h"
#include "quantlens/ir/op_type.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

// Profiled runs (op hooks installed) are extra runs after the timed ones, at most this many.
constexpr int kMaxProfileRuns = 20;
constexpr int kTopOps = 10;
constexpr int kTopTypes = 10;

double MiB(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// The fixed input: sample 0 of each --input file (read as `run` reads it), or sample 0 of
// random:1 (io/sample_source.h: floats uniform in [0, 1), integers over their whole range).
Result<std::vector<io::Array>> BenchInputs(const BenchArgs& args, const ir::Graph& g,
                                           const rt::Interpreter& interp) {
  std::vector<io::Array> inputs;
  if (args.inputs.empty()) {
    std::vector<ir::Shape> shapes;
    for (int i = 0; i < interp.num_inputs(); ++i) shapes.push_back(interp.input(i).shape);
    io::SampleSourceOptions so;
    so.max_samples = 1;
    QL_ASSIGN_OR_RETURN(auto source, io::OpenSampleSource("random:1", g, shapes, so));
    QL_ASSIGN_OR_RETURN(inputs, source->Get(0));
  } else {
    if (static_cast<int>(args.inputs.size()) != interp.num_inputs())
      return InvalidArgument("{}: the model has {} input(s) but {} --input given; pass one --input per "
                             "model input, in order (or none for random data)",
                             args.model, interp.num_inputs(), args.inputs.size());
    for (int i = 0; i < interp.num_inputs(); ++i) {
      io::InputSpec spec = io::MakeInputSpec(g.tensors[g.inputs[i]], i, interp.input(i).shape);
      QL_ASSIGN_OR_RETURN(io::Array a, io::LoadInputFile(args.inputs[i], spec, io::ImageFeedOptions{}));
      QL_ASSIGN_OR_RETURN(int64_t n, io::CountSamples(a, spec, args.inputs[i]));
      if (n > 1) a = io::SliceSample(a, 0, n, spec.sample_shape);
      inputs.push_back(std::move(a));
    }
  }
  for (int i = 0; i < interp.num_inputs(); ++i) {
    if (inputs[i].data.size() != interp.input(i).bytes())
      return InvalidArgument("{}: input {} needs {} bytes, the data gives {}", args.model, i,
                             interp.input(i).bytes(), inputs[i].data.size());
  }
  return inputs;
}

Status SetInputs(rt::Interpreter& interp, const std::vector<io::Array>& inputs) {
  for (int i = 0; i < interp.num_inputs(); ++i)
    QL_RETURN_IF_ERROR(interp.SetInput(i, inputs[i].data.data(), inputs[i].data.size()));
  return Status::Ok();
}

struct GenuineResult {
  bench::LatencyStats stats;
  bool outputs_identical = false;  // every output byte for byte equal to quantlens's
};

Result<GenuineResult> TimeGenuine(std::shared_ptr<const bench::GenuineTflite> lib, const BenchArgs& args,
                                  bool xnnpack, const std::vector<io::Array>& inputs,
                                  const std::vector<std::vector<uint8_t>>& ql_outputs) {
  bench::GenuineOptions o;
  o.threads = args.threads;
  o.xnnpack = xnnpack;
  QL_ASSIGN_OR_RETURN(auto gi, bench::GenuineInterpreter::Create(std::move(lib), args.model, o));
  if (gi->num_inputs() != static_cast<int>(inputs.size()))
    return InvalidModel("{}: genuine TFLite sees {} input(s), quantlens {}", args.model, gi->num_inputs(),
                        inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    QL_RETURN_IF_ERROR(gi->SetInput(static_cast<int>(i), inputs[i].dtype, inputs[i].data));
  QL_ASSIGN_OR_RETURN(std::vector<double> times,
                      bench::TimeRuns(nullptr, [&] { return gi->Invoke(); }, args.warmup, args.iterations));
  GenuineResult r;
  r.stats = bench::Summarize(std::move(times));
  r.outputs_identical = gi->num_outputs() == static_cast<int>(ql_outputs.size());
  for (int k = 0; r.outputs_identical && k < gi->num_outputs(); ++k)
    r.outputs_identical = gi->Output(k) == ql_outputs[static_cast<size_t>(k)];
  return r;
}

nlohmann::json StatsJson(const bench::LatencyStats& s) {
  return {{"runs", s.runs},          {"median_ms", s.median_ms}, {"min_ms", s.min_ms},
          {"max_ms", s.max_ms},      {"mean_ms", s.mean_ms},     {"p25_ms", s.p25_ms},
          {"p75_ms", s.p75_ms},      {"p90_ms", s.p90_ms},       {"spread_ms", s.spread_ms},
          {"iqr_ms", s.iqr_ms}};
}

void PrintProfile(const bench::OpProfile& p) {
  std::cout << fmt::format("per-op profile ({} extra run{} with op hooks; op times sum to {:.3f} ms):\n",
                           p.runs, p.runs == 1 ? "" : "s", p.total_ms);
  std::cout << "  top op types:\n";
  for (size_t i = 0; i < p.types.size() && i < static_cast<size_t>(kTopTypes); ++i) {
    const bench::OpTypeTime& t = p.types[i];
    std::cout << fmt::format("    {:<28} {:>4} op{} {:>10.3f} ms {:>6.1f}%\n", t.type, t.count,
                             t.count == 1 ? " " : "s", t.ms, 100.0 * t.share);
  }
  std::vector<const bench::OpTime*> ops;
  for (const bench::OpTime& t : p.ops) ops.push_back(&t);
  std::stable_sort(ops.begin(), ops.end(), [](const bench::OpTime* a, const bench::OpTime* b) { return a->ms > b->ms; });
  std::cout << fmt::format("  top {} ops:\n", std::min<size_t>(kTopOps, ops.size()));
  for (size_t i = 0; i < ops.size() && i < static_cast<size_t>(kTopOps); ++i) {
    const bench::OpTime& t = *ops[i];
    std::cout << fmt::format("    {:>10.3f} ms {:>6.1f}%  {}\n", t.ms, 100.0 * t.share, Printable(t.label));
  }
}

}  // namespace

int RunBench(const BenchArgs& args) {
  auto profile = rt::ProfileFromName(args.numerics);
  if (!profile)
    return Fail(fmt::format("--numerics '{}': unknown profile (known: tflite-x86, tflite-wasm)", args.numerics));
  if (args.iterations < 1) return Fail(fmt::format("--iterations {}: must be at least 1", args.iterations));
  if (args.warmup < 0) return Fail(fmt::format("--warmup {}: must be 0 or more", args.warmup));
  if (args.threads < 1 || args.threads > 256)
    return Fail(fmt::format("--threads {}: must be between 1 and 256", args.threads));
  if (!args.json.empty()) {
    if (io::SameExistingFile(args.json, args.model))
      return Fail(fmt::format("--json {} is the model file; refusing to overwrite it", args.json));
    for (const std::string& in : args.inputs)
      if (io::SameExistingFile(args.json, in))
        return Fail(fmt::format("--json {} is also an --input; refusing to overwrite the input", args.json));
  }

  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  const ir::Graph& g = *graph;
  if (args.compare_tflite && LooksLikeKerasModel(args.model))
    return Fail(fmt::format("{}: --compare-tflite needs a .tflite model (the genuine TFLite runtime does "
                            "not read Keras files); convert it first with quantlens convert",
                            args.model));
  // Found (or not) before anything is timed, so a missing library fails fast.
  std::shared_ptr<const bench::GenuineTflite> lib;
  if (args.compare_tflite) {
    auto l = bench::GenuineTflite::Load();
    if (!l.ok()) return Fail(l.status());
    lib = std::move(l).value();
  }

  rt::InterpreterOptions opts;
  opts.reference_kernels = args.reference_kernels;
  opts.threads = args.threads;
  opts.profile = *profile;
  auto interp_or = rt::Interpreter::Create(g, opts);
  if (!interp_or.ok()) return Fail(interp_or.status());
  rt::Interpreter& interp = **interp_or;
  auto inputs = BenchInputs(args, g, interp);
  if (!inputs.ok()) return Fail(inputs.status());
  // The arena reuses an input's memory once its last reader ran: inputs are set again (untimed)
  // before every run. The genuine runtime keeps its inputs and gets them once.
  const auto set_inputs = [&] { return SetInputs(interp, *inputs); };

  // Latency: no hooks or observers installed.
  auto times = bench::TimeRuns(set_inputs, [&] { return interp.Invoke(); }, args.warmup, args.iterations);
  if (!times.ok()) return Fail(times.status());
  const bench::LatencyStats stats = bench::Summarize(std::move(times).value());
  std::vector<std::vector<uint8_t>> ql_outputs;
  for (int k = 0; k < interp.num_outputs(); ++k) {
    const auto* p = static_cast<const uint8_t*>(interp.output(k).data);
    ql_outputs.emplace_back(p, p + (p ? interp.output(k).bytes() : 0));
  }
  // Profile: separate runs, with the op hook.
  const int profile_runs = std::min(args.iterations, kMaxProfileRuns);
  auto prof = bench::ProfileOps(interp, set_inputs, profile_runs);
  if (!prof.ok()) return Fail(prof.status());
  // Before the genuine runtime allocates anything in this process.
  const int64_t peak_rss = bench::PeakRssBytes();
  const int64_t arena = static_cast<int64_t>(interp.arena_bytes());
  const int64_t folded = static_cast<int64_t>(interp.static_bytes());
  const int64_t weights = bench::WeightBytes(g);
  const int64_t scratch = static_cast<int64_t>(interp.scratch_bytes());

  std::optional<GenuineResult> builtin, xnnpack;
  int64_t peak_rss_after_tflite = 0;
  if (args.compare_tflite) {
    auto b = TimeGenuine(lib, args, false, *inputs, ql_outputs);
    if (!b.ok()) return Fail(b.status());
    builtin = *b;
    auto x = TimeGenuine(lib, args, true, *inputs, ql_outputs);
    if (!x.ok()) return Fail(x.status());
    xnnpack = *x;
    peak_rss_after_tflite = bench::PeakRssBytes();
  }

  if (!args.json.empty()) {
    nlohmann::json j;
    j["model"] = args.model;
    j["numerics"] = std::string(rt::ProfileName(*profile));
    j["input"] = args.inputs.empty() ? nlohmann::json("random:1") : nlohmann::json(args.inputs);
    j["iterations"] = args.iterations;
    j["warmup"] = args.warmup;
    j["threads"] = args.threads;
    j["quantlens_threads"] = args.threads;
    j["median_ms"] = stats.median_ms;
    j["min_ms"] = stats.min_ms;
    j["max_ms"] = stats.max_ms;
    j["mean_ms"] = stats.mean_ms;
    j["p90_ms"] = stats.p90_ms;
    j["spread_ms"] = stats.spread_ms;
    j["iqr_ms"] = stats.iqr_ms;
    j["peak_rss_bytes"] = peak_rss;
    j["arena_bytes"] = arena;
    j["static_bytes"] = folded;
    j["weight_bytes"] = weights;
    j["scratch_bytes"] = scratch;
    j["profile_runs"] = prof->runs;
    j["profile_total_ms"] = prof->total_ms;
    nlohmann::json types = nlohmann::json::array();
    for (const bench::OpTypeTime& t : prof->types)
      types.push_back({{"type", t.type}, {"count", t.count}, {"ms", t.ms}, {"share", t.share}});
    j["per_op_type"] = std::move(types);
    nlohmann::json ops = nlohmann::json::array();
    for (const bench::OpTime& t : prof->ops)
      ops.push_back({{"index", t.index}, {"type", t.type}, {"label", Printable(t.label)}, {"folded", t.folded},
                     {"ms", t.ms}, {"share", t.share}});
    j["per_op"] = std::move(ops);
    if (builtin && xnnpack) {
      j["tflite_library"] = lib->path();
      j["tflite_version"] = lib->version();
      j["tflite_builtin"] = StatsJson(builtin->stats);
      j["tflite_xnnpack"] = StatsJson(xnnpack->stats);
      j["tflite_builtin_median_ms"] = builtin->stats.median_ms;
      j["tflite_xnnpack_median_ms"] = xnnpack->stats.median_ms;
      j["ratio_builtin"] = builtin->stats.median_ms > 0 ? stats.median_ms / builtin->stats.median_ms : 0.0;
      j["ratio_xnnpack"] = xnnpack->stats.median_ms > 0 ? stats.median_ms / xnnpack->stats.median_ms : 0.0;
      j["tflite_builtin_outputs_identical"] = builtin->outputs_identical;
      j["tflite_xnnpack_outputs_identical"] = xnnpack->outputs_identical;
      j["peak_rss_with_tflite_bytes"] = peak_rss_after_tflite;
    }
    const std::string text = j.dump(1) + "\n";
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    if (Status st = io::WriteFileAtomic(args.json, bytes); !st.ok()) return Fail(st);
  }

  std::cout << fmt::format("model: {} ({}, {} ops)\n", Printable(args.model), rt::ProfileName(*profile),
                           g.ops.size());
  std::cout << fmt::format("input: {}\n", args.inputs.empty() ? std::string("random data, seed 1")
                                                              : Printable(fmt::format("{}", fmt::join(args.inputs, ", "))));
  std::cout << fmt::format("runs: {} warm-up, {} timed; {} thread{}\n", args.warmup, args.iterations,
                           args.threads, args.threads == 1 ? "" : "s");
  std::cout << fmt::format("latency: median {:.3f} ms  min {:.3f} ms  p90 {:.3f} ms  spread (max-min) {:.3f} ms  "
                           "IQR {:.3f} ms\n",
                           stats.median_ms, stats.min_ms, stats.p90_ms, stats.spread_ms, stats.iqr_ms);
  std::cout << fmt::format("memory: peak RSS {:.1f} MiB; planned: arena {:.2f} MiB + folded {:.2f} MiB + "
                           "weights {:.2f} MiB + kernel scratch {:.2f} MiB = {:.2f} MiB\n",
                           MiB(peak_rss), MiB(arena), MiB(folded), MiB(weights), MiB(scratch),
                           MiB(arena + folded + weights + scratch));
  PrintProfile(*prof);
  if (builtin && xnnpack) {
    std::cout << fmt::format("genuine TFLite {} ({}), {} thread{}:\n", lib->version(), Printable(lib->path()),
                             args.threads, args.threads == 1 ? "" : "s");
    std::cout << fmt::format("  {:<22} {:>10.3f} ms median\n", "quantlens", stats.median_ms);
    auto line = [&](const char* name, const GenuineResult& r) {
      const double ratio = r.stats.median_ms > 0 ? stats.median_ms / r.stats.median_ms : 0.0;
      std::cout << fmt::format("  {:<22} {:>10.3f} ms median  quantlens/tflite {:.2f}x  outputs {}\n", name,
                               r.stats.median_ms, ratio, r.outputs_identical ? "identical" : "differ");
    };
    line("tflite builtin", *builtin);
    line("tflite xnnpack", *xnnpack);
  }
  std::cout.flush();
  return std::cout ? kExitOk : Fail("cannot write to standard output");
}

}  // namespace ql::cli
