#include "quantlens/runtime/interpreter.h"
// Implementation in progress (next commit).
