//===- OnnxRewrittenOps.cpp - ONNX ops decomposed at import -------------------------===//
//
// Structured ops written with the dialect's existing ops (Pad, CenterCropPad, Resize, GatherElements, GatherND, OneHot, DepthToSpace, the norms, ...).
//
// Shapes are static, so index patterns (padding, nearest resizing, Col2Im)
// and interpolation weights are computed on the host and emitted as
// constants: a resized or padded axis becomes a gather with constant
// indices, an interpolated axis a contraction with a constant weight matrix.
//
//===----------------------------------------------------------------------===//

#include "lib/Importer/Onnx/OnnxOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

namespace {

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type et) {
  return RankedTensorType::get(shape, et);
}

Type elemOf(Value v) { return typeOf(v).getElementType(); }

/// Calls `fn(index, flat)` for every multi-index of `shape` in row-major
/// order.
void forEachIndex(ArrayRef<int64_t> shape,
                  function_ref<void(ArrayRef<int64_t>, int64_t)> fn) {
  int64_t n = numElements(shape).value_or(0);
  SmallVector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    fn(idx, flat);
    for (int64_t k = (int64_t)shape.size() - 1; k >= 0; --k) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
}

/// Builds the dialect ops of one node's decomposition; result types follow
/// from the operands.
struct Emitter {
  NodeContext &nc;

  Value constant(const HostTensor &h) {
    return ConstantOp::create(nc.b, nc.loc, h.toAttr());
  }
  Value ints(ArrayRef<int64_t> vals, ArrayRef<int64_t> shape) {
    HostTensor h(nc.b.getI64Type(), shape);
    h.i.assign(vals.begin(), vals.end());
    return constant(h);
  }
  Value scalar(Type et, double v) { return scalarConstant(nc, et, v); }
  Value cast(Value v, Type et) { return castTo(nc, v, et); }

  Value reshape(Value v, ArrayRef<int64_t> shape) {
    if (shapeOf(v) == shape)
      return v;
    return ReshapeOp::create(nc.b, nc.loc, tensorOf(shape, elemOf(v)), v);
  }
  Value transpose(Value v, ArrayRef<int64_t> perm) {
    if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
      return v;
    Shape s;
    for (int64_t p : perm)
      s.push_back(shapeOf(v)[p]);
    return TransposeOp::create(nc.b, nc.loc, tensorOf(s, elemOf(v)), v, perm);
  }
  Value gather(Value data, Value indices, int64_t axis) {
    std::string why;
    Shape s = *gatherShape(shapeOf(data), shapeOf(indices), axis, why);
    return GatherOp::create(nc.b, nc.loc, tensorOf(s, elemOf(data)), data,
                            indices, axis);
  }
  /// Entries `idx` of `data` along `axis` (itself for the identity).
  Value take(Value data, ArrayRef<int64_t> idx, int64_t axis) {
    if ((int64_t)idx.size() == shapeOf(data)[axis] &&
        llvm::equal(idx, llvm::seq<int64_t>(0, idx.size())))
      return data;
    return gather(data, ints(idx, {(int64_t)idx.size()}), axis);
  }
  Shape broadcast(ValueRange vs) {
    SmallVector<ArrayRef<int64_t>> shapes;
    for (Value v : vs)
      shapes.push_back(shapeOf(v));
    std::string why;
    return *broadcastShapes(shapes, why);
  }
  /// An elementwise arithmetic op with the lhs element type.
  template <typename OpT>
  Value arith(Value a, Value b) {
    return OpT::create(nc.b, nc.loc, tensorOf(broadcast({a, b}), elemOf(a)), a,
                       b);
  }
  template <typename OpT>
  Value compare(Value a, Value b) {
    return OpT::create(nc.b, nc.loc,
                       tensorOf(broadcast({a, b}), nc.b.getI1Type()), a, b);
  }
  Value mod(Value a, Value b) {
    return ModOp::create(nc.b, nc.loc, tensorOf(broadcast({a, b}), elemOf(a)),
                         a, b, false);
  }
  Value where(Value c, Value a, Value b) {
    return WhereOp::create(nc.b, nc.loc,
                           tensorOf(broadcast({c, a, b}), elemOf(a)), c, a, b);
  }
  template <typename OpT>
  Value unary(Value v) {
    return OpT::create(nc.b, nc.loc, v.getType(), v);
  }
  template <typename OpT>
  Value reduce(Value v, ArrayRef<int64_t> axes, bool keep) {
    std::string why;
    Shape s = *reduceShape(shapeOf(v), axes, keep, why);
    return OpT::create(nc.b, nc.loc, tensorOf(s, elemOf(v)), v, axes, keep);
  }
  Value einsum(ValueRange ins, StringRef eq, ArrayRef<int64_t> shape) {
    return EinsumOp::create(nc.b, nc.loc, tensorOf(shape, elemOf(ins[0])), ins,
                            eq);
  }
  /// Contracts `axis` of `x` with an [in, out] matrix, e.g. "abcd,ce->abed".
  Value contract(Value x, int64_t axis, Value matrix) {
    int64_t r = shapeOf(x).size();
    std::string in, out;
    for (int64_t k = 0; k < r; ++k)
      in += char('a' + k);
    out = in;
    out[axis] = char('a' + r);
    Shape s(shapeOf(x));
    s[axis] = shapeOf(matrix)[1];
    return einsum({x, matrix}, in + "," + in[axis] + out[axis] + "->" + out,
                  s);
  }
  /// x - mean over `axes`; `mean` and `var` (population) receive the
  /// statistics, the reduced axes kept with size 1.
  Value centered(Value x, ArrayRef<int64_t> axes, Value &mean, Value &var) {
    mean = reduce<ReduceMeanOp>(x, axes, true);
    Value d = arith<SubOp>(x, mean);
    var = reduce<ReduceMeanOp>(arith<MulOp>(d, d), axes, true);
    return d;
  }
};

/// Normalises the axes of an attribute or input against `rank`; an error on
/// out-of-range or repeated axes.
FailureOr<SmallVector<int64_t>> normalizeAxes(NodeContext &nc,
                                              ArrayRef<int64_t> axes,
                                              int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    FailureOr<int64_t> n = nc.axis(a, rank);
    if (failed(n))
      return failure();
    if (llvm::is_contained(out, *n))
      return nc.error() << "axis " << a << " repeats", failure();
    out.push_back(*n);
  }
  return out;
}

