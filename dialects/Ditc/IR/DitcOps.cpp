//===- DitcOps.cpp - ditc operations: verifiers, folders, canonicalisers --===//

#include "dialects/Ditc/IR/DitcOps.h"
#include "dialects/Ditc/IR/DitcShapes.h"
#include "dialects/Ditc/IR/DitcSharding.h"
#include "llvm/ADT/StringSet.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include <cmath>

using namespace mlir;
using namespace mlir::ditc;

/// Emits `why` on `op` when `expected` failed, or a mismatch when the result
/// shape differs from the rule's.
static LogicalResult checkResult(Operation *op, FailureOr<Shape> expected,
                                 const std::string &why, Value result) {
  if (failed(expected))
    return op->emitOpError(why);
  if (shapeOf(result) != ArrayRef<int64_t>(*expected))
    return op->emitOpError("result shape ")
           << shapeStr(shapeOf(result)) << " should be "
           << shapeStr(*expected);
  return success();
}

LogicalResult mlir::OpTrait::ditc::verifyBroadcasting(Operation *op) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : op->getOperands())
    shapes.push_back(shapeOf(v));
  std::string why;
  return checkResult(op, broadcastShapes(shapes, why), why, op->getResult(0));
}

//===----------------------------------------------------------------------===//
// Sources
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult WeightOp::verify() {
  if (getOffset() < 0)
    return emitOpError("negative offset");
  if (getName().empty())
    return emitOpError("weight needs a name");
  if (!numElements(getType().getShape()))
    return emitOpError("weight shape is too large");
  // A window lies inside the stored tensor.
  auto offset = (*this)->getAttrOfType<DenseI64ArrayAttr>(kWindowOffsetAttr);
  auto shape = (*this)->getAttrOfType<DenseI64ArrayAttr>(kWindowShapeAttr);
  auto stored = (*this)->getAttrOfType<DenseI64ArrayAttr>(kGlobalShapeAttr);
  if (offset || shape) {
    int64_t rank = getType().getRank();
    if (!offset || !shape || !stored || offset.size() != rank || shape.size() != rank ||
        stored.size() != rank)
      return emitOpError("a window needs ") << kWindowOffsetAttr << ", " << kWindowShapeAttr
                                            << " and " << kGlobalShapeAttr
                                            << " of the weight's rank";
    for (int64_t d = 0; d < rank; ++d)
      if (offset[d] < 0 || shape[d] < 0 || offset[d] + shape[d] > stored[d])
        return emitOpError("window dimension ") << d << " ends outside the stored tensor";
  }
  return success();
}

WeightWindow mlir::ditc::weightWindow(WeightOp w) {
  WeightWindow win;
  ArrayRef<int64_t> type = w.getType().getShape();
  auto stored = w->getAttrOfType<DenseI64ArrayAttr>(kGlobalShapeAttr);
  win.stored.assign(stored ? stored.asArrayRef() : type);
  auto offset = w->getAttrOfType<DenseI64ArrayAttr>(kWindowOffsetAttr);
  auto shape = w->getAttrOfType<DenseI64ArrayAttr>(kWindowShapeAttr);
  if (offset && shape) {
    win.offset.assign(offset.asArrayRef());
    win.shape.assign(shape.asArrayRef());
  } else {
    win.offset.assign(win.stored.size(), 0);
    win.shape = win.stored;
  }
  return win;
}

WeightOp mlir::ditc::weightPart(OpBuilder &b, WeightOp w, unsigned dim, int64_t offset,
                                int64_t size, StringRef tag) {
  WeightWindow win = weightWindow(w);
  ArrayRef<int64_t> type = w.getType().getShape();
  if (w->hasAttr(kShardAttr) || ArrayRef<int64_t>(win.shape) != type || dim >= type.size() ||
      offset < 0 || offset + size > type[dim])
    return {};
  SmallVector<int64_t> shape(type);
  shape[dim] = size;
  auto part = cast<WeightOp>(b.clone(*w));
  part.getResult().setType(RankedTensorType::get(shape, w.getType().getElementType()));
  part.setName((w.getName() + "@" + tag + Twine(offset) + "+" + Twine(size)).str());
  if (!w->hasAttr(kSourceNameAttr))
    part->setAttr(kSourceNameAttr, w.getNameAttr());
  win.offset[dim] += offset;
  part->setAttr(kGlobalShapeAttr, b.getDenseI64ArrayAttr(win.stored));
  part->setAttr(kWindowOffsetAttr, b.getDenseI64ArrayAttr(win.offset));
  part->setAttr(kWindowShapeAttr, b.getDenseI64ArrayAttr(shape));
  return part;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Whether `attr` is a splat of `value` (integers or floats).
static bool isSplatOf(Attribute attr, double value) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  Type et = dense.getElementType();
  if (isa<FloatType>(et))
    return dense.getSplatValue<APFloat>().convertToDouble() == value;
  if (et.isInteger(1))
    return false;
  if (isa<IntegerType>(et))
    return dense.getSplatValue<APInt>().getSExtValue() == (int64_t)value;
  return false;
}

