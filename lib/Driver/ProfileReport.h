//===- ProfileReport.h - what `ditc profile` prints -------------*- C++ -*-===//

#ifndef DITC_LIB_DRIVER_PROFILEREPORT_H
#define DITC_LIB_DRIVER_PROFILEREPORT_H

#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/Layers.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::ditc {

/// A profile with its predicted times, grouped into layers.
struct ProfileReport {
  std::string model;
  const Profile *profile = nullptr;
  const HardwareDesc *hw = nullptr;
  TimeOptions timeOptions;
  std::vector<OpTime> times;       // one per op of the profile
  std::vector<LayerSpan> layers;   // covering every step
  std::vector<int> layerOf;        // step -> index into layers
  double totalS = 0;
  /// Partitioned programs: the FLOPs of the program before the partition
  /// (one device's step); -1 when the profile is not of a plan.
  int64_t worldFlops = -1;

  struct LayerSum {
    int64_t flopsMatrix = 0, flopsOther = 0, bytes = 0, params = 0;
    int64_t peakLiveBytes = 0;
    double timeS = 0;
  };
  std::vector<LayerSum> layerSums;

  /// The chunk loops of the profiled program (ditc profile
  /// --activation-limit): the steps of the body, the chunked dimension of
  /// the region's (first) result, the count, the elements of one chunk
  /// and of the whole dimension (an uneven loop's last chunk overlaps the
  /// one before: count * size > whole), the arena before and after and the
  /// predicted seconds the loop adds.
  struct Chunk {
    int64_t first = -1, last = -1, dim = 0, count = 0, size = 0, whole = 0;
    int64_t peakBeforeBytes = 0, peakAfterBytes = 0;
    double costS = 0;
    Operation *loop = nullptr;
  };
  std::vector<Chunk> chunks;

  ProfileReport(std::string model, const Profile &profile,
                const HardwareDesc &hw, TimeOptions timeOptions);
};

/// The readable report: totals, per-layer table, top ops, memory curve.
void printProfileTable(const ProfileReport &r, llvm::raw_ostream &os, int top);
/// The same as JSON (keys documented in docs/PROFILE.md).
void printProfileJson(const ProfileReport &r, llvm::raw_ostream &os);
/// An SVG picture: the activation-memory curve and per-layer times.
void printProfileSvg(const ProfileReport &r, llvm::raw_ostream &os);

/// "7.69 KiB", "216.11 MiB": bytes in binary units, as the report prints them.
std::string formatBytes(double v);

/// A readable name for an op: its ONNX node name (location) or op name.
std::string opLabel(Operation *op);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_PROFILEREPORT_H