/// A constant input as doubles (empty when absent or empty); an error when
/// it is given but not constant.
FailureOr<SmallVector<double>> constFloats(NodeContext &nc, int i,
                                           StringRef what) {
  SmallVector<double> out;
  if (!nc.has(i))
    return out;
  const HostTensor *t = nc.cst(i);
  if (!t)
    return nc.error() << what << " must be constant (shapes are static)",
           failure();
  for (int64_t k = 0; k < t->size(); ++k)
    out.push_back(t->getF(k));
  return out;
}

//===----------------------------------------------------------------------===//
// Resize
//===----------------------------------------------------------------------===//

struct ResizeOptions {
  std::string mode, coordMode, nearestMode;
  double cubicA;
  bool excludeOutside, antialias;
};

/// One resized axis: sizes, scale and the tf_crop_and_resize region.
struct ResizeAxis {
  int64_t in, out;
  double scale, roiStart = 0, roiEnd = 1;
};

/// The input coordinate of output position x. Like the ONNX reference, the
/// length-dependent modes use the unrounded output length scale * in.
double resizeSource(const ResizeOptions &o, const ResizeAxis &a, int64_t x) {
  double outLen = a.scale * a.in, in = a.in;
  const std::string &m = o.coordMode;
  if (m == "align_corners")
    return outLen == 1 ? 0 : x * (in - 1) / (outLen - 1);
  if (m == "asymmetric")
    return x / a.scale;
  if (m == "tf_crop_and_resize") {
    double span = (a.roiEnd - a.roiStart) * (in - 1);
    return a.roiStart * (in - 1) +
           (outLen == 1 ? span / 2 : x * span / (outLen - 1));
  }
  if (m == "pytorch_half_pixel")
    return outLen == 1 ? -0.5 : (x + 0.5) / a.scale - 0.5;
  if (m == "tf_half_pixel_for_nn")
    return (x + 0.5) / a.scale;
  double shift = 0;
  if (m == "half_pixel_symmetric")
    shift = in / 2 * (1 - a.out / outLen);
  return shift + (x + 0.5) / a.scale - 0.5;
}

/// The cubic convolution kernel with parameter A.
double cubicKernel(double x, double A) {
  x = std::abs(x);
  if (x <= 1)
    return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2)
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

/// The interpolation coefficients of the neighbours around a source
/// coordinate whose distance past the left neighbour is `ratio` (in (0, 1]).
/// Antialiasing stretches the kernel by 1/scale when downsampling.
SmallVector<double> resizeCoeffs(const ResizeOptions &o, double ratio,
                                 double scale) {
  if (o.mode == "nearest") {
    const std::string &m = o.nearestMode;
    bool right = ratio == 1 || m == "ceil" ||
                 (m == "round_prefer_floor" && ratio > 0.5) ||
                 (m == "round_prefer_ceil" && ratio >= 0.5);
    return {right ? 0.0 : 1.0, right ? 1.0 : 0.0};
  }
  bool linear = o.mode == "linear";
  if (!o.antialias) {
    if (linear)
      return {1 - ratio, ratio};
    return {cubicKernel(ratio + 1, o.cubicA), cubicKernel(ratio, o.cubicA),
            cubicKernel(1 - ratio, o.cubicA), cubicKernel(2 - ratio, o.cubicA)};
  }
  double s = std::min(scale, 1.0), support = linear ? 1 : 2;
  int64_t start = (int64_t)std::floor(-support / s) + 1;
  SmallVector<double> c;
  double sum = 0;
  for (int64_t i = start; i < 2 - start; ++i) {
    double t = (i - ratio) * s;
    c.push_back(linear ? std::max(0.0, 1 - std::abs(t))
                       : cubicKernel(t, o.cubicA));
    sum += c.back();
  }
  for (double &v : c)
    v /= sum;
  return c;
}

/// The `n` positions nearest `x` (ties to the smaller) of the input padded by
/// ceil(n/2) edge copies on both sides, as input positions (possibly
/// outside [0, in)), ascending.
SmallVector<int64_t> resizeNeighbours(double x, int64_t n, int64_t in) {
  int64_t pad = (n + 1) / 2, limit = in + 2 * pad;
  double xp = x + pad;
  auto c = (int64_t)std::clamp<double>(std::floor(xp), 0, limit - 1);
  SmallVector<int64_t> cand;
  for (int64_t i = std::max<int64_t>(0, c - n - 1);
       i <= std::min(limit - 1, c + n + 1); ++i)
    cand.push_back(i);
  llvm::sort(cand, [&](int64_t a, int64_t b) {
    double da = std::abs(xp - a), db = std::abs(xp - b);
    return da != db ? da < db : a < b;
  });
  cand.resize(std::min<size_t>(n, cand.size()));
  llvm::sort(cand);
  for (int64_t &i : cand)
    i -= pad;
  return cand;
}

/// The interpolation matrix of one axis, [in, out] row-major, and for
/// tf_crop_and_resize the output positions outside the region.
struct ResizeWeights {
  std::vector<double> w;
  SmallVector<bool> outside;
  bool identity = true;
};

ResizeWeights resizeWeights(const ResizeOptions &o, const ResizeAxis &a) {
  ResizeWeights r;
  r.w.assign(a.in * a.out, 0.0);
  r.outside.assign(a.out, false);
  r.identity = a.in == a.out;
  for (int64_t x = 0; x < a.out; ++x) {
    double src = resizeSource(o, a, x);
    if (o.coordMode == "tf_crop_and_resize" && (src < 0 || src > a.in - 1)) {
      r.outside[x] = true;
      r.identity = false;
      continue;
    }
    double fl = std::floor(src);
    double ratio = src == fl ? 1.0 : src - fl;
    SmallVector<double> c = resizeCoeffs(o, ratio, a.scale);
    SmallVector<int64_t> nb = resizeNeighbours(src, c.size(), a.in);
    if (o.excludeOutside) {
      double sum = 0;
      for (auto [i, v] : llvm::zip(nb, c)) {
        if (i < 0 || i >= a.in)
          v = 0;
        sum += v;
      }
      for (double &v : c)
        v /= sum;
    }
    for (auto [i, v] : llvm::zip(nb, c)) {
      int64_t k = std::clamp<int64_t>(i, 0, a.in - 1);
      r.w[k * a.out + x] += v;
    }
    for (int64_t k = 0; k < a.in; ++k)
      if (r.w[k * a.out + x] != (k == x ? 1.0 : 0.0))
        r.identity = false;
  }
  return r;
}

