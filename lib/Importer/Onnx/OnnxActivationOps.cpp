//===- OnnxActivationOps.cpp - ONNX ops decomposed at import --------------===//
//
// Activations and small elementwise ops written with the dialect's existing
// ops (Clip, Elu, HardSigmoid, LeakyRelu, ...; Size, CastLike, Dropout, Or,
// Xor, ...), LogSoftmax, and the reductions composed from ReduceSum
// (ReduceL1, ReduceL2, ReduceLogSumExp, ...). Elementwise ops are folded on
// the host when all their inputs are known.
//
//===----------------------------------------------------------------------===//

#include "lib/Importer/Onnx/OnnxOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

Type elemOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}

/// Builds elementwise IR at the node. Operands broadcast with numpy rules
/// (the caller has checked that their shapes do); scalars made by `c` have
/// the element type given at construction.
class ExprBuilder {
public:
  ExprBuilder(NodeContext &nc, Type et) : nc(nc), et(et) {}

  /// A scalar constant of type `t` (the builder's by default), made once.
  Value c(double v, Type t = {}) {
    t = t ? t : et;
    Value &cached = constants[{t, llvm::bit_cast<uint64_t>(v)}];
    if (!cached)
      cached = scalarConstant(nc, t, v);
    return cached;
  }

  Value add(Value a, Value b) { return binary<AddOp>(a, b); }
  Value sub(Value a, Value b) { return binary<SubOp>(a, b); }
  Value mul(Value a, Value b) { return binary<MulOp>(a, b); }
  Value div(Value a, Value b) { return binary<DivOp>(a, b); }
  Value max(Value a, Value b) { return binary<MaxOp>(a, b); }
  Value min(Value a, Value b) { return binary<MinOp>(a, b); }
  Value lt(Value a, Value b) { return binary<LessOp>(a, b, i1()); }
  Value gt(Value a, Value b) { return binary<GreaterOp>(a, b, i1()); }
  Value eq(Value a, Value b) { return binary<EqualOp>(a, b, i1()); }

  Value exp(Value a) { return unary<ExpOp>(a); }
  Value log(Value a) { return unary<LogOp>(a); }
  Value sqrt(Value a) { return unary<SqrtOp>(a); }
  Value tanh(Value a) { return unary<TanhOp>(a); }
  Value sin(Value a) { return unary<SinOp>(a); }
  Value cos(Value a) { return unary<CosOp>(a); }
  Value neg(Value a) { return unary<NegOp>(a); }
  Value lnot(Value a) { return unary<NotOp>(a); }

  /// |a|: ditc.abs on floats, a < 0 ? 0 - a : a on signed integers.
  Value abs(Value a) {
    Type t = elemOf(a);
    if (isa<FloatType>(t))
      return unary<AbsOp>(a);
    if (cast<IntegerType>(t).isUnsigned())
      return a;
    Value zero = c(0, t);
    Value negative = lt(a, zero);
    return select(negative, sub(zero, a), a);
  }

  /// cond ? a : b, with the element type of `a`.
  Value select(Value cond, Value a, Value b) {
    Shape s = broadcast({shapeOf(cond), shapeOf(a), shapeOf(b)});
    return WhereOp::create(nc.b, nc.loc, RankedTensorType::get(s, elemOf(a)),
                           cond, a, b);
  }
  /// Logical or of booleans: a ? true : b.
  Value lor(Value a, Value b) { return select(a, c(1, i1()), b); }

  /// `OpT` (a reduction) over `axes`; `x` itself when there are none.
  template <typename OpT>
  Value reduce(Value x, ArrayRef<int64_t> axes, bool keep) {
    if (axes.empty())
      return x;
    std::string why;
    FailureOr<Shape> s = reduceShape(shapeOf(x), axes, keep, why);
    assert(succeeded(s) && "axes were checked against the input");
    return OpT::create(nc.b, nc.loc, RankedTensorType::get(*s, elemOf(x)), x,
                       axes, keep);
  }

  /// The maximum over `axes` (kept), with infinities replaced by 0 so that
  /// subtracting it from `x` never computes inf - inf.
  Value finiteMax(Value x, ArrayRef<int64_t> axes) {
    Value m = reduce<ReduceMaxOp>(x, axes, true);
    return select(eq(abs(m), c(INFINITY)), c(0), m);
  }

  /// `v` reshaped to `shape` (itself when it has it).
  Value reshape(Value v, ArrayRef<int64_t> shape) {
    if (shapeOf(v) == shape)
      return v;
    return ReshapeOp::create(nc.b, nc.loc,
                             RankedTensorType::get(shape, elemOf(v)), v);
  }

private:
  Type i1() { return nc.b.getI1Type(); }

