//===- OnnxOps.cpp - ONNX op handlers: math, casts, reductions ------------===//

#include "lib/Importer/Onnx/OnnxOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

const llvm::StringMap<OpInfo> &mlir::ditc::onnx_import::opRegistry() {
  static const OpTable table = [] {
    OpTable t;
    addMathOps(t);
    addMovementOps(t);
    addNeuralOps(t);
    addActivationOps(t);
    addRewrittenOps(t);
    addStructuredOps(t);
    for (auto [op, n] :
         {std::pair<StringRef, int>{"Constant", 0}, {"Add", 2}, {"Sub", 2},
          {"Mul", 2}, {"Div", 2}, {"Pow", 2}, {"And", 2}, {"Equal", 2},
          {"Greater", 2}, {"Less", 2}, {"Where", 3}, {"Range", 3},
          {"Reshape", 2}, {"Slice", 3}, {"Gather", 2}, {"Expand", 2},
          {"MatMul", 2}, {"Gemm", 2}, {"Conv", 2}, {"LayerNormalization", 2},
          {"GroupNormalization", 3}, {"RMSNormalization", 2},
          {"RotaryEmbedding", 3}, {"Attention", 3},
          {"Max", OpInfo::kAllInputs}, {"Min", OpInfo::kAllInputs},
          {"Einsum", OpInfo::kAllInputs}})
      t[op].requiredInputs = n;
    return t;
  }();
  return table;
}

FailureOr<Shape> mlir::ditc::onnx_import::broadcastInputs(NodeContext &nc,
                                                          ArrayRef<int> inputs) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (int i : inputs)
    shapes.push_back(nc.shape(i));
  std::string why;
  FailureOr<Shape> s = broadcastShapes(shapes, why);
  if (failed(s)) {
    (void)nc.fail(why);
    return failure();
  }
  if (failed(nc.tensorType(*s, nc.elem(inputs[0]))))
    return failure();
  return s;
}

Value mlir::ditc::onnx_import::scalarConstant(NodeContext &nc, Type et,
                                              double v) {
  HostTensor h(et, {});
  h.set(0, v);
  return ConstantOp::create(nc.b, nc.loc, h.toAttr());
}

bool mlir::ditc::onnx_import::isIndexType(Type t) {
  return isa<IntegerType>(t) && !t.isInteger(1);
}

Value mlir::ditc::onnx_import::castTo(NodeContext &nc, Value v, Type et) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() == et)
    return v;
  return CastOp::create(nc.b, nc.loc, RankedTensorType::get(t.getShape(), et),
                        v);
}

