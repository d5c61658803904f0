// `quantlens convert` on the command line: every bad input is one clear error with exit 2 before
// anything is written; an existing output is replaced only by a complete new file and never when
// it is one of the inputs.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "quantlens/formats/tflite/reader.h"
#include "quantlens/io/npy.h"
#include "testing/cli_runner.h"

namespace ql {
namespace {

namespace fs = std::filesystem;
using testing::ExpectOneLineError;
using testing::Quantlens;
using testing::TempDir;

const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";
const std::string kResnet = kCorpus + "/mlperf_tiny/pretrainedResnet.h5";
const std::string kAd01 = kCorpus + "/mlperf_tiny/ad01.h5";

std::string Slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs a convert that must fail, with OUT pre-filled: it must still hold the old bytes.
void ExpectRefused(const std::string& args, const std::string& must_contain) {
  TempDir dir;
  const std::string out = dir.File("out.tflite");
  { std::ofstream(out) << "precious"; }
  auto r = Quantlens("convert " + args + " -o '" + out + "'");
  ExpectOneLineError(r, must_contain);
  EXPECT_TRUE(Slurp(out) == "precious") << args;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

io::Array Floats(const ir::Shape& shape, float fill) {
  std::vector<float> v(static_cast<size_t>(ir::ShapeProduct(shape)), fill);
  return io::Array::From(shape, v);
}

TEST(ConvertCli, Int8WritesAFileTheReaderAccepts) {
  TempDir dir;
  const std::string out = dir.File("ad01_int8.tflite");
  auto r = Quantlens("convert '" + kAd01 + "' -o '" + out + "' --mode int8 --calibration random:3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("FULLY_CONNECTED"), std::string::npos) << r.out;
  auto g = tflite::ReadTfliteFile(out);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->tensors[g->inputs[0]].dtype, ir::DType::kFloat32);
  // The layer map survives: the tensor of every block (Dense + BatchNormalization + Activation,
  // one fused FULLY_CONNECTED) is found under the block's last layer, and the output layer.
  int activations = 0, last = 0;
  for (const auto& lo : g->layer_outputs) {
    activations += lo.layer.rfind("activation", 0) == 0;
    last += lo.layer == "dense_9";
  }
  EXPECT_EQ(activations, 9);
  EXPECT_EQ(last, 1);
}

TEST(ConvertCli, IntegerModesNeedCalibration) {
  ExpectRefused("'" + kAd01 + "' --mode int8", "--calibration");
}

TEST(ConvertCli, UnknownMode) { ExpectRefused("'" + kAd01 + "' --mode int4", "int4"); }

TEST(ConvertCli, UnknownCalibrationMethod) {
  ExpectRefused("'" + kAd01 + "' --mode int8 --calibration random:1 --calibration-method kl", "kl");
}

TEST(ConvertCli, UnknownKeepFloatLayer) {
  ExpectRefused("'" + kAd01 + "' --mode int8 --calibration random:1 --keep-float dense_99",
                "dense_99");
}

TEST(ConvertCli, CalibrationWithNaN) {
  TempDir dir;
  io::Array a = Floats({4, 640}, 0.5f);
  a.mut<float>()[700] = std::numeric_limits<float>::quiet_NaN();
  ASSERT_TRUE(io::WriteNpyFile(dir.File("nan.npy"), a).ok());
  ExpectRefused("'" + kAd01 + "' --mode int8 --calibration '" + dir.File("nan.npy") + "'", "NaN");
}

TEST(ConvertCli, CalibrationWithInfinity) {
  TempDir dir;
  io::Array a = Floats({2, 640}, 0.5f);
  a.mut<float>()[3] = std::numeric_limits<float>::infinity();
  ASSERT_TRUE(io::WriteNpyFile(dir.File("inf.npy"), a).ok());
  ExpectRefused("'" + kAd01 + "' --mode int8 --calibration '" + dir.File("inf.npy") + "'", "inf");
}

TEST(ConvertCli, CalibrationOfTheWrongShape) {
  TempDir dir;
  ASSERT_TRUE(io::WriteNpyFile(dir.File("shape.npy"), Floats({4, 320}, 0.5f)).ok());
  ExpectRefused("'" + kAd01 + "' --mode int8 --calibration '" + dir.File("shape.npy") + "'", "shape");
}

TEST(ConvertCli, CalibrationOfTheWrongDtype) {
  // A complex64 .npy: no model input takes complex numbers.
  TempDir dir;
  std::string header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 640), }";
  header.resize(118, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + std::string("\x76\x00", 2) + header;
  bytes.append(640 * 8, '\0');
  { std::ofstream(dir.File("complex.npy"), std::ios::binary) << bytes; }
  ExpectRefused("'" + kAd01 + "' --mode int8 --calibration '" + dir.File("complex.npy") + "'", "c8");
}

TEST(ConvertCli, EmptyCalibrationFolder) {
  TempDir dir;
  fs::create_directories(dir.File("empty"));
  ExpectRefused("'" + kResnet + "' --mode int8 --calibration '" + dir.File("empty") + "'", "empty");
}

TEST(ConvertCli, AlreadyQuantizedModel) {
  ExpectRefused("'" + kCorpus + "/mlperf_tiny/pretrainedResnet_quant.tflite' --mode int8 "
                "--calibration random:1", "already quantized");
}

TEST(ConvertCli, ModeTheModelCannotTake) {
  // uint8 inputs belong to int8 mode; int16x8 takes float or int16 edges only.
  ExpectRefused("'" + kAd01 + "' --mode int16x8 --calibration random:1 --input-type uint8", "int16x8");
  ExpectRefused("'" + kAd01 + "' --mode float16 --input-type int8", "int8");
}

TEST(ConvertCli, NeverOverwritesTheModel) {
  TempDir dir;
  const std::string model = dir.File("m.h5");
  fs::copy_file(kAd01, model);
  const std::string before = Slurp(model);
  auto r = Quantlens("convert '" + model + "' -o '" + model + "' --mode float32");
  ExpectOneLineError(r, "refusing to overwrite");
  EXPECT_TRUE(Slurp(model) == before);
}

TEST(ConvertCli, NeverOverwritesTheCalibrationData) {
  TempDir dir;
  ASSERT_TRUE(io::WriteNpyFile(dir.File("cal.npy"), Floats({2, 640}, 0.5f)).ok());
  const std::string before = Slurp(dir.File("cal.npy"));
  auto r = Quantlens("convert '" + kAd01 + "' -o '" + dir.File("cal.npy") +
                     "' --mode int8 --calibration '" + dir.File("cal.npy") + "'");
  ExpectOneLineError(r, "refusing to overwrite");
  EXPECT_TRUE(Slurp(dir.File("cal.npy")) == before);
}

TEST(ConvertCli, ReplacesAnExistingOutputWhenDone) {
  TempDir dir;
  const std::string out = dir.File("out.tflite");
  { std::ofstream(out) << "old"; }
  auto r = Quantlens("convert '" + kAd01 + "' -o '" + out + "' --mode float16");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(tflite::ReadTfliteFile(out).ok());
}

TEST(ConvertCli, SameBytesEveryTime) {
  TempDir dir;
  for (const char* name : {"a.tflite", "b.tflite"}) {
    auto r = Quantlens("convert '" + kAd01 + "' -o '" + dir.File(name) +
                       "' --mode int8 --calibration random:5 --calibration-method entropy");
    ASSERT_EQ(r.status, 0) << r.err;
  }
  const std::string a = Slurp(dir.File("a.tflite")), b = Slurp(dir.File("b.tflite"));
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "two runs wrote different bytes";
}

}  // namespace
}  // namespace ql