  Shape broadcast(ArrayRef<ArrayRef<int64_t>> shapes) {
    std::string why;
    FailureOr<Shape> s = broadcastShapes(shapes, why);
    assert(succeeded(s) && "operand shapes were checked to broadcast");
    return *s;
  }

  template <typename OpT> Value binary(Value a, Value b, Type result = {}) {
    Shape s = broadcast({shapeOf(a), shapeOf(b)});
    return OpT::create(nc.b, nc.loc,
                       RankedTensorType::get(s, result ? result : elemOf(a)), a,
                       b);
  }

  template <typename OpT> Value unary(Value a) {
    return OpT::create(nc.b, nc.loc, a.getType(), a);
  }

  NodeContext &nc;
  Type et;
  DenseMap<std::pair<Type, uint64_t>, Value> constants;
};

using HostFn = std::function<double(ArrayRef<double>)>;
using HostIntFn = std::function<int64_t(ArrayRef<int64_t>)>;
using BuildFn = function_ref<Value(ExprBuilder &, ArrayRef<Value>)>;

/// Defines output 0 as an elementwise function of `inputs` (broadcast) with
/// element type `result`: folded on the host with `f` (`fi` on integers, when
/// given) when every input is known and the result small, else built by
/// `build` from the input values.
LogicalResult elementwise(NodeContext &nc, ArrayRef<int> inputs, Type result,
                          const HostFn &f, const HostIntFn &fi, BuildFn build) {
  FailureOr<Shape> shape = broadcastInputs(nc, inputs);
  if (failed(shape))
    return failure();
  bool known = llvm::all_of(inputs, [&](int i) { return nc.cst(i); });
  if (known && numElements(*shape).value_or(0) <= kFoldLimit) {
    SmallVector<const HostTensor *> ins;
    for (int i : inputs)
      ins.push_back(nc.cst(i));
    nc.setConst(0, foldBroadcast(ins, *shape, result, f, fi));
    return success();
  }
  SmallVector<Value> values;
  for (int i : inputs)
    values.push_back(nc.in(i));
  ExprBuilder e(nc, nc.elem(inputs[0]));
  nc.set(0, build(e, values));
  return success();
}

using ScalarFn = std::function<double(double)>;
using UnaryBuildFn = function_ref<Value(ExprBuilder &, Value)>;

/// An elementwise function of a floating-point input 0.
LogicalResult floatUnary(NodeContext &nc, const ScalarFn &f,
                         UnaryBuildFn build) {
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input, got " << nc.elem(0);
  return elementwise(
      nc, {0}, nc.elem(0), [&](ArrayRef<double> v) { return f(v[0]); }, nullptr,
      [&](ExprBuilder &e, ArrayRef<Value> v) { return build(e, v[0]); });
}

using Scalar2Fn = double (*)(double, double);
using Int2Fn = int64_t (*)(int64_t, int64_t);
using BinaryBuildFn = function_ref<Value(ExprBuilder &, Value, Value)>;

/// An elementwise function of inputs 0 and 1, which have the same element
/// type; the result is boolean when `compare`, else of that type.
LogicalResult binaryOp(NodeContext &nc, bool compare, Scalar2Fn f, Int2Fn fi,
                       BinaryBuildFn build) {
  if (nc.elem(0) != nc.elem(1))
    return nc.error() << "operand element types differ (" << nc.elem(0)
                      << " and " << nc.elem(1) << ")";
  Type result = compare ? Type(nc.b.getI1Type()) : nc.elem(0);
  HostFn hostF;
  if (f)
    hostF = [f](ArrayRef<double> v) { return f(v[0], v[1]); };
  return elementwise(
      nc, {0, 1}, result, hostF,
      [fi](ArrayRef<int64_t> v) { return fi(v[0], v[1]); },
      [&](ExprBuilder &e, ArrayRef<Value> v) { return build(e, v[0], v[1]); });
}

/// A logical op on two boolean inputs.
LogicalResult logicalOp(NodeContext &nc, Int2Fn f, BinaryBuildFn build) {
  if (!nc.elem(0).isInteger(1) || !nc.elem(1).isInteger(1))
    return nc.error() << "expects boolean inputs, got " << nc.elem(0) << " and "
                      << nc.elem(1);
  // Booleans fold as integers: no floating-point version is needed.
  return binaryOp(nc, true, nullptr, f, build);
}

