// Full-integer quantization (int8, int16x8, mixed with float and int16 layers).
//
// The rewrite builds a new graph op by op, in the float graph's order. Each op runs in one
// precision (float, int8 or int16). A float tensor of the source graph may exist in the new graph
// in several precisions; the copy a consumer needs is made on first use by a QUANTIZE (float ->
// int, or int8 <-> int16 requantization) or DEQUANTIZE (int -> float) placed right before that
// consumer, which keeps the op list in execution order. Parameters:
//  * activations: from the calibrated range (quant_params.h), except ops whose TFLite kernels fix
//    the output (SOFTMAX, LOGISTIC, TANH, LOG_SOFTMAX) and ops that move values without rescaling
//    (pooling, reshapes, padding, slicing, MAXIMUM/MINIMUM): their output takes the input's
//    parameters, and their other inputs are brought to the same parameters;
//  * weights: symmetric int8, per-channel for convolutions unless per-tensor is asked for;
//    FULLY_CONNECTED per-tensor (TFLite 2.9 has no per-channel FULLY_CONNECTED kernel);
//  * biases: int32 (int64 with int16 activations) in input_scale * weight_scale, zero point 0;
//  * other float constants (operands of ADD, MUL, ...): their own per-tensor range.
#include "quantlens/passes/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "quantlens/passes/bias_correction.h"
#include "quantlens/passes/graph_edit.h"
#include "quantlens/passes/quant_params.h"

namespace ql::passes {
namespace {

using ir::DType;
using ir::OpType;

bool In(OpType t, std::initializer_list<OpType> set) {
  return std::find(set.begin(), set.end(), t) != set.end();
}

// Ops that move or select values without rescaling them: TFLite's integer kernels require the
// output to have the input's parameters (and all value inputs to share them).
bool SharesParams(OpType t) {
  return In(t, {OpType::kMAX_POOL_2D, OpType::kAVERAGE_POOL_2D, OpType::kRESHAPE, OpType::kSQUEEZE,
                OpType::kEXPAND_DIMS, OpType::kPAD, OpType::kPADV2, OpType::kTRANSPOSE,
                OpType::kSTRIDED_SLICE, OpType::kSLICE, OpType::kGATHER, OpType::kSPLIT,
                OpType::kUNPACK, OpType::kPACK, OpType::kRESIZE_NEAREST_NEIGHBOR,
                OpType::kRESIZE_BILINEAR, OpType::kMAXIMUM, OpType::kMINIMUM, OpType::kTILE});
}

// Output parameters TFLite's kernels demand, if the op has fixed ones.
bool FixedOutputParams(OpType t, Precision p, ir::Quantization* q) {
  const bool i16 = p == Precision::kInt16;
  float scale;
  int64_t zp;
  switch (t) {
    case OpType::kSOFTMAX:
    case OpType::kLOGISTIC:
      scale = i16 ? 1.0f / 32768 : 1.0f / 256;
      zp = i16 ? 0 : -128;
      break;
    case OpType::kTANH:
      scale = i16 ? 1.0f / 32768 : 1.0f / 128;
      zp = 0;
      break;
    case OpType::kLOG_SOFTMAX:
      if (i16) return false;
      scale = 16.0f / 256;
      zp = 127;
      break;
    default: return false;
  }
  q->scale = {scale};
  q->zero_point = {zp};
  q->axis = 0;
  return true;
}

DType DTypeOfPrecision(Precision p) {
  switch (p) {
    case Precision::kFloat: return DType::kFloat32;
    case Precision::kInt8: return DType::kInt8;
    case Precision::kInt16: return DType::kInt16;
  }
  return DType::kUnknown;
}

std::span<const float> FloatData(const ir::Tensor& t) {
  return {reinterpret_cast<const float*>(t.data.data()), t.data.size() / sizeof(float)};
}

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string OpWhere(const ir::Graph& g, int op) {
  const ir::Op& o = g.ops[op];
  return o.layer.empty() ? g.OpLabel(op) : fmt::format("{} (layer '{}')", g.OpLabel(op), o.layer);
}

class Rewriter {
 public:
  Rewriter(const ir::Graph& src, const std::vector<TensorRange>& ranges, const QuantizeOptions& opts,
           QuantizeReport* report)
      : src_(src), ranges_(ranges), opts_(opts), report_(report) {}

