// Fuzz target: Keras .h5 bytes -> ReadKerasModelInfoFromBuffer (HDF5 file image in memory) ->
// lowering -> Interpreter::Create -> one Invoke when small.
//
// Structure-aware: the custom mutator opens the input as an HDF5 file image (core driver, no
// backing store), edits the model_config JSON attribute (keras_mutate.h) or one of the version
// attributes, writes the attribute back and takes the new file image (H5Fget_file_image). Byte
// flips cannot do that: the JSON sits in a heap or chunk that HDF5 checks as a whole. Inputs HDF5
// cannot open go to libFuzzer's byte mutator.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_common.h"
#include "keras_mutate.h"
#include "quantlens/formats/keras/h5_file.h"
#include "quantlens/formats/keras/reader.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using ql::fuzz::Rng;
using ql::keras::H5Id;

// Replaces string attribute `name` of `obj` with a scalar variable-length UTF-8 string (h5py's
// layout for Keras's attributes).
bool WriteStringAttr(hid_t obj, const char* name, const std::string& value) {
  if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) return false;
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Id space(H5Screate(H5S_SCALAR));
  H5Id attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) return false;
  const char* p = value.c_str();
  return H5Awrite(attr.get(), type.get(), &p) >= 0;
}

size_t MutateH5(uint8_t* data, size_t size, size_t max_size, Rng& rng) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  if (H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0) < 0 ||
      H5Pset_file_image(fapl.get(), data, size) < 0)
    return 0;
  H5Id file(H5Fopen("fuzz_mutate.h5", H5F_ACC_RDWR, fapl.get()));
  if (!file.valid()) return 0;
  const hid_t root = file.get();
  const int what = ql::fuzz::PickN(rng, 10);
  if (what == 0) {
    static const char* kVersions[] = {"2.4.0", "2.13.1", "3.8.0", "1.0", "", "x.y", "99999999999999999999.1"};
    if (!WriteStringAttr(root, "keras_version", kVersions[ql::fuzz::PickN(rng, 7)])) return 0;
  } else if (what == 1) {
    if (!WriteStringAttr(root, "backend", ql::fuzz::PickN(rng, 2) ? "tensorflow" : "jax")) return 0;
  } else {
    auto cfg = ql::keras::H5ReadStringAttr(root, "model_config", "mutator");
    if (!cfg.ok() || cfg->size() != 1) return 0;
    std::string text = (*cfg)[0];
    if (!ql::fuzz::MutateJsonText(text, rng)) return 0;
    if (!WriteStringAttr(root, "model_config", text)) return 0;
  }
  if (H5Fflush(root, H5F_SCOPE_GLOBAL) < 0) return 0;
  const ssize_t n = H5Fget_file_image(root, nullptr, 0);
  if (n <= 0 || static_cast<size_t>(n) > max_size) return 0;
  if (H5Fget_file_image(root, data, static_cast<size_t>(n)) != n) return 0;
  return static_cast<size_t>(n);
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng rng(seed);
  if (ql::fuzz::PickN(rng, 4) != 0 && size >= 8 && std::memcmp(data, "\x89HDF\r\n\x1a\n", 8) == 0) {
    // The mutation writes into `data` only on success; a failure leaves the input untouched.
    std::vector<uint8_t> out(max_size);
    std::memcpy(out.data(), data, size);
    const size_t n = MutateH5(out.data(), size, max_size, rng);
    if (n > 0) {
      std::memcpy(data, out.data(), n);
      return n;
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto info = ql::keras::ReadKerasModelInfoFromBuffer(std::span<const uint8_t>(data, size), "fuzz.h5");
  if (!info.ok()) return 0;
  ql::fuzz::RunGraph(info->graph);
  return 0;
}
