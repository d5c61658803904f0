// The kernel registry: the only way the interpreter finds kernels. Each op group registers its
// kernels from one function (kernels/register_all.cc lists them).
//
// Every op has one reference kernel: the normative arithmetic (docs/arithmetic.md). An op may
// also have optimized variants, each declaring the input types and numerics it reproduces and
// the CPU features it needs; a variant must produce exactly the reference's bytes (integer paths)
// or stay within the golden tolerance (float paths), which the randomized kernel tests check.
// Lookups take the first variant that fits, else the reference; --reference-kernels asks for the
// reference alone.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quantlens/runtime/kernel.h"

namespace ql::rt {

// What the CPU this process runs on can execute.
struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512vnni = false;
};
const CpuFeatures& HostCpuFeatures();

enum class CpuLevel { kPortable, kAvx2, kAvx512Vnni };
std::string_view CpuLevelName(CpuLevel l);

struct KernelVariant {
  std::string name;                    // "CONV_2D int8/uint8 AVX2"
  KernelFactory factory = nullptr;
  std::vector<ir::DType> input_types;  // dtype of input 0 it is meant for (empty: any)
  std::vector<OpNumerics> numerics;    // numerics it reproduces (empty: any)
  CpuLevel needs = CpuLevel::kPortable;
};

// Which kernels a lookup may return.
struct KernelSelection {
  bool reference_only = false;
  CpuFeatures cpu = HostCpuFeatures();
};

class KernelRegistry {
 public:
  // The registry with every kernel quantlens has.
  static const KernelRegistry& Global();

  // The reference kernel of `type`.
  void Add(ir::OpType type, KernelFactory factory);
  void AddCustom(std::string_view custom_code, KernelFactory factory);
  // An optimized variant, tried before the reference in the order variants were added.
  void AddVariant(ir::OpType type, KernelVariant variant);

  // The reference kernel for `op`; null if there is none.
  KernelFactory Find(const ir::Op& op) const;
  // The kernel for `op` of `graph` under `numerics` and `selection`: the first fitting variant,
  // else the reference. `chosen` (optional) receives the variant's name or "reference".
  KernelFactory Select(const ir::Graph& graph, const ir::Op& op, OpNumerics numerics,
                       const KernelSelection& selection, std::string* chosen = nullptr) const;
  // The variants registered for `type` (tests run each against the reference).
  const std::vector<KernelVariant>& Variants(ir::OpType type) const;

 private:
  std::map<ir::OpType, KernelFactory> builtin_;
  std::map<ir::OpType, std::vector<KernelVariant>> variants_;
  std::map<std::string, KernelFactory, std::less<>> custom_;
};

// Registers all built-in kernels into `r` (defined in kernels/register_all.cc).
void RegisterAllKernels(KernelRegistry& r);

}  // namespace ql::rt
