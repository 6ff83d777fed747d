//===- ProfileReport.cpp - what `ditc profile` prints ---------------------===//

#include "lib/Driver/ProfileReport.h"
#include "passes/Transforms/Passes.h"

#include "lib/Support/Diagnostics.h"

#include "mlir/IR/Operation.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::ditc;

/// CollectiveKind names as the runtime's counters name them; ring attention's
/// K/V exchange (and send/recv) is what ditc run --comm-stats calls "send".
static const char *const kCommKindNames[kNumCollectiveKinds] = {
    "all_reduce", "all_gather", "reduce_scatter", "all_to_all",
    "send",       "ring_exchange", "broadcast"};
using json = nlohmann::ordered_json;

namespace {

/// `v` in the largest unit of `units` (each `step` times the one before)
/// that keeps it at least 1: "687.10 K", "15.38 KiB"; plain below the first.
std::string scaled(double v, double step, ArrayRef<const char *> units) {
  size_t u = 0;
  while (std::fabs(v) >= step && u + 1 < units.size()) {
    v /= step;
    ++u;
  }
  return u ? llvm::formatv("{0:F2} {1}", v, units[u]).str()
           : llvm::formatv("{0:F0}{1}{2}", v, *units[0] ? " " : "", units[0])
                 .str();
}

std::string count(double v) {
  return scaled(v, 1000, {"", "K", "M", "G", "T", "P", "E"});
}

std::string bytes(double v) {
  return scaled(v, 1024, {"B", "KiB", "MiB", "GiB", "TiB"});
}

std::string seconds(double s) {
  if (s >= 1)
    return llvm::formatv("{0:F3} s", s).str();
  if (s >= 1e-3)
    return llvm::formatv("{0:F3} ms", s * 1e3).str();
  return llvm::formatv("{0:F2} us", s * 1e6).str();
}

std::string shapeText(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      op->getResultTypes(), os,
      [&](Type t) {
        if (auto r = dyn_cast<RankedTensorType>(t)) {
          llvm::interleave(r.getShape(), os, "x");
          os << "x" << r.getElementType();
        }
      },
      ",");
  return s;
}

const char *boundOf(const OpTime &t) {
  if (t.totalS == 0)
    return "view";
  return t.memoryBound ? "memory" : "compute";
}

} // namespace

std::string mlir::ditc::formatBytes(double v) { return bytes(v); }

std::string mlir::ditc::opLabel(Operation *op) {
  std::string where = describeLocation(op->getLoc());
  std::string name = op->getName().getStringRef().str();
  return where.empty() ? name : name + " " + where;
}

ProfileReport::ProfileReport(std::string model, const Profile &profile,
                             const HardwareDesc &hw, TimeOptions timeOptions)
    : model(std::move(model)), profile(&profile), hw(&hw),
      timeOptions(withStepParams(std::move(timeOptions), profile.ops())) {
  for (const OpCost &c : profile.ops()) {
    times.push_back(predictOpTime(c, hw, this->timeOptions));
    totalS += times.back().totalS;
  }
  layers = findLayers(profile.ops());
  layerOf.assign(profile.ops().size(), 0);
  layerSums.resize(layers.size());
  for (auto [k, l] : llvm::enumerate(layers))
    for (int64_t s = l.begin; s < l.end; ++s) {
      layerOf[s] = int(k);
      const OpCost &c = profile.ops()[s];
      LayerSum &sum = layerSums[k];
      sum.flopsMatrix += c.flopsMatrix;
      sum.flopsOther += c.flopsOther;
      sum.bytes += c.bytes();
      sum.params += c.paramElements;
      sum.peakLiveBytes = std::max(sum.peakLiveBytes, c.liveBytes);
      sum.timeS += times[s].totalS;
    }
  // Chunk loops: the body's steps come right before the loop's own.
  for (auto [k, c] : llvm::enumerate(profile.ops())) {
    auto loop = dyn_cast<ChunkOp>(c.op);
    if (!loop)
      continue;
    Chunk ch;
    ch.loop = loop;
    ch.count = loop.getCount();
    ch.dim = loop.getResultDims().empty() ? -1 : loop.getResultDims()[0];
    if (ch.dim >= 0) {
      ch.whole = shapeOf(loop.getResult(0))[ch.dim];
      ch.size = ChunkOp::chunkSize(ch.whole, ch.count);
    }
    for (int64_t s = (int64_t)k - 1; s >= 0 && loop->isProperAncestor(profile.ops()[s].op); --s)
      ch.first = s;
    ch.last = ch.first >= 0 ? (int64_t)k - 1 : -1;
    if (auto a = loop->getAttrOfType<IntegerAttr>(kChunkPeakBeforeAttr))
      ch.peakBeforeBytes = a.getInt();
    if (auto a = loop->getAttrOfType<IntegerAttr>(kChunkPeakAfterAttr))
      ch.peakAfterBytes = a.getInt();
    if (auto a = loop->getAttrOfType<FloatAttr>(kChunkCostAttr))
      ch.costS = a.getValueAsDouble();
    chunks.push_back(ch);
  }
}

