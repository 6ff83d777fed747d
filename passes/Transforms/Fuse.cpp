//===- Fuse.cpp - recognise semantic ops in exporter output ---------------===//
//
// The TorchScript and dynamo exporters decompose attention, norms and
// activations into elementwise arithmetic. These patterns find them again:
// the planner needs `ditc.attention` to place sequence parallelism, and the
// runtime has fused kernels for all of them. Each pattern checks shapes and
// constants exactly, so a rewrite never changes what the graph computes.
//
//===----------------------------------------------------------------------===//

#include "passes/Transforms/Passes.h"

#include "dialects/Ditc/IR/DitcShapes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <cmath>

namespace mlir::ditc {
#define GEN_PASS_DEF_FUSEPASS
#include "passes/Transforms/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//


/// The value of a constant holding one number (any shape of one element, or
/// a splat).
std::optional<double> scalarOf(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  if (isa<FloatType>(attr.getElementType()))
    return attr.getSplatValue<APFloat>().convertToDouble();
  if (isa<IntegerType>(attr.getElementType()) &&
      !attr.getElementType().isInteger(1))
    return (double)attr.getSplatValue<APInt>().getSExtValue();
  return std::nullopt;
}

bool near(double a, double b, double rel = 1e-4) {
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b));
}

/// Values that do not depend on graph inputs: weights and constants.
bool isParameter(Value v) {
  Operation *def = v.getDefiningOp();
  return def && (isa<WeightOp>(def) || def->hasTrait<OpTrait::ConstantLike>());
}

/// A product `coefficient * f0 * f1 * ...` read through nested single-use
/// multiplications and divisions by constants.
struct Product {
  double coefficient = 1.0;
  SmallVector<Value> factors;
};

void collectProduct(Value v, Product &p, bool root) {
  Operation *def = v.getDefiningOp();
  if (std::optional<double> c = scalarOf(v)) {
    p.coefficient *= *c;
    return;
  }
  if (def && (root || v.hasOneUse())) {
    if (auto mul = dyn_cast<MulOp>(def)) {
      collectProduct(mul.getLhs(), p, false);
      collectProduct(mul.getRhs(), p, false);
      return;
    }
    if (auto div = dyn_cast<DivOp>(def))
      if (std::optional<double> c = scalarOf(div.getRhs()); c && *c != 0.0) {
        collectProduct(div.getLhs(), p, false);
        p.coefficient /= *c;
        return;
      }
  }
  p.factors.push_back(v);
}

Product productOf(Value v) {
  Product p;
  collectProduct(v, p, true);
  return p;
}

/// `a + c` (either order) with c a scalar constant: returns a and sets c.
Value addendOf(Value v, double &c) {
  auto add = v.getDefiningOp<AddOp>();
  if (!add)
    return {};
  if (std::optional<double> k = scalarOf(add.getRhs())) {
    c = *k;
    return add.getLhs();
  }
  if (std::optional<double> k = scalarOf(add.getLhs())) {
    c = *k;
    return add.getRhs();
  }
  return {};
}

/// Whether `v` is x*x (a mul of x by itself, or pow(x, 2)); sets x.
bool isSquare(Value v, Value &x) {
  if (auto pow = v.getDefiningOp<PowOp>()) {
    std::optional<double> e = scalarOf(pow.getRhs());
    if (e && *e == 2.0) {
      x = pow.getLhs();
      return true;
    }
  }
  if (auto mul = v.getDefiningOp<MulOp>())
    if (mul.getLhs() == mul.getRhs()) {
      x = mul.getLhs();
      return true;
    }
  return false;
}

/// The power of x that the factors multiply to (x, x*x, pow(x, n)), or -1.
int powerOf(ArrayRef<Value> factors, Value x) {
  int count = 0;
  for (Value f : factors) {
    Value inner;
    if (f == x) {
      ++count;
    } else if (isSquare(f, inner) && inner == x) {
      count += 2;
    } else if (auto pow = f.getDefiningOp<PowOp>()) {
      std::optional<double> e = scalarOf(pow.getRhs());
      if (pow.getLhs() != x || !e || *e != std::floor(*e) || *e < 1)
        return -1;
      count += (int)*e;
    } else if (auto mul = f.getDefiningOp<MulOp>()) {
      int a = powerOf({mul.getLhs()}, x), b = powerOf({mul.getRhs()}, x);
      if (a < 0 || b < 0)
        return -1;
      count += a + b;
    } else {
      return -1;
    }
  }
  return count;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

/// 0.5 * x * (1 + erf(x / sqrt 2)) and
/// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) -> gelu.
struct FuseGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    Product p = productOf(op.getResult());
    if (!near(p.coefficient, 0.5) || p.factors.size() != 2)
      return failure();
    for (int swap = 0; swap < 2; ++swap) {
      Value x = p.factors[swap], onePlus = p.factors[1 - swap];
      if (typeOf(x) != op.getType())
        continue;
      double one = 0;
      Value inner = addendOf(onePlus, one);
      if (!inner || one != 1.0 || !inner.hasOneUse())
        continue;
      if (auto erf = inner.getDefiningOp<ErfOp>()) {
        Product arg = productOf(erf.getInput());
        if (arg.factors.size() == 1 && arg.factors[0] == x &&
            near(arg.coefficient, M_SQRT1_2)) {
          rewriter.replaceOpWithNewOp<GeluOp>(op, op.getType(), x,
                                              GeluApproximation::none);
          return success();
        }
      }
      if (auto tanh = inner.getDefiningOp<TanhOp>()) {
        Product arg = productOf(tanh.getInput());
        if (arg.factors.size() != 1 || !near(arg.coefficient, std::sqrt(2 / M_PI)))
          continue;
        auto sum = arg.factors[0].getDefiningOp<AddOp>();
        if (!sum)
          continue;
        for (int s = 0; s < 2; ++s) {
          Value lin = s ? sum.getRhs() : sum.getLhs();
          Value cubic = s ? sum.getLhs() : sum.getRhs();
          Product c = productOf(cubic);
          if (lin != x || !near(c.coefficient, 0.044715) ||
              powerOf(c.factors, x) != 3)
            continue;
          rewriter.replaceOpWithNewOp<GeluOp>(op, op.getType(), x,
                                              GeluApproximation::tanh);
          return success();
        }
      }
    }
    return failure();
  }
};