/// The per-axis scales and output sizes from `scales` or `sizes` (with
/// keep_aspect_ratio_policy), over the resized axes.
LogicalResult resizeAxes(NodeContext &nc, ArrayRef<int64_t> axes,
                         SmallVector<ResizeAxis> &out) {
  FailureOr<SmallVector<double>> scales = constFloats(nc, 2, "scales");
  if (failed(scales))
    return failure();
  SmallVector<int64_t> sizes;
  if (nc.has(3) && numElements(nc.shape(3)).value_or(0) > 0) {
    FailureOr<SmallVector<int64_t>> s = nc.constInts(3, "sizes");
    if (failed(s))
      return failure();
    sizes = *s;
  }
  if (scales->empty() == sizes.empty())
    return nc.error() << "exactly one of scales and sizes must be given";
  size_t n = axes.size();
  if ((scales->empty() ? sizes.size() : scales->size()) != n)
    return nc.error() << "scales/sizes need " << n << " entries";
  for (size_t k = 0; k < n; ++k) {
    ResizeAxis a;
    a.in = nc.shape(0)[axes[k]];
    if (a.in == 0)
      return nc.error() << "cannot resize axis " << axes[k] << " of size 0";
    if (!scales->empty()) {
      a.scale = (*scales)[k];
      if (!(a.scale > 0))
        return nc.error() << "scale " << a.scale << " is not positive";
      a.out = (int64_t)std::floor(a.scale * a.in);
    } else {
      if (sizes[k] < 0)
        return nc.error() << "negative size " << sizes[k];
      a.out = sizes[k];
      a.scale = (double)sizes[k] / a.in;
    }
    out.push_back(a);
  }
  std::string policy = nc.attrStr("keep_aspect_ratio_policy", "stretch");
  if (policy == "stretch" || !scales->empty())
    return success();
  if (policy != "not_larger" && policy != "not_smaller")
    return nc.error() << "unknown keep_aspect_ratio_policy '" << policy << "'";
  double s = out[0].scale;
  for (const ResizeAxis &a : out)
    s = policy == "not_larger" ? std::min(s, a.scale) : std::max(s, a.scale);
  for (ResizeAxis &a : out) {
    a.scale = s;
    a.out = (int64_t)(s * a.in + 0.5);
  }
  return success();
}

/// Resize: per resized axis, nearest picks input positions with a constant
/// gather; linear and cubic contract the axis with a constant [in, out]
/// weight matrix (separable). tf_crop_and_resize writes extrapolation_value
/// outside the region.
LogicalResult importResize(NodeContext &nc) {
  ResizeOptions o;
  o.mode = nc.attrStr("mode", "nearest");
  o.coordMode = nc.attrStr("coordinate_transformation_mode", "half_pixel");
  o.nearestMode = nc.attrStr("nearest_mode", "round_prefer_floor");
  o.cubicA = nc.attrFloat("cubic_coeff_a", -0.75);
  o.excludeOutside = nc.attrInt("exclude_outside", 0) != 0;
  o.antialias = nc.attrInt("antialias", 0) != 0;
  if (o.mode != "nearest" && o.mode != "linear" && o.mode != "cubic")
    return nc.error() << "unknown mode '" << o.mode << "'";
  if (!llvm::is_contained({"half_pixel", "half_pixel_symmetric",
                           "pytorch_half_pixel", "align_corners", "asymmetric",
                           "tf_crop_and_resize", "tf_half_pixel_for_nn"},
                          o.coordMode))
    return nc.error() << "unknown coordinate_transformation_mode '"
                      << o.coordMode << "'";
  if (!llvm::is_contained(
          {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"},
          o.nearestMode))
    return nc.error() << "unknown nearest_mode '" << o.nearestMode << "'";
  if (o.antialias && o.mode == "nearest")
    return nc.error() << "antialias=1 is not defined for mode 'nearest'";
  int64_t r = nc.rank(0);
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, r));
  if (auto a = nc.attrInts("axes")) {
    FailureOr<SmallVector<int64_t>> n = normalizeAxes(nc, *a, r);
    if (failed(n))
      return failure();
    axes = *n;
  }
  SmallVector<ResizeAxis> ra;
  if (failed(resizeAxes(nc, axes, ra)))
    return failure();
  if (o.coordMode == "tf_crop_and_resize") {
    FailureOr<SmallVector<double>> roi = constFloats(nc, 1, "roi");
    if (failed(roi))
      return failure();
    if (roi->size() != 2 * axes.size())
      return nc.error() << "roi needs " << 2 * axes.size() << " entries";
    for (size_t k = 0; k < axes.size(); ++k) {
      ra[k].roiStart = (*roi)[k];
      ra[k].roiEnd = (*roi)[axes.size() + k];
    }
  }
  Shape outShape(nc.shape(0).begin(), nc.shape(0).end());
  for (size_t k = 0; k < axes.size(); ++k)
    outShape[axes[k]] = ra[k].out;
  if (failed(nc.tensorType(outShape, nc.elem(0))))
    return failure();

  Emitter e{nc};
  Type et = nc.elem(0);
  bool interp = o.mode != "nearest";
  Type ct = isa<FloatType>(et) ? et : Type(nc.b.getF32Type());
  Value y = interp ? e.cast(nc.in(0), ct) : nc.in(0);
  // Output positions outside the crop region, over the resized axes.
  Shape maskShape(r, 1);
  bool anyOutside = false;
  SmallVector<ResizeWeights> weights;
  for (auto [a, axis] : llvm::zip(ra, axes)) {
    weights.push_back(resizeWeights(o, a));
    maskShape[axis] = a.out;
    anyOutside |= llvm::is_contained(weights.back().outside, true);
  }
  for (auto [a, axis, w] : llvm::zip(ra, axes, weights)) {
    if (w.identity)
      continue;
    if (!interp) {
      SmallVector<int64_t> idx;
      for (int64_t x = 0; x < a.out; ++x) {
        int64_t best = 0;
        for (int64_t k = 1; k < a.in; ++k)
          if (w.w[k * a.out + x] > w.w[best * a.out + x])
            best = k;
        idx.push_back(best);
      }
      y = e.take(y, idx, axis);
      continue;
    }
    HostTensor m(ct, {a.in, a.out});
    for (int64_t k = 0; k < (int64_t)w.w.size(); ++k)
      m.set(k, w.w[k]);
    y = e.contract(y, axis, e.constant(m));
  }
  if (anyOutside) {
    HostTensor mask(nc.b.getI1Type(), maskShape);
    forEachIndex(maskShape, [&](ArrayRef<int64_t> idx, int64_t flat) {
      for (auto [axis, w] : llvm::zip(axes, weights))
        if (w.outside[idx[axis]])
          mask.i[flat] = 1;
    });
    Type yt = elemOf(y);
    y = e.where(e.constant(mask),
                e.scalar(yt, nc.attrFloat("extrapolation_value", 0.0)), y);
  }
  nc.set(0, e.cast(y, et));
  return success();
}

