// Factories of the kernels for quantlens-internal ops lowered from Keras layers (float32 only).
#pragma once

#include <memory>

#include "quantlens/runtime/kernel.h"

namespace ql::kern {

std::unique_ptr<rt::Kernel> MakeHardSigmoidKernel();
std::unique_ptr<rt::Kernel> MakeSeluKernel();
std::unique_ptr<rt::Kernel> MakeSoftplusKernel();
std::unique_ptr<rt::Kernel> MakeSoftsignKernel();
std::unique_ptr<rt::Kernel> MakeSwishKernel();
// BATCH_NORM: inputs x, gamma (optional), beta (optional), mean, variance; NormAttrs axes = {c}.
std::unique_ptr<rt::Kernel> MakeBatchNormKernel();
// LAYER_NORM: inputs x, gamma (optional), beta (optional); NormAttrs axes = the trailing axes.
std::unique_ptr<rt::Kernel> MakeLayerNormKernel();

}  // namespace ql::kern
