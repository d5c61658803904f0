// .npy cases: header, dtype, shape and data-size malformations.
#include "common.h"

namespace make_malformed {

// .npy

// A .npy file: magic, version, header length, `dict` padded with spaces and '\n' to 64 bytes.
Bytes Npy(const std::string& dict, const Bytes& data, int major, int minor) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  const size_t total = ((prefix + header.size() + 1 + 63) / 64) * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  Bytes b = B("\x93NUMPY");
  Put8(b, static_cast<uint8_t>(major));
  Put8(b, static_cast<uint8_t>(minor));
  if (major == 1) Put16(b, static_cast<uint16_t>(header.size()));
  else Put32(b, static_cast<uint32_t>(header.size()));
  Append(b, B(header));
  Append(b, data);
  return b;
}

std::string NpyDict(const std::string& descr, const std::string& shape, const std::string& order) {
  return fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr, order, shape);
}

Bytes FcInputNpy() { return Npy(NpyDict("<f4", "(1, 4)"), kFcInputData); }


std::vector<DataCase> NpyCases() {
  std::vector<DataCase> c;
  const Bytes good = FcInputNpy();
  auto with_dict = [&](const std::string& dict, const Bytes& data = kFcInputData) { return Npy(dict, data); };
  c.push_back({"magic_only", B("\x93NUMPY"), "truncated"});
  c.push_back({"magic_and_version_only", B("\x93NUMPY\x01\x00"), "truncated"});
  c.push_back({"version_0_0", [&] { Bytes b = good; b[6] = 0; return b; }(), "format version 0.0 is not supported"});
  c.push_back({"version_4_0", [&] { Bytes b = good; b[6] = 4; return b; }(), "format version 4.0 is not supported"});
  c.push_back({"version_255_7", [&] { Bytes b = good; b[6] = 255; b[7] = 7; return b; }(), "format version 255.7"});
  c.push_back({"header_length_past_end", [&] { Bytes b = good; Set16(b, 8, 0xffff); return b; }(),
               "header length 65535 runs past the end"});
  c.push_back({"header_length_one_past_end", [&] {
                 Bytes b = Head(good, 10 + 118);
                 Set16(b, 8, 119);
                 return b;
               }(), "header length 119 runs past the end of the 128-byte file"});
  c.push_back({"v2_header_length_4GiB", [&] {
                 Bytes b = Npy(NpyDict("<f4", "(1, 4)"), kFcInputData, 2);
                 Set32(b, 8, 0xffffffffu);
                 return b;
               }(), "header length 4294967295 exceeds the 1048576-byte limit"});
  c.push_back({"v2_truncated_preamble", B("\x93NUMPY\x02\x00\x40\x00"), "truncated"});
  c.push_back({"v3_header_length_past_end", [&] {
                 Bytes b = Npy(NpyDict("<f4", "(1, 4)"), kFcInputData, 3);
                 Set32(b, 8, 5000);
                 return b;
               }(), "header length 5000 runs past the end"});
  c.push_back({"header_length_zero", [&] { Bytes b = good; Set16(b, 8, 0); return b; }(), "does not start with '{'"});
  c.push_back({"header_is_a_list", with_dict("['<f4', False, (1, 4)]"), "does not start with '{'"});
  c.push_back({"header_unterminated_dict", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4)"),
               "expected ',' or '}'"});
  c.push_back({"header_unquoted_key", with_dict("{descr: '<f4', 'fortran_order': False, 'shape': (1, 4), }"),
               "expected a quoted key"});
  c.push_back({"header_missing_colon", with_dict("{'descr' '<f4', 'fortran_order': False, 'shape': (1, 4), }"),
               "expected ':' after key 'descr'"});
  c.push_back({"header_missing_comma", with_dict("{'descr': '<f4' 'fortran_order': False, 'shape': (1, 4), }"),
               "expected ',' or '}'"});
  c.push_back({"header_unterminated_string", with_dict("{'descr': '<f4, 'fortran_order': False, 'shape': (1, 4), }"),
               "expected ',' or '}' in header dictionary"});
  c.push_back({"header_missing_shape", with_dict("{'descr': '<f4', 'fortran_order': False, }"),
               "lacks one of 'descr', 'fortran_order', 'shape'"});
  c.push_back({"header_missing_descr", with_dict("{'fortran_order': False, 'shape': (1, 4), }"),
               "lacks one of 'descr', 'fortran_order', 'shape'"});
  c.push_back({"header_unknown_key", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), 'x': 1, }"),
               "unknown key 'x'"});
  c.push_back({"structured_dtype", with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 4), }"),
               "'descr' is not a string"});
  c.push_back({"descr_is_a_dict", with_dict("{'descr': {'a': 1}, 'fortran_order': False, 'shape': (1, 4), }"),
               "'descr' is not a string"});
  c.push_back({"dtype_complex64", with_dict(NpyDict("<c8", "(1, 4)"), Bytes(32, 0)), "dtype '<c8' is not supported"});
  c.push_back({"dtype_unicode", with_dict(NpyDict("<U4", "(1, 4)"), Bytes(64, 0)), "dtype '<U4' is not supported"});
  c.push_back({"dtype_object", with_dict(NpyDict("|O", "(1, 4)"), Bytes(32, 0)), "'descr' '|O' is too short"});
  c.push_back({"dtype_without_byte_order", with_dict(NpyDict("f4", "(1, 4)")), "'descr' 'f4' is too short"});
  c.push_back({"dtype_float128", with_dict(NpyDict("<f16", "(1, 4)"), Bytes(64, 0)), "dtype '<f16' is not supported"});
  c.push_back({"dtype_big_endian_float", with_dict(NpyDict(">f4", "(1, 4)")), "big-endian"});
  c.push_back({"dtype_empty_string", with_dict(NpyDict("", "(1, 4)")), "is too short"});
  c.push_back({"fortran_order_2d", with_dict(NpyDict("<f4", "(2, 2)", "True")), "Fortran order"});
  c.push_back({"fortran_order_not_bool", with_dict(NpyDict("<f4", "(1, 4)", "'maybe'")),
               "'fortran_order' is not True or False"});
  c.push_back({"shape_is_a_list", with_dict(NpyDict("<f4", "[1, 4]")), "'shape' is not a tuple"});
  c.push_back({"shape_negative_dim", with_dict(NpyDict("<f4", "(-1, 4)")), "other than a non-negative integer"});
  c.push_back({"shape_float_dim", with_dict(NpyDict("<f4", "(1.5, 4)")), "expected ',' or ')'"});
  c.push_back({"shape_unterminated_tuple", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4"),
               "expected ',' or ')' in 'shape'"});
  c.push_back({"shape_dim_overflows_int64", with_dict(NpyDict("<f4", "(99999999999999999999, 4)")),
               "dimension overflows int64"});
  c.push_back({"shape_product_overflows", with_dict(NpyDict("<f4", "(4294967296, 4294967296, 4)")),
               "elements"});
  c.push_back({"shape_rank_40", with_dict(NpyDict("<f4", "(" + [] {
                 std::string s;
                 for (int i = 0; i < 40; ++i) s += "1, ";
                 return s;
               }() + ")")), "rank above 32"});
  c.push_back({"data_shorter_than_shape", with_dict(NpyDict("<f4", "(1, 4)"), Head(kFcInputData, 8)),
               "needs 4*4 data bytes but the file has 8"});
  c.push_back({"data_longer_than_shape", with_dict(NpyDict("<f4", "(1, 4)"), Floats(std::vector<float>(5, 1.0f))),
               "needs 4*4 data bytes but the file has 20"});
  c.push_back({"no_data_at_all", with_dict(NpyDict("<f4", "(1, 4)"), {}), "needs 4*4 data bytes but the file has 0"});
  c.push_back({"float64_odd_byte_count", with_dict(NpyDict("<f8", "(1, 4)"), Bytes(31, 0)),
               "needs 4*8 data bytes but the file has 31"});
  c.push_back({"huge_shape_tiny_data", with_dict(NpyDict("<f4", "(1000000, 1000000)"), kFcInputData),
               "needs 1000000000000*4 data bytes but the file has 16"});
  return c;
}

