// Registration of the keras kernel group. Each kernel file defines a factory; list it here.
#include "quantlens/kernels/groups.h"
#include "quantlens/kernels/keras_kernels.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

void RegisterKerasKernels(rt::KernelRegistry& r) {
  r.Add(ir::OpType::kHARD_SIGMOID, &MakeHardSigmoidKernel);  // keras_activations.cc
  r.Add(ir::OpType::kSELU, &MakeSeluKernel);
  r.Add(ir::OpType::kSOFTPLUS, &MakeSoftplusKernel);
  r.Add(ir::OpType::kSOFTSIGN, &MakeSoftsignKernel);
  r.Add(ir::OpType::kSWISH, &MakeSwishKernel);
  r.Add(ir::OpType::kBATCH_NORM, &MakeBatchNormKernel);  // keras_norm.cc
  r.Add(ir::OpType::kLAYER_NORM, &MakeLayerNormKernel);
}

}  // namespace ql::kern
