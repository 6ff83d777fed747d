//===- DimClasses.h - tensor dimensions tied by sharding rules --*- C++ -*-===//
//
// Union-find over the (value, dimension) pairs of a function: two
// dimensions are in one class when some op's sharding rule puts them in the
// same factor, so splitting one the same way as the other keeps every op
// in between local. A dimension that some op needs whole (in none of its
// factors) marks its class "pinned"; the planner avoids splitting pinned
// classes where it has a choice.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_PARALLEL_DIMCLASSES_H
#define DITC_PASSES_PARALLEL_DIMCLASSES_H

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::ditc {

class DimClasses {
public:
  /// `parallelOnly`: tie dimensions through parallel factors only (not
  /// through the contraction of a reduction factor). `joinedMeasures`: a
  /// step cache's decision (ditc.cache_decide) pins nothing, as its
  /// input's parts are joined before it (pipeline micro-batches).
  /// `ignored`: ops whose rules neither tie nor pin (a pass asking what the
  /// classes would be once it rewrote them).
  explicit DimClasses(FunctionOpInterface fn, bool parallelOnly = false,
                      bool joinedMeasures = false,
                      const llvm::SmallPtrSetImpl<Operation *> *ignored = nullptr);

  /// The class of dimension `dim` of `v`.
  unsigned classOf(Value v, unsigned dim);
  bool same(Value a, unsigned da, Value b, unsigned db) {
    return classOf(a, da) == classOf(b, db);
  }
  bool isPinned(unsigned cls) { return pinnedAt(find(cls)); }
  /// Every (value, dim) of the function, grouped by class.
  SmallVector<std::pair<Value, unsigned>> members(unsigned cls);
  /// Every value of the function (arguments, then op results in order).
  ArrayRef<Value> values() const { return allValues; }
  /// Puts dimension `da` of `a` and `db` of `b` in one class.
  void unite(Value a, unsigned da, Value b, unsigned db) { unite(node(a, da), node(b, db)); }

private:
  unsigned node(Value v, unsigned dim);
  unsigned find(unsigned x);
  void unite(unsigned a, unsigned b);

  bool pinnedAt(unsigned x) const { return x < pinned.size() && pinned[x]; }
  void setPinned(unsigned x, bool p);

  /// A value's dimensions get consecutive nodes from `first` when the value
  /// is first seen (one hash lookup per value, not per dimension); a
  /// dimension past its type's rank (none of a ranked tensor's) is in
  /// `extra`.
  struct Span {
    unsigned first = 0, count = 0;
  };
  llvm::DenseMap<Value, Span> spans;
  llvm::DenseMap<std::pair<Value, unsigned>, unsigned> extra;
  SmallVector<unsigned> parent;
  SmallVector<std::pair<Value, unsigned>> nodes;
  SmallVector<bool> pinned;
  SmallVector<Value> allValues;
};

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_DIMCLASSES_H
