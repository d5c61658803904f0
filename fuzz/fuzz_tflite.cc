// Fuzz target: .tflite bytes -> ReadTfliteBuffer -> Interpreter::Create -> SetInput -> Invoke.
//
// Structure-aware: LLVMFuzzerCustomMutator unpacks a verifiable input with the flatbuffers object
// API (ModelT), edits one field picked at random (tensor type, shape, shape_signature, buffer
// index, is_variable, quantization vectors and axis, operator opcode index, inputs and outputs,
// builtin options type and values, operator codes, subgraph inputs/outputs, buffer data size,
// whole operators and tensors), and packs it again. Fields absent from the input because they hold
// their default value are written by the object API, so they are reachable too. Inputs that do not
// verify go to libFuzzer's byte mutator.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "fuzz_common.h"
#include "quantlens/formats/tflite/reader.h"
#include "tflite_schema_generated.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

namespace tfl = ::tflite;
using Rng = std::mt19937;

int Pick(Rng& rng, int n) { return n <= 0 ? 0 : static_cast<int>(rng() % static_cast<unsigned>(n)); }
bool Coin(Rng& rng, int one_in = 2) { return Pick(rng, one_in) == 0; }

int32_t InterestingInt(Rng& rng) {
  static const int32_t kValues[] = {0, 1, 2, 3, 4, -1, -2, 7, 8, 16, 255, 256, 1000, 65535, 65536,
                                    1 << 20, 1 << 24, 1 << 30, std::numeric_limits<int32_t>::max(),
                                    std::numeric_limits<int32_t>::min(), -65536};
  if (Coin(rng, 3)) return static_cast<int32_t>(Pick(rng, 12)) - 1;
  return kValues[Pick(rng, static_cast<int>(std::size(kValues)))];
}

float InterestingFloat(Rng& rng) {
  static const float kValues[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1e-30f, 1e-45f, 1e30f, -1e30f,
                                  3.4e38f, std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(), 0.00390625f, 0.0078125f,
                                  2.0f, 255.0f, 1e-9f};
  return kValues[Pick(rng, static_cast<int>(std::size(kValues)))];
}

// An index into a table of `n` entries: mostly valid, sometimes -1, n or far out of range.
int32_t SomeIndex(Rng& rng, int n) {
  switch (Pick(rng, 8)) {
    case 0: return -1;
    case 1: return n;
    case 2: return InterestingInt(rng);
    default: return n > 0 ? Pick(rng, n) : 0;
  }
}

template <typename T>
void MutateIntVector(std::vector<T>& v, Rng& rng, int index_range = -1) {
  auto value = [&]() -> T {
    return static_cast<T>(index_range >= 0 ? SomeIndex(rng, index_range) : InterestingInt(rng));
  };
  switch (Pick(rng, 6)) {
    case 0: v.push_back(value()); break;
    case 1: if (!v.empty()) v.erase(v.begin() + Pick(rng, static_cast<int>(v.size()))); break;
    case 2: v.clear(); break;
    case 3: if (!v.empty()) v.insert(v.begin() + Pick(rng, static_cast<int>(v.size())), v[Pick(rng, static_cast<int>(v.size()))]); break;
    default:
      if (v.empty()) v.push_back(value());
      else v[Pick(rng, static_cast<int>(v.size()))] = value();
  }
}

tfl::TensorType SomeTensorType(Rng& rng) {
  if (Coin(rng, 10)) return static_cast<tfl::TensorType>(static_cast<int8_t>(InterestingInt(rng)));
  return static_cast<tfl::TensorType>(Pick(rng, 18));
}

tfl::ActivationFunctionType SomeActivation(Rng& rng) {
  return static_cast<tfl::ActivationFunctionType>(Coin(rng, 8) ? InterestingInt(rng) : Pick(rng, 6));
}

tfl::Padding SomePadding(Rng& rng) {
  return static_cast<tfl::Padding>(Coin(rng, 8) ? InterestingInt(rng) : Pick(rng, 2));
}

