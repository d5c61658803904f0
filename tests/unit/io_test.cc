// Tests for quantlens's data I/O: .npy/.npz round trips and hostile headers, the golden files,
// image decoding and resizing, feeding arrays to model inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "quantlens/io/atomic_file.h"
#include "quantlens/io/element.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/image.h"
#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"
#include "quantlens/io/results.h"

namespace ql::io {
namespace {

namespace fs = std::filesystem;
using ir::DType;

const std::string kShared = QUANTLENS_SHARED_DIR;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / fmt::format("ql_io_test_{}_{}", ::getpid(), counter_++);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

Array RandomArray(DType t, const ir::Shape& shape, uint32_t seed) {
  Array a;
  a.dtype = t;
  a.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  a.data.resize(static_cast<size_t>(n) * ir::DTypeSize(t));
  std::mt19937 rng(seed);
  for (uint8_t& b : a.data) b = static_cast<uint8_t>(rng());
  if (t == DType::kBool) {
    for (uint8_t& b : a.data) b &= 1;
  }
  return a;
}

void ExpectSame(const Array& a, const Array& b) {
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.data, b.data);
}

const DType kAllTypes[] = {DType::kInt8,    DType::kUInt8,   DType::kInt16,   DType::kInt32, DType::kInt64,
                           DType::kFloat16, DType::kFloat32, DType::kFloat64, DType::kBool};

TEST(Npy, RoundTripEveryDtype) {
  TempDir dir;
  uint32_t seed = 1;
  for (DType t : kAllTypes) {
    for (const ir::Shape& shape : {ir::Shape{}, ir::Shape{5}, ir::Shape{2, 3, 4}, ir::Shape{0, 3}}) {
      SCOPED_TRACE(fmt::format("{} {}", ir::DTypeName(t), ir::ShapeToString(shape)));
      Array a = RandomArray(t, shape, seed++);
      auto bytes = SerializeNpy(a);
      ASSERT_TRUE(bytes.ok()) << bytes.status().message();
      // NumPy aligns the data to 64 bytes; other readers rely on it.
      EXPECT_EQ((bytes->size() - a.data.size()) % 64, 0u);
      auto back = ParseNpy(*bytes, "mem");
      ASSERT_TRUE(back.ok()) << back.status().message();
      ExpectSame(a, *back);
      const std::string path = dir.File("a.npy");
      ASSERT_TRUE(WriteNpyFile(path, a).ok());
      auto file = ReadNpyFile(path);
      ASSERT_TRUE(file.ok()) << file.status().message();
      ExpectSame(a, *file);
    }
  }
}

TEST(Npy, HeaderTextMatchesNumpy) {
  Array a = Array::From<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto bytes = SerializeNpy(a);
  ASSERT_TRUE(bytes.ok());
  std::string text(bytes->begin() + 10, bytes->begin() + 10 + ((*bytes)[8] | ((*bytes)[9] << 8)));
  EXPECT_EQ(text.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u) << text;
  EXPECT_EQ(text.back(), '\n');
  Array one = Array::From<int32_t>({3}, {1, 2, 3});
  auto b1 = SerializeNpy(one);
  ASSERT_TRUE(b1.ok());
  EXPECT_NE(std::string(b1->begin(), b1->end()).find("'shape': (3,)"), std::string::npos);
}

// A valid .npy image with a hand-written header, for hostile variants.
std::vector<uint8_t> NpyWithHeader(const std::string& dict, size_t data_bytes, int major = 1) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t len = dict.size();
  out.push_back(len & 0xFF);
  out.push_back((len >> 8) & 0xFF);
  if (major >= 2) {
    out.push_back((len >> 16) & 0xFF);
    out.push_back((len >> 24) & 0xFF);
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

TEST(Npy, AcceptsVersion2AndVariants) {
  auto v2 = ParseNpy(NpyWithHeader("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n", 8, 2), "v2");
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ(v2->shape, (ir::Shape{2}));
  // Key order and quotes vary between writers.
  auto v = ParseNpy(NpyWithHeader("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"|u1\"}", 2), "v");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->dtype, DType::kUInt8);
}

TEST(Npy, HostileHeadersAreErrors) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
  auto full = NpyWithHeader(ok_dict, 16);
  ASSERT_TRUE(ParseNpy(full, "ok").ok());
  // Every truncation of a valid file is refused, never read past the end.
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = ParseNpy(std::span(full.data(), n), "trunc");
    EXPECT_FALSE(r.ok()) << "truncated to " << n;
  }
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* message_part;
  } cases[] = {
      {"bad magic", {'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0, 0, 0}, "magic"},
      {"header length past end", NpyWithHeader(ok_dict, 0, 1), ""},
      {"huge shape", NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 16), "elements"},
      {"shape overflow digits", NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 16), "overflow"},
      {"data too short", NpyWithHeader(ok_dict, 15), "data bytes"},
      {"data too long", NpyWithHeader(ok_dict, 17), "data bytes"},
      {"negative dim", NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4), "shape"},
      {"missing key", NpyWithHeader("{'descr': '<f4', 'shape': (1,), }", 4), "lacks"},
      {"unterminated", NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", 4), ""},
      {"unicode", NpyWithHeader("{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", 20), "not supported"},
      {"big endian", NpyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4), "big-endian"},
      {"fortran", NpyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16), "Fortran"},
      {"version 9", NpyWithHeader(ok_dict, 16, 9), "version"},
  };
  // Header length field claims more than the file holds.
  cases[1].bytes[8] = 0xFF;
  cases[1].bytes[9] = 0x7F;
  for (const Case& c : cases) {
    auto r = ParseNpy(c.bytes, "hostile.npy");
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_NE(r.status().message().find("hostile.npy"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.what << ": " << r.status().message();
  }
}

TEST(Npy, ByteFlipsNeverCrash) {
  auto bytes = SerializeNpy(RandomArray(DType::kFloat32, {3, 5}, 3));
  ASSERT_TRUE(bytes.ok());
  std::mt19937 rng(11);
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<uint8_t> b = *bytes;
    const int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) b[rng() % 128] = static_cast<uint8_t>(rng());
    auto r = ParseNpy(b, "flip");
    if (r.ok()) { EXPECT_EQ(r->data.size(), static_cast<size_t>(r->num_elements()) * ir::DTypeSize(r->dtype)); }
  }
}