//===----------------------------------------------------------------------===//
// Index gathers
//===----------------------------------------------------------------------===//

/// Indices as i64 wrapped into [0, dims) (negative ones count from the end);
/// `dims` broadcasts against them.
Value wrapIndices(Emitter &e, Value idx, Value dims) {
  return e.mod(e.cast(idx, e.nc.b.getI64Type()), dims);
}

/// GatherElements: out[i] = data[i with i[axis] = indices[i]], a gather from
/// the flattened data at (wrapped index) * stride + the other axes' offset.
LogicalResult importGatherElements(NodeContext &nc) {
  int64_t r = nc.rank(0);
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", 0), r);
  if (failed(axis))
    return failure();
  if (!isIndexType(nc.elem(1)))
    return nc.error() << "indices must be integers";
  ArrayRef<int64_t> ds = nc.shape(0), is = nc.shape(1);
  if ((int64_t)is.size() != r)
    return nc.error() << "indices must have the data's rank " << r;
  for (int64_t k = 0; k < r; ++k)
    if (k != *axis && is[k] > ds[k])
      return nc.error() << "indices " << shapeStr(is)
                        << " exceed the data " << shapeStr(ds) << " on axis "
                        << k;
  Shape strides = stridesOf(ds);
  HostTensor base(nc.b.getI64Type(), is);
  forEachIndex(is, [&](ArrayRef<int64_t> idx, int64_t flat) {
    for (int64_t k = 0; k < r; ++k)
      if (k != *axis)
        base.i[flat] += idx[k] * strides[k];
  });
  Emitter e{nc};
  Value i = wrapIndices(e, nc.in(1), e.ints({ds[*axis]}, {}));
  if (strides[*axis] != 1)
    i = e.arith<MulOp>(i, e.ints({strides[*axis]}, {}));
  i = e.arith<AddOp>(i, e.constant(base));
  Value flat = e.reshape(nc.in(0), {numElements(ds).value_or(0)});
  nc.set(0, e.gather(flat, i, 0));
  return success();
}

/// GatherND: each index tuple (after batch_dims shared leading axes) picks a
/// slice of the data; the tuples become flat positions into the data
/// reshaped to [batch * indexed, rest...].
LogicalResult importGatherND(NodeContext &nc) {
  if (!isIndexType(nc.elem(1)))
    return nc.error() << "indices must be integers";
  ArrayRef<int64_t> ds = nc.shape(0), is = nc.shape(1);
  int64_t b = nc.attrInt("batch_dims", 0);
  int64_t ri = is.size(), rd = ds.size();
  if (ri < 1 || b < 0 || b >= ri || b >= rd)
    return nc.error() << "batch_dims " << b << " does not fit ranks " << rd
                      << " and " << ri;
  int64_t k = is.back();
  if (k < 1 || b + k > rd)
    return nc.error() << "index tuples of length " << k
                      << " do not fit data of rank " << rd;
  if (ds.take_front(b) != is.take_front(b))
    return nc.error() << "batch dimensions of data " << shapeStr(ds)
                      << " and indices " << shapeStr(is) << " differ";
  ArrayRef<int64_t> indexed = ds.slice(b, k), rest = ds.drop_front(b + k);
  int64_t batch = numElements(ds.take_front(b)).value_or(0);
  int64_t per = numElements(indexed).value_or(0);
  Emitter e{nc};
  Value i = wrapIndices(e, nc.in(1), e.ints(indexed, {k}));
  i = e.arith<MulOp>(i, e.ints(stridesOf(indexed), {k}));
  i = e.reduce<ReduceSumOp>(i, {ri - 1}, false);
  if (b > 0) {
    Shape offShape(is.take_front(b));
    offShape.append(ri - 1 - b, 1);
    SmallVector<int64_t> off;
    for (int64_t n = 0; n < batch; ++n)
      off.push_back(n * per);
    i = e.arith<AddOp>(i, e.ints(off, offShape));
  }
  Shape flatShape{batch * per};
  flatShape.append(rest.begin(), rest.end());
  nc.set(0, e.gather(e.reshape(nc.in(0), flatShape), i, 0));
  return success();
}

//===----------------------------------------------------------------------===//
// Padding and rearrangement
//===----------------------------------------------------------------------===//

} // namespace

