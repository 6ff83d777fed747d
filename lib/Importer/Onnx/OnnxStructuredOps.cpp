//===- OnnxStructuredOps.cpp - index reductions, pooling, scatters -------===//
//
// ArgMax/ArgMin, CumSum, the pooling ops, ConvTranspose, GridSample, the
// scatters and the bitwise ops: each becomes one dialect op with its own
// runtime kernel. Window sizes, pads and output shapes are resolved here
// (auto_pad, ceil_mode, output_padding), so the ops carry explicit numbers.
// Hardmax builds on ArgMax; Atan, Asin and Acos are a range-reduced series
// of existing elementwise ops.
//
//===----------------------------------------------------------------------===//

#include "lib/Importer/Onnx/OnnxOps.h"

#include "ditc/runtime/det.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

namespace {

/// An integer attribute list of one entry per spatial axis (default `def`),
/// or an error naming the attribute.
FailureOr<SmallVector<int64_t>> perAxis(NodeContext &nc, StringRef name,
                                        size_t n, int64_t def) {
  SmallVector<int64_t> v = nc.attrInts(name).value_or(SmallVector<int64_t>(n, def));
  if (v.size() != n) {
    nc.error() << name << " has " << v.size() << " entries for " << n
               << " spatial axes";
    return failure();
  }
  return v;
}

/// ArgMax / ArgMin.
template <typename OpT> LogicalResult importArgReduce(NodeContext &nc) {
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", 0), nc.rank(0));
  if (failed(axis))
    return failure();
  bool keep = nc.attrInt("keepdims", 1) != 0;
  std::string why;
  FailureOr<Shape> s = reduceShape(nc.shape(0), {*axis}, keep, why);
  if (failed(s))
    return nc.fail(why);
  nc.set(0, OpT::create(nc.b, nc.loc,
                        RankedTensorType::get(*s, nc.b.getI64Type()), nc.in(0),
                        *axis, keep, nc.attrInt("select_last_index", 0) != 0));
  return success();
}

/// CumSum: the axis is a constant scalar input.
LogicalResult importCumSum(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> a = nc.constInts(1, "axis");
  if (failed(a))
    return failure();
  if (a->size() != 1)
    return nc.error() << "axis must be a scalar";
  FailureOr<int64_t> axis = nc.axis((*a)[0], nc.rank(0));
  if (failed(axis))
    return failure();
  nc.set(0, CumSumOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), *axis,
                             nc.attrInt("exclusive", 0) != 0,
                             nc.attrInt("reverse", 0) != 0));
  return success();
}

/// Begin/end pads and output sizes of a sliding window (pooling) per ONNX's
/// auto_pad and ceil_mode; `pads` holds the explicit pads on entry.
LogicalResult windowShape(NodeContext &nc, ArrayRef<int64_t> in,
                          ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                          ArrayRef<int64_t> dil, bool ceilMode,
                          SmallVector<int64_t> &pads, Shape &out) {
  size_t sp = in.size();
  std::string autoPad = nc.attrStr("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return nc.error() << "unknown auto_pad '" << autoPad << "'";
  for (size_t a = 0; a < sp; ++a) {
    int64_t span = (kernel[a] - 1) * dil[a] + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t o = (in[a] + strides[a] - 1) / strides[a];
      int64_t total = std::max<int64_t>(0, (o - 1) * strides[a] + span - in[a]);
      int64_t small = total / 2;
      pads[a] = autoPad == "SAME_UPPER" ? small : total - small;
      pads[sp + a] = total - pads[a];
      out.push_back(o);
      continue;
    }
    if (autoPad == "VALID")
      pads[a] = pads[sp + a] = 0;
    int64_t room = in[a] + pads[a] + pads[sp + a] - span;
    if (room < 0)
      return nc.error() << "window of " << span << " larger than the padded "
                        << "axis of " << in[a] + pads[a] + pads[sp + a];
    int64_t o = (ceilMode ? (room + strides[a] - 1) / strides[a]
                          : room / strides[a]) +
                1;
    // A last window must start inside the input or its begin padding.
    if (ceilMode && (o - 1) * strides[a] >= in[a] + pads[a])
      --o;
    out.push_back(o);
  }
  return success();
}