TEST(Npy, MissingFileIsNotFound) {
  auto r = ReadNpyFile("/nonexistent/x.npy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/x.npy"), std::string::npos);
}

TEST(Npz, RoundTripStoredAndDeflate) {
  TempDir dir;
  std::vector<NamedArray> arrays;
  uint32_t seed = 7;
  for (DType t : kAllTypes) arrays.push_back({fmt::format("a_{}", ir::DTypeName(t)), RandomArray(t, {3, 4}, seed++)});
  arrays.push_back({"layer/conv:0", RandomArray(DType::kFloat32, {1, 2}, 99)});
  for (NpzCompression c : {NpzCompression::kStored, NpzCompression::kDeflate}) {
    const std::string path = dir.File("x.npz");
    ASSERT_TRUE(WriteNpz(path, arrays, c).ok());
    auto all = ReadNpz(path);
    ASSERT_TRUE(all.ok()) << all.status().message();
    ASSERT_EQ(all->size(), arrays.size());
    for (size_t i = 0; i < arrays.size(); ++i) {
      EXPECT_EQ((*all)[i].name, arrays[i].name);
      ExpectSame((*all)[i].array, arrays[i].array);
    }
    auto one = ReadNpzMember(path, "a_int16");
    ASSERT_TRUE(one.ok()) << one.status().message();
    ExpectSame(*one, arrays[2].array);
    auto missing = ReadNpzMember(path, "nope");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_NE(missing.status().message().find("a_int8"), std::string::npos) << missing.status().message();
  }
  // No temporary files left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir.File(""))) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Npz, DuplicateNamesRefused) {
  TempDir dir;
  Array a = Array::From<int32_t>({1}, {1});
  Status st = WriteNpz(dir.File("d.npz"), {{"x", a}, {"x", a}});
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(dir.File("d.npz")));
}

