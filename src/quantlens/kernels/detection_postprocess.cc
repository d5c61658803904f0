// TFLite_Detection_PostProcess as TFLite 2.9's kernel computes it. Everything that decides which
// box is reported, in which order, and with which float bits follows that kernel:
//  - box decoding in double precision, rounded to float once per coordinate;
//  - scores >= threshold kept, then a *stable* sort by decreasing score (ties: lower anchor first);
//  - greedy NMS that suppresses a candidate when IoU > threshold (strictly), IoU in float;
//  - fast NMS: per anchor the top classes by std::partial_sort (first maximum when one class);
//  - regular NMS: classes in order, each class's survivors merged into the running list with ties
//    placing the newer class first (what std::inplace_merge does with TFLite's `>=` comparator).
#include "quantlens/kernels/detection_postprocess.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <flatbuffers/flexbuffers.h>

namespace ql::kern {
namespace {

constexpr int kNumCoords = 4;

// A decoded box, in the order TFLite lays out its outputs.
struct Box {
  float ymin, xmin, ymax, xmax;
};

// One entry of regular NMS's running list: a box chosen for a class, with its score.
struct Candidate {
  int anchor;
  int class_index;  // without the background offset
  float score;
};

bool IsSupportedQuantized(ir::DType t) { return t == ir::DType::kUInt8 || t == ir::DType::kInt8; }

// Element i of a float, uint8 or int8 tensor as float. Quantized values are dequantized as TFLite
// does: (float(q) - float(zero_point)) * scale, all in float (exact up to the one product rounding).
float ValueAt(const rt::TensorRef& t, int64_t i) {
  switch (t.dtype()) {
    case ir::DType::kUInt8:
      return (static_cast<float>(t.as<uint8_t>()[i]) - static_cast<float>(t.zero_point())) * t.scale();
    case ir::DType::kInt8:
      return (static_cast<float>(t.as<int8_t>()[i]) - static_cast<float>(t.zero_point())) * t.scale();
    default:
      return t.as<float>()[i];
  }
}

// IoU exactly as TFLite evaluates it in float: a box of non-positive area overlaps nothing.
float IntersectionOverUnion(const Box& a, const Box& b) {
  const float area_a = (a.ymax - a.ymin) * (a.xmax - a.xmin);
  const float area_b = (b.ymax - b.ymin) * (b.xmax - b.xmin);
  if (area_a <= 0 || area_b <= 0) return 0.0f;
  const float iy0 = std::max(a.ymin, b.ymin);
  const float ix0 = std::max(a.xmin, b.xmin);
  const float iy1 = std::min(a.ymax, b.ymax);
  const float ix1 = std::min(a.xmax, b.xmax);
  const float inter = std::max(iy1 - iy0, 0.0f) * std::max(ix1 - ix0, 0.0f);
  return inter / (area_a + area_b - inter);
}

Status CheckQuantized(const rt::TensorRef& t, const char* role, const std::string& where) {
  if (!IsSupportedQuantized(t.dtype())) return Status::Ok();
  if (t.quant().scale.empty())
    return InvalidModel("{}{} '{}' is {} but has no quantization parameters", where, role,
                        t.info->name, ir::DTypeName(t.dtype()));
  if (t.quant().per_axis())
    return Unsupported("{}{} '{}' is quantized per axis ({} scales); TFLite_Detection_PostProcess "
                       "reads one scale and zero point",
                       where, role, t.info->name, t.quant().scale.size());
  return Status::Ok();
}

class DetectionPostProcess : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override;
  Status Eval(const rt::KernelArgs& args) override;

 private:
  // Boxes whose score (over `scores`, one per anchor) passes the threshold, greedily suppressed
  // by IoU, in decreasing score order; at most `max_out`.
  void SingleClassNms(const std::vector<float>& scores, int max_out, std::vector<int>* selected);
  void FastNms(const rt::KernelArgs& args);
  void RegularNms(const rt::KernelArgs& args);