// A default-constructed options table of a type quantlens reads (or a few it does not).
void SetSomeOptionsType(tfl::BuiltinOptionsUnion& u, Rng& rng) {
  switch (Pick(rng, 36)) {
    case 0: u.Set(tfl::Conv2DOptionsT()); break;
    case 1: u.Set(tfl::DepthwiseConv2DOptionsT()); break;
    case 2: u.Set(tfl::Pool2DOptionsT()); break;
    case 3: u.Set(tfl::FullyConnectedOptionsT()); break;
    case 4: u.Set(tfl::SoftmaxOptionsT()); break;
    case 5: u.Set(tfl::ConcatenationOptionsT()); break;
    case 6: u.Set(tfl::AddOptionsT()); break;
    case 7: u.Set(tfl::ResizeBilinearOptionsT()); break;
    case 8: u.Set(tfl::ReshapeOptionsT()); break;
    case 9: u.Set(tfl::MulOptionsT()); break;
    case 10: u.Set(tfl::PadOptionsT()); break;
    case 11: u.Set(tfl::GatherOptionsT()); break;
    case 12: u.Set(tfl::TransposeOptionsT()); break;
    case 13: u.Set(tfl::ReducerOptionsT()); break;
    case 14: u.Set(tfl::SubOptionsT()); break;
    case 15: u.Set(tfl::DivOptionsT()); break;
    case 16: u.Set(tfl::SqueezeOptionsT()); break;
    case 17: u.Set(tfl::StridedSliceOptionsT()); break;
    case 18: u.Set(tfl::SplitOptionsT()); break;
    case 19: u.Set(tfl::CastOptionsT()); break;
    case 20: u.Set(tfl::ArgMaxOptionsT()); break;
    case 21: u.Set(tfl::TransposeConvOptionsT()); break;
    case 22: u.Set(tfl::ShapeOptionsT()); break;
    case 23: u.Set(tfl::PackOptionsT()); break;
    case 24: u.Set(tfl::UnpackOptionsT()); break;
    case 25: u.Set(tfl::LeakyReluOptionsT()); break;
    case 26: u.Set(tfl::ResizeNearestNeighborOptionsT()); break;
    case 27: u.Set(tfl::BatchMatMulOptionsT()); break;
    case 28: u.Set(tfl::GeluOptionsT()); break;
    case 29: u.Set(tfl::ArgMinOptionsT()); break;
    case 30: u.Set(tfl::TileOptionsT()); break;
    case 31: u.Set(tfl::ExpandDimsOptionsT()); break;
    case 32: u.Set(tfl::GatherNdOptionsT()); break;
    case 33: u.Set(tfl::LSTMOptionsT()); break;
    case 34: u.Reset(); break;
    default: u.Set(tfl::Conv2DOptionsT()); break;
  }
}

// Fields 0..5 of CONV_2D and DEPTHWISE_CONV_2D options, which share them; false for other `f`.
template <typename ConvOptions>
bool MutateConvCommon(ConvOptions* o, int f, Rng& rng) {
  switch (f) {
    case 0: o->padding = SomePadding(rng); return true;
    case 1: o->stride_w = InterestingInt(rng); return true;
    case 2: o->stride_h = InterestingInt(rng); return true;
    case 3: o->fused_activation_function = SomeActivation(rng); return true;
    case 4: o->dilation_w_factor = InterestingInt(rng); return true;
    case 5: o->dilation_h_factor = InterestingInt(rng); return true;
    default: return false;
  }
}

