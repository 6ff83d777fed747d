//===- OnnxNeuralOps.cpp - ONNX op handlers: contractions, norms, attention ===//

#include "lib/Importer/Onnx/OnnxOps.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

namespace {

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type et) {
  return RankedTensorType::get(shape, et);
}

Value reshape(NodeContext &nc, Value v, ArrayRef<int64_t> shape) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getShape() == shape)
    return v;
  return ReshapeOp::create(nc.b, nc.loc, tensorOf(shape, t.getElementType()), v);
}

Value transpose(NodeContext &nc, Value v, ArrayRef<int64_t> perm) {
  auto t = cast<RankedTensorType>(v.getType());
  Shape s;
  for (int64_t p : perm)
    s.push_back(t.getShape()[p]);
  return TransposeOp::create(nc.b, nc.loc, tensorOf(s, t.getElementType()), v,
                             perm);
}

LogicalResult requireFloat(NodeContext &nc, ArrayRef<int> inputs) {
  for (int i : inputs)
    if (nc.has(i) && (!isa<FloatType>(nc.elem(i)) || nc.elem(i) != nc.elem(0)))
      return nc.error() << "input " << i << " must be floating point like input 0";
  return success();
}

LogicalResult importMatMul(NodeContext &nc) {
  if (nc.elem(0) != nc.elem(1))
    return nc.error() << "operand element types differ";
  if (nc.rank(0) < 1 || nc.rank(1) < 1)
    return nc.error() << "operands must have rank >= 1";
  Value a = nc.in(0), b = nc.in(1);
  Shape as(nc.shape(0).begin(), nc.shape(0).end());
  Shape bs(nc.shape(1).begin(), nc.shape(1).end());
  bool vecA = as.size() == 1, vecB = bs.size() == 1;
  if (vecA)
    as.insert(as.begin(), 1);
  if (vecB)
    bs.push_back(1);
  std::string why;
  FailureOr<Shape> s = matmulShape(as, bs, why);
  if (failed(s))
    return nc.fail(why);
  if (failed(nc.tensorType(*s, nc.elem(0))))
    return failure();
  Value r = MatmulOp::create(nc.b, nc.loc, tensorOf(*s, nc.elem(0)),
                             reshape(nc, a, as), reshape(nc, b, bs));
  Shape out = *s;
  if (vecB)
    out.pop_back();
  if (vecA)
    out.erase(out.end() - 1 - (vecB ? 0 : 1));
  nc.set(0, reshape(nc, r, out));
  return success();
}

LogicalResult importGemm(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1, 2})))
    return failure();
  if (nc.rank(0) != 2 || nc.rank(1) != 2)
    return nc.error() << "A and B must be matrices";
  double alpha = nc.attrFloat("alpha", 1.0), beta = nc.attrFloat("beta", 1.0);
  bool transA = nc.attrInt("transA", 0), transB = nc.attrInt("transB", 0);
  Value a = nc.in(0);
  if (transA)
    a = transpose(nc, a, {1, 0});
  std::string why;
  FailureOr<Shape> s = linearShape(cast<RankedTensorType>(a.getType()).getShape(),
                                   nc.shape(1), transB, why);
  if (failed(s))
    return nc.fail(why);
  Type et = nc.elem(0);
  bool biasFits = nc.has(2) && beta == 1.0 &&
                  nc.shape(2) == ArrayRef<int64_t>{(*s)[1]};
  if (alpha == 1.0 && (!nc.has(2) || biasFits)) {
    nc.set(0, LinearOp::create(nc.b, nc.loc, tensorOf(*s, et), a, nc.in(1),
                               nc.has(2) ? nc.in(2) : Value(), transB));
    return success();
  }
  Value y = LinearOp::create(nc.b, nc.loc, tensorOf(*s, et), a, nc.in(1),
                             Value(), transB);
  if (alpha != 1.0)
    y = MulOp::create(nc.b, nc.loc, y.getType(), y,
                      scalarConstant(nc, et, alpha));
  if (nc.has(2) && beta != 0.0) {
    if (!broadcastsTo(nc.shape(2), *s))
      return nc.error() << "C " << shapeStr(nc.shape(2))
                        << " does not broadcast to " << shapeStr(*s);
    Value c = nc.in(2);
    if (beta != 1.0)
      c = MulOp::create(nc.b, nc.loc, c.getType(), c,
                        scalarConstant(nc, et, beta));
    y = AddOp::create(nc.b, nc.loc, y.getType(), y, c);
  }
  nc.set(0, y);
  return success();
}

