//===- LegalizeRuntime.cpp - ops into the forms kernels take --------------===//

#include "lib/Target/Passes.h"
#include "lib/Target/KernelLayout.h"
#include "dialects/Ditc/IR/DitcSharding.h"

#include "dialects/Ditc/IR/DitcShapes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <map>

namespace mlir::ditc {
#define GEN_PASS_DEF_LEGALIZERUNTIMEPASS
#include "lib/Target/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {


/// A small builder of ditc ops that infers result types from shapes.
struct Emitter {
  PatternRewriter &b;
  Location loc;
  Type et;

  RankedTensorType t(ArrayRef<int64_t> s) { return RankedTensorType::get(s, et); }
  Value reshape(Value v, ArrayRef<int64_t> s) {
    if (shapeOf(v) == s)
      return v;
    return ReshapeOp::create(b, loc, t(s), v);
  }
  Value transpose(Value v, ArrayRef<int64_t> perm) {
    if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
      return v;
    Shape s;
    for (int64_t p : perm)
      s.push_back(shapeOf(v)[p]);
    return TransposeOp::create(b, loc, t(s), v, perm);
  }
  Value sliceLast(Value v, int64_t offset, int64_t size) {
    Shape s(shapeOf(v).begin(), shapeOf(v).end()), offs(s.size(), 0),
        steps(s.size(), 1);
    offs.back() = offset;
    s.back() = size;
    return SliceOp::create(b, loc, t(s), v, offs, steps);
  }
  Value concatLast(ValueRange vs) {
    Shape s(shapeOf(vs[0]).begin(), shapeOf(vs[0]).end());
    s.back() = 0;
    for (Value v : vs)
      s.back() += shapeOf(v).back();
    return ConcatOp::create(b, loc, t(s), vs, s.size() - 1);
  }
  Value reduceSum(Value v, ArrayRef<int64_t> axes) {
    if (axes.empty())
      return v;
    std::string why;
    FailureOr<Shape> s = reduceShape(shapeOf(v), axes, false, why);
    return ReduceSumOp::create(b, loc, t(*s), v, axes, false);
  }
};

/// Einsum with one operand: reduce the dropped indices, then transpose.
/// With two: one batched matmul between transposes and reshapes.
struct LowerEinsum : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<int64_t> ranks;
    for (Value v : op.getInputs())
      ranks.push_back(shapeOf(v).size());
    std::string why;
    FailureOr<EinsumSpec> spec = parseEinsum(op.getEquation(), ranks, why);
    if (failed(spec) || op.getInputs().size() > 2)
      return rewriter.notifyMatchFailure(op, "unsupported einsum");
    for (const std::string &term : spec->inputs)
      if (std::set<char>(term.begin(), term.end()).size() != term.size())
        return rewriter.notifyMatchFailure(op, "repeated index in a term");
    Emitter e{rewriter, op.getLoc(), op.getType().getElementType()};
    const std::string &out = spec->output;
    auto has = [](const std::string &s, char c) {
      return s.find(c) != std::string::npos;
    };
    // Sums away the indices of `term` found in neither `other` nor the output.
    auto dropLocal = [&](Value v, std::string &term, const std::string &other) {
      SmallVector<int64_t> axes;
      std::string kept;
      for (auto [i, c] : llvm::enumerate(term)) {
        if (!has(out, c) && !has(other, c))
          axes.push_back(i);
        else
          kept += c;
      }
      term = kept;
      return e.reduceSum(v, axes);
    };
    // Transposes `v` (indices `term`) into the order `want`.
    auto permute = [&](Value v, const std::string &term, const std::string &want) {
      SmallVector<int64_t> perm;
      for (char c : want)
        perm.push_back(term.find(c));
      return e.transpose(v, perm);
    };
    if (op.getInputs().size() == 1) {
      std::string term = spec->inputs[0];
      Value v = dropLocal(op.getInputs()[0], term, "");
      rewriter.replaceOp(op, permute(v, term, out));
      return success();
    }
    std::string ta = spec->inputs[0], tb = spec->inputs[1];
    Value a = dropLocal(op.getInputs()[0], ta, tb);
    Value b = dropLocal(op.getInputs()[1], tb, ta);
    std::string batch, contract, freeA, freeB;
    for (char c : ta) {
      if (has(tb, c))
        (has(out, c) ? batch : contract) += c;
      else
        freeA += c;
    }
    for (char c : tb)
      if (!has(ta, c))
        freeB += c;
    std::map<char, int64_t> sizeA, sizeB;
    for (auto [i, c] : llvm::enumerate(ta))
      sizeA[c] = shapeOf(a)[i];
    for (auto [i, c] : llvm::enumerate(tb))
      sizeB[c] = shapeOf(b)[i];
    auto prod = [](const std::string &s, std::map<char, int64_t> &sz) {
      int64_t p = 1;
      for (char c : s)
        p *= sz[c];
      return p;
    };
    Shape batchA, batchB, batchOut;
    for (char c : batch) {
      batchA.push_back(sizeA[c]);
      batchB.push_back(sizeB[c]);
      batchOut.push_back(std::max(sizeA[c], sizeB[c]));
    }
    int64_t m = prod(freeA, sizeA), k = prod(contract, sizeA),
            n = prod(freeB, sizeB);
    auto with = [](Shape s, std::initializer_list<int64_t> tail) {
      s.append(tail.begin(), tail.end());
      return s;
    };
    a = e.reshape(permute(a, ta, batch + freeA + contract), with(batchA, {m, k}));
    b = e.reshape(permute(b, tb, batch + contract + freeB), with(batchB, {k, n}));
    Value c = MatmulOp::create(rewriter, op.getLoc(), e.t(with(batchOut, {m, n})),
                               a, b);
    Shape full = batchOut;
    for (char ch : freeA)
      full.push_back(sizeA[ch]);
    for (char ch : freeB)
      full.push_back(sizeB[ch]);
    c = e.reshape(c, full);
    rewriter.replaceOp(op, permute(c, batch + freeA + freeB, out));
    return success();
  }
};

