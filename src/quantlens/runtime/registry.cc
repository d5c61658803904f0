#include "quantlens/runtime/registry.h"

namespace ql::rt {

std::string KernelArgs::Where() const {
  return fmt::format("{}: {}: ", graph.source_path.empty() ? "model" : graph.source_path,
                     graph.OpLabel(op_index));
}

const KernelRegistry& KernelRegistry::Global() {
  static const KernelRegistry* r = [] {
    auto* reg = new KernelRegistry();
    RegisterAllKernels(*reg);
    return reg;
  }();
  return *r;
}

void KernelRegistry::Add(ir::OpType type, KernelFactory factory) { builtin_[type] = factory; }

void KernelRegistry::AddCustom(std::string_view custom_code, KernelFactory factory) {
  custom_[std::string(custom_code)] = factory;
}

KernelFactory KernelRegistry::Find(const ir::Op& op) const {
  if (op.type == ir::OpType::kCUSTOM) {
    auto it = custom_.find(op.custom_code);
    return it == custom_.end() ? nullptr : it->second;
  }
  auto it = builtin_.find(op.type);
  return it == builtin_.end() ? nullptr : it->second;
}

}  // namespace ql::rt
