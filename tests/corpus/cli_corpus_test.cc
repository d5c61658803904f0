// End-to-end runs of the quantlens executable on corpus models: classification with labels,
// inspect in both formats, --all-tensors archives keyed like the golden files, and multi-sample
// inputs.
#include <gtest/gtest.h>

#include "testing/cli_runner.h"

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"

namespace {

namespace fs = std::filesystem;
using ql::io::Array;

const std::string kShared = QUANTLENS_SHARED_DIR;
const std::string kResnet = kShared + "/corpus/mlperf_tiny/pretrainedResnet_quant.tflite";
const std::string kResnetGolden = kShared + "/golden/mlperf_resnet_int8/";

using namespace ::ql::testing;  // NOLINT


TEST(CliCorpus, MobilenetV2TopFiveOnCat) {
  CliRun r = Quantlens(fmt::format("run '{0}/corpus/coral/mobilenet_v2_1.0_224_quant.tflite' --input "
                                   "'{0}/corpus/images/cat.bmp' --top 5 --labels '{0}/corpus/coral/imagenet_labels.txt'",
                                   kShared));
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string first;
  std::getline(lines, first);
  // "  1.    286  0.804688  Egyptian cat"
  int rank = 0, index = -1;
  ASSERT_EQ(std::sscanf(first.c_str(), " %d. %d", &rank, &index), 2) << r.out;
  EXPECT_EQ(rank, 1);
  EXPECT_EQ(index, 286) << r.out;
  EXPECT_NE(first.find("Egyptian cat"), std::string::npos) << r.out;
  int count = 1;
  for (std::string l; std::getline(lines, l);) count += !l.empty();
  EXPECT_EQ(count, 5);
}

TEST(CliCorpus, InspectTextAndJson) {
  CliRun text = Quantlens(fmt::format("inspect '{}'", kResnet));
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("input_1_int8"), std::string::npos);
  EXPECT_NE(text.out.find("CONV_2D"), std::string::npos);
  EXPECT_NE(text.out.find("FULLY_CONNECTED"), std::string::npos);
  EXPECT_NE(text.out.find("parameters:"), std::string::npos);