/// x * sigmoid(x) -> silu.
struct FuseSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (int s = 0; s < 2; ++s) {
      Value x = s ? op.getRhs() : op.getLhs();
      auto sig = (s ? op.getLhs() : op.getRhs()).getDefiningOp<SigmoidOp>();
      if (sig && sig.getInput() == x && typeOf(x) == op.getType()) {
        rewriter.replaceOpWithNewOp<SiluOp>(op, op.getType(), x);
        return success();
      }
    }
    return failure();
  }
};

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

/// The reduction covers exactly the trailing axes [axis, rank) with kept dims.
std::optional<int64_t> trailingAxis(ReduceMeanOp op) {
  int64_t rank = shapeOf(op.getInput()).size();
  ArrayRef<int64_t> axes = op.getAxes();
  if (!op.getKeepDims() || axes.empty() || axes.back() != rank - 1)
    return std::nullopt;
  for (size_t k = 1; k < axes.size(); ++k)
    if (axes[k] != axes[k - 1] + 1)
      return std::nullopt;
  return axes.front();
}

/// Matches sqrt(mean(d^2) + eps) and returns d, the axis and eps.
bool matchRootMeanSquare(Value v, Value &d, int64_t &axis, double &eps) {
  auto sqrt = v.getDefiningOp<SqrtOp>();
  if (!sqrt)
    return false;
  Value mean = addendOf(sqrt.getInput(), eps);
  auto reduce = mean ? mean.getDefiningOp<ReduceMeanOp>() : ReduceMeanOp();
  if (!reduce || eps < 0)
    return false;
  std::optional<int64_t> a = trailingAxis(reduce);
  if (!a || !isSquare(reduce.getInput(), d))
    return false;
  axis = *a;
  return true;
}

/// y = d / sqrt(mean(d^2) + eps) in its forms: d / s, d * (1 / s),
/// d * reciprocal(s). Returns d, axis and eps.
bool matchNormalized(Value y, Value &d, int64_t &axis, double &eps) {
  Value num, den;
  if (auto div = y.getDefiningOp<DivOp>()) {
    num = div.getLhs();
    den = div.getRhs();
  } else if (auto mul = y.getDefiningOp<MulOp>()) {
    for (int s = 0; s < 2 && !den; ++s) {
      Value other = s ? mul.getLhs() : mul.getRhs();
      if (auto rec = other.getDefiningOp<ReciprocalOp>()) {
        den = rec.getInput();
      } else if (auto inv = other.getDefiningOp<DivOp>()) {
        std::optional<double> one = scalarOf(inv.getLhs());
        if (one && *one == 1.0)
          den = inv.getRhs();
      }
      if (den)
        num = s ? mul.getRhs() : mul.getLhs();
    }
  }
  if (!den || !matchRootMeanSquare(den, d, axis, eps) || d != num)
    return false;
  return typeOf(num) == typeOf(y);
}

/// The rms_norm and layer_norm decompositions.
struct FuseNorm : RewritePattern {
  FuseNorm(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa<DivOp, MulOp>(op))
      return failure();
    Value y = op->getResult(0), d;
    int64_t axis;
    double eps;
    if (!matchNormalized(y, d, axis, eps))
      return failure();
    FloatAttr epsAttr = rewriter.getF64FloatAttr(eps);
    // Layer norm when d = x - mean(x) over the same axes.
    if (auto sub = d.getDefiningOp<SubOp>()) {
      auto mean = sub.getRhs().getDefiningOp<ReduceMeanOp>();
      if (mean && mean.getInput() == sub.getLhs() && trailingAxis(mean) == axis &&
          typeOf(sub.getLhs()) == typeOf(y)) {
        rewriter.replaceOpWithNewOp<LayerNormOp>(
            op, typeOf(y), sub.getLhs(), Value(), Value(),
            rewriter.getI64IntegerAttr(axis), epsAttr);
        return success();
      }
    }
    rewriter.replaceOpWithNewOp<RmsNormOp>(
        op, typeOf(y), d, Value(), rewriter.getI64IntegerAttr(axis), epsAttr);
    return success();
  }
};

/// Whether `p` is a parameter that can serve as a norm's scale or bias.
bool fitsNorm(Value p, Value normInput, int64_t axis) {
  return isParameter(p) &&
         typeOf(p).getElementType() == typeOf(normInput).getElementType() &&
         broadcastsTo(shapeOf(p), shapeOf(normInput).drop_front(axis));
}

/// norm(x) * w -> norm(x) scale w;  layer_norm(x) scale w + b -> ... bias b.
struct FoldNormAffine : RewritePattern {
  FoldNormAffine(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa<MulOp, AddOp>(op))
      return failure();
    bool isMul = isa<MulOp>(op);
    for (int s = 0; s < 2; ++s) {
      Value normVal = op->getOperand(s), p = op->getOperand(1 - s);
      if (!normVal.hasOneUse() || normVal.getType() != op->getResult(0).getType())
        continue;
      if (auto rms = normVal.getDefiningOp<RmsNormOp>()) {
        if (!isMul || rms.getScale() || !fitsNorm(p, rms.getInput(), rms.getAxis()))
          continue;
        rewriter.replaceOpWithNewOp<RmsNormOp>(op, rms.getType(), rms.getInput(),
                                               p, rms.getAxisAttr(),
                                               rms.getEpsilonAttr());
        return success();
      }
      if (auto ln = normVal.getDefiningOp<LayerNormOp>()) {
        if (!fitsNorm(p, ln.getInput(), ln.getAxis()) || ln.getBias() ||
            (isMul && ln.getScale()))
          continue;
        rewriter.replaceOpWithNewOp<LayerNormOp>(
            op, ln.getType(), ln.getInput(), isMul ? p : ln.getScale(),
            isMul ? Value() : p, ln.getAxisAttr(), ln.getEpsilonAttr());
        return success();
      }
    }
    return failure();
  }
};

