//===- DitcShapes.h - shape rules shared by verifiers and importer -*- C++ -*-//
//
// Pure functions on static shapes. The op verifiers and the ONNX importer call
// the same rules, so a graph the importer accepts always verifies and an op the
// verifier rejects names the same problem the importer would have reported.
// Each returns failure with a human-readable reason in `why`.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_DIALECTS_DITC_IR_DITCSHAPES_H
#define DITC_DIALECTS_DITC_IR_DITCSHAPES_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>
#include <string>

namespace mlir::ditc {

using Shape = llvm::SmallVector<int64_t, 6>;

/// The largest element count a tensor may have (keeps byte sizes in int64).
constexpr int64_t kMaxElements = int64_t(1) << 56;

/// Number of elements, or nullopt when a dimension is negative or the product
/// exceeds kMaxElements.
std::optional<int64_t> numElements(ArrayRef<int64_t> shape);

/// Renders a shape as "2x16x64" (or "scalar").
std::string shapeStr(ArrayRef<int64_t> shape);

/// Numpy broadcasting of several shapes.
FailureOr<Shape> broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes,
                                 std::string &why);
/// Whether `from` broadcasts (one-directionally) to `to`.
bool broadcastsTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to);

/// [..., M, K] x [..., K, N] with broadcast batch dimensions (ranks >= 2).
FailureOr<Shape> matmulShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                             std::string &why);

/// input [..., K] times weight [K, N] (or [N, K] when transposed).
FailureOr<Shape> linearShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                             bool transposeWeight, std::string &why);

FailureOr<Shape> reduceShape(ArrayRef<int64_t> input, ArrayRef<int64_t> axes,
                             bool keepDims, std::string &why);

FailureOr<Shape> transposeShape(ArrayRef<int64_t> input,
                                ArrayRef<int64_t> perm, std::string &why);

FailureOr<Shape> concatShape(ArrayRef<ArrayRef<int64_t>> inputs, int64_t axis,
                             std::string &why);

FailureOr<Shape> gatherShape(ArrayRef<int64_t> data, ArrayRef<int64_t> indices,
                             int64_t axis, std::string &why);

FailureOr<Shape> convShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                           ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                           ArrayRef<int64_t> dilations, int64_t group,
                           std::string &why);

FailureOr<Shape> attentionShape(ArrayRef<int64_t> q, ArrayRef<int64_t> k,
                                ArrayRef<int64_t> v,
                                std::optional<ArrayRef<int64_t>> mask,
                                std::string &why);

/// An einsum equation in explicit form: one term per input, then the output.
struct EinsumSpec {
  SmallVector<std::string> inputs;
  std::string output;
};
/// Parses `eq` for operands of the given ranks; expands `...` and implicit
/// outputs (ONNX semantics) into explicit single-letter terms.
FailureOr<EinsumSpec> parseEinsum(StringRef eq, ArrayRef<int64_t> ranks,
                                  std::string &why);
FailureOr<Shape> einsumShape(const EinsumSpec &spec,
                             ArrayRef<ArrayRef<int64_t>> inputs,
                             std::string &why);
std::string einsumStr(const EinsumSpec &spec);

} // namespace mlir::ditc

#endif // DITC_DIALECTS_DITC_IR_DITCSHAPES_H