/// x op c -> x when c is the identity and broadcasting adds nothing.
static OpFoldResult foldIdentity(Value lhs, Value rhs, Attribute lhsAttr,
                                 Attribute rhsAttr, Type resultType,
                                 double identity, bool commutative) {
  if (isSplatOf(rhsAttr, identity) && lhs.getType() == resultType)
    return lhs;
  if (commutative && isSplatOf(lhsAttr, identity) &&
      rhs.getType() == resultType)
    return rhs;
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldIdentity(getLhs(), getRhs(), adaptor.getLhs(), adaptor.getRhs(),
                      getType(), 0.0, true);
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldIdentity(getLhs(), getRhs(), adaptor.getLhs(), adaptor.getRhs(),
                      getType(), 1.0, true);
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldIdentity(getLhs(), getRhs(), adaptor.getLhs(), adaptor.getRhs(),
                      getType(), 0.0, false);
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldIdentity(getLhs(), getRhs(), adaptor.getLhs(), adaptor.getRhs(),
                      getType(), 1.0, false);
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// Reductions and normalisation
//===----------------------------------------------------------------------===//

template <typename ReduceT>
static LogicalResult verifyReduce(ReduceT op) {
  std::string why;
  return checkResult(op, reduceShape(shapeOf(op.getInput()), op.getAxes(),
                                     op.getKeepDims(), why),
                     why, op.getResult());
}
LogicalResult ReduceSumOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMeanOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMaxOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMinOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceProdOp::verify() { return verifyReduce(*this); }

LogicalResult SoftmaxOp::verify() {
  int64_t axis = getAxis();
  if (axis < 0 || axis >= getType().getRank())
    return emitOpError("axis ") << axis << " out of range";
  return success();
}

/// Checks the common shape of the trailing-axis norms.
static LogicalResult verifyTrailingNorm(Operation *op, Value input,
                                        int64_t axis, ValueRange params) {
  auto type = cast<RankedTensorType>(input.getType());
  if (axis < 0 || axis >= type.getRank())
    return op->emitOpError("axis ") << axis << " out of range";
  if (op->getResult(0).getType() != type)
    return op->emitOpError("result type must equal the input type");
  ArrayRef<int64_t> normalized = type.getShape().drop_front(axis);
  for (Value p : params) {
    auto pt = cast<RankedTensorType>(p.getType());
    if (pt.getElementType() != type.getElementType())
      return op->emitOpError("scale and bias must have the input's element type");
    if (!broadcastsTo(pt.getShape(), normalized))
      return op->emitOpError("parameter shape ")
             << shapeStr(pt.getShape())
             << " does not broadcast to the normalised shape "
             << shapeStr(normalized);
  }
  return success();
}

FailureOr<int64_t> LayerNormOp::modulationGroups(ArrayRef<int64_t> x,
                                                  int64_t axis,
                                                  ArrayRef<int64_t> mod) {
  if (mod.size() != x.size() || axis < 0 || axis > (int64_t)x.size() ||
      mod.drop_front(axis) != x.drop_front(axis))
    return failure();
  // Leading dims: equal to the input's, then (a suffix) 1.
  int64_t groups = 1, d = 0;
  for (; d < axis && mod[d] == x[d]; ++d)
    groups *= x[d];
  for (; d < axis; ++d)
    if (mod[d] != 1)
      return failure();
  return groups;
}

int64_t LayerNormOp::getModulationGroups() {
  for (Value m : {getModScale(), getModShift()})
    if (m)
      if (FailureOr<int64_t> g =
              modulationGroups(shapeOf(getInput()), getAxis(), shapeOf(m));
          succeeded(g))
        return *g;
  return 1;
}

LayerNormOp::Modulation LayerNormOp::getModulation() {
  Modulation m;
  if (getModScale() || getModShift())
    return m;
  // The sole user of `v` when it is an Op in the same block with the same
  // type and discardable attributes, and its other operand.
  auto soleUser = [&](Value v, auto tag, Value &other) -> Operation * {
    using Op = decltype(tag);
    if (!v.hasOneUse())
      return nullptr;
    auto user = dyn_cast<Op>(*v.getUsers().begin());
    if (!user || user->getBlock() != getOperation()->getBlock() ||
        user.getType() != getType() ||
        user->getDiscardableAttrDictionary() !=
            getOperation()->getDiscardableAttrDictionary())
      return nullptr;
    other = user.getLhs() == v ? user.getRhs() : user.getLhs();
    FailureOr<int64_t> g =
        modulationGroups(shapeOf(getInput()), getAxis(), shapeOf(other));
    if (failed(g) || typeOf(other).getElementType() != getType().getElementType())
      return nullptr;
    return user;
  };
  m.mul = soleUser(getResult(), MulOp(), m.scale);
  if (!m.mul)
    return Modulation();
  m.add = soleUser(m.mul->getResult(0), AddOp(), m.shift);
  if (m.add && shapeOf(m.shift) != shapeOf(m.scale)) {
    m.add = nullptr;
    m.shift = Value();
  }
  return m;
}

LogicalResult LayerNormOp::verify() {
  SmallVector<Value> params;
  if (getScale())
    params.push_back(getScale());
  if (getBias())
    params.push_back(getBias());
  if (failed(verifyTrailingNorm(*this, getInput(), getAxis(), params)))
    return failure();
  if (getModScaleOffsetAttr() && !getModScale())
    return emitOpError("mod_scale_offset needs a mod_scale");
  std::optional<int64_t> groups;
  for (Value m : {getModScale(), getModShift()}) {
    if (!m)
      continue;
    if (typeOf(m).getElementType() != typeOf(getInput()).getElementType())
      return emitOpError("mod_scale and mod_shift must have the input's "
                         "element type");
    FailureOr<int64_t> g =
        modulationGroups(shapeOf(getInput()), getAxis(), shapeOf(m));
    if (failed(g))
      return emitOpError("modulation shape ")
             << shapeStr(shapeOf(m)) << " must be the input's "
             << shapeStr(shapeOf(getInput()))
             << " with a suffix of the dims before the axis set to 1";
    if (groups && *groups != *g)
      return emitOpError("mod_scale and mod_shift must have the same shape");
    groups = *g;
  }
  return success();
}

LogicalResult RmsNormOp::verify() {
  SmallVector<Value> params;
  if (getScale())
    params.push_back(getScale());
  return verifyTrailingNorm(*this, getInput(), getAxis(), params);
}

LogicalResult GroupNormOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.size() < 2)
    return emitOpError("input needs rank >= 2 (N, C, ...)");
  if (getNumGroups() < 1 || in[1] % getNumGroups())
    return emitOpError("channel count ")
           << in[1] << " is not a multiple of num_groups " << getNumGroups();
  for (Value p : {getScale(), getBias()})
    if (shapeOf(p) != ArrayRef<int64_t>{in[1]})
      return emitOpError("scale and bias must have shape [C] = [")
             << in[1] << "]";
  if (getType() != getInput().getType())
    return emitOpError("result type must equal the input type");
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

