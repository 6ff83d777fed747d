//===- OnnxOps.h - op handler groups ----------------------------*- C++ -*-===//

#ifndef DITC_LIB_IMPORTER_ONNX_ONNXOPS_H
#define DITC_LIB_IMPORTER_ONNX_ONNXOPS_H

#include "lib/Importer/Onnx/ImportContext.h"

namespace mlir::ditc::onnx_import {

using OpTable = llvm::StringMap<OpInfo>;

/// Elementwise math, comparisons, casts, reductions, constants.
void addMathOps(OpTable &table);
/// Shapes and data movement: Reshape, Transpose, Slice, Gather, ...
void addMovementOps(OpTable &table);
/// Contractions and the neural-network ops: MatMul, Gemm, Conv, Einsum,
/// Softmax, the norms, Attention, RotaryEmbedding.
void addNeuralOps(OpTable &table);
/// Ops with kernels of their own: ArgMax/ArgMin, CumSum, pooling,
/// ConvTranspose, GridSample, the scatters.
void addStructuredOps(OpTable &table);
/// Activations and small elementwise ops written with existing dialect ops.
void addActivationOps(OpTable &table);
/// Structured ops (padding, resizing, index gathers, norms) written with
/// existing dialect ops.
void addRewrittenOps(OpTable &table);

/// Broadcast shape of the given inputs, or an error at the node.
FailureOr<Shape> broadcastInputs(NodeContext &nc, ArrayRef<int> inputs);

/// A scalar constant of element type `et` as an IR value.
Value scalarConstant(NodeContext &nc, Type et, double v);

/// Whether `t` is an integer type usable for indices (not boolean).
bool isIndexType(Type t);

/// `v` converted to element type `et` (itself when it already has it).
Value castTo(NodeContext &nc, Value v, Type et);

/// The node's reduction axes, normalised, sorted and unique: from the `axes`
/// input from opset `inputSince` on, else from the attribute. All axes when
/// none are given, or none with noop_with_empty_axes.
FailureOr<SmallVector<int64_t>> reductionAxes(NodeContext &nc,
                                              int64_t inputSince);

enum class PadMode { Constant, Reflect, Edge, Wrap };

/// `x` padded by `begins`/`ends` per axis (negative values crop): a constant
/// gather per padded axis, then `fill` (a scalar of x's element type) where
/// constant padding was added.
FailureOr<Value> padTensor(NodeContext &nc, Value x, ArrayRef<int64_t> begins,
                           ArrayRef<int64_t> ends, PadMode mode, Value fill);

} // namespace mlir::ditc::onnx_import

#endif // DITC_LIB_IMPORTER_ONNX_ONNXOPS_H