/// Gives a norm's scale or bias exactly the normalised shape.
Value fullParam(Emitter &e, Value p, ArrayRef<int64_t> normalized) {
  if (!p || shapeOf(p) == normalized)
    return p;
  if (numElements(shapeOf(p)) == numElements(normalized))
    return e.reshape(p, normalized);
  return BroadcastOp::create(e.b, e.loc, e.t(normalized), p);
}

template <typename NormOp>
struct FullNormParams : OpRewritePattern<NormOp> {
  using OpRewritePattern<NormOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(NormOp op,
                                PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> norm = shapeOf(op.getInput()).drop_front(op.getAxis());
    // The scale and the bias (ODS segments 1 and 2), not a modulation.
    SmallVector<unsigned> params;
    for (unsigned segment = 1; segment <= (std::is_same_v<NormOp, LayerNormOp> ? 2u : 1u); ++segment) {
      auto [idx, len] = op.getODSOperandIndexAndLength(segment);
      for (unsigned i = idx; i < idx + len; ++i)
        params.push_back(i);
    }
    if (llvm::all_of(params, [&](unsigned i) { return shapeOf(op->getOperand(i)) == norm; }))
      return failure();
    Emitter e{rewriter, op.getLoc(), op.getType().getElementType()};
    rewriter.modifyOpInPlace(op, [&] {
      for (unsigned i : params)
        op->setOperand(i, fullParam(e, op->getOperand(i), norm));
    });
    return success();
  }
};

/// conv1d [N, C, L] as conv2d [N, C, 1, L].
struct Conv1dAs2d : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    if (shapeOf(op.getInput()).size() != 3)
      return failure();
    Emitter e{rewriter, op.getLoc(), op.getType().getElementType()};
    ArrayRef<int64_t> x = shapeOf(op.getInput()), w = shapeOf(op.getWeight()),
                      y = shapeOf(op.getResult());
    Value x4 = e.reshape(op.getInput(), {x[0], x[1], 1, x[2]});
    Value w4 = e.reshape(op.getWeight(), {w[0], w[1], 1, w[2]});
    ArrayRef<int64_t> p = op.getPads();
    Value y4 = ConvOp::create(
        rewriter, op.getLoc(), e.t({y[0], y[1], 1, y[2]}), x4, w4, op.getBias(),
        SmallVector<int64_t>{1, op.getStrides()[0]},
        SmallVector<int64_t>{0, p[0], 0, p[1]},
        SmallVector<int64_t>{1, op.getDilations()[0]}, op.getGroup());
    rewriter.replaceOp(op, e.reshape(y4, y));
    return success();
  }
};