//===----------------------------------------------------------------------===//
// Linear
//===----------------------------------------------------------------------===//

/// matmul(x, W) with a 2-D parameter W (or W^T) -> linear.
struct FuseLinear : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    Value w = op.getRhs();
    bool transposed = false;
    if (auto t = w.getDefiningOp<TransposeOp>())
      if (isParameter(t.getInput()) && shapeOf(w).size() == 2) {
        w = t.getInput();
        transposed = true;
      }
    if (!isParameter(w) || shapeOf(w).size() != 2 ||
        !isa<FloatType>(typeOf(w).getElementType()))
      return failure();
    ArrayRef<int64_t> x = shapeOf(op.getLhs());
    if (x.size() < 2 || shapeOf(op.getResult()).size() != x.size())
      return failure();
    rewriter.replaceOpWithNewOp<LinearOp>(op, op.getType(), op.getLhs(), w,
                                          Value(), transposed);
    return success();
  }
};

/// linear(x, W) + b with a parameter b of shape [N] -> linear with bias.
struct FuseLinearBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (int s = 0; s < 2; ++s) {
      auto lin = (s ? op.getRhs() : op.getLhs()).getDefiningOp<LinearOp>();
      Value b = s ? op.getLhs() : op.getRhs();
      if (!lin || lin.getBias() || !lin->hasOneUse() ||
          lin.getType() != op.getType() || !isParameter(b) ||
          shapeOf(b) != ArrayRef<int64_t>{shapeOf(lin.getResult()).back()})
        continue;
      rewriter.replaceOpWithNewOp<LinearOp>(op, op.getType(), lin.getInput(),
                                            lin.getWeight(), b,
                                            lin.getTransposeWeight());
      return success();
    }
    return failure();
  }
};

//===----------------------------------------------------------------------===//
// Rotary embeddings
//===----------------------------------------------------------------------===//

Value throughReshapes(Value v) {
  while (auto r = v.getDefiningOp<ReshapeOp>())
    v = r.getInput();
  return v;
}

/// Whether `v` is `src[..., offset : offset + size]` (a unit-step slice or a
/// split piece along the last axis only).
bool lastAxisPiece(Value v, Value &src, int64_t &offset) {
  ArrayRef<int64_t> out = shapeOf(v);
  if (auto slice = v.getDefiningOp<SliceOp>()) {
    ArrayRef<int64_t> in = shapeOf(slice.getInput());
    size_t n = in.size();
    if (n == 0 || in.drop_back() != out.drop_back())
      return false;
    for (size_t k = 0; k < n; ++k)
      if (slice.getSteps()[k] != 1 || (k + 1 < n && slice.getOffsets()[k] != 0))
        return false;
    src = slice.getInput();
    offset = slice.getOffsets().back();
    return true;
  }
  if (auto split = v.getDefiningOp<SplitOp>()) {
    int64_t axis = split.getAxis();
    if (axis != (int64_t)out.size() - 1)
      return false;
    offset = 0;
    for (Value r : split.getResults()) {
      if (r == v)
        break;
      offset += shapeOf(r).back();
    }
    src = split.getInput();
    return true;
  }
  return false;
}

/// rotate_half(x) = concat(-x[..., R:], x[..., :R]) with D = 2R; returns x.
Value matchRotateHalf(Value rot) {
  auto cat = rot.getDefiningOp<ConcatOp>();
  if (!cat || cat.getInputs().size() != 2 ||
      cat.getAxis() != (int64_t)shapeOf(rot).size() - 1)
    return {};
  auto neg = cat.getInputs()[0].getDefiningOp<NegOp>();
  Value hiSrc, loSrc;
  int64_t hiOff, loOff;
  if (!neg || !lastAxisPiece(neg.getInput(), hiSrc, hiOff) ||
      !lastAxisPiece(cat.getInputs()[1], loSrc, loOff) || hiSrc != loSrc)
    return {};
  int64_t d = shapeOf(hiSrc).back(), r = shapeOf(neg.getInput()).back();
  if (2 * r != d || hiOff != r || loOff != 0 ||
      shapeOf(cat.getInputs()[1]).back() != r || typeOf(hiSrc) != typeOf(rot))
    return {};
  return hiSrc;
}

/// The interleaved rotation stack((-x[..., 1::2], x[..., 0::2]), -1) written
/// through a [..., D/2, 2] view of x; returns x.
Value matchRotateInterleaved(Value rot) {
  auto cat = throughReshapes(rot).getDefiningOp<ConcatOp>();
  if (!cat || cat.getInputs().size() != 2)
    return {};
  ArrayRef<int64_t> pairs = shapeOf(cat.getResult());
  if (pairs.size() < 2 || pairs.back() != 2 ||
      cat.getAxis() != (int64_t)pairs.size() - 1)
    return {};
  auto neg = throughReshapes(cat.getInputs()[0]).getDefiningOp<NegOp>();
  Value imSrc, reSrc;
  int64_t imOff, reOff;
  if (!neg ||
      !lastAxisPiece(throughReshapes(neg.getInput()), imSrc, imOff) ||
      !lastAxisPiece(throughReshapes(cat.getInputs()[1]), reSrc, reOff) ||
      imSrc != reSrc || imOff != 1 || reOff != 0 ||
      shapeOf(imSrc) != pairs)
    return {};
  auto view = imSrc.getDefiningOp<ReshapeOp>();
  if (!view || typeOf(view.getInput()) != typeOf(rot))
    return {};
  ArrayRef<int64_t> x = shapeOf(view.getInput());
  if (x.drop_back() != pairs.drop_back(2) || x.back() != 2 * pairs[pairs.size() - 2])
    return {};
  return view.getInput();
}

