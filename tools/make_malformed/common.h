// Shared pieces of make_malformed (tools/make_malformed/*.cc): byte helpers, the case set being
// written, the commands cases run with, and what one format's cases borrow from another's (valid
// models, .npy and zip builders, Keras configs, image encoders). main.cc says what the tool does.
#pragma once

#include <hdf5.h>
#include <zlib.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include "tflite_schema_generated.h"

namespace make_malformed {


namespace fs = std::filesystem;
namespace tfl = ::tflite;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "make_malformed: %s\n", what.c_str());
  std::exit(1);
}

inline Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline void Append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline void Put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(v & 0xff);
  b.push_back(v >> 8);
}
inline void Put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xff);
}
inline void Put64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back((v >> (8 * i)) & 0xff);
}
inline void Put16BE(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
inline void Put32BE(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back((v >> (8 * i)) & 0xff);
}
inline void Set32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = (v >> (8 * i)) & 0xff;
}
inline void Set16(Bytes& b, size_t at, uint16_t v) {
  b.at(at) = v & 0xff;
  b.at(at + 1) = v >> 8;
}
inline void Set32BE(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = (v >> (8 * (3 - i))) & 0xff;
}
inline void Set16BE(Bytes& b, size_t at, uint16_t v) {
  b.at(at) = v >> 8;
  b.at(at + 1) = v & 0xff;
}
inline Bytes Head(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + std::min(n, b.size())); }
inline size_t Find(const Bytes& hay, const Bytes& needle, size_t from = 0) {
  auto it = std::search(hay.begin() + from, hay.end(), needle.begin(), needle.end());
  if (it == hay.end()) Die("pattern not found while building a case");
  return static_cast<size_t>(it - hay.begin());
}

inline uint32_t Crc32(const uint8_t* p, size_t n) { return crc32(crc32(0, nullptr, 0), p, static_cast<uInt>(n)); }
inline uint32_t Crc32(const Bytes& b) { return Crc32(b.data(), b.size()); }

inline Bytes Floats(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Raw deflate (no zlib header), as zip stores it.
inline Bytes Deflate(const Bytes& in) {
  z_stream s{};
  if (deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) Die("deflateInit2");
  Bytes out(deflateBound(&s, in.size()));
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) Die("deflate");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// zlib-wrapped deflate, as PNG's IDAT holds.
inline Bytes ZlibCompress(const Bytes& in) {
  uLongf n = compressBound(in.size());
  Bytes out(n);
  if (compress2(out.data(), &n, in.data(), in.size(), 9) != Z_OK) Die("compress2");
  out.resize(n);
  return out;
}

// ------------------------------------------------------------------------------------------------
// The set being written.

constexpr const char* kInspect = "inspect {}";
constexpr const char* kRunModelOnFcInput = "run {} --input models/fc_input.npy";
constexpr const char* kRunFc = "run models/fc.tflite --input {}";
constexpr const char* kRunQfc = "run models/qfc.tflite --input {}";
constexpr const char* kRunImage = "run models/image_add.tflite --input {}";
constexpr const char* kRunModelOnQfcInput = "run {} --input models/qfc_input.npy";

class CaseSet {
 public:
  explicit CaseSet(fs::path root) : root_(std::move(root)) {}

  void Write(const std::string& rel, const Bytes& b) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) Die("cannot write " + p.string());
  }

  // A valid file the cases rely on, with the command that must succeed on it.
  void Baseline(const std::string& rel, const Bytes& b, const std::string& command) {
    Write(rel, b);
    baselines_.push_back(rel + "\t" + command + "\t0");
  }

  // One malformed file. `expect` is a substring of the one-line error; `pending` (if not empty)
  // says which fix, not made yet, produces it.
  void Add(const std::string& dir, const std::string& what, const std::string& ext, const Bytes& b,
           const std::string& command, const std::string& expect, const std::string& pending = "") {
    const int n = ++count_[dir];
    const std::string rel = fmt::format("{}/{:03d}_{}.{}", dir, n, what, ext);
    if (expect.empty() || expect.find('\t') != std::string::npos) Die("bad expectation for " + rel);
    Write(rel, b);
    std::string row = fmt::format("{}\t{}\t2\t{}", rel, command, expect);
    if (!pending.empty()) row += "\tpending: " + pending;
    rows_.push_back(row);
  }

  void Finish() {
    std::string text = "# file\tcommand ({} = the file; other paths relative to this folder)\texit\t"
                       "the one-line error contains\t[pending: fix not made yet]\n";
    for (const auto& r : rows_) text += r + "\n";
    Write("expected.tsv", B(text));
    std::string base = "# file\tcommand\texit\n";
    for (const auto& r : baselines_) base += r + "\n";
    Write("baselines.tsv", B(base));
    Write("README.md", B(R"(# Malformed files

Written by `tools/make_malformed/` (do not edit by hand): each file is a valid model or input
made by the generator with one deliberate malformation. `expected.tsv` gives, per file, the
command (`{}` is the file; `models/...` are the valid files here), the exit status (2) and a
substring of the one-line error naming the broken rule; a fifth column `pending: ...` marks a
case whose fix is not made yet (its test is skipped). `baselines.tsv` lists the valid files,
which must run cleanly.

The build writes this folder (build/<kind>/malformed, cmake/malformed.cmake) whenever the
generator changes; nothing of it is checked in. By hand, after building:

    build/release/make_malformed OUT_DIR

`tests/hostile/malformed_files_test.cc` runs every file through the CLI (also under
ASan/UBSan) and checks that the generator writes the same bytes every time.
)"));
    for (const auto& [dir, n] : count_) std::printf("%-8s %d files\n", dir.c_str(), n);
  }

 private:
  fs::path root_;
  std::map<std::string, int> count_;
  std::vector<std::string> rows_, baselines_;
};