// Edits one value of the options table the union holds.
void MutateOptionsValues(tfl::BuiltinOptionsUnion& u, Rng& rng) {
  using BO = tfl::BuiltinOptions;
  if (u.value == nullptr) {
    SetSomeOptionsType(u, rng);
    return;
  }
  const int f = Pick(rng, 8);
  switch (u.type) {
    case BO::Conv2DOptions: {
      auto* o = u.AsConv2DOptions();
      if (!MutateConvCommon(o, f, rng)) o->quantized_bias_type = SomeTensorType(rng);
      break;
    }
    case BO::DepthwiseConv2DOptions: {
      auto* o = u.AsDepthwiseConv2DOptions();
      if (!MutateConvCommon(o, f, rng)) o->depth_multiplier = InterestingInt(rng);
      break;
    }
    case BO::Pool2DOptions: {
      auto* o = u.AsPool2DOptions();
      if (f == 0) o->padding = SomePadding(rng);
      else if (f == 1) o->stride_w = InterestingInt(rng);
      else if (f == 2) o->stride_h = InterestingInt(rng);
      else if (f == 3) o->fused_activation_function = SomeActivation(rng);
      else if (f == 4 || f == 6) o->filter_width = InterestingInt(rng);
      else o->filter_height = InterestingInt(rng);
      break;
    }
    case BO::FullyConnectedOptions: {
      auto* o = u.AsFullyConnectedOptions();
      if (f == 0) o->fused_activation_function = SomeActivation(rng);
      else if (f == 1) o->weights_format = static_cast<tfl::FullyConnectedOptionsWeightsFormat>(Pick(rng, 3));
      else if (f == 2) o->keep_num_dims = !o->keep_num_dims;
      else if (f == 3) o->asymmetric_quantize_inputs = !o->asymmetric_quantize_inputs;
      else o->quantized_bias_type = SomeTensorType(rng);
      break;
    }
    case BO::SoftmaxOptions: u.AsSoftmaxOptions()->beta = InterestingFloat(rng); break;
    case BO::ConcatenationOptions: {
      auto* o = u.AsConcatenationOptions();
      if (f < 5) o->axis = InterestingInt(rng);
      else o->fused_activation_function = SomeActivation(rng);
      break;
    }
    case BO::AddOptions: {
      auto* o = u.AsAddOptions();
      if (f < 5) o->fused_activation_function = SomeActivation(rng);
      else o->pot_scale_int16 = !o->pot_scale_int16;
      break;
    }
    case BO::SubOptions: u.AsSubOptions()->fused_activation_function = SomeActivation(rng); break;
    case BO::MulOptions: u.AsMulOptions()->fused_activation_function = SomeActivation(rng); break;
    case BO::DivOptions: u.AsDivOptions()->fused_activation_function = SomeActivation(rng); break;
    case BO::ResizeBilinearOptions: {
      auto* o = u.AsResizeBilinearOptions();
      if (f < 4) o->align_corners = !o->align_corners;
      else o->half_pixel_centers = !o->half_pixel_centers;
      break;
    }
    case BO::ResizeNearestNeighborOptions: {
      auto* o = u.AsResizeNearestNeighborOptions();
      if (f < 4) o->align_corners = !o->align_corners;
      else o->half_pixel_centers = !o->half_pixel_centers;
      break;
    }
    case BO::ReshapeOptions: MutateIntVector(u.AsReshapeOptions()->new_shape, rng); break;
    case BO::SqueezeOptions: MutateIntVector(u.AsSqueezeOptions()->squeeze_dims, rng); break;
    case BO::GatherOptions: {
      auto* o = u.AsGatherOptions();
      if (f < 5) o->axis = InterestingInt(rng);
      else o->batch_dims = InterestingInt(rng);
      break;
    }
    case BO::ReducerOptions: u.AsReducerOptions()->keep_dims = !u.AsReducerOptions()->keep_dims; break;
    case BO::StridedSliceOptions: {
      auto* o = u.AsStridedSliceOptions();
      const int32_t v = Coin(rng) ? Pick(rng, 32) : InterestingInt(rng);
      if (f == 0) o->begin_mask = v;
      else if (f == 1) o->end_mask = v;
      else if (f == 2) o->ellipsis_mask = v;
      else if (f == 3) o->new_axis_mask = v;
      else if (f == 4) o->shrink_axis_mask = v;
      else o->offset = !o->offset;
      break;
    }
    case BO::SplitOptions: u.AsSplitOptions()->num_splits = InterestingInt(rng); break;
    case BO::CastOptions: {
      auto* o = u.AsCastOptions();
      if (f < 4) o->in_data_type = SomeTensorType(rng);
      else o->out_data_type = SomeTensorType(rng);
      break;
    }
    case BO::ArgMaxOptions: u.AsArgMaxOptions()->output_type = SomeTensorType(rng); break;
    case BO::ArgMinOptions: u.AsArgMinOptions()->output_type = SomeTensorType(rng); break;
    case BO::ShapeOptions: u.AsShapeOptions()->out_type = SomeTensorType(rng); break;
    case BO::TransposeConvOptions: {
      auto* o = u.AsTransposeConvOptions();
      if (f == 0) o->padding = SomePadding(rng);
      else if (f == 1) o->stride_w = InterestingInt(rng);
      else if (f == 2) o->stride_h = InterestingInt(rng);
      else if (f == 3) o->fused_activation_function = SomeActivation(rng);
      else o->quantized_bias_type = SomeTensorType(rng);
      break;
    }
    case BO::PackOptions: {
      auto* o = u.AsPackOptions();
      if (f < 4) o->values_count = InterestingInt(rng);
      else o->axis = InterestingInt(rng);
      break;
    }
    case BO::UnpackOptions: {
      auto* o = u.AsUnpackOptions();
      if (f < 4) o->num = InterestingInt(rng);
      else o->axis = InterestingInt(rng);
      break;
    }
    case BO::LeakyReluOptions: u.AsLeakyReluOptions()->alpha = InterestingFloat(rng); break;
    case BO::BatchMatMulOptions: {
      auto* o = u.AsBatchMatMulOptions();
      if (f < 3) o->adj_x = !o->adj_x;
      else if (f < 6) o->adj_y = !o->adj_y;
      else o->asymmetric_quantize_inputs = !o->asymmetric_quantize_inputs;
      break;
    }
    case BO::GeluOptions: u.AsGeluOptions()->approximate = !u.AsGeluOptions()->approximate; break;
    default: SetSomeOptionsType(u, rng); break;
  }
}

