// NumPy .npz archives: a zip of .npy members ("x.npy" holds array "x"), stored or DEFLATE
// compressed (np.savez / np.savez_compressed). Reading goes through libzip; writing builds the
// archive in memory and writes it atomically, so an interrupted run never leaves a broken file.
#pragma once

#include <string>
#include <vector>

#include "quantlens/io/array.h"
#include "quantlens/util/status.h"

namespace ql::io {

// Reads every member. Members whose dtype quantlens does not hold (unicode '<U' strings such as
// cifar10's `source_path`, objects) are skipped and their names appended to `skipped` when it is
// non-null; any other bad member is an error naming the archive and the member.
Result<std::vector<NamedArray>> ReadNpz(const std::string& path,
                                        std::vector<std::string>* skipped = nullptr);
// Reads one member by array name ("x", not "x.npy"). kNotFound lists the names present.
Result<Array> ReadNpzMember(const std::string& path, const std::string& name);
// Array names in archive order.
Result<std::vector<std::string>> ListNpz(const std::string& path);

enum class NpzCompression { kStored, kDeflate };

// Writes `arrays` as `<name>.npy` members. Names must be unique and non-empty.
Status WriteNpz(const std::string& path, const std::vector<NamedArray>& arrays,
                NpzCompression compression = NpzCompression::kDeflate);

}  // namespace ql::io
