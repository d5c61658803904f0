#include "quantlens/io/image.h"

#include <algorithm>
#include <array>
#include <cctype>
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
// stb's short failure reasons ("bad ctype", "only 8-bit") name the broken rule; its only warning
// with them is a variable the compiler cannot see used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#include <stb_image.h>
#pragma GCC diagnostic pop

#include "quantlens/io/atomic_file.h"

namespace ql::io {
namespace {

// Images larger than this many pixels are refused before decoding (a hostile header can claim
// 2^31 x 2^31 pixels).
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

struct StbiFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

uint32_t Crc32(const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}
// stb tries the PNG decoder first on every file, and some JPEG failures set no reason of their
// own: a "bad png sig" left on a file that is no PNG is not the reason.
std::string StbReason(const std::vector<uint8_t>& b) {
  const char* r = stbi_failure_reason();
  if (r == nullptr) return "no reason given";
  if (std::strcmp(r, "bad png sig") == 0 && !(b.size() >= 4 && std::memcmp(b.data(), "\x89PNG", 4) == 0))
    return b.size() >= 2 && b[0] == 0xff && b[1] == 0xd8 ? "corrupt JPEG marker segment" : "corrupt data";
  return r;
}
uint32_t Be32(const uint8_t* p) { return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]; }
uint32_t Le32(const uint8_t* p) { return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0]; }

// stb_image 2.27 builds a Huffman table from a DHT segment's 16 code counts without checking
// that they sum to at most 256: more writes past its 257-entry size and 256-entry value arrays
// (UBSan: "index 257 out of bounds"). Walk the JPEG's marker segments (skipping entropy-coded
// data) and refuse such a table before stb reads the file.
Status CheckJpegHuffmanTables(const std::vector<uint8_t>& b, const std::string& path) {
  // stb finds the SOI marker after any number of 0xff fill bytes (FF FF D8 is a JPEG to it).
  size_t pos = 0;
  while (pos < b.size() && b[pos] == 0xff) ++pos;
  if (pos == 0 || pos >= b.size() || b[pos] != 0xd8) return Status::Ok();
  ++pos;
  while (pos + 4 <= b.size()) {
    const uint8_t m = b[pos + 1];
    // Entropy-coded bytes, stuffed 0xff00, fill bytes, RSTn and TEM carry no segment.
    if (b[pos] != 0xff || m == 0x00 || m == 0xff || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      ++pos;
      continue;
    }
    if (m == 0xd9) break;  // EOI
    const size_t len = (size_t{b[pos + 2]} << 8) | b[pos + 3];
    // stb reads tables while any of the segment's length is left, so a table that starts inside
    // the segment is read whole even when it runs past the segment's end; bytes past the end of
    // the file read as 0. Walk the tables the same way.
    const auto byte_at = [&](size_t i) -> int { return i < b.size() ? b[i] : 0; };
    int64_t left = static_cast<int64_t>(len) - 2;
    for (size_t q = pos + 4; m == 0xc4 && left > 0;) {
      int codes = 0;
      for (size_t i = 1; i <= 16; ++i) codes += byte_at(q + i);
      if (codes > 256)
        return InvalidArgument("{}: JPEG Huffman table at byte {} (DHT segment at byte {}) declares {} codes, "
                               "more than the 256 a table can hold", path, q, pos, codes);
      q += 17 + static_cast<size_t>(codes);
      left -= 17 + codes;
    }
    pos += 2 + len;
  }
  return Status::Ok();
}

// What stb_image does not check: it skips PNG CRCs and reads past the end of a file as zeros,
// so a corrupt or truncated PNG or BMP would decode to made-up pixels.
Status CheckStructure(const std::vector<uint8_t>& b, const std::string& path) {
  if (b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0) {
    for (size_t pos = 8;;) {
      if (b.size() - pos < 12)
        return InvalidArgument("{}: PNG ends at byte {} without an IEND chunk (truncated)", path, b.size());
      const uint32_t len = Be32(&b[pos]);
      std::string type(reinterpret_cast<const char*>(&b[pos + 4]), 4);
      for (char& ch : type) if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '?';
      if (len > b.size() - pos - 12)
        return InvalidArgument("{}: PNG chunk '{}' at byte {} declares {} bytes, past the end of the {}-byte file "
                               "(truncated)", path, type, pos, len, b.size());
      const uint32_t stored = Be32(&b[pos + 8 + len]), actual = Crc32(&b[pos + 4], len + 4);
      if (stored != actual)
        return InvalidArgument("{}: PNG chunk '{}' at byte {} has CRC {:08x} but its bytes give {:08x} (corrupt file)",
                               path, type, pos, stored, actual);
      if (type == "IEND") break;
      pos += 12 + size_t{len};
    }
  } else if (b.size() >= 34 && b[0] == 'B' && b[1] == 'M' && Le32(&b[14]) >= 40) {
    // Uncompressed pixel rows must all be in the file. stb_image refuses only the RLE codes (1, 2)
    // and reads any other compression value as uncompressed rows (a fuzzed header with
    // compression 0xED000000 and 2.9 million rows decoded 69 MB of zeros from a 56-byte file),
    // so every code but RLE is checked.
    const uint32_t offset = Le32(&b[10]), compression = Le32(&b[30]);
    const int64_t w = static_cast<int32_t>(Le32(&b[18])), h = static_cast<int32_t>(Le32(&b[22]));
    const int bpp = b[28] | (b[29] << 8);
    if (compression != 1 && compression != 2 && w > 0 && h != 0 &&
        (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32)) {
      const uint64_t row = ((static_cast<uint64_t>(w) * bpp + 31) / 32) * 4;
      const uint64_t rows = static_cast<uint64_t>(h < 0 ? -h : h);
      const uint64_t avail = offset <= b.size() ? b.size() - offset : 0;
      if (offset > b.size() || rows > avail / row)
        return InvalidArgument("{}: BMP pixel data ({} rows of {} bytes from byte {}) runs past the end of the "
                               "{}-byte file (truncated)", path, rows, row, offset, b.size());
    }
  }
  return Status::Ok();
}

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
  QL_RETURN_IF_ERROR(CheckJpegHuffmanTables(bytes, path));
  int w = 0, h = 0, file_channels = 0;
  const int len = static_cast<int>(bytes.size());
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &file_channels)) {
    // stbi_info keeps the reason of the last format it tried ("unknown image type"); decoding
    // names the broken rule of the file's own format, failing in the same header check.
    std::unique_ptr<stbi_uc, StbiFree> probe(stbi_load_from_memory(bytes.data(), len, &w, &h, &file_channels, channels));
    return InvalidArgument("{}: not a decodable PNG, JPEG or BMP image ({})", path,
                           probe ? std::string("unknown format") : StbReason(bytes));
  }
  if (w <= 0 || h <= 0 || int64_t{w} * h > kMaxImagePixels) {
    return InvalidArgument("{}: image size {}x{} is outside the supported range (at most {} pixels)",
                           path, w, h, kMaxImagePixels);
  }
  QL_RETURN_IF_ERROR(CheckStructure(bytes, path));
  std::unique_ptr<stbi_uc, StbiFree> data(
      stbi_load_from_memory(bytes.data(), len, &w, &h, &file_channels, channels));
  if (!data) {
    return InvalidArgument("{}: image decoding failed: {}", path,
                           StbReason(bytes));
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
