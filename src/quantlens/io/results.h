// Reading model outputs for people: dequantized values, top-k classes with labels, and a one-line
// summary of an array.
#pragma once

#include <string>
#include <vector>

#include "quantlens/io/array.h"
#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::io {

// Real values of `a`: scale * (q - zero_point) for quantized integer data (per-axis along
// `quant.axis`), the values themselves otherwise.
Result<std::vector<double>> Dequantize(const Array& a, const ir::Quantization& quant);

struct ScoredClass {
  int64_t index = 0;
  double score = 0.0;  // dequantized
};

// The k highest scores among `scores` (ties: lower index first), best first.
std::vector<ScoredClass> TopK(const std::vector<double>& scores, int k);

// Class labels by index. One label per line (line i is class i); files where every non-empty line
// is "<index> <label>" or "<index>: <label>" (some Coral label files) map by the given index.
// A trailing '\r' is dropped. Missing indices are empty strings.
Result<std::vector<std::string>> ReadLabels(const std::string& path);

// Labels for a classifier with `num_classes` outputs. A 1001-line ImageNet-style file (first label
// "background") used with a 1000-class model is shifted by one, since such models drop the
// background class; otherwise `labels` is returned unchanged.
std::vector<std::string> AlignLabels(std::vector<std::string> labels, int64_t num_classes);

// "int8 [1,1001] min -128 max 97 first [-128, -127, ...]" with dequantized range for quantized data.
std::string SummarizeArray(const Array& a, const ir::Quantization& quant, int max_values = 8);

}  // namespace ql::io
