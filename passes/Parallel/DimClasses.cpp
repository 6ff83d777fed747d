//===- DimClasses.cpp - tensor dimensions tied by sharding rules ----------===//

#include "passes/Parallel/DimClasses.h"
#include "dialects/Ditc/IR/DitcSharding.h"

using namespace mlir;
using namespace mlir::ditc;

unsigned DimClasses::node(Value v, unsigned dim) {
  auto [it, inserted] = spans.try_emplace(v);
  if (inserted) {
    unsigned rank = 0;
    if (auto t = dyn_cast<RankedTensorType>(v.getType()))
      rank = t.getRank();
    it->second = {unsigned(parent.size()), rank};
    for (unsigned d = 0; d < rank; ++d) {
      parent.push_back(parent.size());
      nodes.push_back({v, d});
    }
  }
  if (dim < it->second.count)
    return it->second.first + dim;
  auto [e, added] = extra.try_emplace({v, dim}, parent.size());
  if (added) {
    parent.push_back(parent.size());
    nodes.push_back({v, dim});
  }
  return e->second;
}

void DimClasses::setPinned(unsigned x, bool p) {
  if (x >= pinned.size()) {
    if (!p)
      return;
    pinned.resize(parent.size(), false);
  }
  pinned[x] = p;
}

unsigned DimClasses::find(unsigned x) {
  while (parent[x] != x)
    x = parent[x] = parent[parent[x]];
  return x;
}

void DimClasses::unite(unsigned a, unsigned b) {
  a = find(a);
  b = find(b);
  if (a == b)
    return;
  bool p = pinnedAt(a) || pinnedAt(b);
  parent[b] = a;
  setPinned(a, p);
}

unsigned DimClasses::classOf(Value v, unsigned dim) { return find(node(v, dim)); }

SmallVector<std::pair<Value, unsigned>> DimClasses::members(unsigned cls) {
  SmallVector<std::pair<Value, unsigned>> out;
  for (unsigned i = 0; i < nodes.size(); ++i)
    if (find(i) == find(cls))
      out.push_back(nodes[i]);
  return out;
}

DimClasses::DimClasses(FunctionOpInterface fn, bool parallelOnly, bool joinedMeasures,
                       const llvm::SmallPtrSetImpl<Operation *> *ignored) {
  auto addValue = [&](Value v) {
    allValues.push_back(v);
    if (auto t = dyn_cast<RankedTensorType>(v.getType()))
      for (unsigned d = 0; d < t.getRank(); ++d)
        node(v, d);
  };
  for (Value a : fn.getArguments())
    addValue(a);
  fn.walk([&](Operation *op) {
    for (Value r : op->getResults())
      addValue(r);
    auto iface = dyn_cast<ShardingRuleOpInterface>(op);
    if (!iface || (ignored && ignored->contains(op)))
      return;
    ShardingRule rule = iface.getShardingRule();
    unsigned nOperands = op->getNumOperands();
    auto valueAt = [&](unsigned idx) {
      return idx < nOperands ? op->getOperand(idx) : op->getResult(idx - nOperands);
    };
    llvm::DenseSet<std::pair<unsigned, unsigned>> covered;
    for (const ShardingFactor &f : rule.factors) {
      if (parallelOnly && f.kind != ShardingFactor::Kind::Parallel)
        continue;
      for (auto [idx, dim] : f.dims) {
        covered.insert({idx, dim});
        unite(node(valueAt(f.dims[0].first), f.dims[0].second), node(valueAt(idx), dim));
      }
    }
    // Sources (weights, constants) take any split: the partition slices them.
    if (nOperands == 0 || (joinedMeasures && isa<CacheDecideOp>(op)))
      return;
    for (unsigned idx = 0; idx < nOperands + op->getNumResults(); ++idx) {
      auto t = dyn_cast<RankedTensorType>(valueAt(idx).getType());
      if (!t)
        continue;
      for (unsigned d = 0; d < t.getRank(); ++d)
        if (t.getDimSize(d) > 1 && !covered.contains({idx, d}))
          setPinned(find(node(valueAt(idx), d)), true);
    }
  });
}