  Result<ir::Graph> Run() {
    if (ranges_.size() != src_.tensors.size())
      return Status(StatusCode::kInternal, fmt::format("{} calibration ranges for {} tensors",
                                                       ranges_.size(), src_.tensors.size()));
    out_.source_path = src_.source_path;
    out_.description = src_.description;
    out_.format = src_.format;
    QL_RETURN_IF_ERROR(ChoosePrecisions());
    QL_RETURN_IF_ERROR(AddInputs());
    for (int i = 0; i < static_cast<int>(src_.ops.size()); ++i)
      QL_RETURN_IF_ERROR(EmitOp(i).WithContext(OpWhere(src_, i) + ": "));
    QL_RETURN_IF_ERROR(AddOutputs());
    for (const auto& lo : src_.layer_outputs) {
      auto it = produced_.find(lo.tensor);
      if (it == produced_.end()) continue;  // a layer whose value was folded into constants
      out_.layer_outputs.push_back({lo.layer, lo.node, it->second});
    }
    QL_RETURN_IF_ERROR(ir::VerifyGraph(out_));
    if (report_) CountOps();
    return std::move(out_);
  }

 private:
  Status ChoosePrecisions() {
    prec_.assign(src_.ops.size(), opts_.activations);
    for (int i = 0; i < static_cast<int>(src_.ops.size()); ++i) {
      const ir::Op& op = src_.ops[i];
      Precision want = opts_.activations;
      if (opts_.int16_ops.count(i)) want = Precision::kInt16;
      if (opts_.keep_float_ops.count(i)) want = Precision::kFloat;
      bool float_io = false;
      for (int t : op.inputs)
        if (t >= 0 && !src_.tensors[t].is_constant && src_.tensors[t].dtype == DType::kFloat32)
          float_io = true;
      for (int t : op.outputs)
        if (src_.tensors[t].dtype == DType::kFloat32) float_io = true;
      if (!float_io) want = Precision::kFloat;  // integer-only ops (shapes, indices) keep their types
      if (want != Precision::kFloat && !HasIntegerKernel(op.type, want)) {
        if (opts_.int16_ops.count(i))
          return Unsupported("{}: TFLite 2.9 has no int16 kernel for {}; it cannot run with int16 "
                             "activations", OpWhere(src_, i), ir::OpTypeName(op.type));
        if (report_)
          report_->fallbacks.push_back(fmt::format("{} stays float: TFLite 2.9 has no {} kernel",
                                                   OpWhere(src_, i), PrecisionName(want)));
        want = Precision::kFloat;
      }
      // Weights must be constant to be quantized ahead of time.
      if (want != Precision::kFloat && In(op.type, {OpType::kCONV_2D, OpType::kDEPTHWISE_CONV_2D,
                                                    OpType::kFULLY_CONNECTED, OpType::kTRANSPOSE_CONV})) {
        const int w = op.inputs.size() > 1 ? op.inputs[1] : -1;
        if (w < 0 || !src_.tensors[w].is_constant) {
          if (report_)
            report_->fallbacks.push_back(
                fmt::format("{} stays float: its weights are not constant", OpWhere(src_, i)));
          want = Precision::kFloat;
        }
      }
      prec_[i] = want;
    }
    return Status::Ok();
  }

  int AddTensor(ir::Tensor t) {
    t.source_index = -1;
    out_.tensors.push_back(std::move(t));
    return static_cast<int>(out_.tensors.size()) - 1;
  }

  void AddOp(OpType type, std::vector<int> in, std::vector<int> outs, ir::Attrs attrs,
             const std::string& layer) {
    out_.ops.push_back(NewOp(type, std::move(in), std::move(outs), std::move(attrs), layer));
  }

  // A new activation tensor like source tensor `t`, in precision `p` with parameters `q`.
  int NewActivation(int t, Precision p, const ir::Quantization& q, const std::string& suffix = "") {
    ir::Tensor nt;
    const ir::Tensor& s = src_.tensors[t];
    nt.name = s.name + suffix;
    nt.dtype = DTypeOfPrecision(p);
    nt.shape = s.shape;
    nt.shape_declared = s.shape_declared;
    nt.layer = s.layer;
    nt.layer_node = s.layer_node;
    if (p != Precision::kFloat) nt.quant = q;
    return AddTensor(std::move(nt));
  }

