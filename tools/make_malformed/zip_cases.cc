// The zip writer (for .npz and .keras) and the .npz cases.
#include "common.h"

namespace make_malformed {

// Zip (for .npz and .keras): a writer that can lie in every header field.



Bytes MakeZip(const std::vector<ZipMember>& members, const ZipLayout& lay) {
  Bytes out, central;
  constexpr uint16_t kDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, 00:00
  for (const ZipMember& m : members) {
    const Bytes stored = m.payload ? *m.payload : (m.deflate ? Deflate(m.data) : m.data);
    const uint16_t method = m.method.value_or(m.deflate ? 8 : 0);
    const uint32_t crc = m.crc.value_or(Crc32(m.data));
    const bool z64 = m.zip64_usize.has_value();
    const uint32_t usize = z64 ? 0xffffffffu : m.usize.value_or(static_cast<uint32_t>(m.data.size()));
    const uint32_t csize = z64 ? 0xffffffffu : m.csize.value_or(static_cast<uint32_t>(stored.size()));
    Bytes extra;
    if (z64) {
      Put16(extra, 1);
      Put16(extra, 16);
      Put64(extra, *m.zip64_usize);
      Put64(extra, stored.size());
    }
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const std::string lname = m.local_name.value_or(m.name);
    Put32(out, 0x04034b50);
    Put16(out, z64 ? 45 : 20);
    Put16(out, m.flags);
    Put16(out, method);
    Put16(out, 0);
    Put16(out, kDate);
    Put32(out, crc);
    Put32(out, csize);
    Put32(out, usize);
    Put16(out, static_cast<uint16_t>(lname.size()));
    Put16(out, static_cast<uint16_t>(extra.size()));
    Append(out, B(lname));
    Append(out, extra);
    Append(out, stored);

    Put32(central, 0x02014b50);
    Put16(central, z64 ? 45 : 20);
    Put16(central, z64 ? 45 : 20);
    Put16(central, m.flags);
    Put16(central, method);
    Put16(central, 0);
    Put16(central, kDate);
    Put32(central, crc);
    Put32(central, csize);
    Put32(central, usize);
    Put16(central, static_cast<uint16_t>(m.name.size()));
    Put16(central, static_cast<uint16_t>(extra.size()));
    Put16(central, 0);  // comment
    Put16(central, 0);  // disk
    Put16(central, 0);  // internal attributes
    Put32(central, 0);  // external attributes
    Put32(central, offset);
    Append(central, B(m.name));
    Append(central, extra);
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  if (lay.truncate_central) central.resize(central.size() - std::min(central.size(), lay.truncate_central));
  Append(out, central);
  Put32(out, 0x06054b50);
  Put16(out, 0);
  Put16(out, 0);
  const uint16_t n = lay.eocd_entries.value_or(static_cast<uint16_t>(members.size()));
  Put16(out, n);
  Put16(out, n);
  Put32(out, lay.cd_size.value_or(static_cast<uint32_t>(central.size() + lay.truncate_central)));
  Put32(out, static_cast<uint32_t>(cd_offset + lay.cd_offset_delta));
  Put16(out, lay.comment_len);
  return out;
}

// Cases about the zip container, for both .npz and .keras; `member` is the entry the reader needs
// (x.npy or config.json) with valid content. {what, bytes, expected substring}.
std::vector<DataCase> ZipContainerCases(const std::string& member, const Bytes& content,
                                        const std::vector<ZipMember>& others, bool keras) {
  std::vector<DataCase> c;
  auto zip = [&](ZipMember m, const ZipLayout& lay = {}) {
    std::vector<ZipMember> all = {std::move(m)};
    all.insert(all.end(), others.begin(), others.end());
    return MakeZip(all, lay);
  };
  const ZipMember ok{member, content};
  const Bytes good = zip(ok);
  c.push_back({"zip_magic_then_garbage", [] {
                 Bytes b = B("PK\x03\x04");
                 for (int i = 0; i < 200; ++i) b.push_back(static_cast<uint8_t>(i * 37 + 11));
                 return b;
               }(), "not a readable"});
  c.push_back({"central_directory_truncated", zip(ok, {.truncate_central = 20}), "not a readable"});
  c.push_back({"central_directory_offset_past_end", zip(ok, {.cd_offset_delta = 100000}), "not a readable"});
  c.push_back({"eocd_claims_65535_entries", zip(ok, {.eocd_entries = 65535}), "not a readable"});
  c.push_back({"eocd_comment_past_end", zip(ok, {.comment_len = 500}), "not a readable"});
  c.push_back({"eocd_only_no_end_record", Head(good, good.size() - 22), "not a readable"});
  c.push_back({"bad_crc", zip([&] { ZipMember m = ok; m.crc = 0xdeadbeef; return m; }()), "CRC"});
  c.push_back({"bad_crc_deflated", zip([&] { ZipMember m = ok; m.deflate = true; m.crc = 0x12345678; return m; }()),
               "CRC"});
  c.push_back({"corrupt_deflate_stream", zip([&] {
                 ZipMember m = ok;
                 m.deflate = true;
                 Bytes d = Deflate(content);
                 for (size_t i = 0; i < d.size(); i += 3) d[i] ^= 0xa5;
                 m.payload = d;
                 return m;
               }()), "corrupt"});
  c.push_back({"member_size_overlaps_next_member", [&] {
                 ZipMember m = ok;
                 m.csize = static_cast<uint32_t>(content.size() + 5000);
                 m.usize = m.csize;
                 return zip(m);
               }(), keras ? "archive member is corrupt (CRC error)" : "not a readable"});
  c.push_back({"unsupported_compression_method", zip([&] { ZipMember m = ok; m.method = 77; return m; }()),
               "ompression method"});
  c.push_back({"encrypted_member", zip([&] { ZipMember m = ok; m.flags = 1; return m; }()), "ncrypt"});
  c.push_back({"stored_size_mismatch", zip([&] {
                 ZipMember m = ok;
                 m.usize = static_cast<uint32_t>(content.size() + 1);
                 return m;
               }()), keras ? "archive member is truncated or corrupt" : "Zip archive inconsistent"});
  c.push_back({"declared_size_1TiB_zip64", zip([&] {
                 ZipMember m = ok;
                 m.zip64_usize = uint64_t{1} << 40;
                 return m;
               }()), "1099511627776 bytes"});
  c.push_back({"deflate_bomb_declared_small", zip([&] {
                 ZipMember m = ok;
                 m.deflate = true;
                 m.payload = Deflate(Bytes(size_t{32} << 20, 0));
                 return m;
               }()), keras ? "more data than its declared size" : "CRC error"});
  c.push_back({"duplicate_member_names", [&] {
                 std::vector<ZipMember> all = {ok, ok};
                 all.insert(all.end(), others.begin(), others.end());
                 return MakeZip(all);
               }(), "not a readable"});
  c.push_back({"local_header_name_differs", zip([&] { ZipMember m = ok; m.local_name = "other.bin"; return m; }()),
               "not a readable"});
  return c;
}

void NpzCasesTo(CaseSet& set) {
  const Bytes x = FcInputNpy();
  for (auto& c : ZipContainerCases("x.npy", x, {}, false)) set.Add("npz", c.what, "npz", c.bytes, kRunFc, c.expect, c.pending);
  set.Add("npz", "empty_archive", "npz", MakeZip({}), kRunFc, "no array 'x' in archive (it holds: nothing)");
  set.Add("npz", "missing_array_x", "npz", MakeZip({{"y.npy", x}, {"z.npy", x}}), kRunFc,
          "no array 'x' in archive (it holds: y, z)");
  set.Add("npz", "x_is_a_directory", "npz", MakeZip({{"x.npy/", {}}, {"y.npy", x}}), kRunFc, "no array 'x'");
  set.Add("npz", "x_member_empty", "npz", MakeZip({{"x.npy", {}}}), kRunFc, "member 'x.npy'");
  set.Add("npz", "x_member_not_npy", "npz", MakeZip({{"x.npy", B("just some text, not an array")}}), kRunFc,
          "member 'x.npy': not a .npy file");
  set.Add("npz", "x_shape_does_not_fit", "npz",
          MakeZip({{"x.npy", Npy(NpyDict("<f4", "(2, 3)"), Bytes(24, 0))}}), kRunFc,
          "data of shape [2,3] does not fit");
  // Nested corruption: each .npy header error inside the archive.
  for (auto& c : NpyCases()) {
    if (c.what.find("magic") != std::string::npos) continue;
    set.Add("npz", "nested_" + c.what, "npz", MakeZip({{"x.npy", c.bytes}}), kRunFc, c.expect, c.pending);
  }
  set.Add("npz", "nested_deflated_bad_header", "npz",
          MakeZip({{"x.npy", Npy("{'descr': '<f4' 'fortran_order': False, 'shape': (1, 4), }", kFcInputData), true}}),
          kRunFc, "member 'x.npy': bad .npy header");
  set.Add("npz", "nested_npz_in_npz", "npz", MakeZip({{"x.npy", MakeZip({{"x.npy", x}})}}), kRunFc,
          "member 'x.npy': not a .npy file");
}

}  // namespace make_malformed
