// Runs the built quantlens executable (QUANTLENS_CLI_PATH) and checks the CLI's conventions.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ql::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / fmt::format("ql_test_{}_{}", ::getpid(), n_++)) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  static inline int n_ = 0;
};

struct CliRun {
  int status = -1;
  std::string out, err;
};

// Runs `quantlens <args>` through the shell, capturing stdout and stderr separately.
inline CliRun Quantlens(const std::string& args) {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path();
  const std::string out_path = (dir / fmt::format("ql_cli_{}_{}.out", ::getpid(), counter)).string();
  const std::string err_path = (dir / fmt::format("ql_cli_{}_{}.err", ::getpid(), counter++)).string();
  const std::string cmd = fmt::format("'{}' {} >'{}' 2>'{}'", QUANTLENS_CLI_PATH, args, out_path, err_path);
  CliRun r;
  int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return r;
}

// Exit status 2 and exactly one "quantlens: ..." line on stderr.
inline void ExpectOneLineError(const CliRun& r, const std::string& must_contain = "") {
  EXPECT_EQ(r.status, 2) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("quantlens: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.back(), '\n');
  if (!must_contain.empty()) { EXPECT_NE(r.err.find(must_contain), std::string::npos) << r.err; }
}

}  // namespace ql::testing
