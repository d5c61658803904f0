// Image cases: hand-made PNG, JPEG and BMP encoders, each file broken one way.
#include "common.h"

namespace make_malformed {

// Images.

Bytes PngChunk(const std::string& type, const Bytes& data) {
  Bytes c;
  Put32BE(c, static_cast<uint32_t>(data.size()));
  Bytes td = B(type);
  Append(td, data);
  Append(c, td);
  Put32BE(c, Crc32(td));
  return c;
}

Bytes Ihdr(uint32_t w, uint32_t h, uint8_t depth = 8, uint8_t color = 2, uint8_t comp = 0, uint8_t filter = 0,
           uint8_t interlace = 0) {
  Bytes d;
  Put32BE(d, w);
  Put32BE(d, h);
  for (uint8_t v : {depth, color, comp, filter, interlace}) d.push_back(v);
  return d;
}

// 8x8 RGB scanlines (filter byte 0), a colour ramp.
Bytes RgbScanlines(int w = 8, int h = 8, uint8_t filter = 0) {
  Bytes s;
  for (int y = 0; y < h; ++y) {
    s.push_back(filter);
    for (int x = 0; x < w; ++x) {
      s.push_back(static_cast<uint8_t>(x * 30));
      s.push_back(static_cast<uint8_t>(y * 30));
      s.push_back(static_cast<uint8_t>(128));
    }
  }
  return s;
}

const Bytes kPngSig = B("\x89PNG\r\n\x1a\n");

Bytes Png(const std::vector<Bytes>& chunks) {
  Bytes b = kPngSig;
  for (const auto& c : chunks) Append(b, c);
  return b;
}

Bytes GoodPng() {
  return Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", ZlibCompress(RgbScanlines())), PngChunk("IEND", {})});
}


JpegParts GoodJpegParts(uint16_t w, uint16_t h) {
  JpegParts p;
  p.dqt = {0xff, 0xdb};
  Put16BE(p.dqt, 67);
  p.dqt.push_back(0x00);
  for (int i = 0; i < 64; ++i) p.dqt.push_back(1);
  p.sof = {0xff, 0xc0};
  Put16BE(p.sof, 11);
  p.sof.push_back(8);
  Put16BE(p.sof, h);
  Put16BE(p.sof, w);
  for (uint8_t v : {1, 1, 0x11, 0}) p.sof.push_back(v);
  auto dht = [](uint8_t cls) {
    Bytes d = {0xff, 0xc4};
    Put16BE(d, 20);
    d.push_back(cls);
    d.push_back(1);
    for (int i = 1; i < 16; ++i) d.push_back(0);
    d.push_back(0);  // the one symbol: DC category 0 / AC EOB
    return d;
  };
  p.dht_dc = dht(0x00);
  p.dht_ac = dht(0x10);
  p.sos = {0xff, 0xda};
  Put16BE(p.sos, 8);
  for (uint8_t v : {1, 1, 0x00, 0, 63, 0}) p.sos.push_back(v);
  p.scan = {0x3f};  // bits 0 (DC), 0 (EOB), then 1-padding
  return p;
}

Bytes Jpeg(const JpegParts& p, bool eoi) {
  Bytes b = {0xff, 0xd8};
  for (const Bytes* part : {&p.dqt, &p.sof, &p.dht_dc, &p.dht_ac, &p.sos, &p.scan}) Append(b, *part);
  if (eoi) Append(b, {0xff, 0xd9});
  return b;
}


Bytes Bmp(const BmpSpec& s) {
  const int64_t row = ((int64_t{std::abs(s.w)} * s.bpp + 31) / 32) * 4;
  const size_t want = static_cast<size_t>(std::min<int64_t>(row * std::abs(static_cast<int64_t>(s.h)), 1 << 20));
  const size_t pixels = s.pixel_bytes.value_or(want);
  Bytes b = B("BM");
  const uint32_t offset = s.data_offset.value_or(14 + s.info_size);
  Put32(b, static_cast<uint32_t>(14 + s.info_size + pixels));
  Put32(b, 0);
  Put32(b, offset);
  Put32(b, s.info_size);
  Put32(b, static_cast<uint32_t>(s.w));
  Put32(b, static_cast<uint32_t>(s.h));
  Put16(b, s.planes);
  Put16(b, s.bpp);
  Put32(b, s.compression);
  Put32(b, static_cast<uint32_t>(pixels));
  Put32(b, 2835);
  Put32(b, 2835);
  Put32(b, s.colors_used);
  Put32(b, 0);
  while (b.size() < 14 + s.info_size) b.push_back(0);
  for (size_t i = 0; i < pixels; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

void ImageCases(CaseSet& set) {
  auto png = [&](const std::string& what, const Bytes& b, const std::string& expect, const std::string& pending = "") {
    set.Add("image", "png_" + what, "png", b, kRunImage, expect, pending);
  };
  auto jpg = [&](const std::string& what, const Bytes& b, const std::string& expect, const std::string& pending = "") {
    set.Add("image", "jpeg_" + what, "jpg", b, kRunImage, expect, pending);
  };
  auto bmp = [&](const std::string& what, const Bytes& b, const std::string& expect, const std::string& pending = "") {
    set.Add("image", "bmp_" + what, "bmp", b, kRunImage, expect, pending);
  };
  const Bytes idat = PngChunk("IDAT", ZlibCompress(RgbScanlines()));
  const Bytes iend = PngChunk("IEND", {});
  const Bytes good_png = GoodPng();
  // PNG.
  png("signature_only", kPngSig, "first not IHDR");
  png("garbage_after_signature", [&] { Bytes b = kPngSig; Append(b, B("garbage garbage garbage garbage!")); return b; }(),
      "first not IHDR");
  png("truncated_in_ihdr", Head(good_png, 20), "1/2/4/8/16-bit only");
  png("truncated_in_idat", Head(good_png, 33 + 20), "PNG chunk 'IDAT' at byte 33 declares 108 bytes, past the end of the 53-byte file");
  png("ihdr_length_12", [&] {
        Bytes c = PngChunk("IHDR", Ihdr(8, 8));
        Set32BE(c, 0, 12);
        return Png({c, idat, iend});
      }(), "bad IHDR len");
  png("zero_width", Png({PngChunk("IHDR", Ihdr(0, 8)), idat, iend}), "0-pixel image");
  png("zero_height", Png({PngChunk("IHDR", Ihdr(8, 0)), idat, iend}), "0-pixel image");
  png("100000x100000", Png({PngChunk("IHDR", Ihdr(100000, 100000)), idat, iend}),
      "(too large)");
  png("width_2pow31", Png({PngChunk("IHDR", Ihdr(0x80000000u, 8)), idat, iend}), "(too large)");
  png("bit_depth_3", Png({PngChunk("IHDR", Ihdr(8, 8, 3, 0)), idat, iend}), "1/2/4/8/16-bit only");
  png("palette_with_16_bit_depth", Png({PngChunk("IHDR", Ihdr(8, 8, 16, 3)), idat, iend}),
      "bad ctype");
  png("color_type_5", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 5)), idat, iend}), "bad ctype");
  png("compression_method_1", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 2, 1)), idat, iend}),
      "bad comp method");
  png("filter_method_1", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 2, 0, 1)), idat, iend}),
      "bad filter method");
  png("interlace_method_2", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 2, 0, 0, 2)), idat, iend}),
      "bad interlace method");
  png("ihdr_bad_crc", [&] { Bytes b = good_png; b[8 + 8 + 13] ^= 0xff; return b; }(), "PNG chunk 'IHDR' at byte 8 has CRC b46d29dc but its bytes give 4b6d29dc");
  png("idat_bad_crc", [&] { Bytes b = good_png; b[33 + idat.size() - 1] ^= 0x01; return b; }(), "PNG chunk 'IDAT' at byte 33 has CRC");
  png("iend_bad_crc", [&] { Bytes b = good_png; b.back() ^= 0x80; return b; }(), "PNG chunk 'IEND' at byte 153 has CRC");
  png("no_idat", Png({PngChunk("IHDR", Ihdr(8, 8)), iend}), "no IDAT");
  png("idat_not_zlib", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", B("definitely not zlib data")), iend}),
      "bad zlib header");
  png("idat_too_little_data", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", ZlibCompress(Head(RgbScanlines(), 50))), iend}),
      "not enough pixels");
  png("scanline_filter_7", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IDAT", ZlibCompress(RgbScanlines(8, 8, 7))), iend}),
      "invalid filter");
  png("palette_without_plte", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 3)), idat, iend}), "no PLTE");
  png("plte_300_entries", Png({PngChunk("IHDR", Ihdr(8, 8, 8, 3)), PngChunk("PLTE", Bytes(900, 7)), idat, iend}),
      "invalid PLTE");
  png("idat_length_2GiB", [&] {
        Bytes c = idat;
        Set32BE(c, 0, 0x7fffffff);
        return Png({PngChunk("IHDR", Ihdr(8, 8)), c, iend});
      }(), "declares 2147483647 bytes, past the end");
  png("first_chunk_not_ihdr", Png({idat, PngChunk("IHDR", Ihdr(8, 8)), iend}), "first not IHDR");
  png("two_ihdr_chunks", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("IHDR", Ihdr(8, 8)), idat, iend}),
      "multiple IHDR");
  png("unknown_critical_chunk", Png({PngChunk("IHDR", Ihdr(8, 8)), PngChunk("QLNS", B("x")), idat, iend}),
      "QLNS PNG chunk not known");
  png("no_iend", Png({PngChunk("IHDR", Ihdr(8, 8)), idat}), "without an IEND chunk (truncated)");
  // JPEG.
  const JpegParts jp = GoodJpegParts();
  const Bytes good_jpg = Jpeg(jp);
  jpg("soi_only", {0xff, 0xd8}, "expected marker");
  jpg("garbage_after_soi", [] { Bytes b = {0xff, 0xd8}; Append(b, B("no markers here, only text")); return b; }(),
      "expected marker");
  jpg("soi_then_eoi", {0xff, 0xd8, 0xff, 0xd9}, "unknown marker");
  jpg("truncated_in_sof", Head(good_jpg, 2 + jp.dqt.size() + 6), "no header height");
  jpg("zero_width", Jpeg(GoodJpegParts(0, 8)), "0 width");
  jpg("zero_height", Jpeg(GoodJpegParts(8, 0)), "no header height");
  jpg("65535x65535", Jpeg(GoodJpegParts(65535, 65535)), "image size 65535x65535 is outside the supported range");
  jpg("precision_12", [&] { JpegParts p = jp; p.sof[4] = 12; return Jpeg(p); }(), "only 8-bit");
  jpg("two_components_declared", [&] { JpegParts p = jp; p.sof[9] = 2; return Jpeg(p); }(), "bad component count");
  jpg("sampling_factor_zero", [&] { JpegParts p = jp; p.sof[11] = 0x00; return Jpeg(p); }(), "bad H");
  jpg("quant_table_id_5", [&] { JpegParts p = jp; p.sof[12] = 5; return Jpeg(p); }(), "bad TQ");
  jpg("dqt_table_id_4", [&] { JpegParts p = jp; p.dqt[4] = 0x04; return Jpeg(p); }(), "bad DQT table");
  jpg("dqt_length_1", [&] { JpegParts p = jp; Set16BE(p.dqt, 2, 1); return Jpeg(p); }(), "corrupt JPEG marker segment");
  jpg("dht_counts_overflow", [&] {
        JpegParts p = jp;
        for (int i = 0; i < 16; ++i) p.dht_dc[5 + i] = 255;
        return Jpeg(p);
      }(), "declares 4080 codes, more than the 256 a table can hold");
  // The same before the frame header: stbi_info itself reads it.
  jpg("dht_before_sof_counts_overflow", [&] {
        JpegParts p = jp;
        for (int i = 0; i < 16; ++i) p.dht_ac[5 + i] = 17;
        Bytes b = {0xff, 0xd8};
        for (const Bytes* part : {&p.dqt, &p.dht_ac, &p.sof, &p.dht_dc, &p.sos, &p.scan}) Append(b, *part);
        Append(b, {0xff, 0xd9});
        return b;
      }(), "declares 272 codes, more than the 256 a table can hold");
  jpg("sos_unknown_component", [&] { JpegParts p = jp; p.sos[5] = 9; return Jpeg(p); }(), "corrupt JPEG marker segment");
  jpg("sos_huffman_table_5", [&] { JpegParts p = jp; p.sos[6] = 0x55; return Jpeg(p); }(), "bad DC huff");
  jpg("lossless_sof3", [&] { JpegParts p = jp; p.sof[1] = 0xc3; return Jpeg(p); }(), "unknown marker");
  jpg("arithmetic_sof9", [&] { JpegParts p = jp; p.sof[1] = 0xc9; return Jpeg(p); }(), "unknown marker");
  jpg("sos_before_sof", [&] {
        Bytes b = {0xff, 0xd8};
        for (const Bytes* part : {&jp.dqt, &jp.dht_dc, &jp.dht_ac, &jp.sos, &jp.scan, &jp.sof}) Append(b, *part);
        Append(b, {0xff, 0xd9});
        return b;
      }(), "unknown marker");
  jpg("dri_bad_length", [&] {
        JpegParts p = jp;
        Bytes dri = {0xff, 0xdd, 0x00, 0x05, 0x00, 0x01, 0x00};
        dri.insert(dri.end(), p.dht_dc.begin(), p.dht_dc.end());
        p.dht_dc = dri;
        return Jpeg(p);
      }(), "bad DRI len");
  // BMP.
  bmp("magic_only", B("BM"), "unknown image type");
  bmp("truncated_file_header", Head(Bmp({}), 10), "unknown image type");
  bmp("truncated_info_header", Head(Bmp({}), 30), "bad offset");
  bmp("info_header_size_13", Bmp({.info_size = 13}), "unknown image type");
  bmp("zero_width", Bmp({.w = 0}), "image size 0x8 is outside the supported range");
  bmp("zero_height", Bmp({.h = 0}), "image size 8x0 is outside the supported range");
  bmp("100000x100000", Bmp({.w = 100000, .h = 100000, .pixel_bytes = 64}), "image size 100000x100000 is outside the supported range");
  bmp("negative_width", Bmp({.w = -8}), "image size -8x8 is outside the supported range");
  bmp("height_int_min", Bmp({.h = INT32_MIN, .pixel_bytes = 64}), "image size 8x-2147483648 is outside the supported range");
  bmp("bpp_7", Bmp({.bpp = 7}), "image decoding failed: invalid");
  bmp("bpp_0", Bmp({.bpp = 0}), "image decoding failed: invalid");
  bmp("planes_2", Bmp({.planes = 2}), "bad BMP");
  bmp("rle8_compression", Bmp({.bpp = 8, .compression = 1}), "BMP RLE");
  bmp("compression_99", Bmp({.compression = 99}), "BMP JPEG/PNG");
  bmp("bitfields_zero_masks", Bmp({.bpp = 32, .compression = 3}), "image decoding failed: bad offset");
  bmp("palette_2pow31_colors", Bmp({.bpp = 8, .colors_used = 0x80000000u}), "image decoding failed: invalid");
  bmp("pixel_data_missing", Bmp({.pixel_bytes = 0}), "BMP pixel data (8 rows of 24 bytes from byte 54) runs past the end of the 54-byte file");
  bmp("pixel_data_half", Bmp({.pixel_bytes = 96}), "runs past the end of the 150-byte file (truncated)");
  bmp("data_offset_past_end", Bmp({.data_offset = 100000}), "from byte 100000) runs past the end");
  bmp("data_offset_inside_header", Bmp({.data_offset = 20}), "image decoding failed: bad offset");
}

}  // namespace make_malformed
