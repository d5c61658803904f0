// `quantlens inspect` for Keras models (.h5, .keras): layer table, weights and shapes. Implemented
// by the Keras reader's owner; the command line only dispatches here.
#pragma once

#include <ostream>
#include <string>

namespace ql::cli {

// Prints a description of the Keras model at `path` to `out` (JSON when `json`). Returns the
// process exit code: 0 on success; 2 after printing one "quantlens: ..." line on stderr.
int InspectKeras(const std::string& path, bool json, std::ostream& out);

}  // namespace ql::cli