tfl::BuiltinOperator SomeBuiltinCode(Rng& rng) {
  // Mostly the ops quantlens implements (and their neighbours), sometimes anything.
  static const int kCodes[] = {0,  1,  2,  3,  4,  6,  8,  9,  14, 17, 18, 19, 20, 21, 22, 23, 25,
                               28, 32, 34, 36, 39, 40, 41, 42, 43, 45, 47, 49, 50, 53, 54, 55, 56,
                               57, 59, 60, 65, 67, 69, 70, 73, 74, 75, 76, 77, 78, 79, 82, 83, 88,
                               89, 90, 92, 97, 98, 99, 101, 107, 111, 114, 117, 126, 150};
  if (Coin(rng, 6)) return static_cast<tfl::BuiltinOperator>(Coin(rng) ? Pick(rng, 200) : InterestingInt(rng));
  return static_cast<tfl::BuiltinOperator>(kCodes[Pick(rng, static_cast<int>(std::size(kCodes)))]);
}

void MutateQuantization(tfl::TensorT& t, Rng& rng) {
  if (!t.quantization) t.quantization = std::make_unique<tfl::QuantizationParametersT>();
  auto& q = *t.quantization;
  switch (Pick(rng, 8)) {
    case 0:
      if (q.scale.empty() || Coin(rng)) q.scale.push_back(InterestingFloat(rng));
      else q.scale[Pick(rng, static_cast<int>(q.scale.size()))] = InterestingFloat(rng);
      break;
    case 1: if (!q.scale.empty()) q.scale.pop_back(); break;
    case 2: {
      const int64_t v = Coin(rng) ? InterestingInt(rng)
                                  : (Coin(rng) ? std::numeric_limits<int64_t>::max()
                                               : std::numeric_limits<int64_t>::min());
      if (q.zero_point.empty() || Coin(rng)) q.zero_point.push_back(v);
      else q.zero_point[Pick(rng, static_cast<int>(q.zero_point.size()))] = v;
      break;
    }
    case 3: if (!q.zero_point.empty()) q.zero_point.pop_back(); break;
    case 4: q.quantized_dimension = InterestingInt(rng); break;
    case 5: {
      // Per-channel: as many scales / zero points as a dimension of the tensor.
      const size_t n = t.shape.empty() ? 2 : static_cast<size_t>(std::max(0, std::min(t.shape[Pick(rng, static_cast<int>(t.shape.size()))], 4096)));
      q.scale.assign(n, 0.02f);
      q.zero_point.assign(Coin(rng) ? n : 1, 0);
      break;
    }
    case 6: q.min.push_back(InterestingFloat(rng)); q.max.push_back(InterestingFloat(rng)); break;
    default: t.quantization.reset(); break;
  }
}

void MutateTensor(tfl::TensorT& t, int num_buffers, Rng& rng) {
  switch (Pick(rng, 9)) {
    case 0: t.type = SomeTensorType(rng); break;
    case 1: case 2: MutateIntVector(t.shape, rng); break;
    case 3: MutateIntVector(t.shape_signature, rng); break;
    case 4: t.buffer = static_cast<uint32_t>(SomeIndex(rng, num_buffers)); break;
    case 5: t.is_variable = !t.is_variable; break;
    case 6: case 7: MutateQuantization(t, rng); break;
    default: t.has_rank = !t.has_rank; break;
  }
}

void MutateOperator(tfl::OperatorT& op, int num_tensors, int num_opcodes, Rng& rng) {
  switch (Pick(rng, 8)) {
    case 0: op.opcode_index = static_cast<uint32_t>(SomeIndex(rng, num_opcodes)); break;
    case 1: case 2: MutateIntVector(op.inputs, rng, num_tensors); break;
    case 3: MutateIntVector(op.outputs, rng, num_tensors); break;
    case 4: SetSomeOptionsType(op.builtin_options, rng); break;
    case 5: case 6: MutateOptionsValues(op.builtin_options, rng); break;
    default:
      if (Coin(rng)) op.custom_options.clear();
      else op.custom_options.push_back(static_cast<uint8_t>(rng()));
      break;
  }
}