FailureOr<Value> mlir::ditc::onnx_import::padTensor(NodeContext &nc, Value x,
                                                   ArrayRef<int64_t> begins,
                                                   ArrayRef<int64_t> ends,
                                                   PadMode mode, Value fill) {
  Emitter e{nc};
  int64_t r = begins.size();
  Shape in(shapeOf(x)), out(in), maskShape(r, 1);
  SmallVector<SmallVector<bool>> added(r);
  bool anyAdded = false;
  for (int64_t a = 0; a < r; ++a) {
    int64_t n = in[a], b = begins[a];
    out[a] = n + b + ends[a];
    if (out[a] < 0)
      return nc.error() << "pads remove more than axis " << a << " holds",
             failure();
    if (begins[a] == 0 && ends[a] == 0)
      continue;
    if (n == 0 && out[a] > 0)
      return nc.error() << "cannot pad axis " << a << " of size 0", failure();
    SmallVector<int64_t> idx;
    added[a].assign(out[a], false);
    for (int64_t o = 0; o < out[a]; ++o) {
      int64_t i = o - b;
      if (i < 0 || i >= n) {
        int64_t period = std::max<int64_t>(1, 2 * (n - 1));
        switch (mode) {
        case PadMode::Constant:
          added[a][o] = anyAdded = true;
          i = 0;
          break;
        case PadMode::Edge:
          i = std::clamp<int64_t>(i, 0, n - 1);
          break;
        case PadMode::Wrap:
          i = ((i % n) + n) % n;
          break;
        case PadMode::Reflect:
          i = ((i % period) + period) % period;
          i = n == 1 ? 0 : (i >= n ? period - i : i);
          break;
        }
      }
      idx.push_back(i);
    }
    x = e.take(x, idx, a);
    maskShape[a] = out[a];
  }
  if (anyAdded) {
    HostTensor mask(nc.b.getI1Type(), maskShape);
    forEachIndex(maskShape, [&](ArrayRef<int64_t> idx, int64_t flat) {
      for (int64_t a = 0; a < r; ++a)
        if (!added[a].empty() && added[a][idx[a]])
          mask.i[flat] = 1;
    });
    x = e.where(e.constant(mask), fill, x);
  }
  return x;
}

namespace {

/// Pad: modes constant, reflect, edge and wrap; pads from the input (the
/// attribute before opset 11), optionally over `axes` (opset 18).
LogicalResult importPad(NodeContext &nc) {
  std::string modeStr = nc.attrStr("mode", "constant");
  PadMode mode;
  if (modeStr == "constant")
    mode = PadMode::Constant;
  else if (modeStr == "reflect")
    mode = PadMode::Reflect;
  else if (modeStr == "edge")
    mode = PadMode::Edge;
  else if (modeStr == "wrap" && nc.opset >= 19)
    mode = PadMode::Wrap;
  else
    return nc.error() << "unsupported mode '" << modeStr << "'";
  int64_t r = nc.rank(0);
  SmallVector<int64_t> pads;
  if (nc.opset >= 11) {
    FailureOr<SmallVector<int64_t>> p = nc.constInts(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
  } else {
    pads = nc.attrInts("pads").value_or(SmallVector<int64_t>());
  }
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, r));
  if (nc.opset >= 18 && nc.has(3)) {
    FailureOr<SmallVector<int64_t>> a = nc.constInts(3, "axes");
    if (failed(a))
      return failure();
    FailureOr<SmallVector<int64_t>> n = normalizeAxes(nc, *a, r);
    if (failed(n))
      return failure();
    axes = *n;
  }
  int64_t n = axes.size();
  if ((int64_t)pads.size() != 2 * n)
    return nc.error() << "pads has " << pads.size() << " entries for " << n
                      << " axes";
  SmallVector<int64_t> begins(r, 0), ends(r, 0);
  for (int64_t k = 0; k < n; ++k) {
    begins[axes[k]] = pads[k];
    ends[axes[k]] = pads[n + k];
  }
  Value fill;
  if (nc.opset >= 11 && nc.has(2) &&
      numElements(nc.shape(2)).value_or(0) > 0) {
    if (nc.elem(2) != nc.elem(0) || numElements(nc.shape(2)) != 1)
      return nc.error() << "constant_value must be one element of the data's "
                           "type";
    fill = nc.in(2);
    if (nc.rank(2) > r)
      fill = Emitter{nc}.reshape(fill, {});
  } else if (mode == PadMode::Constant) {
    fill = scalarConstant(nc, nc.elem(0),
                          nc.opset < 11 ? nc.attrFloat("value", 0.0) : 0.0);
  }
  FailureOr<Value> y = padTensor(nc, nc.in(0), begins, ends, mode, fill);
  if (failed(y))
    return failure();
  nc.set(0, *y);
  return success();
}

/// CenterCropPad: per axis, crops or zero-pads around the centre to the
/// requested size (the odd element at the end).
LogicalResult importCenterCropPad(NodeContext &nc) {
  int64_t r = nc.rank(0);
  FailureOr<SmallVector<int64_t>> shape = nc.constInts(1, "shape");
  if (failed(shape))
    return failure();
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, r));
  if (auto a = nc.attrInts("axes")) {
    FailureOr<SmallVector<int64_t>> n = normalizeAxes(nc, *a, r);
    if (failed(n))
      return failure();
    axes = *n;
  }
  if (shape->size() != axes.size())
    return nc.error() << "shape has " << shape->size() << " entries for "
                      << axes.size() << " axes";
  SmallVector<int64_t> begins(r, 0), ends(r, 0);
  for (auto [a, s] : llvm::zip(axes, *shape)) {
    int64_t n = nc.shape(0)[a];
    if (s < 0)
      return nc.error() << "negative size " << s;
    begins[a] = s < n ? -((n - s) / 2) : (s - n) / 2;
    ends[a] = s - n - begins[a];
  }
  FailureOr<Value> y =
      padTensor(nc, nc.in(0), begins, ends, PadMode::Constant,
                scalarConstant(nc, nc.elem(0), 0.0));
  if (failed(y))
    return failure();
  nc.set(0, *y);
  return success();
}

/// Reshapes `x` to `split`, permutes and reshapes to `out` (the pattern of
/// DepthToSpace and SpaceToDepth).
void rearrange(NodeContext &nc, ArrayRef<int64_t> split,
               ArrayRef<int64_t> perm, ArrayRef<int64_t> out) {
  Emitter e{nc};
  nc.set(0, e.reshape(e.transpose(e.reshape(nc.in(0), split), perm), out));
}

