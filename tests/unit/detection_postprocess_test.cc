// TFLite_Detection_PostProcess on hand-made inputs whose results follow from TFLite's rules:
// decoding, score threshold, IoU suppression, tie order, fast vs regular NMS, quantized inputs,
// and refusal of broken options and shapes. (The golden SSD model checks it end to end.)
#include "quantlens/kernels/detection_postprocess.h"

#include <cmath>
#include <vector>

#include <flatbuffers/flexbuffers.h>
#include <gtest/gtest.h>

#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using testing::Quant;
using testing::SingleOp;

struct Params {
  int max_detections = 3;
  int max_classes_per_detection = 1;
  int detections_per_class = 100;
  bool use_regular_nms = false;
  float score_threshold = 0.1f;
  float iou_threshold = 0.5f;
  int num_classes = 2;
  float scale_yx = 10.0f, scale_hw = 5.0f;
  bool omit_num_classes = false;
};

std::vector<uint8_t> Options(const Params& p) {
  flexbuffers::Builder fbb;
  fbb.Map([&]() {
    fbb.Int("max_detections", p.max_detections);
    fbb.Int("max_classes_per_detection", p.max_classes_per_detection);
    fbb.Int("detections_per_class", p.detections_per_class);
    fbb.Bool("use_regular_nms", p.use_regular_nms);
    fbb.Float("nms_score_threshold", p.score_threshold);
    fbb.Float("nms_iou_threshold", p.iou_threshold);
    if (!p.omit_num_classes) fbb.Int("num_classes", p.num_classes);
    fbb.Float("y_scale", p.scale_yx);
    fbb.Float("x_scale", p.scale_yx);
    fbb.Float("h_scale", p.scale_hw);
    fbb.Float("w_scale", p.scale_hw);
  });
  fbb.Finish();
  return fbb.GetBuffer();
}

// Anchors (center-size y, x, h, w). With zero encodings every box equals its anchor:
//   0: [0.0, 0.0, 1.0, 1.0]   1: [0.05, 0.05, 1.05, 1.05] (IoU with 0 ~ 0.82)
//   2: [2.0, 2.0, 3.0, 3.0]   3: [2.5, 2.0, 3.5, 3.0] (IoU with 2 = 1/3)
const std::vector<float> kAnchors = {0.5f,  0.5f, 1, 1, 0.55f, 0.55f, 1, 1,
                                     2.5f,  2.5f, 1, 1, 3.0f,  2.5f,  1, 1};

struct Outputs {
  std::vector<float> boxes, classes, scores, num;
  ir::Shape box_shape;
};

Result<Outputs> RunDetection(const Params& p, const std::vector<float>& scores,
                    std::vector<float> encodings = {}) {
  const int n = 4;
  if (encodings.empty()) encodings.assign(n * 4, 0.0f);
  SingleOp op(ir::OpType::kCUSTOM, ir::CustomAttrs{Options(p)}, "TFLite_Detection_PostProcess");
  op.AddInput<float>(DType::kFloat32, {1, n, 4}, encodings);
  op.AddInput<float>(DType::kFloat32, {1, n, p.num_classes + 1}, scores);
  op.AddInput<float>(DType::kFloat32, {n, 4}, kAnchors, {}, /*constant=*/true);
  for (int i = 0; i < 4; ++i) op.AddOutput(DType::kFloat32);
  QL_RETURN_IF_ERROR(op.Run());
  return Outputs{op.Output<float>(0), op.Output<float>(1), op.Output<float>(2), op.Output<float>(3),
                 op.OutputShape(0)};
}

TEST(DetectionPostProcess, ParsesOptionsAndRefusesBrokenOnes) {
  Params p;
  auto o = kern::ParseDetectionOptions(Options(p), "");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->max_detections, 3);
  EXPECT_EQ(o->num_classes, 2);
  EXPECT_FLOAT_EQ(o->nms_iou_threshold, 0.5f);
  EXPECT_FLOAT_EQ(o->h_scale, 5.0f);

  p.omit_num_classes = true;
  auto missing = kern::ParseDetectionOptions(Options(p), "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("num_classes"), std::string::npos);

  std::vector<uint8_t> garbage = {0xff, 0x13, 0x77, 0x01};
  EXPECT_FALSE(kern::ParseDetectionOptions(garbage, "").ok());
  EXPECT_FALSE(kern::ParseDetectionOptions({}, "").ok());

  Params bad_iou;
  bad_iou.iou_threshold = 0.0f;
  EXPECT_FALSE(kern::ParseDetectionOptions(Options(bad_iou), "").ok());
}

