#include "quantlens/io/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

// stb_image's implementation is compiled here and only here. Only the decoders quantlens accepts
// are built, which also shrinks the hostile-input surface.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO_WARNINGS
#define STBI_FAILURE_USERMSG
#include <stb_image.h>

#include "quantlens/io/atomic_file.h"

namespace ql::io {
namespace {

// Images larger than this many pixels are refused before decoding (a hostile header can claim
// 2^31 x 2^31 pixels).
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

struct StbiFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

}  // namespace

bool LooksLikeImage(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char h[8] = {};
  f.read(reinterpret_cast<char*>(h), sizeof(h));
  if (f.gcount() < 2) return false;
  if (f.gcount() >= 8 && std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) return true;
  if (h[0] == 0xFF && h[1] == 0xD8) return true;  // JPEG SOI
  return h[0] == 'B' && h[1] == 'M';
}

Result<Image> DecodeImage(const std::string& path, int channels) {
  if (channels != 1 && channels != 3) {
    return InvalidArgument("{}: can decode to 1 or 3 channels, not {}", path, channels);
  }
  QL_ASSIGN_OR_RETURN(auto bytes, ReadFileBytes(path, uint64_t{512} << 20));
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return InvalidArgument("{}: image file too large", path);
  }
  int w = 0, h = 0, file_channels = 0;
  const int len = static_cast<int>(bytes.size());
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &file_channels)) {
    return InvalidArgument("{}: not a decodable PNG, JPEG or BMP image ({})", path,
                           stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
  }
  if (w <= 0 || h <= 0 || int64_t{w} * h > kMaxImagePixels) {
    return InvalidArgument("{}: image size {}x{} is outside the supported range (at most {} pixels)",
                           path, w, h, kMaxImagePixels);
  }
  std::unique_ptr<stbi_uc, StbiFree> data(
      stbi_load_from_memory(bytes.data(), len, &w, &h, &file_channels, channels));
  if (!data) {
    return InvalidArgument("{}: image decoding failed: {}", path,
                           stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
  }
  Image img;
  img.height = h;
  img.width = w;
  img.channels = channels;
  img.pixels.assign(data.get(), data.get() + static_cast<size_t>(w) * h * channels);
  return img;
}

Result<FloatImage> ResizeBilinear(const Image& image, int out_h, int out_w) {
  if (out_h <= 0 || out_w <= 0 || int64_t{out_h} * out_w > kMaxImagePixels) {
    return InvalidArgument("resize target {}x{} is not a positive size of at most {} pixels", out_h,
                           out_w, kMaxImagePixels);
  }
  const int c = image.channels;
  FloatImage out;
  out.height = out_h;
  out.width = out_w;
  out.channels = c;
  out.values.resize(static_cast<size_t>(out_h) * out_w * c);
  if (out_h == image.height && out_w == image.width) {
    // Same size: exact pass-through. (The formula below would also reproduce the pixels, but a
    // copy makes "same size means untouched" true by construction.)
    std::copy(image.pixels.begin(), image.pixels.end(), out.values.begin());
    return out;
  }
  // Source coordinate and the two neighbours with their weights, per output row / column.
  struct Tap {
    int lo, hi;
    float frac;
  };
  auto taps = [](int out_n, int in_n) {
    std::vector<Tap> t(out_n);
    const double scale = static_cast<double>(in_n) / out_n;
    for (int i = 0; i < out_n; ++i) {
      double src = (i + 0.5) * scale - 0.5;
      src = std::clamp(src, 0.0, static_cast<double>(in_n - 1));
      int lo = static_cast<int>(std::floor(src));
      int hi = std::min(lo + 1, in_n - 1);
      t[i] = {lo, hi, static_cast<float>(src - lo)};
    }
    return t;
  };
  const std::vector<Tap> ty = taps(out_h, image.height), tx = taps(out_w, image.width);
  const uint8_t* p = image.pixels.data();
  auto at = [&](int y, int x, int ch) -> float {
    return p[(static_cast<size_t>(y) * image.width + x) * c + ch];
  };
  for (int y = 0; y < out_h; ++y) {
    for (int x = 0; x < out_w; ++x) {
      for (int ch = 0; ch < c; ++ch) {
        float top = at(ty[y].lo, tx[x].lo, ch) +
                    (at(ty[y].lo, tx[x].hi, ch) - at(ty[y].lo, tx[x].lo, ch)) * tx[x].frac;
        float bottom = at(ty[y].hi, tx[x].lo, ch) +
                       (at(ty[y].hi, tx[x].hi, ch) - at(ty[y].hi, tx[x].lo, ch)) * tx[x].frac;
        out.values[(static_cast<size_t>(y) * out_w + x) * c + ch] = top + (bottom - top) * ty[y].frac;
      }
    }
  }
  return out;
}

}  // namespace ql::io
