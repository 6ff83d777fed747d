//===- OnnxMovementOps.cpp - ONNX op handlers: shapes and data movement ---===//

#include "lib/Importer/Onnx/OnnxOps.h"

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

namespace {

/// Defines output 0 as `input` reshaped (folded when constant).
LogicalResult reshapeTo(NodeContext &nc, ArrayRef<int64_t> shape) {
  FailureOr<RankedTensorType> type = nc.tensorType(shape, nc.elem(0));
  if (failed(type))
    return failure();
  if (numElements(shape) != numElements(nc.shape(0)))
    return nc.error() << "cannot reshape " << shapeStr(nc.shape(0)) << " to "
                      << shapeStr(shape);
  if (const HostTensor *c = nc.cst(0)) {
    nc.setConst(0, foldReshape(*c, shape));
    return success();
  }
  if (*type == nc.type(0))
    nc.set(0, nc.in(0));
  else
    nc.set(0, ReshapeOp::create(nc.b, nc.loc, *type, nc.in(0)));
  return success();
}

LogicalResult importShape(NodeContext &nc) {
  ArrayRef<int64_t> s = nc.shape(0);
  int64_t r = s.size();
  int64_t start = nc.attrInt("start", 0), end = nc.attrInt("end", r);
  if (nc.opset < 15)
    start = 0, end = r;
  auto clampAxis = [&](int64_t a) {
    if (a < 0)
      a += r;
    return std::clamp<int64_t>(a, 0, r);
  };
  start = clampAxis(start);
  end = clampAxis(end);
  int64_t n = std::max<int64_t>(0, end - start);
  HostTensor out(nc.b.getI64Type(), {n});
  for (int64_t k = 0; k < n; ++k)
    out.i[k] = s[start + k];
  nc.setConst(0, std::move(out));
  return success();
}

LogicalResult importReshape(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> req = nc.constInts(1, "shape");
  if (failed(req))
    return failure();
  bool allowZero = nc.opset >= 14 && nc.attrInt("allowzero", 0);
  ArrayRef<int64_t> in = nc.shape(0);
  Shape out;
  int inferred = -1;
  int64_t known = 1;
  for (auto [k, d] : llvm::enumerate(*req)) {
    if (d == 0 && !allowZero) {
      if (k >= in.size())
        return nc.error() << "shape copies dimension " << k
                          << " that the input does not have";
      d = in[k];
    } else if (d == -1) {
      if (inferred >= 0)
        return nc.error() << "shape has more than one -1";
      inferred = k;
      out.push_back(1);
      continue;
    } else if (d < 0) {
      return nc.error() << "invalid dimension " << d << " in shape";
    }
    out.push_back(d);
    if (d != 0 && known > kMaxElements / d)
      return nc.error() << "shape " << shapeStr(*req) << " overflows";
    known *= d;
  }
  int64_t total = numElements(in).value_or(0);
  if (inferred >= 0) {
    if (known == 0 || total % known)
      return nc.error() << "cannot reshape " << shapeStr(in) << " to "
                        << shapeStr(*req);
    out[inferred] = total / known;
  }
  return reshapeTo(nc, out);
}

FailureOr<SmallVector<int64_t>> axesOperand(NodeContext &nc) {
  if (nc.opset >= 13) {
    if (!nc.has(1))
      return SmallVector<int64_t>();
    return nc.constInts(1, "axes");
  }
  return nc.attrInts("axes").value_or(SmallVector<int64_t>());
}

LogicalResult importUnsqueeze(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> axes = axesOperand(nc);
  if (failed(axes))
    return failure();
  int64_t outRank = nc.rank(0) + axes->size();
  SmallVector<bool> isNew(outRank, false);
  for (int64_t a : *axes) {
    FailureOr<int64_t> n = nc.axis(a, outRank);
    if (failed(n))
      return failure();
    if (isNew[*n])
      return nc.error() << "repeated axis " << a;
    isNew[*n] = true;
  }
  Shape out;
  size_t j = 0;
  for (int64_t k = 0; k < outRank; ++k)
    out.push_back(isNew[k] ? 1 : nc.shape(0)[j++]);
  return reshapeTo(nc, out);
}

LogicalResult importSqueeze(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> axes = axesOperand(nc);
  if (failed(axes))
    return failure();
  ArrayRef<int64_t> in = nc.shape(0);
  SmallVector<bool> drop(in.size(), false);
  if (axes->empty()) {
    for (size_t k = 0; k < in.size(); ++k)
      drop[k] = in[k] == 1;
  }
  for (int64_t a : *axes) {
    FailureOr<int64_t> n = nc.axis(a, in.size());
    if (failed(n))
      return failure();
    // torch.onnx's dynamo exporter writes PyTorch's squeeze(dim), which
    // leaves an axis of size != 1 alone, as an ONNX Squeeze on that axis
    // (which ONNX calls invalid). Keep PyTorch's meaning and say so.
    if (in[*n] != 1) {
      nc.warning() << "axis " << a << " has size " << in[*n]
                   << ", not 1; left in place, as PyTorch's squeeze does "
                      "(ONNX calls this invalid)";
      continue;
    }
    drop[*n] = true;
  }
  Shape out;
  for (size_t k = 0; k < in.size(); ++k)
    if (!drop[k])
      out.push_back(in[k]);
  return reshapeTo(nc, out);
}

LogicalResult importTranspose(NodeContext &nc) {
  int64_t r = nc.rank(0);
  SmallVector<int64_t> perm;
  if (auto p = nc.attrInts("perm"))
    perm = *p;
  else
    for (int64_t k = r - 1; k >= 0; --k)
      perm.push_back(k);
  std::string why;
  FailureOr<Shape> s = transposeShape(nc.shape(0), perm, why);
  if (failed(s))
    return nc.fail(why);
  if (const HostTensor *c = nc.cst(0)) {
    nc.setConst(0, foldTranspose(*c, perm, *s));
    return success();
  }
  nc.set(0, TransposeOp::create(nc.b, nc.loc,
                                RankedTensorType::get(*s, nc.elem(0)), nc.in(0),
                                perm));
  return success();
}

LogicalResult importConcat(NodeContext &nc) {
  if (nc.numInputs() < 1)
    return nc.error() << "needs at least one input";
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", 0), nc.rank(0));
  if (failed(axis))
    return failure();
  SmallVector<ArrayRef<int64_t>> shapes;
  SmallVector<int> present;
  for (int i = 0; i < nc.numInputs(); ++i) {
    if (!nc.has(i))
      continue;
    if (nc.elem(i) != nc.elem(0))
      return nc.error() << "inputs differ in element type";
    shapes.push_back(nc.shape(i));
    present.push_back(i);
  }
  std::string why;
  FailureOr<Shape> s = concatShape(shapes, *axis, why);
  if (failed(s))
    return nc.fail(why);
  if (failed(nc.tensorType(*s, nc.elem(0))))
    return failure();
  if (nc.allConst() && numElements(*s).value_or(0) <= kFoldLimit) {
    SmallVector<const HostTensor *> ins;
    for (int i : present)
      ins.push_back(nc.cst(i));
    nc.setConst(0, foldConcat(ins, *axis, *s));
    return success();
  }
  SmallVector<Value> vals;
  for (int i : present)
    if (numElements(nc.shape(i)).value_or(0) > 0)
      vals.push_back(nc.in(i));
  if (vals.size() == 1) {
    nc.set(0, vals[0]);
    return success();
  }
  nc.set(0, ConcatOp::create(nc.b, nc.loc, RankedTensorType::get(*s, nc.elem(0)),
                             vals, *axis));
  return success();
}

LogicalResult importSplit(NodeContext &nc) {
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", 0), nc.rank(0));
  if (failed(axis))
    return failure();
  int64_t dim = nc.shape(0)[*axis];
  int n = nc.numOutputs();
  SmallVector<int64_t> sizes;
  if (nc.has(1)) {
    FailureOr<SmallVector<int64_t>> s = nc.constInts(1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (auto s = nc.attrInts("split"); s && nc.opset < 13) {
    sizes = *s;
  } else {
    // From opset 18 num_outputs may split unevenly (the last piece smaller).
    bool byCount = nc.opset >= 18 && nc.attr("num_outputs");
    int64_t parts = byCount ? nc.attrInt("num_outputs", n) : n;
    if (parts != n)
      return nc.error() << "num_outputs is " << parts << " but the node has "
                        << n << " outputs";
    if (parts < 1)
      return nc.error() << "num_outputs must be positive";
    if (!byCount && dim % parts)
      return nc.error() << "axis of size " << dim
                        << " does not split evenly into " << parts;
    int64_t chunk = dim / parts + (dim % parts != 0);
    for (int64_t k = 0, left = dim; k < parts; ++k, left -= chunk)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, left)));
  }
  if ((int)sizes.size() != n)
    return nc.error() << "split gives " << sizes.size() << " pieces for " << n
                      << " outputs";
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      return nc.error() << "negative split size";
    total += s;
  }
  if (total != dim)
    return nc.error() << "split sizes add up to " << total << ", axis has "
                      << dim;
  SmallVector<Type> types;
  for (int64_t s : sizes) {
    Shape sh(nc.shape(0).begin(), nc.shape(0).end());
    sh[*axis] = s;
    types.push_back(RankedTensorType::get(sh, nc.elem(0)));
  }
  if (const HostTensor *c = nc.cst(0)) {
    int64_t off = 0;
    for (int k = 0; k < n; ++k) {
      Shape offs(nc.rank(0), 0), steps(nc.rank(0), 1);
      offs[*axis] = off;
      off += sizes[k];
      nc.setConst(k, foldSlice(*c, offs, steps,
                               cast<RankedTensorType>(types[k]).getShape()));
    }
    return success();
  }
  auto op = SplitOp::create(nc.b, nc.loc, types, nc.in(0), *axis);
  for (int k = 0; k < n; ++k)
    nc.set(k, op.getResult(k));
  return success();
}