  Result<ir::Quantization> RangeParams(int t, Precision p) {
    const TensorRange& r = ranges_[t];
    const ir::Tensor& s = src_.tensors[t];
    if (!r.observed)
      return InvalidArgument("tensor '{}' has no calibration range (it was never computed while "
                             "calibrating)", s.name);
    if (!std::isfinite(r.min) || !std::isfinite(r.max))
      return InvalidArgument("tensor '{}' has a non-finite calibration range [{}, {}]", s.name,
                             r.min, r.max);
    if (report_ && !noted_.count(t)) {
      noted_.insert(t);
      if (r.max - r.min == 0.0f)
        report_->suspicious_ranges.push_back(fmt::format(
            "'{}' was {} on every calibration sample (dead layer, or too little data?)", s.name, r.min));
      else if (r.max - r.min > 1e4f)
        report_->suspicious_ranges.push_back(fmt::format(
            "'{}' spans [{:.4g}, {:.4g}]: one int8 step is {:.4g}; outliers? try --calibration-method "
            "percentile:99.99 or mse", s.name, r.min, r.max, (r.max - r.min) / 255));
    }
    if (p == Precision::kInt16) return SymmetricActivationParams(r.min, r.max, 32767);
    return AsymmetricActivationParams(r.min, r.max, -128, 127);
  }

  Status AddInputs() {
    for (int t : src_.inputs) {
      const ir::Tensor& s = src_.tensors[t];
      if (s.dtype != DType::kFloat32 || opts_.input_type == DType::kFloat32) {
        const int nt = NewActivation(t, Precision::kFloat, {});
        out_.tensors[nt].dtype = s.dtype;
        out_.inputs.push_back(nt);
        Set(t, Precision::kFloat, nt, /*produced=*/true);
        continue;
      }
      const Precision p = opts_.input_type == DType::kInt16 ? Precision::kInt16 : Precision::kInt8;
      QL_ASSIGN_OR_RETURN(ir::Quantization q, RangeParams(t, p));
      if (opts_.input_type == DType::kUInt8) {
        ir::Quantization uq = q;
        uq.zero_point[0] += 128;
        const int u = NewActivation(t, Precision::kInt8, uq);
        out_.tensors[u].dtype = DType::kUInt8;
        out_.inputs.push_back(u);
        const int i8 = NewActivation(t, Precision::kInt8, q, "_int8");
        AddOp(OpType::kQUANTIZE, {u}, {i8}, std::monostate{}, s.layer);
        Set(t, Precision::kInt8, i8, true);
      } else {
        const int nt = NewActivation(t, p, q);
        out_.inputs.push_back(nt);
        Set(t, p, nt, true);
      }
    }
    return Status::Ok();
  }

  Status AddOutputs() {
    for (int t : src_.outputs) {
      const ir::Tensor& s = src_.tensors[t];
      if (s.dtype != DType::kFloat32 || opts_.output_type == DType::kFloat32) {
        QL_ASSIGN_OR_RETURN(int nt, Get(t, Precision::kFloat));
        // The model's output keeps the layer's name; the integer tensor it is dequantized from
        // gets the suffix (as TensorFlow's converter names them).
        if (auto it = produced_prec_.find(t); it != produced_prec_.end() && it->second != Precision::kFloat) {
          out_.tensors[produced_.at(t)].name = s.name + (it->second == Precision::kInt16 ? "_int16" : "_int8");
          out_.tensors[nt].name = s.name;
        }
        out_.outputs.push_back(nt);
        continue;
      }
      const Precision p = opts_.output_type == DType::kInt16 ? Precision::kInt16 : Precision::kInt8;
      QL_ASSIGN_OR_RETURN(int q, Get(t, p));
      if (opts_.output_type == DType::kUInt8) {
        ir::Quantization uq = out_.tensors[q].quant;
        uq.zero_point[0] += 128;
        const int u = NewActivation(t, Precision::kInt8, uq, "_uint8");
        out_.tensors[u].dtype = DType::kUInt8;
        AddOp(OpType::kQUANTIZE, {q}, {u}, std::monostate{}, s.layer);
        out_.outputs.push_back(u);
      } else {
        out_.outputs.push_back(q);
      }
    }
    return Status::Ok();
  }

  void Set(int t, Precision p, int nt, bool produced) {
    copies_[{t, p}] = nt;
    if (produced) {
      produced_[t] = nt;
      produced_prec_[t] = p;
    }
  }

