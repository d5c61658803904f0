#include "quantlens/formats/keras/h5_file.h"

#include "quantlens/ir/graph.h"

#include <limits>

namespace ql::keras {
namespace {

// HDF5 prints a multi-line error stack to stderr by default; quantlens reports one line itself.
void SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// Strings longer than this in an attribute, or attributes with more entries, are not Keras's.
constexpr size_t kMaxAttrStringBytes = size_t{256} << 20;
constexpr hssize_t kMaxAttrEntries = 1 << 22;
// How many times its stored bytes a dataset may expand to when read (compression).
constexpr uint64_t kMaxDatasetExpansion = 1024;

Result<std::vector<std::string>> ReadOneStringAttr(hid_t obj, const std::string& name,
                                                   const std::string& where) {
  H5Id attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) return InvalidModel("{}: cannot open attribute '{}'", where, name);
  H5Id type(H5Aget_type(attr.get()));
  H5Id space(H5Aget_space(attr.get()));
  if (!type.valid() || !space.valid())
    return InvalidModel("{}: attribute '{}' has no readable type or shape", where, name);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || n > kMaxAttrEntries)
    return InvalidModel("{}: attribute '{}' has an invalid number of entries ({})", where, name, n);
  std::vector<std::string> out;
  // Keras writes an empty list (weight_names of a layer without weights) as an empty float
  // array: no strings, whatever the element type.
  if (n == 0) return out;
  if (H5Tget_class(type.get()) != H5T_STRING)
    return InvalidModel("{}: attribute '{}' is not a string", where, name);
  const htri_t is_var = H5Tis_variable_str(type.get());
  if (is_var < 0) return InvalidModel("{}: attribute '{}': unreadable string type", where, name);
  if (is_var > 0) {
    H5Id mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0)
      return InvalidModel("{}: cannot read attribute '{}'", where, name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    // Variable-length strings are allocated by HDF5 and must be released through it.
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0 || size > kMaxAttrStringBytes || size * static_cast<size_t>(n) > kMaxAttrStringBytes)
    return InvalidModel("{}: attribute '{}' is too large ({} x {} bytes)", where, name, n, size);
  H5Id mem(H5Tcopy(H5T_C_S1));
  H5Tset_size(mem.get(), size);
  // NULLPAD keeps all `size` bytes; NULLTERM would drop the last character to fit a terminator.
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  std::vector<char> buf(size * static_cast<size_t>(n) + 1, '\0');
  if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
    return InvalidModel("{}: cannot read attribute '{}'", where, name);
  for (hssize_t i = 0; i < n; ++i) {
    const char* p = buf.data() + static_cast<size_t>(i) * size;
    size_t len = 0;
    while (len < size && p[len] != '\0') ++len;  // fixed-length strings are NUL padded
    out.emplace_back(p, len);
  }
  return out;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

}  // namespace

