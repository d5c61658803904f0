// Fuzz target: .npy bytes -> ParseNpy -> (if it parses) SerializeNpy round trip, and the feeding
// checks `quantlens run --input x.npy` applies (CountSamples, SliceSample, ConvertToInputDType)
// against a few model inputs of different dtypes, quantization and shapes.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "fuzz_inputs.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto arr = ql::io::ParseNpy(std::span<const uint8_t>(data, size), "fuzz.npy");
  if (!arr.ok()) return 0;
  // What parsed must serialize and parse back to the same array.
  auto bytes = ql::io::SerializeNpy(*arr);
  if (bytes.ok()) {
    auto again = ql::io::ParseNpy(*bytes, "fuzz.npy (round trip)");
    if (!again.ok() || again->dtype != arr->dtype || again->shape != arr->shape || again->data != arr->data)
      __builtin_trap();
  }
  for (const auto& spec : ql::fuzz::SampleInputSpecs()) ql::fuzz::FeedArray(*arr, spec);
  return 0;
}
