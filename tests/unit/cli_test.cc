// Runs the built quantlens executable and checks exit codes and the one-line error convention.
// Needs no model support from the runtime: these are usage and input errors.
#include <gtest/gtest.h>

#include "testing/cli_runner.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace {

namespace fs = std::filesystem;

using namespace ::ql::testing;  // NOLINT

const std::string kShared = QUANTLENS_SHARED_DIR;

TEST(Cli, NoArgumentsIsUsageError) { ExpectOneLineError(Quantlens("")); }

TEST(Cli, UnknownCommandOrOptionIsUsageError) {
  ExpectOneLineError(Quantlens("frobnicate"));
  ExpectOneLineError(Quantlens("run model.tflite --input x.npy --bogus"));
  ExpectOneLineError(Quantlens("run model.tflite"), "--input");
  ExpectOneLineError(Quantlens("inspect"));
}

TEST(Cli, HelpSucceeds) {
  CliRun r = Quantlens("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("inspect"), std::string::npos);
  CliRun run_help = Quantlens("run --help");
  EXPECT_EQ(run_help.status, 0);
  EXPECT_NE(run_help.out.find("--numerics"), std::string::npos);
}

TEST(Cli, MissingModelFile) {
  ExpectOneLineError(Quantlens("inspect /nonexistent/model.tflite"), "/nonexistent/model.tflite");
  ExpectOneLineError(Quantlens("inspect /nonexistent/model.tflite --json"), "/nonexistent/model.tflite");
  ExpectOneLineError(Quantlens("run /nonexistent/model.tflite --input /nonexistent/x.npy"),
                     "/nonexistent/model.tflite");
}

TEST(Cli, NotAModel) {
  ExpectOneLineError(Quantlens(fmt::format("inspect '{}/golden/README.md'", kShared)), "README.md");
}

TEST(Cli, BadOptionValues) {
  const std::string model = kShared + "/corpus/mlperf_tiny/pretrainedResnet_quant.tflite";
  const std::string input = kShared + "/golden/mlperf_resnet_int8/cat/input0.npy";
  ExpectOneLineError(Quantlens(fmt::format("run '{}' --input '{}' --numerics tflite-gpu", model, input)),
                     "tflite-gpu");
  ExpectOneLineError(Quantlens(fmt::format("run '{}' --input '{}' --resize 12", model, input)), "--resize");
  ExpectOneLineError(Quantlens(fmt::format("run '{}' --input '{}' --top notanumber", model, input)));
  ExpectOneLineError(Quantlens(fmt::format("run '{}' --input '{}' --all-tensors", model, input)), "--output");
  // Writing the output over an input is refused, and the input survives.
  const auto before = fs::file_size(input);
  ExpectOneLineError(Quantlens(fmt::format("run '{}' --input '{}' --output '{}'", model, input, input)),
                     "--output");
  EXPECT_EQ(fs::file_size(input), before);
}

TEST(Cli, KerasInspectDispatch) {
  // Until the Keras inspector lands this is "unsupported"; either way: no crash, clean exit.
  for (auto& e : fs::recursive_directory_iterator(kShared + "/corpus")) {
    if (e.path().extension() != ".h5") continue;
    CliRun r = Quantlens(fmt::format("inspect '{}'", e.path().string()));
    EXPECT_TRUE(r.status == 0 || r.status == 2) << r.err;
    if (r.status == 2) ExpectOneLineError(r);
    return;
  }
}

}  // namespace