TEST(DetectionPostProcess, FastNmsSuppressesOverlapsAndOrdersByScore) {
  // Columns: background, class 0, class 1.
  const std::vector<float> scores = {0.0f, 0.9f, 0.1f,   // anchor 0: class 0
                                     0.0f, 0.8f, 0.2f,   // anchor 1: overlaps 0 -> suppressed
                                     0.0f, 0.3f, 0.7f,   // anchor 2: class 1
                                     0.0f, 0.05f, 0.6f}; // anchor 3: IoU 1/3 with 2 -> kept
  auto r = RunDetection(Params{}, scores);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->box_shape, (ir::Shape{1, 3, 4}));
  EXPECT_EQ(r->num, std::vector<float>{3});
  EXPECT_EQ(r->classes, (std::vector<float>{0, 1, 1}));
  EXPECT_EQ(r->scores, (std::vector<float>{0.9f, 0.7f, 0.6f}));
  EXPECT_EQ(r->boxes, (std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3, 2.5f, 2, 3.5f, 3}));
}

TEST(DetectionPostProcess, ScoreThresholdAndEmptySlotsAreZero) {
  Params p;
  p.score_threshold = 0.65f;
  const std::vector<float> scores = {0, 0.9f, 0.1f, 0, 0.8f, 0.2f, 0, 0.3f, 0.7f, 0, 0.05f, 0.6f};
  auto r = RunDetection(p, scores);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num, std::vector<float>{2});
  EXPECT_EQ(r->scores, (std::vector<float>{0.9f, 0.7f, 0.0f}));
  EXPECT_EQ(r->classes, (std::vector<float>{0, 1, 0}));
}

TEST(DetectionPostProcess, EqualScoresKeepAnchorOrder) {
  // All four anchors score the same; the stable sort keeps anchor order, so 0 beats 1 (suppressed)
  // and 2 comes before 3.
  const std::vector<float> scores = {0, 0.5f, 0, 0, 0.5f, 0, 0, 0.5f, 0, 0, 0.5f, 0};
  auto r = RunDetection(Params{}, scores);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num, std::vector<float>{3});
  EXPECT_EQ(r->boxes, (std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3, 2.5f, 2, 3.5f, 3}));
  // The fast path's arg max takes the first of equal classes.
  const std::vector<float> tied = {0, 0.5f, 0.5f, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto t = RunDetection(Params{}, tied);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num, std::vector<float>{1});
  EXPECT_EQ(t->classes[0], 0.0f);
}

TEST(DetectionPostProcess, FastNmsWithSeveralClassesPerBox) {
  Params p;
  p.max_detections = 2;
  p.max_classes_per_detection = 2;
  const std::vector<float> scores = {0, 0.2f, 0.9f, 0, 0, 0, 0, 0.4f, 0.3f, 0, 0, 0};
  auto r = RunDetection(p, scores);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->box_shape, (ir::Shape{1, 4, 4}));
  EXPECT_EQ(r->num, std::vector<float>{2});  // counts boxes, not (box, class) pairs
  EXPECT_EQ(r->classes, (std::vector<float>{1, 0, 0, 1}));
  EXPECT_EQ(r->scores, (std::vector<float>{0.9f, 0.2f, 0.4f, 0.3f}));
}

TEST(DetectionPostProcess, RegularNmsRunsPerClassAndPutsNewerClassFirstOnTies) {
  Params p;
  p.use_regular_nms = true;
  p.max_detections = 4;
  // Class 0: anchors 0 (0.6) and 2 (0.5). Class 1: anchor 1 (0.6, overlaps anchor 0 but NMS is
  // per class) and 3 (0.2).
  const std::vector<float> scores = {0, 0.6f, 0, 0, 0, 0.6f, 0, 0.5f, 0, 0, 0, 0.2f};
  auto r = RunDetection(p, scores);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num, std::vector<float>{4});
  // Tie at 0.6: class 1 (merged later) goes first, as TFLite's inplace_merge with >= does.
  EXPECT_EQ(r->classes, (std::vector<float>{1, 0, 0, 1}));
  EXPECT_EQ(r->scores, (std::vector<float>{0.6f, 0.6f, 0.5f, 0.2f}));
  EXPECT_FLOAT_EQ(r->boxes[0], 0.05f);  // anchor 1 (0.55 - 0.5 in float)
  EXPECT_EQ(r->boxes[4], 0.0f);

  p.detections_per_class = 1;  // each class keeps only its best
  auto one = RunDetection(p, scores);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->num, std::vector<float>{2});
  EXPECT_EQ(one->classes, (std::vector<float>{1, 0, 0, 0}));
}