/// An N-D convolution (N > 2: the video DiTs' (1, p, p) patch embeddings)
/// as 2-D ones: the leading spatial axes fold into the batch, and there is
/// one 2-D convolution per offset of the leading kernel axes (one in all
/// when those kernels are 1), the terms summed. Leading pads become zero
/// blocks concatenated on; a leading stride or dilation picks the input
/// frames with a strided slice.
struct ConvNdAs2d : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    int64_t r = shapeOf(op.getInput()).size();
    if (r < 5)
      return failure();
    Emitter e{rewriter, op.getLoc(), op.getType().getElementType()};
    Location loc = op.getLoc();
    int64_t k = r - 2, m = k - 2; // spatial axes, leading ones
    Shape w(shapeOf(op.getWeight())), y(shapeOf(op.getResult()));
    ArrayRef<int64_t> s = op.getStrides(), p = op.getPads(), d = op.getDilations();
    Value in = op.getInput();
    for (int64_t j = 0; j < m; ++j) {
      int64_t axis = 2 + j;
      SmallVector<Value> parts;
      for (int64_t pad : {p[j], p[k + j]}) {
        if (!pad) {
          parts.push_back(Value());
          continue;
        }
        Shape zs(shapeOf(in));
        zs[axis] = pad;
        RankedTensorType zt = e.t(zs);
        parts.push_back(ConstantOp::create(
            rewriter, loc, zt, DenseElementsAttr::get(zt, rewriter.getZeroAttr(e.et))));
      }
      if (!parts[0] && !parts[1])
        continue;
      SmallVector<Value> all;
      if (parts[0])
        all.push_back(parts[0]);
      all.push_back(in);
      if (parts[1])
        all.push_back(parts[1]);
      Shape cs(shapeOf(in));
      cs[axis] += p[j] + p[k + j];
      in = ConcatOp::create(rewriter, loc, e.t(cs), all, axis);
    }
    Shape xp(shapeOf(in));
    // [N, C, L..., H, W] -> [N, L..., C, H, W]: the leading axes beside the batch.
    SmallVector<int64_t> fold{0};
    for (int64_t j = 0; j < m; ++j)
      fold.push_back(2 + j);
    fold.append({1, r - 2, r - 1});
    int64_t batch = y[0];
    for (int64_t j = 0; j < m; ++j)
      batch *= y[2 + j];
    int64_t terms = 1;
    for (int64_t j = 0; j < m; ++j)
      terms *= w[2 + j];
    Value sum;
    for (int64_t t = 0; t < terms; ++t) {
      // This term's offset along each leading kernel axis.
      SmallVector<int64_t> at(m);
      for (int64_t j = m - 1, rest = t; j >= 0; --j) {
        at[j] = rest % w[2 + j];
        rest /= w[2 + j];
      }
      Shape xs(xp), xOffs(r, 0), xSteps(r, 1), ws(w), wOffs(r, 0), wSteps(r, 1);
      for (int64_t j = 0; j < m; ++j) {
        xOffs[2 + j] = at[j] * d[j];
        xSteps[2 + j] = s[j];
        xs[2 + j] = y[2 + j];
        wOffs[2 + j] = at[j];
        ws[2 + j] = 1;
      }
      Value xt = xs == xp ? in : SliceOp::create(rewriter, loc, e.t(xs), in, xOffs, xSteps);
      Value x4 = e.reshape(e.transpose(xt, fold), {batch, xp[1], xp[r - 2], xp[r - 1]});
      Value wt = ws == w ? op.getWeight()
                         : SliceOp::create(rewriter, loc, e.t(ws), op.getWeight(), wOffs, wSteps);
      Value w4 = e.reshape(wt, {w[0], w[1], w[r - 2], w[r - 1]});
      Value y4 = ConvOp::create(rewriter, loc, e.t({batch, y[1], y[r - 2], y[r - 1]}), x4, w4,
                                t == 0 ? op.getBias() : Value(),
                                SmallVector<int64_t>{s[k - 2], s[k - 1]},
                                SmallVector<int64_t>{p[k - 2], p[k - 1], p[2 * k - 2], p[2 * k - 1]},
                                SmallVector<int64_t>{d[k - 2], d[k - 1]}, op.getGroup());
      sum = sum ? AddOp::create(rewriter, loc, y4.getType(), sum, y4).getResult() : y4;
    }
    // [N * L'..., M, H', W'] -> [N, L'..., M, H', W'] -> [N, M, L'..., H', W'].
    Shape unfolded{y[0]};
    for (int64_t j = 0; j < m; ++j)
      unfolded.push_back(y[2 + j]);
    unfolded.append({y[1], y[r - 2], y[r - 1]});
    SmallVector<int64_t> back(r);
    for (int64_t i = 0; i < r; ++i)
      back[fold[i]] = i;
    rewriter.replaceOp(op, e.transpose(e.reshape(sum, unfolded), back));
    return success();
  }
};