  CliRun js = Quantlens(fmt::format("inspect '{}' --json", kResnet));
  ASSERT_EQ(js.status, 0) << js.err;
  auto j = nlohmann::json::parse(js.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << js.out;
  ASSERT_EQ(j["inputs"].size(), 1u);
  EXPECT_EQ(j["inputs"][0]["dtype"], "int8");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json({-1, 32, 32, 3}));
  EXPECT_EQ(j["inputs"][0]["quantization"]["zero_point"][0], -128);
  EXPECT_EQ(j["outputs"][0]["index"], 37);
  EXPECT_EQ(j["ops"].size(), 16u);
  EXPECT_GT(j["parameters"]["count"].get<int64_t>(), 0);
  EXPECT_GT(j["parameters"]["bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(j["activation_memory"].contains("arena_bytes")) << j["activation_memory"].dump();
}

TEST(CliCorpus, AllTensorsUseGoldenKeys) {
  TempDir dir;
  const std::string out = dir.File("o.npz");
  CliRun r = Quantlens(fmt::format("run '{}' --input '{}cat/input0.npy' --output '{}' --all-tensors",
                                   kResnet, kResnetGolden, out));
  ASSERT_EQ(r.status, 0) << r.err;
  auto ours = ql::io::ReadNpz(out);
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  auto golden = ql::io::ReadNpz(kResnetGolden + "cat/native.all.npz");
  ASSERT_TRUE(golden.ok());
  std::set<std::string> our_keys, golden_keys;
  for (auto& na : *ours) our_keys.insert(na.name);
  for (auto& na : *golden) {
    golden_keys.insert(na.name);
    EXPECT_TRUE(our_keys.count(na.name)) << "missing " << na.name;
  }
  ASSERT_TRUE(our_keys.count("output0"));
  for (auto& na : *ours) {
    if (na.name == "output0") {
      EXPECT_EQ(na.array.shape, (ql::ir::Shape{1, 10}));
      EXPECT_EQ(na.array.dtype, ql::ir::DType::kInt8);
    }
  }
  // The default profile reproduces the `native` engine: every captured tensor is bit-exact.
  for (auto& g : *golden) {
    for (auto& na : *ours) {
      if (na.name != g.name) continue;
      EXPECT_EQ(na.array.shape, g.array.shape) << g.name;
      EXPECT_EQ(na.array.data, g.array.data) << g.name << " differs from golden native";
    }
  }
}

TEST(CliCorpus, StackedSamplesRunInTurn) {
  // Three golden inputs stacked along the batch dimension give the three single-sample outputs.
  TempDir dir;
  std::vector<Array> singles;
  for (const char* name : {"cat", "parrot", "rand0"}) {
    auto a = ql::io::ReadNpyFile(kResnetGolden + name + "/input0.npy");
    ASSERT_TRUE(a.ok()) << a.status().message();
    singles.push_back(*a);
  }
  Array stacked = singles[0];
  stacked.shape[0] = 3;
  stacked.data.clear();
  for (const Array& s : singles) stacked.data.insert(stacked.data.end(), s.data.begin(), s.data.end());
  const std::string in = dir.File("three.npy");
  ASSERT_TRUE(ql::io::WriteNpyFile(in, stacked).ok());
  CliRun r = Quantlens(fmt::format("run '{}' --input '{}' --output '{}'", kResnet, in, dir.File("o3.npz")));
  ASSERT_EQ(r.status, 0) << r.err;
  auto out3 = ql::io::ReadNpzMember(dir.File("o3.npz"), "output0");
  ASSERT_TRUE(out3.ok()) << out3.status().message();
  EXPECT_EQ(out3->shape, (ql::ir::Shape{3, 10}));
  for (int i = 0; i < 3; ++i) {
    const std::string one = dir.File(fmt::format("in{}.npy", i));
    ASSERT_TRUE(ql::io::WriteNpyFile(one, singles[i]).ok());
    CliRun s = Quantlens(fmt::format("run '{}' --input '{}' --output '{}'", kResnet, one, dir.File("o1.npz")));
    ASSERT_EQ(s.status, 0) << s.err;
    auto out1 = ql::io::ReadNpzMember(dir.File("o1.npz"), "output0");
    ASSERT_TRUE(out1.ok());
    EXPECT_EQ(out1->data, std::vector<uint8_t>(out3->data.begin() + i * 10, out3->data.begin() + (i + 1) * 10))
        << "sample " << i;
  }
  // .npz input (array "x") works the same way.
  ASSERT_TRUE(ql::io::WriteNpz(dir.File("three.npz"), {{"x", stacked}}).ok());
  CliRun z = Quantlens(fmt::format("run '{}' --input '{}' --top 1", kResnet, dir.File("three.npz")));
  ASSERT_EQ(z.status, 0) << z.err;
  EXPECT_NE(z.out.find("sample 2:"), std::string::npos) << z.out;
}

TEST(CliCorpus, BatchedRunsEqualSingleSampleRuns) {
  // 40 samples (the golden inputs, bytes rotated per sample): in batches of 7 (five batches and a
  // tail of five run alone), of 16 (the default) and one at a time, with 1 and 2 threads: the
  // same output bytes every time.
  TempDir dir;
  auto one = ql::io::ReadNpyFile(kResnetGolden + "cat/input0.npy");
  ASSERT_TRUE(one.ok()) << one.status().message();
  Array many = *one;
  many.shape[0] = 40;
  many.data.clear();
  for (int i = 0; i < 40; ++i)
    for (size_t j = 0; j < one->data.size(); ++j)
      many.data.push_back(one->data[(j + static_cast<size_t>(i) * 97) % one->data.size()]);
  const std::string in = dir.File("forty.npy");
  ASSERT_TRUE(ql::io::WriteNpyFile(in, many).ok());
  std::vector<uint8_t> first;
  for (const char* flags : {"--batch 1", "--batch 7", "", "--batch 16 --threads 2"}) {
    CliRun r = Quantlens(fmt::format("run '{}' --input '{}' --output '{}' {}", kResnet, in, dir.File("o.npz"), flags));
    ASSERT_EQ(r.status, 0) << flags << ": " << r.err;
    if (std::string(flags) != "--batch 1") {
      EXPECT_NE(r.err.find("ran in batches of"), std::string::npos) << flags << ": " << r.err;
    }
    auto out = ql::io::ReadNpzMember(dir.File("o.npz"), "output0");
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->shape, (ql::ir::Shape{40, 10}));
    if (first.empty()) {
      first = out->data;
    } else {
      EXPECT_EQ(out->data, first) << flags;
    }
  }
}

TEST(CliCorpus, FloatDataQuantizedOnFeed) {
  // The golden int8 input is pixel - 128 with scale 1: feeding the float pixels must give the
  // identical run.
  TempDir dir;
  auto q = ql::io::ReadNpyFile(kResnetGolden + "cat/input0.npy");
  ASSERT_TRUE(q.ok());
  std::vector<float> pixels;
  for (size_t i = 0; i < q->data.size(); ++i) pixels.push_back(static_cast<int8_t>(q->data[i]) + 128.0f);
  ASSERT_TRUE(ql::io::WriteNpyFile(dir.File("f.npy"), Array::From<float>(q->shape, pixels)).ok());
  CliRun a = Quantlens(fmt::format("run '{}' --input '{}'", kResnet, dir.File("f.npy")));
  CliRun b = Quantlens(fmt::format("run '{}' --input '{}cat/input0.npy'", kResnet, kResnetGolden));
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(CliCorpus, KerasLayerOutputsKeyedByLayer) {
  const std::string model = kShared + "/corpus/keras3/Jhas876622__mnist-digit-recognition/mnist_cnn.h5";
  TempDir dir;
  CliRun r = Quantlens(fmt::format("run '{}' --input '{}/corpus/tflm/mnist_sample0.png' --output '{}' "
                                   "--all-tensors",
                                   model, kShared, dir.File("k.npz")));
  ASSERT_EQ(r.status, 0) << r.err;
  auto names = ql::io::ListNpz(dir.File("k.npz"));
  ASSERT_TRUE(names.ok());
  ASSERT_GT(names->size(), 2u);
  EXPECT_EQ((*names)[0], "output0");
  for (size_t i = 1; i < names->size(); ++i) {
    EXPECT_EQ((*names)[i].rfind("layer/", 0), 0u) << (*names)[i];
    EXPECT_NE((*names)[i].find(':'), std::string::npos) << (*names)[i];
  }
}

}  // namespace