/// Flat row-major indices into an [N, C, d...] tensor of shape `x`, turned
/// into MaxPool's storage_order=1 form: the spatial position counted
/// column-major (first spatial axis fastest), the N, C offset unchanged.
Value columnMajorIndices(NodeContext &nc, Value idx, ArrayRef<int64_t> x) {
  auto t = cast<RankedTensorType>(idx.getType());
  Type i64 = nc.b.getI64Type();
  auto cst = [&](int64_t v) { return scalarConstant(nc, i64, (double)v); };
  ArrayRef<int64_t> sp = x.drop_front(2);
  int64_t plane = 1;
  for (int64_t d : sp)
    plane *= d;
  Value q = ModOp::create(nc.b, nc.loc, t, idx, cst(plane), /*fmod=*/false);
  Value out = SubOp::create(nc.b, nc.loc, t, idx, q);
  // Coordinates from the innermost axis out; column-major strides grow
  // from the outermost axis.
  int64_t colStride = 1;
  SmallVector<int64_t> colStrides;
  for (int64_t d : sp) {
    colStrides.push_back(colStride);
    colStride *= d;
  }
  for (int64_t a = (int64_t)sp.size() - 1; a >= 0; --a) {
    Value c = ModOp::create(nc.b, nc.loc, t, q, cst(sp[a]), false);
    q = DivOp::create(nc.b, nc.loc, t, q, cst(sp[a]));
    Value term = MulOp::create(nc.b, nc.loc, t, c, cst(colStrides[a]));
    out = AddOp::create(nc.b, nc.loc, t, out, term);
  }
  return out;
}

/// MaxPool, AveragePool, LpPool; the global forms with `global`.
LogicalResult importPool(NodeContext &nc, PoolKind kind, bool global) {
  int64_t r = nc.rank(0);
  if (r < 3)
    return nc.error() << "input must be [N, C, spatial...]";
  ArrayRef<int64_t> x = nc.shape(0);
  size_t sp = r - 2;
  SmallVector<int64_t> kernel(x.drop_front(2));
  SmallVector<int64_t> strides(sp, 1), dil(sp, 1), pads(2 * sp, 0);
  if (!global) {
    std::optional<SmallVector<int64_t>> ks = nc.attrInts("kernel_shape");
    if (!ks || ks->size() != sp)
      return nc.error() << "kernel_shape must list " << sp << " sizes";
    kernel = *ks;
    FailureOr<SmallVector<int64_t>> s = perAxis(nc, "strides", sp, 1),
                                    d = perAxis(nc, "dilations", sp, 1),
                                    p = perAxis(nc, "pads", 2 * sp, 0);
    if (failed(s) || failed(d) || failed(p))
      return failure();
    strides = *s;
    dil = *d;
    pads = *p;
  }
  Shape out{x[0], x[1]}, spatial;
  if (failed(windowShape(nc, x.drop_front(2), kernel, strides, dil,
                         !global && nc.attrInt("ceil_mode", 0) != 0, pads,
                         spatial)))
    return failure();
  llvm::append_range(out, spatial);
  FailureOr<RankedTensorType> type = nc.tensorType(out, nc.elem(0));
  if (failed(type))
    return failure();
  Type indicesType;
  if (kind == PoolKind::max && nc.numOutputs() > 1 && nc.outputUsed(1))
    indicesType = RankedTensorType::get(out, nc.b.getI64Type());
  SmallVector<Type> results{*type};
  if (indicesType)
    results.push_back(indicesType);
  auto op = PoolOp::create(
      nc.b, nc.loc, results, nc.in(0), PoolKindAttr::get(nc.ctx(), kind),
      nc.b.getDenseI64ArrayAttr(kernel), nc.b.getDenseI64ArrayAttr(strides),
      nc.b.getDenseI64ArrayAttr(pads), nc.b.getDenseI64ArrayAttr(dil),
      kind == PoolKind::avg && nc.attrInt("count_include_pad", 0) != 0
          ? nc.b.getUnitAttr()
          : UnitAttr(),
      nc.b.getI64IntegerAttr(kind == PoolKind::lp ? nc.attrInt("p", 2) : 2));
  nc.set(0, op.getResult());
  if (indicesType)
    nc.set(1, nc.attrInt("storage_order", 0)
                  ? columnMajorIndices(nc, op.getIndices(), x)
                  : op.getIndices());
  return success();
}