  // Source tensor `t` in precision `p`: the existing copy, a constant made for it, or a
  // conversion op from the precision it was produced in.
  Result<int> Get(int t, Precision p) {
    if (auto it = copies_.find({t, p}); it != copies_.end()) return it->second;
    const ir::Tensor& s = src_.tensors[t];
    if (s.is_constant) {
      if (p == Precision::kFloat || s.dtype != DType::kFloat32) {
        ir::Tensor c = s;
        const int nt = AddTensor(std::move(c));
        copies_[{t, p}] = nt;
        return nt;
      }
      return ConstantIn(t, ConstantParams(FloatData(s), p == Precision::kInt16), p);
    }
    auto pit = produced_prec_.find(t);
    if (pit == produced_prec_.end())
      return Status(StatusCode::kInternal, fmt::format("tensor '{}' used before it is produced", s.name));
    const int from = produced_.at(t);
    const Precision fp = pit->second;
    int nt;
    if (p == Precision::kFloat) {
      nt = NewActivation(t, Precision::kFloat, {}, "_dequantized");
      AddOp(OpType::kDEQUANTIZE, {from}, {nt}, std::monostate{}, s.layer);
    } else {
      int src = from;
      // TFLite 2.9's QUANTIZE refuses int8 -> int16 (int16 -> int8 it takes): go through float.
      if (fp == Precision::kInt8 && p == Precision::kInt16) {
        QL_ASSIGN_OR_RETURN(src, Get(t, Precision::kFloat));
      }
      QL_ASSIGN_OR_RETURN(ir::Quantization q, RangeParams(t, p));
      nt = NewActivation(t, p, q, p == Precision::kInt16 ? "_int16" : "_int8");
      AddOp(OpType::kQUANTIZE, {src}, {nt}, std::monostate{}, s.layer);
    }
    copies_[{t, p}] = nt;
    return nt;
  }

  // Source tensor `t` with exactly parameters `q` in precision `p`: constants are quantized with
  // them, activations requantized (QUANTIZE int -> int) when their copy differs.
  Result<int> WithParams(int t, Precision p, const ir::Quantization& q) {
    const ir::Tensor& s = src_.tensors[t];
    if (s.is_constant) return ConstantIn(t, q, p);
    QL_ASSIGN_OR_RETURN(int cur, Get(t, p));
    const ir::Quantization& have = out_.tensors[cur].quant;
    if (have.scale == q.scale && have.zero_point == q.zero_point) return cur;
    const int nt = NewActivation(t, p, q, "_requantized");
    AddOp(OpType::kQUANTIZE, {cur}, {nt}, std::monostate{}, s.layer);
    return nt;
  }

  int ConstantIn(int t, const ir::Quantization& q, Precision p) {
    const ir::Tensor& s = src_.tensors[t];
    ir::Tensor c;
    c.name = s.name;
    c.shape = s.shape;
    c.layer = s.layer;
    c.layer_node = s.layer_node;
    c.is_constant = true;
    c.quant = q;
    if (p == Precision::kInt16) {
      c.dtype = DType::kInt16;
      c.data = Bytes(QuantizeToInt16(FloatData(s), q));
    } else {
      c.dtype = DType::kInt8;
      c.data = Bytes(QuantizeToInt8(FloatData(s), q));
    }
    return AddTensor(std::move(c));
  }

