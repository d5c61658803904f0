// `quantlens run MODEL --input FILE...`: feed inputs, run, and print or save the outputs.
#include <iostream>

#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"
#include "quantlens/cli/progress.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/npz.h"
#include "quantlens/io/results.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/runtime/run_util.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

Status CheckOutputPath(const RunArgs& args) {
  if (args.output.empty()) return Status::Ok();
  if (io::SameExistingFile(args.output, args.model)) {
    return InvalidArgument("--output {} is the model file; refusing to overwrite it", args.output);
  }
  for (const std::string& in : args.inputs) {
    if (io::SameExistingFile(args.output, in)) {
      return InvalidArgument("--output {} is also an --input; refusing to overwrite the input",
                             args.output);
    }
  }
  return Status::Ok();
}

// Prints the best `k` classes of output 0 per sample. Fails before printing anything when output
// 0 cannot be read as scores.
Status PrintTop(const rt::RunOutputs& res, const ir::Graph& g, const std::string& model, int k,
                std::vector<std::string> labels) {
  if (res.outputs.empty()) return InvalidModel("{}: the model has no outputs", model);
  const io::Array& out0 = res.outputs[0].array;
  const ir::Quantization& q = g.tensors[g.outputs[0]].quant;
  auto values = io::Dequantize(out0, q);
  if (!values.ok()) return values.status().WithContext(fmt::format("{}: --top: output 0: ", model));
  const int64_t n = res.num_samples;
  if (n <= 0 || values->empty() || values->size() % static_cast<size_t>(n) != 0)
    return InvalidModel("{}: --top: output 0 has {} values, which do not split into {} samples",
                        model, values->size(), n);
  const size_t per = values->size() / static_cast<size_t>(n);
  labels = io::AlignLabels(std::move(labels), static_cast<int64_t>(per));
  for (int64_t s = 0; s < n; ++s) {
    if (n > 1) std::cout << "sample " << s << ":\n";
    const auto begin = values->begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(s) * per);
    std::vector<double> scores(begin, begin + static_cast<std::ptrdiff_t>(per));
    int rank = 1;
    for (const io::ScoredClass& c : io::TopK(scores, k)) {
      const std::string label =
          c.index < static_cast<int64_t>(labels.size()) ? Printable(labels[c.index]) : "";
      std::cout << fmt::format("{:>3}. {:>6}  {:.6f}  {}\n", rank++, c.index, c.score, label);
    }
  }
  return Status::Ok();
}

}  // namespace

int RunRun(const RunArgs& args) {
  auto profile = rt::ProfileFromName(args.numerics);
  if (!profile) {
    return Fail(fmt::format("--numerics '{}': unknown profile (known: tflite-x86, tflite-wasm)",
                            args.numerics));
  }
  if (args.top < 0) return Fail(fmt::format("--top {}: must be positive", args.top));
  if (Status st = CheckOutputPath(args); !st.ok()) return Fail(st);
  io::ImageFeedOptions image_opts;
  if (!args.resize.empty()) {
    auto size = ParseResize(args.resize);
    if (!size.ok()) return Fail(size.status());
    image_opts.resize_h = size->first;
    image_opts.resize_w = size->second;
  }
  image_opts.scale = args.scale;
  image_opts.offset = args.offset;
  if (args.grayscale) image_opts.grayscale = true;
  std::vector<std::string> labels;
  if (!args.labels.empty()) {
    auto l = io::ReadLabels(args.labels);
    if (!l.ok()) return Fail(l.status());
    labels = std::move(l).value();
  }

  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  const ir::Graph& g = *graph;
  rt::InterpreterOptions opts;
  opts.reference_kernels = args.reference_kernels;
  opts.threads = args.threads;
  opts.profile = *profile;
  auto interp_or = rt::Interpreter::Create(g, opts);
  if (!interp_or.ok()) return Fail(interp_or.status());
  rt::Interpreter& interp = **interp_or;

  if (static_cast<int>(args.inputs.size()) != interp.num_inputs()) {
    std::string expected;
    for (int i = 0; i < interp.num_inputs(); ++i) {
      const ir::Tensor& t = g.tensors[g.inputs[i]];
      expected += fmt::format("{}{} {} {}", i ? "; " : "", t.name, ir::DTypeName(t.dtype),
                              ir::ShapeToString(t.shape));
    }
    return Fail(fmt::format("{}: the model has {} input(s) ({}) but {} --input given; pass one "
                            "--input per model input, in order",
                            args.model, interp.num_inputs(), expected, args.inputs.size()));
  }
  std::vector<io::Array> inputs;
  int64_t samples = 1;
  for (int i = 0; i < interp.num_inputs(); ++i) {
    io::InputSpec spec = io::MakeInputSpec(g.tensors[g.inputs[i]], i, interp.input(i).shape);
    auto a = io::LoadInputFile(args.inputs[i], spec, image_opts);
    if (!a.ok()) return Fail(a.status());
    auto n = io::CountSamples(*a, spec, args.inputs[i]);
    if (!n.ok()) return Fail(n.status());
    samples = std::max(samples, *n);
    inputs.push_back(std::move(a).value());
  }

  ProgressBar progress(samples);
  rt::RunOptions run_opts;
  run_opts.capture_all_tensors = args.all_tensors;
  run_opts.batch = args.batch;
  run_opts.on_sample_done = [&](int64_t done, int64_t total) { progress.Update(done); };
  auto res = rt::RunSamples(interp, inputs, run_opts);
  progress.Finish();
  if (!res.ok()) return Fail(res.status());
  if (args.batch > 1 && samples >= args.batch)
    std::cerr << (res->batch > 1 ? fmt::format("ran in batches of {}\n", res->batch)
                                 : std::string("ran one sample at a time: the model does not take a batch "
                                               "(an input or output without a batch dimension of 1, or an op "
                                               "that mixes samples)\n"));

  if (!args.output.empty()) {
    std::vector<io::NamedArray> arrays = res->outputs;
    for (io::NamedArray& t : res->tensors) arrays.push_back(std::move(t));
    if (Status st = io::WriteNpz(args.output, arrays); !st.ok()) return Fail(st);
  }
  if (args.top > 0) {
    if (Status st = PrintTop(*res, g, args.model, args.top, labels); !st.ok()) return Fail(st);
  } else if (args.output.empty()) {
    for (size_t k = 0; k < res->outputs.size(); ++k) {
      const ir::Tensor& t = g.tensors[g.outputs[k]];
      std::cout << fmt::format("output{} '{}': {}\n", k, Printable(t.name),
                               io::SummarizeArray(res->outputs[k].array, t.quant));
    }
  }
  std::cout.flush();
  return std::cout ? kExitOk : Fail("cannot write to standard output");
}

}  // namespace ql::cli