/// ConvTranspose: pads and output sizes from auto_pad, output_padding and
/// output_shape as ONNX defines them.
LogicalResult importConvTranspose(NodeContext &nc) {
  int64_t r = nc.rank(0);
  if (r < 3 || nc.rank(1) != r)
    return nc.error() << "input and weight must be [N, C, spatial...] of one "
                         "rank";
  if (!isa<FloatType>(nc.elem(0)) || nc.elem(1) != nc.elem(0) ||
      (nc.has(2) && nc.elem(2) != nc.elem(0)))
    return nc.error() << "expects floating-point inputs of one type";
  size_t sp = r - 2;
  ArrayRef<int64_t> x = nc.shape(0), w = nc.shape(1);
  int64_t group = nc.attrInt("group", 1);
  if (group < 1 || x[1] != w[0] || x[1] % group)
    return nc.error() << "weight " << shapeStr(w) << " does not match input "
                      << shapeStr(x) << " with group " << group;
  ArrayRef<int64_t> kernel = w.drop_front(2);
  if (auto ks = nc.attrInts("kernel_shape"); ks && ArrayRef<int64_t>(*ks) != kernel)
    return nc.error() << "kernel_shape does not match the weight";
  FailureOr<SmallVector<int64_t>> strides = perAxis(nc, "strides", sp, 1),
                                  dil = perAxis(nc, "dilations", sp, 1),
                                  outPad = perAxis(nc, "output_padding", sp, 0),
                                  pads = perAxis(nc, "pads", 2 * sp, 0);
  if (failed(strides) || failed(dil) || failed(outPad) || failed(pads))
    return failure();
  std::string autoPad = nc.attrStr("auto_pad", "NOTSET");
  std::optional<SmallVector<int64_t>> outShape = nc.attrInts("output_shape");
  if (outShape && outShape->size() == sp + 2)
    outShape = SmallVector<int64_t>(ArrayRef<int64_t>(*outShape).drop_front(2));
  if (outShape && outShape->size() != sp)
    return nc.error() << "output_shape must list " << sp << " sizes";
  Shape out{x[0], w[1] * group};
  for (size_t a = 0; a < sp; ++a) {
    int64_t full = (*strides)[a] * (x[2 + a] - 1) + (*outPad)[a] +
                   (kernel[a] - 1) * (*dil)[a] + 1;
    bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
    if (same || outShape) {
      int64_t o = outShape ? (*outShape)[a] : x[2 + a] * (*strides)[a];
      // As the ONNX reference: the odd pad goes to the end under SAME_UPPER
      // only (NOTSET with output_shape puts it first), halves round down.
      int64_t total = full - o;
      int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      bool upper = autoPad == "SAME_UPPER";
      (*pads)[a] = upper ? half : total - half;
      (*pads)[sp + a] = total - (*pads)[a];
      out.push_back(o);
    } else if (autoPad == "NOTSET" || autoPad == "VALID") {
      if (autoPad == "VALID")
        (*pads)[a] = (*pads)[sp + a] = 0;
      out.push_back(full - (*pads)[a] - (*pads)[sp + a]);
    } else {
      return nc.error() << "unknown auto_pad '" << autoPad << "'";
    }
    if (out.back() < 1)
      return nc.error() << "output size " << out.back() << " of spatial axis "
                        << a;
  }
  if (nc.has(2) && nc.shape(2) != ArrayRef<int64_t>{out[1]})
    return nc.error() << "bias must have " << out[1] << " entries";
  FailureOr<RankedTensorType> type = nc.tensorType(out, nc.elem(0));
  if (failed(type))
    return failure();
  nc.set(0, ConvTransposeOp::create(nc.b, nc.loc, *type, nc.in(0), nc.in(1),
                                    nc.has(2) ? nc.in(2) : Value(), *strides,
                                    *pads, *dil, group));
  return success();
}