void mlir::ditc::printProfileTable(const ProfileReport &r, llvm::raw_ostream &os,
                                   int top) {
  const ProfileTotals &t = r.profile->totals();
  ArrayRef<OpCost> ops = r.profile->ops();
  os << llvm::formatv("ditc profile: {0} on {1} ({2}), {3} steps\n\n", r.model,
                      r.hw->name, r.timeOptions.dtype, ops.size());
  os << llvm::formatv("  parameters       {0} elements, {1}", count(t.paramElements()),
                      bytes(t.paramBytes()));
  if (t.sourceParamElements >= 0 && t.irParamElements != t.sourceParamElements)
    os << llvm::formatv(" (source initializers; the compiled graph reads {0} "
                        "elements, {1})",
                        count(t.irParamElements), bytes(t.irParamBytes));
  os << "\n";
  int64_t moved = t.bytesRead + t.bytesWritten;
  os << llvm::formatv("  FLOPs            {0} matrix + {1} other\n",
                      count(t.flopsMatrix), count(t.flopsOther));
  os << llvm::formatv("  bytes moved      {0} read + {1} written "
                      "(intensity {2:F2} FLOP/B)\n",
                      bytes(t.bytesRead), bytes(t.bytesWritten),
                      moved ? double(t.flopsMatrix + t.flopsOther) / moved : 0.0);
  std::string peakAt = "-";
  if (t.peakStep >= 0)
    peakAt = llvm::formatv("step {0} {1}, {2}", t.peakStep,
                           opLabel(ops[t.peakStep].op),
                           r.layers[r.layerOf[t.peakStep]].name)
                 .str();
  os << llvm::formatv("  activations      arena {0} (peak at {1}); live peak "
                      "{2}; inputs {3}, outputs {4}\n",
                      bytes(t.arenaBytes), peakAt, bytes(t.peakLiveBytes),
                      bytes(t.inputBytes), bytes(t.outputBytes));
  for (const ProfileReport::Chunk &c : r.chunks) {
    // Named by its first op that computes (a chunk offset is bookkeeping).
    int64_t named = c.first;
    while (named >= 0 && named < c.last && isa<ChunkOffsetOp>(ops[named].op))
      ++named;
    std::string uneven;
    if (c.size * c.count > c.whole)
      uneven = llvm::formatv(" ({0} of {1} each, the last overlapping the one before by {2})",
                             c.size, c.whole, c.size * c.count - c.whole);
    os << llvm::formatv("  chunk loop       steps {0}-{1} ({2} .. {3}) in {4} chunks of "
                        "dimension {5}{6}: arena {7} -> {8}, predicted +{9:F2} us\n",
                        c.first, c.last, named >= 0 ? opLabel(ops[named].op) : "-",
                        c.last >= 0 ? opLabel(ops[c.last].op) : "-", c.count, c.dim, uneven,
                        bytes(c.peakBeforeBytes), bytes(c.peakAfterBytes), 1e6 * c.costS);
  }
  if (t.twoSchedules) {
    os << llvm::formatv("  schedule         {0}\n",
                        t.schedule == 1 ? "stale: PipeFusion's patch pipeline (denoising steps "
                                          "after the warm-up)"
                                        : "synchronous: PipeFusion's warm-up steps");
    os << llvm::formatv("  K/V buffers      {0} of the arena, kept across denoising steps\n",
                        bytes(t.kvCacheBytes));
  }
  // How much of the one-device step this rank computes, and what it repeats.
  if (r.worldFlops > 0) {
    os << llvm::formatv("  work per rank    {0:F1}% of the one-device step's FLOPs; {1:F1}% "
                        "repeated on every rank of a group ({2})\n",
                        100.0 * (t.flopsMatrix + t.flopsOther) / r.worldFlops,
                        100.0 * t.replicatedFlops / r.worldFlops, count(t.replicatedFlops));
  }
  // Communication per rank (partitioned graphs).
  std::string comm;
  int64_t commTotal = 0;
  for (int k = 0; k < kNumCollectiveKinds; ++k)
    if (t.commCalls[k]) {
      comm += llvm::formatv("{0}{1} {2} in {3} calls", comm.empty() ? "" : ", ",
                            kCommKindNames[k], bytes(t.commBytesSent[k]), t.commCalls[k]);
      commTotal += t.commBytesSent[k];
    }
  if (!comm.empty()) {
    double commS = 0;
    for (const OpTime &o : r.times)
      commS += o.commS;
    os << llvm::formatv("  communication    {0} sent per rank: {1}; predicted {2}\n",
                        bytes(commTotal), comm, seconds(commS));
  }
  double compute = 0, memory = 0, overhead = 0;
  for (const OpTime &o : r.times) {
    (o.memoryBound ? memory : compute) += o.totalS - o.overheadS;
    overhead += o.overheadS;
  }
  os << llvm::formatv("  predicted time   {0} (compute-bound {1}, memory-bound "
                      "{2}, launch {3})\n\n",
                      seconds(r.totalS), seconds(compute), seconds(memory),
                      seconds(overhead));

  os << llvm::formatv("  {0,-16} {1,11} {2,12} {3,12} {4,11} {5,10} {6,11} "
                      "{7,11} {8,6}\n",
                      "layer", "steps", "matrix FLOP", "other FLOP", "bytes",
                      "params", "live peak", "time", "share");
  for (auto [k, l] : llvm::enumerate(r.layers)) {
    const ProfileReport::LayerSum &s = r.layerSums[k];
    os << llvm::formatv(
        "  {0,-16} {1,11} {2,12} {3,12} {4,11} {5,10} {6,11} {7,11} {8,5:F1}%\n",
        l.name, llvm::formatv("{0}-{1}", l.begin, l.end - 1).str(),
        count(s.flopsMatrix), count(s.flopsOther), bytes(s.bytes),
        count(s.params), bytes(s.peakLiveBytes), seconds(s.timeS),
        r.totalS > 0 ? 100.0 * s.timeS / r.totalS : 0.0);
  }

  std::vector<size_t> order(ops.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return r.times[a].totalS > r.times[b].totalS;
  });
  order.resize(std::min<size_t>(order.size(), std::max(top, 0)));
  if (!order.empty()) {
    os << llvm::formatv("\n  top {0} ops by predicted time\n", order.size());
    os << llvm::formatv("  {0,6} {1,-44} {2,-14} {3,11} {4,8} {5,6}\n", "step",
                        "op", "layer", "time", "bound", "share");
    for (size_t s : order) {
      std::string label = opLabel(ops[s].op);
      if (label.size() > 44)
        label = label.substr(0, 41) + "...";
      os << llvm::formatv("  {0,6} {1,-44} {2,-14} {3,11} {4,8} {5,5:F1}%\n", s,
                          label, r.layers[r.layerOf[s]].name,
                          seconds(r.times[s].totalS), boundOf(r.times[s]),
                          r.totalS > 0 ? 100.0 * r.times[s].totalS / r.totalS
                                       : 0.0);
    }
  }

  // The heaviest ops computed whole on every rank, and why.
  std::vector<size_t> repeated;
  for (size_t s = 0; s < ops.size(); ++s)
    if (!ops[s].replicated.empty() && ops[s].flops() > 0)
      repeated.push_back(s);
  std::stable_sort(repeated.begin(), repeated.end(),
                   [&](size_t a, size_t b) { return ops[a].flops() > ops[b].flops(); });
  repeated.resize(std::min<size_t>(repeated.size(), std::max(top, 0)));
  if (!repeated.empty()) {
    os << llvm::formatv("\n  top {0} ops every rank computes whole, by FLOPs\n",
                        repeated.size());
    os << llvm::formatv("  {0,6} {1,-44} {2,10}  {3}\n", "step", "op", "FLOPs", "why");
    for (size_t s : repeated) {
      std::string label = opLabel(ops[s].op);
      if (label.size() > 44)
        label = label.substr(0, 41) + "...";
      os << llvm::formatv("  {0,6} {1,-44} {2,10}  {3}\n", s, label, count(ops[s].flops()),
                          ops[s].replicated);
    }
  }

  // The memory curve: live arena bytes per step, bucketed into columns.
  if (ops.empty() || t.peakLiveBytes == 0)
    return;
  const int cols = std::min<int>(72, int(ops.size())), rows = 8;
  std::vector<int64_t> col(cols, 0);
  for (size_t s = 0; s < ops.size(); ++s) {
    int c = int(s * cols / ops.size());
    col[c] = std::max(col[c], ops[s].liveBytes);
  }
  os << llvm::formatv("\n  activation memory live per step (peak {0}, arena {1})\n",
                      bytes(t.peakLiveBytes), bytes(t.arenaBytes));
  for (int row = rows; row >= 1; --row) {
    double level = double(t.peakLiveBytes) * (row - 0.5) / rows;
    std::string line;
    for (int c = 0; c < cols; ++c)
      line += col[c] >= level ? '#' : ' ';
    std::string axis = row == rows ? bytes(t.peakLiveBytes)
                       : row == 1  ? std::string("0")
                                   : std::string();
    os << llvm::formatv("  {0,10} |{1}\n", axis, line);
  }
  os << llvm::formatv("  {0,10} +{1}\n", "", std::string(cols, '-'));
  os << llvm::formatv("  {0,10}  step 0{1}{2}\n", "",
                      std::string(std::max(0, cols - 6 -
                                                  int(std::to_string(ops.size() - 1).size())),
                                  ' '),
                      ops.size() - 1);
}