/// rope(x, cos, sin) = x * cos + rotate(x) * sin on the first W features,
/// for the ropes ditc_rt_rope_f32 cannot take (not f32, or tables that
/// broadcast in a pattern its three row dims cannot express).
struct DecomposeRope : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    if (ropeKernelLayout(op))
      return failure();
    Emitter e{rewriter, op.getLoc(), op.getType().getElementType()};
    Value x = op.getInput();
    int64_t d = shapeOf(x).back(), w = shapeOf(op.getCos()).back(), h = w / 2;
    Value xr = w == d ? x : e.sliceLast(x, 0, w);
    Value rot;
    if (op.getInterleaved()) {
      Shape pairs(shapeOf(xr).begin(), shapeOf(xr).end());
      pairs.back() = h;
      pairs.push_back(2);
      Value v = e.reshape(xr, pairs);
      Value im = e.sliceLast(v, 1, 1), re = e.sliceLast(v, 0, 1);
      Value neg = NegOp::create(rewriter, op.getLoc(), im.getType(), im);
      rot = e.reshape(e.concatLast({neg, re}), shapeOf(xr));
    } else {
      Value lo = e.sliceLast(xr, 0, h), hi = e.sliceLast(xr, h, h);
      Value neg = NegOp::create(rewriter, op.getLoc(), hi.getType(), hi);
      rot = e.concatLast({neg, lo});
    }
    auto rt = typeOf(xr);
    Value a = MulOp::create(rewriter, op.getLoc(), rt, xr, op.getCos());
    Value b = MulOp::create(rewriter, op.getLoc(), rt, rot, op.getSin());
    Value y = AddOp::create(rewriter, op.getLoc(), rt, a, b);
    if (w != d)
      y = e.concatLast({y, e.sliceLast(x, w, d - w)});
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// A GELU or SiLU whose input is a linear layer's product, and its only
/// user, becomes the layer's `activation`: the GEMM applies it to the f32
/// accumulator before storing (cuBLASLt's GELU epilogue, an in-place pass
/// over the rows on the CPU), so the product is never written and read back
/// and needs no buffer of its own. Both must carry the same discardable
/// attributes (stage, schedule, replication), so the fused op keeps the
/// placement each had.
template <typename ActOp>
struct FuseLinearActivation : OpRewritePattern<ActOp> {
  using OpRewritePattern<ActOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(ActOp act, PatternRewriter &rewriter) const override {
    auto linear = act.getInput().template getDefiningOp<LinearOp>();
    if (!linear || linear.getActivationUser() != act.getOperation() ||
        linear->getBlock() != act->getBlock() ||
        linear.getType() != act.getType() ||
        linear->getDiscardableAttrDictionary() != act->getDiscardableAttrDictionary())
      return failure();
    Activation kind = Activation::silu;
    if constexpr (std::is_same_v<ActOp, GeluOp>)
      kind = act.getApproximate() == GeluApproximation::tanh ? Activation::gelu_tanh
                                                            : Activation::gelu;
    rewriter.modifyOpInPlace(linear, [&] {
      linear.setActivationAttr(ActivationAttr::get(rewriter.getContext(), kind));
    });
    rewriter.replaceOp(act, linear.getResult());
    return success();
  }
};

/// layer_norm(x) * s + t, with s and t a modulation (one row of parameters
/// per group of rows, a DiT's adaLN: [B, 1, C] for x [B, N, C]) ->
/// layer_norm(x) mod_scale s mod_shift t. The mul (and the add, when it is
/// the mul's only user) must be the norm's only user, in its block, with
/// its discardable attributes (stage, schedule, replication).
struct FuseNormModulation : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp ln,
                                PatternRewriter &rewriter) const override {
    LayerNormOp::Modulation mod = ln.getModulation();
    if (!mod.mul)
      return failure();
    Operation *last = mod.add ? mod.add : mod.mul;
    rewriter.setInsertionPoint(last);
    auto fused = LayerNormOp::create(rewriter, ln.getLoc(), ln.getType(), ln.getInput(),
                                     ln.getScale(), ln.getBias(), mod.scale, mod.shift,
                                     ln.getAxisAttr(), ln.getEpsilonAttr(), FloatAttr());
    fused->setDiscardableAttrs(ln->getDiscardableAttrDictionary());
    rewriter.replaceOp(last, fused.getResult());
    if (mod.add)
      rewriter.eraseOp(mod.mul);
    rewriter.eraseOp(ln);
    return success();
  }
};