/// Defines output `i` as a tensor of `shape` filled with `v`.
void setFilled(NodeContext &nc, int i, ArrayRef<int64_t> shape, Type et,
               double v) {
  HostTensor one(et, {});
  one.set(0, v);
  if (numElements(shape).value_or(0) <= kFoldLimit) {
    HostTensor out(et, shape);
    for (int64_t k = 0; k < out.size(); ++k)
      out.set(k, v);
    nc.setConst(i, std::move(out));
    return;
  }
  auto type = RankedTensorType::get(shape, et);
  nc.set(i, ConstantOp::create(
                nc.b, nc.loc,
                DenseElementsAttr::get(
                    type, one.toAttr().getSplatValue<Attribute>())));
}

/// Defines output 0 as input `i` unchanged.
void forward(NodeContext &nc, int i) {
  if (const HostTensor *c = nc.cst(i))
    nc.setConst(0, *c);
  else
    nc.set(0, nc.in(i));
}

/// Size: the input's element count, an i64 scalar constant.
LogicalResult importSize(NodeContext &nc) {
  HostTensor out(nc.b.getI64Type(), {});
  out.i[0] = *numElements(nc.shape(0));
  nc.setConst(0, std::move(out));
  return success();
}

/// CastLike: input 0 cast to the element type of input 1.
LogicalResult importCastLike(NodeContext &nc) {
  Type to = nc.elem(1);
  if (const HostTensor *c = nc.cst(0))
    nc.setConst(0, foldCast(*c, to));
  else
    nc.set(0, castTo(nc, nc.in(0), to));
  return success();
}

/// A constant scalar input's value, or `def` when absent.
FailureOr<double> constScalar(NodeContext &nc, int i, StringRef what,
                              double def) {
  if (!nc.has(i))
    return def;
  const HostTensor *t = nc.cst(i);
  if (!t || t->size() != 1)
    return nc.error() << "input '" << what << "' must be a constant scalar",
           failure();
  return t->getF(0);
}

/// Dropout at inference: the output is the input and the optional mask all
/// true. Training mode is an identity too when the ratio is 0; random dropout
/// is refused.
LogicalResult importDropout(NodeContext &nc) {
  FailureOr<double> training = constScalar(nc, 2, "training_mode", 0);
  if (failed(training))
    return failure();
  // The ratio matters (and must be known) in training mode only.
  if (*training != 0) {
    FailureOr<double> ratio = constScalar(nc, 1, "ratio", 0.5);
    if (failed(ratio))
      return failure();
    if (*ratio != 0)
      return nc.error() << "training_mode=1 with ratio=" << *ratio
                        << " (random dropout) is not supported";
  }
  forward(nc, 0);
  if (nc.outputUsed(1))
    setFilled(nc, 1, nc.shape(0), nc.b.getI1Type(), 1);
  return success();
}

/// Clip: min(max(x, lo), hi) with the bounds from the optional inputs; lo >
/// hi gives hi everywhere, as numpy.clip.
LogicalResult importClip(NodeContext &nc) {
  Type et = nc.elem(0);
  SmallVector<int> inputs{0};
  int loAt = 0, hiAt = 0; // operand positions of the bounds, 0 when absent
  for (int i : {1, 2}) {
    if (!nc.has(i))
      continue;
    if (nc.elem(i) != et)
      return nc.error() << "bound " << i << " has type " << nc.elem(i)
                        << ", not the input's " << et;
    if (!broadcastsTo(nc.shape(i), nc.shape(0)))
      return nc.error() << "bound " << i << " of shape "
                        << shapeStr(nc.shape(i)) << " is not a scalar";
    (i == 1 ? loAt : hiAt) = inputs.size();
    inputs.push_back(i);
  }
  auto host = [&](auto v) {
    auto x = v[0];
    if (loAt)
      x = std::max(x, v[loAt]);
    if (hiAt)
      x = std::min(x, v[hiAt]);
    return x;
  };
  return elementwise(
      nc, inputs, et, [&](ArrayRef<double> v) { return host(v); },
      [&](ArrayRef<int64_t> v) { return host(v); },
      [&](ExprBuilder &e, ArrayRef<Value> v) {
        Value x = v[0];
        if (loAt)
          x = e.max(x, v[loAt]);
        if (hiAt)
          x = e.min(x, v[hiAt]);
        return x;
      });
}

/// Or: a ? true : b.
LogicalResult importOr(NodeContext &nc) {
  return logicalOp(
      nc, [](int64_t a, int64_t b) -> int64_t { return a || b; },
      [](ExprBuilder &e, Value a, Value b) { return e.lor(a, b); });
}

