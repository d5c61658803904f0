// Calibration and comparison data, fed to a model one sample at a time. Where `run` loads whole
// files (io/feed.h), a SampleSource reads sample i on demand, so memory stays bounded by one sample
// for image folders and .npy files however many samples they hold. Every conversion to the model's
// input dtype goes through io/feed.h, so `run`, `convert` and `compare` feed models identically.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quantlens/io/array.h"
#include "quantlens/io/feed.h"
#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::io {

// Samples fed to a model one at a time (calibration, compare): memory stays bounded by one sample
// for image folders and .npy files (read the npy header, then each sample at its offset).
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t num_samples() const = 0;
  // Sample i (0 <= i < num_samples()): one array per graph input, each in that input's dtype and
  // sample shape (batch 1), converted as io::ConvertToInputDType does.
  virtual Result<std::vector<Array>> Get(int64_t i) = 0;
  // Integer class labels when the data has them (.npz "y"), else empty.
  virtual std::optional<int64_t> Label(int64_t i) const { return std::nullopt; }
  virtual std::string description() const = 0;  // "cifar10/train_1000.npz (1000 samples)"
};

struct SampleSourceOptions {
  ImageFeedOptions image;          // --resize/--scale/--offset/--grayscale, as `run` has them
  int64_t max_samples = -1;        // --calibration-samples N: the first N in file order; -1 all
  bool reject_non_finite = true;   // NaN/Inf in float data is an error naming file, sample, index
};

// How many samples "random:SEED" yields when max_samples is -1.
inline constexpr int64_t kDefaultRandomSamples = 100;

// DATA is one of
//  * a .npy holding one sample or N stacked samples (io::CountSamples's rules) for a one-input
//    model; only its header is read up front, each sample is read at its offset on Get;
//  * a .npz whose array "x" holds them (read whole, decompressed), with optional integer labels
//    "y" of N entries (shape [N] or [N, 1]);
//  * a folder of images (PNG/JPEG/BMP by content; other files and sub-folders are skipped), sorted
//    by file name, each decoded and resized on Get; an empty folder is an error;
//  * "random:SEED" (SEED a non-negative integer): deterministic uniform data, float inputs over
//    [0, 1), integer inputs over their dtype's whole range (bool: 0 or 1). Sample i depends only on
//    SEED, i and the input, never on the order of Get calls. kDefaultRandomSamples samples unless
//    max_samples says otherwise.
// `input_sample_shapes` holds one shape per graph input: the interpreter's resolved shape (or
// InputSampleShapes below). The source keeps its own copy of what it needs of the graph's inputs;
// the graph may go away before it. Wrong dtype or shape is an error before anything runs, naming the file,
// the model input and both shapes.
Result<std::unique_ptr<SampleSource>> OpenSampleSource(const std::string& data, const ir::Graph& graph,
    const std::vector<ir::Shape>& input_sample_shapes, const SampleSourceOptions& options);

// The declared shape of each graph input with open dimensions (-1) set to 1: what the interpreter
// resolves them to, for callers that have no interpreter yet.
std::vector<ir::Shape> InputSampleShapes(const ir::Graph& graph);

}  // namespace ql::io
