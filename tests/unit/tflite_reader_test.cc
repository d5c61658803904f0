// TFLite reader on the real corpus: every file reads (or fails for a stated reason), and what it
// reads agrees with facts that come from outside the reader: the genuine TFLite runtime's tensor
// metadata in golden/*/meta.json, and the output shapes that conv/pool attributes must produce.
#include "quantlens/formats/tflite/reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace ql::tflite {
namespace {

namespace fs = std::filesystem;

std::string Shared(const std::string& rel) { return std::string(QUANTLENS_SHARED_DIR) + "/" + rel; }

const ir::Graph& Load(const std::string& rel) {
  static std::map<std::string, ir::Graph> cache;
  auto it = cache.find(rel);
  if (it != cache.end()) return it->second;
  auto g = ReadTfliteFile(Shared(rel));
  EXPECT_TRUE(g.ok()) << g.status().message();
  return cache.emplace(rel, g.ok() ? std::move(g).value() : ir::Graph{}).first->second;
}

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(Shared("corpus")))
    if (e.path().extension() == ".tflite")
      out.push_back(fs::relative(e.path(), Shared("")).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

// Files quantlens refuses, with the part of the message that says why. Every other corpus file
// must read.
const std::map<std::string, std::string>& ExpectedFailures() {
  static const std::map<std::string, std::string> m = {
      {"corpus/coral/keras_lstm_mnist_ptq.tflite", "unsupported operator code 44 (UNIDIRECTIONAL_SEQUENCE_LSTM)"},
      {"corpus/tflm/trained_lstm.tflite", "unsupported operator code 44 (UNIDIRECTIONAL_SEQUENCE_LSTM)"},
      {"corpus/tflm/trained_lstm_int8.tflite", "unsupported operator code 44 (UNIDIRECTIONAL_SEQUENCE_LSTM)"},
      {"corpus/tflm/keyword_scrambled.tflite", "unsupported operator code 27 (SVDF)"},
      {"corpus/tflm/keyword_scrambled_8bit.tflite", "unsupported operator code 27 (SVDF)"},
      // The Signal* custom ops themselves read fine as CUSTOM; a uint32 tensor has no IR dtype.
      {"corpus/tflm/audio_preprocessor_float.tflite", "tensor type 15 (UINT32) is not supported"},
      {"corpus/tflm/audio_preprocessor_int8.tflite", "tensor type 15 (UINT32) is not supported"},
  };
  return m;
}

TEST(TfliteReaderCorpus, EveryFileReadsOrFailsAsExpected) {
  auto files = CorpusFiles();
  ASSERT_GE(files.size(), 39u) << "corpus not found under " << Shared("corpus");
  for (const auto& rel : files) {
    SCOPED_TRACE(rel);
    auto g = ReadTfliteFile(Shared(rel));
    auto fail = ExpectedFailures().find(rel);
    if (fail == ExpectedFailures().end()) {
      ASSERT_TRUE(g.ok()) << g.status().message();
      EXPECT_EQ(g->format, ir::SourceFormat::kTflite);
      EXPECT_EQ(g->source_path, Shared(rel));
      EXPECT_FALSE(g->ops.empty());
      EXPECT_FALSE(g->inputs.empty());
      EXPECT_FALSE(g->outputs.empty());
      for (size_t i = 0; i < g->tensors.size(); ++i) EXPECT_EQ(g->tensors[i].source_index, int(i));
      for (size_t i = 0; i < g->ops.size(); ++i) EXPECT_EQ(g->ops[i].source_index, int(i));
    } else {
      ASSERT_FALSE(g.ok());
      EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
      EXPECT_NE(g.status().message().find(Shared(rel)), std::string::npos) << g.status().message();
      EXPECT_NE(g.status().message().find(fail->second), std::string::npos) << g.status().message();
    }
  }
}

TEST(TfliteReaderCorpus, BufferAndFileAgree) {
  const std::string path = Shared("corpus/tflm/hello_world_int8.tflite");
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  // An odd start address: the reader must not depend on the caller's alignment.
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  auto a = ReadTfliteBuffer(std::span<const uint8_t>(shifted).subspan(1), "hello.tflite");
  ASSERT_TRUE(a.ok()) << a.status().message();
  const ir::Graph& b = Load("corpus/tflm/hello_world_int8.tflite");
  EXPECT_EQ(a->source_path, "hello.tflite");
  ASSERT_EQ(a->tensors.size(), b.tensors.size());
  for (size_t i = 0; i < b.tensors.size(); ++i) {
    EXPECT_EQ(a->tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a->tensors[i].data, b.tensors[i].data);
  }
  EXPECT_EQ(a->ops.size(), 3u);
  for (const auto& op : a->ops) EXPECT_EQ(op.type, ir::OpType::kFULLY_CONNECTED);
}

TEST(TfliteReaderCorpus, ResnetInt8Facts) {
  const ir::Graph& g = Load("corpus/mlperf_tiny/pretrainedResnet_quant.tflite");
  ASSERT_EQ(g.inputs.size(), 1u);
  const ir::Tensor& in = g.tensors[g.inputs[0]];
  EXPECT_EQ(in.name, "input_1_int8");
  EXPECT_EQ(in.dtype, ir::DType::kInt8);
  // shape [1,32,32,3] with shape_signature [-1,32,32,3]: the open batch stays -1.
  EXPECT_EQ(in.shape, (ir::Shape{-1, 32, 32, 3}));
  ASSERT_EQ(in.quant.scale.size(), 1u);
  EXPECT_EQ(in.quant.scale[0], 1.0f);
  EXPECT_EQ(in.quant.zero_point, (std::vector<int64_t>{-128}));
  EXPECT_EQ(g.ops.size(), 16u);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0], 37);

  int convs = 0;
  for (const auto& op : g.ops) {
    if (op.type != ir::OpType::kCONV_2D) continue;
    ++convs;
    const ir::Tensor& w = g.tensors[op.inputs[1]];
    ASSERT_TRUE(w.is_constant);
    EXPECT_EQ(w.dtype, ir::DType::kInt8);
    ASSERT_EQ(w.shape.size(), 4u);
    EXPECT_EQ(w.quant.scale.size(), static_cast<size_t>(w.shape[0])) << w.name;
    EXPECT_EQ(w.quant.axis, 0);
    EXPECT_EQ(w.data.size(), static_cast<size_t>(w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]));
    const ir::Tensor& bias = g.tensors[op.inputs[2]];
    EXPECT_EQ(bias.dtype, ir::DType::kInt32);
    EXPECT_EQ(bias.data.size(), 4u * w.shape[0]);
    ASSERT_TRUE(std::holds_alternative<ir::ConvAttrs>(op.attrs));
  }
  EXPECT_GE(convs, 9);
  // The first conv: 3x3, stride 1, SAME, fused RELU (its output is named ".../Relu;...").
  const auto& c0 = std::get<ir::ConvAttrs>(g.ops[0].attrs);
  EXPECT_EQ(g.ops[0].type, ir::OpType::kCONV_2D);
  EXPECT_EQ(c0.padding, ir::Padding::kSame);
  EXPECT_EQ(c0.stride_h, 1);
  EXPECT_EQ(c0.stride_w, 1);
  EXPECT_EQ(c0.dilation_h, 1);
  EXPECT_EQ(c0.activation, ir::Activation::kRelu);
}

