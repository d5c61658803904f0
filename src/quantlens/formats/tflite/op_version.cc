// Scaffolding: the real tables are being written (see op_version.h). Every op version 1 until then.
#include "quantlens/formats/tflite/op_version.h"

namespace ql::tflite {

int ComputeOpVersion(const ir::Graph&, const ir::Op&) { return 1; }
std::string MinRuntimeVersion(ir::OpType, int) { return ""; }

}  // namespace ql::tflite
