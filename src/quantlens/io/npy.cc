#include "quantlens/io/npy.h"

#include <cctype>
#include <cstring>
#include <optional>

#include "quantlens/io/atomic_file.h"

namespace ql::io {
namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
// NumPy itself refuses headers above 10000 bytes on read by default; allow more (big shapes in
// version 2.0 headers) but bound it so a hostile length cannot make us scan gigabytes.
constexpr uint32_t kMaxHeaderBytes = 1u << 20;
constexpr int kMaxRank = 32;  // NumPy's own limit (NPY_MAXDIMS)

struct Header {
  std::string descr;
  bool fortran_order = false;
  ir::Shape shape;
};

// A tiny parser for the Python dict literal NumPy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 32, 32, 3), }
// It accepts exactly the value kinds that appear there: quoted strings, True/False, and tuples of
// non-negative integers; anything else is an error rather than a guess.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  Result<Header> Parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false;
    SkipSpace();
    if (!Eat('{')) return Error("header does not start with '{'");
    while (true) {
      SkipSpace();
      if (Eat('}')) break;
      auto key = String();
      if (!key) return Error("expected a quoted key");
      SkipSpace();
      if (!Eat(':')) return Error(fmt::format("expected ':' after key '{}'", *key));
      SkipSpace();
      if (*key == "descr") {
        auto v = String();
        if (!v) return Error("'descr' is not a string (structured dtypes are not supported)");
        h.descr = *v;
        have_descr = true;
      } else if (*key == "fortran_order") {
        if (EatWord("True")) {
          h.fortran_order = true;
        } else if (EatWord("False")) {
          h.fortran_order = false;
        } else {
          return Error("'fortran_order' is not True or False");
        }
        have_order = true;
      } else if (*key == "shape") {
        QL_ASSIGN_OR_RETURN(h.shape, Tuple());
        have_shape = true;
      } else {
        return Error(fmt::format("unknown key '{}'", *key));
      }
      SkipSpace();
      if (Eat(',')) continue;
      SkipSpace();
      if (Eat('}')) break;
      return Error("expected ',' or '}' in header dictionary");
    }
    if (!have_descr || !have_order || !have_shape) {
      return Error("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return h;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("{}: bad .npy header at byte {}: {}", source_, pos_, what);
  }
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool EatWord(std::string_view w) {
    if (s_.substr(pos_, w.size()) == w) {
      pos_ += w.size();
      return true;
    }
    return false;
  }
  std::optional<std::string> String() {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return std::nullopt;
    char q = s_[pos_++];
    size_t end = s_.find(q, pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string out(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  Result<ir::Shape> Tuple() {
    if (!Eat('(')) return Error("'shape' is not a tuple");
    ir::Shape shape;
    while (true) {
      SkipSpace();
      if (Eat(')')) break;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Error("'shape' holds something other than a non-negative integer");
      }
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        int digit = s_[pos_++] - '0';
        if (v > (INT64_MAX - digit) / 10) return Error("a 'shape' dimension overflows int64");
        v = v * 10 + digit;
      }
      // Python 2 era files may write long integers as "3L".
      Eat('L');
      shape.push_back(v);
      if (shape.size() > kMaxRank) return Error(fmt::format("rank above {}", kMaxRank));
      SkipSpace();
      if (Eat(',')) continue;
      SkipSpace();
      if (Eat(')')) break;
      return Error("expected ',' or ')' in 'shape'");
    }
    return shape;
  }

  std::string_view s_;
  const std::string& source_;
  size_t pos_ = 0;
};

// Maps a descriptor to a dtype. '<' and '=' mean little-endian on the machines quantlens runs on;
// '|' means byte order is irrelevant (one-byte types).
Result<ir::DType> DTypeFromDescr(std::string_view descr, const std::string& source) {
  if (descr.size() < 3) return InvalidArgument("{}: .npy 'descr' '{}' is too short", source, descr);
  const char order = descr.front();
  const std::string_view kind = descr.substr(1);
  using ir::DType;
  struct Entry {
    const char* kind;
    DType type;
  };
  static constexpr Entry kTable[] = {
      {"b1", DType::kBool},    {"i1", DType::kInt8},     {"u1", DType::kUInt8},
      {"i2", DType::kInt16},   {"i4", DType::kInt32},    {"i8", DType::kInt64},
      {"f2", DType::kFloat16}, {"f4", DType::kFloat32},  {"f8", DType::kFloat64},
  };
  for (const Entry& e : kTable) {
    if (kind != e.kind) continue;
    bool one_byte = ir::DTypeSize(e.type) == 1;
    if (order == '<' || order == '=' || (order == '|' && one_byte) || (order == '>' && one_byte)) {
      return e.type;
    }
    return Unsupported("{}: .npy dtype '{}' is big-endian; only little-endian data is supported",
                       source, descr);
  }
  return Unsupported(
      "{}: .npy dtype '{}' is not supported (supported: bool, int8, uint8, int16, int32, int64, "
      "float16, float32, float64)",
      source, descr);
}

std::string ShapeTuple(const ir::Shape& shape) {
  if (shape.empty()) return "()";
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    s += (shape.size() == 1) ? "," : (i + 1 < shape.size() ? ", " : "");
  }
  return s + ")";
}

}  // namespace