// Files that store operator codes only in deprecated_builtin_code must map to the same op types.
TEST(TfliteReaderCorpus, DeprecatedCodeFilesMapToOpTypes) {
  auto types = [](const ir::Graph& g) {
    std::set<ir::OpType> s;
    for (const auto& op : g.ops) s.insert(op.type);
    return s;
  };
  using T = ir::OpType;
  EXPECT_EQ(types(Load("corpus/tflm/person_detect.tflite")),
            (std::set<T>{T::kAVERAGE_POOL_2D, T::kCONV_2D, T::kDEPTHWISE_CONV_2D, T::kRESHAPE, T::kSOFTMAX}));
  EXPECT_EQ(types(Load("corpus/tflm/micro_speech_quantized.tflite")),
            (std::set<T>{T::kDEPTHWISE_CONV_2D, T::kFULLY_CONNECTED, T::kRESHAPE, T::kSOFTMAX}));
  EXPECT_EQ(types(Load("corpus/mlperf_tiny/ad01_int8.tflite")), (std::set<T>{T::kFULLY_CONNECTED}));
  EXPECT_EQ(types(Load("corpus/detection/blazeface/blazeface_128x128_quant.tflite")),
            (std::set<T>{T::kCONV_2D, T::kDEPTHWISE_CONV_2D, T::kADD, T::kPAD, T::kMAX_POOL_2D,
                         T::kRESHAPE, T::kQUANTIZE}));

  const ir::Graph& ssd = Load("corpus/detection/ssd_mobilenet_v1_coco/detect.tflite");
  const ir::Op& last = ssd.ops.back();
  EXPECT_EQ(last.type, ir::OpType::kCUSTOM);
  EXPECT_EQ(last.custom_code, "TFLite_Detection_PostProcess");
  ASSERT_TRUE(std::holds_alternative<ir::CustomAttrs>(last.attrs));
  EXPECT_GT(std::get<ir::CustomAttrs>(last.attrs).options.size(), 50u);  // a flexbuffer map
  ASSERT_EQ(last.outputs.size(), 4u);
  for (int t : last.outputs) EXPECT_FALSE(ssd.tensors[t].shape_declared) << ssd.tensors[t].name;
}