static LogicalResult checkSameElementType(Operation *op) {
  Type et = cast<RankedTensorType>(op->getResult(0).getType()).getElementType();
  for (Value v : op->getOperands())
    if (cast<RankedTensorType>(v.getType()).getElementType() != et)
      return op->emitOpError("operands and result must share an element type");
  return success();
}

LogicalResult MatmulOp::verify() {
  if (failed(checkSameElementType(*this)))
    return failure();
  std::string why;
  return checkResult(*this, matmulShape(shapeOf(getLhs()), shapeOf(getRhs()), why),
                     why, getResult());
}

Operation *LinearOp::getActivationUser() {
  if (getActivation() || !getResult().hasOneUse())
    return nullptr;
  Operation *user = *getResult().getUsers().begin();
  return isa<GeluOp, SiluOp>(user) ? user : nullptr;
}

LogicalResult LinearOp::verify() {
  if (failed(checkSameElementType(*this)))
    return failure();
  std::string why;
  FailureOr<Shape> s = linearShape(shapeOf(getInput()), shapeOf(getWeight()),
                                   getTransposeWeight(), why);
  if (failed(checkResult(*this, s, why, getResult())))
    return failure();
  if (getBias() && shapeOf(getBias()) != ArrayRef<int64_t>{s->back()})
    return emitOpError("bias shape ")
           << shapeStr(shapeOf(getBias())) << " should be " << s->back();
  return success();
}

LogicalResult EinsumOp::verify() {
  SmallVector<int64_t> ranks;
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : getInputs()) {
    shapes.push_back(shapeOf(v));
    ranks.push_back(shapes.back().size());
  }
  std::string why;
  FailureOr<EinsumSpec> spec = parseEinsum(getEquation(), ranks, why);
  if (failed(spec))
    return emitOpError(why);
  return checkResult(*this, einsumShape(*spec, shapes, why), why, getResult());
}

LogicalResult ConvOp::verify() {
  if (failed(checkSameElementType(*this)))
    return failure();
  std::string why;
  FailureOr<Shape> s =
      convShape(shapeOf(getInput()), shapeOf(getWeight()), getStrides(),
                getPads(), getDilations(), getGroup(), why);
  if (failed(checkResult(*this, s, why, getResult())))
    return failure();
  if (getBias() && shapeOf(getBias()) != ArrayRef<int64_t>{(*s)[1]})
    return emitOpError("bias must have one entry per output channel");
  return success();
}

LogicalResult AttentionOp::verify() {
  Type et = getType().getElementType();
  for (Value v : {getQuery(), getKey(), getValue()})
    if (cast<RankedTensorType>(v.getType()).getElementType() != et)
      return emitOpError("query, key, value and result must share an element type");
  std::optional<ArrayRef<int64_t>> mask;
  if (getMask()) {
    mask = shapeOf(getMask());
    Type mt = cast<RankedTensorType>(getMask().getType()).getElementType();
    // An additive mask is of the query's type, or f32 for 16-bit queries
    // (ditc compile --dtype keeps masks f32).
    if (!mt.isInteger(1) && mt != et && !(mt.isF32() && et.getIntOrFloatBitWidth() == 16))
      return emitOpError("mask must be boolean, of the query's element type, or f32 "
                         "for 16-bit queries");
  }
  if (getScale() && getScale()->isZero())
    return emitOpError("scale must be non-zero");
  if (getQueryOffset() && !getCausal())
    return emitOpError("query_offset is for causal attention only");
  if (std::optional<ArrayRef<bool>> seq = getSeqMajor(); seq && seq->size() != 4)
    return emitOpError("seq_major needs four entries (query, key, value, result), not ")
           << seq->size();
  // The shapes as [B, H, S, D], then the result in its layout.
  auto bhsd = [&](Tensor t) -> Shape {
    ArrayRef<int64_t> s = shapeOf(tensor(t));
    if (s.size() != 4)
      return Shape(s);
    std::array<int64_t, 4> h = headSizes(t);
    return Shape(h.begin(), h.end());
  };
  std::string why;
  FailureOr<Shape> expected =
      attentionShape(bhsd(kQuery), bhsd(kKey), bhsd(kValue), mask, why);
  if (succeeded(expected) && isSeqMajor(kResult))
    std::swap((*expected)[1], (*expected)[2]);
  return checkResult(*this, expected, why, getResult());
}

// The layout accessors of ditc.attention and ditc.ring_attention, which
// share `seq_major` and the names of their four tensors.
namespace {
template <class Op>
bool seqMajorOf(Op op, AttentionOp::Tensor t) {
  std::optional<ArrayRef<bool>> seq = op.getSeqMajor();
  return seq && t < seq->size() && (*seq)[t];
}

template <class Op>
Value attentionTensor(Op op, AttentionOp::Tensor t) {
  switch (t) {
  case AttentionOp::kQuery:
    return op.getQuery();
  case AttentionOp::kKey:
    return op.getKey();
  case AttentionOp::kValue:
    return op.getValue();
  case AttentionOp::kResult:
    return op.getResult();
  }
  llvm_unreachable("not an attention tensor");
}

std::array<unsigned, 4> layoutDimsOf(bool seqMajor) {
  if (seqMajor)
    return {0, 2, 1, 3};
  return {0, 1, 2, 3};
}

template <class Op>
std::array<int64_t, 4> headSizesOf(Op op, AttentionOp::Tensor t) {
  ArrayRef<int64_t> s = shapeOf(attentionTensor(op, t));
  std::array<unsigned, 4> d = layoutDimsOf(seqMajorOf(op, t));
  return {s[d[0]], s[d[1]], s[d[2]], s[d[3]]};
}
} // namespace

