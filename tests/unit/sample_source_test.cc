// io::SampleSource on files made here: .npy read sample by sample, .npz with x and y, image
// folders (sorted by name), random:SEED, and every bad-data error with its message checked.
#include "quantlens/io/sample_source.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"

namespace ql::io {
namespace {

namespace fs = std::filesystem;
using ir::DType;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / fmt::format("ql_sample_source_test_{}_{}", ::getpid(), counter_++);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// One float input "x" of declared shape `shape` (-1 for an open batch).
ir::Graph OneInputGraph(ir::Shape shape, DType dtype = DType::kFloat32) {
  ir::Graph g;
  ir::Tensor t;
  t.name = "x";
  t.dtype = dtype;
  t.shape = std::move(shape);
  g.tensors.push_back(t);
  g.inputs = {0};
  g.source_path = "model.h5";
  return g;
}

std::vector<float> Iota(int64_t n, float start = 0) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<float>(i);
  return v;
}

Result<std::unique_ptr<SampleSource>> Open(const std::string& data, const ir::Graph& g,
                                           SampleSourceOptions o = {}) {
  return OpenSampleSource(data, g, InputSampleShapes(g), o);
}

std::vector<float> Values(const Array& a) {
  std::vector<float> v(static_cast<size_t>(a.num_elements()));
  std::memcpy(v.data(), a.data.data(), v.size() * sizeof(float));
  return v;
}

// A 24-bit bottom-up BMP, every pixel `rgb`.
void WriteBmp(const std::string& path, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  const int row = (w * 3 + 3) / 4 * 4;
  const uint32_t size = 54 + static_cast<uint32_t>(row * h);
  std::vector<uint8_t> f(size, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) f[at + static_cast<size_t>(k)] = static_cast<uint8_t>(v >> (8 * k));
  };
  f[0] = 'B';
  f[1] = 'M';
  put32(2, size);
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  f[26] = 1;
  f[28] = 24;
  put32(34, static_cast<uint32_t>(row * h));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &f[54 + static_cast<size_t>(y * row + x * 3)];
      p[0] = b;
      p[1] = g;
      p[2] = r;
    }
  }
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(f.data()), size);
}

// ---------------------------------------------------------------------------------------------
// .npy

TEST(SampleSource, NpyIsReadSampleBySample) {
  TempDir dir;
  const std::string path = dir.File("data.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({5, 2, 3}, Iota(30))).ok());
  ir::Graph g = OneInputGraph({-1, 2, 3});
  auto src = Open(path, g);
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ((*src)->num_samples(), 5);
  EXPECT_EQ((*src)->description(), path + " (5 samples)");
  EXPECT_FALSE((*src)->Label(0).has_value());
  // Out of order: each Get seeks to its own offset.
  for (int64_t i : {3, 0, 4}) {
    auto s = (*src)->Get(i);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_EQ(s->size(), 1u);
    EXPECT_EQ((*s)[0].shape, (ir::Shape{1, 2, 3}));
    EXPECT_EQ((*s)[0].dtype, DType::kFloat32);
    EXPECT_EQ(Values((*s)[0]), Iota(6, static_cast<float>(6 * i)));
  }
  auto bad = (*src)->Get(5);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "sample 5 out of range")) << bad.status().message();
}