LogicalResult importSlice(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> starts = nc.constInts(1, "starts");
  if (failed(starts))
    return failure();
  FailureOr<SmallVector<int64_t>> ends = nc.constInts(2, "ends");
  if (failed(ends))
    return failure();
  ArrayRef<int64_t> in = nc.shape(0);
  int64_t r = in.size();
  SmallVector<int64_t> axes, steps;
  if (nc.has(3)) {
    FailureOr<SmallVector<int64_t>> a = nc.constInts(3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t k = 0; k < starts->size(); ++k)
      axes.push_back(k);
  }
  if (nc.has(4)) {
    FailureOr<SmallVector<int64_t>> s = nc.constInts(4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return nc.error() << "starts, ends, axes and steps differ in length";
  Shape offsets(r, 0), strides(r, 1), out(in.begin(), in.end());
  SmallVector<bool> seen(r, false);
  for (size_t k = 0; k < axes.size(); ++k) {
    FailureOr<int64_t> a = nc.axis(axes[k], r);
    if (failed(a))
      return failure();
    if (seen[*a])
      return nc.error() << "axis " << axes[k] << " repeats";
    seen[*a] = true;
    int64_t d = in[*a], st = steps[k];
    if (st == 0)
      return nc.error() << "step is zero";
    int64_t s = (*starts)[k], e = (*ends)[k];
    if (s < 0)
      s = s < -d ? -1 : s + d;
    if (e < 0)
      e = e < -d ? -1 : e + d;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
    } else {
      s = std::clamp<int64_t>(s, -1, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
    }
    // The span is at most d + 1; the step's magnitude may be 2^63.
    int64_t span = st > 0 ? e - s : s - e;
    uint64_t mag = st > 0 ? (uint64_t)st : 0 - (uint64_t)st;
    int64_t size = span > 0 ? (int64_t)((uint64_t)(span - 1) / mag) + 1 : 0;
    offsets[*a] = size ? s : 0;
    strides[*a] = st;
    out[*a] = size;
  }
  if (const HostTensor *c = nc.cst(0)) {
    nc.setConst(0, foldSlice(*c, offsets, strides, out));
    return success();
  }
  nc.set(0, SliceOp::create(nc.b, nc.loc, RankedTensorType::get(out, nc.elem(0)),
                            nc.in(0), offsets, strides));
  return success();
}

LogicalResult importGather(NodeContext &nc) {
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", 0), nc.rank(0));
  if (failed(axis))
    return failure();
  if (!isIndexType(nc.elem(1)))
    return nc.error() << "indices must be integers";
  std::string why;
  FailureOr<Shape> s = gatherShape(nc.shape(0), nc.shape(1), *axis, why);
  if (failed(s))
    return nc.fail(why);
  if (failed(nc.tensorType(*s, nc.elem(0))))
    return failure();
  int64_t dim = nc.shape(0)[*axis];
  if (const HostTensor *idx = nc.cst(1))
    for (int64_t v : idx->i)
      if (v < -dim || v >= dim)
        return nc.error() << "index " << v << " out of range for axis of size "
                          << dim;
  if (nc.cst(0) && nc.cst(1)) {
    nc.setConst(0, foldGather(*nc.cst(0), *nc.cst(1), *axis, *s));
    return success();
  }
  nc.set(0, GatherOp::create(nc.b, nc.loc, RankedTensorType::get(*s, nc.elem(0)),
                             nc.in(0), nc.in(1), *axis));
  return success();
}

LogicalResult importExpand(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> shape = nc.constInts(1, "shape");
  if (failed(shape))
    return failure();
  std::string why;
  FailureOr<Shape> s = broadcastShapes({nc.shape(0), *shape}, why);
  if (failed(s))
    return nc.fail(why);
  if (failed(nc.tensorType(*s, nc.elem(0))))
    return failure();
  if (const HostTensor *c = nc.cst(0);
      c && numElements(*s).value_or(0) <= kFoldLimit) {
    nc.setConst(0, foldBroadcast(
                       {c}, *s, c->elementType,
                       [](ArrayRef<double> v) { return v[0]; },
                       [](ArrayRef<int64_t> v) { return v[0]; }));
    return success();
  }
  if (ArrayRef<int64_t>(*s) == nc.shape(0))
    nc.set(0, nc.in(0));
  else
    nc.set(0, BroadcastOp::create(nc.b, nc.loc,
                                  RankedTensorType::get(*s, nc.elem(0)),
                                  nc.in(0)));
  return success();
}

LogicalResult importTrilu(NodeContext &nc) {
  if (nc.rank(0) < 2)
    return nc.error() << "input needs rank >= 2";
  int64_t k = 0;
  if (nc.has(1)) {
    FailureOr<SmallVector<int64_t>> kv = nc.constInts(1, "k");
    if (failed(kv) || kv->size() != 1)
      return failed(kv) ? failure() : nc.error() << "k must be a scalar";
    k = (*kv)[0];
  }
  bool upper = nc.attrInt("upper", 1) != 0;
  if (const HostTensor *c = nc.cst(0)) {
    nc.setConst(0, foldTrilu(*c, k, upper));
    return success();
  }
  nc.set(0, TriluOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), k, upper));
  return success();
}