/// layer_norm(x) mod_scale (s + c) -> layer_norm(x) mod_scale s
/// {mod_scale_offset = c} for a splat constant c, when the add does not
/// broadcast s and every user of it, in its block, is a norm's mod_scale:
/// PixArt's and DiT's norm(x) * (1 + scale) + shift, whose scale the kernel
/// then reads where the adaLN projection wrote it. Also through reshapes
/// between the add and the norms (SD3's (1 + scale)[:, None, :]), which
/// then reshape s. PipeFusion's patches share one add among their norms:
/// all of them fold it, so that every patch rounds alike.
struct FoldModScaleOffset : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  static std::optional<double> splatOf(Value v) {
    auto c = v.getDefiningOp<ConstantOp>();
    auto dense = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : nullptr;
    if (!dense || !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
      return std::nullopt;
    return dense.getSplatValue<APFloat>().convertToDouble();
  }
  /// Whether `use` is the mod_scale (and only that) of a norm in `block`.
  static bool isModScale(OpOperand &use, Block *block) {
    Value v = use.get();
    auto ln = dyn_cast<LayerNormOp>(use.getOwner());
    return ln && ln->getBlock() == block && ln.getModScale() == v && ln.getInput() != v &&
           ln.getScale() != v && ln.getBias() != v && ln.getModShift() != v;
  }
  static bool onlyModScales(Value v, Block *block) {
    return !v.use_empty() &&
           llvm::all_of(v.getUses(), [&](OpOperand &use) { return isModScale(use, block); });
  }
  LogicalResult matchAndRewrite(LayerNormOp ln, PatternRewriter &rewriter) const override {
    Value m = ln.getModScale();
    if (!m)
      return failure();
    auto reshape = m.getDefiningOp<ReshapeOp>();
    Value sum = reshape ? reshape.getInput() : m;
    auto add = sum.getDefiningOp<AddOp>();
    if (!add || add->getBlock() != ln->getBlock())
      return failure();
    Block *block = add->getBlock();
    SmallVector<ReshapeOp> reshapes;
    for (OpOperand &use : sum.getUses()) {
      if (auto r = dyn_cast<ReshapeOp>(use.getOwner())) {
        if (r->getBlock() != block || !onlyModScales(r.getResult(), block))
          return failure();
        reshapes.push_back(r);
      } else if (!isModScale(use, block)) {
        return failure();
      }
    }
    for (unsigned k = 0; k < 2; ++k) {
      std::optional<double> c = splatOf(add->getOperand(1 - k));
      Value s = add->getOperand(k);
      if (!c || s.getType() != sum.getType())
        continue;
      auto fold = [&](Value from, Value to) {
        for (OpOperand &use : llvm::make_early_inc_range(from.getUses())) {
          auto user = cast<LayerNormOp>(use.getOwner());
          double before =
              user.getModScaleOffset() ? user.getModScaleOffset()->convertToDouble() : 0.0;
          rewriter.modifyOpInPlace(user, [&] {
            user.getModScaleMutable().assign(to);
            user.setModScaleOffsetAttr(rewriter.getF64FloatAttr(before + *c));
          });
        }
      };
      for (ReshapeOp r : reshapes) {
        rewriter.setInsertionPoint(r);
        auto now = ReshapeOp::create(rewriter, r.getLoc(), r.getType(), s);
        now->setDiscardableAttrs(r->getDiscardableAttrDictionary());
        fold(r.getResult(), now.getResult());
        rewriter.eraseOp(r);
      }
      fold(sum, s);
      rewriter.eraseOp(add);
      return success();
    }
    return failure();
  }
};

/// add(mul(a, b), c) -> mul_add(a, b, c) when the mul is the add's operand
/// alone, in its block, with its discardable attributes: a DiT's gated
/// residual x + gate * y in one pass. A norm's adaLN scale is left to
/// FuseNormModulation, which folds the add as well.
struct FuseMulAdd : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  static bool modulatesNorm(MulOp mul) {
    for (Value v : mul->getOperands())
      if (auto ln = v.getDefiningOp<LayerNormOp>(); ln && ln.getModulation().mul == mul)
        return true;
    return false;
  }
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    if (!isa<FloatType>(add.getType().getElementType()))
      return failure();
    for (unsigned k = 0; k < 2; ++k) {
      auto mul = add->getOperand(k).getDefiningOp<MulOp>();
      if (!mul || !mul->hasOneUse() || mul->getBlock() != add->getBlock() ||
          mul->getDiscardableAttrDictionary() != add->getDiscardableAttrDictionary() ||
          modulatesNorm(mul))
        continue;
      auto fused = rewriter.replaceOpWithNewOp<MulAddOp>(
          add, add.getType(), mul.getLhs(), mul.getRhs(), add->getOperand(1 - k));
      fused->setDiscardableAttrs(mul->getDiscardableAttrDictionary());
      rewriter.eraseOp(mul);
      return success();
    }
    return failure();
  }
};

/// [B, S, H, D] <-> [B, H, S, D].
constexpr int64_t kHeadSwap[] = {0, 2, 1, 3};

/// Whether `t` swaps the heads and the sequence ([0, 2, 1, 3]).
bool swapsHeads(TransposeOp t) {
  return t && t.getPermutation() == ArrayRef<int64_t>(kHeadSwap);
}

