// Shared pieces of the quantlens command line: exit codes and the one-line error convention.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include "quantlens/util/status.h"

namespace ql::cli {

inline constexpr int kExitOk = 0;
// Every failure (bad model, bad input, unsupported op, usage error) exits with 2, so scripts can
// tell "quantlens refused" from a crash (signals) without parsing messages.
inline constexpr int kExitError = 2;

// Prints "quantlens: <message>" as one line on stderr (newlines in the message become "; ") and
// returns kExitError.
int Fail(const std::string& message);
inline int Fail(const Status& status) { return Fail(status.message()); }

// True when the file starts with the HDF5 signature or a zip header (.h5 / .keras Keras models),
// or, failing that, has a Keras extension.
bool LooksLikeKerasModel(const std::string& path);

// --resize "224x224" -> (224, 224); error names the flag's expected form.
Result<std::pair<int, int>> ParseResize(const std::string& text);

}  // namespace ql::cli
