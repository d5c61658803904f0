// Registration of the keras kernel group. Each kernel file defines a factory; list it here.
#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

void RegisterKerasKernels(rt::KernelRegistry& r) {}

}  // namespace ql::kern
