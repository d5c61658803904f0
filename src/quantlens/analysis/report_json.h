// The JSON report of `quantlens compare` (docs/compare_report.md, schema version 1): one object
// the CLI writes with --json, draws the HTML report from, and evaluates --fail-if on.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/try_fixes.h"

namespace ql::analysis {

inline constexpr int kReportSchemaVersion = 1;

struct ReportInfo {
  std::string reference, candidate;  // paths as given
  // Flipped-sample thumbnails, data URIs by sample index (empty: none).
  std::vector<std::pair<int64_t, std::string>> flip_images;
};

nlohmann::json CompareReportJson(const CompareResult& result, const ReportInfo& info,
                                 const std::vector<FixResult>& fixes);

}  // namespace ql::analysis