/// GridSample (opsets 16 and 20 spellings of the modes).
LogicalResult importGridSample(NodeContext &nc) {
  int64_t r = nc.rank(0) - 2;
  ArrayRef<int64_t> x = nc.shape(0), g = nc.shape(1);
  if (r < 1 || nc.rank(1) != r + 2 || g.back() != r || g[0] != x[0])
    return nc.error() << "expects input [N, C, d...] and grid [N, o..., "
                      << "rank], got " << shapeStr(x) << " and "
                      << shapeStr(g);
  if (!isa<FloatType>(nc.elem(0)) || nc.elem(1) != nc.elem(0))
    return nc.error() << "expects floating-point input and grid of one type";
  std::string mode = nc.attrStr("mode", nc.opset >= 20 ? "linear" : "bilinear");
  GridSampleMode m;
  if (mode == "linear" || mode == "bilinear")
    m = GridSampleMode::linear;
  else if (mode == "nearest")
    m = GridSampleMode::nearest;
  else if (mode == "cubic" || mode == "bicubic")
    m = GridSampleMode::cubic;
  else
    return nc.error() << "unknown mode '" << mode << "'";
  std::string pad = nc.attrStr("padding_mode", "zeros");
  std::optional<GridSamplePadding> p = symbolizeGridSamplePadding(pad);
  if (!p)
    return nc.error() << "unknown padding_mode '" << pad << "'";
  Shape out{x[0], x[1]};
  llvm::append_range(out, g.drop_front().drop_back());
  nc.set(0, GridSampleOp::create(nc.b, nc.loc, RankedTensorType::get(out, nc.elem(0)),
                                 nc.in(0), nc.in(1), m, *p,
                                 nc.attrInt("align_corners", 0) != 0));
  return success();
}

FailureOr<ScatterReduction> scatterReduction(NodeContext &nc) {
  std::string red = nc.attrStr("reduction", "none");
  std::optional<ScatterReduction> r = symbolizeScatterReduction(red);
  if (!r) {
    nc.error() << "unknown reduction '" << red << "'";
    return failure();
  }
  return *r;
}

/// ScatterElements (and the deprecated Scatter of opsets below 11 is not
/// in range).
LogicalResult importScatterElements(NodeContext &nc) {
  FailureOr<ScatterReduction> red = scatterReduction(nc);
  if (failed(red))
    return failure();
  if (nc.elem(2) != nc.elem(0) || nc.shape(1) != nc.shape(2) ||
      nc.rank(1) != nc.rank(0) || !isIndexType(nc.elem(1)))
    return nc.error() << "expects integer indices and updates of one shape, "
                         "of the data's rank and element type";
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", 0), nc.rank(0));
  if (failed(axis))
    return failure();
  nc.set(0, ScatterElementsOp::create(nc.b, nc.loc, nc.type(0), nc.in(0),
                                      nc.in(1), nc.in(2), *axis, *red));
  return success();
}

LogicalResult importScatterNd(NodeContext &nc) {
  FailureOr<ScatterReduction> red = scatterReduction(nc);
  if (failed(red))
    return failure();
  ArrayRef<int64_t> d = nc.shape(0), i = nc.shape(1), u = nc.shape(2);
  if (!isIndexType(nc.elem(1)) || nc.elem(2) != nc.elem(0) || i.empty() ||
      i.back() < 1 || i.back() > (int64_t)d.size())
    return nc.error() << "expects integer indices [..., k] with k within the "
                         "data's rank, updates of the data's element type";
  SmallVector<int64_t> want(i.drop_back());
  llvm::append_range(want, d.drop_front(i.back()));
  if (u != ArrayRef<int64_t>(want))
    return nc.error() << "updates " << shapeStr(u) << " should be "
                      << shapeStr(want);
  nc.set(0, ScatterNdOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), nc.in(1),
                                nc.in(2), *red));
  return success();
}

/// Elementwise builders over values of one float type (scalars broadcast).
struct Elementwise {
  NodeContext &nc;
  Type et;
  Value cst(double v) { return scalarConstant(nc, et, v); }
  RankedTensorType typeOf(Value a, Value b, Type elem) {
    SmallVector<ArrayRef<int64_t>> shapes{shapeOf(a), shapeOf(b)};
    std::string why;
    return RankedTensorType::get(*broadcastShapes(shapes, why), elem);
  }
  template <typename OpT> Value op(Value a, Value b) {
    return OpT::create(nc.b, nc.loc, typeOf(a, b, et), a, b);
  }
  Value less(Value a, Value b) {
    return LessOp::create(nc.b, nc.loc, typeOf(a, b, nc.b.getI1Type()), a, b);
  }
  Value greater(Value a, Value b) {
    return GreaterOp::create(nc.b, nc.loc, typeOf(a, b, nc.b.getI1Type()), a,
                             b);
  }
  Value select(Value c, Value a, Value b) {
    return WhereOp::create(nc.b, nc.loc, cast<RankedTensorType>(a.getType()),
                           c, a, b);
  }
};

