// Registration of the reduce kernel group. Each kernel file defines a factory; list it here.
#include <memory>

#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

// pooling.cc
std::unique_ptr<rt::Kernel> MakeAveragePool2DKernel();
std::unique_ptr<rt::Kernel> MakeMaxPool2DKernel();
// reduce.cc
std::unique_ptr<rt::Kernel> MakeMeanKernel();
std::unique_ptr<rt::Kernel> MakeSumKernel();
std::unique_ptr<rt::Kernel> MakeReduceMaxKernel();
std::unique_ptr<rt::Kernel> MakeReduceMinKernel();
// softmax.cc
std::unique_ptr<rt::Kernel> MakeSoftmaxKernel();
std::unique_ptr<rt::Kernel> MakeLogSoftmaxKernel();
// resize.cc
std::unique_ptr<rt::Kernel> MakeResizeBilinearKernel();
std::unique_ptr<rt::Kernel> MakeResizeNearestNeighborKernel();
// arg_max.cc
std::unique_ptr<rt::Kernel> MakeArgMaxKernel();
std::unique_ptr<rt::Kernel> MakeArgMinKernel();

void RegisterReduceKernels(rt::KernelRegistry& r) {
  using ir::OpType;
  r.Add(OpType::kAVERAGE_POOL_2D, MakeAveragePool2DKernel);
  r.Add(OpType::kMAX_POOL_2D, MakeMaxPool2DKernel);
  r.Add(OpType::kMEAN, MakeMeanKernel);
  r.Add(OpType::kSUM, MakeSumKernel);
  r.Add(OpType::kREDUCE_MAX, MakeReduceMaxKernel);
  r.Add(OpType::kREDUCE_MIN, MakeReduceMinKernel);
  r.Add(OpType::kSOFTMAX, MakeSoftmaxKernel);
  r.Add(OpType::kLOG_SOFTMAX, MakeLogSoftmaxKernel);
  r.Add(OpType::kRESIZE_BILINEAR, MakeResizeBilinearKernel);
  r.Add(OpType::kRESIZE_NEAREST_NEIGHBOR, MakeResizeNearestNeighborKernel);
  r.Add(OpType::kARG_MAX, MakeArgMaxKernel);
  r.Add(OpType::kARG_MIN, MakeArgMinKernel);
}

}  // namespace ql::kern
