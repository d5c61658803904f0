// CompareModels: the sample loop of `quantlens compare`. Per sample it runs
//  1. the reference, capturing every aligned layer output;
//  2. the candidate end to end: output metrics and the accumulated error of every layer;
//  3. with layers, the candidate again with a hook that, after each op writing an aligned tensor,
//     records the op's result against the reference (the isolated error) and then substitutes
//     the reference's value, quantized as the candidate stores it, before the run continues;
//  4. with a budget, the candidate's graph in float (passes/float_simulation.h) twice: with its
//     dequantized weights only, and with its activations rounded to their grids too.
// Inputs are kept and fed again before each rerun: the arena reuses input memory once an input
// is dead.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "quantlens/analysis/analysis_internal.h"
#include "quantlens/analysis/compare.h"
#include "quantlens/ir/graph_compare.h"
#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/quant_math.h"
#include "quantlens/passes/float_simulation.h"
#include "quantlens/passes/graph_edit.h"

namespace ql::analysis {

namespace {

// Writes reference values into a candidate tensor as the candidate stores them.
void Substitute(std::span<const float> ref, rt::TensorRef& out) {
  const size_t n = std::min(ref.size(), static_cast<size_t>(std::max<int64_t>(out.num_elements(), 0)));
  if (!out.mutable_data()) return;
  const float s = out.scale();
  const double zp = out.zero_point();
  int32_t qmin, qmax;
  kern::QuantizedTypeRange(out.dtype(), &qmin, &qmax);
  auto quantize = [&](auto* dst) {
    // A non-finite reference value is stored as 0 is.
    for (size_t i = 0; i < n; ++i)
      dst[i] = static_cast<std::remove_pointer_t<decltype(dst)>>(
          passes::QuantizeToGrid(std::isfinite(ref[i]) ? ref[i] : 0.0f, s, zp, qmin, qmax));
  };
  switch (out.dtype()) {
    case ir::DType::kFloat32: std::memcpy(out.mutable_data(), ref.data(), n * sizeof(float)); break;
    case ir::DType::kInt8: if (s > 0) quantize(out.mut<int8_t>()); break;
    case ir::DType::kUInt8: if (s > 0) quantize(out.mut<uint8_t>()); break;
    case ir::DType::kInt16: if (s > 0) quantize(out.mut<int16_t>()); break;
    default: break;  // a type with no float meaning: left as computed
  }
}

// The ops between the tensors aligned before `tensor` and `tensor` itself, in execution order:
// on the candidate side what an isolated run exercises for this layer, on the reference side the
// layers a conversion fused into it.
std::vector<int> SegmentOps(const ir::Graph& g, const passes::UseDef& ud, int tensor, const std::set<int>& aligned) {
  std::vector<int> ops;
  std::set<int> seen;
  std::vector<int> stack = {tensor};
  while (!stack.empty() && seen.size() < 64) {
    const int t = stack.back();
    stack.pop_back();
    const int op = t >= 0 && t < static_cast<int>(ud.producer.size()) ? ud.producer[t] : -1;
    if (op < 0 || !seen.insert(op).second) continue;
    ops.push_back(op);
    for (int in : g.ops[op].inputs)
      if (in >= 0 && !g.tensors[in].is_constant && !aligned.count(in)) stack.push_back(in);
  }
  std::sort(ops.begin(), ops.end());
  return ops;
}

// Layers of the reference's segment other than `layer`: what the candidate fused into it.
std::vector<std::string> FusedLayers(const ir::Graph& g, const std::vector<int>& ops, const std::string& layer) {
  std::vector<std::string> out;
  for (int op : ops) {
    const std::string& l = g.ops[op].layer;
    if (!l.empty() && l != layer && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  }
  return out;
}

// Lookup-table and fixed-point activations: their integer kernels approximate the function.
bool IsApproximatedActivation(ir::OpType t) {
  using T = ir::OpType;
  return t == T::kLOGISTIC || t == T::kTANH || t == T::kSOFTMAX || t == T::kLOG_SOFTMAX ||
         t == T::kHARD_SWISH || t == T::kEXP || t == T::kELU || t == T::kGELU;
}

// The first graph-level difference only matters as "same arithmetic asked of both": identical
// files (or identical graphs) compared under two numerics profiles.
bool SameGraph(const ir::Graph& a, const ir::Graph& b) { return ir::DiffGraphs(a, b).empty(); }

// The grid a float graph input is quantized to right away: the output of the QUANTIZE ops that
// are its only readers (quantlens's int8 files keep a float input), or -1.
int InputGrid(const ir::Graph& g, const passes::UseDef& ud, int input) {
  if (g.tensors[input].dtype != ir::DType::kFloat32 || ud.consumers[input].empty()) return -1;
  int grid = -1;
  for (int op : ud.consumers[input]) {
    const ir::Op& o = g.ops[op];
    if (o.type != ir::OpType::kQUANTIZE || o.outputs.size() != 1) return -1;
    const ir::Tensor& q = g.tensors[o.outputs[0]];
    if (q.quant.empty()) return -1;
    if (grid >= 0 && g.tensors[grid].quant.scale != q.quant.scale) return -1;
    grid = o.outputs[0];
  }
  return grid;
}

bool HasQuantizedActivations(const ir::Graph& g) {
  for (const ir::Tensor& t : g.tensors)
    if (!t.is_constant && !t.quant.empty() && ir::IsInteger(t.dtype)) return true;
  return false;
}

bool HasFloat16(const ir::Graph& g) {
  for (const ir::Tensor& t : g.tensors)
    if (t.dtype == ir::DType::kFloat16) return true;
  return false;
}

// Weight-only quantization leaves float activations but still has weight error to budget.
bool HasQuantizedConstants(const ir::Graph& g) {
  for (const ir::Tensor& t : g.tensors)
    if (t.is_constant && !t.quant.empty()) return true;
  return false;
}

// A graph input's grid (InputGrid), found once and kept with the statistics against it.
struct InputGridStats {
  int grid;  // the candidate tensor (see InputGrid)
  TensorStatsAccumulator stats;
};

// A reference without a layer map (a .tflite from TensorFlow's converter) gets one: every op
// output is a "layer" named by its tensor, so that the same file or a file from the same
// converter aligns by name.
ir::Graph WithTensorLayers(const ir::Graph& g) {
  ir::Graph out = g;
  for (int t : g.inputs) out.layer_outputs.push_back({g.tensors[t].name, 0, t});
  for (const ir::Op& op : g.ops)
    for (int t : op.outputs)
      if (t >= 0 && !g.tensors[t].is_constant) out.layer_outputs.push_back({g.tensors[t].name, 0, t});
  return out;
}

double Drop(double prev, double cur) {
  if (std::isinf(prev) && std::isinf(cur)) return 0;
  return prev - cur;
}

// Both runs of the error budget on the candidate's float graph.
struct BudgetRuns {
  ir::Graph graph;
  std::unique_ptr<rt::Interpreter> weights_only, with_activations;
  double sq_total = 0, sq_weight = 0, sq_activation = 0;
  int64_t values = 0, samples = 0;
};

Result<std::unique_ptr<BudgetRuns>> OpenBudget(const ir::Graph& candidate, rt::Profile profile,
                                               int threads) {
  auto b = std::make_unique<BudgetRuns>();
  QL_ASSIGN_OR_RETURN(b->graph, passes::FloatSimulationGraph(candidate));
  rt::InterpreterOptions o;
  o.profile = profile;
  o.threads = threads;
  QL_ASSIGN_OR_RETURN(b->weights_only, rt::Interpreter::Create(b->graph, o));
  QL_ASSIGN_OR_RETURN(b->with_activations, rt::Interpreter::Create(b->graph, o));
  // Activations rounded to the candidate's grid after every op, as the integer model stores them.
  b->with_activations->AddHook([&candidate](const rt::OpEvent& e) {
    if (e.folded) return;
    const ir::Op& op = e.graph.ops[e.op_index];
    for (size_t k = 0; k < e.outputs.size() && k < op.outputs.size(); ++k) {
      rt::TensorRef& out = *e.outputs[k];
      if (out.dtype() != ir::DType::kFloat32 || !out.mutable_data()) continue;
      passes::FakeQuantize(candidate.tensors[op.outputs[k]],
                           std::span<float>(out.mut<float>(), static_cast<size_t>(out.num_elements())));
    }
  });
  return b;
}

// Feeds the budget runs the reference's inputs as floats (rounded to the candidate's input grid
// for the run with quantized activations).
Status FeedBudget(BudgetRuns& b, const ir::Graph& candidate, rt::Interpreter& ref) {
  for (int i = 0; i < ref.num_inputs(); ++i) {
    QL_ASSIGN_OR_RETURN(std::vector<float> x, TensorValues(ref.input(i)));
    const size_t bytes = x.size() * sizeof(float);
    QL_RETURN_IF_ERROR(b.weights_only->SetInput(i, x.data(), bytes));
    passes::FakeQuantize(candidate.tensors[candidate.inputs[i]], x);
    QL_RETURN_IF_ERROR(b.with_activations->SetInput(i, x.data(), bytes));
  }
  return Status::Ok();
}

// Runs op e.op_index of the float simulation on the candidate's own inputs (dequantized) and adds
// the candidate's result against it to act_err[op].
Status ActivationError(rt::Interpreter& float_sim, const rt::OpEvent& e, const ir::Graph& candidate,
                       std::map<int, TensorStatsAccumulator>& act_err) {
  std::vector<std::vector<float>> in_values(e.inputs.size());
  std::vector<const void*> ins(e.inputs.size(), nullptr);
  for (size_t k = 0; k < e.inputs.size(); ++k) {
    if (!e.inputs[k] || e.inputs[k]->is_static) continue;
    QL_ASSIGN_OR_RETURN(in_values[k], TensorValues(*e.inputs[k]));
    ins[k] = in_values[k].data();
  }
  const rt::TensorRef& out = *e.outputs[0];
  std::vector<float> ideal(static_cast<size_t>(std::max<int64_t>(out.num_elements(), 0)));
  void* outs[] = {ideal.data()};
  QL_RETURN_IF_ERROR(float_sim.RunOp(e.op_index, ins, outs));
  QL_ASSIGN_OR_RETURN(std::vector<float> got, TensorValues(out));
  const ir::Tensor& t = candidate.tensors[e.graph.ops[e.op_index].outputs[0]];
  act_err.try_emplace(e.op_index, t, 0).first->second.Add(ideal, got, out.shape);
  return Status::Ok();
}

}  // namespace

Result<CompareResult> CompareModels(const ir::Graph& reference_in, const ir::Graph& candidate,
                                    const CompareOptions& options) {
  const bool layers = options.layers;
  ir::Graph tensor_layers;
  const bool synth_layers = layers && reference_in.layer_outputs.empty();
  if (synth_layers) tensor_layers = WithTensorLayers(reference_in);
  const ir::Graph& reference = synth_layers ? tensor_layers : reference_in;

  QL_ASSIGN_OR_RETURN(auto model_pair, ModelPair::Open(reference, candidate, options, /*same_outputs=*/true));
  rt::Interpreter& ref = model_pair->reference();
  rt::Interpreter& cand = model_pair->candidate();
  io::SampleSource& source = model_pair->source();

  CompareResult res;
  res.data_description = source.description();
  res.num_samples = source.num_samples();
  res.context.same_graph = SameGraph(reference_in, candidate);
  res.context.reference_numerics = std::string(rt::ProfileName(options.reference_profile));
  res.context.candidate_numerics = std::string(rt::ProfileName(options.candidate_profile));
  res.context.reference_is_source = !HasQuantizedActivations(reference_in) && !HasFloat16(reference_in);
  res.context.candidate_float16 = HasFloat16(candidate);

  // --- Alignment and per-pair state ---
  LayerAlignment align;
  if (layers) {
    QL_ASSIGN_OR_RETURN(align, AlignLayers(reference, candidate));
    if (!align.unaligned_reference.empty() && source.num_samples() > 0)
      QL_RETURN_IF_ERROR(AlignByValues(reference, candidate, *model_pair, align));
  }
  const size_t n = align.pairs.size();
  std::vector<std::vector<float>> ref_vals(n), cand_vals(n);
  std::vector<bool> ref_got(n), cand_got(n);
  std::multimap<int, size_t> ref_slots, cand_slots;
  std::map<int, size_t> iso_slot;  // candidate tensor -> the first pair it carries
  std::set<int> aligned_cand;
  std::vector<TensorStatsAccumulator> acc, iso;
  for (size_t i = 0; i < n; ++i) {
    ref_slots.emplace(align.pairs[i].reference_tensor, i);
    cand_slots.emplace(align.pairs[i].candidate_tensor, i);
    iso_slot.emplace(align.pairs[i].candidate_tensor, i);
    aligned_cand.insert(align.pairs[i].candidate_tensor);
    acc.emplace_back(candidate.tensors[align.pairs[i].candidate_tensor], 4096);
    iso.emplace_back(candidate.tensors[align.pairs[i].candidate_tensor], 0);
  }
  std::vector<ir::Shape> cand_shapes(n);
  // Graph-input pairs of a float input the candidate quantizes at once: the data against that grid.
  const passes::UseDef ud = passes::BuildUseDef(candidate);
  std::map<size_t, InputGridStats> input_grid;
  for (size_t i = 0; i < n; ++i) {
    const int t = align.pairs[i].candidate_tensor;
    if (ud.producer[t] >= 0 || std::find(candidate.inputs.begin(), candidate.inputs.end(), t) == candidate.inputs.end())
      continue;
    if (const int grid = InputGrid(candidate, ud, t); grid >= 0)
      input_grid.emplace(i, InputGridStats{grid, TensorStatsAccumulator(candidate.tensors[grid])});
  }
  Status capture_error;
  bool capturing = true;
  auto capture = [&](const std::multimap<int, size_t>& slots, std::vector<std::vector<float>>& vals,
                     std::vector<bool>& got, int tensor, const rt::TensorRef& t) {
    auto [b, e] = slots.equal_range(tensor);
    if (b == e || !capture_error.ok() || !capturing) return;
    auto f = TensorValues(t);
    if (!f.ok()) {
      capture_error = f.status().WithContext(fmt::format("tensor '{}': ", t.info->name));
      return;
    }
    for (auto it = b; it != e; ++it) {
      if (std::next(it) == e) {
        vals[it->second] = std::move(*f);  // the last (usually only) slot takes the buffer
      } else {
        vals[it->second] = *f;
      }
      got[it->second] = true;
    }
  };
  if (layers) {
    ref.AddObserver([&](const ir::Graph& g, int op, std::span<const rt::TensorRef* const> outs) {
      for (size_t k = 0; k < outs.size() && k < g.ops[op].outputs.size(); ++k)
        capture(ref_slots, ref_vals, ref_got, g.ops[op].outputs[k], *outs[k]);
    });
    cand.AddObserver([&](const ir::Graph& g, int op, std::span<const rt::TensorRef* const> outs) {
      for (size_t k = 0; k < outs.size() && k < g.ops[op].outputs.size(); ++k)
        capture(cand_slots, cand_vals, cand_got, g.ops[op].outputs[k], *outs[k]);
    });
  }
  // The isolated run: record the candidate's own result, then give it the reference's value.
  // Approximated activations are also run in float on the same (dequantized) inputs with the op
  // runner of the candidate's float simulation: what the lookup table or fixed-point math costs
  // beyond rounding the result.
  bool isolating = false;
  std::map<int, TensorStatsAccumulator> act_err;
  std::unique_ptr<BudgetRuns> budget;
  cand.AddHook([&](const rt::OpEvent& e) {
    if (!isolating || !capture_error.ok()) return;
    const ir::Op& op = e.graph.ops[e.op_index];
    if (budget && IsApproximatedActivation(op.type) && e.outputs.size() == 1 && !e.folded &&
        !candidate.tensors[op.outputs[0]].quant.empty()) {
      Status st = ActivationError(*budget->weights_only, e, candidate, act_err);
      if (!st.ok()) capture_error = st.WithContext("activation check: ");
    }
    for (size_t k = 0; k < e.outputs.size() && k < op.outputs.size(); ++k) {
      auto it = iso_slot.find(op.outputs[k]);
      if (it == iso_slot.end() || !ref_got[it->second]) continue;
      rt::TensorRef& out = *e.outputs[k];
      auto f = TensorValues(out);
      if (!f.ok()) {
        capture_error = f.status();
        return;
      }
      const std::vector<float>& r = ref_vals[it->second];
      if (f->size() != r.size()) continue;
      iso[it->second].Add(r, *f, out.shape);
      if (!e.folded) Substitute(r, out);
    }
  });

  // --- Error budget ---
  if (layers && options.budget) {
    if (!res.context.reference_is_source) {
      res.budget_note = "the reference is itself quantized: the budget splits error against a float reference";
    } else if (!HasQuantizedActivations(candidate) && !HasFloat16(candidate) && !HasQuantizedConstants(candidate)) {
      res.budget_note = "the candidate is a float model: nothing is quantized";
    } else {
      auto b = OpenBudget(candidate, options.candidate_profile, options.threads);
      if (b.ok()) {
        budget = std::move(*b);
      } else {
        res.budget_note = fmt::format("the candidate's float simulation cannot run: {}", b.status().message());
      }
    }
  }

  std::vector<OutputAccumulator> out_acc(static_cast<size_t>(ref.num_outputs()));
  std::vector<TensorStatsAccumulator> scatter;
  for (int k = 0; k < ref.num_outputs(); ++k)
    scatter.emplace_back(candidate.tensors[candidate.outputs[k]], options.scatter_points);
  std::vector<bool> dead(n);
  std::vector<std::string> dead_reason(n);
  std::vector<std::vector<uint8_t>> cand_inputs(static_cast<size_t>(cand.num_inputs()));

  const int64_t budget_stride =
      options.budget_samples > 0 ? std::max<int64_t>(1, (res.num_samples + options.budget_samples - 1) / options.budget_samples) : 1;
  for (int64_t s = 0; s < res.num_samples; ++s) {
    const bool budget_here = budget && s % budget_stride == 0;
    std::fill(ref_got.begin(), ref_got.end(), false);
    std::fill(cand_got.begin(), cand_got.end(), false);
    QL_RETURN_IF_ERROR(model_pair->Feed(s));
    for (int i = 0; i < cand.num_inputs(); ++i) {
      const auto* p = static_cast<const uint8_t*>(cand.input(i).data);
      cand_inputs[i].assign(p, p + cand.input(i).bytes());
      capture(ref_slots, ref_vals, ref_got, reference.inputs[i], ref.input(i));
      capture(cand_slots, cand_vals, cand_got, candidate.inputs[i], cand.input(i));
    }
    if (budget_here) QL_RETURN_IF_ERROR(FeedBudget(*budget, candidate, ref).WithContext("error budget: "));
    QL_RETURN_IF_ERROR(ref.Invoke().WithContext("reference: "));
    QL_RETURN_IF_ERROR(cand.Invoke().WithContext("candidate: "));
    QL_RETURN_IF_ERROR(capture_error);
    std::vector<std::vector<float>> ref_out(static_cast<size_t>(ref.num_outputs()));
    for (int k = 0; k < ref.num_outputs(); ++k) {
      const rt::TensorRef& ro_t = ref.output(k);
      const rt::TensorRef& co_t = cand.output(k);
      QL_ASSIGN_OR_RETURN(ref_out[k], TensorValues(ro_t));
      QL_ASSIGN_OR_RETURN(std::vector<float> c, TensorValues(co_t));
      if (ref_out[k].size() != c.size())
        return InvalidArgument("output {}: the reference gives {} values ({}) and the candidate {} "
                               "({})", k, ref_out[k].size(), ir::ShapeToString(ro_t.shape), c.size(),
                               ir::ShapeToString(co_t.shape));
      out_acc[k].Add(s, ref_out[k], c, source.Label(s));
      scatter[k].Add(ref_out[k], c, co_t.shape);
      if (budget_here) {
        double sq = 0;
        for (size_t v = 0; v < c.size(); ++v) sq += (c[v] - ref_out[k][v]) * double(c[v] - ref_out[k][v]);
        budget->sq_total += sq;
      }
    }
    if (layers) {
      for (size_t i = 0; i < n; ++i) {
        if (dead[i]) continue;
        if (!ref_got[i] || !cand_got[i]) {
          dead[i] = true;
          dead_reason[i] = fmt::format("the {} never computed it", ref_got[i] ? "candidate" : "reference");
        } else if (ref_vals[i].size() != cand_vals[i].size()) {
          dead[i] = true;
          dead_reason[i] = fmt::format("at run time the reference gives {} values and the candidate {}",
                                       ref_vals[i].size(), cand_vals[i].size());
        } else {
          cand_shapes[i] = cand.tensor_shape(align.pairs[i].candidate_tensor);
          acc[i].Add(ref_vals[i], cand_vals[i], cand_shapes[i]);
          if (auto g = input_grid.find(i); g != input_grid.end()) {
            std::vector<float> q = ref_vals[i];
            passes::FakeQuantize(candidate.tensors[g->second.grid], q);
            g->second.stats.Add(ref_vals[i], q, cand_shapes[i]);
          }
        }
      }
      // Isolated run. Graph-input pairs have no producing op: their isolated error is the
      // accumulated one (the input's own quantization).
      for (int i = 0; i < cand.num_inputs(); ++i)
        QL_RETURN_IF_ERROR(cand.SetInput(i, cand_inputs[i].data(), cand_inputs[i].size()));
      capturing = false;
      isolating = true;
      Status st = cand.Invoke();
      isolating = false;
      capturing = true;
      QL_RETURN_IF_ERROR(st.WithContext("candidate (isolated run): "));
      QL_RETURN_IF_ERROR(capture_error);
    }
    if (budget_here) {
      QL_RETURN_IF_ERROR(budget->weights_only->Invoke().WithContext("error budget (float weights): "));
      QL_RETURN_IF_ERROR(budget->with_activations->Invoke().WithContext("error budget (activations): "));
      for (int k = 0; k < ref.num_outputs(); ++k) {
        QL_ASSIGN_OR_RETURN(std::vector<float> w, TensorValues(budget->weights_only->output(k)));
        QL_ASSIGN_OR_RETURN(std::vector<float> wa, TensorValues(budget->with_activations->output(k)));
        for (size_t v = 0; v < w.size() && v < ref_out[k].size(); ++v) {
          budget->sq_weight += (w[v] - ref_out[k][v]) * double(w[v] - ref_out[k][v]);
          budget->sq_activation += (wa[v] - ref_out[k][v]) * double(wa[v] - ref_out[k][v]);
        }
        budget->values += static_cast<int64_t>(ref_out[k].size());
      }
      ++budget->samples;
    }
    if (options.progress) options.progress(s + 1, res.num_samples);
  }

  for (int k = 0; k < ref.num_outputs(); ++k) {
    OutputComparison oc;
    oc.reference_name = reference.tensors[reference.outputs[k]].name;
    oc.candidate_name = candidate.tensors[candidate.outputs[k]].name;
    oc.metrics = out_acc[k].Finish();
    oc.worst = out_acc[k].Worst(options.worst_samples);
    oc.flips = out_acc[k].Flips();
    oc.scatter_reference = scatter[k].kept_reference();
    oc.scatter_candidate = scatter[k].kept_candidate();
    res.outputs.push_back(std::move(oc));
  }
  if (!res.outputs.empty()) {
    for (const SampleResult& f : res.outputs[0].flips) {
      if (res.flip_inputs.size() >= options.flip_images) break;
      QL_RETURN_IF_ERROR(model_pair->Feed(f.index));
      res.flip_inputs.emplace_back(f.index, model_pair->last_sample());
    }
  }
  if (!layers) return res;

  // --- Per-layer reports ---
  res.unaligned_reference = std::move(align.unaligned_reference);
  res.unaligned_candidate = std::move(align.unaligned_candidate);
  const passes::UseDef ref_ud = passes::BuildUseDef(reference);
  std::set<int> aligned_ref;
  for (size_t i = 0; i < n; ++i)
    if (!dead[i]) aligned_ref.insert(align.pairs[i].reference_tensor);
  double prev = 0;
  bool have_prev = false;
  for (size_t i = 0; i < n; ++i) {
    const LayerPair& p = align.pairs[i];
    if (dead[i]) {
      res.unaligned_reference.push_back({p.layer, dead_reason[i], p.layer, p.node, p.reference_tensor});
      continue;
    }
    LayerReport l;
    l.pair = p;
    l.candidate_name = candidate.tensors[p.candidate_tensor].name;
    l.candidate_dtype = candidate.tensors[p.candidate_tensor].dtype;
    const int producer = ud.producer[p.candidate_tensor];
    l.candidate_op = producer >= 0 ? std::string(ir::OpTypeName(candidate.ops[producer].type)) : "INPUT";
    const std::vector<int> seg = SegmentOps(candidate, ud, p.candidate_tensor, aligned_cand);
    for (int op : seg) {
      l.segment_ops.emplace_back(ir::OpTypeName(candidate.ops[op].type));
      // The activation the segment approximates worst, measured against the same op in float.
      auto it = act_err.find(op);
      if (it == act_err.end() || it->second.empty()) continue;
      TensorStats st = it->second.Finish();
      if (!l.activation_error || st.rmse_over_step.value_or(0) > l.activation_error->rmse_over_step.value_or(0)) {
        l.activation_error = st;
        l.activation_op = std::string(ir::OpTypeName(candidate.ops[op].type));
      }
    }
    l.fused_layers = FusedLayers(reference, SegmentOps(reference, ref_ud, p.reference_tensor, aligned_ref), p.layer);
    l.accumulated = acc[i].Finish();
    // (In a same-graph comparison both sides quantize the data alike: no difference to report.)
    if (auto g = input_grid.find(i);
        producer < 0 && !res.context.same_graph && g != input_grid.end() && !g->second.stats.empty()) {
      l.isolated = g->second.stats.Finish();  // the data as the candidate's first QUANTIZE stores it
    } else if (producer < 0) {
      l.isolated = l.accumulated;
    } else if (iso_slot.at(p.candidate_tensor) == i && !iso[i].empty()) {
      l.isolated = iso[i].Finish();
    } else if (!iso[iso_slot.at(p.candidate_tensor)].empty()) {
      l.isolated = iso[iso_slot.at(p.candidate_tensor)].Finish();
    }
    l.weights = WeightEvidenceFor(candidate, ud, p.candidate_tensor);
    l.sqnr_drop_db = have_prev ? Drop(prev, l.accumulated.sqnr_db) : 0;
    prev = l.accumulated.sqnr_db;
    have_prev = true;
    ClassifyLayer(l, res.context);
    res.layers.push_back(std::move(l));
  }
  // Which aligned layers feed each one (through its segment's inputs).
  std::map<int, size_t> layer_of_tensor;
  for (size_t li = 0; li < res.layers.size(); ++li) layer_of_tensor.emplace(res.layers[li].pair.candidate_tensor, li);
  for (LayerReport& l : res.layers) {
    for (int op : SegmentOps(candidate, ud, l.pair.candidate_tensor, aligned_cand))
      for (int in : candidate.ops[op].inputs)
        if (auto it = layer_of_tensor.find(in); in >= 0 && it != layer_of_tensor.end() &&
            std::find(l.input_layers.begin(), l.input_layers.end(), it->second) == l.input_layers.end())
          l.input_layers.push_back(it->second);
  }
  RankLayers(res.layers);
  // A reference layer with no output of its own in the candidate was fused into a later one.
  for (UnalignedLayer& u : res.unaligned_reference) {
    for (const LayerReport& l : res.layers) {
      if (std::find(l.fused_layers.begin(), l.fused_layers.end(), u.name) == l.fused_layers.end()) continue;
      u.reason = fmt::format("fused by the conversion: the candidate computes it within layer '{}' ({} '{}')",
                             l.pair.layer, l.candidate_op, l.candidate_name);
      break;
    }
  }
  // Histograms for the worst-ranked layers.
  for (size_t i = 0, li = 0; li < res.layers.size(); ++li) {
    LayerReport& l = res.layers[li];
    if (l.rank < 1 || static_cast<size_t>(l.rank) > options.histogram_layers) continue;
    for (i = 0; i < n; ++i)
      if (align.pairs[i].reference_tensor == l.pair.reference_tensor &&
          align.pairs[i].candidate_tensor == l.pair.candidate_tensor && align.pairs[i].layer == l.pair.layer)
        break;
    if (i < n) l.histogram = acc[i].MakeHistogram(40);
  }
  if (budget && budget->values > 0) {
    ErrorBudget b;
    const double nv = static_cast<double>(budget->values);
    b.samples = budget->samples;
    b.total_mse = budget->sq_total / nv;
    b.weight.mse = budget->sq_weight / nv;
    b.activation.mse = std::max(0.0, budget->sq_activation - budget->sq_weight) / nv;
    b.kernel.mse = std::max(0.0, budget->sq_total - budget->sq_activation) / nv;
    const double sum = b.weight.mse + b.activation.mse + b.kernel.mse;
    if (sum > 0) {
      b.weight.share = b.weight.mse / sum;
      b.activation.share = b.activation.mse / sum;
      b.kernel.share = b.kernel.mse / sum;
    }
    res.budget = b;
  }
  res.findings = ModelFindings(res.layers, res.context, res.budget);
  return res;
}

}  // namespace ql::analysis
