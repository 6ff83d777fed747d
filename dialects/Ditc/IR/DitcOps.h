//===- DitcOps.h - ditc operations ------------------------------*- C++ -*-===//

#ifndef DITC_DIALECTS_DITC_IR_DITCOPS_H
#define DITC_DIALECTS_DITC_IR_DITCOPS_H

#include "dialects/Ditc/IR/DitcDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include <array>

#include "dialects/Ditc/IR/DitcEnums.h.inc"

namespace mlir::OpTrait::ditc {
/// All operands broadcast (numpy rules) to exactly the result's shape.
LogicalResult verifyBroadcasting(Operation *op);

template <typename ConcreteType>
class Broadcasting : public TraitBase<ConcreteType, Broadcasting> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return verifyBroadcasting(op);
  }
};
} // namespace mlir::OpTrait::ditc

namespace mlir::ditc {
/// The ranked tensor type every ditc value has, and its shape.
inline RankedTensorType typeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}
inline ArrayRef<int64_t> shapeOf(Value v) { return typeOf(v).getShape(); }

/// Module attributes the importer writes: the source graph's initializer
/// totals (elements and bytes of every initializer, whatever became of it:
/// a weight, a constant, or shape arithmetic folded away at import).
constexpr llvm::StringLiteral kInitializerElementsAttr =
    "ditc.initializer_elements";
constexpr llvm::StringLiteral kInitializerBytesAttr = "ditc.initializer_bytes";

/// On a ditc.weight whose type differs from the stored tensor's (a TypeAttr:
/// the stored element type). The weight writer converts the stored bytes
/// (-ditc-precision sets it).
constexpr llvm::StringLiteral kStoredTypeAttr = "ditc.stored_type";

/// On a 2-D ditc.weight whose type is the stored [K, N] tensor transposed
/// (-ditc-transpose-loop-weights sets it): the weight writer writes it as
/// [N, K].
constexpr llvm::StringLiteral kTransposedAttr = "ditc.transposed";

/// On a ditc.weight cut or padded for the plan: the stored tensor's name
/// and shape (the weight writer and random weights read its elements).
constexpr llvm::StringLiteral kSourceNameAttr = "ditc.source_name";
constexpr llvm::StringLiteral kGlobalShapeAttr = "ditc.global_shape";
/// On a ditc.weight that is a window of its stored tensor (one linear layer
/// per part of a joined weight, -ditc-split-joined-linears): where the
/// window starts in the stored tensor (kGlobalShapeAttr) and its shape, per
/// dimension (array<i64>). The weight's blocks, padding and shards are
/// those of the window; elements outside it read as zeros.
constexpr llvm::StringLiteral kWindowOffsetAttr = "ditc.window_offset";
constexpr llvm::StringLiteral kWindowShapeAttr = "ditc.window_shape";
} // namespace mlir::ditc

#define GET_ATTRDEF_CLASSES
#include "dialects/Ditc/IR/DitcAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Ditc/IR/DitcOps.h.inc"

namespace mlir::ditc {
/// Where a weight's elements come from: the stored tensor's shape, and the
/// window of it the weight holds (the whole tensor unless the weight
/// carries kWindowOffsetAttr / kWindowShapeAttr).
struct WeightWindow {
  SmallVector<int64_t> stored, offset, shape;
};
WeightWindow weightWindow(WeightOp w);

/// A weight for elements [offset, offset + size) of dimension `dim` of `w`,
/// which is neither sharded nor padded; named NAME@<tag><offset>+<size>.
/// Null when `w` is sharded or padded.
WeightOp weightPart(OpBuilder &b, WeightOp w, unsigned dim, int64_t offset, int64_t size,
                    StringRef tag);
} // namespace mlir::ditc

#endif // DITC_DIALECTS_DITC_IR_DITCOPS_H