/// Xor: not(a == b).
LogicalResult importXor(NodeContext &nc) {
  return logicalOp(
      nc, [](int64_t a, int64_t b) -> int64_t { return (a != 0) != (b != 0); },
      [](ExprBuilder &e, Value a, Value b) { return e.lnot(e.eq(a, b)); });
}

/// GreaterOrEqual: (a > b) or (a == b), false when either is NaN.
LogicalResult importGreaterOrEqual(NodeContext &nc) {
  return binaryOp(
      nc, true, [](double a, double b) -> double { return a >= b; },
      [](int64_t a, int64_t b) -> int64_t { return a >= b; },
      [](ExprBuilder &e, Value a, Value b) {
        Value greater = e.gt(a, b);
        return e.lor(greater, e.eq(a, b));
      });
}

/// LessOrEqual: (a < b) or (a == b), false when either is NaN.
LogicalResult importLessOrEqual(NodeContext &nc) {
  return binaryOp(
      nc, true, [](double a, double b) -> double { return a <= b; },
      [](int64_t a, int64_t b) -> int64_t { return a <= b; },
      [](ExprBuilder &e, Value a, Value b) {
        Value less = e.lt(a, b);
        return e.lor(less, e.eq(a, b));
      });
}

/// Sum, or Mean when `mean`, of the broadcast inputs.
LogicalResult sumInputs(NodeContext &nc, bool mean) {
  int n = nc.numInputs();
  if (n < 1)
    return nc.error() << "needs at least one input";
  SmallVector<int> inputs;
  for (int i = 0; i < n; ++i) {
    if (nc.elem(i) != nc.elem(0))
      return nc.error() << "operand element types differ (" << nc.elem(0)
                        << " and " << nc.elem(i) << ")";
    inputs.push_back(i);
  }
  if (mean && !isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects floating-point inputs, got " << nc.elem(0);
  HostIntFn sumInts = [](ArrayRef<int64_t> v) {
    int64_t s = 0;
    for (int64_t x : v)
      s += x;
    return s;
  };
  return elementwise(
      nc, inputs, nc.elem(0),
      [&](ArrayRef<double> v) {
        double s = 0;
        for (double x : v)
          s += x;
        return mean ? s / n : s;
      },
      mean ? HostIntFn() : sumInts,
      [&](ExprBuilder &e, ArrayRef<Value> v) {
        Value acc = v[0];
        for (Value x : v.drop_front())
          acc = e.add(acc, x);
        return mean && n > 1 ? e.div(acc, e.c(n)) : acc;
      });
}

/// max(0, min(1, alpha * x + beta)) on the host.
double hardSigmoid(double x, double alpha, double beta) {
  return std::max(0.0, std::min(1.0, alpha * x + beta));
}

/// max(0, min(1, alpha * x + beta)) in IR.
Value hardSigmoid(ExprBuilder &e, Value x, double alpha, double beta) {
  return e.max(e.min(e.add(e.mul(x, e.c(alpha)), e.c(beta)), e.c(1)), e.c(0));
}

/// HardSigmoid: max(0, min(1, alpha * x + beta)).
LogicalResult importHardSigmoid(NodeContext &nc) {
  double alpha = nc.attrFloat("alpha", 0.2), beta = nc.attrFloat("beta", 0.5);
  return floatUnary(
      nc, [&](double x) { return hardSigmoid(x, alpha, beta); },
      [&](ExprBuilder &e, Value x) { return hardSigmoid(e, x, alpha, beta); });
}

/// HardSwish: x * HardSigmoid(x) with alpha 1/6, beta 0.5.
LogicalResult importHardSwish(NodeContext &nc) {
  const double alpha = float(1.0 / 6), beta = 0.5;
  return floatUnary(
      nc, [&](double x) { return x * hardSigmoid(x, alpha, beta); },
      [&](ExprBuilder &e, Value x) {
        return e.mul(x, hardSigmoid(e, x, alpha, beta));
      });
}

/// k * (exp(x) - 1) in IR.
Value scaledExpm1(ExprBuilder &e, Value x, double k) {
  return e.mul(e.sub(e.exp(x), e.c(1)), e.c(k));
}

/// Elu: x < 0 ? alpha * (exp(x) - 1) : x.
LogicalResult importElu(NodeContext &nc) {
  double alpha = nc.attrFloat("alpha", 1.0);
  return floatUnary(
      nc, [&](double x) { return x < 0 ? alpha * std::expm1(x) : x; },
      [&](ExprBuilder &e, Value x) {
        Value negative = e.lt(x, e.c(0));
        return e.select(negative, scaledExpm1(e, x, alpha), x);
      });
}

/// Selu: gamma * (x > 0 ? x : alpha * (exp(x) - 1)).
LogicalResult importSelu(NodeContext &nc) {
  double alpha = nc.attrFloat("alpha", 1.67326319217681884765625);
  double gamma = nc.attrFloat("gamma", 1.05070102214813232421875);
  return floatUnary(
      nc, [&](double x) { return gamma * (x > 0 ? x : alpha * std::expm1(x)); },
      [&](ExprBuilder &e, Value x) {
        Value positive = e.gt(x, e.c(0));
        Value linear = e.mul(x, e.c(gamma));
        return e.select(positive, linear, scaledExpm1(e, x, alpha * gamma));
      });
}

/// Celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
LogicalResult importCelu(NodeContext &nc) {
  double alpha = nc.attrFloat("alpha", 1.0);
  if (alpha == 0)
    return nc.error() << "alpha=0 is not supported (division by zero)";
  return floatUnary(
      nc,
      [&](double x) {
        return std::max(0.0, x) + std::min(0.0, alpha * std::expm1(x / alpha));
      },
      [&](ExprBuilder &e, Value x) {
        Value neg = scaledExpm1(e, e.div(x, e.c(alpha)), alpha);
        Value pos = e.max(x, e.c(0));
        return e.add(pos, e.min(neg, e.c(0)));
      });
}

/// LeakyRelu: x < 0 ? alpha * x : x.
LogicalResult importLeakyRelu(NodeContext &nc) {
  double alpha = nc.attrFloat("alpha", 0.01);
  return floatUnary(
      nc, [&](double x) { return x < 0 ? alpha * x : x; },
      [&](ExprBuilder &e, Value x) {
        Value negative = e.lt(x, e.c(0));
        return e.select(negative, e.mul(x, e.c(alpha)), x);
      });
}

/// PRelu: x < 0 ? slope * x : x, the slope broadcast to the input's shape.
LogicalResult importPRelu(NodeContext &nc) {
  if (!broadcastsTo(nc.shape(1), nc.shape(0)))
    return nc.error() << "slope shape " << shapeStr(nc.shape(1))
                      << " does not broadcast to the input shape "
                      << shapeStr(nc.shape(0));
  return binaryOp(
      nc, false, [](double x, double s) { return x < 0 ? s * x : x; },
      [](int64_t x, int64_t s) { return x < 0 ? s * x : x; },
      [](ExprBuilder &e, Value x, Value s) {
        Value negative = e.lt(x, e.c(0));
        return e.select(negative, e.mul(x, s), x);
      });
}

/// ThresholdedRelu: x > alpha ? x : 0.
LogicalResult importThresholdedRelu(NodeContext &nc) {
  double alpha = nc.attrFloat("alpha", 1.0);
  return floatUnary(
      nc, [&](double x) { return x > alpha ? x : 0.0; },
      [&](ExprBuilder &e, Value x) {
        return e.select(e.gt(x, e.c(alpha)), x, e.c(0));
      });
}

/// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0. On integers the
/// thresholds are rounded inwards (exact comparisons) and the bias must be
/// whole.
LogicalResult importShrink(NodeContext &nc) {
  Type et = nc.elem(0);
  double bias = nc.attrFloat("bias", 0), lambd = nc.attrFloat("lambd", 0.5);
  double lo = -lambd, hi = lambd;
  bool isInt = isIndexType(et);
  if (isInt) {
    if (bias != std::trunc(bias))
      return nc.error() << "bias=" << bias
                        << " is not a whole number, on integer input";
    lo = std::ceil(lo);
    hi = std::floor(hi);
  } else if (!isa<FloatType>(et)) {
    return nc.error() << "expects a number, got " << et;
  }
  // An unsigned input never lies below a non-positive threshold.
  bool hasLow = !(isInt && cast<IntegerType>(et).isUnsigned() && lo <= 0);
  auto host = [&](double x) {
    if (hasLow && x < lo)
      return x + bias;
    return x > hi ? x - bias : 0.0;
  };
  return elementwise(
      nc, {0}, et, [&](ArrayRef<double> v) { return host(v[0]); },
      [&](ArrayRef<int64_t> v) { return (int64_t)host((double)v[0]); },
      [&](ExprBuilder &e, ArrayRef<Value> v) {
        Value x = v[0];
        Value above = e.gt(x, e.c(hi));
        Value r = e.select(above, e.sub(x, e.c(bias)), e.c(0));
        if (!hasLow)
          return r;
        Value below = e.lt(x, e.c(lo));
        return e.select(below, e.add(x, e.c(bias)), r);
      });
}

/// Softsign: x / (1 + |x|).
LogicalResult importSoftsign(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return x / (1 + std::fabs(x)); },
      [](ExprBuilder &e, Value x) {
        return e.div(x, e.add(e.abs(x), e.c(1)));
      });
}