/// Tile: out[i] = in[i mod d] per axis, i.e. a broadcast over a new leading
/// axis per dimension: [d0, d1] -> [1, d0, 1, d1] -> [r0, d0, r1, d1] ->
/// [r0*d0, r1*d1].
LogicalResult importTile(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> reps = nc.constInts(1, "repeats");
  if (failed(reps))
    return failure();
  ArrayRef<int64_t> in = nc.shape(0);
  if (reps->size() != in.size())
    return nc.error() << "repeats has " << reps->size() << " entries for rank "
                      << in.size();
  Shape split, expanded, out;
  for (auto [d, r] : llvm::zip(in, *reps)) {
    if (r < 0)
      return nc.error() << "negative repeat " << r;
    split.append({1, d});
    expanded.append({r, d});
    out.push_back(r * d);
  }
  FailureOr<RankedTensorType> type = nc.tensorType(out, nc.elem(0));
  if (failed(type) || failed(nc.tensorType(expanded, nc.elem(0))))
    return failure();
  if (const HostTensor *c = nc.cst(0);
      c && numElements(out).value_or(0) <= kFoldLimit) {
    HostTensor e = foldBroadcast(
        {&*std::make_unique<HostTensor>(foldReshape(*c, split))}, expanded,
        c->elementType, [](ArrayRef<double> v) { return v[0]; },
        [](ArrayRef<int64_t> v) { return v[0]; });
    nc.setConst(0, foldReshape(e, out));
    return success();
  }
  Value x = nc.in(0);
  auto et = nc.elem(0);
  x = ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get(split, et), x);
  x = BroadcastOp::create(nc.b, nc.loc, RankedTensorType::get(expanded, et), x);
  nc.set(0, ReshapeOp::create(nc.b, nc.loc, *type, x));
  return success();
}