// movenet uses codes 88, 90 and 107: catches an off-by-one in the code table.
TEST(TfliteReaderCorpus, HighOpCodesMapCorrectly) {
  const ir::Graph& g = Load("corpus/coral/movenet_single_pose_lightning_ptq.tflite");
  std::set<ir::OpType> s;
  for (const auto& op : g.ops) s.insert(op.type);
  for (auto t : {ir::OpType::kUNPACK, ir::OpType::kFLOOR_DIV, ir::OpType::kGATHER_ND,
                 ir::OpType::kARG_MAX, ir::OpType::kPACK, ir::OpType::kQUANTIZE})
    EXPECT_TRUE(s.count(t)) << ir::OpTypeName(t);
  EXPECT_FALSE(s.count(ir::OpType::kREDUCE_MIN));
  EXPECT_FALSE(s.count(ir::OpType::kSQUARE));
  for (const auto& op : g.ops) {
    if (op.type == ir::OpType::kUNPACK) {
      const auto& a = std::get<ir::AxisAttrs>(op.attrs);
      EXPECT_EQ(a.count, static_cast<int>(op.outputs.size()));
    }
    if (op.type == ir::OpType::kARG_MAX) {
      const auto& a = std::get<ir::TypeAttrs>(op.attrs);
      EXPECT_EQ(a.out_type, g.tensors[op.outputs[0]].dtype);
    }
  }
}

TEST(TfliteReaderCorpus, PersonDetectOddQuantizationReads) {
  const ir::Graph& g = Load("corpus/tflm/person_detect.tflite");
  // Depthwise weights: per-channel along dimension 3, as the file says.
  const ir::Tensor& dw = g.tensors[1];
  EXPECT_EQ(dw.quant.axis, 3);
  EXPECT_EQ(dw.quant.scale.size(), static_cast<size_t>(dw.shape[3]));
  // Rank-1 bias whose file says dimension 3: its scales can only run along axis 0.
  const ir::Tensor& bias = g.tensors[33];
  EXPECT_EQ(bias.shape.size(), 1u);
  EXPECT_EQ(bias.quant.axis, 0);
  EXPECT_EQ(bias.quant.scale.size(), static_cast<size_t>(bias.shape[0]));
}