namespace {

using DoubleFn = double (*)(double, double);
using IntFn = int64_t (*)(int64_t, int64_t);

/// An elementwise binary op: folded when both inputs are known, else `OpT`.
template <typename OpT>
LogicalResult binary(NodeContext &nc, DoubleFn f, IntFn fi,
                     bool compare = false, int lhs = 0, Value rhsOverride = {}) {
  int rhs = lhs + 1;
  if (!rhsOverride && nc.elem(lhs) != nc.elem(rhs))
    return nc.error() << "operand element types differ (" << nc.elem(lhs)
                      << " and " << nc.elem(rhs) << ")";
  FailureOr<Shape> shape = broadcastInputs(nc, {lhs, rhs});
  if (failed(shape))
    return failure();
  Type et = compare ? Type(nc.b.getI1Type()) : nc.elem(lhs);
  if (!rhsOverride && nc.cst(lhs) && nc.cst(rhs) &&
      numElements(*shape).value_or(0) <= kFoldLimit) {
    nc.setConst(0, foldBroadcast(
                       {nc.cst(lhs), nc.cst(rhs)}, *shape, et,
                       [f](ArrayRef<double> v) { return f(v[0], v[1]); },
                       fi ? std::function<int64_t(ArrayRef<int64_t>)>(
                                [fi](ArrayRef<int64_t> v) {
                                  return fi(v[0], v[1]);
                                })
                          : nullptr));
    return success();
  }
  Value r = rhsOverride ? rhsOverride : nc.in(rhs);
  nc.set(0, OpT::create(nc.b, nc.loc, RankedTensorType::get(*shape, et),
                        nc.in(lhs), r));
  return success();
}

/// Variadic Max/Min: a chain of binary ops.
template <typename OpT>
LogicalResult variadic(NodeContext &nc, DoubleFn f, IntFn fi) {
  if (nc.numInputs() < 1)
    return nc.error() << "needs at least one input";
  SmallVector<int> idx;
  for (int i = 0; i < nc.numInputs(); ++i) {
    idx.push_back(i);
    if (nc.elem(i) != nc.elem(0))
      return nc.error() << "operand element types differ";
  }
  FailureOr<Shape> shape = broadcastInputs(nc, idx);
  if (failed(shape))
    return failure();
  if (nc.allConst() && numElements(*shape).value_or(0) <= kFoldLimit) {
    SmallVector<const HostTensor *> ins;
    for (int i : idx)
      ins.push_back(nc.cst(i));
    nc.setConst(0, foldBroadcast(
                       ins, *shape, nc.elem(0),
                       [f](ArrayRef<double> v) {
                         double r = v[0];
                         for (double x : v.drop_front())
                           r = f(r, x);
                         return r;
                       },
                       [fi](ArrayRef<int64_t> v) {
                         int64_t r = v[0];
                         for (int64_t x : v.drop_front())
                           r = fi(r, x);
                         return r;
                       }));
    return success();
  }
  Value acc = nc.in(0);
  for (int i = 1; i < nc.numInputs(); ++i) {
    std::string why;
    FailureOr<Shape> s = broadcastShapes(
        {cast<RankedTensorType>(acc.getType()).getShape(), nc.shape(i)}, why);
    acc = OpT::create(nc.b, nc.loc, RankedTensorType::get(*s, nc.elem(0)), acc,
                      nc.in(i));
  }
  nc.set(0, acc);
  return success();
}

/// A unary op on floats (or any type when `anyType`), folded when known.
template <typename OpT>
LogicalResult unary(NodeContext &nc, double (*f)(double), bool floatOnly = true) {
  if (floatOnly && !isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input, got " << nc.elem(0);
  if (const HostTensor *c = nc.cst(0); c && f) {
    HostTensor out(c->elementType, c->shape);
    for (int64_t k = 0; k < c->size(); ++k)
      out.set(k, f(c->getF(k)));
    nc.setConst(0, std::move(out));
    return success();
  }
  nc.set(0, OpT::create(nc.b, nc.loc, nc.type(0), nc.in(0)));
  return success();
}

int64_t safeDiv(int64_t a, int64_t b) {
  if (b == 0)
    return 0;
  if (a == INT64_MIN && b == -1)
    return a;
  return a / b;
}

int64_t intPow(int64_t base, int64_t exp) {
  if (exp < 0)
    return base == 1 ? 1 : base == -1 ? (exp % 2 ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)base;
  for (; exp; exp >>= 1, b *= b)
    if (exp & 1)
      r *= b;
  return (int64_t)r;
}

/// Pow: the result has the base's type. An exponent of another type is
/// converted to it, except that an integer base with a floating-point
/// exponent is raised in the exponent's type and converted back.
LogicalResult importPow(NodeContext &nc) {
  Type et = nc.elem(0), ex = nc.elem(1);
  if (ex == et)
    return binary<PowOp>(
        nc, [](double a, double b) { return std::pow(a, b); }, intPow);
  FailureOr<Shape> shape = broadcastInputs(nc, {0, 1});
  if (failed(shape))
    return failure();
  if (isa<IntegerType>(et) && isa<FloatType>(ex)) {
    Value p = PowOp::create(nc.b, nc.loc, RankedTensorType::get(*shape, ex),
                            castTo(nc, nc.in(0), ex), nc.in(1));
    nc.set(0, castTo(nc, p, et));
    return success();
  }
  Value e;
  if (const HostTensor *c = nc.cst(1))
    e = ConstantOp::create(nc.b, nc.loc, foldCast(*c, et).toAttr());
  else
    e = castTo(nc, nc.in(1), et);
  return binary<PowOp>(nc, nullptr, nullptr, false, 0, e);
}

LogicalResult importCast(NodeContext &nc) {
  Type to = elementTypeFor(nc.ctx(), nc.attrInt("to", 0));
  if (!to)
    return nc.error() << "unsupported target type "
                      << onnxTypeName(nc.attrInt("to", 0));
  if (const HostTensor *c = nc.cst(0)) {
    nc.setConst(0, foldCast(*c, to));
    return success();
  }
  nc.set(0, castTo(nc, nc.in(0), to));
  return success();
}

LogicalResult importIdentity(NodeContext &nc) {
  if (const HostTensor *c = nc.cst(0))
    nc.setConst(0, *c);
  else
    nc.set(0, nc.in(0));
  return success();
}

LogicalResult importWhere(NodeContext &nc) {
  if (!nc.elem(0).isInteger(1))
    return nc.error() << "condition must be boolean";
  if (nc.elem(1) != nc.elem(2))
    return nc.error() << "operand element types differ";
  FailureOr<Shape> shape = broadcastInputs(nc, {0, 1, 2});
  if (failed(shape))
    return failure();
  if (nc.allConst() && numElements(*shape).value_or(0) <= kFoldLimit) {
    auto pick = [](ArrayRef<double> v) { return v[0] != 0 ? v[1] : v[2]; };
    auto pickI = [](ArrayRef<int64_t> v) { return v[0] ? v[1] : v[2]; };
    nc.setConst(0, foldBroadcast({nc.cst(0), nc.cst(1), nc.cst(2)}, *shape,
                                 nc.elem(1), pick, pickI));
    return success();
  }
  nc.set(0, WhereOp::create(nc.b, nc.loc,
                            RankedTensorType::get(*shape, nc.elem(1)), nc.in(0),
                            nc.in(1), nc.in(2)));
  return success();
}

LogicalResult importIsNaN(NodeContext &nc) {
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input";
  auto type = RankedTensorType::get(nc.shape(0), nc.b.getI1Type());
  if (const HostTensor *c = nc.cst(0)) {
    HostTensor out(nc.b.getI1Type(), c->shape);
    for (int64_t k = 0; k < c->size(); ++k)
      out.i[k] = std::isnan(c->f[k]);
    nc.setConst(0, std::move(out));
    return success();
  }
  nc.set(0, IsNanOp::create(nc.b, nc.loc, type, nc.in(0)));
  return success();
}

LogicalResult importNot(NodeContext &nc) {
  if (!nc.elem(0).isInteger(1))
    return nc.error() << "expects a boolean input";
  return unary<NotOp>(nc, [](double x) { return x == 0 ? 1.0 : 0.0; }, false);
}

/// Abs: ditc.abs on floats; on integers x < 0 ? 0 - x : x (wrapping, as
/// ONNX's reference), folded when known.
LogicalResult importAbs(NodeContext &nc) {
  Type et = nc.elem(0);
  if (const HostTensor *c = nc.cst(0)) {
    HostTensor out(et, c->shape);
    for (int64_t k = 0; k < c->size(); ++k)
      out.set(k, std::fabs(c->getF(k)));
    nc.setConst(0, std::move(out));
    return success();
  }
  if (isa<FloatType>(et)) {
    nc.set(0, AbsOp::create(nc.b, nc.loc, nc.type(0), nc.in(0)));
    return success();
  }
  if (!isIndexType(et))
    return nc.error() << "expects a number, got " << et;
  Value x = nc.in(0), zero = scalarConstant(nc, et, 0);
  if (cast<IntegerType>(et).isUnsigned()) {
    nc.set(0, x);
    return success();
  }
  auto boolType = RankedTensorType::get(nc.shape(0), nc.b.getI1Type());
  Value neg = LessOp::create(nc.b, nc.loc, boolType, x, zero);
  Value flipped = SubOp::create(nc.b, nc.loc, nc.type(0), zero, x);
  nc.set(0, WhereOp::create(nc.b, nc.loc, nc.type(0), neg, flipped, x));
  return success();
}

LogicalResult importGelu(NodeContext &nc) {
  std::string approx = nc.attrStr("approximate", "none");
  GeluApproximation a;
  if (approx == "none")
    a = GeluApproximation::none;
  else if (approx == "tanh")
    a = GeluApproximation::tanh;
  else
    return nc.error() << "unknown approximate='" << approx << "'";
  if (!isa<FloatType>(nc.elem(0)))
    return nc.error() << "expects a floating-point input";
  nc.set(0, GeluOp::create(nc.b, nc.loc, nc.type(0), nc.in(0), a));
  return success();
}

LogicalResult importConstant(NodeContext &nc) {
  for (int k = 0; k < nc.node.attribute_size(); ++k) {
    const onnx::AttributeProto &a = nc.node.attribute(k);
    const std::string &n = a.name();
    if (n == "value")
      return defineConstantTensor(nc, a.t(), k);
    Builder b(nc.ctx());
    if (n == "value_float" || n == "value_floats") {
      bool one = n == "value_float";
      HostTensor h(b.getF32Type(),
                   one ? Shape{} : Shape{(int64_t)a.floats_size()});
      for (int64_t i = 0; i < h.size(); ++i)
        h.set(i, one ? a.f() : a.floats(i));
      nc.setConst(0, std::move(h));
      return success();
    }
    if (n == "value_int" || n == "value_ints") {
      bool one = n == "value_int";
      HostTensor h(b.getI64Type(), one ? Shape{} : Shape{(int64_t)a.ints_size()});
      for (int64_t i = 0; i < h.size(); ++i)
        h.i[i] = one ? a.i() : a.ints(i);
      nc.setConst(0, std::move(h));
      return success();
    }
    return nc.error() << "attribute '" << n << "' is not supported";
  }
  return nc.error() << "has no value attribute";
}

LogicalResult importConstantOfShape(NodeContext &nc) {
  FailureOr<SmallVector<int64_t>> shape = nc.constInts(0, "shape");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return nc.error() << "negative dimension in shape";
  HostTensor fill(Float32Type::get(nc.ctx()), {});
  if (const onnx::AttributeProto *a = nc.attr("value")) {
    std::string why;
    FailureOr<HostTensor> v = readTensor(nc.ctx(), a->t(), why);
    if (failed(v) || v->size() != 1)
      return nc.error() << "value must hold one element"
                        << (why.empty() ? "" : ": " + why);
    fill = *v;
  }
  FailureOr<RankedTensorType> type = nc.tensorType(*shape, fill.elementType);
  if (failed(type))
    return failure();
  int64_t n = *numElements(*shape);
  if (n <= kFoldLimit) {
    HostTensor out(fill.elementType, *shape);
    for (int64_t k = 0; k < n; ++k)
      out.set(k, fill.getF(0));
    if (!out.isFloat())
      for (int64_t k = 0; k < n; ++k)
        out.i[k] = fill.i[0];
    nc.setConst(0, std::move(out));
    return success();
  }
  HostTensor one = fill;
  DenseElementsAttr scalar = one.toAttr();
  nc.set(0, ConstantOp::create(
                nc.b, nc.loc,
                DenseElementsAttr::get(*type, scalar.getSplatValue<Attribute>())));
  return success();
}

LogicalResult importRange(NodeContext &nc) {
  const HostTensor *s = nc.cst(0), *l = nc.cst(1), *d = nc.cst(2);
  if (!s || !l || !d || s->size() != 1 || l->size() != 1 || d->size() != 1)
    return nc.error() << "start, limit and delta must be constant scalars "
                         "(shapes are static)";
  double start = s->getF(0), limit = l->getF(0), delta = d->getF(0);
  if (delta == 0)
    return nc.error() << "delta is zero";
  double count = std::ceil((limit - start) / delta);
  if (!(count <= (double)kFoldLimit * 64))
    return nc.error() << "range of " << count << " elements is too large";
  int64_t n = std::max<int64_t>(0, (int64_t)count);
  HostTensor out(s->elementType, {n});
  for (int64_t k = 0; k < n; ++k) {
    if (out.isFloat())
      out.set(k, start + k * delta);
    else
      out.i[k] = s->i[0] + k * d->i[0];
  }
  nc.setConst(0, std::move(out));
  return success();
}

} // namespace

FailureOr<SmallVector<int64_t>>
mlir::ditc::onnx_import::reductionAxes(NodeContext &nc, int64_t inputSince) {
  SmallVector<int64_t> axes;
  if (nc.opset >= inputSince) {
    if (nc.has(1)) {
      FailureOr<SmallVector<int64_t>> a = nc.constInts(1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else if (auto a = nc.attrInts("axes")) {
    axes = *a;
  }
  int64_t r = nc.rank(0);
  if (axes.empty()) {
    if (nc.attrInt("noop_with_empty_axes", 0))
      return axes;
    for (int64_t k = 0; k < r; ++k)
      axes.push_back(k);
    return axes;
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = nc.axis(a, r);
    if (failed(n))
      return failure();
    a = *n;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

namespace {

template <typename OpT>
LogicalResult reduce(NodeContext &nc, int64_t inputSince, StringRef kind) {
  FailureOr<SmallVector<int64_t>> axes = reductionAxes(nc, inputSince);
  if (failed(axes))
    return failure();
  if (axes->empty()) { // noop_with_empty_axes
    if (const HostTensor *c = nc.cst(0))
      nc.setConst(0, *c);
    else
      nc.set(0, nc.in(0));
    return success();
  }
  bool keep = nc.attrInt("keepdims", 1) != 0;
  std::string why;
  FailureOr<Shape> s = reduceShape(nc.shape(0), *axes, keep, why);
  if (failed(s))
    return nc.fail(why);
  if (const HostTensor *c = nc.cst(0)) {
    nc.setConst(0, foldReduce(*c, *axes, *s, kind));
    return success();
  }
  // The runtime reduces f32, f16, bf16, i32 and i64: booleans and narrower
  // integers go through i32, which holds them exactly (a sum or product
  // wraps back on the cast as in the narrow type).
  Type et = nc.elem(0);
  Type through = et;
  if (auto it = dyn_cast<IntegerType>(et); it && it.getWidth() < 32)
    through = nc.b.getI32Type();
  Value x = castTo(nc, nc.in(0), through);
  Value r = OpT::create(nc.b, nc.loc, RankedTensorType::get(*s, through), x,
                        *axes, keep);
  nc.set(0, castTo(nc, r, et));
  return success();
}

/// Mod: folded when both operands are known, else ditc.mod.
LogicalResult importMod(NodeContext &nc) {
  if (nc.elem(0) != nc.elem(1))
    return nc.error() << "operand element types differ";
  FailureOr<Shape> shape = broadcastInputs(nc, {0, 1});
  if (failed(shape))
    return failure();
  bool cMod = nc.attrInt("fmod", 0) != 0;
  if (!cMod && isa<FloatType>(nc.elem(0)))
    return nc.error() << "fmod=0 is only defined for integers";
  if (!nc.cst(0) || !nc.cst(1) ||
      numElements(*shape).value_or(0) > kFoldLimit) {
    nc.set(0, ModOp::create(nc.b, nc.loc,
                            RankedTensorType::get(*shape, nc.elem(0)),
                            nc.in(0), nc.in(1), cMod));
    return success();
  }
  nc.setConst(0, foldBroadcast(
                     {nc.cst(0), nc.cst(1)}, *shape, nc.elem(0),
                     [cMod](ArrayRef<double> v) {
                       double r = std::fmod(v[0], v[1]);
                       if (!cMod && r != 0 && ((r < 0) != (v[1] < 0)))
                         r += v[1];
                       return r;
                     },
                     [cMod](ArrayRef<int64_t> v) -> int64_t {
                       if (v[1] == 0)
                         return 0;
                       int64_t r = v[0] % v[1];
                       if (!cMod && r != 0 && ((r < 0) != (v[1] < 0)))
                         r += v[1];
                       return r;
                     }));
  return success();
}

} // namespace

void mlir::ditc::onnx_import::addMathOps(OpTable &t) {
  t["Mod"] = {importMod, 10};
  t["Add"] = {[](NodeContext &nc) {
                return binary<AddOp>(
                    nc, [](double a, double b) { return a + b; },
                    [](int64_t a, int64_t b) { return a + b; });
              },
              1};
  t["Sub"] = {[](NodeContext &nc) {
                return binary<SubOp>(
                    nc, [](double a, double b) { return a - b; },
                    [](int64_t a, int64_t b) { return a - b; });
              },
              1};
  t["Mul"] = {[](NodeContext &nc) {
                return binary<MulOp>(
                    nc, [](double a, double b) { return a * b; },
                    [](int64_t a, int64_t b) { return a * b; });
              },
              1};
  t["Div"] = {[](NodeContext &nc) {
                return binary<DivOp>(
                    nc, [](double a, double b) { return a / b; }, safeDiv);
              },
              1};
  t["Pow"] = {importPow, 1};
  t["Max"] = {[](NodeContext &nc) {
                return variadic<MaxOp>(
                    nc, [](double a, double b) { return std::max(a, b); },
                    [](int64_t a, int64_t b) { return std::max(a, b); });
              },
              1};
  t["Min"] = {[](NodeContext &nc) {
                return variadic<MinOp>(
                    nc, [](double a, double b) { return std::min(a, b); },
                    [](int64_t a, int64_t b) { return std::min(a, b); });
              },
              1};
  t["And"] = {[](NodeContext &nc) {
                if (!nc.elem(0).isInteger(1))
                  return nc.error() << "expects boolean inputs", failure();
                return binary<AndOp>(
                    nc, [](double a, double b) { return double(a && b); },
                    [](int64_t a, int64_t b) { return int64_t(a && b); });
              },
              1};
  t["Equal"] = {[](NodeContext &nc) {
                  return binary<EqualOp>(
                      nc, [](double a, double b) { return double(a == b); },
                      [](int64_t a, int64_t b) { return int64_t(a == b); },
                      true);
                },
                1};
  t["Greater"] = {[](NodeContext &nc) {
                    return binary<GreaterOp>(
                        nc, [](double a, double b) { return double(a > b); },
                        [](int64_t a, int64_t b) { return int64_t(a > b); },
                        true);
                  },
                  1};
  t["Less"] = {[](NodeContext &nc) {
                 return binary<LessOp>(
                     nc, [](double a, double b) { return double(a < b); },
                     [](int64_t a, int64_t b) { return int64_t(a < b); }, true);
               },
               1};
  t["Where"] = {importWhere, 1};
  t["Neg"] = {[](NodeContext &nc) {
                return unary<NegOp>(nc, [](double x) { return -x; }, false);
              },
              1};
  t["Not"] = {importNot, 1};
  t["Relu"] = {[](NodeContext &nc) {
                 return unary<ReluOp>(
                     nc, [](double x) { return x > 0 ? x : 0.0; }, false);
               },
               1};
  t["Sqrt"] = {[](NodeContext &nc) {
                 return unary<SqrtOp>(nc, [](double x) { return std::sqrt(x); });
               },
               1};
  t["Reciprocal"] = {[](NodeContext &nc) {
                       return unary<ReciprocalOp>(
                           nc, [](double x) { return 1.0 / x; });
                     },
                     1};
  t["Exp"] = {[](NodeContext &nc) {
                return unary<ExpOp>(nc, [](double x) { return std::exp(x); });
              },
              1};
  t["Erf"] = {[](NodeContext &nc) {
                return unary<ErfOp>(nc, [](double x) { return std::erf(x); });
              },
              1};
  t["Cos"] = {[](NodeContext &nc) {
                return unary<CosOp>(nc, [](double x) { return std::cos(x); });
              },
              1};
  t["Sin"] = {[](NodeContext &nc) {
                return unary<SinOp>(nc, [](double x) { return std::sin(x); });
              },
              1};
  t["Tanh"] = {[](NodeContext &nc) {
                 return unary<TanhOp>(nc, [](double x) { return std::tanh(x); });
               },
               1};
  t["Sigmoid"] = {[](NodeContext &nc) {
                    return unary<SigmoidOp>(
                        nc, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
                  },
                  1};
  t["IsNaN"] = {importIsNaN, 9};
  t["Gelu"] = {importGelu, 20};
  t["Cast"] = {importCast, 1};
  t["Identity"] = {importIdentity, 1};
  t["If"] = {importIf, 1};
  t["Constant"] = {importConstant, 1};
  t["ConstantOfShape"] = {importConstantOfShape, 9};
  t["Range"] = {importRange, 11};
  t["ReduceSum"] = {[](NodeContext &nc) {
                      return reduce<ReduceSumOp>(nc, 13, "sum");
                    },
                    1};
  t["ReduceMean"] = {[](NodeContext &nc) {
                       return reduce<ReduceMeanOp>(nc, 18, "mean");
                     },
                     1};
  t["ReduceMax"] = {[](NodeContext &nc) {
                      return reduce<ReduceMaxOp>(nc, 18, "max");
                    },
                    1};
  t["ReduceMin"] = {[](NodeContext &nc) {
                      return reduce<ReduceMinOp>(nc, 18, "min");
                    },
                    1};
  t["ReduceProd"] = {[](NodeContext &nc) {
                       return reduce<ReduceProdOp>(nc, 18, "prod");
                     },
                     1};
  t["Abs"] = {importAbs, 1};
  t["Log"] = {[](NodeContext &nc) {
                return unary<LogOp>(nc, [](double x) { return std::log(x); });
              },
              1};
  t["Floor"] = {[](NodeContext &nc) {
                  return unary<FloorOp>(nc,
                                        [](double x) { return std::floor(x); });
                },
                1};
  t["Ceil"] = {[](NodeContext &nc) {
                 return unary<CeilOp>(nc, [](double x) { return std::ceil(x); });
               },
               1};
  t["Round"] = {[](NodeContext &nc) {
                  return unary<RoundOp>(
                      nc, [](double x) { return std::nearbyint(x); });
                },
                1};
}