/// IsInf: x == +inf (detect_positive) or x == -inf (detect_negative).
LogicalResult importIsInf(NodeContext &nc) {
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input, got " << nc.elem(0);
  bool pos = nc.attrInt("detect_positive", 1) != 0;
  bool neg = nc.attrInt("detect_negative", 1) != 0;
  Type i1 = nc.b.getI1Type();
  if (!pos && !neg) {
    setFilled(nc, 0, nc.shape(0), i1, 0);
    return success();
  }
  return elementwise(
      nc, {0}, i1,
      [&](ArrayRef<double> v) -> double {
        return std::isinf(v[0]) && (v[0] > 0 ? pos : neg);
      },
      nullptr,
      [&](ExprBuilder &e, ArrayRef<Value> v) {
        if (pos && neg)
          return e.eq(e.abs(v[0]), e.c(INFINITY));
        return e.eq(v[0], e.c(pos ? INFINITY : -INFINITY));
      });
}

/// Sign: 1 where x > 0, -1 where x < 0, else x * 0 on floats (0, -0 and
/// NaN keep their meaning) and 0 on integers.
LogicalResult importSign(NodeContext &nc) {
  bool isFloat = isa<FloatType>(nc.elem(0));
  return elementwise(
      nc, {0}, nc.elem(0),
      [](ArrayRef<double> v) -> double {
        return v[0] > 0 ? 1 : v[0] < 0 ? -1 : v[0] * 0;
      },
      [](ArrayRef<int64_t> v) -> int64_t { return (v[0] > 0) - (v[0] < 0); },
      [&](ExprBuilder &e, ArrayRef<Value> v) {
        Value x = v[0];
        Value zero = isFloat ? e.mul(x, e.c(0)) : e.c(0);
        return e.select(e.gt(x, e.c(0)), e.c(1),
                        e.select(e.lt(x, e.c(0)), e.c(-1), zero));
      });
}

