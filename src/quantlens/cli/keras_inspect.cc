// Placeholder until the Keras reader's owner replaces this file with the real layer inspector.
#include "quantlens/cli/keras_inspect.h"

#include "quantlens/cli/common.h"

namespace ql::cli {

int InspectKeras(const std::string& path, bool json, std::ostream& out) {
  return Fail(path + ": inspecting Keras models is not supported yet");
}

}  // namespace ql::cli