/// Pads for auto_pad SAME_UPPER / SAME_LOWER: ceil(size / stride) outputs,
/// the odd pad at the end (UPPER) or the beginning (LOWER).
LogicalResult samePads(NodeContext &nc, ArrayRef<int64_t> x,
                       ArrayRef<int64_t> w, ArrayRef<int64_t> strides,
                       ArrayRef<int64_t> dil, bool upper,
                       SmallVector<int64_t> &pads) {
  int64_t sp = strides.size();
  pads.assign(2 * sp, 0);
  for (int64_t k = 0; k < sp; ++k) {
    int64_t in = x[2 + k], st = strides[k], eff;
    if (st < 1 || dil[k] < 1)
      return nc.error() << "strides and dilations must be positive";
    int64_t out = in / st + (in % st != 0);
    if (llvm::MulOverflow(dil[k], w[2 + k] - 1, eff))
      return nc.error() << "dilated kernel size overflows";
    // (out - 1) * st < in, so neither term overflows.
    int64_t total = std::max<int64_t>(0, eff + ((out - 1) * st + 1 - in));
    pads[k] = upper ? total / 2 : total - total / 2;
    pads[sp + k] = total - pads[k];
  }
  return success();
}

LogicalResult importConv(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1, 2})))
    return failure();
  int64_t r = nc.rank(0);
  if (r < 3 || nc.rank(1) != r)
    return nc.error() << "input and weight must be [N, C, spatial...] of one rank";
  int64_t sp = r - 2;
  ArrayRef<int64_t> x = nc.shape(0), w = nc.shape(1);
  SmallVector<int64_t> strides = nc.attrInts("strides").value_or(SmallVector<int64_t>(sp, 1));
  SmallVector<int64_t> dil = nc.attrInts("dilations").value_or(SmallVector<int64_t>(sp, 1));
  SmallVector<int64_t> pads = nc.attrInts("pads").value_or(SmallVector<int64_t>(2 * sp, 0));
  if (auto ks = nc.attrInts("kernel_shape"))
    if (ArrayRef<int64_t>(*ks) != w.drop_front(2))
      return nc.error() << "kernel_shape does not match the weight";
  std::string autoPad = nc.attrStr("auto_pad", "NOTSET");
  if ((int64_t)strides.size() != sp || (int64_t)dil.size() != sp)
    return nc.error() << "strides/dilations do not match " << sp
                      << " spatial axes";
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    if (failed(samePads(nc, x, w, strides, dil, autoPad == "SAME_UPPER", pads)))
      return failure();
  } else if (autoPad == "VALID") {
    pads.assign(2 * sp, 0);
  } else if (autoPad != "NOTSET") {
    return nc.error() << "unknown auto_pad '" << autoPad << "'";
  }
  int64_t group = nc.attrInt("group", 1);
  std::string why;
  FailureOr<Shape> s = convShape(x, w, strides, pads, dil, group, why);
  if (failed(s))
    return nc.fail(why);
  if (nc.has(2) && nc.shape(2) != ArrayRef<int64_t>{w[0]})
    return nc.error() << "bias must have " << w[0] << " entries";
  if (failed(nc.tensorType(*s, nc.elem(0))))
    return failure();
  nc.set(0, ConvOp::create(nc.b, nc.loc, tensorOf(*s, nc.elem(0)), nc.in(0),
                           nc.in(1), nc.has(2) ? nc.in(2) : Value(), strides,
                           pads, dil, group));
  return success();
}

