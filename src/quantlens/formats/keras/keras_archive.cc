#include "quantlens/formats/keras/keras_archive.h"

#include "quantlens/util/limits.h"

#include <zip.h>

#include <memory>

namespace ql::keras {
namespace {

// Real .keras weights are a few hundred MB at most; configs a few MB.
constexpr zip_uint64_t kMaxWeightsBytes = zip_uint64_t{2} << 30;
constexpr zip_uint64_t kMaxJsonBytes = zip_uint64_t{64} << 20;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

Result<std::vector<uint8_t>> ReadEntry(zip_t* z, zip_int64_t index, const std::string& where,
                                       zip_uint64_t max_bytes) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, static_cast<zip_uint64_t>(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    return InvalidModel("{}: cannot stat archive member", where);
  if (st.size > max_bytes)
    return InvalidModel("{}: archive member is {} bytes, more than the {} allowed", where, st.size,
                        max_bytes);
  std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(z, static_cast<zip_uint64_t>(index), 0));
  if (!f) return InvalidModel("{}: cannot open archive member ({})", where, zip_strerror(z));
  std::vector<uint8_t> out(static_cast<size_t>(st.size));
  zip_uint64_t done = 0;
  while (done < st.size) {
    const zip_int64_t got = zip_fread(f.get(), out.data() + done, st.size - done);
    if (got <= 0) return InvalidModel("{}: archive member is truncated or corrupt", where);
    done += static_cast<zip_uint64_t>(got);
  }
  // libzip checks the CRC only at the end of the data: read on to it, which also refuses a member
  // that inflates past its declared size (a zip bomb) instead of silently cutting it.
  uint8_t past_end = 0;
  const zip_int64_t more = zip_fread(f.get(), &past_end, 1);
  if (more != 0)
    return InvalidModel("{}: archive member is corrupt ({})", where,
                        more < 0 ? zip_file_strerror(f.get()) : "more data than its declared size");
  return out;
}

}  // namespace

bool IsSafeZipEntryName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return false;
  if (name.size() >= 2 && name[1] == ':') return false;  // "C:..." is a root on Windows unzippers
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

namespace {

Result<KerasArchive> ReadOpenArchive(std::unique_ptr<zip_t, ZipCloser> z, const std::string& path) {
  const zip_int64_t n = zip_get_num_entries(z.get(), 0);
  if (n > limits::kMaxZipEntries)
    return InvalidModel("{}: the archive has {} entries, more than the {} quantlens reads (a .keras "
                        "file has 3)", path, n, limits::kMaxZipEntries);
  zip_int64_t config = -1, metadata = -1, weights = -1;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(z.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    if (!name) return InvalidModel("{}: archive entry {} has no name", path, i);
    const std::string_view sv(name);
    // Refuse the whole archive: an entry escaping its folder marks a crafted file.
    if (!IsSafeZipEntryName(sv))
      return InvalidModel("{}: archive entry '{}' would unpack outside its folder (refused)", path, sv);
    if (sv == "config.json") config = i;
    else if (sv == "metadata.json") metadata = i;
    else if (sv == "model.weights.h5") weights = i;
  }
  if (config < 0) return InvalidModel("{}: .keras archive has no config.json", path);
  KerasArchive out;
  QL_ASSIGN_OR_RETURN(auto cfg, ReadEntry(z.get(), config, path + ":config.json", kMaxJsonBytes));
  out.config_json.assign(cfg.begin(), cfg.end());
  if (metadata >= 0) {
    QL_ASSIGN_OR_RETURN(auto md, ReadEntry(z.get(), metadata, path + ":metadata.json", kMaxJsonBytes));
    out.metadata_json.assign(md.begin(), md.end());
  }
  if (weights >= 0) {
    QL_ASSIGN_OR_RETURN(out.weights_h5,
                        ReadEntry(z.get(), weights, path + ":model.weights.h5", kMaxWeightsBytes));
  }
  return out;
}

std::string ZipErrorText(int err) {
  zip_error_t ze;
  zip_error_init_with_code(&ze, err);
  std::string msg = zip_error_strerror(&ze);
  zip_error_fini(&ze);
  return msg;
}

}  // namespace

Result<KerasArchive> ReadKerasArchive(const std::string& path) {
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) return InvalidModel("{}: not a readable .keras (zip) archive: {}", path, ZipErrorText(err));
  return ReadOpenArchive(std::move(z), path);
}

Result<KerasArchive> ReadKerasArchiveFromBuffer(std::span<const uint8_t> bytes, const std::string& name) {
  zip_error_t ze;
  zip_error_init(&ze);
  // libzip reads the caller's bytes in place (freep = 0): they must outlive the archive, which
  // ends in this function.
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &ze);
  if (!src) {
    zip_error_fini(&ze);
    return Internal("{}: cannot set up a zip source in memory", name);
  }
  zip_t* raw = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
  if (!raw) {
    zip_source_free(src);
    std::string msg = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return InvalidModel("{}: not a readable .keras (zip) archive: {}", name, msg);
  }
  zip_error_fini(&ze);
  return ReadOpenArchive(std::unique_ptr<zip_t, ZipCloser>(raw), name);
}

}  // namespace ql::keras
