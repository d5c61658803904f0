// Status and Result<T>: how the library reports bad input without aborting or throwing through
// its public API. A message names the file, the op or layer, the value and the rule it breaks.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace ql {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's request or data is wrong
  kInvalidModel,     // the model file is malformed or violates a rule of its format
  kUnsupported,      // well-formed, but quantlens does not implement it (op, type combination)
  kNotFound,         // a file, tensor or key is missing
  kIoError,          // reading or writing failed
  kInternal,         // a quantlens bug: an invariant broke
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context ("model.tflite: op 12 (CONV_2D): ") to the message; no-op on success.
  Status WithContext(const std::string& prefix) const {
    if (ok()) return *this;
    return Status(code_, prefix + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
Status InvalidArgument(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status InvalidModel(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalidModel, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status Unsupported(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status NotFound(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status IoError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kIoError, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status Internal(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
}

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT(runtime/explicit)
  Result(Status status) : v_(std::move(status)) {}          // NOLINT(runtime/explicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ql

#define QL_CONCAT_INNER_(a, b) a##b
#define QL_CONCAT_(a, b) QL_CONCAT_INNER_(a, b)

#define QL_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::ql::Status ql_status_ = (expr);         \
    if (!ql_status_.ok()) return ql_status_;  \
  } while (0)

#define QL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// QL_ASSIGN_OR_RETURN(auto x, ComputeX()); returns the error Status if ComputeX() failed.
#define QL_ASSIGN_OR_RETURN(lhs, expr) \
  QL_ASSIGN_OR_RETURN_IMPL_(QL_CONCAT_(ql_result_, __LINE__), lhs, expr)