H5Id& H5Id::operator=(H5Id&& o) noexcept {
  if (this != &o) {
    Reset();
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

void H5Id::Reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

Result<H5File> H5File::OpenPath(const std::string& path) {
  SilenceHdf5();
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  // Close every object with the file, so an early error return cannot leave the file open.
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  H5Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!f.valid()) return InvalidModel("{}: not a readable HDF5 file (truncated or corrupt?)", path);
  return H5File(std::move(f), path);
}

Result<H5File> H5File::OpenImage(const std::vector<uint8_t>& image, const std::string& label) {
  SilenceHdf5();
  if (image.empty()) return InvalidModel("{}: empty HDF5 image", label);
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  // The core driver with a file image reads the bytes from memory; no temporary file needed.
  if (H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0) < 0 ||
      H5Pset_file_image(fapl.get(), const_cast<uint8_t*>(image.data()), image.size()) < 0)
    return Internal("{}: cannot set up the HDF5 in-memory driver", label);
  H5Id f(H5Fopen(label.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!f.valid()) return InvalidModel("{}: not a readable HDF5 file (truncated or corrupt?)", label);
  return H5File(std::move(f), label);
}

bool H5PathExists(hid_t loc, const std::string& path) {
  std::string prefix;
  for (const std::string& part : SplitPath(path)) {
    prefix += prefix.empty() ? part : "/" + part;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return !prefix.empty();
}

bool H5HasAttr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

Result<std::vector<std::string>> H5ReadStringAttr(hid_t obj, const std::string& name,
                                                  const std::string& where) {
  if (H5HasAttr(obj, name)) return ReadOneStringAttr(obj, name, where);
  // Keras's save_attributes_to_hdf5_group chunks large attributes as name0, name1, ...
  std::vector<std::string> all;
  for (int chunk = 0;; ++chunk) {
    const std::string part = name + std::to_string(chunk);
    if (!H5HasAttr(obj, part)) {
      if (chunk == 0) return NotFound("{}: attribute '{}' is missing", where, name);
      break;
    }
    QL_ASSIGN_OR_RETURN(auto values, ReadOneStringAttr(obj, part, where));
    for (auto& v : values) all.push_back(std::move(v));
  }
  return all;
}

namespace {
herr_t CollectName(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}
}  // namespace

Result<std::vector<std::string>> H5ListGroup(hid_t loc, const std::string& path,
                                             const std::string& where) {
  if (!H5PathExists(loc, path)) return NotFound("{}: group '{}' is missing", where, path);
  H5Id group(H5Gopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!group.valid()) return InvalidModel("{}: '{}' is not a group", where, path);
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(group.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, CollectName, &names) < 0)
    return InvalidModel("{}: cannot list group '{}'", where, path);
  return names;
}

Result<FloatArray> H5ReadFloatDataset(hid_t loc, const std::string& path, const std::string& where,
                                      int64_t max_elements) {
  if (!H5PathExists(loc, path)) return NotFound("{}: dataset '{}' is missing", where, path);
  H5Id ds(H5Dopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!ds.valid()) return InvalidModel("{}: '{}' is not a dataset", where, path);
  // External storage and virtual datasets read other files named in the model (any path);
  // Keras writes neither.
  H5Id dcpl(H5Dget_create_plist(ds.get()));
  if (dcpl.valid() && (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) > 0))
    return Unsupported("{}: dataset '{}' keeps its data in an external file (refused)", where, path);
  H5Id type(H5Dget_type(ds.get()));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    return Unsupported("{}: dataset '{}' is not numeric (HDF5 type class {})", where, path,
                       static_cast<int>(cls));
  H5Id space(H5Dget_space(ds.get()));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8) return InvalidModel("{}: dataset '{}' has rank {}", where, path, rank);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    return InvalidModel("{}: dataset '{}': unreadable shape", where, path);
  FloatArray arr;
  int64_t n = 1;
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(max_elements) || (d > 0 && n > max_elements / static_cast<int64_t>(d)))
      return InvalidModel("{}: dataset '{}' is larger than {} elements", where, path, max_elements);
    n *= static_cast<int64_t>(d);
    arr.shape.push_back(static_cast<int64_t>(d));
  }
  // A dataset may declare a shape whose data the file never stored (HDF5 then reads fill values)
  // or stored compressed: the declared size is trusted only up to kMaxDatasetExpansion times the
  // bytes the file really holds for it, so a small file cannot make quantlens allocate gigabytes.
  // Keras writes contiguous, uncompressed datasets (expansion 1).
  const uint64_t stored = H5Dget_storage_size(ds.get());
  const uint64_t wanted = static_cast<uint64_t>(n) * H5Tget_size(type.get());
  if (n > 0 && wanted > stored * kMaxDatasetExpansion)
    return InvalidModel("{}: dataset '{}' declares shape {} ({} bytes) but the file stores {} bytes "
                        "for it", where, path, ir::ShapeToString(arr.shape), wanted, stored);
  arr.data.resize(static_cast<size_t>(n));
  if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, arr.data.data()) < 0)
    return InvalidModel("{}: cannot read dataset '{}' (truncated file?)", where, path);
  return arr;
}

}  // namespace ql::keras
