//===- Hardware.h - machine descriptions for the cost model -----*- C++ -*-===//
//
// A machine is data: a JSON file (the built-in ones live in
// passes/Analysis/hardware/ and are compiled into the binary; any other file
// is loaded by path). Format, every rate per second:
//
//   {
//     "name": "h100-sxm", "kind": "gpu", "description": "...",
//     "matrix_flops": {"f32": 6.7e13, "bf16": 9.89e14, ...},  // dense peak
//     "vector_flops": {"f32": 6.7e13, "bf16": 1.34e14, ...},  // non-matrix
//     "memory_bandwidth": 3.35e12,       // bytes/s
//     "memory_capacity": 8.0e10,         // bytes per device
//     "launch_overhead_s": 4.0e-6,       // per kernel
//     "op_overhead_s": {"matrix": 1e-6, "conv": 1e-5},  // optional, per
//                      // class of op (matrix conv attention norm movement
//                      // elementwise); launch_overhead_s for the others
//     "efficiency": {"matrix": 0.65, "attention": 0.45,
//                    "vector": 0.5, "memory": 0.8},   // optional, default 1
//     "matrix_half_rows": 108,          // optional, default 0: a matrix
//                      // product of M rows runs at M / (M + this) of the
//                      // matrix rate (smaller products are less efficient)
//     "links": [                          // innermost level first
//       {"name": "nvlink", "kind": "nvlink", "bandwidth": 4.5e11,
//        "latency_s": 3e-6, "devices": 8}, ...]
//   }
//
// `devices` of a link level is how many devices share it: a group of up to
// that many devices talks over this level (the first level large enough).
// Link kinds: nvlink, pcie, infiniband, ethernet, shared-memory.
// Rates are per device; link bandwidth is per device and direction, unless
// `shared_by` (optional, default 1) says that one link of that bandwidth
// carries the traffic of up to that many devices (the GPUs of one CPU
// socket behind the socket link): one link serves a block of the level
// below's `devices` consecutive devices (one device below the first
// level), and the plan's collectives run on every device at once, so each
// transfer across it gets bandwidth / min(shared_by, the transfers that
// leave or enter one block at once). Which transfers cross depends on the
// collective and where its groups lie (TimeModel.h sharedLinkFlows): ring
// attention's hops to the next member that leave the block, one per group
// for NCCL's topology-ordered rings (all-reduce, all-gather,
// reduce-scatter), and every device with a partner outside for an
// all-to-all (and the rest). LinkLevel::rate() is the share with every
// device crossing (bandwidth / shared_by).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_ANALYSIS_HARDWARE_H
#define DITC_PASSES_ANALYSIS_HARDWARE_H

#include "llvm/ADT/StringRef.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::ditc {

struct LinkLevel {
  std::string name;
  std::string kind;
  double bandwidth = 0;  // bytes/s per device and direction
  double latencyS = 0;   // seconds per message
  int64_t devices = 1;   // devices sharing this level
  int64_t sharedBy = 1;  // devices whose traffic may cross one link of `bandwidth`
  /// Whether a transfer progresses while the device computes (JSON
  /// `overlaps_compute`; default: true on a "gpu" machine, whose runtime
  /// exchanges on a second stream, false on a "cpu" one, whose MPI
  /// communicator moves messages only inside its calls).
  bool overlapsCompute = true;
  /// A collective kind's transfer rate relative to `bandwidth` (JSON
  /// `collective_rates`, keyed by kCollectiveKindNames; a kind not listed:
  /// 1). ditc calibrate measures all-reduces, all-to-alls and all-gathers
  /// through the runtime's communicator, whose algorithms move their bytes
  /// at different rates on one link.
  std::map<std::string, double> collectiveRates;
  double collectiveRate(llvm::StringRef kind) const {
    auto it = collectiveRates.find(kind.str());
    return it == collectiveRates.end() ? 1.0 : it->second;
  }
  /// One device's share of the bandwidth when every device behind a link
  /// crosses it at once (TimeModel.h linkRate: the share a collective's
  /// placement leaves).
  double rate() const { return bandwidth / double(sharedBy); }
};

