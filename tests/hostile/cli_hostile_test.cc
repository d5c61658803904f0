// Broken and hostile model files through the command line: every one gives exit status 2 and one
// line "quantlens: <file>: ..." naming what is wrong (and the op index and opcode where there is
// one). Nothing crashes; CI also runs this file under AddressSanitizer/UBSan, where a memory error
// ends the child process with a signal and fails the test.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "testing/cli_runner.h"
#include "testing/tflite_builder.h"

namespace ql::testing {
namespace {

namespace tfl = ::tflite;

const std::string kShared = QUANTLENS_SHARED_DIR;

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), {});
}

void WriteFile(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

class CliHostile : public ::testing::Test {
 protected:
  // Writes `bytes` as a model and requires both inspect and run to fail with one line that names
  // the file and contains every one of `parts`.
  void ExpectRejected(const Bytes& bytes, std::initializer_list<std::string> parts) {
    const std::string model = dir_.File("hostile.tflite");
    WriteFile(model, bytes);
    const std::string input = kShared + "/golden/mlperf_resnet_int8/cat/input0.npy";
    for (const std::string& cmd : {fmt::format("inspect '{}'", model),
                                   fmt::format("run '{}' --input '{}'", model, input)}) {
      CliRun r = Quantlens(cmd);
      SCOPED_TRACE(cmd);
      ExpectOneLineError(r, model);
      for (const auto& p : parts) EXPECT_NE(r.err.find(p), std::string::npos) << "missing '" << p << "' in " << r.err;
    }
  }
  TempDir dir_;
};

TEST_F(CliHostile, EmptyAndTruncatedFiles) {
  ExpectRejected({}, {});
  const Bytes full = ReadFile(kShared + "/corpus/mlperf_tiny/pretrainedResnet_quant.tflite");
  ASSERT_GT(full.size(), 10000u);
  for (size_t cut : {size_t{3}, size_t{8}, size_t{100}, full.size() / 2, full.size() - 1})
    ExpectRejected(Bytes(full.begin(), full.begin() + cut), {});
}

TEST_F(CliHostile, NotAFlatbuffer) {
  std::mt19937 rng(7);
  Bytes noise(5000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  ExpectRejected(noise, {});
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  ExpectRejected(png, {});
}

TEST_F(CliHostile, IndicesOutOfRange) {
  ModelSpec s = FcModel();
  s.tensors[1].buffer = 99;
  ExpectRejected(Build(s), {"tensor 1 'weights'", "buffer"});
  s = FcModel();
  s.op_inputs = {0, 999, -1};
  ExpectRejected(Build(s), {"op 0 (FULLY_CONNECTED)", "999"});
  s = FcModel();
  s.opcode_index = 5;
  ExpectRejected(Build(s), {"op 0", "opcode index 5"});
}

TEST_F(CliHostile, ShapeProductOverflows) {
  ModelSpec s = FcModel();
  s.tensors[2].shape = std::vector<int32_t>{2147483647, 2147483647, 2147483647, 4};
  ExpectRejected(Build(s), {"tensor 2 'output'"});
}

TEST_F(CliHostile, UnsupportedOps) {
  ModelSpec s = FcModel();
  s.opcodes[0] = OpcodeSpec{44, 44, ""};  // an op code quantlens does not read
  ExpectRejected(Build(s), {"op 0", "UNIDIRECTIONAL_SEQUENCE_LSTM"});
  s = FcModel();
  s.opcodes[0] = OpcodeSpec{0, 0, "NoSuchCustomOp"};
  s.opcodes[0].builtin_code = 32;
  s.opcodes[0].deprecated_code = 32;
  s.options = nullptr;
  // inspect prints the graph (it reads fine); run must refuse the op it cannot execute.
  const std::string model = dir_.File("custom.tflite");
  WriteFile(model, Build(s));
  CliRun r = Quantlens(fmt::format("run '{}' --input '{}'", model,
                                   kShared + "/golden/mlperf_resnet_int8/cat/input0.npy"));
  ExpectOneLineError(r, "op 0 (CUSTOM NoSuchCustomOp)");
}

// Random byte flips in the tables of a real model, run end to end (reader, prepare, kernels).
// The exit status must be 0 (the flip was harmless) or 2 with one line; never a crash.
TEST_F(CliHostile, ByteFlipsRunEndToEnd) {
  const Bytes full = ReadFile(kShared + "/corpus/mlperf_tiny/pretrainedResnet_quant.tflite");
  const std::string input = kShared + "/golden/mlperf_resnet_int8/cat/input0.npy";
  // The flatbuffer tables sit after the large weight buffers in converter output: flip bytes
  // anywhere, but weight bytes are the bulk, so aim half the flips at the last 8 KB.
  std::mt19937 rng(2024);
  int rejected = 0;
  const int kRuns = 40;
  for (int i = 0; i < kRuns; ++i) {
    Bytes b = full;
    for (int k = 0; k < 6; ++k) {
      size_t pos = (k % 2) ? rng() % b.size() : b.size() - 1 - rng() % std::min<size_t>(8192, b.size());
      b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    const std::string model = dir_.File(fmt::format("flip{}.tflite", i));
    WriteFile(model, b);
    CliRun r = Quantlens(fmt::format("run '{}' --input '{}'", model, input));
    ASSERT_TRUE(r.status == 0 || r.status == 2) << "run " << i << " ended with status " << r.status << ": " << r.err;
    if (r.status == 2) {
      ++rejected;
      ExpectOneLineError(r);
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace ql::testing