TEST(SampleSource, MaxSamplesTakesTheFirstN) {
  TempDir dir;
  const std::string path = dir.File("data.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({5, 2, 3}, Iota(30))).ok());
  SampleSourceOptions o;
  o.max_samples = 2;
  auto src = Open(path, OneInputGraph({-1, 2, 3}), o);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ((*src)->num_samples(), 2);
  EXPECT_EQ((*src)->description(), path + " (first 2 of 5 samples)");
  EXPECT_FALSE((*src)->Get(2).ok());
  o.max_samples = 0;
  auto zero = Open(path, OneInputGraph({-1, 2, 3}), o);
  ASSERT_FALSE(zero.ok());
  EXPECT_TRUE(Contains(zero.status().message(), "not a positive count")) << zero.status().message();
}

TEST(SampleSource, NpyIntegerDataFeedsAFloatInput) {
  TempDir dir;
  const std::string path = dir.File("pixels.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<uint8_t>({2, 4}, {0, 1, 2, 255, 7, 8, 9, 10})).ok());
  auto src = Open(path, OneInputGraph({1, 4}));
  ASSERT_TRUE(src.ok()) << src.status().message();
  auto s = (*src)->Get(0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Values((*s)[0]), (std::vector<float>{0, 1, 2, 255}));
}

TEST(SampleSource, WrongShapeIsAnErrorNamingFileInputAndShapes) {
  TempDir dir;
  const std::string path = dir.File("wrong.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({5, 4}, Iota(20))).ok());
  auto src = Open(path, OneInputGraph({-1, 2, 3}));
  ASSERT_FALSE(src.ok());
  const std::string& m = src.status().message();
  EXPECT_TRUE(Contains(m, path)) << m;
  EXPECT_TRUE(Contains(m, "input 0 'x'")) << m;
  EXPECT_TRUE(Contains(m, "[5,4]")) << m;
  EXPECT_TRUE(Contains(m, "[1,2,3]")) << m;
}

TEST(SampleSource, WrongDTypeIsAnErrorBeforeAnythingRuns) {
  TempDir dir;
  const std::string path = dir.File("floats.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({2, 3}, Iota(6))).ok());
  auto src = Open(path, OneInputGraph({1, 3}, DType::kInt32));  // int32, not quantized
  ASSERT_FALSE(src.ok());
  const std::string& m = src.status().message();
  EXPECT_TRUE(Contains(m, path)) << m;
  EXPECT_TRUE(Contains(m, "input 0 'x'")) << m;
  EXPECT_TRUE(Contains(m, "int32")) << m;
  EXPECT_TRUE(Contains(m, "float32")) << m;
}

TEST(SampleSource, NanAndInfAreErrorsNamingFileSampleAndIndex) {
  TempDir dir;
  const std::string path = dir.File("bad.npy");
  std::vector<float> v = Iota(12);
  v[5] = std::numeric_limits<float>::quiet_NaN();   // sample 1, element 1
  v[7] = -std::numeric_limits<float>::infinity();   // sample 1, element 3
  v[11] = std::numeric_limits<float>::infinity();   // sample 2, element 3
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({3, 4}, v)).ok());
  auto src = Open(path, OneInputGraph({1, 4}));
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_TRUE((*src)->Get(0).ok());
  auto s1 = (*src)->Get(1);
  ASSERT_FALSE(s1.ok());
  EXPECT_TRUE(Contains(s1.status().message(), path + ": sample 1: element 1 is NaN")) << s1.status().message();
  auto s2 = (*src)->Get(2);
  ASSERT_FALSE(s2.ok());
  EXPECT_TRUE(Contains(s2.status().message(), "sample 2: element 3 is +Inf")) << s2.status().message();
  // Allowed on request: the values pass through.
  SampleSourceOptions o;
  o.reject_non_finite = false;
  auto lax = Open(path, OneInputGraph({1, 4}), o);
  auto s = (*lax)->Get(1);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(std::isnan(Values((*s)[0])[1]));
}

TEST(SampleSource, Float64OverflowingFloat32IsNonFinite) {
  TempDir dir;
  const std::string path = dir.File("big.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<double>({1, 2}, {1.0, 1e300})).ok());
  auto src = Open(path, OneInputGraph({1, 2}));
  ASSERT_TRUE(src.ok());
  auto s = (*src)->Get(0);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.status().message(), "after conversion to float32")) << s.status().message();
}

TEST(SampleSource, TruncatedNpyIsAnError) {
  TempDir dir;
  const std::string path = dir.File("short.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({4, 3}, Iota(12))).ok());
  fs::resize_file(path, fs::file_size(path) - 5);
  auto src = Open(path, OneInputGraph({1, 3}));
  ASSERT_FALSE(src.ok());
  EXPECT_TRUE(Contains(src.status().message(), "needs 48 data bytes but the file has 43")) << src.status().message();
}

// ---------------------------------------------------------------------------------------------
// .npz

TEST(SampleSource, NpzWithLabels) {
  TempDir dir;
  const std::string path = dir.File("data.npz");
  ASSERT_TRUE(WriteNpz(path, {{"x", Array::From<float>({3, 2}, Iota(6))},
                              {"y", Array::From<int64_t>({3}, {4, 0, 9})}})
                  .ok());
  auto src = Open(path, OneInputGraph({-1, 2}));
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ((*src)->num_samples(), 3);
  EXPECT_EQ((*src)->description(), path + " (3 samples, labelled)");
  EXPECT_EQ((*src)->Label(2), 9);
  EXPECT_EQ((*src)->Label(0), 4);
  EXPECT_FALSE((*src)->Label(3).has_value());
  auto s = (*src)->Get(1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Values((*s)[0]), (std::vector<float>{2, 3}));
}

TEST(SampleSource, NpzWithoutXIsAnErrorListingItsArrays) {
  TempDir dir;
  const std::string path = dir.File("nox.npz");
  ASSERT_TRUE(WriteNpz(path, {{"images", Array::From<float>({3, 2}, Iota(6))},
                              {"y", Array::From<int64_t>({3}, {1, 2, 3})}})
                  .ok());
  auto src = Open(path, OneInputGraph({-1, 2}));
  ASSERT_FALSE(src.ok());
  const std::string& m = src.status().message();
  EXPECT_TRUE(Contains(m, path + ": no array 'x' in the archive (it holds: images, y)")) << m;
}

TEST(SampleSource, NpzLabelsOfTheWrongShapeOrTypeAreErrors) {
  TempDir dir;
  const std::string path = dir.File("bady.npz");
  ASSERT_TRUE(WriteNpz(path, {{"x", Array::From<float>({3, 2}, Iota(6))},
                              {"y", Array::From<float>({3}, {1, 2, 3})}})
                  .ok());
  auto src = Open(path, OneInputGraph({-1, 2}));
  ASSERT_FALSE(src.ok());
  EXPECT_TRUE(Contains(src.status().message(), "labels 'y' are float32 of shape [3]")) << src.status().message();
  ASSERT_TRUE(WriteNpz(path, {{"x", Array::From<float>({3, 2}, Iota(6))},
                              {"y", Array::From<int32_t>({2}, {1, 2})}})
                  .ok());
  auto src2 = Open(path, OneInputGraph({-1, 2}));
  ASSERT_FALSE(src2.ok());
  EXPECT_TRUE(Contains(src2.status().message(), "must be integers of shape [3]")) << src2.status().message();
}

TEST(SampleSource, NpzNanNamesTheArray) {
  TempDir dir;
  const std::string path = dir.File("nan.npz");
  std::vector<float> v = Iota(6);
  v[5] = std::numeric_limits<float>::quiet_NaN();
  ASSERT_TRUE(WriteNpz(path, {{"x", Array::From<float>({3, 2}, v)}}).ok());
  auto src = Open(path, OneInputGraph({-1, 2}));
  ASSERT_TRUE(src.ok());
  auto s = (*src)->Get(2);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.status().message(), path + ": array 'x': sample 2: element 1 is NaN")) << s.status().message();
}

