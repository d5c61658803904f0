// Alignment by value, the last resort when neither layer maps nor names pair a layer: a candidate
// from a converter that renames everything still aligns, and the report says how each pair was
// found. Cosine similarity alone ignores scale, so the norms must also agree within 1.5x.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "quantlens/analysis/analysis_internal.h"

namespace ql::analysis {
namespace {

constexpr double kMinCosine = 0.98;
constexpr double kMinLead = 0.005;  // candidates closer than this to a layer's best match tie
constexpr double kMaxNormRatio = 1.5;

bool Comparable(ir::DType d) {
  return d == ir::DType::kFloat32 || d == ir::DType::kInt8 || d == ir::DType::kUInt8 || d == ir::DType::kInt16;
}

struct Sums {
  double dot = 0, rr = 0, cc = 0;
};

}  // namespace

Status AlignByValues(const ir::Graph& reference, const ir::Graph& candidate, ModelPair& pair,
                     LayerAlignment& align, int64_t samples) {
  rt::Interpreter& ref = pair.reference();
  rt::Interpreter& cand = pair.candidate();
  std::set<int> paired;
  for (const LayerPair& p : align.pairs) paired.insert(p.candidate_tensor);
  // Candidate tensors no layer has: computed, of a type with values, unpaired.
  std::map<int64_t, std::vector<int>> pool;  // by element count
  for (const ir::Op& op : candidate.ops)
    for (int t : op.outputs)
      if (t >= 0 && !paired.count(t) && !candidate.tensors[t].is_constant && Comparable(candidate.tensors[t].dtype))
        pool[ir::ShapeProduct(cand.tensor_shape(t))].push_back(t);
  // Reference layers to place, and for each the candidate tensors of its size.
  std::map<int, std::vector<int>> options;  // reference tensor -> candidate tensors
  for (const UnalignedLayer& u : align.unaligned_reference) {
    if (u.tensor < 0 || !Comparable(reference.tensors[u.tensor].dtype)) continue;
    auto it = pool.find(ir::ShapeProduct(ref.tensor_shape(u.tensor)));
    if (it != pool.end()) options[u.tensor] = it->second;
  }
  if (options.empty()) return Status::Ok();

  std::set<int> want_ref, want_cand;
  for (const auto& [r, cs] : options) {
    want_ref.insert(r);
    want_cand.insert(cs.begin(), cs.end());
  }
  std::map<int, std::vector<float>> ref_vals, cand_vals;
  Status error;
  auto observer = [&error](const std::set<int>& want, std::map<int, std::vector<float>>& vals) {
    return [&, want_p = &want, vals_p = &vals](const ir::Graph& g, int op, std::span<const rt::TensorRef* const> outs) {
      for (size_t k = 0; k < outs.size() && k < g.ops[op].outputs.size(); ++k) {
        const int t = g.ops[op].outputs[k];
        if (!want_p->count(t) || !error.ok()) continue;
        auto v = TensorValues(*outs[k]);
        if (v.ok()) {
          (*vals_p)[t] = std::move(*v);
        } else {
          error = v.status();
        }
      }
    };
  };
  ref.AddObserver(observer(want_ref, ref_vals));
  cand.AddObserver(observer(want_cand, cand_vals));
  std::map<std::pair<int, int>, Sums> sums;
  const int64_t n = std::min<int64_t>(samples, pair.source().num_samples());
  Status run;
  for (int64_t s = 0; s < n && run.ok(); ++s) {
    run = pair.Feed(s);
    if (run.ok()) run = ref.Invoke().WithContext("reference: ");
    if (run.ok()) run = cand.Invoke().WithContext("candidate: ");
    if (run.ok()) run = error;
    if (!run.ok()) break;
    for (const auto& [r, cs] : options) {
      auto rv = ref_vals.find(r);
      if (rv == ref_vals.end()) continue;
      for (int c : cs) {
        auto cv = cand_vals.find(c);
        if (cv == cand_vals.end() || cv->second.size() != rv->second.size()) continue;
        Sums& sm = sums[{r, c}];
        for (size_t i = 0; i < rv->second.size(); ++i) {
          const double a = rv->second[i], b = cv->second[i];
          sm.dot += a * b;
          sm.rr += a * a;
          sm.cc += b * b;
        }
      }
    }
  }
  ref.ClearObservers();
  cand.ClearObservers();
  QL_RETURN_IF_ERROR(run.WithContext("aligning layers by value: "));

  // Per reference layer in execution order: the candidates within kMinLead of its best match.
  // Identical values (an average pool and the flatten after it, on both sides) tie; the earliest
  // unused candidate goes to the earliest layer, so chains pair in order.
  const std::map<int, int64_t> ref_pos = ExecutionOrder(reference), cand_pos = ExecutionOrder(candidate);
  std::map<int, std::vector<std::pair<double, int>>> fits;  // ref -> (cosine, cand)
  for (const auto& [key, sm] : sums) {
    if (sm.rr <= 0 || sm.cc <= 0) continue;
    const double cosine = sm.dot / (std::sqrt(sm.rr) * std::sqrt(sm.cc));
    const double ratio = std::sqrt(sm.cc / sm.rr);
    if (cosine >= kMinCosine && ratio <= kMaxNormRatio && ratio >= 1.0 / kMaxNormRatio)
      fits[key.first].push_back({cosine, key.second});
  }
  std::vector<int> order;
  for (const auto& [r, f] : fits) order.push_back(r);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return ref_pos.at(a) < ref_pos.at(b); });
  std::set<int> used_cand;
  std::map<int, int> chosen;
  for (int r : order) {
    double best = -1;
    for (const auto& [c, t] : fits[r])
      if (!used_cand.count(t)) best = std::max(best, c);
    int pick = -1;
    for (const auto& [c, t] : fits[r])
      if (!used_cand.count(t) && c >= best - kMinLead && (pick < 0 || cand_pos.at(t) < cand_pos.at(pick))) pick = t;
    if (pick < 0) continue;
    used_cand.insert(pick);
    chosen[r] = pick;
  }
  if (chosen.empty()) return Status::Ok();
  std::vector<UnalignedLayer> still;
  std::set<std::string> taken_names;
  for (UnalignedLayer& u : align.unaligned_reference) {
    auto it = u.tensor >= 0 ? chosen.find(u.tensor) : chosen.end();
    if (it == chosen.end()) {
      still.push_back(std::move(u));
      continue;
    }
    align.pairs.push_back({u.layer, u.node, u.tensor, it->second, AlignMethod::kValueCorrelation});
    taken_names.insert(candidate.tensors[it->second].name);
  }
  align.unaligned_reference = std::move(still);
  std::erase_if(align.unaligned_candidate, [&](const UnalignedLayer& u) { return taken_names.count(u.name) > 0; });
  std::stable_sort(align.pairs.begin(), align.pairs.end(), [&](const LayerPair& a, const LayerPair& b) {
    return ref_pos.at(a.reference_tensor) < ref_pos.at(b.reference_tensor);
  });
  return Status::Ok();
}

}  // namespace ql::analysis
