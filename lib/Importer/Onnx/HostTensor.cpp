//===- HostTensor.cpp - host evaluation of constant subgraphs -------------===//

#include "lib/Importer/Onnx/HostTensor.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include <cmath>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

HostTensor::HostTensor(Type et, ArrayRef<int64_t> s)
    : elementType(et), shape(s.begin(), s.end()) {
  int64_t n = numElements(s).value_or(0);
  if (isFloat())
    f.assign(n, 0.0);
  else
    i.assign(n, 0);
}

RankedTensorType HostTensor::type() const {
  return RankedTensorType::get(shape, elementType);
}

double HostTensor::normalize(double v) const {
  if (auto ft = dyn_cast<FloatType>(elementType)) {
    if (ft.isF64())
      return v;
    llvm::APFloat a(v);
    bool lost;
    a.convert(ft.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven, &lost);
    return a.convertToDouble();
  }
  if (!std::isfinite(v))
    return 0;
  return (double)normalizeInt((int64_t)v);
}

int64_t HostTensor::normalizeInt(int64_t v) const {
  auto it = dyn_cast<IntegerType>(elementType);
  if (!it || it.getWidth() >= 64)
    return v;
  if (it.getWidth() == 1)
    return v != 0;
  unsigned w = it.getWidth();
  uint64_t mask = (uint64_t(1) << w) - 1;
  uint64_t u = uint64_t(v) & mask;
  if (it.isUnsigned())
    return (int64_t)u;
  if (u >> (w - 1))
    return (int64_t)(u | ~mask);
  return (int64_t)u;
}

void HostTensor::set(int64_t k, double v) {
  if (isFloat())
    f[k] = normalize(v);
  else
    i[k] = normalizeInt((int64_t)v);
}

