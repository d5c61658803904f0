// Registration of the elementwise kernel group. Each kernel file defines a factory; list it here.
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

void RegisterElementwiseKernels(rt::KernelRegistry& r) {
  using ir::OpType;
  // Binary arithmetic.
  r.Add(OpType::kADD, &MakeAddKernel);
  r.Add(OpType::kSUB, &MakeSubKernel);
  r.AddVariant(OpType::kADD, {"ADD AVX2", &MakeAddKernelAvx2, {ir::DType::kInt8, ir::DType::kUInt8}, {},
                              rt::CpuLevel::kAvx2});
  r.AddVariant(OpType::kSUB, {"SUB AVX2", &MakeSubKernelAvx2, {ir::DType::kInt8, ir::DType::kUInt8}, {},
                              rt::CpuLevel::kAvx2});
  r.Add(OpType::kMUL, &MakeMulKernel);
  r.Add(OpType::kDIV, &MakeDivKernel);
  r.Add(OpType::kFLOOR_DIV, &MakeFloorDivKernel);
  r.Add(OpType::kMAXIMUM, &MakeMaximumKernel);
  r.Add(OpType::kMINIMUM, &MakeMinimumKernel);
  r.Add(OpType::kSQUARED_DIFFERENCE, &MakeSquaredDifferenceKernel);
  r.Add(OpType::kPOW, &MakePowKernel);
  // Type conversion.
  r.Add(OpType::kQUANTIZE, &MakeQuantizeKernel);
  r.Add(OpType::kDEQUANTIZE, &MakeDequantizeKernel);
  r.Add(OpType::kCAST, &MakeCastKernel);
  // Activations.
  r.Add(OpType::kRELU, &MakeReluKernel);
  r.Add(OpType::kRELU6, &MakeRelu6Kernel);
  r.Add(OpType::kRELU_N1_TO_1, &MakeReluN1To1Kernel);
  r.Add(OpType::kLEAKY_RELU, &MakeLeakyReluKernel);
  r.Add(OpType::kPRELU, &MakePreluKernel);
  r.Add(OpType::kHARD_SWISH, &MakeHardSwishKernel);
  r.Add(OpType::kLOGISTIC, &MakeLogisticKernel);
  r.Add(OpType::kTANH, &MakeTanhKernel);
  r.Add(OpType::kELU, &MakeEluKernel);
  r.Add(OpType::kGELU, &MakeGeluKernel);
  // Unary math.
  r.Add(OpType::kSQRT, &MakeSqrtKernel);
  r.Add(OpType::kRSQRT, &MakeRsqrtKernel);
  r.Add(OpType::kEXP, &MakeExpKernel);
  r.Add(OpType::kLOG, &MakeLogKernel);
  r.Add(OpType::kABS, &MakeAbsKernel);
  r.Add(OpType::kNEG, &MakeNegKernel);
  r.Add(OpType::kSQUARE, &MakeSquareKernel);
  r.Add(OpType::kFLOOR, &MakeFloorKernel);
}

}  // namespace ql::kern
