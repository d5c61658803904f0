#include "quantlens/io/npz.h"

#include "quantlens/util/limits.h"

#include <zip.h>

#include <cstdio>
#include <memory>
#include <set>

#include "quantlens/io/atomic_file.h"
#include "quantlens/io/npy.h"

namespace ql::io {
namespace {

// Members are decompressed into memory; bound them like whole files so a zip bomb (a small
// member declaring or inflating to terabytes) is refused instead of exhausting memory.
constexpr uint64_t kMaxMemberBytes = kDefaultMaxFileBytes;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

Result<ZipPtr> OpenForRead(const std::string& path) {
  // libzip reports a missing file as "not a zip"; check first for a clearer message.
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) return NotFound("{}: no such file or not readable", path);
  std::fclose(probe);
  int err = 0;
  // ZIP_CHECKCONS: local headers must agree with the central directory and names be unique, so
  // an archive cannot hand quantlens a different "x" than NumPy (which takes the last duplicate).
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string msg = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return InvalidArgument("{}: not a readable .npz (zip) archive: {}", path, msg);
  }
  return ZipPtr(z);
}

std::string ArrayNameOf(const std::string& member) {
  constexpr std::string_view kExt = ".npy";
  if (member.size() > kExt.size() && member.compare(member.size() - kExt.size(), kExt.size(), kExt) == 0) {
    return member.substr(0, member.size() - kExt.size());
  }
  return member;
}

Result<std::vector<uint8_t>> ReadMember(zip_t* z, zip_uint64_t index, const std::string& path,
                                        const std::string& member) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, index, 0, &st) != 0) {
    return InvalidArgument("{}: member '{}': cannot stat: {}", path, member, zip_strerror(z));
  }
  if ((st.valid & ZIP_STAT_SIZE) && st.size > kMaxMemberBytes) {
    return InvalidArgument("{}: member '{}' declares {} bytes, more than the {} bytes quantlens reads",
                           path, member, static_cast<uint64_t>(st.size), kMaxMemberBytes);
  }
  std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(z, index, 0));
  if (!f) return InvalidArgument("{}: member '{}': cannot open: {}", path, member, zip_strerror(z));
  std::vector<uint8_t> out;
  // Grow as data actually arrives rather than trusting the declared size for the allocation.
  out.reserve(std::min<uint64_t>(st.size, uint64_t{64} << 20));
  uint8_t buf[1 << 16];
  while (true) {
    zip_int64_t n = zip_fread(f.get(), buf, sizeof(buf));
    if (n < 0) {
      return InvalidArgument("{}: member '{}': read failed (corrupt data?): {}", path, member,
                             zip_file_strerror(f.get()));
    }
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > kMaxMemberBytes) {
      return InvalidArgument("{}: member '{}' inflates past {} bytes", path, member, kMaxMemberBytes);
    }
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ListNpz(const std::string& path) {
  QL_ASSIGN_OR_RETURN(ZipPtr z, OpenForRead(path));
  std::vector<std::string> names;
  zip_int64_t n = zip_get_num_entries(z.get(), 0);
  if (n > limits::kMaxZipEntries)
    return InvalidArgument("{}: the archive has {} members, more than the {} quantlens reads", path,
                           n, limits::kMaxZipEntries);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(z.get(), i, 0);
    if (name) names.push_back(ArrayNameOf(name));
  }
  return names;
}

Result<std::vector<NamedArray>> ReadNpz(const std::string& path, std::vector<std::string>* skipped) {
  QL_ASSIGN_OR_RETURN(ZipPtr z, OpenForRead(path));
  std::vector<NamedArray> out;
  zip_int64_t n = zip_get_num_entries(z.get(), 0);
  if (n > limits::kMaxZipEntries)
    return InvalidArgument("{}: the archive has {} members, more than the {} quantlens reads", path,
                           n, limits::kMaxZipEntries);
  uint64_t total = 0;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* cname = zip_get_name(z.get(), i, 0);
    if (!cname) return InvalidArgument("{}: member {} has no readable name", path, i);
    std::string member = cname;
    if (!member.empty() && member.back() == '/') continue;  // a directory entry
    QL_ASSIGN_OR_RETURN(auto bytes, ReadMember(z.get(), i, path, member));
    total += bytes.size();
    if (total > limits::kMaxZipTotalBytes)
      return InvalidArgument("{}: the members up to '{}' hold {} bytes, more than the {} quantlens "
                             "reads from one archive", path, member, total, limits::kMaxZipTotalBytes);
    auto arr = ParseNpy(bytes, fmt::format("{}: member '{}'", path, member));
    if (!arr.ok()) {
      if (arr.status().code() == StatusCode::kUnsupported) {
        if (skipped) skipped->push_back(ArrayNameOf(member));
        continue;
      }
      return arr.status();
    }
    out.push_back({ArrayNameOf(member), std::move(arr).value()});
  }
  return out;
}

