// Broken and hostile Keras files: each gives one clear error (and exit status 2 from the CLI),
// never a crash; this file also runs under AddressSanitizer.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "quantlens/formats/keras/keras_archive.h"
#include "quantlens/formats/model_loader.h"

namespace ql {
namespace {

namespace fs = std::filesystem;
const std::string kShared = QUANTLENS_SHARED_DIR;

std::string Temp(const std::string& name) {
  return (fs::temp_directory_path() / ("ql_hostile_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<char> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(f), {});
}

void WriteAll(const std::string& path, const char* data, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data, static_cast<std::streamsize>(n));
}

// Runs `quantlens inspect path` and returns its exit status.
int CliInspect(const std::string& path) {
  const std::string cmd = std::string("'") + QUANTLENS_CLI_PATH + "' inspect '" + path + "' >/dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void ExpectRefused(const std::string& path, const std::string& needle, bool check_cli = true) {
  auto g = LoadModel(path);
  ASSERT_FALSE(g.ok()) << path;
  EXPECT_NE(g.status().message().find(needle), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find(path), std::string::npos) << "error does not name the file: "
                                                                << g.status().message();
  if (check_cli) { EXPECT_EQ(CliInspect(path), 2) << path; }
}

TEST(KerasHostile, TruncatedH5) {
  const auto bytes = ReadAll(kShared + "/corpus/mltk/image_example1/image_example1.h5");
  ASSERT_GT(bytes.size(), 1000u);
  const std::string p = Temp("trunc.h5");
  for (size_t n : {size_t{0}, size_t{8}, size_t{100}, size_t{2048}, bytes.size() / 3, bytes.size() / 2,
                   bytes.size() - 100}) {
    SCOPED_TRACE(n);
    WriteAll(p, bytes.data(), n);
    auto g = LoadModel(p);
    EXPECT_FALSE(g.ok());
  }
  EXPECT_EQ(CliInspect(p), 2);
  fs::remove(p);
}

TEST(KerasHostile, H5WithoutModelConfig) {
  const std::string p = Temp("noconfig.h5");
  hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  ExpectRefused(p, "no model_config");
  fs::remove(p);
}

TEST(KerasHostile, CorruptBytesInH5) {
  // Flipping bytes through the file must give errors or (rarely) a model, never a crash.
  const auto bytes = ReadAll(kShared + "/corpus/mltk/image_example1/image_example1.h5");
  const std::string p = Temp("flip.h5");
  for (size_t pos = 512; pos < bytes.size(); pos += bytes.size() / 23) {
    auto copy = bytes;
    for (size_t i = pos; i < std::min(copy.size(), pos + 16); ++i) copy[i] = static_cast<char>(copy[i] ^ 0x5a);
    WriteAll(p, copy.data(), copy.size());
    auto g = LoadModel(p);
    (void)g;
  }
  fs::remove(p);
}

// Builds a zip with the given members.
void WriteZip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  for (const auto& [name, data] : members) {
    zip_source_t* s = zip_source_buffer(z, data.data(), data.size(), 0);
    ASSERT_GE(zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE), 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

TEST(KerasHostile, ZipEntryEscapingItsFolder) {
  for (const char* evil : {"../evil.txt", "/etc/evil", "a/../../evil", "..\\evil", "C:/evil"}) {
    SCOPED_TRACE(evil);
    EXPECT_FALSE(keras::IsSafeZipEntryName(evil));
    const std::string p = Temp("escape.keras");
    WriteZip(p, {{"config.json", "{}"}, {"metadata.json", "{}"}, {evil, "x"}});
    ExpectRefused(p, "outside its folder");
    fs::remove(p);
  }
  EXPECT_TRUE(keras::IsSafeZipEntryName("assets/vocab.txt"));
  EXPECT_TRUE(keras::IsSafeZipEntryName("a..b/c"));
}

TEST(KerasHostile, DeeplyNestedJson) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string p = Temp("deep.keras");
  WriteZip(p, {{"config.json", deep}, {"metadata.json", "{}"}});
  ExpectRefused(p, "nested deeper");
  fs::remove(p);
  // Brackets inside strings do not count.
  const std::string in_string = "{\"class_name\": \"" + std::string(1000, '[') + "\", \"config\": {}}";
  const std::string q = Temp("strings.keras");
  WriteZip(q, {{"config.json", in_string}});
  auto g = LoadModel(q);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message().find("nested deeper"), std::string::npos) << g.status().message();
  fs::remove(q);
}

TEST(KerasHostile, BrokenArchives) {
  const std::string src = kShared + "/corpus/keras3/Jhas876622__mnist-digit-recognition/mnist_cnn.keras";
  const auto bytes = ReadAll(src);
  const std::string p = Temp("broken.keras");
  for (size_t n : {size_t{4}, size_t{100}, bytes.size() / 2, bytes.size() - 10}) {
    SCOPED_TRACE(n);
    WriteAll(p, bytes.data(), n);
    EXPECT_FALSE(LoadModel(p).ok());
  }
  EXPECT_EQ(CliInspect(p), 2);
  WriteZip(p, {{"metadata.json", "{}"}});
  ExpectRefused(p, "no config.json");
  WriteZip(p, {{"config.json", "{not json"}});
  ExpectRefused(p, "invalid JSON");
  WriteZip(p, {{"config.json", "[1, 2]"}});
  ExpectRefused(p, "class_name");
  WriteZip(p, {{"config.json", R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d", "units": "many"}}]}})"},
               {"model.weights.h5", "not hdf5"}});
  ExpectRefused(p, "HDF5");
  fs::remove(p);
}

// Weights of the wrong shape in a real model: take a genuine archive and swap its config's
// Dense units so the stored kernel no longer fits.
TEST(KerasHostile, WeightsOfWrongShape) {
  const std::string src = kShared + "/corpus/keras3/Jhas876622__mnist-digit-recognition/mnist_cnn.keras";
  int err = 0;
  zip_t* z = zip_open(src.c_str(), ZIP_RDONLY, &err);
  ASSERT_NE(z, nullptr);
  auto read_member = [&](const char* name) {
    zip_stat_t st;
    zip_stat(z, name, 0, &st);
    std::string out(st.size, '\0');
    zip_file_t* f = zip_fopen(z, name, 0);
    zip_fread(f, out.data(), st.size);
    zip_fclose(f);
    return out;
  };
  std::string config = read_member("config.json");
  const std::string weights = read_member("model.weights.h5");
  zip_discard(z);
  const std::string key = "\"units\": 128";
  const size_t pos = config.find(key);
  ASSERT_NE(pos, std::string::npos);
  config.replace(pos, key.size(), "\"units\": 100");
  const std::string p = Temp("wrongshape.keras");
  WriteZip(p, {{"config.json", config}, {"metadata.json", R"({"keras_version": "3.11.3"})"}, {"model.weights.h5", weights}});
  ExpectRefused(p, "has shape");
  fs::remove(p);
}

}  // namespace
}  // namespace ql
