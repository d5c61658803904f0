// An HDF5 dataset's declared shape is trusted only as far as the file backs it with stored bytes:
// a dataset created with a huge shape and never written reads as fill values, and used to make
// the Keras reader allocate and fill the whole declared size from a file of a few kilobytes.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <string>

#include "quantlens/formats/keras/h5_file.h"
#include "testing/cli_runner.h"

namespace ql::keras {
namespace {

using ::ql::testing::TempDir;

// Writes `path` with dataset "w" of `dims`, written with ones only when `write` is set.
void MakeFile(const std::string& path, std::vector<hsize_t> dims, bool write) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(f, "w", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  if (write) {
    hsize_t n = 1;
    for (hsize_t d : dims) n *= d;
    std::vector<float> ones(n, 1.0f);
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ones.data()), 0);
  }
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
}

TEST(H5Dataset, DeclaredButUnstoredDataIsRefused) {
  TempDir dir;
  const std::string path = dir.File("unstored.h5");
  MakeFile(path, {8192, 8192}, /*write=*/false);  // 256 MiB declared, nothing stored
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  auto r = H5ReadFloatDataset(f, "w", "unstored.h5");
  H5Fclose(f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(
                "dataset 'w' declares shape [8192,8192] (268435456 bytes) but the file stores 0 bytes"),
            std::string::npos)
      << r.status().message();
}

TEST(H5Dataset, StoredDataReads) {
  TempDir dir;
  const std::string path = dir.File("stored.h5");
  MakeFile(path, {3, 5}, /*write=*/true);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  auto r = H5ReadFloatDataset(f, "w", "stored.h5");
  H5Fclose(f);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->data.size(), 15u);
  EXPECT_EQ(r->data[14], 1.0f);
}

}  // namespace
}  // namespace ql::keras
