// Registration of the conv kernel group. Each kernel file defines a factory; list it here.
#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

void RegisterConvKernels(rt::KernelRegistry& r) {}

}  // namespace ql::kern