LogicalResult importEinsum(NodeContext &nc) {
  SmallVector<int64_t> ranks;
  SmallVector<ArrayRef<int64_t>> shapes;
  SmallVector<Value> ins;
  for (int i = 0; i < nc.numInputs(); ++i) {
    if (nc.elem(i) != nc.elem(0))
      return nc.error() << "inputs differ in element type";
    shapes.push_back(nc.shape(i));
    ranks.push_back(shapes.back().size());
  }
  std::string why;
  FailureOr<EinsumSpec> spec = parseEinsum(nc.attrStr("equation", ""), ranks, why);
  if (failed(spec))
    return nc.fail(why);
  FailureOr<Shape> s = einsumShape(*spec, shapes, why);
  if (failed(s))
    return nc.fail(why);
  if (failed(nc.tensorType(*s, nc.elem(0))))
    return failure();
  for (int i = 0; i < nc.numInputs(); ++i)
    ins.push_back(nc.in(i));
  nc.set(0, EinsumOp::create(nc.b, nc.loc, tensorOf(*s, nc.elem(0)), ins,
                             einsumStr(*spec)));
  return success();
}

LogicalResult importSoftmax(NodeContext &nc) {
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input";
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), nc.rank(0));
  if (failed(axis))
    return failure();
  nc.set(0, SoftmaxOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), *axis));
  return success();
}

/// Checks that a norm's scale/bias broadcasts to the normalised dimensions.
LogicalResult checkNormParam(NodeContext &nc, int i, int64_t axis) {
  if (!nc.has(i))
    return success();
  ArrayRef<int64_t> norm = nc.shape(0).drop_front(axis);
  if (!broadcastsTo(nc.shape(i), norm))
    return nc.error() << "input " << i << " shape " << shapeStr(nc.shape(i))
                      << " does not broadcast to the normalised shape "
                      << shapeStr(norm);
  return success();
}

/// LayerNormalization's optional Mean and InvStdDev outputs, computed in the
/// stash type, shaped like the input with the normalised axes kept as 1.
LogicalResult layerNormStats(NodeContext &nc, int64_t axis) {
  if (!nc.outputUsed(1) && !nc.outputUsed(2))
    return success();
  int32_t stash = nc.attrInt("stash_type", onnx::TensorProto::FLOAT);
  Type u = elementTypeFor(nc.ctx(), stash);
  if (!u || !isa<FloatType>(u))
    return nc.error() << "unsupported stash_type " << onnxTypeName(stash);
  Value x = castTo(nc, nc.in(0), u);
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq(axis, nc.rank(0)));
  Shape s(nc.shape(0).begin(), nc.shape(0).end());
  for (int64_t a : axes)
    s[a] = 1;
  RankedTensorType t = tensorOf(s, u);
  Value mean = ReduceMeanOp::create(nc.b, nc.loc, t, x, axes, true);
  Value d = SubOp::create(nc.b, nc.loc, x.getType(), x, mean);
  Value sq = MulOp::create(nc.b, nc.loc, x.getType(), d, d);
  Value var = ReduceMeanOp::create(nc.b, nc.loc, t, sq, axes, true);
  Value eps = scalarConstant(nc, u, nc.attrFloat("epsilon", 1e-5));
  Value std = SqrtOp::create(nc.b, nc.loc, t,
                             AddOp::create(nc.b, nc.loc, t, var, eps));
  nc.set(1, mean);
  nc.set(2, ReciprocalOp::create(nc.b, nc.loc, t, std));
  return success();
}

LogicalResult importLayerNorm(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1, 2})))
    return failure();
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), nc.rank(0));
  if (failed(axis) || failed(checkNormParam(nc, 1, *axis)) ||
      failed(checkNormParam(nc, 2, *axis)))
    return failure();
  nc.set(0, LayerNormOp::create(nc.b, nc.loc, nc.type(0), nc.in(0),
                                nc.has(1) ? nc.in(1) : Value(),
                                nc.has(2) ? nc.in(2) : Value(), Value(),
                                Value(), *axis,
                                APFloat(nc.attrFloat("epsilon", 1e-5)),
                                /*mod_scale_offset=*/FloatAttr()));
  return layerNormStats(nc, *axis);
}