// ---------------------------------------------------------------------------------------------
// Image folders

TEST(SampleSource, ImageFolderSortedByNameSkippingOtherFiles) {
  TempDir dir;
  WriteBmp(dir.File("b.bmp"), 4, 4, 20, 20, 20);
  WriteBmp(dir.File("a.bmp"), 8, 8, 10, 10, 10);  // resized to 4x4
  WriteBmp(dir.File("c.bmp"), 4, 4, 30, 30, 30);
  std::ofstream(dir.File("notes.txt")) << "not an image";
  fs::create_directories(dir.File("sub"));
  ir::Graph g = OneInputGraph({1, 4, 4, 3});
  SampleSourceOptions o;
  o.image.scale = 0.5f;
  auto src = Open(dir.path(), g, o);
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ((*src)->num_samples(), 3);
  EXPECT_TRUE(Contains((*src)->description(), "1 other file(s) skipped")) << (*src)->description();
  for (int64_t i = 0; i < 3; ++i) {
    auto s = (*src)->Get(i);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)[0].shape, (ir::Shape{1, 4, 4, 3}));
    const auto v = Values((*s)[0]);
    EXPECT_EQ(v.front(), 5.0f * static_cast<float>(i + 1)) << i;  // a, b, c: 10, 20, 30 pixels * 0.5
    EXPECT_EQ(v.back(), 5.0f * static_cast<float>(i + 1)) << i;
  }
}

TEST(SampleSource, EmptyImageFolderIsAnError) {
  TempDir dir;
  auto empty = Open(dir.path(), OneInputGraph({1, 4, 4, 3}));
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(Contains(empty.status().message(), dir.path() + ": the folder holds no PNG, JPEG or BMP image"))
      << empty.status().message();
  std::ofstream(dir.File("readme.txt")) << "text";
  auto only_text = Open(dir.path(), OneInputGraph({1, 4, 4, 3}));
  ASSERT_FALSE(only_text.ok());
  EXPECT_TRUE(Contains(only_text.status().message(), "(1 other file(s) skipped)")) << only_text.status().message();
}