  Status EmitOp(int i) {
    const ir::Op& op = src_.ops[i];
    const Precision p = prec_[i];
    std::vector<int> ins(op.inputs.size(), -1);
    if (p == Precision::kFloat) {
      for (size_t k = 0; k < op.inputs.size(); ++k)
        if (op.inputs[k] >= 0) {
          const DType dt = src_.tensors[op.inputs[k]].dtype;
          QL_ASSIGN_OR_RETURN(ins[k], Get(op.inputs[k], dt == DType::kFloat32 ? Precision::kFloat
                                                                              : Precision::kFloat));
        }
      std::vector<int> outs;
      for (int t : op.outputs) {
        const int nt = NewActivation(t, Precision::kFloat, {});
        out_.tensors[nt].dtype = src_.tensors[t].dtype;
        Set(t, Precision::kFloat, nt, true);
        outs.push_back(nt);
      }
      AddOp(op.type, ins, outs, op.attrs, op.layer);
      return Status::Ok();
    }

    const bool weighted = In(op.type, {OpType::kCONV_2D, OpType::kDEPTHWISE_CONV_2D,
                                       OpType::kFULLY_CONNECTED, OpType::kTRANSPOSE_CONV});
    if (weighted) {
      QL_RETURN_IF_ERROR(EmitWeighted(i, p, ins));
    } else {
      // Value inputs: the first float one decides shared parameters.
      int first = -1;
      for (size_t k = 0; k < op.inputs.size(); ++k) {
        const int t = op.inputs[k];
        if (t < 0) continue;
        if (src_.tensors[t].dtype != DType::kFloat32) {
          QL_ASSIGN_OR_RETURN(ins[k], Get(t, Precision::kFloat));  // indices, shapes: as they are
          continue;
        }
        if (SharesParams(op.type) && first >= 0) {
          QL_ASSIGN_OR_RETURN(ins[k], WithParams(t, p, out_.tensors[ins[first]].quant));
        } else {
          QL_ASSIGN_OR_RETURN(ins[k], Get(t, p));
          if (first < 0) first = static_cast<int>(k);
        }
      }
      if (SharesParams(op.type) && first < 0)
        return Unsupported("has no float input to take quantization parameters from");
      shared_from_ = first >= 0 ? ins[first] : -1;
    }

    std::vector<int> outs;
    for (int t : op.outputs) {
      if (src_.tensors[t].dtype != DType::kFloat32) {  // ARG_MAX indices and the like
        const int nt = NewActivation(t, Precision::kFloat, {});
        out_.tensors[nt].dtype = src_.tensors[t].dtype;
        Set(t, Precision::kFloat, nt, true);
        outs.push_back(nt);
        continue;
      }
      ir::Quantization q;
      if (!FixedOutputParams(op.type, p, &q)) {
        if (!weighted && SharesParams(op.type)) {
          q = out_.tensors[shared_from_].quant;
        } else {
          QL_ASSIGN_OR_RETURN(q, RangeParams(t, p));
        }
      }
      const int nt = NewActivation(t, p, q);
      Set(t, p, nt, true);
      outs.push_back(nt);
    }
    ir::Attrs attrs = op.attrs;
    if (auto* b = std::get_if<ir::BinaryAttrs>(&attrs); b && p == Precision::kInt16 &&
        In(op.type, {OpType::kADD, OpType::kSUB}))
      b->pot_scale_int16 = false;  // general scales (TensorFlow's converter writes false too)
    AddOp(op.type, ins, outs, std::move(attrs), op.layer);
    return Status::Ok();
  }