void MutateOpcode(tfl::OperatorCodeT& c, Rng& rng) {
  switch (Pick(rng, 6)) {
    case 0: case 1: {
      const auto code = SomeBuiltinCode(rng);
      c.builtin_code = code;
      // Keep both fields consistent most of the time, as converters write them.
      if (!Coin(rng, 4)) c.deprecated_builtin_code = static_cast<int8_t>(std::min(static_cast<int>(code), 127));
      break;
    }
    case 2: c.deprecated_builtin_code = static_cast<int8_t>(Coin(rng) ? Pick(rng, 128) : InterestingInt(rng)); break;
    case 3: c.version = Coin(rng) ? Pick(rng, 6) : InterestingInt(rng); break;
    case 4: c.custom_code = Coin(rng) ? std::string() : (Coin(rng) ? "TFLite_Detection_PostProcess" : "Custom"); break;
    default: c.builtin_code = static_cast<tfl::BuiltinOperator>(InterestingInt(rng)); break;
  }
}

void MutateBuffer(tfl::BufferT& b, Rng& rng) {
  switch (Pick(rng, 6)) {
    case 0: b.data.clear(); break;
    case 1: if (!b.data.empty()) b.data.resize(static_cast<size_t>(Pick(rng, static_cast<int>(b.data.size())))); break;
    case 2: b.data.resize(b.data.size() + static_cast<size_t>(1 + Pick(rng, 64)), 0); break;
    case 3: if (!b.data.empty()) b.data[Pick(rng, static_cast<int>(b.data.size()))] = static_cast<uint8_t>(rng()); break;
    case 4: b.offset = Coin(rng) ? static_cast<uint64_t>(Pick(rng, 4096)) : ~uint64_t{0}; break;
    default: b.size = Coin(rng) ? static_cast<uint64_t>(Pick(rng, 4096)) : ~uint64_t{0}; break;
  }
}

// The generated union copy dereferences its value for any type tag; an input can hold a tag
// without a table (the mutator makes such inputs on purpose), so copies go through here.
void CopyOptions(tfl::BuiltinOptionsUnion& dst, const tfl::BuiltinOptionsUnion& src) {
  if (src.value == nullptr) {
    dst.Reset();
    dst.type = src.type;
  } else if (&dst != &src) {
    dst = src;
  }
}

std::unique_ptr<tfl::OperatorT> CloneOperator(tfl::OperatorT& op) {
  tfl::BuiltinOptionsUnion options = std::move(op.builtin_options);
  auto copy = std::make_unique<tfl::OperatorT>(op);
  op.builtin_options = std::move(options);
  CopyOptions(copy->builtin_options, op.builtin_options);
  return copy;
}

// Same for tensors: quantization details and sparsity hold unions too. The copy drops sparsity.
std::unique_ptr<tfl::TensorT> CloneTensor(tfl::TensorT& t) {
  if (t.quantization && t.quantization->details.value == nullptr) t.quantization->details.Reset();
  auto sparsity = std::move(t.sparsity);
  auto copy = std::make_unique<tfl::TensorT>(t);
  t.sparsity = std::move(sparsity);
  return copy;
}

// Pack dereferences the value of every tagged union: a tag without a table (which UnPack gives
// for such inputs) cannot be written by the object API, so it is dropped (byte-level mutation
// still reaches that case).
void DropEmptyUnions(tfl::ModelT& m) {
  for (auto& sg : m.subgraphs) {
    if (!sg) continue;
    for (auto& op : sg->operators)
      if (op && op->builtin_options.value == nullptr) op->builtin_options.Reset();
    for (auto& t : sg->tensors) {
      if (!t) continue;
      if (t->quantization && t->quantization->details.value == nullptr) t->quantization->details.Reset();
      if (t->sparsity)
        for (auto& dm : t->sparsity->dim_metadata) {
          if (!dm) continue;
          if (dm->array_segments.value == nullptr) dm->array_segments.Reset();
          if (dm->array_indices.value == nullptr) dm->array_indices.Reset();
        }
    }
  }
}