void mlir::ditc::printProfileJson(const ProfileReport &r, llvm::raw_ostream &os) {
  const ProfileTotals &t = r.profile->totals();
  ArrayRef<OpCost> ops = r.profile->ops();
  json j;
  j["model"] = r.model;
  j["hardware"] = r.hw->name;
  j["dtype"] = r.timeOptions.dtype;
  j["param_elements"] = t.paramElements();
  j["param_bytes"] = t.paramBytes();
  j["ir_param_elements"] = t.irParamElements;
  j["ir_param_bytes"] = t.irParamBytes;
  j["flops"] = {{"matrix", t.flopsMatrix},
                {"other", t.flopsOther},
                {"total", t.flopsMatrix + t.flopsOther}};
  j["bytes"] = {{"read", t.bytesRead}, {"written", t.bytesWritten}};
  j["activation_peak_bytes"] = t.arenaBytes;
  j["activation_peak_live_bytes"] = t.peakLiveBytes;
  j["activation_peak_step"] = t.peakStep;
  j["input_bytes"] = t.inputBytes;
  j["output_bytes"] = t.outputBytes;
  if (!r.chunks.empty()) {
    j["chunks"] = json::array();
    for (const ProfileReport::Chunk &c : r.chunks)
      j["chunks"].push_back({{"region", {c.first, c.last}},
                             {"dim", c.dim},
                             {"count", c.count},
                             {"chunk_size", c.size},
                             {"dim_size", c.whole},
                             {"peak_before_bytes", c.peakBeforeBytes},
                             {"peak_after_bytes", c.peakAfterBytes},
                             {"cost_s", c.costS}});
  }
  if (t.scratchBytes)
    j["scratch_bytes"] = t.scratchBytes; // beside the arena (ring attention)
  if (t.microbatches > 1)
    j["microbatches"] = t.microbatches;
  if (t.twoSchedules) {
    j["schedule"] = t.schedule == 1 ? "stale" : "synchronous";
    j["kv_cache_bytes"] = t.kvCacheBytes;
  }
  j["predicted_time_s"] = r.totalS;
  json comm = json::object();
  int64_t commTotal = 0;
  double commS = 0;
  for (const OpTime &o : r.times)
    commS += o.commS;
  for (int k = 0; k < kNumCollectiveKinds; ++k)
    if (t.commCalls[k]) {
      comm[kCommKindNames[k]] = {{"bytes_sent_per_rank", t.commBytesSent[k]},
                                 {"calls", t.commCalls[k]}};
      commTotal += t.commBytesSent[k];
    }
  j["comm"] = comm;
  j["comm_bytes_sent_per_rank"] = commTotal;
  if (r.worldFlops > 0) {
    j["world_flops"] = r.worldFlops;
    j["work_fraction"] = double(t.flopsMatrix + t.flopsOther) / r.worldFlops;
    j["replicated_flops"] = t.replicatedFlops;
    json repeated = json::array();
    for (const OpCost &c : ops)
      if (!c.replicated.empty() && c.flops() > 0)
        repeated.push_back({{"node", describeLocation(c.op->getLoc())},
                            {"op", c.op->getName().getStringRef().str()},
                            {"flops", c.flops()},
                            {"reason", c.replicated}});
    j["replicated_ops"] = repeated;
  }
  j["comm_predicted_s"] = commS;
  json layers = json::array();
  for (auto [k, l] : llvm::enumerate(r.layers)) {
    const ProfileReport::LayerSum &s = r.layerSums[k];
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"first_step", l.begin},
                      {"last_step", l.end - 1},
                      {"flops_matrix", s.flopsMatrix},
                      {"flops_other", s.flopsOther},
                      {"bytes", s.bytes},
                      {"param_elements", s.params},
                      {"peak_live_bytes", s.peakLiveBytes},
                      {"predicted_time_s", s.timeS}});
  }
  j["layers"] = layers;
  json list = json::array();
  json curve = json::array();
  for (auto [s, c] : llvm::enumerate(ops)) {
    const OpTime &o = r.times[s];
    list.push_back({{"step", c.step},
                    {"op", c.op->getName().getStringRef().str()},
                    {"node", describeLocation(c.op->getLoc())},
                    {"layer", r.layers[r.layerOf[s]].name},
                    {"shape", shapeText(c.op)},
                    {"flops_matrix", c.flopsMatrix},
                    {"flops_other", c.flopsOther},
                    {"bytes_read", c.bytesRead},
                    {"bytes_written", c.bytesWritten},
                    {"pack_bytes", c.packBytes},
                    {"ring_pass_bytes", c.ringPassBytes},
                    {"ring_pass_bytes_gpu", c.ringPassBytesNarrow},
                    {"scratch_bytes", c.scratchBytes},
                    {"param_elements", c.paramElements},
                    {"live_bytes", c.liveBytes},
                    {"intensity", c.intensity()},
                    {"predicted_time_s", o.totalS},
                    {"bound", boundOf(o)}});
    curve.push_back(c.liveBytes);
  }
  j["ops"] = list;
  j["memory_curve"] = curve;
  os << j.dump(1) << "\n";
}

