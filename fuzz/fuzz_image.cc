// Fuzz target: image bytes (PNG, JPEG, BMP) -> the input path of `quantlens run --input photo.png`:
// LoadInputFile (content sniffing, stb_image decode, bilinear resize, pixel -> input conversion)
// into model inputs of several layouts and dtypes, plus DecodeImage and ResizeBilinear directly.
// The readers open paths, so the bytes go to a memfd reached as /proc/self/fd/N.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "fuzz_inputs.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ql::fuzz::MemFile file;
  const std::string& path = file.Write(data, size);
  const auto& specs = ql::fuzz::SampleInputSpecs();
  // One spec and one option set per exec, chosen by the input size: deterministic per input.
  ql::io::ImageFeedOptions opts;
  switch ((size / 7) % 4) {
    case 0: break;
    case 1: opts.scale = 1.0f / 255; opts.offset = -0.5f; break;
    case 2: opts.grayscale = true; break;
    default: opts.grayscale = false; opts.offset = 3.0f; break;
  }
  auto fed = ql::io::LoadInputFile(path, specs[size % specs.size()], opts);
  (void)fed;
  auto img = ql::io::DecodeImage(path, (size & 1) ? 1 : 3);
  if (img.ok()) {
    auto small = ql::io::ResizeBilinear(*img, 1 + static_cast<int>(size % 13), 1 + static_cast<int>(size % 5));
    (void)small;
  }
  return 0;
}