// ------------------------------------------------------------------------------------------------
// Valid TFLite models (tflite_cases.cc).

tfl::ModelT FcModel();
tfl::ModelT QfcModel();
tfl::ModelT ImageAddModel();
tfl::ModelT ChainModel();
tfl::ModelT ConvModel();
Bytes Pack(const tfl::ModelT& m, bool identifier = true);

// ------------------------------------------------------------------------------------------------
// .npy (npy_cases.cc).

// A .npy file: magic, version, header length, `dict` padded with spaces and '\n' to 64 bytes.
Bytes Npy(const std::string& dict, const Bytes& data, int major = 1, int minor = 0);
std::string NpyDict(const std::string& descr, const std::string& shape, const std::string& order = "False");
// The values of models/fc_input.npy ([1,4] float32) and that file.
inline const Bytes kFcInputData = Floats({0.5f, -1.0f, 2.0f, 0.25f});
Bytes FcInputNpy();

// The header errors, shared by .npy and (nested) .npz cases: {what, bytes, expected substring}.
struct DataCase {
  std::string what;
  Bytes bytes;
  std::string expect;
  std::string pending = {};
};
std::vector<DataCase> NpyCases();

// ------------------------------------------------------------------------------------------------
// Zip (zip_cases.cc), for .npz and .keras: a writer that can lie in every header field.

struct ZipMember {
  std::string name;
  Bytes data;        // the content
  bool deflate = false;
  std::optional<Bytes> payload = {};              // stored bytes instead of (compressed) `data`
  std::optional<uint32_t> crc = {}, usize = {}, csize = {};  // header values instead of the true ones
  std::optional<uint64_t> zip64_usize = {};       // write sizes as zip64, with this uncompressed size
  std::optional<uint16_t> method = {};            // method field instead of 0 / 8
  uint16_t flags = 0;
  std::optional<std::string> local_name = {};     // local header name, if different from the central
};

struct ZipLayout {
  std::optional<uint16_t> eocd_entries = {};
  int64_t cd_offset_delta = 0;
  std::optional<uint32_t> cd_size = {};
  uint16_t comment_len = 0;
  size_t truncate_central = 0;  // drop this many bytes from the end of the central directory
};

Bytes MakeZip(const std::vector<ZipMember>& members, const ZipLayout& lay = {});
// Cases about the zip container, for both .npz and .keras; `member` is the entry the reader needs
// (x.npy or config.json) with valid content.
std::vector<DataCase> ZipContainerCases(const std::string& member, const Bytes& content,
                                        const std::vector<ZipMember>& others, bool keras);

// ------------------------------------------------------------------------------------------------
// Keras (keras_cases.cc).

json SeqConfig(bool keras3);
json FunctionalConfig(const std::string& dense_from = "input_1", const std::string& output = "dense");

// A Keras 2 .h5 file: attributes model_config, keras_version, backend; model_weights/dense holding
// dense/kernel:0 [4,2] and dense/bias:0 [2]. Each field can be changed or dropped.
struct KerasH5 {
  std::optional<std::string> config = SeqConfig(false).dump();
  bool weights_group = true;
  bool layer_group = true;
  std::vector<std::string> weight_names = {"dense/kernel:0", "dense/bias:0"};
  std::vector<hsize_t> kernel_dims = {4, 2}, bias_dims = {2};
  hid_t kernel_type = H5T_IEEE_F32LE;
  std::function<void(hid_t root, hid_t layer)> hook = {};  // extra changes (layer < 0 without one)
};

Bytes MakeKerasH5(const KerasH5& s);

// model.weights.h5 of Keras 3: layers/dense/vars/0 (kernel) and /1 (bias).
struct Keras3Weights {
  std::vector<std::vector<hsize_t>> vars = {{4, 2}, {2}};
  std::vector<std::string> names = {"0", "1"};
  bool dense_group = true;
  hid_t type0 = H5T_IEEE_F32LE;
  std::function<void(hid_t root, hid_t vars)> hook = {};
};

Bytes MakeKeras3Weights(const Keras3Weights& s);
Bytes MakeKeras(const std::string& config, const Bytes& weights, bool with_metadata = true);

// ------------------------------------------------------------------------------------------------
// Images (image_cases.cc).

Bytes GoodPng();
// A baseline JPEG: 8x8, one grey component, one block whose coefficients are all zero (one-code
// Huffman tables: DC category 0 and AC end-of-block, each coded as the bit 0).
struct JpegParts {
  Bytes dqt, sof, dht_dc, dht_ac, sos, scan;
};
JpegParts GoodJpegParts(uint16_t w = 8, uint16_t h = 8);
Bytes Jpeg(const JpegParts& p, bool eoi = true);

// A bottom-up BMP with the 40-byte BITMAPINFOHEADER.
struct BmpSpec {
  int32_t w = 8, h = 8;
  uint16_t planes = 1, bpp = 24;
  uint32_t compression = 0, colors_used = 0;
  uint32_t info_size = 40;
  std::optional<uint32_t> data_offset = {};
  std::optional<size_t> pixel_bytes = {};  // bytes of pixel data actually written
};
Bytes Bmp(const BmpSpec& s);

// ------------------------------------------------------------------------------------------------
// The cases, one function per format.

void TfliteCases(CaseSet& set);
void NpyCasesTo(CaseSet& set);
void NpzCasesTo(CaseSet& set);
void H5Cases(CaseSet& set);
void KerasCases(CaseSet& set);
void ImageCases(CaseSet& set);

}  // namespace make_malformed
