// Regression tests for bugs found by the libFuzzer targets in fuzz/ (see docs/fuzzing.md). Each
// test names the target that found the bug; each failed (crash or sanitizer report) before its fix.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "quantlens/formats/keras/json_util.h"
#include "quantlens/formats/tflite/reader.h"
#include "quantlens/io/image.h"
#include "quantlens/runtime/interpreter.h"
#include "testing/single_op.h"
#include "testing/tflite_builder.h"

namespace ql {
namespace {

using namespace ::ql::testing;  // NOLINT: the builder's spec types

constexpr const char* kName = "fuzz.tflite";

// fuzz_tflite: a subgraph input that is a constant tensor (weights) was bound read-only, and
// SetInput then copied the caller's data to a null pointer. The graph verifier refuses it now.
TEST(FuzzRegression, GraphInputThatIsAConstant) {
  ModelSpec s = FcModel();
  s.graph_inputs = {1};  // the FULLY_CONNECTED weights
  auto g = tflite::ReadTfliteBuffer(Build(s), kName);
  if (g.ok()) {
    // Without the check: must at least not crash when fed.
    auto interp = rt::Interpreter::Create(*g);
    if (interp.ok()) {
      std::vector<uint8_t> data((*interp)->input(0).bytes(), 0);
      (void)(*interp)->SetInput(0, data.data(), data.size());
    }
    FAIL() << "a constant graph input was accepted";
  }
  const std::string& msg = g.status().message();
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidModel) << msg;
  EXPECT_NE(msg.find("fuzz.tflite: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("graph input tensor 1 'weights' is a constant"), std::string::npos) << msg;
}

// fuzz_tflite: quantized SOFTMAX with an output scale of 0 (or a NaN beta) computed NaN and cast
// it to int (UBSan: "-nan is outside the range of representable values of type 'int'").
// Prepare now applies TFLite's rule (output scale 1/256, zero point -128 / 0) and refuses a
// non-finite exponent table.
TEST(FuzzRegression, QuantizedSoftmaxOutputScaleAndBeta) {
  const std::vector<int8_t> in = {1, 2, 3, -4};
  {
    SingleOp op(ir::OpType::kSOFTMAX, ir::SoftmaxAttrs{});
    op.AddInput(ir::DType::kInt8, {1, 4}, in, Quant(0.1f, 0));
    op.AddOutput(ir::DType::kInt8, Quant(0.0f, -128));
    Status s = op.Run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("quantized softmax output has scale 0 and zero point -128"), std::string::npos)
        << s.message();
  }
  {
    ir::SoftmaxAttrs attrs;
    attrs.beta = std::numeric_limits<float>::quiet_NaN();
    SingleOp op(ir::OpType::kSOFTMAX, attrs);
    op.AddInput(ir::DType::kUInt8, {1, 4}, std::vector<uint8_t>{1, 2, 3, 4}, Quant(0.1f, 0));
    op.AddOutput(ir::DType::kUInt8, Quant(1.0f / 256, 0));
    Status s = op.Run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("non-finite exponent table"), std::string::npos) << s.message();
  }
  {
    // TFLite's valid parameters still run.
    SingleOp op(ir::OpType::kSOFTMAX, ir::SoftmaxAttrs{});
    op.AddInput(ir::DType::kInt8, {1, 4}, in, Quant(0.1f, 0));
    op.AddOutput(ir::DType::kInt8, Quant(1.0f / 256, -128));
    Status s = op.Run();
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

}  // namespace
}  // namespace ql

// Findings of the first CI fuzzing run.
namespace ql {
namespace {

// fuzz_keras_zip: a float config value of 1e308 where an integer belongs was converted to int64
// (undefined behaviour; UBSan: "1e+308 is outside the range of representable values").
TEST(FuzzRegression, KerasIntegerFromHugeFloat) {
  const nlohmann::json cfg = {{"units", 1e308}, {"nan", std::nan("")}, {"two", 2.0}, {"neg", -0x1p63}};
  keras::ConfigView view(cfg, "layer 'd': ");
  EXPECT_FALSE(view.Int("units").ok());
  EXPECT_NE(view.Int("units").status().message().find("config 'units' is not an integer"), std::string::npos);
  EXPECT_FALSE(view.Int("nan").ok());
  ASSERT_TRUE(view.Int("two").ok());
  EXPECT_EQ(*view.Int("two"), 2);
  ASSERT_TRUE(view.Int("neg").ok());
  EXPECT_EQ(*view.Int("neg"), INT64_MIN);
}

// fuzz_image: a DHT segment whose declared length ends inside a table's 17-byte header. stb_image
// reads tables while any length is left, so it read this one whole (288 codes) and wrote past its
// 257-entry size table; the guard used to stop at the segment's end and missed it.
TEST(FuzzRegression, JpegHuffmanTableRunningPastItsSegment) {
  std::string jpeg("\xff\xd8", 2);
  jpeg += std::string("\xff\xc4\x00\x03", 4);  // DHT, length 3: one byte of table left
  jpeg += '\0';                                 // class 0, id 0
  jpeg += std::string(16, '\x12');              // 16 x 18 = 288 codes
  jpeg += std::string(288, '\x01');
  jpeg += std::string("\xff\xd9", 2);
  const std::string path = ::testing::TempDir() + "/ql_dht_past_segment.jpg";
  std::ofstream(path, std::ios::binary) << jpeg;
  auto img = io::DecodeImage(path, 3);
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.status().message().find("declares 288 codes, more than the 256 a table can hold"),
            std::string::npos)
      << img.status().message();
}

// fuzz_image: the same overflowing table in a file that starts with a fill byte (FF FF D8). stb
// skips fill bytes before SOI; the guard only looked at files starting FF D8.
TEST(FuzzRegression, JpegHuffmanTableAfterFillBytes) {
  std::string jpeg("\xff\xff\xd8", 3);
  jpeg += std::string("\xff\xc4\x01\x33", 4);  // DHT, length 307: one table of 17 + 288 bytes
  jpeg += '\0';
  jpeg += std::string(16, '\x12');
  jpeg += std::string(288, '\x01');
  jpeg += std::string("\xff\xd9", 2);
  const std::string path = ::testing::TempDir() + "/ql_dht_fill_bytes.jpg";
  std::ofstream(path, std::ios::binary) << jpeg;
  auto img = io::DecodeImage(path, 3);
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.status().message().find("declares 288 codes"), std::string::npos) << img.status().message();
}

// fuzz_image (timeout): a 56-byte BMP declaring 8 x 2,883,592 pixels of 24 bits with compression
// 0xED000000. stb_image decodes any non-RLE code as raw rows and filled 69 MB with zeros past the
// end of the file; the truncation guard only looked at codes 0 and 3.
TEST(FuzzRegression, BmpWithUnknownCompressionAndMissingRows) {
  const unsigned char bmp[] = {
      0x42, 0x4d, 0x36, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00, 0x00, 0x00, 0x28, 0x00,
      0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00,
      0x00, 0xed, 0x00, 0x00, 0x00, 0x00, 0x6f, 0x6e, 0x6c, 0x79, 0x20, 0x38, 0x2d, 0x62, 0x69, 0x74,
      0x13, 0x0b, 0x00, 0x00, 0x13, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const std::string path = ::testing::TempDir() + "/ql_bmp_unknown_compression.bmp";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bmp), sizeof(bmp));
  auto img = io::DecodeImage(path, 3);
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.status().message().find("truncated"), std::string::npos) << img.status().message();
}

}  // namespace
}  // namespace ql
