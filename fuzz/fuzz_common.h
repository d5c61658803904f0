// Shared helpers of the libFuzzer targets: running a graph within per-exec budgets, deterministic
// input data, and a memory-backed file for the readers that only take paths.
//
// Every Status error is an expected outcome of a fuzz input; only crashes, sanitizer reports,
// leaks, timeouts and OOM are findings.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::fuzz {

// Budgets that keep one exec well under libFuzzer's -timeout: bigger models are prepared (the
// planner and every kernel's Prepare run) but not invoked.
inline constexpr size_t kMaxInvokeArenaBytes = size_t{64} << 20;
inline constexpr size_t kMaxInvokeOps = 400;
inline constexpr int64_t kMaxInvokeElements = int64_t{16} << 20;  // per tensor, all tensors
inline constexpr int64_t kMaxDeclaredElements = int64_t{64} << 20;  // per declared tensor shape

// Deterministic, finite values for one input: small floats for float tensors, a byte pattern for
// integer ones, 0/1 for bool.
inline std::vector<uint8_t> DeterministicInput(ir::DType dtype, size_t bytes, int salt) {
  std::vector<uint8_t> out(bytes);
  const size_t elem = ir::DTypeSize(dtype);
  if (elem == 0) return out;
  const size_t n = bytes / elem;
  for (size_t i = 0; i < n; ++i) {
    const int k = static_cast<int>((i * 37 + static_cast<size_t>(salt) * 11) % 101);
    uint8_t* p = out.data() + i * elem;
    switch (dtype) {
      case ir::DType::kFloat32: {
        const float v = static_cast<float>(k - 50) / 25.0f;
        std::memcpy(p, &v, sizeof(v));
        break;
      }
      case ir::DType::kFloat64: {
        const double v = static_cast<double>(k - 50) / 25.0;
        std::memcpy(p, &v, sizeof(v));
        break;
      }
      case ir::DType::kFloat16: {
        // k/64 in [0, 1.6): exponent and mantissa built by hand (no float16 type in C++20).
        const uint16_t h = k == 0 ? 0 : static_cast<uint16_t>(0x3000 | (k << 3));
        std::memcpy(p, &h, sizeof(h));
        break;
      }
      case ir::DType::kBool: *p = static_cast<uint8_t>(k & 1); break;
      default:
        for (size_t b = 0; b < elem; ++b) p[b] = static_cast<uint8_t>((k * 7 + b * 13) & 0xff);
        // Keep multi-byte integers small (indices, shapes): only the low byte varies.
        if (elem > 1) {
          p[0] = static_cast<uint8_t>(k % 7);
          for (size_t b = 1; b < elem; ++b) p[b] = 0;
        }
        break;
    }
  }
  return out;
}

inline constexpr int64_t kMaxInvokeWork = int64_t{4} << 20;  // see EstimatedWork

// True when no tensor of the prepared graph is bigger than the per-exec budget.
inline bool TensorsSmall(const rt::Interpreter& interp, const ir::Graph& g) {
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const int64_t n = ir::ShapeProduct(interp.tensor_shape(static_cast<int>(t)));
    if (n < 0 || n > kMaxInvokeElements) return false;
  }
  return true;
}

// A rough upper bound of one Invoke's inner-loop iterations: per op, the elements it reads and
// writes, and for ops with a constant operand of rank >= 2 (weights) the output size times the
// weights per output row. Instrumented builds run ~10x slower than release, so real models (a
// MobileNet is ~300M MACs) are prepared but not invoked; their mutants that shrink are.
inline int64_t EstimatedWork(const rt::Interpreter& interp, const ir::Graph& g) {
  auto elems = [&](int t) -> int64_t {
    if (t < 0 || t >= static_cast<int>(g.tensors.size())) return 0;
    const int64_t n = ir::ShapeProduct(interp.tensor_shape(t));
    return n < 0 ? kMaxInvokeWork : n;
  };
  int64_t work = 0;
  for (const ir::Op& op : g.ops) {
    int64_t out = 0, per_row = 1;
    for (int t : op.outputs) out += elems(t);
    for (int t : op.inputs) {
      work += elems(t);
      if (t >= 0 && t < static_cast<int>(g.tensors.size()) && g.tensors[t].is_constant) {
        const ir::Shape& s = interp.tensor_shape(t);
        if (s.size() >= 2 && s[0] > 0) per_row = std::max<int64_t>(per_row, elems(t) / s[0]);
        if (s.size() >= 2 && s[0] == 1) per_row = std::max<int64_t>(per_row, elems(t));
      }
    }
    work += out * std::min<int64_t>(per_row, kMaxInvokeWork);
    if (work > kMaxInvokeWork) return work;
  }
  return work;
}

// Prepares `graph` and, when it is small, feeds every input deterministic data and invokes once
// per profile asked for. Errors are ignored: they are expected results.
inline void RunGraph(const ir::Graph& graph, bool both_profiles = false) {
  // The interpreter allows tensors up to 8 GiB (arena 16 GiB) by design, and allocates variable
  // tensors and graph inputs from their declared shapes: past libFuzzer's -rss_limit_mb those are
  // reported as OOM although they are within quantlens's rules. Graphs that declare such a tensor
  // are not prepared here (docs/fuzzing.md, "Budgets").
  for (const ir::Tensor& t : graph.tensors) {
    const int64_t n = ir::ShapeProduct(t.shape);
    if (n > kMaxDeclaredElements) return;
  }
  for (int p = 0; p < (both_profiles ? 2 : 1); ++p) {
    rt::InterpreterOptions opts;
    opts.profile = p == 0 ? rt::Profile::kTfliteX86 : rt::Profile::kTfliteWasm;
    // Shapes the lowering infers (Keras) are only known at Create: keep its arena under
    // libFuzzer's malloc limit (-rss_limit_mb=2048) too.
    opts.max_arena_bytes = int64_t{1} << 30;
    auto interp = rt::Interpreter::Create(graph, opts);
    if (!interp.ok()) return;
    rt::Interpreter& in = **interp;
    if (in.arena_bytes() > kMaxInvokeArenaBytes || graph.ops.size() > kMaxInvokeOps) return;
    if (!TensorsSmall(in, graph) || EstimatedWork(in, graph) > kMaxInvokeWork) return;
    for (int i = 0; i < in.num_inputs(); ++i) {
      const rt::TensorRef& ref = in.input(i);
      const auto data = DeterministicInput(ref.dtype(), ref.bytes(), i);
      if (!in.SetInput(i, data.data(), data.size()).ok()) return;
    }
    if (!in.Invoke().ok()) return;
    // Read every output once, so uninitialised or out-of-bounds output bindings show up.
    volatile uint8_t sink = 0;
    for (int o = 0; o < in.num_outputs(); ++o) {
      const rt::TensorRef& ref = in.output(o);
      const auto* b = static_cast<const uint8_t*>(ref.data);
      const size_t bytes = ref.bytes();
      if (b)
        for (size_t k = 0; k < bytes; k += 61) sink = sink ^ b[k];
    }
    (void)sink;
  }
}

// An anonymous in-memory file reachable by path (/proc/self/fd/N), for readers that open paths.
class MemFile {
 public:
  MemFile() {
    fd_ = memfd_create("ql_fuzz", MFD_CLOEXEC);
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  // Replaces the contents; returns the path to open.
  const std::string& Write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace ql::fuzz