  DetectionOptions opt_;
  int num_boxes_ = 0;
  int num_classes_with_background_ = 0;
  int label_offset_ = 0;  // 1 when class predictions include the background class 0
  std::vector<Box> boxes_;
  std::vector<float> scores_;  // [num_boxes, num_classes_with_background]
  // Scratch for SingleClassNms, kept to avoid allocating per call.
  std::vector<int> keep_, order_;
  std::vector<uint8_t> active_;
};

Status DetectionPostProcess::Prepare(const rt::KernelArgs& args) {
  const std::string where = args.Where();
  if (args.num_inputs() != 3 || args.num_outputs() != 4)
    return InvalidModel("{}TFLite_Detection_PostProcess needs 3 inputs and 4 outputs, has {} and {}",
                        where, args.num_inputs(), args.num_outputs());
  for (int i = 0; i < 3; ++i)
    if (!args.inputs[i]) return InvalidModel("{}input {} is omitted; all 3 inputs are required", where, i);
  const auto* attrs = std::get_if<ir::CustomAttrs>(&args.op.attrs);
  if (!attrs) return InvalidModel("{}custom options are missing", where);
  QL_ASSIGN_OR_RETURN(opt_, ParseDetectionOptions(attrs->options, where));

  const rt::TensorRef& box = args.in(0);
  const rt::TensorRef& cls = args.in(1);
  const rt::TensorRef& anchors = args.in(2);
  if (box.rank() != 3 || cls.rank() != 3 || anchors.rank() != 2)
    return InvalidModel("{}inputs must have ranks 3, 3, 2 (box encodings, class predictions, "
                        "anchors), have shapes {}, {}, {}",
                        where, ir::ShapeToString(box.shape), ir::ShapeToString(cls.shape),
                        ir::ShapeToString(anchors.shape));
  if (box.dim(0) != 1 || cls.dim(0) != 1)
    return Unsupported("{}batch size must be 1 (TFLite supports no other), box encodings {} and "
                       "class predictions {}",
                       where, ir::ShapeToString(box.shape), ir::ShapeToString(cls.shape));
  if (box.dim(1) > (int64_t{1} << 24) || cls.dim(2) > (int64_t{1} << 16))
    return Unsupported("{}{} anchors and {} classes exceed quantlens's limits (2^24 anchors, 2^16 "
                       "classes)", where, box.dim(1), cls.dim(2));
  num_boxes_ = static_cast<int>(box.dim(1));
  if (box.dim(2) < kNumCoords)
    return InvalidModel("{}box encodings {} need at least 4 values per anchor", where,
                        ir::ShapeToString(box.shape));
  if (cls.dim(1) != num_boxes_)
    return InvalidModel("{}class predictions {} must have one row per anchor ({})", where,
                        ir::ShapeToString(cls.shape), num_boxes_);
  // TFLite reads anchor i at offset 4*i without checking the anchors' shape; quantlens insists on
  // the only shape for which that read is meaningful.
  if (anchors.dim(0) != num_boxes_ || anchors.dim(1) != kNumCoords)
    return InvalidModel("{}anchors {} must have shape [{}, 4]", where,
                        ir::ShapeToString(anchors.shape), num_boxes_);
  num_classes_with_background_ = static_cast<int>(cls.dim(2));
  label_offset_ = num_classes_with_background_ - opt_.num_classes;
  if (label_offset_ < 0 || label_offset_ > 1)
    return InvalidModel("{}class predictions have {} columns but num_classes is {}; the op allows "
                        "num_classes or num_classes + 1 (background) columns",
                        where, num_classes_with_background_, opt_.num_classes);

  // Types. TFLite 2.9 decodes float or uint8 boxes; with uint8 boxes it reads the anchors as uint8
  // too, whatever their declared type, so quantlens refuses a float/quantized mix. int8 (which
  // later TFLite releases accept) is dequantized the same way.
  const bool box_quantized = IsSupportedQuantized(box.dtype());
  if (!box_quantized && box.dtype() != ir::DType::kFloat32)
    return Unsupported("{}box encodings '{}' have type {}; supported: float32, uint8, int8", where,
                       box.info->name, ir::DTypeName(box.dtype()));
  const bool anchors_quantized = IsSupportedQuantized(anchors.dtype());
  if (anchors_quantized != box_quantized ||
      (!anchors_quantized && anchors.dtype() != ir::DType::kFloat32))
    return Unsupported("{}anchors '{}' have type {} but box encodings have type {}; TFLite needs "
                       "both float32 or both quantized",
                       where, anchors.info->name, ir::DTypeName(anchors.dtype()),
                       ir::DTypeName(box.dtype()));
  if (!IsSupportedQuantized(cls.dtype()) && cls.dtype() != ir::DType::kFloat32)
    return Unsupported("{}class predictions '{}' have type {}; supported: float32, uint8, int8",
                       where, cls.info->name, ir::DTypeName(cls.dtype()));
  QL_RETURN_IF_ERROR(CheckQuantized(box, "box encodings", where));
  QL_RETURN_IF_ERROR(CheckQuantized(cls, "class predictions", where));
  QL_RETURN_IF_ERROR(CheckQuantized(anchors, "anchors", where));

  // Outputs: TFLite sets them to float32 of these shapes whatever the file declares (the SSD files
  // declare no shape at all).
  const int64_t slots = int64_t{opt_.max_detections} * opt_.max_classes_per_detection;
  const ir::Shape shapes[4] = {{1, slots, kNumCoords}, {1, slots}, {1, slots}, {1}};
  for (int i = 0; i < 4; ++i) {
    if (args.out(i).dtype() != ir::DType::kFloat32)
      return InvalidModel("{}output {} '{}' has type {}; this op writes float32", where, i,
                          args.out(i).info->name, ir::DTypeName(args.out(i).dtype()));
    args.out(i).shape = shapes[i];
  }
  boxes_.assign(num_boxes_, Box{});
  scores_.assign(static_cast<size_t>(num_boxes_) * num_classes_with_background_, 0.0f);
  return Status::Ok();
}

void DetectionPostProcess::SingleClassNms(const std::vector<float>& scores, int max_out,
                                          std::vector<int>* selected) {
  keep_.clear();
  for (int i = 0; i < num_boxes_; ++i)
    if (scores[i] >= opt_.nms_score_threshold) keep_.push_back(i);
  const int kept = static_cast<int>(keep_.size());
  // Positions into keep_, sorted by decreasing score; stable, so equal scores stay in anchor order.
  order_.resize(kept);
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](int a, int b) { return scores[keep_[a]] > scores[keep_[b]]; });
  const size_t limit = static_cast<size_t>(std::min(kept, max_out));
  selected->clear();
  active_.assign(kept, 1);
  int num_active = kept;
  for (int i = 0; i < kept; ++i) {
    if (num_active == 0 || selected->size() >= limit) break;
    if (!active_[i]) continue;
    const int anchor_i = keep_[order_[i]];
    selected->push_back(anchor_i);
    active_[i] = 0;
    --num_active;
    for (int j = i + 1; j < kept; ++j) {
      if (!active_[j]) continue;
      if (IntersectionOverUnion(boxes_[anchor_i], boxes_[keep_[order_[j]]]) > opt_.nms_iou_threshold) {
        active_[j] = 0;
        --num_active;
      }
    }
  }
}