  Status EmitWeighted(int i, Precision p, std::vector<int>& ins) {
    const ir::Op& op = src_.ops[i];
    const bool tconv = op.type == OpType::kTRANSPOSE_CONV;
    const int act_k = tconv ? 2 : 0, w_k = 1, b_k = tconv ? 3 : 2;
    if (static_cast<int>(op.inputs.size()) <= act_k || op.inputs[act_k] < 0)
      return InvalidArgument("has no input tensor");
    QL_ASSIGN_OR_RETURN(ins[act_k], Get(op.inputs[act_k], p));
    if (tconv) {
      QL_ASSIGN_OR_RETURN(ins[0], Get(op.inputs[0], Precision::kFloat));
    }
    const ir::Tensor& w = src_.tensors[op.inputs[w_k]];
    if (w.dtype != DType::kFloat32)
      return Unsupported("weights '{}' are {}, not float32", w.name, ir::DTypeName(w.dtype));
    int axis = -1;
    if (opts_.per_channel && op.type != OpType::kFULLY_CONNECTED)
      axis = op.type == OpType::kDEPTHWISE_CONV_2D ? 3 : 0;
    const auto fw = FloatData(w);
    QuantizedWeights qw = QuantizeWeightsSymmetric(fw, w.shape, axis);
    const float in_scale = out_.tensors[ins[act_k]].quant.scale[0];
    std::optional<QuantizedBias> qb;
    const int bt = static_cast<int>(op.inputs.size()) > b_k ? op.inputs[b_k] : -1;
    std::vector<float> bias;
    if (bt >= 0) {
      const ir::Tensor& b = src_.tensors[bt];
      if (!b.is_constant || b.dtype != DType::kFloat32)
        return Unsupported("bias '{}' is not a float32 constant", b.name);
      const auto bf = FloatData(b);
      bias.assign(bf.begin(), bf.end());
    }
    // Empirical bias correction: remove the mean output shift the weight rounding causes.
    const bool correct = opts_.input_means != nullptr && !tconv &&
                         opts_.input_means->count(op.inputs[act_k]) > 0;
    if (correct) {
      std::vector<float> dq(fw.size());
      const int64_t n = static_cast<int64_t>(fw.size());
      const int64_t slices = static_cast<int64_t>(qw.scales.size());
      const int64_t inner = axis == 3 ? 1 : (slices > 1 ? n / slices : n);
      for (int64_t k = 0; k < n; ++k) {
        const int64_t c = slices == 1 ? 0 : (axis == 3 ? k % slices : k / inner);
        dq[k] = static_cast<float>(qw.values[k]) * qw.scales[c];
      }
      const auto shift = ExpectedOutputShift(op.type, w.shape, fw, dq, opts_.input_means->at(op.inputs[act_k]));
      if (!shift.empty()) {
        if (bias.empty()) bias.assign(shift.size(), 0.0f);
        if (bias.size() == shift.size()) {
          for (size_t c = 0; c < bias.size(); ++c) bias[c] = static_cast<float>(bias[c] - shift[c]);
          if (report_) ++report_->bias_corrections;
        }
      }
    }
    if (!bias.empty()) {
      // With per-tensor weights all channels share one scale, so the bias check runs per channel
      // against that one scale (QuantizeBias handles both).
      int adjusted = 0;
      qb = QuantizeBias(bias, in_scale, qw, fw, w.shape, p == Precision::kInt16, &adjusted);
      if (report_) report_->bias_scale_adjustments += adjusted;
      if (qw.scales.size() == 1 && bias.size() > 1) {
        // Per-tensor weights: requantizing one "channel" changed the single scale; recompute the
        // bias so every channel uses it.
        qb = QuantizeBias(bias, in_scale, qw, fw, w.shape, p == Precision::kInt16, nullptr);
      }
    }
    ir::Tensor wt;
    wt.name = w.name;
    wt.dtype = DType::kInt8;
    wt.shape = w.shape;
    wt.layer = w.layer;
    wt.is_constant = true;
    wt.quant.scale = qw.scales;
    wt.quant.zero_point.assign(qw.scales.size(), 0);
    wt.quant.axis = qw.scales.size() > 1 ? qw.axis : 0;
    wt.data = Bytes(qw.values);
    ins[w_k] = AddTensor(std::move(wt));
    if (qb) {
      ir::Tensor bq;
      if (bt >= 0) {
        bq.name = src_.tensors[bt].name;
        bq.layer = src_.tensors[bt].layer;
      } else {
        bq.name = w.name + "/bias";
        bq.layer = w.layer;
      }
      bq.shape = {static_cast<int64_t>(bias.size())};
      bq.is_constant = true;
      bq.quant.zero_point.assign(qb->scales.size(), 0);
      if (qw.scales.size() > 1) {
        bq.quant.scale = qb->scales;
        bq.quant.axis = 0;
      } else {
        bq.quant.scale = {qb->scales.empty() ? in_scale * qw.scales[0] : qb->scales[0]};
        bq.quant.zero_point = {0};
      }
      if (p == Precision::kInt16) {
        bq.dtype = DType::kInt64;
        bq.data = Bytes(qb->values);
      } else {
        bq.dtype = DType::kInt32;
        std::vector<int32_t> v(qb->values.begin(), qb->values.end());
        bq.data = Bytes(v);
      }
      if (static_cast<int>(ins.size()) <= b_k) ins.resize(static_cast<size_t>(b_k) + 1, -1);
      ins[b_k] = AddTensor(std::move(bq));
    }
    return Status::Ok();
  }

  void CountOps() {
    for (const ir::Op& op : out_.ops) {
      std::string prec;
      if (op.type == OpType::kQUANTIZE || op.type == OpType::kDEQUANTIZE) {
        prec = "conversion";
      } else {
        DType d = DType::kUnknown;
        for (int t : op.outputs) d = out_.tensors[t].dtype;
        prec = d == DType::kInt8 ? "int8" : d == DType::kInt16 ? "int16" : std::string(ir::DTypeName(d));
      }
      ++report_->op_counts[{std::string(ir::OpTypeName(op.type)), prec}];
    }
  }