/// x * cos + rotate(x) * sin -> rope(x, cos, sin).
struct FuseRope : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (int s = 0; s < 2; ++s) {
      auto direct = (s ? op.getRhs() : op.getLhs()).getDefiningOp<MulOp>();
      auto rotated = (s ? op.getLhs() : op.getRhs()).getDefiningOp<MulOp>();
      if (!direct || !rotated)
        continue;
      for (int a = 0; a < 2; ++a) {
        Value rot = a ? rotated.getRhs() : rotated.getLhs();
        Value sin = a ? rotated.getLhs() : rotated.getRhs();
        bool interleaved = false;
        Value x = matchRotateHalf(rot);
        if (!x) {
          x = matchRotateInterleaved(rot);
          interleaved = true;
        }
        if (!x || typeOf(x) != op.getType())
          continue;
        Value cos;
        if (direct.getLhs() == x)
          cos = direct.getRhs();
        else if (direct.getRhs() == x)
          cos = direct.getLhs();
        ArrayRef<int64_t> xs = shapeOf(x);
        if (!cos || shapeOf(cos) != shapeOf(sin) || shapeOf(cos).empty() ||
            shapeOf(cos).size() > xs.size() || shapeOf(cos).back() != xs.back() ||
            !broadcastsTo(shapeOf(cos), xs) ||
            typeOf(cos).getElementType() != typeOf(x).getElementType())
          continue;
        rewriter.replaceOpWithNewOp<RopeOp>(op, op.getType(), x, cos, sin,
                                            interleaved);
        return success();
      }
    }
    return failure();
  }
};

/// The even (`odd` false) or odd features of x, `x[..., odd::2]`, read as
/// a piece of a `[..., D/2, 2]` view of x; returns that view.
Value matchPairHalf(Value v, bool odd) {
  Value pairs;
  int64_t offset;
  v = throughReshapes(v);
  if (!lastAxisPiece(v, pairs, offset) || offset != (odd ? 1 : 0) ||
      shapeOf(v).back() != 1 || shapeOf(pairs).back() != 2)
    return {};
  return pairs;
}

/// `a * b` with `a` (either side) the given value: the other factor.
Value otherFactor(Value product, Value a) {
  auto mul = product.getDefiningOp<MulOp>();
  if (!mul)
    return {};
  if (mul.getLhs() == a)
    return mul.getRhs();
  if (mul.getRhs() == a)
    return mul.getLhs();
  return {};
}

/// The interleaved rotation written pair by pair (Wan): with x1 = x[..., 0::2]
/// and x2 = x[..., 1::2], out[..., 0::2] = x1 * c - x2 * s and out[..., 1::2]
/// = x1 * s + x2 * c, the halves joined through a `[..., D/2, 2]` view
/// (ScatterCoverAsConcat's form of the exporters' strided writes). That is
/// rope(x, C, S) interleaved, with C and S the tables c and s each entry
/// repeated twice.
struct FuseRopePairs : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto cat = op.getInput().getDefiningOp<ConcatOp>();
    ArrayRef<int64_t> out = shapeOf(op.getResult());
    if (!cat || cat.getInputs().size() != 2 || out.empty())
      return failure();
    ArrayRef<int64_t> pairs = shapeOf(cat.getResult());
    if (pairs.size() < 2 || pairs.back() != 2 || cat.getAxis() != (int64_t)pairs.size() - 1 ||
        out.drop_back() != pairs.drop_back(2) || out.back() != 2 * pairs[pairs.size() - 2])
      return failure();
    auto even = throughReshapes(cat.getInputs()[0]).getDefiningOp<SubOp>();
    auto odd = throughReshapes(cat.getInputs()[1]).getDefiningOp<AddOp>();
    if (!even || !odd || shapeOf(even.getResult()) != pairs.drop_back() ||
        shapeOf(odd.getResult()) != pairs.drop_back())
      return failure();
    // even = x1 * c - x2 * s: x1 and x2 from the minuend and subtrahend.
    auto m1 = even.getLhs().getDefiningOp<MulOp>();
    auto m2 = even.getRhs().getDefiningOp<MulOp>();
    if (!m1 || !m2)
      return failure();
    for (int lhs = 0; lhs < 2; ++lhs) {
      Value x1In = lhs ? m1.getRhs() : m1.getLhs();
      Value x = matchPairHalf(x1In, false);
      if (!x || shapeOf(x) != pairs || typeOf(x).getElementType() != op.getType().getElementType())
        continue;
      Value c = otherFactor(m1, x1In);
      Value x2In;
      for (Value v : {m2.getLhs(), m2.getRhs()})
        if (matchPairHalf(v, true) == x)
          x2In = v;
      if (!x2In)
        continue;
      Value sv = otherFactor(m2, x2In);
      // odd = x1 * s + x2 * c, in either order.
      auto terms = [&](Value t1, Value t2) {
        return otherFactor(t1, x1In) == sv && otherFactor(t2, x2In) == c;
      };
      if (!terms(odd.getLhs(), odd.getRhs()) && !terms(odd.getRhs(), odd.getLhs()))
        continue;
      ArrayRef<int64_t> half = shapeOf(c);
      if (half.empty() || shapeOf(sv) != half || half.back() * 2 != out.back() ||
          !broadcastsTo(half, pairs.drop_back()) ||
          typeOf(c).getElementType() != typeOf(x).getElementType())
        continue;
      // C = c with each entry twice: [..., h] -> [..., h, 1] x 2 -> [..., 2h].
      Location loc = op.getLoc();
      Type et = typeOf(c).getElementType();
      Shape one(half.begin(), half.end()), two(half.begin(), half.end()),
          full(half.begin(), half.end());
      one.push_back(1);
      two.push_back(2);
      full.back() *= 2;
      auto twice = [&](Value t) -> Value {
        Value r = ReshapeOp::create(rewriter, loc, RankedTensorType::get(one, et), t);
        Value p = ConcatOp::create(rewriter, loc, RankedTensorType::get(two, et),
                                   ValueRange{r, r}, (int64_t)one.size() - 1);
        return ReshapeOp::create(rewriter, loc, RankedTensorType::get(full, et), p);
      };
      Value input = ReshapeOp::create(rewriter, loc, op.getType(), x);
      rewriter.replaceOpWithNewOp<RopeOp>(op, op.getType(), input, twice(c), twice(sv), true);
      return success();
    }
    return failure();
  }
};