TEST(DetectionPostProcess, DecodesCenterSizeEncodings) {
  Params p;
  p.max_detections = 1;
  // Anchor 0 (center 0.5, 0.5, size 1): y += 1.0/10*1, x -= 2.0/10*1, h *= exp(0.5/5), w *= exp(-1/5).
  std::vector<float> enc(16, 0.0f);
  enc[0] = 1.0f, enc[1] = -2.0f, enc[2] = 0.5f, enc[3] = -1.0f;
  const std::vector<float> scores = {0, 0.9f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto r = RunDetection(p, scores, enc);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const float yc = static_cast<float>(1.0 / 10 * 1 + 0.5), xc = static_cast<float>(-2.0 / 10 * 1 + 0.5);
  const float hh = static_cast<float>(0.5 * std::exp(0.5 / 5)), hw = static_cast<float>(0.5 * std::exp(-1.0 / 5));
  EXPECT_EQ(r->boxes, (std::vector<float>{yc - hh, xc - hw, yc + hh, xc + hw}));
}

TEST(DetectionPostProcess, QuantizedInputsDequantizeLikeFloat) {
  // uint8 with scale 1/256, zero point 0 for scores; boxes zero-point 128; anchors scale 0.05.
  const int n = 4;
  std::vector<uint8_t> enc(n * 4, 128);
  std::vector<uint8_t> cls = {0, 230, 26, 0, 205, 51, 0, 77, 179, 0, 13, 154};
  std::vector<uint8_t> anchors;
  for (float a : kAnchors) anchors.push_back(static_cast<uint8_t>(std::lround(a / 0.05f)));
  SingleOp op(ir::OpType::kCUSTOM, ir::CustomAttrs{Options(Params{})}, "TFLite_Detection_PostProcess");
  op.AddInput<uint8_t>(DType::kUInt8, {1, n, 4}, enc, Quant(0.1f, 128));
  op.AddInput<uint8_t>(DType::kUInt8, {1, n, 3}, cls, Quant(1.0f / 256, 0));
  op.AddInput<uint8_t>(DType::kUInt8, {n, 4}, anchors, Quant(0.05f, 0), true);
  for (int i = 0; i < 4; ++i) op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(op.Output<float>(3), std::vector<float>{3});
  EXPECT_EQ(op.Output<float>(1), (std::vector<float>{0, 1, 1}));
  EXPECT_EQ(op.Output<float>(2), (std::vector<float>{230.0f / 256, 179.0f / 256, 154.0f / 256}));
  const float y3 = (60.0f - 0.0f) * 0.05f;  // anchor 3's y center, dequantized in float
  const float h3 = (20.0f - 0.0f) * 0.05f;
  const float half = static_cast<float>(0.5 * std::exp(0.0) * double{h3});
  EXPECT_EQ(op.Output<float>(0)[8], y3 - half);
}

TEST(DetectionPostProcess, RefusesInvertedBoxesAndBadShapes) {
  std::vector<float> anchors = kAnchors;
  anchors[2] = -1.0f;  // negative anchor height inverts box 0
  SingleOp op(ir::OpType::kCUSTOM, ir::CustomAttrs{Options(Params{})}, "TFLite_Detection_PostProcess");
  op.AddInput<float>(DType::kFloat32, {1, 4, 4}, std::vector<float>(16, 0.0f));
  op.AddInput<float>(DType::kFloat32, {1, 4, 3}, std::vector<float>(12, 0.5f));
  op.AddInput<float>(DType::kFloat32, {4, 4}, anchors, {}, true);
  for (int i = 0; i < 4; ++i) op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("inverted"), std::string::npos) << s.message();

  SingleOp wrong(ir::OpType::kCUSTOM, ir::CustomAttrs{Options(Params{})}, "TFLite_Detection_PostProcess");
  wrong.AddInput<float>(DType::kFloat32, {1, 4, 4}, std::vector<float>(16, 0.0f));
  wrong.AddInput<float>(DType::kFloat32, {1, 4, 5}, std::vector<float>(20, 0.5f));  // 4 classes
  wrong.AddInput<float>(DType::kFloat32, {4, 4}, kAnchors, {}, true);
  for (int i = 0; i < 4; ++i) wrong.AddOutput(DType::kFloat32);
  Status w = wrong.Run();
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.code(), StatusCode::kInvalidModel);
  EXPECT_NE(w.message().find("num_classes"), std::string::npos) << w.message();
}

}  // namespace
}  // namespace ql