void DetectionPostProcess::FastNms(const rt::KernelArgs& args) {
  const int num_classes = opt_.num_classes;
  const int per_anchor = std::min(opt_.max_classes_per_detection, num_classes);
  std::vector<int> class_order(static_cast<size_t>(num_boxes_) * num_classes);
  std::vector<float> max_scores(num_boxes_);
  for (int row = 0; row < num_boxes_; ++row) {
    const float* s = scores_.data() + static_cast<size_t>(row) * num_classes_with_background_ + label_offset_;
    int* idx = class_order.data() + static_cast<size_t>(row) * num_classes;
    if (per_anchor == 1) {
      // TFLite's ArgMaxVector: the first maximum (strict >).
      int best = 0;
      for (int c = 1; c < num_classes; ++c)
        if (s[c] > s[best]) best = c;
      idx[0] = best;
    } else {
      // std::partial_sort's heap selection decides the order of tied classes; TFLite uses the
      // same libstdc++ algorithm with the same comparator, so ties land in the same places.
      std::iota(idx, idx + num_classes, 0);
      std::partial_sort(idx, idx + per_anchor, idx + num_classes,
                        [s](int a, int b) { return s[a] > s[b]; });
    }
    max_scores[row] = s[idx[0]];
  }
  std::vector<int> selected;
  SingleClassNms(max_scores, opt_.max_detections, &selected);

  float* out_boxes = args.out(0).mut<float>();
  float* out_classes = args.out(1).mut<float>();
  float* out_scores = args.out(2).mut<float>();
  int n = 0;
  for (int anchor : selected) {
    const float* s = scores_.data() + static_cast<size_t>(anchor) * num_classes_with_background_ + label_offset_;
    const int* idx = class_order.data() + static_cast<size_t>(anchor) * num_classes;
    for (int c = 0; c < per_anchor; ++c) {
      // The stride is max_classes_per_detection even when fewer classes exist: slots past
      // num_classes stay empty, as in TFLite.
      const size_t slot = static_cast<size_t>(opt_.max_classes_per_detection) * n + c;
      const Box& b = boxes_[anchor];
      out_boxes[slot * 4 + 0] = b.ymin;
      out_boxes[slot * 4 + 1] = b.xmin;
      out_boxes[slot * 4 + 2] = b.ymax;
      out_boxes[slot * 4 + 3] = b.xmax;
      out_classes[slot] = static_cast<float>(idx[c]);
      out_scores[slot] = s[idx[c]];
    }
    ++n;
  }
  args.out(3).mut<float>()[0] = static_cast<float>(n);
}