//===----------------------------------------------------------------------===//
// Scatters that write every element
//===----------------------------------------------------------------------===//

/// The window of `data` that a ScatterND writes when it is a strided box:
/// index tuple `j` equal to `offsets + j * steps` per axis (what exporters
/// write for `out[..., a::m] = u`: TorchScript lists every index tuple,
/// dynamo one axis). The box's sizes are the index grid's, then data's
/// trailing axes.
struct ScatterBox {
  Shape offsets, steps, sizes;
};

/// `v` (its axes mapped to those of an index grid by `axes`, -1 for unit
/// axes outside it) as `offset + sum coeffs[a] * j_a` over the grid's
/// indices j, when it is an integer constant with that form, seen through
/// broadcasts and reshapes that add or drop unit axes (the index tensors
/// exporters compute from small aranges, too large to fold).
struct AffineIndex {
  int64_t offset = 0;
  SmallVector<int64_t> coeffs;
};

/// `vals` (row-major over `shape`, its axes mapped to the grid's by `axes`)
/// as an AffineIndex, when every entry has that form.
std::optional<AffineIndex> affineValues(ArrayRef<int64_t> vals, ArrayRef<int64_t> shape,
                                        ArrayRef<int64_t> axes, int64_t gridRank) {
  if (vals.empty())
    return std::nullopt;
  AffineIndex f;
  f.coeffs.assign(gridRank, 0);
  SmallVector<int64_t> stride(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    stride[i] = stride[i + 1] * shape[i + 1];
  f.offset = vals[0];
  SmallVector<int64_t> local(shape.size(), 0);
  for (int64_t i = 0; i < (int64_t)shape.size(); ++i) {
    if (shape[i] == 1)
      continue;
    if (axes[i] < 0)
      return std::nullopt;
    local[i] = vals[stride[i]] - vals[0];
    f.coeffs[axes[i]] = local[i];
  }
  for (int64_t e = 0; e < (int64_t)vals.size(); ++e) {
    int64_t want = f.offset;
    for (int64_t i = 0; i < (int64_t)shape.size(); ++i)
      want += ((e / stride[i]) % shape[i]) * local[i];
    if (vals[e] != want)
      return std::nullopt;
  }
  return f;
}

std::optional<AffineIndex> affineIndex(Value v, SmallVector<int64_t> axes, int64_t gridRank) {
  while (true) {
    ArrayRef<int64_t> out = shapeOf(v);
    if (auto r = v.getDefiningOp<ReshapeOp>()) {
      // Only unit axes added or dropped: the other axes keep their order.
      ArrayRef<int64_t> in = shapeOf(r.getInput());
      SmallVector<int64_t> outDims, inDims; // the non-unit axes, in order
      for (int64_t i = 0; i < (int64_t)out.size(); ++i)
        if (out[i] != 1)
          outDims.push_back(i);
      for (int64_t i = 0; i < (int64_t)in.size(); ++i)
        if (in[i] != 1)
          inDims.push_back(i);
      if (inDims.size() != outDims.size())
        return std::nullopt;
      SmallVector<int64_t> next(in.size(), -1);
      for (size_t i = 0; i < inDims.size(); ++i) {
        if (in[inDims[i]] != out[outDims[i]])
          return std::nullopt;
        next[inDims[i]] = axes[outDims[i]];
      }
      v = r.getInput();
      axes = next;
      continue;
    }
    if (auto bc = v.getDefiningOp<BroadcastOp>()) {
      ArrayRef<int64_t> in = shapeOf(bc.getInput());
      if (in.size() > out.size())
        return std::nullopt;
      int64_t lead = out.size() - in.size();
      SmallVector<int64_t> next(in.size(), -1);
      for (int64_t i = 0; i < (int64_t)in.size(); ++i) {
        if (in[i] == out[lead + i])
          next[i] = in[i] == 1 ? -1 : axes[lead + i];
        else if (in[i] != 1)
          return std::nullopt;
      }
      v = bc.getInput();
      axes = next;
      continue;
    }
    break;
  }
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (attr.isSplat()) {
    AffineIndex f;
    f.coeffs.assign(gridRank, 0);
    f.offset = attr.getSplatValue<APInt>().getSExtValue();
    return f;
  }
  SmallVector<int64_t> vals;
  for (const APInt &x : attr.getValues<APInt>())
    vals.push_back(x.getSExtValue());
  return affineValues(vals, shapeOf(v), axes, gridRank);
}

/// The box of index tuples whose a-th index is `comps[a]` over the grid
/// `grid` (moving along grid axis a only, forward, inside data; all
/// negative: counted from the end).
std::optional<ScatterBox> boxOf(ArrayRef<AffineIndex> comps, ArrayRef<int64_t> grid,
                                ArrayRef<int64_t> data) {
  int64_t k = comps.size();
  ScatterBox box;
  for (int64_t a = 0; a < k; ++a) {
    const AffineIndex &f = comps[a];
    for (int64_t i = 0; i < k; ++i)
      if (i != a && grid[i] > 1 && f.coeffs[i] != 0)
        return std::nullopt;
    int64_t step = grid[a] > 1 ? f.coeffs[a] : 1, first = f.offset,
            last = first + step * (grid[a] - 1);
    if (step <= 0)
      return std::nullopt;
    if (first < 0 && last < 0)
      first += data[a], last += data[a];
    if (first < 0 || last >= data[a])
      return std::nullopt;
    box.offsets.push_back(first);
    box.steps.push_back(step);
  }
  box.sizes.assign(grid.begin(), grid.end());
  box.sizes.append(data.begin() + k, data.end());
  box.offsets.resize(data.size(), 0);
  box.steps.resize(data.size(), 1);
  return box;
}

/// The window of `data` that a ScatterND writes, when `indices` is
/// `[n_0, ..., n_{k-1}, k]` with one index per grid axis: a constant
/// (negative indices counted from the end, each on its own), or a
/// concatenation of one affine index tensor per indexed axis (`[..., 1]`
/// each).
std::optional<ScatterBox> scatterBox(Value indices, ArrayRef<int64_t> data) {
  ArrayRef<int64_t> is = shapeOf(indices);
  if (is.empty() || is.back() < 1 || is.back() > (int64_t)data.size() ||
      (int64_t)is.size() - 1 != is.back())
    return std::nullopt;
  int64_t k = is.back();
  ArrayRef<int64_t> grid = is.drop_back();
  SmallVector<int64_t> identity = llvm::to_vector(llvm::seq<int64_t>(0, k));
  SmallVector<AffineIndex> comps;
  DenseIntElementsAttr attr;
  if (matchPattern(indices, m_Constant(&attr))) {
    SmallVector<SmallVector<int64_t>> parts(k);
    int64_t e = 0;
    for (const APInt &x : attr.getValues<APInt>()) {
      int64_t v = x.getSExtValue(), dim = data[e % k];
      if (v < -dim || v >= dim)
        return std::nullopt;
      parts[e++ % k].push_back(v < 0 ? v + dim : v);
    }
    for (int64_t a = 0; a < k; ++a) {
      std::optional<AffineIndex> f = affineValues(parts[a], grid, identity, k);
      if (!f)
        return std::nullopt;
      comps.push_back(*f);
    }
    return boxOf(comps, grid, data);
  }
  auto cat = indices.getDefiningOp<ConcatOp>();
  if (!cat || cat.getAxis() != k || (int64_t)cat.getInputs().size() != k)
    return std::nullopt;
  SmallVector<int64_t> axes(identity);
  axes.push_back(-1); // each part's trailing unit axis
  for (Value part : cat.getInputs()) {
    std::optional<AffineIndex> f = affineIndex(part, axes, k);
    if (!f)
      return std::nullopt;
    comps.push_back(*f);
  }
  return boxOf(comps, grid, data);
}

/// A chain of ScatterNDs (no reduction) whose windows tile their data, so
/// that nothing of the data survives (`out = empty_like(x); out[..., 0::2] =
/// a; out[..., 1::2] = b`, as Wan's rotary embedding writes it; exporters
/// store the empty tensor as a weight): the updates interleaved or
/// concatenated along the one axis they split. Updates that are transposes
/// by one permutation (the dynamo exporter moves the written axis first)
/// are joined before it, so that the transposes meet their inverses.
struct ScatterCoverAsConcat : OpRewritePattern<ScatterNdOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterNdOp op,
                                PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> data = shapeOf(op.getResult());
    int64_t rank = data.size();
    SmallVector<std::pair<ScatterBox, Value>> pieces;
    for (ScatterNdOp s = op; s;) {
      if (s.getReduction() != ScatterReduction::none)
        return failure();
      std::optional<ScatterBox> box = scatterBox(s.getIndices(), data);
      if (!box)
        return failure();
      pieces.push_back({*box, s.getUpdates()});
      auto inner = s.getData().getDefiningOp<ScatterNdOp>();
      s = inner && inner->hasOneUse() ? inner : ScatterNdOp();
    }
    // The one axis the pieces split: every other axis whole.
    int64_t axis = -1;
    for (int64_t a = 0; a < rank; ++a)
      if (llvm::any_of(pieces, [&](auto &p) { return p.first.sizes[a] != data[a]; })) {
        if (axis >= 0)
          return failure();
        axis = a;
      }
    int64_t m = pieces.size();
    if (axis < 0)
      axis = 0; // one piece writes everything
    for (auto &[box, u] : pieces)
      for (int64_t a = 0; a < rank; ++a)
        if (a != axis && (box.offsets[a] != 0 || box.steps[a] != 1))
          return failure();
    // Interleaved: pieces of one size, step m, offsets 0..m-1. Else
    // contiguous pieces that abut.
    int64_t n = data[axis];
    bool interleaved = llvm::all_of(pieces, [&](auto &p) {
      return (p.first.steps[axis] == m || p.first.sizes[axis] == 1) &&
             p.first.sizes[axis] * m == n && p.first.offsets[axis] < m;
    });
    llvm::sort(pieces, [&](auto &x, auto &y) {
      return x.first.offsets[axis] < y.first.offsets[axis];
    });
    for (int64_t i = 0, at = 0; i < m; ++i) {
      const ScatterBox &box = pieces[i].first;
      if (box.offsets[axis] != (interleaved ? i : at) ||
          (!interleaved && box.sizes[axis] > 1 && box.steps[axis] != 1))
        return failure();
      at += box.sizes[axis];
      if (!interleaved && i == m - 1 && at != n)
        return failure();
    }
    // Join the transposes' inputs when every update is one by one permutation.
    ArrayRef<int64_t> perm;
    SmallVector<Value> parts;
    for (auto &[box, u] : pieces) {
      auto t = u.getDefiningOp<TransposeOp>();
      if (!t || (!parts.empty() && t.getPermutation() != perm)) {
        perm = {};
        break;
      }
      perm = t.getPermutation();
      parts.push_back(t.getInput());
    }
    if (perm.empty()) {
      parts.clear();
      for (auto &[box, u] : pieces)
        parts.push_back(u);
    }
    int64_t joinAxis = perm.empty() ? axis : perm[axis];
    Location loc = op.getLoc();
    Type et = op.getType().getElementType();
    Shape joined(shapeOf(parts[0]));
    joined[joinAxis] = n;
    Value result;
    if (interleaved && m > 1) {
      // [..., n/m, ...] -> [..., n/m, 1, ...], concatenated to
      // [..., n/m, m, ...], read as [..., n, ...].
      SmallVector<Value> expanded;
      Shape one(shapeOf(parts[0]));
      one.insert(one.begin() + joinAxis + 1, 1);
      for (Value v : parts)
        expanded.push_back(ReshapeOp::create(rewriter, loc, RankedTensorType::get(one, et), v));
      Shape pairs = one;
      pairs[joinAxis + 1] = m;
      Value cat = ConcatOp::create(rewriter, loc, RankedTensorType::get(pairs, et), expanded,
                                   joinAxis + 1);
      result = ReshapeOp::create(rewriter, loc, RankedTensorType::get(joined, et), cat);
    } else if (m > 1) {
      result = ConcatOp::create(rewriter, loc, RankedTensorType::get(joined, et), parts, joinAxis);
    } else {
      result = parts[0];
    }
    if (!perm.empty())
      result = TransposeOp::create(rewriter, loc, op.getType(), result, perm);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Peels multiplications and divisions by scalars off `v`, folding them into
/// `scale`.
Value peelScale(Value v, double &scale) {
  while (true) {
    if (auto mul = v.getDefiningOp<MulOp>()) {
      if (std::optional<double> c = scalarOf(mul.getRhs());
          c && typeOf(mul.getLhs()) == typeOf(v)) {
        scale *= *c;
        v = mul.getLhs();
        continue;
      }
      if (std::optional<double> c = scalarOf(mul.getLhs());
          c && typeOf(mul.getRhs()) == typeOf(v)) {
        scale *= *c;
        v = mul.getRhs();
        continue;
      }
    }
    if (auto div = v.getDefiningOp<DivOp>())
      if (std::optional<double> c = scalarOf(div.getRhs());
          c && *c != 0.0 && typeOf(div.getLhs()) == typeOf(v)) {
        scale /= *c;
        v = div.getLhs();
        continue;
      }
    return v;
  }
}

/// Whether an additive mask is exactly the causal pattern: zero for key <=
/// query, a huge negative number (or -inf) above. Either a constant of
/// those values or the upper triangle (k = 1) of a splat of one of them (the
/// importer's form of is_causal and of causal mask initializers).
bool isCausalMask(Value mask, int64_t sq, int64_t sk) {
  ArrayRef<int64_t> s = shapeOf(mask);
  if (sq != sk || s.size() < 2 || s[s.size() - 2] != sq || s.back() != sk ||
      llvm::any_of(s.drop_back(2), [](int64_t d) { return d != 1; }))
    return false;
  auto masked = [](APFloat v) { return v.convertToDouble() < -1e30; };
  DenseElementsAttr attr;
  // where(lower triangle of true, 0, huge negative): a boolean causal mask
  // (the importer's form of a folded `arange <= arange`) made additive.
  if (auto where = mask.getDefiningOp<WhereOp>()) {
    auto tri = where.getCond().getDefiningOp<TriluOp>();
    DenseElementsAttr fill;
    std::optional<double> zero = scalarOf(where.getLhs());
    return tri && !tri.getUpper() && tri.getK() == 0 &&
           matchPattern(tri.getInput(), m_Constant(&attr)) && attr.isSplat() &&
           attr.getElementType().isInteger(1) && attr.getSplatValue<bool>() && zero &&
           *zero == 0.0 && matchPattern(where.getRhs(), m_Constant(&fill)) && fill.isSplat() &&
           isa<FloatType>(fill.getElementType()) && masked(fill.getSplatValue<APFloat>()) &&
           shapeOf(tri.getResult()) == s;
  }
  if (auto tri = mask.getDefiningOp<TriluOp>())
    return tri.getUpper() && tri.getK() == 1 &&
           matchPattern(tri.getInput(), m_Constant(&attr)) && attr.isSplat() &&
           isa<FloatType>(attr.getElementType()) &&
           masked(attr.getSplatValue<APFloat>());
  if (!matchPattern(mask, m_Constant(&attr)) || !isa<FloatType>(attr.getElementType()))
    return false;
  int64_t k = 0;
  for (APFloat v : attr.getValues<APFloat>()) {
    int64_t i = k / sk, j = k % sk;
    if (j <= i ? !v.isZero() : !masked(v))
      return false;
    ++k;
  }
  return true;
}

/// matmul(softmax(scale * q k^T + mask), v) -> attention.
struct FuseAttention : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  /// The dynamo exporter guards fully masked rows with
  /// where(isnan(p), 0, p); ditc.attention already yields zeros there.
  static Value peelNanGuard(Value p) {
    auto where = p.getDefiningOp<WhereOp>();
    if (!where)
      return p;
    auto isNan = where.getCond().getDefiningOp<IsNanOp>();
    std::optional<double> zero = scalarOf(where.getLhs());
    if (!isNan || isNan.getInput() != where.getRhs() || !zero || *zero != 0.0 ||
        typeOf(where.getRhs()) != typeOf(p))
      return p;
    return where.getRhs();
  }

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    Value probs = peelNanGuard(op.getLhs());
    auto softmax = probs.getDefiningOp<SoftmaxOp>();
    if (!softmax)
      return failure();
    for (Operation *user : softmax->getUsers())
      if (user != op && user != op.getLhs().getDefiningOp() &&
          !(isa<IsNanOp>(user) && probs != op.getLhs()))
        return failure();
    int64_t rank = shapeOf(probs).size();
    if ((rank != 4 && rank != 3) || softmax.getAxis() != rank - 1 ||
        shapeOf(op.getRhs()).size() != (size_t)rank)
      return failure();
    double scale = 1.0, outerScale = 1.0;
    Value scores = peelScale(softmax.getInput(), scale);
    Value mask;
    if (auto add = scores.getDefiningOp<AddOp>()) {
      // A scale outside the mask's add scales the mask too, which
      // ditc.attention does not (its mask is added to the scaled scores):
      // only a causal mask, which a positive scale leaves as it is, passes.
      outerScale = scale;
      for (int s = 0; s < 2; ++s) {
        Value a = s ? add.getRhs() : add.getLhs();
        Value m = s ? add.getLhs() : add.getRhs();
        // (q k^T) * scale + mask, as eager attention code writes it.
        double inner = 1.0;
        Value qkv = peelScale(a, inner);
        if (qkv.getDefiningOp<MatmulOp>() && typeOf(a) == typeOf(scores) &&
            typeOf(m).getRank() <= rank) {
          scores = qkv;
          scale *= inner;
          mask = m;
          break;
        }
      }
      if (!mask)
        return failure();
    }
    scores = peelScale(scores, scale);
    auto qk = scores.getDefiningOp<MatmulOp>();
    if (!qk || !qk->hasOneUse())
      return failure();
    Value q = peelScale(qk.getLhs(), scale);
    Value kt = peelScale(qk.getRhs(), scale);
    Value v = op.getRhs();
    Type et = typeOf(q).getElementType();
    if (shapeOf(q).size() != (size_t)rank || shapeOf(kt).size() != (size_t)rank ||
        typeOf(kt).getElementType() != et || typeOf(v).getElementType() != et)
      return failure();
    // The batch dimensions of q, k and v must agree (no broadcasting).
    ArrayRef<int64_t> qs = shapeOf(q), ks = shapeOf(kt), vs = shapeOf(v);
    if (qs.drop_back(2) != ks.drop_back(2) || qs.drop_back(2) != vs.drop_back(2))
      return failure();
    // Every check before the first op is made (a pattern that fails must
    // leave the IR as it was).
    int64_t sq = qs[rank - 2], sk = ks[rank - 1];
    bool causal = false;
    if (mask && isCausalMask(mask, sq, sk)) {
      causal = true;
      mask = Value();
    }
    if ((mask && outerScale != 1.0) || (causal && !(outerScale > 0.0)))
      return failure();
    if (mask) {
      Shape full{rank == 4 ? qs[0] : 1, qs[rank - 3], sq, sk};
      if (!broadcastsTo(shapeOf(mask), full))
        return failure();
    }
    Location loc = op.getLoc();
    // K = transpose of K^T; canonicalisation cancels it against the
    // exporter's own transpose.
    SmallVector<int64_t> swap;
    for (int64_t k = 0; k < rank - 2; ++k)
      swap.push_back(k);
    swap.push_back(rank - 1);
    swap.push_back(rank - 2);
    Shape kShape(ks.begin(), ks.end());
    std::swap(kShape[rank - 1], kShape[rank - 2]);
    Value k = TransposeOp::create(rewriter, loc,
                                  RankedTensorType::get(kShape, et), kt, swap);
    // Rank 3 ([B*H, S, D]) becomes [1, B*H, S, D].
    auto to4 = [&](Value t) -> Value {
      if (rank == 4)
        return t;
      Shape s{1};
      s.append(shapeOf(t).begin(), shapeOf(t).end());
      return ReshapeOp::create(rewriter, loc,
                               RankedTensorType::get(s, typeOf(t).getElementType()),
                               t);
    };
    double dflt = 1.0 / std::sqrt((double)qs.back());
    FloatAttr scaleAttr =
        near(scale, dflt, 1e-6) ? FloatAttr() : rewriter.getF64FloatAttr(scale);
    Shape out{rank == 4 ? qs[0] : 1, qs[rank - 3], sq, vs.back()};
    Value attn = AttentionOp::create(rewriter, loc, RankedTensorType::get(out, et),
                                     to4(q), to4(k), to4(v), mask, Value(), scaleAttr,
                                     causal, /*seq_major=*/nullptr);
    if (rank == 3)
      attn = ReshapeOp::create(rewriter, loc, op.getType(), attn);
    rewriter.replaceOp(op, attn);
    return success();
  }
};