/// Sinh: (exp(x) - 1 / exp(x)) / 2.
LogicalResult importSinh(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return std::sinh(x); },
      [](ExprBuilder &e, Value x) {
        Value t = e.exp(x);
        return e.mul(e.sub(t, e.div(e.c(1), t)), e.c(0.5));
      });
}

/// Cosh: (exp(x) + 1 / exp(x)) / 2.
LogicalResult importCosh(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return std::cosh(x); },
      [](ExprBuilder &e, Value x) {
        Value t = e.exp(x);
        return e.mul(e.add(t, e.div(e.c(1), t)), e.c(0.5));
      });
}

/// Tan: sin(x) / cos(x).
LogicalResult importTan(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return std::tan(x); },
      [](ExprBuilder &e, Value x) {
        Value sin = e.sin(x);
        return e.div(sin, e.cos(x));
      });
}

/// log(1 + exp(x)) computed as max(x, 0) + log(1 + exp(-|x|)), which does
/// not overflow.
Value softplus(ExprBuilder &e, Value x) {
  Value tail = e.log(e.add(e.exp(e.neg(e.abs(x))), e.c(1)));
  return e.add(e.max(x, e.c(0)), tail);
}

double softplus(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
}

/// Softplus: log(1 + exp(x)).
LogicalResult importSoftplus(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return softplus(x); },
      [](ExprBuilder &e, Value x) { return softplus(e, x); });
}

/// Mish: x * tanh(softplus(x)).
LogicalResult importMish(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return x * std::tanh(softplus(x)); },
      [](ExprBuilder &e, Value x) { return e.mul(x, e.tanh(softplus(e, x))); });
}

/// Asinh: sign(x) * log(|x| + sqrt(x^2 + 1)), odd so that large negative x
/// does not cancel.
LogicalResult importAsinh(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return std::asinh(x); },
      [](ExprBuilder &e, Value x) {
        Value a = e.abs(x);
        Value r = e.log(e.add(a, e.sqrt(e.add(e.mul(a, a), e.c(1)))));
        Value negative = e.lt(x, e.c(0));
        return e.select(negative, e.neg(r), r);
      });
}

