//===- DitcDialect.cpp - the ditc dialect ---------------------------------===//

#include "dialects/Ditc/IR/DitcDialect.h"
#include "dialects/Ditc/IR/DitcOps.h"
#include "dialects/Ditc/IR/DitcSharding.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ditc;

#include "dialects/Ditc/IR/DitcDialect.cpp.inc"
#include "dialects/Ditc/IR/DitcEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/Ditc/IR/DitcAttrs.cpp.inc"

void DitcDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Ditc/IR/DitcAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Ditc/IR/DitcOps.cpp.inc"
      >();
  attachShardingRules(getContext());
}

Operation *DitcDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}