/// atan(x): |x| > 1 through pi/2 - atan(1/|x|), |x| > tan(pi/8) through
/// pi/4 + atan((|x| - 1)/(|x| + 1)), then the series to u^15 (error below
/// 2e-8 for |u| <= tan(pi/8)); the sign restored last.
Value atanOf(Elementwise &e, Value x) {
  Value zero = e.cst(0), one = e.cst(1);
  Value neg = e.less(x, zero);
  Value t = e.select(neg, e.op<SubOp>(zero, x), x);
  Value inv = e.greater(t, one);
  Value a = e.select(inv, e.op<DivOp>(one, t), t);
  Value big = e.greater(a, e.cst(0.41421356237309503));
  Value u = e.select(big, e.op<DivOp>(e.op<SubOp>(a, one), e.op<AddOp>(a, one)),
                     a);
  Value u2 = e.op<MulOp>(u, u);
  Value p = e.cst(-1.0 / 15);
  for (int k = 6; k >= 0; --k)
    p = e.op<AddOp>(e.op<MulOp>(p, u2), e.cst((k % 2 ? -1.0 : 1.0) / (2 * k + 1)));
  Value r = e.op<MulOp>(p, u);
  r = e.select(big, e.op<AddOp>(r, e.cst(M_PI / 4)), r);
  r = e.select(inv, e.op<SubOp>(e.cst(M_PI / 2), r), r);
  return e.select(neg, e.op<SubOp>(zero, r), r);
}

/// Atan, Asin (atan(x / sqrt(1 - x^2))), Acos (pi/2 - asin(x)).
LogicalResult importInverseTrig(NodeContext &nc, StringRef fn) {
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input, got " << nc.elem(0);
  Elementwise e{nc, nc.elem(0)};
  Value x = nc.in(0), r;
  if (fn == "atan") {
    r = atanOf(e, x);
  } else {
    Value c = e.op<SubOp>(e.cst(1), e.op<MulOp>(x, x));
    Value sqrt = SqrtOp::create(nc.b, nc.loc, nc.type(0), c);
    r = atanOf(e, e.op<DivOp>(x, sqrt));
    if (fn == "acos")
      r = e.op<SubOp>(e.cst(M_PI / 2), r);
  }
  nc.set(0, r);
  return success();
}

/// Hardmax: 1 at the first maximum along `axis`, else 0.
LogicalResult importHardmax(NodeContext &nc) {
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), nc.rank(0));
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> x = nc.shape(0);
  SmallVector<int64_t> keep(x);
  keep[*axis] = 1;
  Type i64 = nc.b.getI64Type();
  Value arg = ArgMaxOp::create(nc.b, nc.loc, RankedTensorType::get(keep, i64),
                               nc.in(0), *axis, true, false);
  SmallVector<int64_t> iotaShape(x.size(), 1);
  iotaShape[*axis] = x[*axis];
  HostTensor iota(i64, iotaShape);
  for (int64_t k = 0; k < x[*axis]; ++k)
    iota.i[k] = k;
  Value pos = ConstantOp::create(nc.b, nc.loc, iota.toAttr());
  Value hit = EqualOp::create(
      nc.b, nc.loc, RankedTensorType::get(x, nc.b.getI1Type()), pos, arg);
  nc.set(0, castTo(nc, hit, nc.elem(0)));
  return success();
}

/// BitwiseAnd / Or / Xor on integers.
template <typename OpT> LogicalResult importBitwise(NodeContext &nc) {
  if (!isIndexType(nc.elem(0)) || nc.elem(1) != nc.elem(0))
    return nc.error() << "expects integer operands of one type";
  FailureOr<Shape> s = broadcastInputs(nc, {0, 1});
  if (failed(s))
    return failure();
  nc.set(0, OpT::create(nc.b, nc.loc, RankedTensorType::get(*s, nc.elem(0)),
                        nc.in(0), nc.in(1)));
  return success();
}