void DetectionPostProcess::RegularNms(const rt::KernelArgs& args) {
  const int max_det = opt_.max_detections;
  const int per_class = std::min(opt_.detections_per_class, max_det);
  std::vector<Candidate> list, merged;  // running best-first list, at most max_det long
  list.reserve(max_det + per_class);
  std::vector<float> class_scores(num_boxes_);
  std::vector<int> selected;
  for (int col = 0; col < opt_.num_classes; ++col) {
    for (int row = 0; row < num_boxes_; ++row)
      class_scores[row] = scores_[static_cast<size_t>(row) * num_classes_with_background_ + col + label_offset_];
    SingleClassNms(class_scores, per_class, &selected);
    if (selected.empty()) continue;
    // Merge this class's list (already in decreasing score order) into the running list. TFLite
    // calls std::inplace_merge with `a.score >= b.score`, under which an element of the new list
    // goes before an equal element of the old one.
    merged.clear();
    size_t a = 0, b = 0;
    while (a < list.size() || b < selected.size()) {
      const bool take_new =
          b < selected.size() && (a == list.size() || class_scores[selected[b]] >= list[a].score);
      if (take_new) {
        merged.push_back({selected[b], col, class_scores[selected[b]]});
        ++b;
      } else {
        merged.push_back(list[a++]);
      }
    }
    if (static_cast<int>(merged.size()) > max_det) merged.resize(max_det);
    list.swap(merged);
  }
  float* out_boxes = args.out(0).mut<float>();
  float* out_classes = args.out(1).mut<float>();
  float* out_scores = args.out(2).mut<float>();
  for (size_t i = 0; i < list.size(); ++i) {
    const Box& b = boxes_[list[i].anchor];
    out_boxes[i * 4 + 0] = b.ymin;
    out_boxes[i * 4 + 1] = b.xmin;
    out_boxes[i * 4 + 2] = b.ymax;
    out_boxes[i * 4 + 3] = b.xmax;
    out_classes[i] = static_cast<float>(list[i].class_index);
    out_scores[i] = list[i].score;
  }
  args.out(3).mut<float>()[0] = static_cast<float>(list.size());
}

Status DetectionPostProcess::Eval(const rt::KernelArgs& args) {
  const rt::TensorRef& box = args.in(0);
  const rt::TensorRef& cls = args.in(1);
  const rt::TensorRef& anchors = args.in(2);
  const int64_t box_stride = box.dim(2);
  const double sy = opt_.y_scale, sx = opt_.x_scale, sh = opt_.h_scale, sw = opt_.w_scale;
  for (int i = 0; i < num_boxes_; ++i) {
    const float ey = ValueAt(box, i * box_stride + 0), ex = ValueAt(box, i * box_stride + 1);
    const float eh = ValueAt(box, i * box_stride + 2), ew = ValueAt(box, i * box_stride + 3);
    // Anchors are center-size: (y, x, h, w).
    const float ay = ValueAt(anchors, i * 4 + 0), ax = ValueAt(anchors, i * 4 + 1);
    const float ah = ValueAt(anchors, i * 4 + 2), aw = ValueAt(anchors, i * 4 + 3);
    // TFLite 2.9 evaluates these in double and rounds each to float once (made so since TFLite
    // and TFLite Micro agree bit for bit); the corners are then float sums.
    const float yc = static_cast<float>(double{ey} / sy * double{ah} + double{ay});
    const float xc = static_cast<float>(double{ex} / sx * double{aw} + double{ax});
    const float half_h = static_cast<float>(0.5 * std::exp(double{eh} / sh) * double{ah});
    const float half_w = static_cast<float>(0.5 * std::exp(double{ew} / sw) * double{aw});
    boxes_[i] = {yc - half_h, xc - half_w, yc + half_h, xc + half_w};
  }
  // TFLite fails the op when any decoded box is inverted (NaN coordinates pass this check).
  for (int i = 0; i < num_boxes_; ++i) {
    const Box& b = boxes_[i];
    if (b.ymin > b.ymax || b.xmin > b.xmax)
      return InvalidArgument("{}decoded box {} is inverted (ymin {} xmin {} ymax {} xmax {}); "
                             "TFLite refuses boxes with min > max (negative anchor size?)",
                             args.Where(), i, b.ymin, b.xmin, b.ymax, b.xmax);
  }
  const int64_t n_scores = static_cast<int64_t>(scores_.size());
  for (int64_t i = 0; i < n_scores; ++i) scores_[i] = ValueAt(cls, i);

  // Slots no detection fills are zero. (TFLite's fast NMS leaves them as the memory was; quantlens
  // makes them deterministic.)
  for (int k = 0; k < 3; ++k) std::fill_n(args.out(k).mut<float>(), args.out(k).num_elements(), 0.0f);
  if (opt_.use_regular_nms)
    RegularNms(args);
  else
    FastNms(args);
  return Status::Ok();
}

}  // namespace

