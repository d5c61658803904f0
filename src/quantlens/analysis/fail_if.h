// `quantlens compare --fail-if EXPR`: a CI gate over the output metrics. EXPR is one or more
// conditions joined with ',' ("top1_agreement<0.99,sqnr_db<30"); the gate fails when any
// condition holds for any output.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantlens/util/status.h"

namespace ql::analysis {

struct FailCondition {
  std::string metric;  // a key of the report's outputs[] (aliases resolved)
  std::string op;      // "<", "<=", ">", ">="
  double value = 0;
  std::string text;    // as written
};

// Metric names --fail-if accepts, for messages and docs.
const std::vector<std::string>& FailIfMetrics();

// Parses EXPR; error (naming the condition and the accepted metrics and operators) on anything
// else.
Result<std::vector<FailCondition>> ParseFailIf(const std::string& expr);

// The conditions that hold, as "top1_agreement<0.99 (output 0: 0.9712)". Error when a condition
// names a metric no output has (top1_agreement of a model that is not a classifier, accuracy
// without labels).
Result<std::vector<std::string>> EvaluateFailIf(const std::vector<FailCondition>& conditions,
                                                const nlohmann::json& report);

}  // namespace ql::analysis