/// BitwiseNot: xor with all bits set.
LogicalResult importBitwiseNot(NodeContext &nc) {
  if (!isIndexType(nc.elem(0)))
    return nc.error() << "expects an integer operand";
  HostTensor ones(nc.elem(0), {});
  ones.i[0] = -1;
  Value m = ConstantOp::create(nc.b, nc.loc, ones.toAttr());
  nc.set(0, BitwiseXorOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), m));
  return success();
}

/// MaxUnpool: the values of X written, at MaxPool's flat indices I (over
/// the whole output, row-major), into zeros of the unpooled shape: a 1-D
/// ScatterElements.
LogicalResult importMaxUnpool(NodeContext &nc) {
  int64_t r = nc.rank(0);
  if (r < 3 || nc.shape(1) != nc.shape(0) || !isIndexType(nc.elem(1)))
    return nc.error() << "expects X as [N, C, spatial...] and integer "
                         "indices I of X's shape";
  size_t sp = r - 2;
  std::optional<SmallVector<int64_t>> kernel = nc.attrInts("kernel_shape");
  if (!kernel || kernel->size() != sp)
    return nc.error() << "kernel_shape must list " << sp << " sizes";
  FailureOr<SmallVector<int64_t>> strides = perAxis(nc, "strides", sp, 1),
                                  pads = perAxis(nc, "pads", 2 * sp, 0);
  if (failed(strides) || failed(pads))
    return failure();
  // The indices address the unpooled shape MaxPool saw; output_shape (a
  // larger one) holds it in its leading corner, zeros after (as the ONNX
  // reference).
  ArrayRef<int64_t> x = nc.shape(0);
  Shape out{x[0], x[1]};
  for (size_t a = 0; a < sp; ++a)
    out.push_back((x[2 + a] - 1) * (*strides)[a] + (*kernel)[a] -
                  (*pads)[a] - (*pads)[sp + a]);
  for (int64_t d : out)
    if (d < 1)
      return nc.error() << "unpooled shape " << shapeStr(out) << " is empty";
  Shape requested = out;
  if (nc.has(2)) {
    FailureOr<SmallVector<int64_t>> o = nc.constInts(2, "output_shape");
    if (failed(o))
      return failure();
    if ((int64_t)o->size() != r ||
        llvm::any_of(llvm::seq<int64_t>(0, r),
                     [&](int64_t k) { return (*o)[k] < out[k]; }) ||
        (*o)[0] != x[0] || (*o)[1] != x[1])
      return nc.error() << "output_shape must be [" << x[0] << ", " << x[1]
                        << ", spatial...] of at least " << shapeStr(out);
    requested.assign(o->begin(), o->end());
  }
  FailureOr<RankedTensorType> type = nc.tensorType(out, nc.elem(0));
  if (failed(type))
    return failure();
  int64_t total = type->getNumElements(), n = *numElements(x);
  Type et = nc.elem(0);
  HostTensor zero(et, {});
  auto flatType = RankedTensorType::get({total}, et);
  Value zeros = ConstantOp::create(
      nc.b, nc.loc,
      DenseElementsAttr::get(flatType,
                             zero.toAttr().getSplatValue<Attribute>()));
  Value idx = ReshapeOp::create(
      nc.b, nc.loc, RankedTensorType::get({n}, nc.elem(1)), nc.in(1));
  Value val = ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get({n}, et),
                                nc.in(0));
  Value flat = ScatterElementsOp::create(nc.b, nc.loc, flatType, zeros, idx,
                                         val, 0, ScatterReduction::none);
  Value y = ReshapeOp::create(nc.b, nc.loc, *type, flat);
  if (requested != out) {
    SmallVector<int64_t> begins(r, 0), ends;
    for (int64_t k = 0; k < r; ++k)
      ends.push_back(requested[k] - out[k]);
    Value fill = ConstantOp::create(nc.b, nc.loc, zero.toAttr());
    FailureOr<Value> padded =
        padTensor(nc, y, begins, ends, PadMode::Constant, fill);
    if (failed(padded))
      return failure();
    y = *padded;
  }
  nc.set(0, y);
  return success();
}