/// Acosh: log(x + sqrt(x^2 - 1)).
LogicalResult importAcosh(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return std::acosh(x); },
      [](ExprBuilder &e, Value x) {
        return e.log(e.add(x, e.sqrt(e.sub(e.mul(x, x), e.c(1)))));
      });
}

/// Atanh: log((1 + x) / (1 - x)) / 2.
LogicalResult importAtanh(NodeContext &nc) {
  return floatUnary(
      nc, [](double x) { return std::atanh(x); },
      [](ExprBuilder &e, Value x) {
        Value num = e.add(e.c(1), x);
        Value q = e.div(num, e.sub(e.c(1), x));
        return e.mul(e.log(q), e.c(0.5));
      });
}

/// EyeLike: a constant of the input's 2-D shape with ones on diagonal `k`,
/// of type `dtype` (the input's by default).
LogicalResult importEyeLike(NodeContext &nc) {
  if (nc.rank(0) != 2)
    return nc.error() << "expects a 2-D input, got rank " << nc.rank(0);
  Type et = nc.elem(0);
  if (const onnx::AttributeProto *a = nc.attr("dtype")) {
    et = elementTypeFor(nc.ctx(), a->i());
    if (!et)
      return nc.error() << "dtype=" << onnxTypeName(a->i())
                        << " is not supported";
  }
  int64_t rows = nc.shape(0)[0], cols = nc.shape(0)[1];
  if (*numElements(nc.shape(0)) > kFoldLimit * 16)
    return nc.error() << "a " << shapeStr(nc.shape(0))
                      << " result is too large to hold as a constant";
  int64_t k = nc.attrInt("k", 0);
  HostTensor out(et, nc.shape(0));
  for (int64_t r = std::max<int64_t>(0, -k); r < rows && r + k < cols; ++r)
    out.set(r * cols + r + k, 1);
  nc.setConst(0, std::move(out));
  return success();
}

/// LogSoftmax: x - m - log(sum(exp(x - m))) over `axis`, m the (finite)
/// maximum.
LogicalResult importLogSoftmax(NodeContext &nc) {
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input, got " << nc.elem(0);
  FailureOr<int64_t> axis = nc.axis(nc.attrInt("axis", -1), nc.rank(0));
  if (failed(axis))
    return failure();
  int64_t axes[] = {*axis};
  ExprBuilder e(nc, nc.elem(0));
  Value x = nc.in(0);
  Value shifted = e.sub(x, e.finiteMax(x, axes));
  Value lse = e.log(e.reduce<ReduceSumOp>(e.exp(shifted), axes, true));
  nc.set(0, e.sub(shifted, lse));
  return success();
}

using ReduceBuildFn =
    function_ref<Value(ExprBuilder &, Value, ArrayRef<int64_t>, bool)>;

/// A reduction composed as post(sum(pre(x))) over the node's axes (opset 18
/// takes them as an input): folded on the host with `pre`/`post`, else built
/// by `build(x, axes, keepdims)`. With no axes to reduce
/// (noop_with_empty_axes) the rest is still applied elementwise, as ONNX
/// defines (ReduceSumSquare squares).
LogicalResult composedReduce(NodeContext &nc, bool floatOnly,
                             double (*pre)(double), double (*post)(double),
                             ReduceBuildFn build) {
  Type et = nc.elem(0);
  if (floatOnly ? !isa<FloatType>(et) : !isa<FloatType>(et) && !isIndexType(et))
    return nc.error() << "expects a "
                      << (floatOnly ? "floating-point input" : "number")
                      << ", got " << et;
  FailureOr<SmallVector<int64_t>> axes = reductionAxes(nc, 18);
  if (failed(axes))
    return failure();
  bool keep = nc.attrInt("keepdims", 1) != 0;
  std::string why;
  FailureOr<Shape> s = reduceShape(nc.shape(0), *axes, keep, why);
  if (failed(s))
    return nc.fail(why);
  if (const HostTensor *c = nc.cst(0)) {
    HostTensor t(et, c->shape);
    for (int64_t k = 0; k < t.size(); ++k)
      t.set(k, pre(c->getF(k)));
    if (!axes->empty())
      t = foldReduce(t, *axes, *s, "sum");
    for (int64_t k = 0; k < t.size(); ++k)
      t.set(k, post(t.getF(k)));
    nc.setConst(0, std::move(t));
    return success();
  }
  ExprBuilder e(nc, et);
  nc.set(0, build(e, nc.in(0), *axes, keep));
  return success();
}

double identity(double x) { return x; }
double square(double x) { return x * x; }
double absolute(double x) { return std::fabs(x); }
double logarithm(double x) { return std::log(x); }
double sqroot(double x) { return std::sqrt(x); }
double exponential(double x) { return std::exp(x); }

