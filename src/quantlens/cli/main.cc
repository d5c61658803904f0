// quantlens command line: argument parsing and dispatch. The subcommands live in their own files
// and the real work in the library, so this file only knows the interface.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"

namespace ql::cli {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"quantlens: run TFLite and Keras models exactly as their runtimes do, and explain "
               "the differences"};
  app.require_subcommand(1);

  InspectArgs inspect;
  CLI::App* inspect_cmd = app.add_subcommand("inspect", "Describe a model: inputs, outputs, ops, sizes");
  inspect_cmd->add_option("MODEL", inspect.model, "Model file (.tflite, .h5, .keras)")->required();
  inspect_cmd->add_flag("--json", inspect.json, "Print JSON instead of text");

  RunArgs run;
  float scale = 1.0f, offset = 0.0f;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a model on inputs");
  run_cmd->add_option("MODEL", run.model, "Model file (.tflite, .h5, .keras)")->required();
  run_cmd->add_option("--input", run.inputs,
                      "Input file (.npy, .npz with array 'x', PNG/JPEG/BMP); one per model input, in order")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run_cmd->add_option("--numerics", run.numerics, "Numerics profile: tflite-x86 (default), tflite-wasm");
  run_cmd->add_option("--output", run.output, "Write outputs (output<k>) to this .npz");
  run_cmd->add_flag("--all-tensors", run.all_tensors, "Also write every operator output (t<index>) to --output");
  run_cmd->add_option("--top", run.top, "Print the top K classes of output 0");
  run_cmd->add_option("--labels", run.labels, "Class labels, one per line (for --top)");
  run_cmd->add_option("--resize", run.resize, "Resize images to HxW (default: the model input's size)");
  CLI::Option* scale_opt = run_cmd->add_option("--scale", scale, "Image value = pixel * S + O");
  CLI::Option* offset_opt = run_cmd->add_option("--offset", offset, "Image value = pixel * S + O");
  run_cmd->add_flag("--grayscale", run.grayscale, "Decode images as grayscale");
  run_cmd->add_flag("--reference-kernels", run.reference_kernels, "Run only the reference kernels (the normative arithmetic), no optimized variant");
  run_cmd->add_option("--threads", run.threads, "Threads an op may split its work over (default 1; results do not depend on it)")
      ->check(CLI::Range(1, 256));
  run_cmd->add_option("--batch", run.batch,
                      "Run this many samples at once where the model allows (default 16; 1: one at a time; "
                      "outputs are identical either way)")
      ->check(CLI::Range(1, 4096));

  ConvertArgs convert;
  float conv_scale = 1.0f, conv_offset = 0.0f;
  CLI::App* convert_cmd = app.add_subcommand(
      "convert", "Convert a Keras model or a float .tflite to .tflite (float32, float16, dynamic range, int8, int16x8)");
  convert_cmd->add_option("MODEL", convert.model, "Keras model (.h5, .keras) or float .tflite")->required();
  convert_cmd->add_option("-o,--output", convert.output, "The .tflite file to write")->required();
  convert_cmd->add_option("--mode", convert.mode, "float32, float16, dynamic, int8 (default), int16x8");
  convert_cmd->add_option("--calibration", convert.calibration,
                          "Calibration samples: .npy, .npz with 'x', a folder of images, or random:SEED");
  convert_cmd->add_option("--calibration-samples", convert.calibration_samples,
                          "Use the first N samples (default: all)");
  convert_cmd->add_option("--threads", convert.threads,
                          "Threads for the calibration runs (default 1; the result does not depend on it)")
      ->check(CLI::Range(1, 256));
  convert_cmd->add_option("--calibration-method", convert.calibration_method,
                          "minmax (default, as TensorFlow), percentile:P, entropy, mse");
  convert_cmd->add_flag("--per-tensor", convert.per_tensor, "One weight scale per tensor instead of per channel");
  convert_cmd->add_flag("--bias-correction", convert.bias_correction,
                        "Remove the mean output shift of weight rounding from each bias (one more pass over the data)");
  convert_cmd->add_option("--input-type", convert.input_type, "float32 (default), int8, uint8, int16");
  convert_cmd->add_option("--output-type", convert.output_type, "float32 (default), int8, uint8, int16");
  convert_cmd->add_option("--keep-float", convert.keep_float, "Layers (or tensors) that stay float: A,B,...")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  convert_cmd->add_option("--int16", convert.int16, "Layers (or tensors) with int16 activations: A,B,...")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  convert_cmd->add_option("--resize", convert.resize, "Resize calibration images to HxW");
  CLI::Option* conv_scale_opt = convert_cmd->add_option("--scale", conv_scale, "Image value = pixel * S + O");
  CLI::Option* conv_offset_opt = convert_cmd->add_option("--offset", conv_offset, "Image value = pixel * S + O");
  convert_cmd->add_flag("--grayscale", convert.grayscale, "Decode calibration images as grayscale");

  CompareArgs compare;
  float cmp_scale = 1.0f, cmp_offset = 0.0f;
  CLI::App* compare_cmd = app.add_subcommand(
      "compare", "Compare two models (Keras vs TFLite, TFLite vs TFLite, or two numerics) on the same data");
  compare_cmd->add_option("REFERENCE", compare.reference, "Reference model (.h5, .keras, .tflite)")->required();
  compare_cmd->add_option("CANDIDATE", compare.candidate, "Candidate model (.h5, .keras, .tflite)")->required();
  compare_cmd->add_option("--data", compare.data,
                          "Samples: .npy, .npz with 'x' (and 'y' labels), a folder of images, or random:SEED")
      ->required();
  compare_cmd->add_option("--samples", compare.samples, "Use the first N samples (default: all)");
  compare_cmd->add_option("--reference-numerics", compare.reference_numerics, "tflite-x86 (default), tflite-wasm");
  compare_cmd->add_option("--candidate-numerics", compare.candidate_numerics, "tflite-x86 (default), tflite-wasm");
  compare_cmd->add_option("--json", compare.json, "Also write the results as JSON to this file");
  compare_cmd->add_option("--resize", compare.resize, "Resize images to HxW");
  CLI::Option* cmp_scale_opt = compare_cmd->add_option("--scale", cmp_scale, "Image value = pixel * S + O");
  CLI::Option* cmp_offset_opt = compare_cmd->add_option("--offset", cmp_offset, "Image value = pixel * S + O");
  compare_cmd->add_flag("--grayscale", compare.grayscale, "Decode images as grayscale");
  compare_cmd->add_flag("--layers", compare.layers,
                        "Per-layer analysis: where the error enters, how much each layer adds, why, and the remedy");
  compare_cmd->add_option("--html", compare.html,
                          "Also write a self-contained HTML report (implies --layers)");
  compare_cmd->add_option("--fail-if", compare.fail_if,
                          "Exit 1 when a condition holds, e.g. top1_agreement<0.99,sqnr_db<30 (',' = any)");
  compare_cmd->add_flag("--try-fixes", compare.try_fixes,
                        "Apply the top remedies (through convert, or rescaled data) and measure them (implies --layers)");
  compare_cmd->add_flag("--reference-kernels", compare.reference_kernels, "Run only the reference kernels (the normative arithmetic), no optimized variant");
  compare_cmd->add_option("--threads", compare.threads, "Threads an op may split its work over (default 1; results do not depend on it)")
      ->check(CLI::Range(1, 256));
  compare_cmd->add_option("--fix-calibration", compare.fix_calibration,
                          "Calibration data for --try-fixes reconversions (default: the --data samples)");

  BenchArgs bench;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench", "Time a model: latency statistics, peak memory, per-op profile; optionally against genuine TFLite");
  bench_cmd->add_option("MODEL", bench.model, "Model file (.tflite, .h5, .keras)")->required();
  bench_cmd->add_option("--iterations", bench.iterations, "Timed runs (default 100)");
  bench_cmd->add_option("--warmup", bench.warmup, "Untimed runs before them (default 10)");
  bench_cmd->add_option("--threads", bench.threads,
                        "Threads for quantlens and for the genuine runtime (default 1)")
      ->check(CLI::Range(1, 256));
  bench_cmd->add_option("--json", bench.json, "Also write the results as JSON to this file");
  bench_cmd->add_flag("--reference-kernels", bench.reference_kernels, "Run only the reference kernels (the normative arithmetic), no optimized variant");
  bench_cmd->add_flag("--compare-tflite", bench.compare_tflite,
                      "Also time the genuine TFLite 2.9 C library (builtin kernels and XNNPACK) on the same input");
  bench_cmd->add_option("--input", bench.inputs,
                        "Input file as for run (first sample), one per model input; default: random data, seed 1")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  bench_cmd->add_option("--numerics", bench.numerics, "Numerics profile: tflite-x86 (default), tflite-wasm");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(fmt::format("{} (see quantlens --help)", e.what()));
  }
  if (*scale_opt) run.scale = scale;
  if (*offset_opt) run.offset = offset;
  if (*conv_scale_opt) convert.scale = conv_scale;
  if (*conv_offset_opt) convert.offset = conv_offset;
  if (*inspect_cmd) return RunInspect(inspect);
  if (*convert_cmd) return RunConvert(convert);
  if (*cmp_scale_opt) compare.scale = cmp_scale;
  if (*cmp_offset_opt) compare.offset = cmp_offset;
  if (*compare_cmd) return RunCompare(compare);
  if (*bench_cmd) return RunBench(bench);
  if (*run_cmd) {
    if (!run.all_tensors || !run.output.empty()) return RunRun(run);
    return Fail("--all-tensors needs --output FILE.npz to write the tensors to");
  }
  return Fail("no command given (see quantlens --help)");
}

}  // namespace
}  // namespace ql::cli

int main(int argc, char** argv) {
  // Library code reports errors as Status; anything thrown here is a bug or out-of-memory, and
  // still ends with one line and exit status 2 rather than an abort.
  try {
    return ql::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    return ql::cli::Fail(fmt::format("internal error: {}", e.what()));
  } catch (...) {
    return ql::cli::Fail("internal error: unknown exception");
  }
}
