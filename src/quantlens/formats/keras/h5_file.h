// A small read-only view of HDF5 files for the Keras readers: open a file (on disk or as an
// in-memory image, for the model.weights.h5 inside a .keras zip), read string attributes (fixed or
// variable length, scalar or 1-d, and Keras's chunked "name0", "name1"... form) and numeric
// datasets as float32. Every failure is a Status naming `label` and the HDF5 path; HDF5's own
// error printing is switched off.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "quantlens/util/status.h"

namespace ql::keras {

// A dense float32 array as stored in a weights file (row-major).
struct FloatArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Owns one HDF5 identifier and closes it with the matching H5?close.
class H5Id {
 public:
  H5Id() = default;
  explicit H5Id(hid_t id) : id_(id) {}
  H5Id(H5Id&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  H5Id& operator=(H5Id&& o) noexcept;
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() { Reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void Reset();

 private:
  hid_t id_ = -1;
};

class H5File {
 public:
  // `label` is the name used in messages (the file path, or "archive.keras:model.weights.h5").
  static Result<H5File> OpenPath(const std::string& path);
  // Opens an HDF5 file image held in memory. HDF5 copies the image, so `image` may be freed after.
  static Result<H5File> OpenImage(const std::vector<uint8_t>& image, const std::string& label);

  hid_t root() const { return file_.get(); }
  const std::string& label() const { return label_; }

 private:
  H5File(H5Id file, std::string label) : file_(std::move(file)), label_(std::move(label)) {}
  H5Id file_;
  std::string label_;
};

// True if every component of the '/'-separated `path` below `loc` exists (no error if not).
bool H5PathExists(hid_t loc, const std::string& path);
bool H5HasAttr(hid_t obj, const std::string& name);

// Reads string attribute `name` of `obj` as a list (a scalar gives one element). Keras splits
// attributes over 64 KiB into `name0`, `name1`, ...; those are joined. NotFound if absent.
Result<std::vector<std::string>> H5ReadStringAttr(hid_t obj, const std::string& name,
                                                  const std::string& where);

// Names of the direct children of group `path` (relative to `loc`), in HDF5's name order.
Result<std::vector<std::string>> H5ListGroup(hid_t loc, const std::string& path,
                                             const std::string& where);

// Reads a numeric dataset (float or integer class) converted to float32. Datasets of more than
// `max_elements` elements are refused before allocating.
Result<FloatArray> H5ReadFloatDataset(hid_t loc, const std::string& path, const std::string& where,
                                      int64_t max_elements = int64_t{1} << 28);

}  // namespace ql::keras
