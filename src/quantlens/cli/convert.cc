// `quantlens convert MODEL -o OUT.tflite --mode ...`: the library's ConvertModel plus argument
// checks, a progress bar while calibrating, an atomic write and a summary.
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"
#include "quantlens/cli/progress.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/passes/convert.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

Result<ir::DType> ParseIoType(const std::string& flag, const std::string& v) {
  if (v == "float32") return ir::DType::kFloat32;
  if (v == "int8") return ir::DType::kInt8;
  if (v == "uint8") return ir::DType::kUInt8;
  if (v == "int16") return ir::DType::kInt16;
  return InvalidArgument("{} '{}' is not one of float32, int8, uint8, int16", flag, v);
}

// "a,b" and repeated flags alike.
std::vector<std::string> SplitNames(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = v.find(',', start);
      const std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

Result<passes::ConvertOptions> BuildOptions(const ConvertArgs& args) {
  passes::ConvertOptions o;
  QL_ASSIGN_OR_RETURN(o.mode, passes::ParseConvertMode(args.mode));
  o.threads = args.threads;
  o.calibration = args.calibration;
  QL_ASSIGN_OR_RETURN(o.method, passes::ParseCalibrationMethod(args.calibration_method));
  if (args.calibration_samples == 0 || args.calibration_samples < -1)
    return InvalidArgument("--calibration-samples {}: must be a positive count", args.calibration_samples);
  o.data.max_samples = args.calibration_samples;
  if (!args.resize.empty()) {
    QL_ASSIGN_OR_RETURN(auto size, ParseResize(args.resize));
    o.data.image.resize_h = size.first;
    o.data.image.resize_w = size.second;
  }
  o.data.image.scale = args.scale;
  o.data.image.offset = args.offset;
  if (args.grayscale) o.data.image.grayscale = true;
  o.per_tensor = args.per_tensor;
  o.bias_correction = args.bias_correction;
  QL_ASSIGN_OR_RETURN(o.input_type, ParseIoType("--input-type", args.input_type));
  QL_ASSIGN_OR_RETURN(o.output_type, ParseIoType("--output-type", args.output_type));
  o.keep_float = SplitNames(args.keep_float);
  o.int16 = SplitNames(args.int16);
  return o;
}

void PrintSummary(const ConvertArgs& args, const passes::ConvertResult& r) {
  std::cout << fmt::format("wrote {} ({} mode): {} bytes, {:.1f}% of the float32 file ({} bytes)\n",
                           Printable(args.output), args.mode, r.bytes.size(),
                           r.float_bytes ? 100.0 * static_cast<double>(r.bytes.size()) /
                                               static_cast<double>(r.float_bytes)
                                         : 0.0,
                           r.float_bytes);
  if (r.calibration_samples > 0)
    std::cout << fmt::format("calibration: {} samples of {}, method {}, {:.2f} s\n",
                             r.calibration_samples, Printable(r.calibration_description),
                             args.calibration_method, r.calibration_seconds);
  for (const std::string& a : r.legalize.actions) std::cout << "  " << Printable(a) << "\n";
  // Ops by type and precision, as one table.
  std::map<std::string, std::map<std::string, int>> table;
  std::set<std::string> precisions;
  for (const auto& [key, n] : r.quantize.op_counts) {
    table[key.first][key.second] += n;
    precisions.insert(key.second);
  }
  if (table.empty())
    for (const ir::Op& op : r.graph.ops) {
      table[std::string(ir::OpTypeName(op.type))]["float32"]++;
      precisions.insert("float32");
    }
  std::cout << fmt::format("{:<24}", "op");
  for (const auto& p : precisions) std::cout << fmt::format("  {:>10}", p);
  std::cout << "\n";
  for (const auto& [op, counts] : table) {
    std::cout << fmt::format("{:<24}", op);
    for (const auto& p : precisions) {
      auto it = counts.find(p);
      std::cout << fmt::format("  {:>{}}", it == counts.end() ? std::string("-") : std::to_string(it->second),
                               std::max<size_t>(10, p.size()));
    }
    std::cout << "\n";
  }
  for (const std::string& f : r.quantize.fallbacks) std::cout << "note: " << Printable(f) << "\n";
  if (r.quantize.bias_corrections > 0)
    std::cout << fmt::format("bias correction: {} op(s) absorbed the mean shift of weight rounding\n",
                             r.quantize.bias_corrections);
  if (r.quantize.bias_scale_adjustments > 0)
    std::cout << fmt::format("note: {} channel weight scale(s) were raised so that the int32 bias "
                             "fits\n", r.quantize.bias_scale_adjustments);
  for (const std::string& s : r.quantize.suspicious_ranges)
    std::cout << "suspicious range: " << Printable(s) << "\n";
}

}  // namespace

int RunConvert(const ConvertArgs& args) {
  auto opts = BuildOptions(args);
  if (!opts.ok()) return Fail(opts.status());
  if (io::SameExistingFile(args.output, args.model))
    return Fail(fmt::format("-o {} is the model file; refusing to overwrite it", args.output));
  if (!args.calibration.empty() && io::SameExistingFile(args.output, args.calibration))
    return Fail(fmt::format("-o {} is the calibration data; refusing to overwrite it", args.output));

  auto model = LoadModel(args.model);
  if (!model.ok()) return Fail(model.status());

  std::unique_ptr<ProgressBar> bar;
  opts->progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>(total);
    bar->Update(done);
  };
  auto res = passes::ConvertModel(*model, *opts);
  if (bar) bar->Finish();
  if (!res.ok()) return Fail(res.status().WithContext(args.model + ": "));
  if (Status st = io::WriteFileAtomic(args.output, res->bytes); !st.ok()) return Fail(st);
  PrintSummary(args, *res);
  std::cout.flush();
  return std::cout ? kExitOk : Fail("cannot write to standard output");
}

}  // namespace ql::cli