LogicalResult importRmsNorm(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1})))
    return failure();
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), nc.rank(0));
  if (failed(axis) || failed(checkNormParam(nc, 1, *axis)))
    return failure();
  nc.set(0, RmsNormOp::create(nc.b, nc.loc, nc.type(0), nc.in(0),
                              nc.has(1) ? nc.in(1) : Value(), *axis,
                              APFloat(nc.attrFloat("epsilon", 1e-5))));
  return success();
}

LogicalResult importGroupNorm(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1, 2})))
    return failure();
  if (nc.rank(0) < 2)
    return nc.error() << "input needs rank >= 2";
  int64_t g = nc.attrInt("num_groups", 0);
  int64_t c = nc.shape(0)[1];
  if (g < 1 || c % g)
    return nc.error() << "num_groups " << g << " does not divide " << c
                      << " channels";
  // Opsets 18-20 give scale and bias per group; 21 per channel.
  int64_t expect = nc.opset >= 21 ? c : g;
  Value params[2];
  for (int i : {1, 2}) {
    if (nc.shape(i) != ArrayRef<int64_t>{expect})
      return nc.error() << "input " << i << " must have shape [" << expect
                        << "]";
    Value p = nc.in(i);
    if (expect != c) {
      p = reshape(nc, p, {g, 1});
      p = BroadcastOp::create(nc.b, nc.loc, tensorOf({g, c / g}, nc.elem(0)), p);
      p = reshape(nc, p, {c});
    }
    params[i - 1] = p;
  }
  nc.set(0, GroupNormOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), params[0],
                                params[1], g, APFloat(nc.attrFloat("epsilon", 1e-5))));
  return success();
}

LogicalResult importRotaryEmbedding(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1, 2})))
    return failure();
  if (nc.has(3) && !isIndexType(nc.elem(3)))
    return nc.error() << "position_ids must be integers";
  int64_t r = nc.rank(0);
  ArrayRef<int64_t> xs = nc.shape(0);
  Value x = nc.in(0);
  int64_t heads = nc.attrInt("num_heads", 0);
  // 4-D inputs are [B, H, S, D]; 3-D [B, S, H*D] become [B, S, H, D].
  if (r == 3) {
    if (heads < 1 || xs[2] % heads)
      return nc.error() << "3-D input needs num_heads dividing the hidden size";
    x = reshape(nc, x, {xs[0], xs[1], heads, xs[2] / heads});
  } else if (r != 4) {
    return nc.error() << "input must be [B, H, S, D] or [B, S, H*D]";
  }
  ArrayRef<int64_t> x4 = cast<RankedTensorType>(x.getType()).getShape();
  int64_t b = x4[0], s = r == 4 ? x4[2] : x4[1], d = x4[3];
  int64_t rot = nc.attrInt("rotary_embedding_dim", 0);
  if (rot == 0)
    rot = d;
  if (rot % 2 || rot > d || rot < 2)
    return nc.error() << "rotary_embedding_dim " << rot
                      << " must be even and at most the head size " << d;
  int64_t half = rot / 2;
  bool interleaved = nc.attrInt("interleaved", 0) != 0;
  Type et = nc.elem(0);
  Value cs[2];
  for (int i : {1, 2}) {
    Value c = nc.in(i);
    ArrayRef<int64_t> cShape = nc.shape(i);
    if (nc.has(3)) {
      if (cShape.size() != 2)
        return nc.error() << "with position_ids the caches must be 2-D";
      std::string why;
      FailureOr<Shape> gs = gatherShape(cShape, nc.shape(3), 0, why);
      if (failed(gs))
        return nc.fail(why);
      c = GatherOp::create(nc.b, nc.loc, tensorOf(*gs, et), c, nc.in(3), 0);
    }
    ArrayRef<int64_t> g = cast<RankedTensorType>(c.getType()).getShape();
    if (g.size() == 2)
      c = reshape(nc, c, {1, g[0], g[1]});
    g = cast<RankedTensorType>(c.getType()).getShape();
    if (g.size() != 3 || g[1] != s || g[2] != half || (g[0] != 1 && g[0] != b))
      return nc.error() << "cos/sin cache " << shapeStr(g)
                        << " does not fit sequence " << s << " and rotary dim "
                        << rot;
    // One value per rotated feature: [Bc, S, R] -> [Bc, S, 2R], then a unit
    // head axis where the input has its heads.
    Shape full{g[0], s, rot};
    if (interleaved) {
      c = reshape(nc, c, {g[0], s, half, 1});
      c = BroadcastOp::create(nc.b, nc.loc, tensorOf({g[0], s, half, 2}, et), c);
      c = reshape(nc, c, full);
    } else {
      c = ConcatOp::create(nc.b, nc.loc, tensorOf(full, et), ValueRange{c, c}, 2);
    }
    cs[i - 1] = r == 4 ? reshape(nc, c, {g[0], 1, s, rot})
                       : reshape(nc, c, {g[0], s, 1, rot});
  }
  Value y = RopeOp::create(nc.b, nc.loc, x.getType(), x, cs[0], cs[1],
                           interleaved);
  nc.set(0, reshape(nc, y, xs));
  return success();
}