struct HardwareDesc {
  std::string name, kind, description;
  std::map<std::string, double> matrixFlops; // per dtype: f32 tf32 bf16 f16 fp8
  std::map<std::string, double> vectorFlops;
  double memoryBandwidth = 0;
  double memoryCapacity = 0;
  double launchOverheadS = 0;
  /// Fixed cost per kernel by class of op (see opClass()); classes not
  /// listed cost launchOverheadS.
  std::map<std::string, double> opOverheadS;
  double matrixEfficiency = 1, attentionEfficiency = 1, vectorEfficiency = 1,
         memoryEfficiency = 1;
  /// Data movement (transposes, concats, slices, casts: the "movement"
  /// class of ops, and the collectives' layout passes) relative to the
  /// streaming memory rate: copies in runs of a head's size do not stream
  /// (JSON efficiency.movement, default 1; ditc calibrate measures it).
  double movementEfficiency = 1;
  /// Ring attention's block kernels (one per ring member, each over a part
  /// of the keys) against one attention over every key of the same FLOPs:
  /// each call packs its queries and stores its output again (JSON
  /// efficiency.ring_block, default 1; ditc calibrate measures it under
  /// mpirun with a ring attention over its ranks).
  double ringBlockEfficiency = 1;
  /// The rows at which a matrix product reaches half the matrix rate: M
  /// rows run at M / (M + matrixHalfRows) of it (0: every size at the rate).
  double matrixHalfRows = 0;
  /// The rate at which an op's weights, read once a step and so from
  /// beyond the caches, add to its time: paramBytes / this on top of the
  /// roofline (JSON weight_stream_bandwidth; 0: nothing added). A CPU's
  /// matrix kernels do not hide that read behind their FLOPs; ditc
  /// calibrate measures it from products over weights that stay in cache
  /// against the same products over weights that do not.
  double weightStreamBandwidth = 0;
  /// A program whose weights take at most this many bytes keeps them in
  /// the caches from one step to the next: no stream (JSON
  /// weight_cache_bytes, default 0; ditc calibrate writes the largest cache
  /// a core has to itself).
  double weightCacheBytes = 0;
  std::vector<LinkLevel> links;

  /// Achievable rates for a compute dtype ("f32", "bf16", ...); the f32 rate
  /// when the dtype has none listed. Zero when neither is listed.
  double matrixRate(llvm::StringRef dtype) const;
  double attentionRate(llvm::StringRef dtype) const;
  double vectorRate(llvm::StringRef dtype) const;
  /// The share of the matrix rate a product of `rows` rows reaches.
  double matrixRowsFactor(double rows) const {
    return matrixHalfRows > 0 && rows > 0 ? rows / (rows + matrixHalfRows) : 1.0;
  }
  double bandwidthRate() const { return memoryBandwidth * memoryEfficiency; }
  double movementRate() const { return bandwidthRate() * movementEfficiency; }
  /// The fixed cost of one kernel of class `cls`.
  double overheadFor(llvm::StringRef cls) const;
  /// The innermost link level that holds `groupSize` devices; null if none.
  const LinkLevel *linkFor(int64_t groupSize) const;
};

/// The link level that holds `devices` (its widest level where none does;
/// null without links): a pipeline stage axis, the outermost, spans all the
/// devices, so its rate and latency price the messages between stages.
const LinkLevel *stageLink(const HardwareDesc &hw, int64_t devices);

/// The matrixHalfRows h that makes rate(M) = peak * M / (M + h) pass through
/// two measured rates (rowsA > rowsB); 0 when the smaller product is not
/// slower. The peak is then rateA * (rowsA + h) / rowsA.
double fitMatrixHalfRows(double rowsA, double rateA, double rowsB, double rateB);

/// The classes of op that may have their own fixed cost.
extern const char *const kOpClasses[6];

/// The collective kinds by name, in TimeModel.h's CollectiveKind order
/// (LinkLevel::collectiveRates' keys).
extern const char *const kCollectiveKindNames[7];

/// Parses a description; on error returns nullopt and sets `error` to one
/// line naming the field at fault. `source` names the file in messages.
std::optional<HardwareDesc> parseHardware(llvm::StringRef json,
                                          llvm::StringRef source,
                                          std::string &error);

/// A built-in name (see builtinHardwareNames()) or a path to a JSON file.
std::optional<HardwareDesc> loadHardware(llvm::StringRef nameOrPath,
                                         std::string &error);

/// The built-in descriptions' names, sorted.
std::vector<std::string> builtinHardwareNames();

/// The JSON text of a description (what `ditc calibrate` writes).
std::string printHardware(const HardwareDesc &hw);

} // namespace mlir::ditc

#endif // DITC_PASSES_ANALYSIS_HARDWARE_H