bool AttentionOp::isSeqMajor(Tensor t) { return seqMajorOf(*this, t); }
std::array<unsigned, 4> AttentionOp::layoutDims(Tensor t) {
  return layoutDimsOf(isSeqMajor(t));
}
std::array<int64_t, 4> AttentionOp::headSizes(Tensor t) { return headSizesOf(*this, t); }
Value AttentionOp::tensor(Tensor t) { return attentionTensor(*this, t); }

bool RingAttentionOp::isSeqMajor(Tensor t) { return seqMajorOf(*this, t); }
std::array<unsigned, 4> RingAttentionOp::layoutDims(Tensor t) {
  return layoutDimsOf(isSeqMajor(t));
}
std::array<int64_t, 4> RingAttentionOp::headSizes(Tensor t) { return headSizesOf(*this, t); }
Value RingAttentionOp::tensor(Tensor t) { return attentionTensor(*this, t); }

LogicalResult ChunkOffsetOp::verify() {
  if (getStride() < 1)
    return emitOpError("stride must be positive");
  if (Value base = getBase()) {
    auto outer = base.getDefiningOp<ChunkOffsetOp>();
    if (!outer || outer->getParentOp() == (*this)->getParentOp() ||
        !outer->getParentOp()->isProperAncestor(getOperation()))
      return emitOpError("base must be the ditc.chunk_offset of an enclosing loop");
  }
  auto loop = cast<ChunkOp>((*this)->getParentOp());
  if (int64_t n = loop.getUnevenSize(); n && getStride() != ChunkOp::chunkSize(n, loop.getCount()))
    return emitOpError("stride ") << getStride() << " is not the chunk size "
                                  << ChunkOp::chunkSize(n, loop.getCount())
                                  << " of its uneven loop (" << loop.getCount()
                                  << " chunks of " << n << ")";
  return success();
}

double AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> s = getScale())
    return s->convertToDouble();
  return 1.0 / std::sqrt((double)shapeOf(getQuery()).back());
}

LogicalResult RopeOp::verify() {
  ArrayRef<int64_t> x = shapeOf(getInput()), c = shapeOf(getCos());
  if (x.empty())
    return emitOpError("input needs rank >= 1");
  if (c != shapeOf(getSin()))
    return emitOpError("cos and sin shapes differ");
  if (c.empty() || c.size() > x.size() || c.back() % 2 || c.back() < 2 ||
      c.back() > x.back() || !broadcastsTo(c.drop_back(), x.drop_back()))
    return emitOpError("cos/sin ")
           << shapeStr(c) << " must broadcast to input " << shapeStr(x)
           << " with an even last dimension of at most " << x.back();
  if (getType() != getInput().getType() ||
      cast<RankedTensorType>(getCos().getType()).getElementType() !=
          getType().getElementType())
    return emitOpError("element types must match and result type must equal "
                       "the input type");
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

static LogicalResult checkSameElement(Operation *op, Value in, Value out) {
  if (cast<RankedTensorType>(in.getType()).getElementType() !=
      cast<RankedTensorType>(out.getType()).getElementType())
    return op->emitOpError("input and result element types differ");
  return success();
}

LogicalResult ReshapeOp::verify() {
  if (failed(checkSameElement(*this, getInput(), getResult())))
    return failure();
  if (numElements(shapeOf(getInput())) != numElements(shapeOf(getResult())))
    return emitOpError("cannot reshape ")
           << shapeStr(shapeOf(getInput())) << " to "
           << shapeStr(shapeOf(getResult()));
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  return {};
}

namespace {
/// reshape(reshape(x)) -> reshape(x).
struct ComposeReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getInput());
    return success();
  }
};

/// transpose(transpose(x, p1), p2) -> transpose(x, p1[p2[i]]).
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> perm;
    for (int64_t p : op.getPermutation())
      perm.push_back(inner.getPermutation()[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, op.getType(), inner.getInput(),
                                             perm);
    return success();
  }
};
/// transpose(reshape(x)) -> reshape(transpose(x)) when the transpose only
/// swaps the last two axes and the reshape only regroups the leading (batch)
/// axes. Exporters write K^T this way ([B*H, S, D] -> [B*H, D, S]); sinking
/// the transpose lets it cancel against its neighbours.
struct SinkTransposeThroughBatchReshape : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto reshape = op.getInput().getDefiningOp<ReshapeOp>();
    if (!reshape || !reshape->hasOneUse())
      return failure();
    ArrayRef<int64_t> perm = op.getPermutation();
    int64_t n = perm.size();
    if (n < 2 || perm[n - 1] != n - 2 || perm[n - 2] != n - 1)
      return failure();
    for (int64_t k = 0; k + 2 < n; ++k)
      if (perm[k] != k)
        return failure();
    ArrayRef<int64_t> in = shapeOf(reshape.getInput());
    ArrayRef<int64_t> mid = shapeOf(reshape.getResult());
    int64_t m = in.size();
    if (m < 2 || in.take_back(2) != mid.take_back(2))
      return failure();
    SmallVector<int64_t> innerPerm;
    for (int64_t k = 0; k + 2 < m; ++k)
      innerPerm.push_back(k);
    innerPerm.push_back(m - 1);
    innerPerm.push_back(m - 2);
    SmallVector<int64_t> tShape(in.begin(), in.end());
    std::swap(tShape[m - 1], tShape[m - 2]);
    auto et = op.getType().getElementType();
    Value t = TransposeOp::create(rewriter, op.getLoc(),
                                  RankedTensorType::get(tShape, et),
                                  reshape.getInput(), innerPerm);
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), t);
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<ComposeReshapes>(context);
}

