// Registration of the detection kernel group. Each kernel file defines a factory; list it here.
#include "quantlens/kernels/detection_postprocess.h"
#include "quantlens/kernels/groups.h"
#include "quantlens/runtime/registry.h"

namespace ql::kern {

void RegisterDetectionKernels(rt::KernelRegistry& r) {
  r.AddCustom("TFLite_Detection_PostProcess", &MakeDetectionPostProcess);
}

}  // namespace ql::kern