void mlir::ditc::printProfileSvg(const ProfileReport &r, llvm::raw_ostream &os) {
  const ProfileTotals &t = r.profile->totals();
  ArrayRef<OpCost> ops = r.profile->ops();
  const double W = 960, left = 80, right = 20, plotW = W - left - right;
  const double top1 = 60, h1 = 200, top2 = top1 + h1 + 80, h2 = 180;
  const double H = top2 + h2 + 60;
  auto esc = [](std::string s) {
    std::string o;
    for (char c : s)
      o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;"
                                                          : std::string(1, c);
    return o;
  };
  os << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                      "height=\"{1}\" font-family=\"sans-serif\" "
                      "font-size=\"12\">\n",
                      W, H);
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << llvm::formatv("<text x=\"{0}\" y=\"24\" font-size=\"15\">{1} on {2}: "
                      "{3} predicted, arena {4}</text>\n",
                      left, esc(r.model), esc(r.hw->name), seconds(r.totalS),
                      bytes(t.arenaBytes));
  size_t n = std::max<size_t>(ops.size(), 1);
  double peak = double(std::max<int64_t>(t.arenaBytes, 1));
  auto x = [&](double step) { return left + plotW * step / double(n); };
  // Panel 1: activation memory.
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">activation bytes live per "
                      "step</text>\n",
                      left, top1 - 8);
  for (const LayerSpan &l : r.layers)
    if (l.kind >= 0)
      os << llvm::formatv("<rect x=\"{0:F1}\" y=\"{1}\" width=\"{2:F1}\" "
                          "height=\"{3}\" fill=\"{4}\" opacity=\"0.08\"/>\n",
                          x(l.begin), top1, x(l.end) - x(l.begin), h1,
                          l.index % 2 ? "#1f77b4" : "#ff7f0e");
  std::string points;
  for (size_t s = 0; s < ops.size(); ++s)
    points += llvm::formatv("{0:F1},{1:F1} ", x(s + 0.5),
                            top1 + h1 - h1 * double(ops[s].liveBytes) / peak)
                  .str();
  os << llvm::formatv("<polyline fill=\"none\" stroke=\"#1f77b4\" "
                      "stroke-width=\"1.5\" points=\"{0}\"/>\n",
                      points);
  os << llvm::formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" "
                      "stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n",
                      left, left + plotW, top1);
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>\n",
                      left - 6, top1 + 4, bytes(t.arenaBytes));
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">0</text>\n",
                      left - 6, top1 + h1 + 4);
  os << llvm::formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" "
                      "stroke=\"black\"/>\n",
                      left, left + plotW, top1 + h1);
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">step 0</text>\n", left,
                      top1 + h1 + 16);
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">step "
                      "{2}</text>\n",
                      left + plotW, top1 + h1 + 16, n - 1);
  // Panel 2: predicted time per layer.
  double longest = 1e-12;
  for (const ProfileReport::LayerSum &s : r.layerSums)
    longest = std::max(longest, s.timeS);
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">predicted time per layer "
                      "(longest {2})</text>\n",
                      left, top2 - 8, seconds(longest));
  double bw = plotW / double(std::max<size_t>(r.layers.size(), 1));
  for (auto [k, l] : llvm::enumerate(r.layers)) {
    double hgt = h2 * r.layerSums[k].timeS / longest;
    os << llvm::formatv("<rect x=\"{0:F1}\" y=\"{1:F1}\" width=\"{2:F1}\" "
                        "height=\"{3:F1}\" fill=\"{4}\"><title>{5}: "
                        "{6}</title></rect>\n",
                        left + bw * k + 1, top2 + h2 - hgt,
                        std::max(bw - 2, 1.0), hgt,
                        l.kind < 0 ? "#7f7f7f" : l.kind % 2 ? "#2ca02c" : "#1f77b4",
                        esc(l.name), seconds(r.layerSums[k].timeS));
  }
  os << llvm::formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" "
                      "stroke=\"black\"/>\n",
                      left, left + plotW, top2 + h2);
  if (!r.layers.empty()) {
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">{2}</text>\n", left,
                        top2 + h2 + 16, esc(r.layers.front().name));
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>\n",
                        left + plotW, top2 + h2 + 16, esc(r.layers.back().name));
  }
  os << "</svg>\n";
}