LogicalResult TransposeOp::verify() {
  if (failed(checkSameElement(*this, getInput(), getResult())))
    return failure();
  std::string why;
  return checkResult(*this,
                     transposeShape(shapeOf(getInput()), getPermutation(), why),
                     why, getResult());
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (llvm::equal(getPermutation(),
                  llvm::seq<int64_t>(0, getPermutation().size())))
    return getInput();
  // Moving the axes of a splat or of unit dimensions only is a reshape of
  // a constant.
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (dense.isSplat())
      return dense.reshape(getType());
  return {};
}

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<ComposeTransposes, SinkTransposeThroughBatchReshape>(context);
}

LogicalResult ConcatOp::verify() {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : getInputs()) {
    if (failed(checkSameElement(*this, v, getResult())))
      return failure();
    shapes.push_back(shapeOf(v));
  }
  std::string why;
  return checkResult(*this, concatShape(shapes, getAxis(), why), why,
                     getResult());
}

LogicalResult SplitOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= (int64_t)in.size())
    return emitOpError("axis ") << axis << " out of range";
  if (getResults().empty())
    return emitOpError("needs at least one result");
  int64_t total = 0;
  for (Value r : getResults()) {
    if (failed(checkSameElement(*this, getInput(), r)))
      return failure();
    ArrayRef<int64_t> s = shapeOf(r);
    if (s.size() != in.size())
      return emitOpError("results must have the input's rank");
    for (size_t i = 0; i < in.size(); ++i)
      if ((int64_t)i != axis && s[i] != in[i])
        return emitOpError("results differ from the input off the split axis");
    total += s[axis];
  }
  if (total != in[axis])
    return emitOpError("pieces add up to ")
           << total << " along axis " << axis << ", input has " << in[axis];
  return success();
}

LogicalResult SliceOp::verify() {
  if (failed(checkSameElement(*this, getInput(), getResult())))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput()), out = shapeOf(getResult());
  if (getOffsets().size() != in.size() || getSteps().size() != in.size() ||
      out.size() != in.size())
    return emitOpError("offsets, steps and result must match the input rank");
  for (size_t i = 0; i < in.size(); ++i) {
    int64_t o = getOffsets()[i], s = getSteps()[i], n = out[i];
    if (s == 0)
      return emitOpError("zero step on axis ") << i;
    if (n == 0)
      continue;
    int64_t last = o + (n - 1) * s;
    if (o < 0 || o >= in[i] || last < 0 || last >= in[i])
      return emitOpError("window leaves the input on axis ") << i;
  }
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType() &&
      llvm::all_of(getOffsets(), [](int64_t o) { return o == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  return {};
}

LogicalResult GatherOp::verify() {
  if (failed(checkSameElement(*this, getData(), getResult())))
    return failure();
  std::string why;
  return checkResult(*this,
                     gatherShape(shapeOf(getData()), shapeOf(getIndices()),
                                 getAxis(), why),
                     why, getResult());
}

LogicalResult BroadcastOp::verify() {
  if (failed(checkSameElement(*this, getInput(), getResult())))
    return failure();
  if (!broadcastsTo(shapeOf(getInput()), shapeOf(getResult())))
    return emitOpError("cannot broadcast ")
           << shapeStr(shapeOf(getInput())) << " to "
           << shapeStr(shapeOf(getResult()));
  return success();
}

OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (dense.isSplat())
      return DenseElementsAttr::get(getType(), dense.getSplatValue<Attribute>());
  return {};
}

LogicalResult TriluOp::verify() {
  if (getType().getRank() < 2)
    return emitOpError("input needs rank >= 2");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Ditc/IR/DitcOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

/// The group size of a collective's `axes`: every name must be a mesh axis,
/// at most once. Fails with a diagnostic.
static FailureOr<int64_t> verifyGroup(Operation *op, ArrayAttr axes) {
  FailureOr<Mesh> mesh = Mesh::of(op);
  if (failed(mesh))
    return failure();
  if (axes.empty())
    return op->emitOpError("needs at least one mesh axis"), failure();
  llvm::StringSet<> seen;
  for (Attribute a : axes) {
    StringRef name = cast<StringAttr>(a).getValue();
    if (mesh->indexOf(name) < 0)
      return op->emitOpError("axis '") << name << "' is not an axis of the module's ditc.mesh",
             failure();
    if (!seen.insert(name).second)
      return op->emitOpError("names axis '") << name << "' twice", failure();
  }
  return mesh->groupSize(axes);
}

/// Result shape = input shape with `scale` applied per dim (mul > 0, div < 0).
static LogicalResult verifyScaled(Operation *op, int64_t axis, int64_t mulAxis,
                                  int64_t divAxis, int64_t p) {
  auto in = cast<RankedTensorType>(op->getOperand(0).getType());
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  if (in.getElementType() != out.getElementType() || in.getRank() != out.getRank())
    return op->emitOpError("result must have the input's element type and rank");
  if (axis < 0 || axis >= in.getRank())
    return op->emitOpError("axis ") << axis << " out of range for rank " << in.getRank();
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t want = in.getDimSize(d);
    if (d == mulAxis)
      want *= p;
    if (d == divAxis) {
      if (want % p)
        return op->emitOpError("dimension ") << d << " (" << want
                                             << ") does not divide by the group size " << p;
      want /= p;
    }
    if (out.getDimSize(d) != want)
      return op->emitOpError("result dimension ") << d << " should be " << want
                                                   << " for a group of " << p;
  }
  return success();
}

LogicalResult AllGatherOp::verify() {
  FailureOr<int64_t> p = verifyGroup(*this, getAxes());
  if (failed(p))
    return failure();
  return verifyScaled(*this, getAxis(), getAxis(), -1, *p);
}

LogicalResult AllReduceOp::verify() {
  if (failed(verifyGroup(*this, getAxes())))
    return failure();
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  return success();
}