TEST(Npz, NotAZipIsAnError) {
  TempDir dir;
  const std::string path = dir.File("bad.npz");
  std::ofstream(path) << "PK\x03\x04 this is not really a zip";
  auto r = ReadNpz(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_EQ(ReadNpz("/nonexistent.npz").status().code(), StatusCode::kNotFound);
}

TEST(Npz, CorruptArchivesAreErrors) {
  TempDir dir;
  const std::string good = dir.File("g.npz");
  ASSERT_TRUE(WriteNpz(good, {{"x", RandomArray(DType::kInt32, {64, 16}, 5)}}).ok());
  auto bytes = ReadFileBytes(good);
  ASSERT_TRUE(bytes.ok());
  std::mt19937 rng(5);
  const std::string bad = dir.File("b.npz");
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<uint8_t> b = *bytes;
    if (iter % 3 == 0) {
      b.resize(rng() % b.size());  // truncated
    } else {
      for (int f = 0; f < 3; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    }
    {
      std::ofstream f(bad, std::ios::binary | std::ios::trunc);  // no fsync: keeps the test fast
      f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    auto r = ReadNpz(bad);
    if (!r.ok()) { EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message(); }
  }
}

TEST(AtomicFile, ReplacesWholeFile) {
  TempDir dir;
  const std::string path = dir.File("f.bin");
  std::vector<uint8_t> a(1000, 1), b(10, 2);
  ASSERT_TRUE(WriteFileAtomic(path, a).ok());
  ASSERT_TRUE(WriteFileAtomic(path, b).ok());
  auto back = ReadFileBytes(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, b);
  EXPECT_FALSE(WriteFileAtomic(dir.File("no/such/dir/f.bin"), a).ok());
  EXPECT_TRUE(SameExistingFile(path, dir.File("./f.bin")));
  EXPECT_FALSE(SameExistingFile(path, dir.File("other")));
}

// The golden files are NumPy savez_compressed archives; check them against meta.json's facts.
TEST(Golden, ReadsMlperfResnetInt8Cat) {
  const std::string dir = kShared + "/golden/mlperf_resnet_int8/cat/";
  auto input = ReadNpyFile(dir + "input0.npy");
  ASSERT_TRUE(input.ok()) << input.status().message();
  EXPECT_EQ(input->dtype, DType::kInt8);
  EXPECT_EQ(input->shape, (ir::Shape{1, 32, 32, 3}));

  std::vector<std::string> skipped;
  auto all = ReadNpz(dir + "native.all.npz", &skipped);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(skipped.empty());
  ASSERT_FALSE(all->empty());
  bool saw_output = false, saw_t22 = false;
  for (const NamedArray& na : *all) {
    EXPECT_EQ(na.array.dtype, DType::kInt8) << na.name;
    if (na.name == "t37") {
      saw_output = true;
      EXPECT_EQ(na.array.shape, (ir::Shape{1, 10}));
    }
    if (na.name == "t22") {
      saw_t22 = true;
      EXPECT_EQ(na.array.shape, (ir::Shape{1, 32, 32, 16}));
    }
  }
  EXPECT_TRUE(saw_output);
  EXPECT_TRUE(saw_t22);
  auto out = ReadNpzMember(dir + "native.npz", "t37");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->shape, (ir::Shape{1, 10}));
}

TEST(Golden, SkipsUnicodeArrays) {
  // cifar10's npz files hold a '<U' source_path array next to the numeric ones.
  for (auto& e : fs::directory_iterator(kShared + "/corpus/cifar10")) {
    if (e.path().extension() != ".npz") continue;
    std::vector<std::string> skipped;
    auto all = ReadNpz(e.path().string(), &skipped);
    ASSERT_TRUE(all.ok()) << all.status().message();
    EXPECT_NE(std::find(skipped.begin(), skipped.end(), "source_path"), skipped.end()) << e.path();
    auto direct = ReadNpzMember(e.path().string(), "source_path");
    EXPECT_EQ(direct.status().code(), StatusCode::kUnsupported);
    return;
  }
  GTEST_SKIP() << "no cifar10 npz in the corpus";
}

TEST(Image, DecodesBmpAndPng) {
  auto cat = DecodeImage(kShared + "/corpus/images/cat.bmp", 3);
  ASSERT_TRUE(cat.ok()) << cat.status().message();
  EXPECT_EQ(cat->width, 512);
  EXPECT_EQ(cat->height, 341);
  EXPECT_EQ(cat->channels, 3);
  EXPECT_EQ(cat->pixels.size(), 512u * 341 * 3);
  auto gray = DecodeImage(kShared + "/corpus/images/cat.bmp", 1);
  ASSERT_TRUE(gray.ok());
  EXPECT_EQ(gray->pixels.size(), 512u * 341);

  auto digit = DecodeImage(kShared + "/corpus/tflm/mnist_sample0.png", 1);
  ASSERT_TRUE(digit.ok()) << digit.status().message();
  EXPECT_EQ(digit->width, 28);
  EXPECT_EQ(digit->height, 28);
  int nonzero = 0;
  for (uint8_t p : digit->pixels) nonzero += p != 0;
  EXPECT_GT(nonzero, 20);  // a digit, not a blank image

  EXPECT_TRUE(LooksLikeImage(kShared + "/corpus/images/cat.bmp"));
  EXPECT_FALSE(LooksLikeImage(kShared + "/golden/mlperf_resnet_int8/cat/input0.npy"));
  auto bad = DecodeImage(kShared + "/golden/mlperf_resnet_int8/cat/input0.npy", 3);
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(DecodeImage("/nonexistent.png", 3).ok());
}

TEST(Image, SameSizeIsExactPassThrough) {
  auto digit = DecodeImage(kShared + "/corpus/tflm/mnist_sample0.png", 1);
  ASSERT_TRUE(digit.ok());
  auto same = ResizeBilinear(*digit, 28, 28);
  ASSERT_TRUE(same.ok());
  for (size_t i = 0; i < digit->pixels.size(); ++i) ASSERT_EQ(same->values[i], digit->pixels[i]) << i;

  // Through the feeding path into a uint8 [1,28,28,1] quantized input: the bytes are the pixels.
  ir::Tensor t;
  t.name = "image";
  t.dtype = DType::kUInt8;
  t.shape = {1, 28, 28, 1};
  t.quant.scale = {1.0f / 255};
  t.quant.zero_point = {0};
  InputSpec spec = MakeInputSpec(t, 0, t.shape);
  auto fed = LoadInputFile(kShared + "/corpus/tflm/mnist_sample0.png", spec, {});
  ASSERT_TRUE(fed.ok()) << fed.status().message();
  EXPECT_EQ(fed->shape, (ir::Shape{1, 28, 28, 1}));
  EXPECT_EQ(fed->data, digit->pixels);

  // And a float input gets the same values as floats.
  t.dtype = DType::kFloat32;
  t.quant = {};
  auto f = LoadInputFile(kShared + "/corpus/tflm/mnist_sample0.png", MakeInputSpec(t, 0, t.shape), {});
  ASSERT_TRUE(f.ok()) << f.status().message();
  for (size_t i = 0; i < digit->pixels.size(); ++i) ASSERT_EQ(f->as<float>()[i], digit->pixels[i]);
}

TEST(Image, BilinearHalfPixelCenters) {
  // 2x2 -> 4x4: output x = 0 samples source -0.25 (clamped to 0), x = 1 samples 0.25.
  Image img{2, 2, 1, {0, 100, 200, 40}};
  auto r = ResizeBilinear(img, 4, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->values[0], 0.0f);
  EXPECT_FLOAT_EQ(r->values[1], 25.0f);   // 0 + (100 - 0) * 0.25
  EXPECT_FLOAT_EQ(r->values[3], 100.0f);
  EXPECT_FLOAT_EQ(r->values[12], 200.0f);
  // 2x downscale averages the 2x2 block around each output center.
  Image big{2, 2, 1, {10, 20, 30, 40}};
  auto d = ResizeBilinear(big, 1, 1);
  ASSERT_TRUE(d.ok());
  EXPECT_FLOAT_EQ(d->values[0], 25.0f);
  EXPECT_FALSE(ResizeBilinear(img, 0, 3).ok());
}

ir::Tensor QuantInput(DType t, float scale, int64_t zp, ir::Shape shape) {
  ir::Tensor tensor;
  tensor.name = "x";
  tensor.dtype = t;
  tensor.shape = std::move(shape);
  tensor.quant.scale = {scale};
  tensor.quant.zero_point = {zp};
  return tensor;
}

TEST(Feed, QuantizesFloatDataHalfAwayAndClamps) {
  ir::Tensor t = QuantInput(DType::kInt8, 0.5f, -3, {1, 6});
  InputSpec spec = MakeInputSpec(t, 0, t.shape);
  // x / 0.5: 0.5 (tie -> 1), -0.5 (tie -> -1), 100 (clamps), -100 (clamps), 1.2 -> 2.4 -> 2, 0.
  Array a = Array::From<float>({1, 6}, {0.25f, -0.25f, 100.0f, -100.0f, 1.2f, 0.0f});
  auto q = ConvertToInputDType(a, spec, "data.npy");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->dtype, DType::kInt8);
  const int8_t* v = q->as<int8_t>();
  EXPECT_EQ(v[0], -2);  // 1 - 3
  EXPECT_EQ(v[1], -4);  // -1 - 3
  EXPECT_EQ(v[2], 127);
  EXPECT_EQ(v[3], -128);
  EXPECT_EQ(v[4], -1);  // 2 - 3
  EXPECT_EQ(v[5], -3);
}

