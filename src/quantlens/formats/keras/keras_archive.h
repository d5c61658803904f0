// Reads the three members of a Keras 3 `.keras` archive (a zip): config.json, metadata.json and
// model.weights.h5. Refuses archives with entry names that would unpack outside their folder, and
// members larger than quantlens will hold in memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantlens/util/status.h"

namespace ql::keras {

struct KerasArchive {
  std::string config_json;
  std::string metadata_json;          // empty if the archive has none
  std::vector<uint8_t> weights_h5;    // empty if the archive has no model.weights.h5
};

// A zip entry name is safe when it is relative, has no ".." component and no backslash or drive
// letter (which some unzip tools treat as separators or roots).
bool IsSafeZipEntryName(std::string_view name);

Result<KerasArchive> ReadKerasArchive(const std::string& path);
// The same for an archive held in memory; `name` is used in messages.
Result<KerasArchive> ReadKerasArchiveFromBuffer(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace ql::keras