/// The blocksize of an [N, C, H, W] input; it (its square for `squared`)
/// must divide the input's sizes on `axes`.
FailureOr<int64_t> blockSize(NodeContext &nc, ArrayRef<int64_t> axes,
                             bool squared) {
  if (nc.rank(0) != 4)
    return nc.error() << "input must be [N, C, H, W]", failure();
  int64_t b = nc.attrInt("blocksize", 0);
  if (b < 1 || (squared && b > (int64_t(1) << 31)))
    return nc.error() << "blocksize " << b << " is out of range", failure();
  for (int64_t a : axes)
    if (int64_t d = nc.shape(0)[a]; d % (squared ? b * b : b))
      return nc.error() << "blocksize " << b << " does not divide " << d,
             failure();
  return b;
}

/// DepthToSpace: channels [b, b, C'] (DCR) or [C', b, b] (CRD) move into
/// b x b spatial blocks.
LogicalResult importDepthToSpace(NodeContext &nc) {
  FailureOr<int64_t> bs = blockSize(nc, {1}, true);
  if (failed(bs))
    return failure();
  ArrayRef<int64_t> s = nc.shape(0);
  int64_t b = *bs, n = s[0], c = s[1] / (b * b), h = s[2], w = s[3];
  std::string mode = nc.attrStr("mode", "DCR");
  Shape out{n, c, h * b, w * b};
  if (mode == "DCR")
    rearrange(nc, {n, b, b, c, h, w}, {0, 3, 4, 1, 5, 2}, out);
  else if (mode == "CRD")
    rearrange(nc, {n, c, b, b, h, w}, {0, 1, 4, 2, 5, 3}, out);
  else
    return nc.error() << "unknown mode '" << mode << "'";
  return success();
}

/// SpaceToDepth: b x b spatial blocks move into the channels.
LogicalResult importSpaceToDepth(NodeContext &nc) {
  FailureOr<int64_t> bs = blockSize(nc, {2, 3}, false);
  if (failed(bs))
    return failure();
  ArrayRef<int64_t> s = nc.shape(0);
  int64_t b = *bs, n = s[0], c = s[1], h = s[2] / b, w = s[3] / b;
  rearrange(nc, {n, c, h, b, w, b}, {0, 3, 5, 1, 2, 4}, {n, c * b * b, h, w});
  return success();
}

//===----------------------------------------------------------------------===//
// Normalisations
//===----------------------------------------------------------------------===//

/// Checks that the first `count` present inputs are floating point.
LogicalResult requireFloatInputs(NodeContext &nc, int count) {
  for (int i = 0; i < std::min(count, nc.numInputs()); ++i)
    if (nc.has(i) && !isa<FloatType>(nc.elem(i)))
      return nc.error() << "input " << i << " must be floating point";
  return success();
}

/// A per-channel parameter [C] reshaped to broadcast along axis 1 of a
/// rank-`r` tensor, in element type `et`.
Value channelParam(Emitter &e, Value p, int64_t r, Type et) {
  Shape s{shapeOf(p)[0]};
  s.append(r - 2, 1);
  return e.cast(e.reshape(p, s), et);
}

/// BatchNormalization: inference with the running statistics, or (training
/// mode) with the batch's, also giving the updated running mean and var.
LogicalResult importBatchNorm(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 5)))
    return failure();
  int64_t r = nc.rank(0);
  if (r < 2)
    return nc.error() << "input needs rank >= 2";
  int64_t c = nc.shape(0)[1];
  for (int i = 1; i < 5; ++i)
    if (nc.shape(i) != ArrayRef<int64_t>{c})
      return nc.error() << "input " << i << " must have shape [" << c << "]";
  bool training = nc.opset >= 14 && nc.attrInt("training_mode", 0) != 0;
  if (!training && (nc.outputUsed(1) || nc.outputUsed(2)))
    return nc.error() << "the running statistics outputs need training_mode=1";
  double eps = nc.attrFloat("epsilon", 1e-5);
  Emitter e{nc};
  Type et = nc.elem(0);
  Value scale = channelParam(e, nc.in(1), r, et);
  Value bias = channelParam(e, nc.in(2), r, et);
  Value norm;
  if (training) {
    SmallVector<int64_t> axes{0};
    for (int64_t k = 2; k < r; ++k)
      axes.push_back(k);
    Value mean, var;
    Value d = e.centered(nc.in(0), axes, mean, var);
    norm = e.arith<DivOp>(
        d, e.unary<SqrtOp>(e.arith<AddOp>(var, e.scalar(et, eps))));
    double mom = nc.attrFloat("momentum", 0.9);
    Value stats[2] = {mean, var};
    for (int i = 0; i < 2; ++i) {
      if (!nc.outputUsed(1 + i))
        continue;
      Type pt = nc.elem(3 + i);
      Value run = e.arith<MulOp>(nc.in(3 + i), e.scalar(pt, mom));
      Value cur = e.cast(e.reshape(stats[i], {c}), pt);
      cur = e.arith<MulOp>(cur, e.scalar(pt, 1 - mom));
      nc.set(1 + i, e.arith<AddOp>(run, cur));
    }
  } else {
    Value mean = channelParam(e, nc.in(3), r, et);
    Value var = channelParam(e, nc.in(4), r, et);
    Value sd = e.unary<SqrtOp>(e.arith<AddOp>(var, e.scalar(et, eps)));
    norm = e.arith<DivOp>(e.arith<SubOp>(nc.in(0), mean), sd);
  }
  nc.set(0, e.arith<AddOp>(e.arith<MulOp>(norm, scale), bias));
  return success();
}

/// InstanceNormalization: a group norm with one group per channel.
LogicalResult importInstanceNorm(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 3)))
    return failure();
  if (nc.rank(0) < 3)
    return nc.error() << "input needs rank >= 3";
  int64_t c = nc.shape(0)[1];
  if (nc.shape(1) != ArrayRef<int64_t>{c} || nc.shape(2) != ArrayRef<int64_t>{c})
    return nc.error() << "scale and B must have shape [" << c << "]";
  Emitter e{nc};
  nc.set(0, GroupNormOp::create(nc.b, nc.loc, nc.type(0), nc.in(0),
                                e.cast(nc.in(1), nc.elem(0)),
                                e.cast(nc.in(2), nc.elem(0)), c,
                                APFloat(nc.attrFloat("epsilon", 1e-5))));
  return success();
}

