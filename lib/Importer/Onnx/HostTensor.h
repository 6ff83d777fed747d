//===- HostTensor.h - small constant tensors the importer folds -*- C++ -*-===//
//
// Exported graphs compute shapes, masks and position tables from constants
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape). The importer evaluates
// such subgraphs on the host while it reads the graph, so every value gets a
// static shape. Floats are held as double and integers (and booleans) as
// int64; `elementType` says what the tensor really is.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_IMPORTER_ONNX_HOSTTENSOR_H
#define DITC_LIB_IMPORTER_ONNX_HOSTTENSOR_H

#include "dialects/Ditc/IR/DitcShapes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include <functional>
#include <vector>

namespace mlir::ditc::onnx_import {

/// Results larger than this many elements are not folded on the host.
constexpr int64_t kFoldLimit = int64_t(1) << 18;

struct HostTensor {
  Type elementType;
  Shape shape;
  std::vector<double> f;  // float element types
  std::vector<int64_t> i; // integer and boolean element types

  HostTensor() = default;
  HostTensor(Type et, ArrayRef<int64_t> shape);

  bool isFloat() const { return isa<FloatType>(elementType); }
  int64_t size() const { return isFloat() ? f.size() : i.size(); }
  double getF(int64_t k) const { return isFloat() ? f[k] : (double)i[k]; }
  int64_t getI(int64_t k) const { return isFloat() ? (int64_t)f[k] : i[k]; }
  void set(int64_t k, double v);
  RankedTensorType type() const;

  DenseElementsAttr toAttr() const;
  static HostTensor fromAttr(DenseElementsAttr attr);
  /// Wraps a value to the element type (truncation, bool, float rounding).
  double normalize(double v) const;
  int64_t normalizeInt(int64_t v) const;
};

using BinaryFn = std::function<double(double, double)>;
using IntBinaryFn = std::function<int64_t(int64_t, int64_t)>;

/// Elementwise with numpy broadcasting. The result element type is `resultType`;
/// integer operands use `intFn` when given, else `fn` on doubles.
HostTensor foldBroadcast(ArrayRef<const HostTensor *> ins, ArrayRef<int64_t> shape,
                         Type resultType,
                         const std::function<double(ArrayRef<double>)> &fn,
                         const std::function<int64_t(ArrayRef<int64_t>)> &intFn);
HostTensor foldCast(const HostTensor &in, Type to);
HostTensor foldReshape(const HostTensor &in, ArrayRef<int64_t> shape);
HostTensor foldTranspose(const HostTensor &in, ArrayRef<int64_t> perm,
                         ArrayRef<int64_t> outShape);
HostTensor foldConcat(ArrayRef<const HostTensor *> ins, int64_t axis,
                      ArrayRef<int64_t> outShape);
HostTensor foldSlice(const HostTensor &in, ArrayRef<int64_t> offsets,
                     ArrayRef<int64_t> steps, ArrayRef<int64_t> outShape);
HostTensor foldGather(const HostTensor &data, const HostTensor &indices,
                      int64_t axis, ArrayRef<int64_t> outShape);
/// kind: "sum", "mean", "max", "min" or "prod".
HostTensor foldReduce(const HostTensor &in, ArrayRef<int64_t> axes,
                      ArrayRef<int64_t> outShape, StringRef kind);
HostTensor foldTrilu(const HostTensor &in, int64_t k, bool upper);

/// Row-major strides of a shape.
Shape stridesOf(ArrayRef<int64_t> shape);

} // namespace mlir::ditc::onnx_import

#endif // DITC_LIB_IMPORTER_ONNX_HOSTTENSOR_H