// The output size each padding rule gives (TFLite's ComputeOutSize).
int64_t OutSize(ir::Padding p, int64_t in, int64_t filter, int stride, int dilation) {
  int64_t eff = (filter - 1) * dilation + 1;
  if (p == ir::Padding::kSame) return (in + stride - 1) / stride;
  return (in - eff + stride) / stride;
}

// For every conv and pool op in the corpus, the attributes read must produce the output shape
// the converter declared: checks padding and stride decoding (and h/w order) against the file.
TEST(TfliteReaderCorpus, ConvAndPoolAttrsReproduceDeclaredShapes) {
  int checked = 0;
  for (const auto& rel : CorpusFiles()) {
    if (ExpectedFailures().count(rel)) continue;
    const ir::Graph& g = Load(rel);
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const ir::Op& op = g.ops[i];
      SCOPED_TRACE(rel + " " + g.OpLabel(static_cast<int>(i)));
      int64_t fh = 0, fw = 0;
      int sh = 1, sw = 1, dh = 1, dw = 1;
      ir::Padding pad;
      if (op.type == ir::OpType::kCONV_2D || op.type == ir::OpType::kDEPTHWISE_CONV_2D) {
        const auto& a = std::get<ir::ConvAttrs>(op.attrs);
        const ir::Shape& w = g.tensors[op.inputs[1]].shape;
        fh = w[1], fw = w[2], sh = a.stride_h, sw = a.stride_w, dh = a.dilation_h, dw = a.dilation_w;
        pad = a.padding;
      } else if (op.type == ir::OpType::kAVERAGE_POOL_2D || op.type == ir::OpType::kMAX_POOL_2D) {
        const auto& a = std::get<ir::PoolAttrs>(op.attrs);
        fh = a.filter_h, fw = a.filter_w, sh = a.stride_h, sw = a.stride_w, pad = a.padding;
      } else {
        continue;
      }
      const ir::Shape& in = g.tensors[op.inputs[0]].shape;
      const ir::Shape& out = g.tensors[op.outputs[0]].shape;
      ASSERT_EQ(in.size(), 4u);
      ASSERT_EQ(out.size(), 4u);
      EXPECT_EQ(out[1], OutSize(pad, in[1], fh, sh, dh));
      EXPECT_EQ(out[2], OutSize(pad, in[2], fw, sw, dw));
      ++checked;
    }
  }
  EXPECT_GT(checked, 500);
}

