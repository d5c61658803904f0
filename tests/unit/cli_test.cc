// Runs the built quantlens executable and checks exit codes and the one-line error convention.
// Needs no model support from the runtime: these are usage and input errors.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status = -1;
  std::string out, err;
};

// Runs `quantlens <args>` through the shell, capturing stdout and stderr separately.
CliRun Quantlens(const std::string& args) {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path();
  const std::string out_path = (dir / fmt::format("ql_cli_{}_{}.out", ::getpid(), counter)).string();
  const std::string err_path = (dir / fmt::format("ql_cli_{}_{}.err", ::getpid(), counter++)).string();
  const std::string cmd = fmt::format("'{}' {} >'{}' 2>'{}'", QUANTLENS_CLI_PATH, args, out_path, err_path);
  CliRun r;
  int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return r;
}

// Exit status 2 and exactly one "quantlens: ..." line on stderr.
void ExpectOneLineError(const CliRun& r, const std::string& must_contain = "") {
  EXPECT_EQ(r.status, 2) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("quantlens: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.back(), '\n');
  if (!must_contain.empty()) EXPECT_NE(r.err.find(must_contain), std::string::npos) << r.err;
}

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