/// Q, K and V as [B, heads, S, D]; 3-D inputs [B, S, heads*D] are split with
/// q_num_heads / kv_num_heads.
LogicalResult attentionHeads(NodeContext &nc, Value qkv[3]) {
  int64_t r = nc.rank(0);
  if (nc.rank(1) != r || nc.rank(2) != r || (r != 3 && r != 4))
    return nc.error() << "Q, K and V must all be 3-D or all 4-D";
  for (int i = 0; i < 3; ++i)
    qkv[i] = nc.in(i);
  if (r == 4)
    return success();
  int64_t heads[3] = {nc.attrInt("q_num_heads", 0), nc.attrInt("kv_num_heads", 0),
                      nc.attrInt("kv_num_heads", 0)};
  for (int i = 0; i < 3; ++i) {
    ArrayRef<int64_t> s = nc.shape(i);
    if (heads[i] < 1 || s[2] % heads[i])
      return nc.error() << "3-D inputs need q_num_heads and kv_num_heads "
                           "dividing the hidden sizes";
    qkv[i] = transpose(nc, reshape(nc, qkv[i], {s[0], s[1], heads[i], s[2] / heads[i]}),
                       {0, 2, 1, 3});
  }
  return success();
}

/// Prepends past_key / past_value (inputs 4 and 5) along the sequence axis
/// and defines present_key / present_value (outputs 1 and 2). Returns the
/// past length.
FailureOr<int64_t> attentionCache(NodeContext &nc, Value &k, Value &v) {
  if (nc.has(4) != nc.has(5))
    return nc.error() << "past_key and past_value must be given together",
           failure();
  int64_t past = 0;
  if (nc.has(4)) {
    Value *cur[2] = {&k, &v};
    for (int i = 0; i < 2; ++i) {
      ArrayRef<int64_t> p = nc.shape(4 + i), c = shapeOf(*cur[i]);
      if (p.size() != 4 || p[0] != c[0] || p[1] != c[1] || p[3] != c[3])
        return nc.error() << "past cache " << shapeStr(p)
                          << " does not fit the new keys/values "
                          << shapeStr(c),
               failure();
      Shape s(c.begin(), c.end());
      s[2] += p[2];
      *cur[i] = ConcatOp::create(nc.b, nc.loc, tensorOf(s, nc.elem(0)),
                                 ValueRange{nc.in(4 + i), *cur[i]}, 2);
      past = p[2];
    }
  }
  nc.set(1, k);
  nc.set(2, v);
  return past;
}

/// Repeats K/V heads for grouped-query attention: [B, Hkv, S, D] -> [B, H, S, D].
Value repeatHeads(NodeContext &nc, Value t, int64_t reps) {
  if (reps == 1)
    return t;
  ArrayRef<int64_t> s = shapeOf(t);
  Type et = cast<RankedTensorType>(t.getType()).getElementType();
  Value e = reshape(nc, t, {s[0], s[1], 1, s[2], s[3]});
  e = BroadcastOp::create(nc.b, nc.loc, tensorOf({s[0], s[1], reps, s[2], s[3]}, et), e);
  return reshape(nc, e, {s[0], s[1] * reps, s[2], s[3]});
}

