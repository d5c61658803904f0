// Whole-file reads with a size cap, and atomic writes: data goes to a fresh temporary file in the
// destination's directory (same filesystem, so rename is atomic), is flushed to disk, then renamed
// over the destination. A crash or a full disk never leaves a half-written output, and an existing
// file is replaced only by a complete new one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantlens/util/status.h"

namespace ql::io {

// Files larger than this are refused by ReadFileBytes unless the caller asks for more: protects
// against /dev/zero, FIFOs and mistaken multi-gigabyte paths.
inline constexpr uint64_t kDefaultMaxFileBytes = uint64_t{4} << 30;

// Reads all of `path`. Errors name the path: missing, unreadable, a directory, or over `max_bytes`.
Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path,
                                           uint64_t max_bytes = kDefaultMaxFileBytes);

// Writes `bytes` to `path` atomically (temporary file + fsync + rename). On failure the temporary
// file is removed and `path` is untouched.
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes);

// True when `a` and `b` name the same existing file (hard links and different spellings included).
// Used to refuse writing an output over one of the user's inputs.
bool SameExistingFile(const std::string& a, const std::string& b);

}  // namespace ql::io