// Options other than conv/pool, checked against the shapes the converter declared.
TEST(TfliteReaderCorpus, OtherOptionsAgreeWithDeclaredShapes) {
  int softmax = 0, concat = 0, reshape = 0, fc = 0;
  for (const auto& rel : CorpusFiles()) {
    if (ExpectedFailures().count(rel)) continue;
    const ir::Graph& g = Load(rel);
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const ir::Op& op = g.ops[i];
      SCOPED_TRACE(rel + " " + g.OpLabel(static_cast<int>(i)));
      const ir::Tensor& out = g.tensors[op.outputs[0]];
      if (op.type == ir::OpType::kSOFTMAX) {
        EXPECT_EQ(std::get<ir::SoftmaxAttrs>(op.attrs).beta, 1.0f);
        ++softmax;
      } else if (op.type == ir::OpType::kCONCATENATION) {
        const auto& a = std::get<ir::AxisAttrs>(op.attrs);
        const int rank = static_cast<int>(out.shape.size());
        ASSERT_TRUE(a.axis >= -rank && a.axis < rank) << a.axis;
        const int axis = a.axis < 0 ? a.axis + rank : a.axis;
        int64_t sum = 0;
        for (int t : op.inputs) sum += g.tensors[t].shape[axis];
        EXPECT_EQ(sum, out.shape[axis]);
        ++concat;
      } else if (op.type == ir::OpType::kRESHAPE) {
        const auto& a = std::get<ir::ReshapeAttrs>(op.attrs);
        if (!a.has_new_shape || !out.shape_declared) continue;
        ASSERT_EQ(a.new_shape.size(), out.shape.size());
        for (size_t d = 0; d < out.shape.size(); ++d)
          if (a.new_shape[d] != -1 && out.shape[d] != -1) { EXPECT_EQ(a.new_shape[d], out.shape[d]); }
        ++reshape;
      } else if (op.type == ir::OpType::kFULLY_CONNECTED) {
        const auto& a = std::get<ir::FullyConnectedAttrs>(op.attrs);
        // Without keep_num_dims the output is [batch, units].
        if (!a.keep_num_dims) { EXPECT_EQ(out.shape.size(), 2u); }
        EXPECT_EQ(out.shape.back(), g.tensors[op.inputs[1]].shape[0]);
        ++fc;
      }
    }
  }
  EXPECT_GE(softmax, 20);
  EXPECT_GT(concat, 5);
  EXPECT_GT(reshape, 20);
  EXPECT_GT(fc, 20);
}

// Cross-check with the genuine TFLite runtime: every tensor it reported in golden/*/meta.json has
// the name, dtype, shape and quantization the reader gives the same index.
TEST(TfliteReaderCorpus, AgreesWithGoldenTensorMetadata) {
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(Shared("golden"))) {
    if (e.path().filename() != "meta.json") continue;
    std::ifstream in(e.path());
    auto meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (meta.is_discarded() || !meta.contains("model") || !meta.contains("engines")) continue;
    std::string model = meta["model"].get<std::string>();
    if (model.size() < 7 || model.substr(model.size() - 7) != ".tflite") continue;
    SCOPED_TRACE(e.path().string());
    const ir::Graph& g = Load(model);
    for (const auto& [engine, info] : meta["engines"].items()) {
      for (const char* list : {"outputs", "all_tensors"}) {
        if (!info.contains(list)) continue;
        for (const auto& t : info[list]) {
          int idx = std::stoi(t["key"].get<std::string>().substr(1));
          ASSERT_LT(idx, static_cast<int>(g.tensors.size()));
          const ir::Tensor& mine = g.tensors[idx];
          EXPECT_EQ(mine.name, t["name"].get<std::string>());
          EXPECT_EQ(ir::DTypeName(mine.dtype), t["dtype"].get<std::string>()) << mine.name;
          if (mine.shape_declared) {
            auto shape = t["shape"].get<std::vector<int64_t>>();
            ASSERT_EQ(mine.shape.size(), shape.size()) << mine.name;
            for (size_t d = 0; d < shape.size(); ++d)
              if (mine.shape[d] != -1) { EXPECT_EQ(mine.shape[d], shape[d]) << mine.name; }
          }
          if (t.contains("quant") && !t["quant"].is_null()) {
            auto scale = t["quant"]["scale"].get<std::vector<double>>();
            auto zp = t["quant"]["zero_point"].get<std::vector<int64_t>>();
            ASSERT_EQ(mine.quant.scale.size(), scale.size()) << mine.name;
            for (size_t k = 0; k < scale.size(); ++k)
              EXPECT_EQ(mine.quant.scale[k], static_cast<float>(scale[k])) << mine.name;
            EXPECT_EQ(mine.quant.zero_point, zp) << mine.name;
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(TfliteReader, MissingFileIsNotFound) {
  auto g = ReadTfliteFile("/nonexistent/dir/model.tflite");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find("/nonexistent/dir/model.tflite"), std::string::npos);
}

TEST(TfliteReader, DirectoryIsAnIoError) {
  auto g = ReadTfliteFile(Shared("corpus"));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace ql::tflite
