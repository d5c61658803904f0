// TFLite_Detection_PostProcess: the SSD post-processing custom op (box decoding against anchors,
// then fast or regular non-maximum suppression), as TFLite 2.9's builtin custom kernel runs it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "quantlens/runtime/kernel.h"
#include "quantlens/util/status.h"

namespace ql::kern {

// The op's attributes, read from the flexbuffer map in the op's custom options.
struct DetectionOptions {
  int max_detections = 0;
  int max_classes_per_detection = 0;  // fast NMS: classes reported per selected box
  int detections_per_class = 100;     // regular NMS; TFLite's default when the key is absent
  bool use_regular_nms = false;
  float nms_score_threshold = 0.0f;
  float nms_iou_threshold = 0.0f;
  int num_classes = 0;                // without the background class
  float y_scale = 0.0f, x_scale = 0.0f, h_scale = 0.0f, w_scale = 0.0f;
};

// Parses and checks the custom options bytes. `where` prefixes error messages.
Result<DetectionOptions> ParseDetectionOptions(std::span<const uint8_t> bytes,
                                               const std::string& where);

std::unique_ptr<rt::Kernel> MakeDetectionPostProcess();

}  // namespace ql::kern