std::string NpyDescr(ir::DType t) {
  using ir::DType;
  switch (t) {
    case DType::kBool: return "|b1";
    case DType::kInt8: return "|i1";
    case DType::kUInt8: return "|u1";
    case DType::kInt16: return "<i2";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kFloat16: return "<f2";
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    default: return "";
  }
}

Result<NpyHeader> ParseNpyHeader(std::span<const uint8_t> bytes, const std::string& source) {
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return InvalidArgument("{}: not a .npy file (missing the \\x93NUMPY magic)", source);
  }
  if (bytes.size() < 10) {
    return InvalidArgument("{}: .npy file truncated in its preamble ({} bytes)", source, bytes.size());
  }
  const int major = bytes[6];
  size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (size_t{bytes[9]} << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return InvalidArgument("{}: .npy file truncated in its preamble", source);
    header_len = bytes[8] | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) |
                 (size_t{bytes[11]} << 24);
    prefix = 12;
  } else {
    return Unsupported("{}: .npy format version {}.{} is not supported (1.0, 2.0, 3.0 are)", source,
                       major, bytes[7]);
  }
  if (header_len > kMaxHeaderBytes) {
    return InvalidArgument("{}: .npy header length {} exceeds the {}-byte limit", source, header_len,
                           kMaxHeaderBytes);
  }
  if (prefix + header_len > bytes.size()) {
    return InvalidArgument("{}: .npy header length {} runs past the end of the {}-byte file", source,
                           header_len, bytes.size());
  }
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  QL_ASSIGN_OR_RETURN(Header h, HeaderParser(text, source).Parse());
  QL_ASSIGN_OR_RETURN(ir::DType dtype, DTypeFromDescr(h.descr, source));
  if (h.fortran_order) {
    bool trivially_ordered = true;  // rank <= 1 is the same in both orders
    int non_unit = 0;
    for (int64_t d : h.shape) non_unit += (d != 1);
    trivially_ordered = non_unit <= 1;
    if (!trivially_ordered) {
      return Unsupported("{}: .npy array is in Fortran order; save it in C order (np.ascontiguousarray)",
                         source);
    }
  }
  auto count = ir::CheckedNumElements(h.shape);
  if (!count.ok()) {
    return InvalidArgument("{}: .npy header: {}", source, count.status().message());
  }
  NpyHeader out;
  out.dtype = dtype;
  out.shape = std::move(h.shape);
  out.descr = h.descr;
  out.data_offset = prefix + header_len;
  return out;
}

Result<Array> ParseNpy(std::span<const uint8_t> bytes, const std::string& source) {
  QL_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(bytes, source));
  const ir::DType dtype = h.dtype;
  const int64_t count = ir::ShapeProduct(h.shape);
  const size_t elem = ir::DTypeSize(dtype);
  const uint64_t payload = bytes.size() - h.data_offset;
  if (static_cast<uint64_t>(count) > payload / elem || static_cast<uint64_t>(count) * elem != payload) {
    return InvalidArgument("{}: .npy shape {} of {} needs {} data bytes but the file has {}", source,
                           ir::ShapeToString(h.shape), h.descr,
                           fmt::format("{}*{}", count, elem), payload);
  }
  Array a;
  a.dtype = dtype;
  a.shape = std::move(h.shape);
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset), bytes.end());
  return a;
}

Result<Array> ReadNpyFile(const std::string& path) {
  QL_ASSIGN_OR_RETURN(auto bytes, ReadFileBytes(path));
  return ParseNpy(bytes, path);
}

Result<std::vector<uint8_t>> SerializeNpy(const Array& a) {
  std::string descr = NpyDescr(a.dtype);
  if (descr.empty()) {
    return Unsupported("cannot write dtype {} to .npy", ir::DTypeName(a.dtype));
  }
  auto count = ir::CheckedNumElements(a.shape);
  if (!count.ok()) return InvalidArgument("cannot write .npy: {}", count.status().message());
  if (static_cast<uint64_t>(*count) * ir::DTypeSize(a.dtype) != a.data.size()) {
    return Internal("cannot write .npy: shape {} of {} needs {} bytes, array holds {}",
                    ir::ShapeToString(a.shape), ir::DTypeName(a.dtype),
                    *count * static_cast<int64_t>(ir::DTypeSize(a.dtype)), a.data.size());
  }
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr,
                                 ShapeTuple(a.shape));
  // NumPy pads the header with spaces and a final newline so the data starts 64-byte aligned.
  size_t prefix = 10;
  size_t total = prefix + dict.size() + 1;
  int major = 1;
  if (((total + 63) / 64) * 64 - prefix > 0xFFFF) {
    major = 2;
    prefix = 12;
    total = prefix + dict.size() + 1;
  }
  total = ((total + 63) / 64) * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::vector<uint8_t> out;
  out.reserve(total + a.data.size());
  out.insert(out.end(), kMagic, kMagic + sizeof(kMagic));
  out.push_back(static_cast<uint8_t>(major));
  out.push_back(0);
  const size_t hl = dict.size();
  out.push_back(hl & 0xFF);
  out.push_back((hl >> 8) & 0xFF);
  if (major == 2) {
    out.push_back((hl >> 16) & 0xFF);
    out.push_back((hl >> 24) & 0xFF);
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

Status WriteNpyFile(const std::string& path, const Array& a) {
  auto bytes = SerializeNpy(a);
  if (!bytes.ok()) return bytes.status().WithContext(path + ": ");
  return WriteFileAtomic(path, *bytes);
}

}  // namespace ql::io
