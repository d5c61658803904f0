// Zip archives (.npz data, .keras models) with more entries than util/limits.h allows are refused
// before any member is read: an archive of thousands of tiny members otherwise costs a read, a
// parse and an allocation each.
#include <gtest/gtest.h>
#include <zip.h>

#include <string>

#include "quantlens/io/npz.h"
#include "quantlens/util/limits.h"
#include "testing/cli_runner.h"

namespace ql {
namespace {

using namespace ::ql::testing;  // NOLINT: TempDir, Quantlens

// Writes a zip of `count` empty members named m<i>.npy (stored, no data).
void WriteZip(const std::string& path, int64_t count) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr) << err;
  for (int64_t i = 0; i < count; ++i) {
    zip_source_t* src = zip_source_buffer(z, nullptr, 0, 0);
    ASSERT_NE(src, nullptr);
    const std::string name = "m" + std::to_string(i) + ".npy";
    ASSERT_GE(zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8), 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

TEST(ZipLimits, NpzWithTooManyMembersIsRefused) {
  TempDir dir;
  const std::string path = dir.File("many.npz");
  WriteZip(path, limits::kMaxZipEntries + 1);
  auto r = io::ReadNpz(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the archive has 10001 members, more than the 10000"),
            std::string::npos)
      << r.status().message();
  auto names = io::ListNpz(path);
  ASSERT_FALSE(names.ok());
}

TEST(ZipLimits, KerasArchiveWithTooManyEntriesIsRefused) {
  TempDir dir;
  const std::string path = dir.File("many.keras");
  WriteZip(path, limits::kMaxZipEntries + 1);
  CliRun r = Quantlens("inspect '" + path + "'");
  ExpectOneLineError(r, "the archive has 10001 entries, more than the 10000");
}

}  // namespace
}  // namespace ql