TEST(Feed, IntegerToFloatAndRangeChecks) {
  ir::Tensor f;
  f.dtype = DType::kFloat32;
  f.shape = {2};
  auto conv = ConvertToInputDType(Array::From<uint8_t>({2}, {7, 255}), MakeInputSpec(f, 0, f.shape), "u8");
  ASSERT_TRUE(conv.ok());
  EXPECT_EQ(conv->as<float>()[1], 255.0f);

  ir::Tensor i8;
  i8.dtype = DType::kInt8;
  i8.shape = {2};
  auto bad = ConvertToInputDType(Array::From<uint8_t>({2}, {7, 200}), MakeInputSpec(i8, 0, i8.shape), "u8.npy");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("u8.npy"), std::string::npos);
  auto fits = ConvertToInputDType(Array::From<int32_t>({2}, {7, -100}), MakeInputSpec(i8, 0, i8.shape), "i32");
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->as<int8_t>()[1], -100);
  // Float into an unquantized integer input: refused, not truncated.
  EXPECT_FALSE(ConvertToInputDType(Array::From<float>({2}, {1.5f, 2}), MakeInputSpec(i8, 0, i8.shape), "f").ok());
}

TEST(Feed, CountsStackedSamples) {
  ir::Tensor t = QuantInput(DType::kInt8, 1, 0, {-1, 4});
  InputSpec spec = MakeInputSpec(t, 0, {1, 4});
  EXPECT_EQ(*CountSamples(RandomArray(DType::kInt8, {1, 4}, 1), spec, "a"), 1);
  EXPECT_EQ(*CountSamples(RandomArray(DType::kInt8, {5, 4}, 1), spec, "a"), 5);
  EXPECT_EQ(*CountSamples(RandomArray(DType::kInt8, {4}, 1), spec, "a"), 1);
  auto bad = CountSamples(RandomArray(DType::kInt8, {5, 3}, 1), spec, "bad.npy");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[5,3]"), std::string::npos) << bad.status().message();

  Array five = RandomArray(DType::kInt8, {5, 4}, 3);
  Array s3 = SliceSample(five, 3, 5, {1, 4});
  EXPECT_EQ(s3.shape, (ir::Shape{1, 4}));
  EXPECT_EQ(std::vector<uint8_t>(five.data.begin() + 12, five.data.begin() + 16), s3.data);
  std::vector<Array> parts;
  for (int i = 0; i < 5; ++i) parts.push_back(SliceSample(five, i, 5, {1, 4}));
  auto stacked = StackSamples(parts);
  ASSERT_TRUE(stacked.ok());
  ExpectSame(*stacked, five);
}