LogicalResult importFlatten(NodeContext &nc) {
  int64_t r = nc.rank(0);
  int64_t axis = nc.attrInt("axis", 1);
  if (axis < -r || axis > r)
    return nc.error() << "axis " << axis << " is out of range for rank " << r;
  if (axis < 0)
    axis += r;
  ArrayRef<int64_t> in = nc.shape(0);
  int64_t outer = numElements(in.take_front(axis)).value_or(-1);
  int64_t inner = numElements(in.drop_front(axis)).value_or(-1);
  return reshapeTo(nc, {outer, inner});
}

} // namespace

void mlir::ditc::onnx_import::addMovementOps(OpTable &t) {
  t["Flatten"] = {importFlatten, 1};
  t["Tile"] = {importTile, 6};
  t["Shape"] = {importShape, 1};
  t["Reshape"] = {importReshape, 5};
  t["Unsqueeze"] = {importUnsqueeze, 1};
  t["Squeeze"] = {importSqueeze, 1};
  t["Transpose"] = {importTranspose, 1};
  t["Concat"] = {importConcat, 1};
  t["Split"] = {importSplit, 1};
  t["Slice"] = {importSlice, 10};
  t["Gather"] = {importGather, 1};
  t["Expand"] = {importExpand, 8};
  t["Trilu"] = {importTrilu, 14};
}