LogicalResult ReduceScatterOp::verify() {
  FailureOr<int64_t> p = verifyGroup(*this, getAxes());
  if (failed(p))
    return failure();
  return verifyScaled(*this, getAxis(), -1, getAxis(), *p);
}

LogicalResult ShardOp::verify() {
  FailureOr<int64_t> p = verifyGroup(*this, getAxes());
  if (failed(p))
    return failure();
  return verifyScaled(*this, getAxis(), -1, getAxis(), *p);
}

LogicalResult AllToAllOp::verify() {
  FailureOr<int64_t> p = verifyGroup(*this, getAxes());
  if (failed(p))
    return failure();
  if (getSplitAxis() == getConcatAxis())
    return emitOpError("split_axis and concat_axis must differ");
  int64_t rank = getInput().getType().getRank();
  if (getConcatAxis() < 0 || getConcatAxis() >= rank)
    return emitOpError("concat_axis out of range");
  return verifyScaled(*this, getSplitAxis(), getConcatAxis(), getSplitAxis(), *p);
}

LogicalResult RingAttentionOp::verify() {
  if (failed(verifyGroup(*this, getAxes())))
    return failure();
  if (getQuery().getType().getRank() != 4 || getKey().getType().getRank() != 4 ||
      getValue().getType().getRank() != 4 || getType().getRank() != 4)
    return emitOpError("query, key, value and result must be [B, H, S, D]");
  if (std::optional<ArrayRef<bool>> seq = getSeqMajor(); seq && seq->size() != 4)
    return emitOpError("seq_major needs four entries (query, key, value, result), not ")
           << seq->size();
  // Sizes as [B, H, S, D] whatever the layout.
  std::array<int64_t, 4> q = headSizes(AttentionOp::kQuery), k = headSizes(AttentionOp::kKey),
                         v = headSizes(AttentionOp::kValue);
  if (k[2] != v[2] || k[1] == 0 || q[1] % k[1])
    return emitOpError("key/value lengths differ or heads do not group");
  std::array<int64_t, 4> want = {q[0], q[1], q[2], v[3]};
  if (headSizes(AttentionOp::kResult) != want)
    return emitOpError("result must be [B, H, Sq, Dv] (in its layout)");
  if (auto inner = getInnerAttr()) {
    ArrayRef<Attribute> all = getAxes().getValue(), in = inner.getValue();
    if (in.empty() || in.size() >= all.size() || all.take_back(in.size()) != in)
      return emitOpError("inner must be the trailing axes of axes, not all of them");
  }
  return success();
}

/// `peer` / `root` must be a rank of the group over `axes`.
static LogicalResult verifyPeer(Operation *op, ArrayAttr axes, int64_t peer,
                                StringRef what) {
  FailureOr<int64_t> p = verifyGroup(op, axes);
  if (failed(p))
    return failure();
  if (peer < 0 || peer >= *p)
    return op->emitOpError(what) << " " << peer << " is not a rank of the group of " << *p;
  return success();
}

LogicalResult SendOp::verify() {
  if ((int64_t)getTag() < 0)
    return emitOpError("tag must be >= 0");
  return verifyPeer(*this, getAxes(), getPeer(), "peer");
}

LogicalResult RecvOp::verify() {
  if ((int64_t)getTag() < 0)
    return emitOpError("tag must be >= 0");
  return verifyPeer(*this, getAxes(), getPeer(), "peer");
}

LogicalResult KvCacheUpdateOp::verify() {
  auto in = getInput().getType(), out = getType();
  int64_t axis = getAxis(), offset = getOffset();
  if (in.getRank() != out.getRank() || axis < 0 || axis >= out.getRank())
    return emitOpError("axis ") << axis << " is not a dimension of both the input and the buffer";
  if (in.getElementType() != out.getElementType())
    return emitOpError("input and buffer element types differ");
  for (int64_t d = 0; d < out.getRank(); ++d)
    if (d != axis && in.getDimSize(d) != out.getDimSize(d))
      return emitOpError("input and buffer differ in dimension ") << d;
  int64_t blocks = getBlocks(), stride = getStride();
  if (blocks < 1 || in.getDimSize(axis) % blocks)
    return emitOpError("blocks ") << blocks << " do not divide the input's "
                                  << in.getDimSize(axis);
  int64_t block = in.getDimSize(axis) / blocks;
  if (blocks > 1 && stride < block)
    return emitOpError("stride ") << stride << " is below the block size " << block;
  int64_t end = offset + (blocks - 1) * stride + block;
  if (offset < 0 || end > out.getDimSize(axis))
    return emitOpError("blocks at offset ")
           << offset << " end at " << end << ", outside the buffer's " << out.getDimSize(axis);
  if ((int64_t)getCache() < 0)
    return emitOpError("cache must be >= 0");
  return success();
}

LogicalResult ProbeOp::verify() {
  if ((int64_t)getIndex() < 0)
    return emitOpError("index must be >= 0");
  Type et = getInput().getType().getElementType();
  if (!isa<FloatType>(et))
    return emitOpError("probes a float tensor, not ") << getInput().getType();
  return success();
}

LogicalResult CacheDecideOp::verify() {
  if (!isa<FloatType>(getInput().getType().getElementType()))
    return emitOpError("measures a float tensor, not ") << getInput().getType();
  if (getCoefficients().empty() || getCoefficients().size() > 8)
    return emitOpError("needs 1 to 8 polynomial coefficients, not ")
           << getCoefficients().size();
  if (!(getThreshold().convertToDouble() >= 0))
    return emitOpError("threshold must be >= 0");
  double f = getComputeFraction().convertToDouble();
  if (!(f >= 0 && f <= 1))
    return emitOpError("compute_fraction must be in [0, 1]");
  return success();
}

LogicalResult CollectiveBroadcastOp::verify() {
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  return verifyPeer(*this, getAxes(), getRoot(), "root");
}

//===----------------------------------------------------------------------===//
// Chunked loops
//===----------------------------------------------------------------------===//