/// Attention spelled out with matmul/softmax for what ditc.attention does not
/// cover: softcap, the QK output, causal masks offset by a cache, masks
/// shorter than the keys (padded as ONNX specifies).
LogicalResult decomposedAttention(NodeContext &nc, Value q, Value k, Value v,
                                  int64_t past, Value &y) {
  Type et = nc.elem(0);
  ArrayRef<int64_t> qs = shapeOf(q), ks = shapeOf(k);
  int64_t b = qs[0], h = qs[1], sq = qs[2], sk = ks[2];
  if (ks[1] < 1 || h % ks[1])
    return nc.error() << "query heads are not a multiple of key/value heads";
  k = repeatHeads(nc, k, h / ks[1]);
  v = repeatHeads(nc, v, h / ks[1]);
  double scale = nc.attrFloat("scale", 1.0 / std::sqrt((double)qs[3]));
  Shape scoreShape{b, h, sq, sk};
  auto scoreType = tensorOf(scoreShape, et);
  Value s = MatmulOp::create(nc.b, nc.loc, scoreType, q,
                             transpose(nc, k, {0, 1, 3, 2}));
  s = MulOp::create(nc.b, nc.loc, scoreType, s, scalarConstant(nc, et, scale));
  // The qk_matmul_output modes: 0 scaled QK^T, 1 plus the mask, 2 after
  // softcap, 3 after softmax (ONNX applies softcap after the mask).
  Value qk[4] = {s};
  Value bias;
  if (nc.has(3)) {
    Value m = nc.in(3);
    ArrayRef<int64_t> ms = nc.shape(3);
    bool isBool = nc.elem(3).isInteger(1);
    if (ms.back() > sk)
      return nc.error() << "attn_mask is longer than the keys";
    if (ms.back() < sk) {
      Shape padShape(ms.begin(), ms.end());
      padShape.back() = sk - ms.back();
      HostTensor fill(nc.elem(3), {});
      fill.set(0, isBool ? 0.0 : -INFINITY);
      Value pad = ConstantOp::create(
          nc.b, nc.loc,
          DenseElementsAttr::get(tensorOf(padShape, nc.elem(3)),
                                 fill.toAttr().getSplatValue<Attribute>()));
      Shape full(ms.begin(), ms.end());
      full.back() = sk;
      m = ConcatOp::create(nc.b, nc.loc, tensorOf(full, nc.elem(3)),
                           ValueRange{m, pad}, full.size() - 1);
    }
    if (isBool) {
      ArrayRef<int64_t> mShape = shapeOf(m);
      m = WhereOp::create(nc.b, nc.loc, tensorOf(mShape, et), m,
                          scalarConstant(nc, et, 0.0),
                          scalarConstant(nc, et, -INFINITY));
    }
    bias = m;
  }
  if (nc.attrInt("is_causal", 0)) {
    auto sqsk = tensorOf({sq, sk}, et);
    Value all = ConstantOp::create(
        nc.b, nc.loc, DenseElementsAttr::get(sqsk, nc.b.getFloatAttr(et, -INFINITY)));
    Value causal = TriluOp::create(nc.b, nc.loc, sqsk, all, past + 1, true);
    if (bias) {
      std::string why;
      FailureOr<Shape> bs = broadcastShapes({shapeOf(bias), {sq, sk}}, why);
      if (failed(bs))
        return nc.fail(why);
      bias = AddOp::create(nc.b, nc.loc, tensorOf(*bs, et), bias, causal);
    } else {
      bias = causal;
    }
  }
  if (bias) {
    if (!broadcastsTo(shapeOf(bias), scoreShape))
      return nc.error() << "attn_mask " << shapeStr(shapeOf(bias))
                        << " does not broadcast to " << shapeStr(scoreShape);
    s = AddOp::create(nc.b, nc.loc, scoreType, s, bias);
  }
  qk[1] = s;
  if (double cap = nc.attrFloat("softcap", 0.0); cap > 0) {
    s = MulOp::create(nc.b, nc.loc, scoreType, s, scalarConstant(nc, et, 1 / cap));
    s = TanhOp::create(nc.b, nc.loc, scoreType, s);
    s = MulOp::create(nc.b, nc.loc, scoreType, s, scalarConstant(nc, et, cap));
  }
  qk[2] = s;
  Value p = SoftmaxOp::create(nc.b, nc.loc, scoreType, s, 3);
  // Rows whose keys are all masked give NaN; ONNX defines them as zeros.
  Value nan = IsNanOp::create(nc.b, nc.loc, tensorOf(scoreShape, nc.b.getI1Type()), p);
  p = WhereOp::create(nc.b, nc.loc, scoreType, nan, scalarConstant(nc, et, 0.0), p);
  qk[3] = p;
  int64_t mode = nc.attrInt("qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3)
    return nc.error() << "qk_matmul_output_mode " << mode << " is not 0-3";
  nc.set(3, qk[mode]);
  ArrayRef<int64_t> vs = shapeOf(v);
  y = MatmulOp::create(nc.b, nc.loc, tensorOf({b, h, sq, vs[3]}, et), p, v);
  return success();
}

LogicalResult importAttention(NodeContext &nc) {
  if (failed(requireFloat(nc, {0, 1, 2, 4, 5})))
    return failure();
  if (nc.has(6))
    return nc.error() << "nonpad_kv_seqlen is not supported";
  Value qkv[3];
  if (failed(attentionHeads(nc, qkv)))
    return failure();
  Value q = qkv[0], k = qkv[1], v = qkv[2];
  FailureOr<int64_t> past = attentionCache(nc, k, v);
  if (failed(past))
    return failure();
  std::optional<ArrayRef<int64_t>> maskShape;
  if (nc.has(3)) {
    if (!nc.elem(3).isInteger(1) && nc.elem(3) != nc.elem(0))
      return nc.error() << "attn_mask must be boolean or of Q's type";
    if (nc.rank(3) < 2 || nc.rank(3) > 4)
      return nc.error() << "attn_mask must have rank 2 to 4";
    maskShape = nc.shape(3);
  }
  int64_t keys = shapeOf(k)[2];
  bool causal = nc.attrInt("is_causal", 0) != 0;
  bool fused = nc.attrFloat("softcap", 0.0) <= 0 && !nc.outputUsed(3) &&
               !(causal && *past) && (!maskShape || maskShape->back() == keys);
  std::string why;
  std::optional<ArrayRef<int64_t>> fullMask =
      fused ? maskShape : std::optional<ArrayRef<int64_t>>();
  FailureOr<Shape> s =
      attentionShape(shapeOf(q), shapeOf(k), shapeOf(v), fullMask, why);
  if (failed(s))
    return nc.fail(why);
  Value y;
  if (fused) {
    FloatAttr scale;
    if (const onnx::AttributeProto *a = nc.attr("scale"))
      scale = nc.b.getF64FloatAttr(a->f());
    y = AttentionOp::create(nc.b, nc.loc, tensorOf(*s, nc.elem(0)), q, k, v,
                            nc.has(3) ? nc.in(3) : Value(), Value(), scale, causal,
                            /*seq_major=*/nullptr);
  } else if (failed(decomposedAttention(nc, q, k, v, *past, y))) {
    return failure();
  }
  if (nc.rank(0) == 3) {
    y = transpose(nc, y, {0, 2, 1, 3});
    y = reshape(nc, y, {(*s)[0], (*s)[2], (*s)[1] * (*s)[3]});
  }
  nc.set(0, y);
  return success();
}

} // namespace

void mlir::ditc::onnx_import::addNeuralOps(OpTable &t) {
  t["MatMul"] = {importMatMul, 1};
  t["Gemm"] = {importGemm, 1};
  t["Conv"] = {importConv, 1};
  t["Einsum"] = {importEinsum, 12};
  t["Softmax"] = {importSoftmax, 13};
  t["LayerNormalization"] = {importLayerNorm, 17};
  t["GroupNormalization"] = {importGroupNorm, 18};
  t["RMSNormalization"] = {importRmsNorm, 23};
  t["RotaryEmbedding"] = {importRotaryEmbedding, 23};
  t["Attention"] = {importAttention, 23};
}
