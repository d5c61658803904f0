// Factories of the elementwise kernel group (register_elementwise.cc registers them). One line
// per kernel; the file that defines each is named after the op.
#pragma once

#include <memory>

#include "quantlens/runtime/kernel.h"

namespace ql::kern {

// add_sub.cc
std::unique_ptr<rt::Kernel> MakeAddKernel();
std::unique_ptr<rt::Kernel> MakeSubKernel();
// ADD/SUB whose 8-bit same-shape case runs an AVX2 loop (the CPU must have AVX2).
std::unique_ptr<rt::Kernel> MakeAddKernelAvx2();
std::unique_ptr<rt::Kernel> MakeSubKernelAvx2();
// mul.cc
std::unique_ptr<rt::Kernel> MakeMulKernel();
// binary_float.cc
std::unique_ptr<rt::Kernel> MakeDivKernel();
std::unique_ptr<rt::Kernel> MakeMaximumKernel();
std::unique_ptr<rt::Kernel> MakeMinimumKernel();
std::unique_ptr<rt::Kernel> MakeSquaredDifferenceKernel();
std::unique_ptr<rt::Kernel> MakePowKernel();
// floor_div.cc
std::unique_ptr<rt::Kernel> MakeFloorDivKernel();
// quantize.cc, dequantize.cc, cast.cc
std::unique_ptr<rt::Kernel> MakeQuantizeKernel();
std::unique_ptr<rt::Kernel> MakeDequantizeKernel();
std::unique_ptr<rt::Kernel> MakeCastKernel();
// activations.cc
std::unique_ptr<rt::Kernel> MakeReluKernel();
std::unique_ptr<rt::Kernel> MakeRelu6Kernel();
std::unique_ptr<rt::Kernel> MakeReluN1To1Kernel();
std::unique_ptr<rt::Kernel> MakeLeakyReluKernel();
std::unique_ptr<rt::Kernel> MakePreluKernel();
std::unique_ptr<rt::Kernel> MakeHardSwishKernel();
// lut_activations.cc (float formula plus a 256-entry table for int8/uint8)
std::unique_ptr<rt::Kernel> MakeLogisticKernel();
std::unique_ptr<rt::Kernel> MakeTanhKernel();
std::unique_ptr<rt::Kernel> MakeEluKernel();
std::unique_ptr<rt::Kernel> MakeGeluKernel();
// unary_math.cc
std::unique_ptr<rt::Kernel> MakeSqrtKernel();
std::unique_ptr<rt::Kernel> MakeRsqrtKernel();
std::unique_ptr<rt::Kernel> MakeExpKernel();
std::unique_ptr<rt::Kernel> MakeLogKernel();
std::unique_ptr<rt::Kernel> MakeAbsKernel();
std::unique_ptr<rt::Kernel> MakeNegKernel();
std::unique_ptr<rt::Kernel> MakeSquareKernel();
std::unique_ptr<rt::Kernel> MakeFloorKernel();

}  // namespace ql::kern