/// The discardable attributes that say where and when an op runs (stage,
/// schedule): all but those describing its value (ditc.replicated: every
/// rank computes it; ditc.token_pieces: the streams a concat joins).
SmallVector<NamedAttribute> placement(Operation *op) {
  SmallVector<NamedAttribute> p;
  for (NamedAttribute a : op->getDiscardableAttrs())
    if (a.getName() != kReplicatedAttr && a.getName() != kTokenPiecesAttr)
      p.push_back(a);
  return p;
}

/// Whether `a` and `b` run together: in one block, with one placement.
bool samePlace(Operation *a, Operation *b) {
  return a->getBlock() == b->getBlock() && placement(a) == placement(b);
}

/// transpose(x, [0, 2, 1, 3]) into a ditc.attention's or a
/// ditc.ring_attention's query, key or value, and out of its result: the
/// op takes x as it is ([B, S, H, D], a linear layer's heads) and marks it
/// `seq_major`, and the result is written where the transpose would have
/// put it, so neither transpose is made (a ring's K/V blocks then travel
/// seq-major). A transpose moves only when the attention is its only user
/// (or it is the result's only user), in the same block, with the same
/// placement (stage, schedule: the discardable attributes but those of
/// placement()).
template <class Attention>
struct FuseAttentionLayout : OpRewritePattern<Attention> {
  using OpRewritePattern<Attention>::OpRewritePattern;
  LogicalResult matchAndRewrite(Attention op, PatternRewriter &rewriter) const override {
    SmallVector<bool, 4> seq(4, false);
    for (unsigned t = 0; t < 4; ++t)
      seq[t] = op.isSeqMajor(AttentionOp::Tensor(t));
    SmallVector<std::pair<unsigned, Value>> operands;
    for (unsigned t = AttentionOp::kQuery; t <= AttentionOp::kValue; ++t) {
      auto tr = op->getOperand(t).template getDefiningOp<TransposeOp>();
      if (seq[t] || !swapsHeads(tr) || !samePlace(tr, op) ||
          llvm::any_of(tr->getUsers(), [&](Operation *u) { return u != op; }))
        continue;
      operands.push_back({t, tr.getInput()});
      seq[t] = true;
    }
    TransposeOp out;
    if (!seq[AttentionOp::kResult] && op->hasOneUse()) {
      out = dyn_cast<TransposeOp>(*op->user_begin());
      if (swapsHeads(out) && samePlace(out, op))
        seq[AttentionOp::kResult] = true;
      else
        out = nullptr;
    }
    if (operands.empty() && !out)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      for (auto [t, x] : operands)
        op->setOperand(t, x);
      op.setSeqMajor(seq);
      if (out)
        op.getResult().setType(out.getType());
    });
    if (out)
      rewriter.replaceOp(out, op.getResult());
    return success();
  }
};

/// concat(transpose(a, P), transpose(b, P), ..., axis) ->
/// transpose(concat(a, b, ..., P[axis]), P) for P = [0, 2, 1, 3]: a joint
/// attention's token streams (SD3), each split into heads and transposed,
/// are joined before one transpose, which FuseAttentionLayout then folds
/// into the attention. The same bytes move (each part once); every
/// transpose must be the concat's alone, in its block and placement.
struct HoistHeadsOverConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp cat, PatternRewriter &rewriter) const override {
    SmallVector<Value> parts;
    for (Value in : cat.getInputs()) {
      auto tr = in.getDefiningOp<TransposeOp>();
      if (!swapsHeads(tr) || !tr->hasOneUse() ||
          !samePlace(tr, cat))
        return failure();
      parts.push_back(tr.getInput());
    }
    ArrayRef<int64_t> perm = kHeadSwap;
    int64_t axis = perm[cat.getAxis()];
    SmallVector<int64_t> shape(shapeOf(cat.getResult()));
    SmallVector<int64_t> joined(4);
    for (int64_t d = 0; d < 4; ++d)
      joined[perm[d]] = shape[d];
    auto type = RankedTensorType::get(joined, cat.getType().getElementType());
    auto inner = ConcatOp::create(rewriter, cat.getLoc(), type, parts,
                                  rewriter.getI64IntegerAttr(axis));
    inner->setDiscardableAttrs(cat->getDiscardableAttrDictionary());
    auto tr = TransposeOp::create(rewriter, cat.getLoc(), cat.getType(), inner.getResult(),
                                  rewriter.getDenseI64ArrayAttr(perm));
    // The concat's attributes, but the pieces it joins.
    for (NamedAttribute a : cat->getDiscardableAttrs())
      if (a.getName() != kTokenPiecesAttr)
        tr->setAttr(a.getName(), a.getValue());
    rewriter.replaceOp(cat, tr.getResult());
    return success();
  }
};