TEST(Feed, ImageRawPixelConventionForInt8) {
  // mlperf's ResNet input: int8, scale 1, zero point -128; raw pixels become pixel - 128, as in
  // the golden input made with "pixel, quantized scale=1 zp=-128".
  ir::Tensor t = QuantInput(DType::kInt8, 1.0f, -128, {1, 2, 2, 1});
  Image img{2, 2, 1, {0, 1, 128, 255}};
  auto a = ImageToInput(img, MakeInputSpec(t, 0, t.shape), {}, "img");
  ASSERT_TRUE(a.ok()) << a.status().message();
  const int8_t* v = a->as<int8_t>();
  EXPECT_EQ(v[0], -128);
  EXPECT_EQ(v[1], -127);
  EXPECT_EQ(v[2], 0);
  EXPECT_EQ(v[3], 127);
  // With --scale/--offset the value is pixel * S + O, then quantized with the input's parameters.
  ir::Tensor u = QuantInput(DType::kUInt8, 0.0078125f, 128, {1, 2, 2, 1});
  ImageFeedOptions opts;
  opts.scale = 1.0f / 127.5f;
  opts.offset = -1.0f;
  auto b = ImageToInput(img, MakeInputSpec(u, 0, u.shape), opts, "img");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->as<uint8_t>()[0], 0);
  EXPECT_EQ(b->as<uint8_t>()[3], 255);
  // Wrong channel count is a clear error.
  Image rgb{2, 2, 3, std::vector<uint8_t>(12, 0)};
  auto c = ImageToInput(rgb, MakeInputSpec(t, 0, t.shape), {}, "rgb.png");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("rgb.png"), std::string::npos);
}