/// Det: the determinant of each trailing square matrix; a known input
/// folds (the same elimination as the kernel).
LogicalResult importDet(NodeContext &nc) {
  ArrayRef<int64_t> x = nc.shape(0);
  if (!isa<FloatType>(nc.elem(0)) || x.size() < 2 ||
      x[x.size() - 1] != x[x.size() - 2])
    return nc.error() << "expects floating-point [..., n, n], got "
                      << shapeStr(x) << " of " << nc.elem(0);
  Shape out(x.drop_back(2));
  if (const HostTensor *c = nc.cst(0)) {
    int64_t n = x.back(), batch = c->size() / std::max<int64_t>(n * n, 1);
    HostTensor r(nc.elem(0), out);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<double> a(n * n);
      for (int64_t k = 0; k < n * n; ++k)
        a[k] = c->getF(b * n * n + k);
      double det = ditc_rt::determinant(a.data(), n);
      r.set(b, det);
    }
    nc.setConst(0, std::move(r));
    return success();
  }
  FailureOr<RankedTensorType> type = nc.tensorType(out, nc.elem(0));
  if (failed(type))
    return failure();
  nc.set(0, DetOp::create(nc.b, nc.loc, *type, nc.in(0)));
  return success();
}

/// NonZero: the indices of the non-zero entries, [rank, count]. The count
/// depends on the data, so only a known input imports (folded).
LogicalResult importNonZero(NodeContext &nc) {
  const HostTensor *c = nc.cst(0);
  if (!c)
    return nc.error() << "the output shape depends on the input's values; "
                         "ditc compiles static shapes (a constant input folds)"
                      << nc.bindHint(0);
  ArrayRef<int64_t> shape = nc.shape(0);
  SmallVector<int64_t> hits;
  for (int64_t k = 0; k < c->size(); ++k)
    if (c->getF(k) != 0)
      hits.push_back(k);
  int64_t r = shape.size(), count = hits.size();
  HostTensor out(nc.b.getI64Type(), {r, count});
  for (int64_t j = 0; j < count; ++j) {
    int64_t rest = hits[j];
    for (int64_t d = r - 1; d >= 0; --d) {
      out.i[d * count + j] = rest % shape[d];
      rest /= shape[d];
    }
  }
  nc.setConst(0, std::move(out));
  return success();
}

} // namespace

void mlir::ditc::onnx_import::addStructuredOps(OpTable &t) {
  t["Hardmax"] = {importHardmax, 1};
  t["Atan"] = {[](NodeContext &nc) { return importInverseTrig(nc, "atan"); },
               7};
  t["Asin"] = {[](NodeContext &nc) { return importInverseTrig(nc, "asin"); },
               7};
  t["Acos"] = {[](NodeContext &nc) { return importInverseTrig(nc, "acos"); },
               7};
  t["BitwiseAnd"] = {importBitwise<BitwiseAndOp>, 18, 2};
  t["BitwiseOr"] = {importBitwise<BitwiseOrOp>, 18, 2};
  t["BitwiseXor"] = {importBitwise<BitwiseXorOp>, 18, 2};
  t["BitwiseNot"] = {importBitwiseNot, 18};
  t["ArgMax"] = {importArgReduce<ArgMaxOp>, 1};
  t["ArgMin"] = {importArgReduce<ArgMinOp>, 1};
  t["CumSum"] = {importCumSum, 11, 2};
  t["MaxPool"] = {[](NodeContext &nc) {
                    return importPool(nc, PoolKind::max, false);
                  },
                  1};
  t["AveragePool"] = {[](NodeContext &nc) {
                        return importPool(nc, PoolKind::avg, false);
                      },
                      1};
  t["LpPool"] = {[](NodeContext &nc) {
                   return importPool(nc, PoolKind::lp, false);
                 },
                 1};
  t["GlobalMaxPool"] = {[](NodeContext &nc) {
                          return importPool(nc, PoolKind::max, true);
                        },
                        1};
  t["GlobalAveragePool"] = {[](NodeContext &nc) {
                              return importPool(nc, PoolKind::avg, true);
                            },
                            1};
  t["GlobalLpPool"] = {[](NodeContext &nc) {
                         return importPool(nc, PoolKind::lp, true);
                       },
                       1};
  t["ConvTranspose"] = {importConvTranspose, 1, 2};
  t["GridSample"] = {importGridSample, 16, 2};
  t["ScatterElements"] = {importScatterElements, 11, 3};
  t["MaxUnpool"] = {importMaxUnpool, 11, 2};
  t["NonZero"] = {importNonZero, 9, 1};
  t["Det"] = {importDet, 11, 1};
  t["ScatterND"] = {importScatterNd, 11, 3};
}
