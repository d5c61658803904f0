// The kernel registry: the only way the interpreter finds kernels. Each op group registers its
// kernels from one function (kernels/register_all.cc lists them).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "quantlens/runtime/kernel.h"

namespace ql::rt {

class KernelRegistry {
 public:
  // The registry with every kernel quantlens has.
  static const KernelRegistry& Global();

  void Add(ir::OpType type, KernelFactory factory);
  void AddCustom(std::string_view custom_code, KernelFactory factory);
  // Null if there is no kernel for that op.
  KernelFactory Find(const ir::Op& op) const;

 private:
  std::map<ir::OpType, KernelFactory> builtin_;
  std::map<std::string, KernelFactory, std::less<>> custom_;
};

// Registers all built-in kernels into `r` (defined in kernels/register_all.cc).
void RegisterAllKernels(KernelRegistry& r);

}  // namespace ql::rt
