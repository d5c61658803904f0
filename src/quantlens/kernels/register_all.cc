// The list of kernel groups. Each group's registration function lives beside its kernels.
#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::rt {

void RegisterAllKernels(KernelRegistry& r) {
  kern::RegisterConvKernels(r);         // conv_*.cc, fully_connected*.cc
  kern::RegisterElementwiseKernels(r);  // binary, unary, activations, quantize/dequantize/cast
  kern::RegisterReduceKernels(r);       // pooling, reductions, softmax, resize, arg_max, norms
  kern::RegisterShapeKernels(r);        // data movement and shape ops
  kern::RegisterDetectionKernels(r);    // TFLite_Detection_PostProcess
  kern::RegisterKerasKernels(r);        // quantlens-internal ops lowered from Keras layers
}

}  // namespace ql::rt
