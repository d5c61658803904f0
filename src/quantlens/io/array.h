// A dense n-dimensional array as stored in .npy files and fed to or read from models: little-endian,
// row-major (C order) bytes plus dtype and shape. The one currency of quantlens's data I/O.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "quantlens/ir/dtype.h"
#include "quantlens/ir/graph.h"

namespace ql::io {

struct Array {
  ir::DType dtype = ir::DType::kUnknown;
  ir::Shape shape;
  std::vector<uint8_t> data;

  // Product of the shape (1 for a scalar); -1 for a negative dimension or an int64 overflow, so
  // a check against the data size fails instead of matching a wrapped-around count.
  int64_t num_elements() const { return ir::ShapeProduct(shape); }
  template <typename T> const T* as() const { return reinterpret_cast<const T*>(data.data()); }
  template <typename T> T* mut() { return reinterpret_cast<T*>(data.data()); }

  // Builds an array from typed values; `values.size()` must equal the shape product.
  template <typename T>
  static Array From(const ir::Shape& shape, const std::vector<T>& values) {
    Array a;
    a.dtype = ir::DTypeOf<T>();
    a.shape = shape;
    const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
    a.data.assign(bytes, bytes + values.size() * sizeof(T));
    return a;
  }
};

// A named array, as an .npz member.
struct NamedArray {
  std::string name;
  Array array;
};

}  // namespace ql::io
