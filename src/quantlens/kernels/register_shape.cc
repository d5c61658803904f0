// Registration of the shape kernel group. Each kernel file defines a factory; list it here.
#include <memory>

#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

// reshape.cc
std::unique_ptr<rt::Kernel> MakeReshapeKernel();
std::unique_ptr<rt::Kernel> MakeSqueezeKernel();
std::unique_ptr<rt::Kernel> MakeExpandDimsKernel();
std::unique_ptr<rt::Kernel> MakeShapeKernel();
// concatenation.cc
std::unique_ptr<rt::Kernel> MakeConcatenationKernel();
std::unique_ptr<rt::Kernel> MakePackKernel();
std::unique_ptr<rt::Kernel> MakeUnpackKernel();
std::unique_ptr<rt::Kernel> MakeSplitKernel();
// pad.cc
std::unique_ptr<rt::Kernel> MakePadKernel();
std::unique_ptr<rt::Kernel> MakePadV2Kernel();
// transpose.cc, tile.cc
std::unique_ptr<rt::Kernel> MakeTransposeKernel();
std::unique_ptr<rt::Kernel> MakeTileKernel();
// gather.cc
std::unique_ptr<rt::Kernel> MakeGatherKernel();
std::unique_ptr<rt::Kernel> MakeGatherNdKernel();
// strided_slice.cc
std::unique_ptr<rt::Kernel> MakeStridedSliceKernel();
std::unique_ptr<rt::Kernel> MakeSliceKernel();

void RegisterShapeKernels(rt::KernelRegistry& r) {
  using ir::OpType;
  r.Add(OpType::kRESHAPE, MakeReshapeKernel);
  r.Add(OpType::kSQUEEZE, MakeSqueezeKernel);
  r.Add(OpType::kEXPAND_DIMS, MakeExpandDimsKernel);
  r.Add(OpType::kSHAPE, MakeShapeKernel);
  r.Add(OpType::kCONCATENATION, MakeConcatenationKernel);
  r.Add(OpType::kPACK, MakePackKernel);
  r.Add(OpType::kUNPACK, MakeUnpackKernel);
  r.Add(OpType::kSPLIT, MakeSplitKernel);
  r.Add(OpType::kPAD, MakePadKernel);
  r.Add(OpType::kPADV2, MakePadV2Kernel);
  r.Add(OpType::kTRANSPOSE, MakeTransposeKernel);
  r.Add(OpType::kTILE, MakeTileKernel);
  r.Add(OpType::kGATHER, MakeGatherKernel);
  r.Add(OpType::kGATHER_ND, MakeGatherNdKernel);
  r.Add(OpType::kSTRIDED_SLICE, MakeStridedSliceKernel);
  r.Add(OpType::kSLICE, MakeSliceKernel);
}

}  // namespace ql::kern
