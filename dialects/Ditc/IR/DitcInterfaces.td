//===- DitcInterfaces.td - ditc op interfaces --------------*- tablegen -*-===//

#ifndef DITC_INTERFACES_TD
#define DITC_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Ditc_ShardingRuleOpInterface : OpInterface<"ShardingRuleOpInterface"> {
  let cppNamespace = "::mlir::ditc";
  let description = [{
    How an op's tensor dimensions may be split across ranks. The rule lists
    the op's factors: a factor is one loop of the op's computation, seen in
    some dimensions of its operands and results (the tokens of a linear
    layer's input and output; the contraction dimension of its input and
    weight). Splitting a parallel factor the same way in all its dimensions
    lets every rank run the op on its blocks alone; splitting a reduction
    factor leaves partial sums that an all-reduce completes. A dimension in
    no factor must be whole on every rank. Propagation unifies dimensions
    through these rules; the partition pass reads them to decide where data
    must move. Every ditc op has the interface (DitcSharding.cpp).
  }];
  let methods = [
    InterfaceMethod<"The op's factors (see ShardingRule).",
                    "::mlir::ditc::ShardingRule", "getShardingRule", (ins)>
  ];
}

#endif // DITC_INTERFACES_TD