DenseElementsAttr HostTensor::toAttr() const {
  RankedTensorType t = type();
  if (auto ft = dyn_cast<FloatType>(elementType)) {
    if (ft.isF32()) {
      std::vector<float> v(f.begin(), f.end());
      return DenseElementsAttr::get(t, ArrayRef<float>(v));
    }
    if (ft.isF64())
      return DenseElementsAttr::get(t, ArrayRef<double>(f));
    SmallVector<APFloat> v;
    for (double d : f) {
      APFloat a(d);
      bool lost;
      a.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      v.push_back(a);
    }
    return DenseElementsAttr::get(t, v);
  }
  if (elementType.isInteger(1)) {
    SmallVector<bool> v;
    for (int64_t x : i)
      v.push_back(x != 0);
    return DenseElementsAttr::get(t, ArrayRef<bool>(v));
  }
  unsigned w = cast<IntegerType>(elementType).getWidth();
  SmallVector<APInt> v;
  for (int64_t x : i)
    v.push_back(APInt(w, (uint64_t)x, /*isSigned=*/true, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(t, v);
}

HostTensor HostTensor::fromAttr(DenseElementsAttr attr) {
  auto t = cast<RankedTensorType>(attr.getType());
  HostTensor h(t.getElementType(), t.getShape());
  if (h.isFloat()) {
    int64_t k = 0;
    for (APFloat v : attr.getValues<APFloat>())
      h.f[k++] = v.convertToDouble();
  } else if (t.getElementType().isInteger(1)) {
    int64_t k = 0;
    for (bool v : attr.getValues<bool>())
      h.i[k++] = v;
  } else {
    bool isUnsigned = cast<IntegerType>(t.getElementType()).isUnsigned();
    int64_t k = 0;
    for (APInt v : attr.getValues<APInt>())
      h.i[k++] = isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue();
  }
  return h;
}

Shape mlir::ditc::onnx_import::stridesOf(ArrayRef<int64_t> shape) {
  Shape s(shape.size(), 1);
  for (int64_t k = (int64_t)shape.size() - 2; k >= 0; --k)
    s[k] = s[k + 1] * shape[k + 1];
  return s;
}

/// Offset into `inShape` (broadcast to `outShape`) of the element at `idx`.
static int64_t broadcastOffset(ArrayRef<int64_t> idx, ArrayRef<int64_t> inShape,
                               ArrayRef<int64_t> inStrides) {
  size_t off = idx.size() - inShape.size();
  int64_t o = 0;
  for (size_t k = 0; k < inShape.size(); ++k)
    if (inShape[k] != 1)
      o += idx[off + k] * inStrides[k];
  return o;
}

/// Calls fn(linearIndex, multiIndex) for every element of `shape`.
static void forEachIndex(ArrayRef<int64_t> shape,
                         const std::function<void(int64_t, ArrayRef<int64_t>)> &fn) {
  int64_t n = numElements(shape).value_or(0);
  Shape idx(shape.size(), 0);
  for (int64_t lin = 0; lin < n; ++lin) {
    fn(lin, idx);
    for (int64_t k = (int64_t)shape.size() - 1; k >= 0; --k) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
}

HostTensor mlir::ditc::onnx_import::foldBroadcast(
    ArrayRef<const HostTensor *> ins, ArrayRef<int64_t> shape, Type resultType,
    const std::function<double(ArrayRef<double>)> &fn,
    const std::function<int64_t(ArrayRef<int64_t>)> &intFn) {
  HostTensor out(resultType, shape);
  SmallVector<Shape> strides;
  bool allInt = true;
  for (const HostTensor *t : ins) {
    strides.push_back(stridesOf(t->shape));
    allInt &= !t->isFloat();
  }
  SmallVector<double> dv(ins.size());
  SmallVector<int64_t> iv(ins.size());
  forEachIndex(shape, [&](int64_t lin, ArrayRef<int64_t> idx) {
    for (size_t k = 0; k < ins.size(); ++k) {
      int64_t o = broadcastOffset(idx, ins[k]->shape, strides[k]);
      if (allInt && intFn)
        iv[k] = ins[k]->i[o];
      else
        dv[k] = ins[k]->getF(o);
    }
    if (allInt && intFn) {
      int64_t r = intFn(iv);
      if (out.isFloat())
        out.set(lin, (double)r);
      else
        out.i[lin] = out.normalizeInt(r);
    } else {
      out.set(lin, fn(dv));
    }
  });
  return out;
}

HostTensor mlir::ditc::onnx_import::foldCast(const HostTensor &in, Type to) {
  HostTensor out(to, in.shape);
  for (int64_t k = 0; k < in.size(); ++k) {
    if (!in.isFloat() && !out.isFloat())
      out.i[k] = out.normalizeInt(in.i[k]);
    else if (to.isInteger(1))
      out.i[k] = in.getF(k) != 0.0;
    else
      out.set(k, in.getF(k));
  }
  return out;
}

HostTensor mlir::ditc::onnx_import::foldReshape(const HostTensor &in,
                                                ArrayRef<int64_t> shape) {
  HostTensor out = in;
  out.shape.assign(shape.begin(), shape.end());
  return out;
}

template <typename Fn>
static HostTensor gatherElements(const HostTensor &in, ArrayRef<int64_t> outShape,
                                 Fn srcOffset) {
  HostTensor out(in.elementType, outShape);
  forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
    int64_t src = srcOffset(idx);
    if (in.isFloat())
      out.f[lin] = in.f[src];
    else
      out.i[lin] = in.i[src];
  });
  return out;
}

HostTensor mlir::ditc::onnx_import::foldTranspose(const HostTensor &in,
                                                  ArrayRef<int64_t> perm,
                                                  ArrayRef<int64_t> outShape) {
  Shape st = stridesOf(in.shape);
  return gatherElements(in, outShape, [&](ArrayRef<int64_t> idx) {
    int64_t o = 0;
    for (size_t k = 0; k < perm.size(); ++k)
      o += idx[k] * st[perm[k]];
    return o;
  });
}

HostTensor mlir::ditc::onnx_import::foldConcat(ArrayRef<const HostTensor *> ins,
                                               int64_t axis,
                                               ArrayRef<int64_t> outShape) {
  HostTensor out(ins[0]->elementType, outShape);
  forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
    int64_t a = idx[axis];
    for (const HostTensor *t : ins) {
      if (a < t->shape[axis]) {
        Shape st = stridesOf(t->shape);
        int64_t o = 0;
        for (size_t k = 0; k < idx.size(); ++k)
          o += ((int64_t)k == axis ? a : idx[k]) * st[k];
        if (out.isFloat())
          out.f[lin] = t->getF(o);
        else
          out.i[lin] = t->i[o];
        return;
      }
      a -= t->shape[axis];
    }
  });
  return out;
}

