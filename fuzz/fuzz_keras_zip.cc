// Fuzz target: .keras bytes (a zip of config.json, metadata.json, model.weights.h5) ->
// ReadKerasModelInfoFromBuffer (libzip over the memory buffer, HDF5 file image) -> lowering ->
// Interpreter::Create -> one Invoke when small.
//
// Structure-aware: the custom mutator opens the zip from memory, edits config.json
// (keras_mutate.h) or metadata.json, sometimes renames, drops or duplicates a member, and packs a
// new zip (members stored, so later byte flips land in plain JSON too). Inputs libzip cannot open
// go to libFuzzer's byte mutator.
#include <zip.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "keras_mutate.h"
#include "quantlens/formats/keras/reader.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using ql::fuzz::PickN;
using ql::fuzz::Rng;

struct Member {
  std::string name;
  std::string data;
};

// Every member of the zip in `bytes`, or false if libzip cannot read it.
bool Unpack(const uint8_t* bytes, size_t size, std::vector<Member>& out) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t* src = zip_source_buffer_create(bytes, size, 0, &ze);
  if (!src) return false;
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &ze);
  zip_error_fini(&ze);
  if (!z) {
    zip_source_free(src);
    return false;
  }
  bool ok = true;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; ok && i < n && i < 64; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        !(st.valid & ZIP_STAT_NAME) || st.size > (uint64_t{64} << 20)) {
      ok = false;
      break;
    }
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    if (!f) {
      ok = false;
      break;
    }
    Member m;
    m.name = st.name;
    m.data.resize(static_cast<size_t>(st.size));
    size_t done = 0;
    while (done < m.data.size()) {
      const zip_int64_t got = zip_fread(f, m.data.data() + done, m.data.size() - done);
      if (got <= 0) break;
      done += static_cast<size_t>(got);
    }
    zip_fclose(f);
    if (done != m.data.size()) ok = false;
    out.push_back(std::move(m));
  }
  zip_discard(z);
  return ok;
}

// A stored (uncompressed) zip of `members`.
bool Pack(const std::vector<Member>& members, std::vector<uint8_t>& out) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &ze);
  if (!src) return false;
  zip_t* z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  zip_error_fini(&ze);
  if (!z) {
    zip_source_free(src);
    return false;
  }
  zip_source_keep(src);  // read the result after zip_close
  bool ok = true;
  for (const Member& m : members) {
    zip_source_t* ms = zip_source_buffer(z, m.data.data(), m.data.size(), 0);
    if (!ms) { ok = false; break; }
    const zip_int64_t idx = zip_file_add(z, m.name.c_str(), ms, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(ms);
      ok = false;
      break;
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  if (!ok || zip_close(z) != 0) {
    zip_discard(z);
    zip_source_free(src);
    return false;
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || zip_source_open(src) != 0) {
    zip_source_free(src);
    return false;
  }
  out.resize(static_cast<size_t>(st.size));
  const zip_int64_t got = zip_source_read(src, out.data(), out.size());
  zip_source_close(src);
  zip_source_free(src);
  return got == static_cast<zip_int64_t>(out.size());
}

size_t MutateZip(uint8_t* data, size_t size, size_t max_size, Rng& rng) {
  std::vector<Member> members;
  if (!Unpack(data, size, members) || members.empty()) return 0;
  auto find = [&](const char* name) -> Member* {
    for (auto& m : members)
      if (m.name == name) return &m;
    return nullptr;
  };
  const int what = PickN(rng, 12);
  if (what < 8) {
    Member* cfg = find("config.json");
    if (!cfg || !ql::fuzz::MutateJsonText(cfg->data, rng)) return 0;
  } else if (what == 8) {
    Member* md = find("metadata.json");
    static const char* kMeta[] = {R"({"keras_version": "3.8.0"})", R"({"keras_version": "2.15.0"})",
                                  R"({"keras_version": 3})", "{}", "[]", "not json", ""};
    if (md) md->data = kMeta[PickN(rng, 7)];
    else members.push_back({"metadata.json", kMeta[PickN(rng, 7)]});
  } else if (what == 9) {
    members.erase(members.begin() + PickN(rng, members.size()));
  } else if (what == 10) {
    static const char* kNames[] = {"config.json", "model.weights.h5", "metadata.json", "../config.json",
                                   "/abs.json", "a\\b", "C:x", "dir/", "assets/x"};
    members[PickN(rng, members.size())].name = kNames[PickN(rng, 9)];
  } else {
    members.push_back(members[PickN(rng, members.size())]);
  }
  std::vector<uint8_t> packed;
  if (!Pack(members, packed) || packed.size() > max_size || packed.empty()) return 0;
  std::memcpy(data, packed.data(), packed.size());
  return packed.size();
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng rng(seed);
  if (PickN(rng, 4) != 0 && size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0) {
    const size_t n = MutateZip(data, size, max_size, rng);
    if (n > 0) return n;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto info = ql::keras::ReadKerasModelInfoFromBuffer(std::span<const uint8_t>(data, size), "fuzz.keras");
  if (!info.ok()) return 0;
  ql::fuzz::RunGraph(info->graph);
  return 0;
}