/// MeanVarianceNormalization: (x - mean) / (std + 1e-9) over `axes`.
LogicalResult importMeanVarianceNorm(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 1)))
    return failure();
  FailureOr<SmallVector<int64_t>> axes = normalizeAxes(
      nc, nc.attrInts("axes").value_or(SmallVector<int64_t>{0, 2, 3}),
      nc.rank(0));
  if (failed(axes))
    return failure();
  llvm::sort(*axes);
  Emitter e{nc};
  Value mean, var;
  Value d = e.centered(nc.in(0), *axes, mean, var);
  Value sd = e.arith<AddOp>(e.unary<SqrtOp>(var), e.scalar(nc.elem(0), 1e-9));
  nc.set(0, e.arith<DivOp>(d, sd));
  return success();
}

/// |x| without an abs op.
Value absValue(Emitter &e, Value x) {
  Value zero = e.scalar(elemOf(x), 0.0);
  return e.where(e.compare<LessOp>(x, zero), e.unary<NegOp>(x), x);
}

/// LpNormalization: x / ||x||_p along `axis` (p = 1 or 2).
LogicalResult importLpNorm(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 1)))
    return failure();
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), nc.rank(0));
  if (failed(axis))
    return failure();
  int64_t p = nc.attrInt("p", 2);
  if (p != 1 && p != 2)
    return nc.error() << "unsupported p=" << p << " (1 or 2)";
  Emitter e{nc};
  Value x = nc.in(0);
  Value norm;
  if (p == 1) {
    norm = e.reduce<ReduceSumOp>(absValue(e, x), {*axis}, true);
  } else {
    norm = e.reduce<ReduceSumOp>(e.arith<MulOp>(x, x), {*axis}, true);
    norm = e.unary<SqrtOp>(norm);
  }
  nc.set(0, e.arith<DivOp>(x, norm));
  return success();
}

/// LRN: x / (bias + alpha / size * sum of x^2 over a channel window)^beta;
/// the window sum is a contraction with a constant [C, C] band matrix.
LogicalResult importLrn(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 1)))
    return failure();
  int64_t r = nc.rank(0);
  if (r < 3)
    return nc.error() << "input needs rank >= 3";
  int64_t size = nc.attrInt("size", 0);
  if (size < 1)
    return nc.error() << "size " << size << " must be positive";
  double alpha = nc.attrFloat("alpha", 1e-4), beta = nc.attrFloat("beta", 0.75),
         bias = nc.attrFloat("bias", 1.0);
  int64_t c = nc.shape(0)[1];
  Type et = nc.elem(0);
  HostTensor band(et, {c, c});
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = std::max<int64_t>(0, i - lo); j <= std::min(c - 1, i + hi);
         ++j)
      band.set(j * c + i, 1.0);
  Emitter e{nc};
  Value x = nc.in(0);
  Value sum = e.contract(e.arith<MulOp>(x, x), 1, e.constant(band));
  Value d = e.arith<AddOp>(e.arith<MulOp>(sum, e.scalar(et, alpha / size)),
                           e.scalar(et, bias));
  d = e.arith<PowOp>(d, e.scalar(et, -beta));
  nc.set(0, e.arith<MulOp>(x, d));
  return success();
}

//===----------------------------------------------------------------------===//
// OneHot, AffineGrid, Col2Im
//===----------------------------------------------------------------------===//

/// OneHot: equal(indices wrapped by depth, iota) selects values[1] (on) or
/// values[0] (off); the depth axis goes at `axis`.
LogicalResult importOneHot(NodeContext &nc) {
  const HostTensor *dt = nc.cst(1);
  if (!dt || dt->size() != 1)
    return nc.error() << "depth must be a constant scalar (shapes are static)";
  int64_t depth = (int64_t)dt->getF(0);
  if (depth < 1)
    return nc.error() << "depth " << depth << " must be positive";
  if (numElements(nc.shape(2)) != 2)
    return nc.error() << "values must hold [off, on]";
  int64_t r = nc.rank(0);
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), r + 1);
  if (failed(axis))
    return failure();
  Emitter e{nc};
  Type it = nc.elem(0);
  if (!isa<FloatType>(it) && !isIndexType(it))
    return nc.error() << "indices must be numbers";
  Shape idxShape(nc.shape(0)), iotaShape(r + 1, 1);
  idxShape.insert(idxShape.begin() + *axis, 1);
  iotaShape[*axis] = depth;
  HostTensor iota(it, iotaShape);
  for (int64_t k = 0; k < depth; ++k)
    iota.set(k, k);
  Value idx = e.reshape(nc.in(0), idxShape);
  Value neg = e.compare<LessOp>(idx, e.scalar(it, 0));
  idx = e.where(neg, e.arith<AddOp>(idx, e.scalar(it, depth)), idx);
  Value hit = e.compare<EqualOp>(idx, e.constant(iota));
  Value values = e.reshape(nc.in(2), {2});
  Type vt = nc.elem(2);
  auto pick = [&](int64_t k) {
    return SliceOp::create(nc.b, nc.loc, tensorOf({1}, vt), values,
                           ArrayRef<int64_t>{k}, ArrayRef<int64_t>{1})
        .getResult();
  };
  nc.set(0, e.where(hit, pick(1), pick(0)));
  return success();
}