HostTensor mlir::ditc::onnx_import::foldSlice(const HostTensor &in,
                                              ArrayRef<int64_t> offsets,
                                              ArrayRef<int64_t> steps,
                                              ArrayRef<int64_t> outShape) {
  Shape st = stridesOf(in.shape);
  return gatherElements(in, outShape, [&](ArrayRef<int64_t> idx) {
    int64_t o = 0;
    for (size_t k = 0; k < idx.size(); ++k)
      o += (offsets[k] + idx[k] * steps[k]) * st[k];
    return o;
  });
}

HostTensor mlir::ditc::onnx_import::foldGather(const HostTensor &data,
                                               const HostTensor &indices,
                                               int64_t axis,
                                               ArrayRef<int64_t> outShape) {
  Shape st = stridesOf(data.shape);
  size_t ir = indices.shape.size();
  Shape ist = stridesOf(indices.shape);
  return gatherElements(data, outShape, [&](ArrayRef<int64_t> idx) {
    int64_t io = 0;
    for (size_t k = 0; k < ir; ++k)
      io += idx[axis + k] * ist[k];
    int64_t g = indices.i[io];
    if (g < 0)
      g += data.shape[axis];
    int64_t o = 0;
    for (int64_t k = 0; k < axis; ++k)
      o += idx[k] * st[k];
    o += g * st[axis];
    for (size_t k = axis + 1; k < data.shape.size(); ++k)
      o += idx[k - 1 + ir] * st[k];
    return o;
  });
}

HostTensor mlir::ditc::onnx_import::foldReduce(const HostTensor &in,
                                               ArrayRef<int64_t> axes,
                                               ArrayRef<int64_t> outShape,
                                               StringRef kind) {
  HostTensor out(in.elementType, outShape);
  SmallVector<bool> reduced(in.shape.size(), false);
  for (int64_t a : axes)
    reduced[a] = true;
  bool keep = outShape.size() == in.shape.size();
  Shape ost = stridesOf(outShape);
  double init = kind == "max"    ? -INFINITY
                : kind == "min"  ? INFINITY
                : kind == "prod" ? 1.0
                                 : 0.0;
  std::vector<double> acc(out.size(), init);
  std::vector<int64_t> count(out.size(), 0);
  forEachIndex(in.shape, [&](int64_t lin, ArrayRef<int64_t> idx) {
    int64_t o = 0, j = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      if (reduced[k]) {
        j += keep;
        continue;
      }
      o += idx[k] * ost[j++];
    }
    double v = in.getF(lin);
    if (kind == "max")
      acc[o] = std::max(acc[o], v);
    else if (kind == "min")
      acc[o] = std::min(acc[o], v);
    else if (kind == "prod")
      acc[o] *= v;
    else
      acc[o] += v;
    count[o]++;
  });
  for (int64_t k = 0; k < out.size(); ++k)
    out.set(k, kind == "mean" && count[k] ? acc[k] / count[k] : acc[k]);
  return out;
}

HostTensor mlir::ditc::onnx_import::foldTrilu(const HostTensor &in, int64_t k,
                                              bool upper) {
  HostTensor out = in;
  size_t r = in.shape.size();
  forEachIndex(in.shape, [&](int64_t lin, ArrayRef<int64_t> idx) {
    int64_t d = idx[r - 1] - idx[r - 2];
    bool keep = upper ? d >= k : d <= k;
    if (!keep)
      out.set(lin, 0.0);
  });
  return out;
}