RankedTensorType ChunkOp::chunkType(Type type, int64_t dim, int64_t count) {
  auto t = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(t.getShape());
  shape[dim] = chunkSize(shape[dim], count);
  return t.clone(shape);
}

int64_t ChunkOp::getUnevenSize() {
  int64_t count = getCount();
  auto sizeAt = [](Value v, int64_t d) -> int64_t {
    auto t = cast<RankedTensorType>(v.getType());
    return d >= 0 && d < t.getRank() ? t.getDimSize(d) : 0;
  };
  for (auto [v, d] : llvm::zip(getInputs(), getInputDims()))
    if (int64_t n = sizeAt(v, d); n && count > 0 && n % count)
      return n;
  for (auto [v, d] : llvm::zip(getResults(), getResultDims()))
    if (int64_t n = sizeAt(v, d); n && count > 0 && n % count)
      return n;
  return 0;
}

LogicalResult ChunkOp::verify() {
  int64_t count = getCount();
  if (count < 1)
    return emitOpError("count must be >= 1, got ") << count;
  // Each chunked value: a dimension of its rank with `count` elements or
  // more, which `count` divides unless the loop is uneven (then every cut
  // dimension has the uneven size).
  int64_t uneven = getUnevenSize();
  auto checkDim = [&](Type type, int64_t dim, StringRef what, unsigned k) -> LogicalResult {
    auto t = cast<RankedTensorType>(type);
    if (dim < 0 || dim >= t.getRank())
      return emitOpError() << what << " " << k << ": dimension " << dim
                           << " is outside its rank " << t.getRank();
    int64_t n = t.getDimSize(dim);
    if (n < count)
      return emitOpError() << what << " " << k << ": " << count
                           << " chunks are more than its dimension " << dim << " of size " << n;
    if (uneven && n != uneven)
      return emitOpError() << what << " " << k << ": its dimension " << dim << " of size " << n
                           << " differs from the size " << uneven
                           << " that the count does not divide (an uneven loop cuts dimensions "
                              "of one size)";
    return success();
  };
  if (getInputDims().size() != getInputs().size())
    return emitOpError("input_dims has ") << getInputDims().size() << " entries for "
                                          << getInputs().size() << " inputs";
  if (getResultDims().size() != getNumResults())
    return emitOpError("result_dims has ") << getResultDims().size() << " entries for "
                                           << getNumResults() << " results";
  Block &body = getBodyBlock();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("the body takes ") << body.getNumArguments() << " arguments for "
                                          << getInputs().size() << " inputs";
  for (auto [k, in] : llvm::enumerate(getInputs())) {
    int64_t d = getInputDims()[k];
    if (failed(checkDim(in.getType(), d, "input", k)))
      return failure();
    if (body.getArgument(k).getType() != chunkType(in.getType(), d, count))
      return emitOpError("body argument ")
             << k << " has type " << body.getArgument(k).getType() << ", expected "
             << chunkType(in.getType(), d, count);
  }
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().size() != getNumResults())
    return emitOpError("the body yields ") << yield.getValues().size() << " values for "
                                           << getNumResults() << " results";
  for (auto [k, r] : llvm::enumerate(getResults())) {
    int64_t d = getResultDims()[k];
    if (failed(checkDim(r.getType(), d, "result", k)))
      return failure();
    if (yield.getValues()[k].getType() != chunkType(r.getType(), d, count))
      return emitOpError("yielded value ")
             << k << " has type " << yield.getValues()[k].getType() << ", expected "
             << chunkType(r.getType(), d, count);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Index reductions, running sums, pooling, scatters, sampling
//===----------------------------------------------------------------------===//

template <typename ArgT>
static LogicalResult verifyArgReduce(ArgT op) {
  ArrayRef<int64_t> in = shapeOf(op.getInput());
  int64_t axis = op.getAxis();
  if (axis < 0 || axis >= (int64_t)in.size())
    return op.emitOpError("axis ") << axis << " out of range for rank "
                                   << in.size();
  std::string why;
  return checkResult(op, reduceShape(in, {axis}, op.getKeepDims(), why), why,
                     op.getResult());
}
LogicalResult ArgMaxOp::verify() { return verifyArgReduce(*this); }
LogicalResult ArgMinOp::verify() { return verifyArgReduce(*this); }

LogicalResult DetOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput()), out = shapeOf(getResult());
  if (in.size() < 2 || in[in.size() - 1] != in[in.size() - 2])
    return emitOpError("input must be [..., n, n], got ") << shapeStr(in);
  if (out != in.drop_back(2))
    return emitOpError("result must be ") << shapeStr(in.drop_back(2))
                                          << ", got " << shapeStr(out);
  if (getResult().getType().getElementType() !=
      getInput().getType().getElementType())
    return emitOpError("result must have the input's element type");
  return success();
}

LogicalResult CumSumOp::verify() {
  int64_t rank = shapeOf(getInput()).size();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " out of range for rank " << rank;
  return success();
}

/// Spatial axes of an NC... operand, with attribute arrays of matching
/// length (`perAxis` of one entry per axis, `pads` of two).
static LogicalResult checkSpatialAttrs(Operation *op, ArrayRef<int64_t> in,
                                       ArrayRef<ArrayRef<int64_t>> perAxis,
                                       ArrayRef<int64_t> pads,
                                       bool negativePads = false) {
  if (in.size() < 3)
    return op->emitOpError("input must be [N, C, spatial...], got ")
           << shapeStr(in);
  size_t sp = in.size() - 2;
  for (ArrayRef<int64_t> a : perAxis)
    if (a.size() != sp || llvm::any_of(a, [](int64_t v) { return v < 1; }))
      return op->emitOpError("expects ")
             << sp << " positive entries per window attribute";
  if (pads.size() != 2 * sp ||
      (!negativePads && llvm::any_of(pads, [](int64_t v) { return v < 0; })))
    return op->emitOpError("expects ")
           << 2 * sp << (negativePads ? " pads" : " non-negative pads");
  return success();
}