/// AffineGrid: the normalised base grid (x, y[, z], 1) of every output
/// position, a constant [P, D+1], times theta^T per batch.
LogicalResult importAffineGrid(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 1)))
    return failure();
  FailureOr<SmallVector<int64_t>> size = nc.constInts(1, "size");
  if (failed(size))
    return failure();
  int64_t sd = (int64_t)size->size() - 2;
  ArrayRef<int64_t> th = nc.shape(0);
  if ((sd != 2 && sd != 3) ||
      th != ArrayRef<int64_t>{(*size)[0], sd, sd + 1})
    return nc.error() << "theta " << shapeStr(th) << " does not fit size "
                      << shapeStr(*size);
  bool align = nc.attrInt("align_corners", 0) != 0;
  // Spatial sizes innermost first: x runs along the last axis.
  ArrayRef<int64_t> spatial = ArrayRef<int64_t>(*size).drop_front(2);
  int64_t p = numElements(spatial).value_or(0);
  Type et = nc.elem(0);
  HostTensor base(et, {p, sd + 1});
  forEachIndex(spatial, [&](ArrayRef<int64_t> idx, int64_t flat) {
    for (int64_t k = 0; k < sd; ++k) {
      int64_t n = spatial[sd - 1 - k], i = idx[sd - 1 - k];
      double v = align ? (n > 1 ? -1 + 2.0 * i / (n - 1) : 0.0)
                       : (2.0 * i + 1) / n - 1;
      base.set(flat * (sd + 1) + k, v);
    }
    base.set(flat * (sd + 1) + sd, 1.0);
  });
  Emitter e{nc};
  int64_t n = th[0];
  Value g = e.einsum({e.constant(base), nc.in(0)}, "pk,njk->npj", {n, p, sd});
  Shape out{n};
  out.append(spatial.begin(), spatial.end());
  out.push_back(sd);
  nc.set(0, e.reshape(g, out));
  return success();
}

/// Col2Im: every image position sums, over the block offsets, the column
/// entry that lands on it (or zero): a constant-index gather from the
/// columns with a zero column appended, then a sum over the offsets.
LogicalResult importCol2Im(NodeContext &nc) {
  if (failed(requireFloatInputs(nc, 1)))
    return failure();
  FailureOr<SmallVector<int64_t>> image = nc.constInts(1, "image_shape");
  if (failed(image))
    return failure();
  FailureOr<SmallVector<int64_t>> block = nc.constInts(2, "block_shape");
  if (failed(block))
    return failure();
  int64_t sd = image->size();
  if ((int64_t)block->size() != sd || sd < 1)
    return nc.error() << "image_shape and block_shape differ in length";
  SmallVector<int64_t> dil = nc.attrInts("dilations").value_or(
      SmallVector<int64_t>(sd, 1));
  SmallVector<int64_t> strides =
      nc.attrInts("strides").value_or(SmallVector<int64_t>(sd, 1));
  SmallVector<int64_t> pads =
      nc.attrInts("pads").value_or(SmallVector<int64_t>(2 * sd, 0));
  if ((int64_t)dil.size() != sd || (int64_t)strides.size() != sd ||
      (int64_t)pads.size() != 2 * sd)
    return nc.error() << "dilations, strides and pads must fit " << sd
                      << " spatial axes";
  // Block positions per axis.
  SmallVector<int64_t> counts;
  for (int64_t k = 0; k < sd; ++k) {
    if (strides[k] < 1 || dil[k] < 1 || (*block)[k] < 1)
      return nc.error() << "strides, dilations and block_shape must be "
                           "positive";
    int64_t span = dil[k] * ((*block)[k] - 1) + 1;
    counts.push_back(((*image)[k] + pads[k] + pads[sd + k] - span) /
                         strides[k] +
                     1);
  }
  ArrayRef<int64_t> xs = nc.shape(0);
  int64_t kprod = numElements(*block).value_or(0);
  int64_t l = numElements(counts).value_or(0);
  int64_t pix = numElements(*image).value_or(0);
  if (xs.size() != 3 || xs[1] % kprod || xs[2] != l)
    return nc.error() << "input " << shapeStr(xs) << " is not [N, C * "
                      << kprod << ", " << l << "]";
  int64_t n = xs[0], c = xs[1] / kprod;
  // idx[b, p]: offset b's column landing on pixel p, or the zero column l.
  HostTensor idx(nc.b.getI64Type(), {kprod, pix});
  Shape imgStrides = stridesOf(*image);
  forEachIndex(*block, [&](ArrayRef<int64_t> off, int64_t b) {
    for (int64_t p = 0; p < pix; ++p)
      idx.i[b * pix + p] = b * (l + 1) + l;
    forEachIndex(counts, [&](ArrayRef<int64_t> pos, int64_t col) {
      int64_t at = 0;
      for (int64_t k = 0; k < sd; ++k) {
        int64_t v = pos[k] * strides[k] + off[k] * dil[k] - pads[k];
        if (v < 0 || v >= (*image)[k])
          return;
        at += v * imgStrides[k];
      }
      idx.i[b * pix + at] = b * (l + 1) + col;
    });
  });
  Emitter e{nc};
  Type et = nc.elem(0);
  Value x = e.reshape(nc.in(0), {n, c, kprod, l});
  HostTensor zeros(et, {n, c, kprod, 1});
  x = ConcatOp::create(nc.b, nc.loc, tensorOf({n, c, kprod, l + 1}, et),
                       ValueRange{x, e.constant(zeros)}, 3);
  x = e.reshape(x, {n, c, kprod * (l + 1)});
  Value g = e.gather(x, e.constant(idx), 2);
  g = e.reduce<ReduceSumOp>(g, {2}, false);
  Shape out{n, c};
  out.append(image->begin(), image->end());
  nc.set(0, e.reshape(g, out));
  return success();
}

} // namespace

void mlir::ditc::onnx_import::addRewrittenOps(OpTable &t) {
  t["Resize"] = {importResize, 11};
  t["GatherElements"] = {importGatherElements, 11, 2};
  t["GatherND"] = {importGatherND, 11, 2};
  t["Pad"] = {importPad, 2};
  t["CenterCropPad"] = {importCenterCropPad, 18, 2};
  t["DepthToSpace"] = {importDepthToSpace, 1};
  t["SpaceToDepth"] = {importSpaceToDepth, 1};
  t["BatchNormalization"] = {importBatchNorm, 9, 5};
  t["InstanceNormalization"] = {importInstanceNorm, 6, 3};
  t["MeanVarianceNormalization"] = {importMeanVarianceNorm, 9};
  t["LpNormalization"] = {importLpNorm, 1};
  t["LRN"] = {importLrn, 1};
  t["OneHot"] = {importOneHot, 9, 3};
  t["AffineGrid"] = {importAffineGrid, 20, 2};
  t["Col2Im"] = {importCol2Im, 18, 3};
}