TEST(Feed, NchwImageInput) {
  ir::Tensor t;
  t.dtype = DType::kFloat32;
  t.shape = {1, 3, 1, 2};
  Image img{1, 2, 3, {1, 2, 3, 4, 5, 6}};
  auto a = ImageToInput(img, MakeInputSpec(t, 0, t.shape), {}, "img");
  ASSERT_TRUE(a.ok()) << a.status().message();
  const float* v = a->as<float>();
  EXPECT_EQ(std::vector<float>(v, v + 6), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Half, RoundTripAndRounding) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);  // the tie above the largest half rounds to inf
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even (down)
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(NAN))));
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(Results, TopKAndLabels) {
  auto top = TopK({0.1, 0.7, 0.7, NAN, 0.2}, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_EQ(top[1].index, 2);
  EXPECT_EQ(top[2].index, 4);
  EXPECT_EQ(TopK({1.0}, 5).size(), 1u);

  auto labels = ReadLabels(kShared + "/corpus/coral/imagenet_labels.txt");
  ASSERT_TRUE(labels.ok());
  ASSERT_GT(labels->size(), 286u);
  EXPECT_EQ((*labels)[0], "background");
  EXPECT_EQ((*labels)[286], "Egyptian cat");

  auto shifted = AlignLabels(*labels, 1000);
  ASSERT_EQ(shifted.size(), 1000u);
  EXPECT_EQ(shifted[285], "Egyptian cat");
  EXPECT_EQ(AlignLabels(*labels, 1001).size(), 1001u);

  TempDir dir;
  const std::string path = dir.File("l.txt");
  std::ofstream(path) << "0  person\r\n2: car\n\n";
  auto indexed = ReadLabels(path);
  ASSERT_TRUE(indexed.ok());
  ASSERT_EQ(indexed->size(), 3u);
  EXPECT_EQ((*indexed)[0], "person");
  EXPECT_EQ((*indexed)[1], "");
  EXPECT_EQ((*indexed)[2], "car");
}

TEST(Results, DequantizeAndSummary) {
  Array a = Array::From<int8_t>({1, 3}, {-128, 0, 127});
  ir::Quantization q;
  q.scale = {0.5f};
  q.zero_point = {-128};
  auto v = Dequantize(a, q);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0], 0.0);
  EXPECT_EQ((*v)[2], 127.5);
  std::string s = SummarizeArray(a, q);
  EXPECT_NE(s.find("int8 [1,3]"), std::string::npos) << s;
  EXPECT_NE(s.find("max 127"), std::string::npos) << s;
}

}  // namespace
}  // namespace ql::io
