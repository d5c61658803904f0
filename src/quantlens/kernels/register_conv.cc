// Registration of the conv kernel group. Each kernel file defines a factory; list it here.
#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/depthwise_conv_2d.h"
#include "quantlens/kernels/fully_connected.h"
#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

void RegisterConvKernels(rt::KernelRegistry& r) {
  r.Add(ir::OpType::kCONV_2D, &MakeConv2D);
  r.AddVariant(ir::OpType::kCONV_2D, {"CONV_2D AVX2", &MakeConv2DAvx2,
                                      {ir::DType::kInt8, ir::DType::kUInt8, ir::DType::kFloat32}, {},
                                      rt::CpuLevel::kAvx2});
  r.Add(ir::OpType::kDEPTHWISE_CONV_2D, &MakeDepthwiseConv2D);
  r.AddVariant(ir::OpType::kDEPTHWISE_CONV_2D, {"DEPTHWISE_CONV_2D AVX2", &MakeDepthwiseConv2DAvx2,
                                                {ir::DType::kInt8, ir::DType::kUInt8, ir::DType::kFloat32}, {},
                                                rt::CpuLevel::kAvx2});
  r.Add(ir::OpType::kFULLY_CONNECTED, &MakeFullyConnected);
  r.AddVariant(ir::OpType::kFULLY_CONNECTED, {"FULLY_CONNECTED AVX2", &MakeFullyConnectedAvx2,
                                              {ir::DType::kInt8, ir::DType::kUInt8}, {},
                                              rt::CpuLevel::kAvx2});
  r.Add(ir::OpType::kTRANSPOSE_CONV, &MakeTransposeConv);
}

}  // namespace ql::kern
