// PNG data URIs for images embedded in the HTML report (the flipped samples' inputs): the report
// must open offline, so images travel inside it instead of next to it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace ql::report {

// Encodes 8-bit pixels (rows of width * channels bytes, top row first; channels 1 = grey or
// 3 = RGB) as "data:image/png;base64,...". Returns an empty string when the arguments do not
// describe an image (channels not 1 or 3, a non-positive size, pixels.size() != height * width *
// channels) or encoding fails.
std::string PngDataUri(std::span<const uint8_t> pixels, int height, int width, int channels);

// Standard base64 (RFC 4648, with '=' padding).
std::string Base64Encode(std::span<const uint8_t> bytes);

}  // namespace ql::report