/// Whether every user of op's result is an attention or a ring attention
/// (or, when `overExchange`, an all_to_all whose every user is one:
/// Ulysses between a rope and its attention).
bool feedsAttention(Operation *op, bool overExchange) {
  return !op->use_empty() && llvm::all_of(op->getUsers(), [&](Operation *u) {
    return isa<AttentionOp, RingAttentionOp>(u) ||
           (overExchange && isa<AllToAllOp>(u) && feedsAttention(u, false));
  });
}

/// The shape `x` has when transpose(x, kHeadSwap) has `shape` (the swap is
/// its own inverse).
SmallVector<int64_t> swappedHeads(ArrayRef<int64_t> shape) {
  return {shape[0], shape[2], shape[1], shape[3]};
}

/// Ulysses around an attention (-ditc-partition): each of q, k and v is
/// split into heads, transposed, then exchanged (all_to_all: heads split,
/// tokens gathered), and the result goes back the same way. The head
/// transposes move across the all_to_all, to the attention's side, where
/// FuseAttentionLayout folds them in:
///   all_to_all(transpose(x), split s, concat c) -> transpose(all_to_all(x,
///   split P[s], concat P[c])) when every user of the all_to_all is an
///   attention, and
///   transpose(all_to_all(y, s, c)) -> all_to_all(transpose(y), P[s], P[c])
///   when y is an attention's result whose only user is the all_to_all.
/// The exchange moves the same bytes either way. Only towards an attention,
/// so the two never undo each other.
struct MoveHeadsAcrossAllToAll : RewritePattern {
  MoveHeadsAcrossAllToAll(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rewriter) const override {
    if (auto a2a = dyn_cast<AllToAllOp>(op)) {
      auto tr = a2a.getInput().getDefiningOp<TransposeOp>();
      if (!swapsHeads(tr) || !tr->hasOneUse() ||
          !samePlace(tr, a2a) || !feedsAttention(a2a, false))
        return failure();
      auto moved = exchange(rewriter, a2a, tr.getInput());
      auto back = TransposeOp::create(rewriter, a2a.getLoc(), a2a.getType(), moved.getResult(),
                                      rewriter.getDenseI64ArrayAttr(kHeadSwap));
      back->setDiscardableAttrs(tr->getDiscardableAttrDictionary());
      rewriter.replaceOp(a2a, back.getResult());
      rewriter.eraseOp(tr);
      return success();
    }
    auto tr = dyn_cast<TransposeOp>(op);
    if (!swapsHeads(tr))
      return failure();
    auto a2a = tr.getInput().getDefiningOp<AllToAllOp>();
    if (!a2a || !a2a->hasOneUse() || !samePlace(tr, a2a))
      return failure();
    Operation *attn = a2a.getInput().getDefiningOp();
    if (!isa_and_nonnull<AttentionOp, RingAttentionOp>(attn) || !attn->hasOneUse())
      return failure();
    rewriter.setInsertionPoint(a2a);
    auto first = TransposeOp::create(
        rewriter, tr.getLoc(),
        RankedTensorType::get(swappedHeads(shapeOf(a2a.getInput())),
                              tr.getType().getElementType()),
        a2a.getInput(), rewriter.getDenseI64ArrayAttr(kHeadSwap));
    first->setDiscardableAttrs(tr->getDiscardableAttrDictionary());
    auto moved = exchange(rewriter, a2a, first.getResult());
    rewriter.replaceOp(tr, moved.getResult());
    rewriter.eraseOp(a2a);
    return success();
  }
  /// a2a's exchange of `x`, the head-swapped form of its input.
  static AllToAllOp exchange(PatternRewriter &rewriter, AllToAllOp a2a, Value x) {
    auto type = RankedTensorType::get(swappedHeads(shapeOf(a2a.getResult())),
                                      a2a.getType().getElementType());
    auto moved = AllToAllOp::create(
        rewriter, a2a.getLoc(), type, x,
        rewriter.getI64IntegerAttr(kHeadSwap[a2a.getSplitAxis()]),
        rewriter.getI64IntegerAttr(kHeadSwap[a2a.getConcatAxis()]), a2a.getAxesAttr());
    moved->setDiscardableAttrs(a2a->getDiscardableAttrDictionary());
    return moved;
  }
};

