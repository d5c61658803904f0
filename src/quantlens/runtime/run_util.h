// Running a prepared interpreter over one or many samples and collecting outputs (and, on request,
// every operator output) as named arrays. Shared by `quantlens run` and any tool that needs the
// same "feed, invoke, stack" loop.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quantlens/io/array.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/util/status.h"

namespace ql::rt {

struct RunOptions {
  // Also collect every operator output, keyed by TensorKey.
  bool capture_all_tensors = false;
  // Called after each sample with (samples done, total); may draw a progress bar.
  std::function<void(int64_t, int64_t)> on_sample_done;
  // Run samples this many at a time as one batch where the model allows (every input and output
  // has a batch dimension of 1, and the first batch's outputs are byte-identical to running its
  // samples one by one); else, and for capture_all_tensors, one at a time. 1: never batch.
  int batch = 1;
};

struct RunOutputs {
  int64_t num_samples = 0;
  int batch = 1;  // the batch size the samples ran with (1: one at a time)
  std::vector<io::NamedArray> outputs;  // "output<k>" for model output k, samples stacked on dim 0
  std::vector<io::NamedArray> tensors;  // with capture_all_tensors, in execution order
};

// Feeds `inputs[i]` (already in input i's dtype, see io::LoadInputFile) to input i, one sample at a
// time, and stacks the results (io::StackSamples) when there is more than one sample. Every input
// must hold the same number of samples N, or exactly one (reused for every sample). A single
// sample keeps the model's own output shapes. With capture_all_tensors the interpreter's observers
// are cleared on return (Interpreter has no way to remove just one).
Result<RunOutputs> RunSamples(Interpreter& interp, const std::vector<io::Array>& inputs,
                              const RunOptions& options = {});

// The name under which a captured tensor is stored: "t<source_index>" (the tensor's index in
// subgraph 0 of the .tflite file, as in the golden files); for Keras graphs
// "layer/<name>:<node>" per graph.layer_outputs entry (possibly several per tensor, or none).
std::vector<std::string> TensorKeys(const ir::Graph& graph, int tensor_index);

}  // namespace ql::rt