// One structural edit of `m`.
void MutateModel(tfl::ModelT& m, Rng& rng) {
  const int nbuf = static_cast<int>(m.buffers.size());
  const int ncodes = static_cast<int>(m.operator_codes.size());
  if (m.subgraphs.empty()) m.subgraphs.push_back(std::make_unique<tfl::SubGraphT>());
  // Subgraph 0 is the one quantlens runs; others only get the occasional edit.
  tfl::SubGraphT& sg = *m.subgraphs[Coin(rng, 8) ? Pick(rng, static_cast<int>(m.subgraphs.size())) : 0];
  const int nt = static_cast<int>(sg.tensors.size());
  const int nops = static_cast<int>(sg.operators.size());
  switch (Pick(rng, 20)) {
    case 0: case 1: case 2: case 3: case 4:
      if (nt > 0) MutateTensor(*sg.tensors[Pick(rng, nt)], nbuf, rng);
      break;
    case 5: case 6: case 7: case 8: case 9:
      if (nops > 0) MutateOperator(*sg.operators[Pick(rng, nops)], nt, ncodes, rng);
      break;
    case 10: case 11:
      if (ncodes > 0) MutateOpcode(*m.operator_codes[Pick(rng, ncodes)], rng);
      break;
    case 12: MutateIntVector(sg.inputs, rng, nt); break;
    case 13: MutateIntVector(sg.outputs, rng, nt); break;
    case 14: if (nbuf > 0) MutateBuffer(*m.buffers[Pick(rng, nbuf)], rng); break;
    case 15:  // delete or duplicate an operator
      if (nops > 0) {
        const int i = Pick(rng, nops);
        if (Coin(rng)) sg.operators.erase(sg.operators.begin() + i);
        else sg.operators.insert(sg.operators.begin() + Pick(rng, nops + 1), CloneOperator(*sg.operators[i]));
      }
      break;
    case 16:  // swap two operators (execution order)
      if (nops > 1) std::swap(sg.operators[Pick(rng, nops)], sg.operators[Pick(rng, nops)]);
      break;
    case 17:  // copy a tensor (a new index for ops to point at)
      if (nt > 0) sg.tensors.push_back(CloneTensor(*sg.tensors[Pick(rng, nt)]));
      break;
    case 18:  // the options of one op on another
      if (nops > 1) CopyOptions(sg.operators[Pick(rng, nops)]->builtin_options, sg.operators[Pick(rng, nops)]->builtin_options);
      break;
    default:
      if (Coin(rng)) m.version = static_cast<uint32_t>(InterestingInt(rng));
      else if (ncodes > 0) m.operator_codes.push_back(std::make_unique<tfl::OperatorCodeT>(*m.operator_codes[Pick(rng, ncodes)]));
      break;
  }
}

// The verifier accepts int64 vectors that are only 4-byte aligned (zero_point), and the object
// API's UnPack reads them with plain loads, which UBSan reports. The reader copies them bytewise;
// the mutator leaves such inputs to the byte mutator.
bool Int64VectorsAligned(const tfl::Model& m) {
  if (!m.subgraphs()) return true;
  for (const tfl::SubGraph* sg : *m.subgraphs()) {
    if (!sg || !sg->tensors()) continue;
    for (const tfl::Tensor* t : *sg->tensors()) {
      if (!t || !t->quantization() || !t->quantization()->zero_point()) continue;
      if (reinterpret_cast<uintptr_t>(t->quantization()->zero_point()->data()) % alignof(int64_t) != 0)
        return false;
    }
  }
  return true;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng rng(seed);
  if (Coin(rng, 5)) return LLVMFuzzerMutate(data, size, max_size);
  flatbuffers::Verifier verifier(data, size);
  if (size < 8 || !tfl::VerifyModelBuffer(verifier) || !Int64VectorsAligned(*tfl::GetModel(data)))
    return LLVMFuzzerMutate(data, size, max_size);
  std::unique_ptr<tfl::ModelT> model = tfl::UnPackModel(data);
  if (!model) return LLVMFuzzerMutate(data, size, max_size);
  const int edits = 1 + (Coin(rng, 4) ? Pick(rng, 3) : 0);
  for (int i = 0; i < edits; ++i) MutateModel(*model, rng);
  DropEmptyUnions(*model);
  flatbuffers::FlatBufferBuilder fbb;
  tfl::FinishModelBuffer(fbb, tfl::Model::Pack(fbb, model.get()));
  if (fbb.GetSize() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, fbb.GetBufferPointer(), fbb.GetSize());
  return fbb.GetSize();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto graph = ql::tflite::ReadTfliteBuffer(std::span<const uint8_t>(data, size), "fuzz.tflite");
  if (!graph.ok()) return 0;
  ql::fuzz::RunGraph(*graph, /*both_profiles=*/(size & 1) != 0);
  return 0;
}