/// rope(transpose(x), cos, sin) -> transpose(rope(x, cos', sin')) for a
/// head transpose whose only user is the rope, when every user of the rope
/// is an attention, or a Ulysses all_to_all into one (Llama's query and
/// key: split into heads, transposed, rotated): the transpose then meets
/// the attention (MoveHeadsAcrossAllToAll brings it there), which takes it
/// in.
/// The tables must not vary over the heads; cos' and sin' are their
/// reshape from [.., 1, S, W] to [.., S, 1, W] (a view). Before
/// DecomposeRope (benefit 2): the rope of x is kept or decomposed as any.
struct SinkHeadsUnderRope : OpRewritePattern<RopeOp> {
  SinkHeadsUnderRope(MLIRContext *ctx) : OpRewritePattern(ctx, /*benefit=*/2) {}
  LogicalResult matchAndRewrite(RopeOp rope, PatternRewriter &rewriter) const override {
    auto tr = rope.getInput().getDefiningOp<TransposeOp>();
    if (!swapsHeads(tr) || !tr->hasOneUse() ||
        !samePlace(tr, rope) || !feedsAttention(rope, true))
      return failure();
    ArrayRef<int64_t> c = shapeOf(rope.getCos());
    SmallVector<int64_t> c4(4 - c.size(), 1);
    c4.append(c.begin(), c.end());
    if (c4[1] != 1)
      return failure();
    Emitter e{rewriter, rope.getLoc(), rope.getType().getElementType()};
    SmallVector<int64_t> moved{c4[0], c4[2], 1, c4[3]};
    Value x = tr.getInput();
    Value cos = e.reshape(rope.getCos(), moved);
    Value sin = e.reshape(rope.getSin(), moved);
    auto inner = RopeOp::create(rewriter, rope.getLoc(), x.getType(), x, cos, sin,
                                rope.getInterleavedAttr());
    inner->setDiscardableAttrs(rope->getDiscardableAttrDictionary());
    auto back = TransposeOp::create(rewriter, rope.getLoc(), rope.getType(), inner.getResult(),
                                    rewriter.getDenseI64ArrayAttr(kHeadSwap));
    back->setDiscardableAttrs(tr->getDiscardableAttrDictionary());
    rewriter.replaceOp(rope, back.getResult());
    rewriter.eraseOp(tr);
    return success();
  }
};

/// The CPU kernels compute in f32: f64 values (exporters compute rotary
/// tables in double) are computed in f32 instead, with a warning. Casts
/// between f32 and f64 disappear; f64 constants are rounded.
void demoteF64(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  // Graph inputs and outputs keep their types: then f64 stays and code
  // generation says which op has no f64 kernel.
  if (auto main = module.lookupSymbol<func::FuncOp>("main"))
    for (Type t : llvm::concat<const Type>(main.getArgumentTypes(),
                                           main.getResultTypes()))
      if (cast<RankedTensorType>(t).getElementType().isF64())
        return;
  auto f32 = Float32Type::get(ctx);
  auto demote = [&](Type t) -> Type {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt || !rt.getElementType().isF64())
      return t;
    return RankedTensorType::get(rt.getShape(), f32);
  };
  bool warned = false;
  SmallVector<Operation *> dead;
  module.walk([&](Operation *op) {
    if (!op->getDialect() || op->getDialect()->getNamespace() != "ditc" ||
        isa<WeightOp>(op))
      return;
    bool changed = false;
    for (Value r : op->getResults())
      if (Type t = demote(r.getType()); t != r.getType()) {
        r.setType(t);
        changed = true;
      }
    if (auto c = dyn_cast<ConstantOp>(op); c && changed) {
      auto dense = cast<DenseElementsAttr>(c.getValue());
      SmallVector<float> values;
      for (APFloat v : dense.getValues<APFloat>())
        values.push_back((float)v.convertToDouble());
      c.setValueAttr(DenseElementsAttr::get(cast<ShapedType>(c.getType()),
                                            ArrayRef<float>(values)));
    }
    if (auto cast = dyn_cast<CastOp>(op);
        cast && cast.getInput().getType() == cast.getType()) {
      cast.getResult().replaceAllUsesWith(cast.getInput());
      dead.push_back(op);
    }
    if (changed && !warned) {
      op->emitWarning("f64 arithmetic runs in f32 on the CPU runtime");
      warned = true;
    }
  });
  for (Operation *op : dead)
    op->erase();
}

struct LegalizeRuntimePass
    : ditc::impl::LegalizeRuntimePassBase<LegalizeRuntimePass> {
  void runOnOperation() override {
    demoteF64(getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerEinsum, FullNormParams<LayerNormOp>,
                 FullNormParams<RmsNormOp>, Conv1dAs2d, ConvNdAs2d, DecomposeRope,
                 FuseLinearActivation<GeluOp>, FuseLinearActivation<SiluOp>,
                 FuseNormModulation, FoldModScaleOffset, FuseMulAdd, FuseAttentionLayout<AttentionOp>,
                 FuseAttentionLayout<RingAttentionOp>, HoistHeadsOverConcat,
                 MoveHeadsAcrossAllToAll, SinkHeadsUnderRope>(
        &getContext());
    // Local rewrites: no block becomes dead or mergeable, so the region
    // simplification (a whole walk of every region) is left out.
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
