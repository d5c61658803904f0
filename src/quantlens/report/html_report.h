// The HTML form of the `quantlens compare` report (docs/html_report.md), drawn from the JSON
// report of docs/compare_report.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "quantlens/util/status.h"

namespace ql::report {

// Renders one self-contained HTML page: no external scripts, fonts or images; the plots are
// inline SVG and a Content-Security-Policy forbids any network load. Every string from the report
// is escaped. Refuses anything but a schema version 1 "quantlens.compare" object; within one,
// missing optional parts, empty arrays and null numbers are shown as such instead of failing.
Result<std::string> RenderCompareHtml(const nlohmann::json& report);

}  // namespace ql::report
