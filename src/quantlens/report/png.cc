#include "quantlens/report/png.h"

#include <limits>
#include <vector>

// stb_image_write's implementation is compiled here and only here (io/image.cc has stb_image's
// decoder). No stdio: the PNG only ever goes to memory. Static, so the symbols cannot clash with
// another copy of stb linked into the same program.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
// Third-party code: its unused static functions and loose conversions are not quantlens's
// warnings to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wfloat-conversion"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace ql::report {
namespace {

void AppendBytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string PngDataUri(std::span<const uint8_t> pixels, int height, int width, int channels) {
  if (channels != 1 && channels != 3) return "";
  if (height <= 0 || width <= 0) return "";
  // stb takes the row stride as an int: refuse sizes whose byte counts do not fit one.
  const int64_t stride = int64_t{width} * channels;
  if (stride > std::numeric_limits<int>::max()) return "";
  if (static_cast<uint64_t>(stride) * static_cast<uint64_t>(height) != pixels.size()) return "";
  std::vector<uint8_t> png;
  if (stbi_write_png_to_func(AppendBytes, &png, width, height, channels, pixels.data(), static_cast<int>(stride)) ==
          0 ||
      png.empty()) {
    return "";
  }
  return "data:image/png;base64," + Base64Encode(png);
}

}  // namespace ql::report