LogicalResult PoolOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput()), out = shapeOf(getResult());
  if (failed(checkSpatialAttrs(*this, in,
                               {getKernelShape(), getStrides(), getDilations()},
                               getPads())))
    return failure();
  if (out.size() != in.size() || out[0] != in[0] || out[1] != in[1])
    return emitOpError("result must be [N, C, spatial...] like the input");
  if (getResult().getType().getElementType() !=
      getInput().getType().getElementType())
    return emitOpError("result must have the input's element type");
  if (getIndices() && (getKind() != PoolKind::max ||
                       shapeOf(getIndices()) != out))
    return emitOpError("indices come with max pooling, in the result's shape");
  // Each spatial size lies between the floor-mode and the ceil-mode count
  // of windows.
  size_t sp = in.size() - 2;
  for (size_t a = 0; a < sp; ++a) {
    int64_t room = in[2 + a] + getPads()[a] + getPads()[sp + a] -
                   (getKernelShape()[a] - 1) * getDilations()[a] - 1;
    int64_t s = getStrides()[a];
    if (room < 0)
      return emitOpError("the window of spatial axis ")
             << a << " is larger than the padded input";
    int64_t lo = room / s + 1, hi = (room + s - 1) / s + 1;
    if (out[2 + a] < lo || out[2 + a] > hi)
      return emitOpError("spatial axis ")
             << a << " has " << out[2 + a] << " windows; expected " << lo
             << (hi != lo ? " or " + std::to_string(hi) : std::string());
  }
  if (getKind() == PoolKind::lp && getP() < 1)
    return emitOpError("p must be >= 1");
  return success();
}

LogicalResult ConvTransposeOp::verify() {
  if (failed(checkSameElementType(*this)))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight()),
                    out = shapeOf(getResult());
  // Negative pads shift the outputs (ONNX output_shape beyond the full
  // size).
  if (failed(checkSpatialAttrs(*this, in, {getStrides(), getDilations()},
                               getPads(), /*negativePads=*/true)))
    return failure();
  int64_t g = getGroup();
  if (w.size() != in.size() || out.size() != in.size() || g < 1 ||
      w[0] != in[1] || in[1] % g || out[0] != in[0] || out[1] != w[1] * g)
    return emitOpError("channels: input ")
           << shapeStr(in) << ", weight " << shapeStr(w) << ", result "
           << shapeStr(out) << ", group " << g;
  if (getBias() && shapeOf(getBias()) != ArrayRef<int64_t>{out[1]})
    return emitOpError("bias must have one entry per output channel");
  // Each spatial size is the full one less the pads, plus an output
  // padding below the stride or the dilation.
  size_t sp = in.size() - 2;
  for (size_t a = 0; a < sp; ++a) {
    int64_t s = getStrides()[a], d = getDilations()[a];
    int64_t base = s * (in[2 + a] - 1) + (w[2 + a] - 1) * d + 1 -
                   getPads()[a] - getPads()[sp + a];
    if (out[2 + a] < base || out[2 + a] >= base + std::max(s, d))
      return emitOpError("spatial axis ")
             << a << " has size " << out[2 + a] << "; expected " << base
             << " plus an output padding below " << std::max(s, d);
  }
  return success();
}

LogicalResult GridSampleOp::verify() {
  if (failed(checkSameElementType(*this)))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput()), g = shapeOf(getGrid()),
                    out = shapeOf(getResult());
  size_t r = in.size() < 3 ? 0 : in.size() - 2;
  if (r < 1 || g.size() != r + 2 || g.back() != (int64_t)r ||
      g[0] != in[0] || out.size() != in.size() || out[0] != in[0] ||
      out[1] != in[1] || ArrayRef<int64_t>(out).drop_front(2) !=
                             ArrayRef<int64_t>(g).drop_front().drop_back())
    return emitOpError("expects input [N, C, d...], grid [N, o..., rank] "
                       "and result [N, C, o...], got ")
           << shapeStr(in) << ", " << shapeStr(g) << ", " << shapeStr(out);
  return success();
}

/// The scatters write into a copy of data: same type, updates of its
/// element type.
static LogicalResult checkScatterTypes(Operation *op, Value data,
                                       Value updates, Value result) {
  if (data.getType() != result.getType())
    return op->emitOpError("result must have the data's type");
  if (cast<RankedTensorType>(updates.getType()).getElementType() !=
      cast<RankedTensorType>(data.getType()).getElementType())
    return op->emitOpError("updates must have the data's element type");
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  if (failed(checkScatterTypes(*this, getData(), getUpdates(), getResult())))
    return failure();
  ArrayRef<int64_t> d = shapeOf(getData()), i = shapeOf(getIndices());
  if (i != shapeOf(getUpdates()) || i.size() != d.size())
    return emitOpError("indices and updates must share a shape of the data's "
                       "rank");
  int64_t axis = getAxis();
  if (axis < 0 || axis >= (int64_t)d.size())
    return emitOpError("axis ") << axis << " out of range";
  return success();
}

LogicalResult ScatterNdOp::verify() {
  if (failed(checkScatterTypes(*this, getData(), getUpdates(), getResult())))
    return failure();
  ArrayRef<int64_t> d = shapeOf(getData()), i = shapeOf(getIndices()),
                    u = shapeOf(getUpdates());
  if (i.empty() || i.back() < 1 || i.back() > (int64_t)d.size())
    return emitOpError("indices must end in a tuple length within the data's "
                       "rank");
  SmallVector<int64_t> want(i.drop_back());
  llvm::append_range(want, d.drop_front(i.back()));
  if (u != ArrayRef<int64_t>(want))
    return emitOpError("updates shape ")
           << shapeStr(u) << " should be " << shapeStr(want);
  return success();
}
