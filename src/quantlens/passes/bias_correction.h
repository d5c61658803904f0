// Empirical bias correction (Nagel et al., "Data-Free Quantization Through Weight Equalization and
// Bias Correction", 2019, section 4.2; AIMET's empirical variant): rounding the weights of a
// convolution or dense layer to int8 moves its output by (Wq - W) x, whose mean over the data is
// (Wq - W) E[x]. Subtracting that mean from the bias removes the systematic part of the weight
// rounding error. E[x] is the per-channel mean of the layer's float input, measured here over the
// calibration samples.
#pragma once

#include <map>
#include <span>
#include <vector>

#include "quantlens/io/sample_source.h"
#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::passes {

// Per-channel (last axis) means of the inputs of every CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED of the float graph, keyed by tensor index. One pass of the float model over the
// samples; memory: one vector per such input.
Result<std::map<int, std::vector<double>>> MeasureInputChannelMeans(const ir::Graph& float_graph,
                                                                    io::SampleSource& samples);

// The expected output shift of `op` (CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED; weights `w` in
// TFLite's layout) when its float weights are replaced by `dequantized` ones: one value per output
// channel, (Wq - W) summed against the input channel means. Padding is ignored (the mean of an
// interior position), which is the usual approximation.
std::vector<double> ExpectedOutputShift(ir::OpType type, const ir::Shape& weight_shape,
                                        std::span<const float> w, std::span<const float> dequantized,
                                        const std::vector<double>& input_means);

}  // namespace ql::passes
