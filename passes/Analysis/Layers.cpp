//===- Layers.cpp - the repeated blocks of a schedule ---------------------===//

#include "passes/Analysis/Layers.h"

#include "dialects/Ditc/IR/DitcOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::ditc;

namespace {

struct Run {
  int64_t start = 0, period = 0, count = 0;
  int64_t covered() const { return period * count; }
};

/// A block has at least this many ops, and a run of blocks covers at least
/// a tenth of the schedule: three projections in a row are not layers.
constexpr int64_t kMinBlockOps = 4;

/// The best periodic run in sig[lo, hi): most steps covered, then the
/// shortest period. A block must do matrix work.
Run bestRun(ArrayRef<int64_t> sig, ArrayRef<bool> matrix, int64_t lo,
            int64_t hi) {
  Run best;
  int64_t n = hi - lo;
  for (int64_t p = kMinBlockOps; p <= n / 2; ++p) {
    int64_t i = lo;
    while (i + p < hi) {
      if (sig[i] != sig[i + p]) {
        ++i;
        continue;
      }
      int64_t j = i;
      while (j + p < hi && sig[j] == sig[j + p])
        ++j;
      // sig[i, j + p) has period p.
      int64_t count = (j + p - i) / p;
      if (count >= 2 && p * count > best.covered()) {
        bool works = false;
        for (int64_t k = i; k < i + p && !works; ++k)
          works = matrix[k];
        if (works)
          best = {i, p, count};
      }
      i = j + 1;
    }
  }
  return best;
}

void split(ArrayRef<int64_t> sig, ArrayRef<bool> matrix, int64_t lo,
           int64_t hi, int64_t minCover, int depth, std::vector<Run> &runs) {
  if (hi - lo < 2 * kMinBlockOps || depth > 8)
    return;
  Run r = bestRun(sig, matrix, lo, hi);
  if (r.count < 2 || r.covered() < minCover)
    return;
  split(sig, matrix, lo, r.start, minCover, depth + 1, runs);
  runs.push_back(r);
  split(sig, matrix, r.start + r.covered(), hi, minCover, depth + 1, runs);
}

} // namespace

std::vector<LayerSpan> mlir::ditc::findLayers(ArrayRef<OpCost> ops) {
  // Signature: op name and operand/result types.
  llvm::StringMap<int64_t> ids;
  // Views (reshapes) run no kernel and exporters place them inconsistently
  // (a shared rope-table reshape lands in the first layer only): match the
  // ops that run, then map positions back to steps.
  SmallVector<int64_t> sig, stepOf;
  SmallVector<bool> matrix;
  // Positions in `ops` (the steps, unless a pipeline stage's ops only).
  for (auto [index, c] : llvm::enumerate(ops)) {
    if (c.isView)
      continue;
    std::string key;
    llvm::raw_string_ostream os(key);
    os << c.op->getName() << '(';
    for (Type t : c.op->getOperandTypes())
      os << t << ',';
    os << ")->(";
    for (Type t : c.op->getResultTypes())
      os << t << ',';
    os << ')';
    sig.push_back(ids.try_emplace(key, int64_t(ids.size())).first->second);
    stepOf.push_back(int64_t(index));
    matrix.push_back(c.flopsMatrix > 0);
  }
  std::vector<Run> runs;
  split(sig, matrix, 0, int64_t(sig.size()), int64_t(sig.size()) / 10, 0,
        runs);

  // Number the kinds of block by their repeated signature sequence. A block
  // starts at the step of its first op that runs; views before it belong to
  // what precedes.
  std::vector<LayerSpan> spans;
  std::vector<std::vector<int64_t>> kinds;
  int64_t at = 0;
  auto gap = [&](int64_t end, const std::string &name) {
    if (end > at)
      spans.push_back({name, at, end, -1, 0});
    at = end;
  };
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run &run = runs[r];
    std::vector<int64_t> body(sig.begin() + run.start,
                              sig.begin() + run.start + run.period);
    int kind = -1;
    for (size_t k = 0; k < kinds.size(); ++k)
      if (kinds[k] == body)
        kind = int(k);
    if (kind < 0) {
      kind = int(kinds.size());
      kinds.push_back(body);
    }
    std::string letter(1, char('A' + std::min(kind, 25)));
    gap(stepOf[run.start], spans.empty() ? "prologue" : "between blocks");
    int64_t first = 0;
    for (const LayerSpan &s : spans)
      if (s.kind == kind)
        ++first;
    int64_t last = run.start + run.covered(); // one past, in ops that run
    for (int64_t k = 0; k < run.count; ++k) {
      int64_t b = stepOf[run.start + k * run.period];
      int64_t next = run.start + (k + 1) * run.period;
      int64_t e = next < last ? stepOf[next] : stepOf[last - 1] + 1;
      spans.push_back({"block " + letter + "." + std::to_string(first + k), b,
                       e, kind, first + k});
    }
    at = stepOf[last - 1] + 1;
  }
  gap(int64_t(ops.size()), spans.empty() ? "graph" : "epilogue");
  return spans;
}

namespace {

/// A value from before position `begin` of `out`'s type that `at` adds up
/// from through adds at or after `begin`.
Value residualInput(Value out, Value at, int64_t begin,
                    const llvm::DenseMap<Operation *, int64_t> &position) {
  Operation *def = at.getDefiningOp();
  auto pos = def ? position.find(def) : position.end();
  if (!def || (pos != position.end() && pos->second < begin))
    return at != out && at.getType() == out.getType() ? at : Value();
  // A gated residual, x + gate * y, adds up from x.
  if (auto fused = dyn_cast<MulAddOp>(def))
    return residualInput(out, fused.getAddend(), begin, position);
  auto add = dyn_cast<AddOp>(def);
  if (!add)
    return {};
  for (Value operand : add->getOperands())
    if (Value in = residualInput(out, operand, begin, position))
      return in;
  return {};
}

} // namespace

SmallVector<BlockStream, 2> mlir::ditc::blockStreams(ArrayRef<OpCost> ops,
                                                    const LayerSpan &span) {
  llvm::DenseMap<Operation *, int64_t> position;
  for (auto [k, c] : llvm::enumerate(ops))
    position[c.op] = k;
  SmallVector<BlockStream, 2> streams;
  for (int64_t k = span.begin; k < span.end; ++k)
    for (Value r : ops[k].op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(r.getType());
      if (!type || !isa<FloatType>(type.getElementType()))
        continue;
      bool leaves = llvm::any_of(r.getUsers(), [&](Operation *u) {
        auto it = position.find(u);
        return it == position.end() || it->second >= span.end;
      });
      if (!leaves)
        continue;
      if (Value in = residualInput(r, r, span.begin, position))
        streams.push_back({r, in});
    }
  llvm::stable_sort(streams, [](const BlockStream &a, const BlockStream &b) {
    return cast<RankedTensorType>(a.out.getType()).getNumElements() >
           cast<RankedTensorType>(b.out.getType()).getNumElements();
  });
  return streams;
}