/// repeat_kv (reshape to [B, Hkv, 1, S, D], broadcast to [B, Hkv, r, S, D],
/// reshape to [B, Hkv*r, S, D]) on both K and V -> grouped heads.
struct FoldRepeatedKV : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  static Value unrepeat(Value v, int64_t &groups) {
    auto outer = v.getDefiningOp<ReshapeOp>();
    auto bc = outer ? outer.getInput().getDefiningOp<BroadcastOp>() : BroadcastOp();
    auto inner = bc ? bc.getInput().getDefiningOp<ReshapeOp>() : ReshapeOp();
    if (!inner)
      return {};
    ArrayRef<int64_t> x = shapeOf(inner.getInput()), e = shapeOf(inner.getResult()),
                      b = shapeOf(bc.getResult()), o = shapeOf(v);
    if (x.size() != 4 || e.size() != 5 || e[0] != x[0] || e[1] != x[1] ||
        e[2] != 1 || e[3] != x[2] || e[4] != x[3] || b[0] != x[0] ||
        b[1] != x[1] || b[3] != x[2] || b[4] != x[3] || o[1] != x[1] * b[2])
      return {};
    groups = b[2];
    return inner.getInput();
  }
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    int64_t gk = 0, gv = 0;
    Value k = unrepeat(op.getKey(), gk), v = unrepeat(op.getValue(), gv);
    if (!k || !v || gk != gv || gk < 2)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getKeyMutable().assign(k);
      op.getValueMutable().assign(v);
    });
    return success();
  }
};

/// An attention whose mask is the causal pattern (isCausalMask; e.g. an
/// ONNX Attention node given a folded causal mask initializer) -> causal.
struct CausalMaskAsFlag : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getMask() || op.getCausal() || op.getQueryOffset())
      return failure();
    int64_t sq = op.headSizes(AttentionOp::kQuery)[2];
    int64_t sk = op.headSizes(AttentionOp::kKey)[2];
    if (!isCausalMask(op.getMask(), sq, sk))
      return failure();
    rewriter.replaceOpWithNewOp<AttentionOp>(
        op, op.getType(), op.getQuery(), op.getKey(), op.getValue(), Value(), Value(),
        op.getScaleAttr(), true, op.getSeqMajorAttr());
    return success();
  }
};

struct FusePass : ditc::impl::FusePassBase<FusePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<FuseGelu, FuseSilu, FuseNorm, FoldNormAffine, FuseLinear,
                 FuseLinearBias, FuseAttention, FoldRepeatedKV, CausalMaskAsFlag,
                 FuseRope, ScatterCoverAsConcat, FuseRopePairs>(ctx);
    for (RegisteredOperationName op : ctx->getRegisteredOperations())
      if (op.getDialect().getNamespace() == "ditc")
        op.getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