Result<Array> ReadNpzMember(const std::string& path, const std::string& name) {
  QL_ASSIGN_OR_RETURN(ZipPtr z, OpenForRead(path));
  std::string member = name + ".npy";
  zip_int64_t index = zip_name_locate(z.get(), member.c_str(), 0);
  if (index < 0) {
    member = name;
    index = zip_name_locate(z.get(), member.c_str(), 0);
  }
  if (index < 0) {
    std::string present;
    zip_int64_t n = zip_get_num_entries(z.get(), 0);
    for (zip_int64_t i = 0; i < n && i < 20; ++i) {
      const char* cname = zip_get_name(z.get(), i, 0);
      if (!cname) continue;
      present += present.empty() ? "" : ", ";
      present += ArrayNameOf(cname);
    }
    if (n > 20) present += ", ...";
    return NotFound("{}: no array '{}' in archive (it holds: {})", path, name,
                    present.empty() ? "nothing" : present);
  }
  QL_ASSIGN_OR_RETURN(auto bytes, ReadMember(z.get(), index, path, member));
  return ParseNpy(bytes, fmt::format("{}: member '{}'", path, member));
}

Status WriteNpz(const std::string& path, const std::vector<NamedArray>& arrays,
                NpzCompression compression) {
  std::set<std::string> seen;
  std::vector<std::vector<uint8_t>> members;  // must outlive zip_close, which reads them
  members.reserve(arrays.size());
  for (const NamedArray& na : arrays) {
    if (na.name.empty()) return InvalidArgument("{}: cannot write an array with an empty name", path);
    if (!seen.insert(na.name).second) {
      return InvalidArgument("{}: array name '{}' appears twice; .npz names must be unique", path,
                             na.name);
    }
    auto bytes = SerializeNpy(na.array);
    if (!bytes.ok()) return bytes.status().WithContext(fmt::format("{}: array '{}': ", path, na.name));
    members.push_back(std::move(bytes).value());
  }

  // Build the archive in a growable memory source, then write it in one atomic step.
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* mem = zip_source_buffer_create(nullptr, 0, 0, &err);
  if (!mem) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    return IoError("{}: cannot create zip buffer: {}", path, msg);
  }
  zip_t* z = zip_open_from_source(mem, ZIP_TRUNCATE, &err);
  if (!z) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    zip_source_free(mem);
    return IoError("{}: cannot start zip archive: {}", path, msg);
  }
  zip_error_fini(&err);
  zip_source_keep(mem);  // keep the memory after zip_close so we can read the finished archive
  auto fail = [&](const std::string& what) {
    std::string msg = fmt::format("{}: {}: {}", path, what, zip_strerror(z));
    zip_discard(z);
    zip_source_free(mem);
    return IoError("{}", msg);
  };
  for (size_t i = 0; i < arrays.size(); ++i) {
    zip_source_t* s = zip_source_buffer(z, members[i].data(), members[i].size(), 0);
    if (!s) return fail("cannot add member " + arrays[i].name);
    std::string member = arrays[i].name + ".npy";
    zip_int64_t idx = zip_file_add(z, member.c_str(), s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      return fail("cannot add member " + member);
    }
    zip_int32_t method = compression == NpzCompression::kDeflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE;
    if (zip_set_file_compression(z, idx, method, 0) != 0) return fail("cannot set compression");
  }
  if (zip_close(z) != 0) return fail("cannot finish zip archive");

  std::vector<uint8_t> archive;
  bool read_ok = zip_source_open(mem) == 0;
  if (read_ok) {
    read_ok = zip_source_seek(mem, 0, SEEK_END) == 0;
    zip_int64_t size = read_ok ? zip_source_tell(mem) : -1;
    read_ok = read_ok && size >= 0 && zip_source_seek(mem, 0, SEEK_SET) == 0;
    if (read_ok) {
      archive.resize(static_cast<size_t>(size));
      read_ok = zip_source_read(mem, archive.data(), size) == size;
    }
    zip_source_close(mem);
  }
  zip_source_free(mem);
  if (!read_ok) return IoError("{}: cannot read back the zip archive built in memory", path);
  return WriteFileAtomic(path, archive);
}

}  // namespace ql::io