void NpyCasesTo(CaseSet& set) {
  for (const auto& c : NpyCases()) set.Add("npy", c.what, "npy", c.bytes, kRunFc, c.expect, c.pending);
  // Content that parses but does not fit the model.
  set.Add("npy", "shape_does_not_fit_model", "npy", Npy(NpyDict("<f4", "(1, 5)"), Floats({1, 2, 3, 4, 5})), kRunFc,
          "data of shape [1,5] does not fit input 0 'input' of shape [1,4]");
  set.Add("npy", "zero_batch", "npy", Npy(NpyDict("<f4", "(0, 4)"), {}), kRunFc, "data of shape [0,4] does not fit");
  set.Add("npy", "scalar_for_vector_input", "npy", Npy(NpyDict("<f4", "()"), Floats({1})), kRunFc,
          "data of shape [] does not fit");
  {
    Bytes data;
    for (int v : {300, 1, 2, 3}) Put16(data, static_cast<uint16_t>(v));
    set.Add("npy", "int16_values_outside_int8_input", "npy", Npy(NpyDict("<i2", "(1, 4)"), data), kRunQfc,
            "element 0 = 300 does not fit");
  }
  set.Add("npy", "bad_magic", "npy", [] { Bytes b = FcInputNpy(); b[5] = 'Z'; return b; }(), kRunFc,
          "not a .npy, .npz or image");
  set.Add("npy", "empty_file", "npy", {}, kRunFc, "not a .npy, .npz or image");
  set.Add("npy", "truncated_magic", "npy", B("\x93NUM"), kRunFc, "not a .npy, .npz or image");
}

}  // namespace make_malformed
