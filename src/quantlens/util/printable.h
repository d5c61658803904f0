// Text from files (tensor and layer names, custom op codes, descriptions, labels) reaches the
// user's terminal. A crafted name must not move the cursor, recolour the screen or hide text, so
// everything quantlens prints from a file goes through Printable().
#pragma once

#include <string>
#include <string_view>

namespace ql {

// Returns `text` with everything a terminal could act on made visible: C0 controls (newline
// included) and DEL as \n, \t, \r or \xNN; bytes that are not valid UTF-8 as \xNN; C1 controls
// (U+0080..U+009F) and the bidirectional overrides and isolates (U+202A..U+202E,
// U+2066..U+2069) as \u{NNNN}; a backslash as \\ so the escapes cannot be forged. Valid printable
// UTF-8 passes unchanged. `max_bytes` caps the input looked at (the rest becomes "...").
std::string Printable(std::string_view text, size_t max_bytes = 4096);

}  // namespace ql
