#include "quantlens/cli/common.h"

#include <charconv>
#include <cstring>
#include <fstream>

#include "quantlens/util/printable.h"

namespace ql::cli {

int Fail(const std::string& message) {
  std::string line = message;
  for (size_t p = line.find('\n'); p != std::string::npos; p = line.find('\n', p)) {
    line.replace(p, 1, "; ");
  }
  // Messages quote names from the user's files: escape anything a terminal would act on.
  line = Printable(line, 16384);
  std::fprintf(stderr, "quantlens: %s\n", line.c_str());
  std::fflush(stderr);
  return kExitError;
}

bool LooksLikeKerasModel(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[8] = {};
  f.read(head, sizeof(head));
  const auto got = f.gcount();
  if (got >= 8 && std::memcmp(head + 4, "TFL3", 4) == 0) return false;
  if (got >= 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return true;
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return true;
  auto ends_with = [&](const char* ext) {
    size_t n = std::strlen(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  return ends_with(".h5") || ends_with(".keras") || ends_with(".hdf5");
}

Result<std::pair<int, int>> ParseResize(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  auto parse = [](std::string_view s, int* v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && p == s.data() + s.size() && *v > 0 && *v <= 65536;
  };
  int h = 0, w = 0;
  if (x == std::string::npos || !parse(std::string_view(text).substr(0, x), &h) ||
      !parse(std::string_view(text).substr(x + 1), &w)) {
    return InvalidArgument("--resize '{}': expected HxW with positive sizes, e.g. 224x224", text);
  }
  return std::make_pair(h, w);
}

}  // namespace ql::cli
