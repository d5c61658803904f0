#pragma once

namespace ql::rt {
class KernelRegistry;
}

namespace ql::kern {
void RegisterConvKernels(rt::KernelRegistry& r);
void RegisterElementwiseKernels(rt::KernelRegistry& r);
void RegisterReduceKernels(rt::KernelRegistry& r);
void RegisterShapeKernels(rt::KernelRegistry& r);
void RegisterDetectionKernels(rt::KernelRegistry& r);
void RegisterKerasKernels(rt::KernelRegistry& r);
}  // namespace ql::kern