TEST(SampleSource, ImageFolderForANonImageInputIsAnErrorBeforeAnythingRuns) {
  TempDir dir;
  WriteBmp(dir.File("a.bmp"), 4, 4, 1, 2, 3);
  auto src = Open(dir.path(), OneInputGraph({1, 4, 4, 5}));
  ASSERT_FALSE(src.ok());
  EXPECT_TRUE(Contains(src.status().message(), "not an image layout")) << src.status().message();
}

// ---------------------------------------------------------------------------------------------
// random:SEED

TEST(SampleSource, RandomIsDeterministicAndInRange) {
  ir::Graph g = OneInputGraph({1, 1000});
  ir::Tensor t8;
  t8.name = "ids";
  t8.dtype = DType::kInt8;
  t8.shape = {1, 500};
  g.tensors.push_back(t8);
  g.inputs.push_back(1);
  auto a = Open("random:42", g);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ((*a)->num_samples(), kDefaultRandomSamples);
  EXPECT_EQ((*a)->description(), "random:42 (100 uniform random samples)");
  auto b = Open("random:42", g);
  // Sample 7 is the same whatever was read before it.
  ASSERT_TRUE((*b)->Get(3).ok());
  auto s_a = (*a)->Get(7);
  auto s_b = (*b)->Get(7);
  ASSERT_TRUE(s_a.ok() && s_b.ok());
  ASSERT_EQ(s_a->size(), 2u);
  EXPECT_EQ((*s_a)[0].data, (*s_b)[0].data);
  EXPECT_EQ((*s_a)[1].data, (*s_b)[1].data);
  const auto v = Values((*s_a)[0]);
  float mn = 1, mx = 0;
  for (float x : v) {
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  EXPECT_GE(mn, 0.0f);
  EXPECT_LT(mx, 1.0f);
  EXPECT_GT(mx - mn, 0.9f);  // spread over [0, 1), not constant
  const auto* ids = (*s_a)[1].as<int8_t>();
  int lo = 0, hi = 0;
  for (int k = 0; k < 500; ++k) {
    lo = std::min<int>(lo, ids[k]);
    hi = std::max<int>(hi, ids[k]);
  }
  EXPECT_LT(lo, -100);  // the whole int8 range
  EXPECT_GT(hi, 100);
  // Another seed, other data; another sample, other data.
  auto c = Open("random:43", g);
  EXPECT_NE((*(*c)->Get(7))[0].data, (*s_a)[0].data);
  EXPECT_NE((*(*a)->Get(8))[0].data, (*s_a)[0].data);
}

TEST(SampleSource, RandomCountFollowsMaxSamplesAndBadSeedsAreErrors) {
  ir::Graph g = OneInputGraph({1, 4});
  SampleSourceOptions o;
  o.max_samples = 7;
  auto src = Open("random:0", g, o);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ((*src)->num_samples(), 7);
  for (const char* bad : {"random", "random:", "random:x", "random:-1", "random:1.5"}) {
    auto r = Open(bad, g);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(Contains(r.status().message(), "random:SEED with SEED a non-negative integer"))
        << r.status().message();
  }
}

// ---------------------------------------------------------------------------------------------
// Other errors

TEST(SampleSource, MissingOrUnknownDataAreErrors) {
  TempDir dir;
  ir::Graph g = OneInputGraph({1, 4});
  auto missing = Open(dir.File("nope.npy"), g);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "no such file or folder")) << missing.status().message();
  std::ofstream(dir.File("data.csv")) << "1,2,3,4\n";
  auto csv = Open(dir.File("data.csv"), g);
  ASSERT_FALSE(csv.ok());
  EXPECT_TRUE(Contains(csv.status().message(), "not a .npy or .npz file")) << csv.status().message();
}

TEST(SampleSource, FileDataNeedsAOneInputModel) {
  TempDir dir;
  const std::string path = dir.File("data.npy");
  ASSERT_TRUE(WriteNpyFile(path, Array::From<float>({1, 4}, Iota(4))).ok());
  ir::Graph g = OneInputGraph({1, 4});
  g.tensors.push_back(g.tensors[0]);
  g.inputs.push_back(1);
  auto src = Open(path, g);
  ASSERT_FALSE(src.ok());
  EXPECT_TRUE(Contains(src.status().message(), "feeds one model input but the model has 2")) << src.status().message();
}

}  // namespace
}  // namespace ql::io