  const ir::Graph& src_;
  const std::vector<TensorRange>& ranges_;
  const QuantizeOptions& opts_;
  QuantizeReport* report_;
  ir::Graph out_;
  std::vector<Precision> prec_;
  std::map<std::pair<int, Precision>, int> copies_;
  std::map<int, int> produced_;
  std::map<int, Precision> produced_prec_;
  std::set<int> noted_;
  int shared_from_ = -1;
};

}  // namespace

std::string_view PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFloat: return "float32";
    case Precision::kInt8: return "int8";
    case Precision::kInt16: return "int16";
  }
  return "?";
}

bool HasIntegerKernel(OpType t, Precision p) {
  if (p == Precision::kFloat) return true;
  if (p == Precision::kInt8)
    return In(t, {OpType::kCONV_2D, OpType::kDEPTHWISE_CONV_2D, OpType::kFULLY_CONNECTED,
                  OpType::kTRANSPOSE_CONV, OpType::kADD, OpType::kSUB, OpType::kMUL,
                  OpType::kAVERAGE_POOL_2D, OpType::kMAX_POOL_2D, OpType::kRESHAPE, OpType::kSQUEEZE,
                  OpType::kEXPAND_DIMS, OpType::kSOFTMAX, OpType::kLOG_SOFTMAX, OpType::kLOGISTIC,
                  OpType::kTANH, OpType::kCONCATENATION, OpType::kMEAN, OpType::kPAD, OpType::kPADV2,
                  OpType::kRELU, OpType::kRELU6, OpType::kRELU_N1_TO_1, OpType::kLEAKY_RELU,
                  OpType::kHARD_SWISH, OpType::kRESIZE_BILINEAR, OpType::kRESIZE_NEAREST_NEIGHBOR,
                  OpType::kSTRIDED_SLICE, OpType::kSLICE, OpType::kTRANSPOSE, OpType::kMAXIMUM,
                  OpType::kMINIMUM, OpType::kGATHER, OpType::kSPLIT, OpType::kPACK, OpType::kUNPACK,
                  OpType::kTILE, OpType::kELU});
  // int16x8: the kernels TFLite 2.9 has for 16-bit activations that quantlens reproduces.
  return In(t, {OpType::kCONV_2D, OpType::kDEPTHWISE_CONV_2D, OpType::kFULLY_CONNECTED, OpType::kADD,
                OpType::kSUB, OpType::kMUL, OpType::kAVERAGE_POOL_2D, OpType::kMAX_POOL_2D,
                OpType::kRESHAPE, OpType::kSQUEEZE, OpType::kEXPAND_DIMS, OpType::kSOFTMAX,
                OpType::kLOGISTIC, OpType::kTANH, OpType::kCONCATENATION, OpType::kMEAN, OpType::kPAD,
                OpType::kPADV2, OpType::kRELU, OpType::kRELU6, OpType::kLEAKY_RELU,
                OpType::kSTRIDED_SLICE, OpType::kTRANSPOSE, OpType::kRESIZE_BILINEAR,
                OpType::kRESIZE_NEAREST_NEIGHBOR});
}

Status CheckQuantizeOptions(const QuantizeOptions& options) {
  for (DType t : {options.input_type, options.output_type})
    if (t != DType::kFloat32 && t != DType::kInt8 && t != DType::kUInt8 && t != DType::kInt16)
      return InvalidArgument("input/output type {} is not one of float32, int8, uint8, int16",
                             ir::DTypeName(t));
  if (options.activations == Precision::kInt8 &&
      (options.input_type == DType::kInt16 || options.output_type == DType::kInt16))
    return InvalidArgument("int16 inputs or outputs need --mode int16x8");
  if (options.activations == Precision::kInt16 &&
      (options.input_type == DType::kInt8 || options.input_type == DType::kUInt8 ||
       options.output_type == DType::kInt8 || options.output_type == DType::kUInt8))
    return InvalidArgument("--mode int16x8 takes float32 or int16 inputs and outputs");
  return Status::Ok();
}

Result<ir::Graph> QuantizeGraph(const ir::Graph& float_graph, const std::vector<TensorRange>& ranges,
                                const QuantizeOptions& options, QuantizeReport* report) {
  QL_RETURN_IF_ERROR(CheckQuantizeOptions(options));
  Rewriter r(float_graph, ranges, options, report);
  return r.Run();
}

}  // namespace ql::passes