/// ReduceL1: sum(|x|).
LogicalResult importReduceL1(NodeContext &nc) {
  return composedReduce(
      nc, false, absolute, identity,
      [](ExprBuilder &e, Value x, ArrayRef<int64_t> axes, bool keep) {
        return e.reduce<ReduceSumOp>(e.abs(x), axes, keep);
      });
}

/// ReduceL2: sqrt(sum(x^2)).
LogicalResult importReduceL2(NodeContext &nc) {
  return composedReduce(
      nc, true, square, sqroot,
      [](ExprBuilder &e, Value x, ArrayRef<int64_t> axes, bool keep) {
        return e.sqrt(e.reduce<ReduceSumOp>(e.mul(x, x), axes, keep));
      });
}

/// ReduceSumSquare: sum(x^2).
LogicalResult importReduceSumSquare(NodeContext &nc) {
  return composedReduce(
      nc, false, square, identity,
      [](ExprBuilder &e, Value x, ArrayRef<int64_t> axes, bool keep) {
        return e.reduce<ReduceSumOp>(e.mul(x, x), axes, keep);
      });
}

/// ReduceLogSum: log(sum(x)).
LogicalResult importReduceLogSum(NodeContext &nc) {
  return composedReduce(
      nc, true, identity, logarithm,
      [](ExprBuilder &e, Value x, ArrayRef<int64_t> axes, bool keep) {
        return e.log(e.reduce<ReduceSumOp>(x, axes, keep));
      });
}

/// ReduceLogSumExp: log(sum(exp(x - m))) + m, m the (finite) maximum.
LogicalResult importReduceLogSumExp(NodeContext &nc) {
  return composedReduce(
      nc, true, exponential, logarithm,
      [](ExprBuilder &e, Value x, ArrayRef<int64_t> axes, bool keep) {
        Value m = e.finiteMax(x, axes);
        Value sum = e.reduce<ReduceSumOp>(e.exp(e.sub(x, m)), axes, keep);
        Value log = e.log(sum);
        return e.add(log, e.reshape(m, shapeOf(sum)));
      });
}

} // namespace

void mlir::ditc::onnx_import::addActivationOps(OpTable &t) {
  t["Size"] = {importSize, 1};
  t["CastLike"] = {importCastLike, 15, 2};
  t["Dropout"] = {importDropout, 1};
  t["Clip"] = {importClip, 1};
  t["Or"] = {importOr, 1, 2};
  t["Xor"] = {importXor, 1, 2};
  t["GreaterOrEqual"] = {importGreaterOrEqual, 12, 2};
  t["LessOrEqual"] = {importLessOrEqual, 12, 2};
  t["Sum"] = {[](NodeContext &nc) { return sumInputs(nc, false); }, 1,
              OpInfo::kAllInputs};
  t["Mean"] = {[](NodeContext &nc) { return sumInputs(nc, true); }, 1,
               OpInfo::kAllInputs};
  t["HardSigmoid"] = {importHardSigmoid, 1};
  t["HardSwish"] = {importHardSwish, 14};
  t["Elu"] = {importElu, 1};
  t["Selu"] = {importSelu, 1};
  t["Celu"] = {importCelu, 12};
  t["LeakyRelu"] = {importLeakyRelu, 1};
  t["PRelu"] = {importPRelu, 1, 2};
  t["ThresholdedRelu"] = {importThresholdedRelu, 10};
  t["Shrink"] = {importShrink, 9};
  t["Softsign"] = {importSoftsign, 1};
  t["IsInf"] = {importIsInf, 10};
  t["Sign"] = {importSign, 9};
  t["Sinh"] = {importSinh, 9};
  t["Cosh"] = {importCosh, 9};
  t["Tan"] = {importTan, 7};
  t["EyeLike"] = {importEyeLike, 9};
  t["Softplus"] = {importSoftplus, 1};
  t["Mish"] = {importMish, 18};
  t["Asinh"] = {importAsinh, 9};
  t["Acosh"] = {importAcosh, 9};
  t["Atanh"] = {importAtanh, 9};
  t["LogSoftmax"] = {importLogSoftmax, 1};
  t["ReduceL1"] = {importReduceL1, 1};
  t["ReduceL2"] = {importReduceL2, 1};
  t["ReduceSumSquare"] = {importReduceSumSquare, 1};
  t["ReduceLogSum"] = {importReduceLogSum, 1};
  t["ReduceLogSumExp"] = {importReduceLogSumExp, 1};
}
