// Structural comparison of two graphs: what a lossless writer must preserve, checked field by
// field so a round trip (read -> write -> read) can prove it lost nothing.
#pragma once

#include <string>

#include "quantlens/ir/graph.h"

namespace ql::ir {

// The first difference between `a` and `b`, in words ("tensor 12 'conv/weights': data differs at
// byte 40: 0x3f vs 0x40"); empty when they are equal. Compared: description, subgraph name,
// graph inputs and outputs; every tensor's name, dtype, shape (and whether it is declared),
// quantization (scales bit for bit, zero points, axis), constant data and is_constant/is_variable
// flags; every op's type, custom code, version, inputs, outputs and attributes (every field of
// every attrs struct); layer outputs, metadata, the deprecated metadata buffers and signature defs.
// Not compared: where the graph came from (source_path, format, source indices) and the Keras
// layer tags on tensors and ops, which no file format other than Keras stores.
std::string DiffGraphs(const Graph& a, const Graph& b);

// The first difference between two attribute sets ("stride_w: 2 vs 1", "attrs are ConvAttrs vs
// PoolAttrs"); empty when equal. Floats are compared bit for bit.
std::string DiffAttrs(const Attrs& a, const Attrs& b);

// "ConvAttrs", "monostate": the name of the variant alternative `a` holds.
std::string_view AttrsName(const Attrs& a);

}  // namespace ql::ir