Result<DetectionOptions> ParseDetectionOptions(std::span<const uint8_t> bytes,
                                               const std::string& where) {
  const std::string op = where + "TFLite_Detection_PostProcess options: ";
  if (bytes.empty()) return InvalidModel("{}custom options are empty; the op needs its parameters", op);
  if (!flexbuffers::VerifyBuffer(bytes.data(), bytes.size()))
    return InvalidModel("{}custom options ({} bytes) are not a valid flexbuffer", op, bytes.size());
  const flexbuffers::Reference root = flexbuffers::GetRoot(bytes.data(), bytes.size());
  if (!root.IsMap()) return InvalidModel("{}custom options are not a flexbuffer map", op);
  const flexbuffers::Map m = root.AsMap();
  auto has = [&](const char* key) { return !m[key].IsNull(); };
  // Keys TFLite reads without a default (an absent key would silently become 0 there).
  for (const char* key : {"max_detections", "max_classes_per_detection", "num_classes",
                          "nms_score_threshold", "nms_iou_threshold", "y_scale", "x_scale",
                          "h_scale", "w_scale"})
    if (!has(key)) return InvalidModel("{}required key '{}' is missing", op, key);

  DetectionOptions o;
  o.max_detections = m["max_detections"].AsInt32();
  o.max_classes_per_detection = m["max_classes_per_detection"].AsInt32();
  if (has("detections_per_class")) o.detections_per_class = m["detections_per_class"].AsInt32();
  if (has("use_regular_nms")) o.use_regular_nms = m["use_regular_nms"].AsBool();
  o.nms_score_threshold = m["nms_score_threshold"].AsFloat();
  o.nms_iou_threshold = m["nms_iou_threshold"].AsFloat();
  o.num_classes = m["num_classes"].AsInt32();
  o.y_scale = m["y_scale"].AsFloat();
  o.x_scale = m["x_scale"].AsFloat();
  o.h_scale = m["h_scale"].AsFloat();
  o.w_scale = m["w_scale"].AsFloat();

  if (o.max_detections < 0 || o.max_detections > (1 << 20))
    return InvalidModel("{}max_detections {} must be in [0, 2^20]", op, o.max_detections);
  // TFLite sizes outputs by max_classes_per_detection in both modes; 0 would make regular NMS
  // write past them.
  if (o.max_classes_per_detection <= 0 || o.max_classes_per_detection > (1 << 16))
    return InvalidModel("{}max_classes_per_detection {} must be in [1, 2^16]", op,
                        o.max_classes_per_detection);
  if (o.num_classes <= 0) return InvalidModel("{}num_classes {} must be positive", op, o.num_classes);
  if (o.use_regular_nms && std::min(o.detections_per_class, o.max_detections) <= 0)
    return InvalidModel("{}regular NMS needs detections_per_class ({}) and max_detections ({}) > 0",
                        op, o.detections_per_class, o.max_detections);
  if (!(o.nms_iou_threshold > 0.0f && o.nms_iou_threshold <= 1.0f))
    return InvalidModel("{}nms_iou_threshold {} must be in (0, 1]", op, o.nms_iou_threshold);
  const std::pair<const char*, float> scales[] = {
      {"y_scale", o.y_scale}, {"x_scale", o.x_scale}, {"h_scale", o.h_scale}, {"w_scale", o.w_scale}};
  for (const auto& [name, v] : scales)
    if (!std::isfinite(v) || v == 0.0f)
      return InvalidModel("{}{} {} must be finite and nonzero (box encodings are divided by it)", op,
                          name, v);
  return o;
}

std::unique_ptr<rt::Kernel> MakeDetectionPostProcess() {
  return std::make_unique<DetectionPostProcess>();
}

}  // namespace ql::kern
