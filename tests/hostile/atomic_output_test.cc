// Killing quantlens while it writes an output must never leave a partial file under the requested
// name: outputs go to a temporary file in the same folder and are renamed over the target only
// when complete. The test starts `quantlens run --output`, waits until the temporary file exists,
// kills the process with SIGKILL at several delays, and checks the target after each kill.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "quantlens/io/npz.h"
#include "testing/cli_runner.h"
#include "testing/tflite_builder.h"

extern char** environ;

namespace ql {
namespace {

using namespace ::ql::testing;  // NOLINT: builder spec types
namespace fs = std::filesystem;
namespace tfl = ::tflite;

// float [1,1] -> TILE(multiples [1, 50,000,000]) -> float [1, 50,000,000]: a 200 MB output from a
// 4-byte input, so writing the .npz takes long enough to be interrupted.
constexpr int32_t kTile = 50'000'000;

void WriteBytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes TileModel() {
  ModelSpec m;
  Bytes multiples(8);
  const int32_t mult[2] = {1, kTile};
  std::memcpy(multiples.data(), mult, 8);
  m.buffers = {{}, multiples};
  m.tensors = {{"input", std::vector<int32_t>{1, 1}, tfl::TensorType::FLOAT32, 0, {}},
               {"multiples", std::vector<int32_t>{2}, tfl::TensorType::INT32, 1, {}},
               {"output", std::vector<int32_t>{1, kTile}, tfl::TensorType::FLOAT32, 0, {}}};
  m.opcodes = {OpcodeSpec{69, 69, ""}};  // TILE
  m.op_inputs = {0, 1};
  m.op_outputs = {2};
  m.graph_inputs = {0};
  m.graph_outputs = {2};
  return Build(m);
}

// A float32 [1,1] .npy holding 0.5.
Bytes OneFloatNpy() {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }";
  header.resize(128 - 10 - 1, ' ');
  header += '\n';
  std::string text("\x93NUMPY\x01\x00", 8);
  text += static_cast<char>(header.size());
  text += '\0';
  text += header;
  const float v = 0.5f;
  text.append(reinterpret_cast<const char*>(&v), sizeof(v));
  return Bytes(text.begin(), text.end());
}

bool TempFileExists(const fs::path& dir, const std::string& target_name) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(target_name + ".tmp-", 0) == 0) return true;
  return false;
}

// Starts quantlens, waits for its temporary output (at most 60 s), waits `delay` more, kills it.
// Returns true when the process was killed while still running.
bool KillWhileWriting(const std::vector<std::string>& args, const fs::path& dir,
                      const std::string& target_name, std::chrono::milliseconds delay) {
  std::vector<char*> argv;
  std::string exe = QUANTLENS_CLI_PATH;
  argv.push_back(exe.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0);
  if (rc != 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool exited = false;
  while (!TempFileExists(dir, target_name) && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (!exited) {
    std::this_thread::sleep_for(delay);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(AtomicOutput, KilledRunNeverLeavesAPartialOutput) {
  TempDir tmp;
  const fs::path dir = tmp.File("");
  const std::string model = tmp.File("tile.tflite");
  const std::string input = tmp.File("x.npy");
  WriteBytes(model, TileModel());
  WriteBytes(input, OneFloatNpy());
  const std::string target = tmp.File("out.npz");
  const std::vector<std::string> args = {"run", model, "--input", input, "--output", target};

  int killed_mid_write = 0;
  for (int delay_ms : {0, 5, 30, 100, 300}) {
    SCOPED_TRACE(delay_ms);
    if (KillWhileWriting(args, dir, "out.npz", std::chrono::milliseconds(delay_ms)))
      ++killed_mid_write;
    // Either the write finished (complete file) or nothing is under the requested name.
    if (fs::exists(target)) {
      auto npz = io::ReadNpz(target);
      ASSERT_TRUE(npz.ok()) << "partial output left under the requested name: " << npz.status().message();
      fs::remove(target);
    }
  }
  EXPECT_GE(killed_mid_write, 1) << "no kill landed while the output was being written";

  // An existing file under the requested name keeps its old contents until the new one is whole.
  const Bytes old_contents = {'o', 'l', 'd'};
  WriteBytes(target, old_contents);
  for (int delay_ms : {0, 20, 100}) {
    SCOPED_TRACE(delay_ms);
    if (!KillWhileWriting(args, dir, "out.npz", std::chrono::milliseconds(delay_ms))) continue;
    std::ifstream f(target, std::ios::binary);
    const Bytes now((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(now, old_contents) << "the existing output was replaced by an incomplete one";
  }

  // Left alone, the same command completes and the output reads back.
  CliRun done = Quantlens("run '" + model + "' --input '" + input + "' --output '" + target + "'");
  ASSERT_EQ(done.status, 0) << done.err;
  auto npz = io::ReadNpz(target);
  ASSERT_TRUE(npz.ok()) << npz.status().message();
  ASSERT_EQ(npz->size(), 1u);
  EXPECT_EQ((*npz)[0].array.num_elements(), kTile);
}

}  // namespace
}  // namespace ql
