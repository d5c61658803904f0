// The malformed-file set (written into the build tree by tools/make_malformed/ before this test
// is built, cmake/malformed.cmake) through the command line, one test per file: exit status 2,
// exactly one line "quantlens: <file>: ..." that contains the rule the file breaks, and nothing
// from a sanitizer (CI runs this file in the AddressSanitizer/UBSan build too). The valid files
// the cases start from must run cleanly, and the generator must write the same bytes every time.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace {

namespace fs = std::filesystem;

const fs::path kSetDir = QUANTLENS_MALFORMED_DIR;

// g++ defines __SANITIZE_ADDRESS__; clang 14 (the libFuzzer build) only answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

struct Row {
  std::string file, command;
  int exit = 0;
  std::string expect, pending;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

// expected.tsv / baselines.tsv: file, command, exit code [, substring [, pending: why]].
std::vector<Row> ReadRows(const std::string& name) {
  std::vector<Row> rows;
  std::ifstream in(kSetDir / name);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = Split(line, '\t');
    if (f.size() < 3) continue;
    Row r{f[0], f[1], std::atoi(f[2].c_str()), f.size() > 3 ? f[3] : "", f.size() > 4 ? f[4] : ""};
    rows.push_back(r);
  }
  return rows;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct CliResult {
  int status = -1;
  std::string out, err;
};

// Runs the CLI on a row's command ({} is the row's file, models/... the set's own valid files),
// with a time limit and, outside sanitizer builds (ASan reserves terabytes of address space), a
// 4 GB memory limit, so a hang or an unbounded allocation fails the test instead of the machine.
CliResult RunRow(const Row& r) {
  std::string args;
  for (const std::string& tok : Split(r.command, ' ')) {
    if (tok == "{}") args += " " + Quote((kSetDir / r.file).string());
    else if (tok.rfind("models/", 0) == 0) args += " " + Quote((kSetDir / tok).string());
    else args += " " + tok;
  }
  static int counter = 0;
  const fs::path tmp = fs::temp_directory_path() / fmt::format("ql_malformed_{}_{}", ::getpid(), counter++);
  const std::string out = tmp.string() + ".out", err = tmp.string() + ".err";
  const std::string cmd = fmt::format("{}exec timeout -k 5 120 {}{} >{} 2>{}",
                                      kSanitized ? "" : "ulimit -v 4000000; ", Quote(QUANTLENS_CLI_PATH),
                                      args, Quote(out), Quote(err));
  CliResult run;
  const int raw = std::system(cmd.c_str());
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  run.out = Slurp(out);
  run.err = Slurp(err);
  fs::remove(out);
  fs::remove(err);
  return run;
}

void ExpectNoSanitizerReport(const CliResult& run) {
  for (const char* mark : {"Sanitizer", "runtime error:", "LeakSanitizer", "==ERROR"})
    EXPECT_EQ(run.err.find(mark), std::string::npos) << run.err;
}

std::string TestName(const std::string& file) {
  std::string n = file;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

class MalformedFile : public ::testing::TestWithParam<Row> {};

TEST_P(MalformedFile, OneClearError) {
  const Row& r = GetParam();
  if (!r.pending.empty()) GTEST_SKIP() << r.file << " " << r.pending;
  ASSERT_TRUE(fs::exists(kSetDir / r.file)) << r.file;
  const CliResult run = RunRow(r);
  SCOPED_TRACE(r.command + " on " + r.file);
  EXPECT_NE(run.status, 124) << "timed out";
  EXPECT_EQ(run.status, r.exit) << run.err;
  ExpectNoSanitizerReport(run);
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.rfind("quantlens: ", 0), 0u) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_EQ(run.err.back(), '\n') << run.err;
  EXPECT_NE(run.err.find(r.expect), std::string::npos) << "expected '" << r.expect << "' in: " << run.err;
  EXPECT_NE(run.err.find(fs::path(r.file).filename().string()), std::string::npos)
      << "the error does not name the file: " << run.err;
}

INSTANTIATE_TEST_SUITE_P(Set, MalformedFile, ::testing::ValuesIn(ReadRows("expected.tsv")),
                         [](const ::testing::TestParamInfo<Row>& i) { return TestName(i.param.file); });

// The valid models and inputs the cases start from: each runs, so the one change in a case is
// what its error is about.
class BaselineFile : public ::testing::TestWithParam<Row> {};

TEST_P(BaselineFile, Runs) {
  const Row& r = GetParam();
  const CliResult run = RunRow(r);
  SCOPED_TRACE(r.command + " on " + r.file);
  EXPECT_EQ(run.status, 0) << run.err;
  ExpectNoSanitizerReport(run);
}

INSTANTIATE_TEST_SUITE_P(Set, BaselineFile, ::testing::ValuesIn(ReadRows("baselines.tsv")),
                         [](const ::testing::TestParamInfo<Row>& i) { return TestName(i.param.file); });

TEST(MalformedSet, AtLeastFiftyFilesPerFormatAndSmall) {
  std::map<std::string, int> per_format;
  for (const Row& r : ReadRows("expected.tsv")) {
    ++per_format[r.file.substr(0, r.file.find('/'))];
    EXPECT_EQ(r.exit, 2) << r.file;
    EXPECT_FALSE(r.expect.empty()) << r.file;
  }
  for (const char* f : {"tflite", "h5", "keras", "npy", "npz", "image"})
    EXPECT_GE(per_format[f], 50) << f;
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(kSetDir))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_LT(bytes, uintmax_t{2} << 20);
}

// Regenerating into a fresh folder gives exactly the build's set, byte for byte: the generator is
// deterministic, so every run tests the same files.
TEST(MalformedSet, GeneratorIsDeterministic) {
  const fs::path out = fs::temp_directory_path() / fmt::format("ql_malformed_regen_{}", ::getpid());
  fs::remove_all(out);
  const std::string cmd = fmt::format("{} {} >/dev/null", Quote(QUANTLENS_MAKE_MALFORMED_PATH), Quote(out.string()));
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto listing = [](const fs::path& root) {
    std::map<std::string, fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file()) files[fs::relative(e.path(), root).string()] = e.path();
    return files;
  };
  const auto want = listing(out), have = listing(kSetDir);
  for (const auto& [rel, path] : want) {
    auto it = have.find(rel);
    if (it == have.end()) {
      ADD_FAILURE() << rel << " is generated now but was not in the build's set";
      continue;
    }
    EXPECT_TRUE(Slurp(path) == Slurp(it->second)) << rel << " differs between two runs of the generator";
  }
  for (const auto& [rel, path] : have)
    EXPECT_TRUE(want.count(rel)) << rel << " was in the build's set but the generator no longer writes it";
  fs::remove_all(out);
}

}  // namespace
