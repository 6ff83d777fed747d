//===- DitcSharding.cpp - meshes, shardings and per-op rules --------------===//

#include "dialects/Ditc/IR/DitcSharding.h"
#include "dialects/Ditc/IR/DitcOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringSet.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ditc;

#include "dialects/Ditc/IR/DitcInterfaces.cpp.inc"

//===----------------------------------------------------------------------===//
// Mesh
//===----------------------------------------------------------------------===//

FailureOr<Mesh> Mesh::of(Operation *op) {
  auto module = isa<ModuleOp>(op) ? cast<ModuleOp>(op) : op->getParentOfType<ModuleOp>();
  if (!module)
    return Mesh();
  Attribute a = module->getAttr(kMeshAttr);
  if (!a)
    return Mesh();
  auto mesh = dyn_cast<MeshAttr>(a);
  if (!mesh)
    return op->emitError("malformed ditc.mesh: expected #ditc.mesh<[\"NAME\" = SIZE : KIND, ...]>, "
                         "got ")
               << a,
           failure();
  return of(mesh);
}

Mesh Mesh::of(MeshAttr attr) {
  Mesh mesh;
  for (MeshAxisAttr axis : attr.getAxes())
    mesh.addAxis(axis.getName().getValue(), axis.getSize(), axis.getKind());
  return mesh;
}

void Mesh::addAxis(StringRef name, int64_t size, MeshAxisKind kind) {
  axes.push_back(name.str());
  shape.push_back(size);
  kinds.push_back(kind);
}

MeshAttr Mesh::toAttr(MLIRContext *ctx) const {
  SmallVector<MeshAxisAttr> out;
  for (auto [name, size, kind] : llvm::zip(axes, shape, kinds))
    out.push_back(MeshAxisAttr::get(ctx, StringAttr::get(ctx, name), size, kind));
  return MeshAttr::get(ctx, ArrayRef<MeshAxisAttr>(out));
}

int64_t Mesh::indexOf(MeshAxisKind kind) const {
  for (auto [i, k] : llvm::enumerate(kinds))
    if (k == kind)
      return i;
  return -1;
}

int64_t Mesh::stageAxis() const {
  int64_t i = indexOf(MeshAxisKind::pipeline);
  return i >= 0 ? i : indexOf(MeshAxisKind::pipefusion);
}

std::string Mesh::nameOf(MeshAxisKind kind) const {
  int64_t i = indexOf(kind);
  return i < 0 ? std::string() : axes[i];
}

std::optional<MeshAxisKind> Mesh::kindOf(StringRef axis) const {
  int64_t i = indexOf(axis);
  if (i < 0)
    return std::nullopt;
  return kinds[i];
}

int64_t Mesh::numRanks() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

int64_t Mesh::indexOf(StringRef axis) const {
  for (auto [i, a] : llvm::enumerate(axes))
    if (a == axis)
      return i;
  return -1;
}

int64_t Mesh::groupSize(ArrayRef<std::string> group) const {
  int64_t n = 1;
  for (const std::string &a : group)
    if (int64_t i = indexOf(a); i >= 0)
      n *= shape[i];
  return n;
}

int64_t Mesh::coordAt(int64_t rank, int64_t i) const {
  if (i < 0)
    return -1;
  for (int64_t k = (int64_t)shape.size() - 1; k > i; --k)
    rank /= shape[k];
  return rank % shape[i];
}

llvm::DenseMap<Operation *, int64_t> mlir::ditc::stagesOf(Block &body) {
  return inferIndexAttr(body, kStageAttr);
}

llvm::DenseMap<Operation *, int64_t> mlir::ditc::schedulesOf(Block &body) {
  return inferIndexAttr(body, kScheduleAttr);
}

llvm::DenseMap<Operation *, int64_t> mlir::ditc::inferIndexAttr(Block &body,
                                                                StringRef name) {
  llvm::DenseMap<Operation *, int64_t> stage;
  auto known = [&](Operation *op) -> std::optional<int64_t> {
    if (!op)
      return std::nullopt;
    auto it = stage.find(op);
    if (it != stage.end() && it->second >= 0)
      return it->second;
    return std::nullopt;
  };
  for (Operation &op : body)
    if (auto a = op.getAttrOfType<IntegerAttr>(name))
      stage[&op] = a.getInt();
  // Forward from the producers, then backward from the users.
  for (Operation &op : body) {
    if (stage.count(&op))
      continue;
    for (Value v : op.getOperands())
      if (auto s = known(v.getDefiningOp())) {
        stage[&op] = *s;
        break;
      }
  }
  // Backward: the users' value when they all agree; users of different
  // stages (or schedules), or of every one (-1), need the op everywhere
  // (a cast of a graph input that every stage reads).
  for (Operation &op : llvm::reverse(body)) {
    if (stage.count(&op))
      continue;
    std::optional<int64_t> agreed;
    bool conflict = false;
    for (Operation *user : op.getUsers()) {
      // A chunk loop's body op counts as the loop.
      auto it = stage.find(body.findAncestorOpInBlock(*user));
      if (it == stage.end())
        continue;
      conflict |= agreed && *agreed != it->second;
      agreed = it->second;
    }
    stage[&op] = agreed && !conflict ? *agreed : -1;
  }
  return stage;
}

int64_t Mesh::groupSize(ArrayAttr group) const {
  int64_t n = 1;
  for (Attribute a : group)
    if (auto s = dyn_cast<StringAttr>(a))
      if (int64_t i = indexOf(s.getValue()); i >= 0)
        n *= shape[i];
  return n;
}

/// The product of `mesh`'s sizes from its outermost axis among `names`
/// on (Mesh::span).
template <typename Names>
static int64_t spanOf(const Mesh &mesh, Names names) {
  int64_t outer = (int64_t)mesh.shape.size();
  for (StringRef name : names)
    if (int64_t i = mesh.indexOf(name); i >= 0)
      outer = std::min(outer, i);
  int64_t n = 1;
  for (int64_t i = outer; i < (int64_t)mesh.shape.size(); ++i)
    n *= mesh.shape[i];
  return n;
}

int64_t Mesh::span(ArrayRef<std::string> axes) const {
  return spanOf(*this, llvm::map_range(axes, [](const std::string &a) { return StringRef(a); }));
}

int64_t Mesh::span(ArrayAttr group) const {
  return spanOf(*this, llvm::map_range(group, [](Attribute a) {
                  auto s = dyn_cast<StringAttr>(a);
                  return s ? s.getValue() : StringRef();
                }));
}

//===----------------------------------------------------------------------===//
// Sharding attributes
//===----------------------------------------------------------------------===//

ShardingAttr mlir::ditc::shardingToAttr(MLIRContext *ctx, const Sharding &s) {
  Builder b(ctx);
  SmallVector<ArrayAttr> dims;
  for (const auto &axes : s) {
    SmallVector<Attribute> names;
    for (const std::string &a : axes)
      names.push_back(b.getStringAttr(a));
    dims.push_back(b.getArrayAttr(names));
  }
  return ShardingAttr::get(ctx, ArrayRef<ArrayAttr>(dims));
}

std::optional<Sharding> mlir::ditc::shardingFromAttr(Attribute a, int64_t rank) {
  auto attr = dyn_cast_or_null<ShardingAttr>(a);
  if (!attr || (int64_t)attr.getDims().size() != rank)
    return std::nullopt;
  Sharding s;
  for (ArrayAttr d : attr.getDims()) {
    s.emplace_back();
    for (Attribute n : d)
      s.back().push_back(cast<StringAttr>(n).str());
  }
  return s;
}

std::optional<Sharding> mlir::ditc::getSharding(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  Attribute a;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto fn = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    if (!fn)
      return std::nullopt;
    a = fn.getArgAttr(arg.getArgNumber(), kShardingAttr);
  } else {
    auto all = v.getDefiningOp()->getAttrOfType<ArrayAttr>(kShardingAttr);
    unsigned k = cast<OpResult>(v).getResultNumber();
    if (!all || all.size() <= k)
      return std::nullopt;
    a = all[k];
  }
  return shardingFromAttr(a, t.getRank());
}

void mlir::ditc::setSharding(Value v, const Sharding &s) {
  MLIRContext *ctx = v.getContext();
  ShardingAttr attr = shardingToAttr(ctx, s);
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto fn = cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    fn.setArgAttr(arg.getArgNumber(), kShardingAttr, attr);
    return;
  }
  Operation *op = v.getDefiningOp();
  SmallVector<Attribute> all;
  if (auto old = op->getAttrOfType<ArrayAttr>(kShardingAttr))
    all.assign(old.begin(), old.end());
  Builder b(ctx);
  while (all.size() < op->getNumResults()) {
    Value r = op->getResult(all.size());
    all.push_back(shardingToAttr(
        ctx, Sharding(cast<RankedTensorType>(r.getType()).getRank())));
  }
  all[cast<OpResult>(v).getResultNumber()] = attr;
  op->setAttr(kShardingAttr, b.getArrayAttr(all));
}

Sharding mlir::ditc::shardingOrReplicated(Value v) {
  return getSharding(v).value_or(Sharding(cast<RankedTensorType>(v.getType()).getRank()));
}

void mlir::ditc::addSplit(Value v, unsigned dim, ArrayRef<std::string> axes) {
  Sharding s = shardingOrReplicated(v);
  for (const std::string &a : axes)
    if (!llvm::is_contained(s[dim], a))
      s[dim].push_back(a);
  setSharding(v, s);
}

std::string mlir::ditc::shardingToString(const Sharding &s) {
  std::string out = "[";
  for (auto [i, axes] : llvm::enumerate(s)) {
    if (i)
      out += ", ";
    out += "[";
    for (auto [j, a] : llvm::enumerate(axes))
      out += (j ? ", " : "") + a;
    out += "]";
  }
  return out + "]";
}

//===----------------------------------------------------------------------===//
// Attribute syntax and verification
//===----------------------------------------------------------------------===//

LogicalResult MeshAxisAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   StringAttr name, int64_t size, MeshAxisKind) {
  if (!name || name.getValue().empty())
    return emitError() << "a mesh axis needs a name";
  if (size < 1)
    return emitError() << "mesh axis '" << name.getValue() << "' has size " << size
                       << " (must be at least 1)";
  return success();
}

LogicalResult MeshAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               ArrayRef<MeshAxisAttr> axes) {
  llvm::StringSet<> names;
  llvm::SmallSet<MeshAxisKind, 8> kinds;
  for (MeshAxisAttr a : axes) {
    if (!a)
      return emitError() << "a mesh axis is missing";
    if (!names.insert(a.getName().getValue()).second)
      return emitError() << "ditc.mesh names axis '" << a.getName().getValue() << "' twice";
    if (!kinds.insert(a.getKind()).second)
      return emitError() << "ditc.mesh has two axes of kind '"
                         << stringifyMeshAxisKind(a.getKind()) << "'";
    if (kinds.count(MeshAxisKind::pipeline) && kinds.count(MeshAxisKind::pipefusion))
      return emitError() << "ditc.mesh has both a pipeline and a pipefusion axis (both "
                            "cut the layers into stages)";
  }
  if (kinds.count(MeshAxisKind::ring_inner) && !kinds.count(MeshAxisKind::ring))
    return emitError() << "ditc.mesh has a ring_inner axis and no ring axis (the outer "
                          "ring of the double ring)";
  return success();
}

// #ditc.mesh<["cfg" = 2 : cfg, "ulysses" = 4 : ulysses]>
Attribute MeshAttr::parse(AsmParser &p, Type) {
  SmallVector<MeshAxisAttr> axes;
  auto parseAxis = [&]() -> ParseResult {
    StringAttr name;
    int64_t size;
    StringRef kindWord;
    SMLoc at = p.getCurrentLocation();
    if (p.parseAttribute(name) || p.parseEqual() || p.parseInteger(size) || p.parseColon() ||
        p.parseKeyword(&kindWord))
      return failure();
    std::optional<MeshAxisKind> kind = symbolizeMeshAxisKind(kindWord);
    if (!kind)
      return p.emitError(at, "unknown mesh axis kind '")
             << kindWord << "' (expected data, cfg, ring, ulysses, tensor, pipeline, pipefusion or ring_inner)";
    auto axis = MeshAxisAttr::getChecked(
        function_ref<InFlightDiagnostic()>([&] { return p.emitError(at); }), p.getContext(), name,
        size, *kind);
    if (!axis)
      return failure();
    axes.push_back(axis);
    return success();
  };
  if (p.parseLess() ||
      p.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseAxis) || p.parseGreater())
    return {};
  return MeshAttr::getChecked(
      function_ref<InFlightDiagnostic()>([&] { return p.emitError(p.getNameLoc()); }),
      p.getContext(), ArrayRef<MeshAxisAttr>(axes));
}

void MeshAttr::print(AsmPrinter &p) const {
  p << "<[";
  llvm::interleaveComma(getAxes(), p, [&](MeshAxisAttr a) {
    p << a.getName() << " = " << a.getSize() << " : " << stringifyMeshAxisKind(a.getKind());
  });
  p << "]>";
}

LogicalResult ShardingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   ArrayRef<ArrayAttr> dims) {
  llvm::StringSet<> seen;
  for (ArrayAttr d : dims) {
    if (!d)
      return emitError() << "a sharding dimension is missing";
    for (Attribute a : d) {
      auto name = dyn_cast<StringAttr>(a);
      if (!name || name.getValue().empty())
        return emitError() << "sharding axes must be non-empty strings";
      if (!seen.insert(name.getValue()).second)
        return emitError() << "sharding splits over axis '" << name.getValue() << "' twice";
    }
  }
  return success();
}

// #ditc.sharding<[{}, {"ring", "ulysses"}, {}]>
Attribute ShardingAttr::parse(AsmParser &p, Type) {
  SmallVector<ArrayAttr> dims;
  auto parseDim = [&]() -> ParseResult {
    SmallVector<Attribute> names;
    if (p.parseCommaSeparatedList(AsmParser::Delimiter::Braces, [&]() -> ParseResult {
          StringAttr name;
          if (p.parseAttribute(name))
            return failure();
          names.push_back(name);
          return success();
        }))
      return failure();
    dims.push_back(ArrayAttr::get(p.getContext(), names));
    return success();
  };
  if (p.parseLess() ||
      p.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseDim) || p.parseGreater())
    return {};
  return ShardingAttr::getChecked(
      function_ref<InFlightDiagnostic()>([&] { return p.emitError(p.getNameLoc()); }),
      p.getContext(), ArrayRef<ArrayAttr>(dims));
}

void ShardingAttr::print(AsmPrinter &p) const {
  p << "<[";
  llvm::interleaveComma(getDims(), p, [&](ArrayAttr d) {
    p << "{";
    llvm::interleaveComma(d, p, [&](Attribute a) { p << a; });
    p << "}";
  });
  p << "]>";
}

/// A ShardingAttr for a value of type `type`: its rank, and every axis one
/// of the module's mesh.
static LogicalResult verifyShardingOf(Operation *op, Attribute a, Type type, StringRef what) {
  auto s = dyn_cast<ShardingAttr>(a);
  if (!s)
    return op->emitError() << what << " must be a #ditc.sharding<[...]>, got " << a;
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || (int64_t)s.getDims().size() != t.getRank())
    return op->emitError() << what << " has " << s.getDims().size()
                           << " dimensions for a value of type " << type;
  FailureOr<Mesh> mesh = Mesh::of(op);
  if (failed(mesh))
    return failure();
  for (ArrayAttr d : s.getDims())
    for (Attribute n : d)
      if (mesh->indexOf(cast<StringAttr>(n).getValue()) < 0)
        return op->emitError("sharding names '")
               << cast<StringAttr>(n).getValue() << "', which is not an axis of the module's ditc.mesh";
  return success();
}

std::optional<unsigned> mlir::ditc::tokenPiecesAxis(Operation *op) {
  if (auto c = dyn_cast<ConcatOp>(op))
    return c.getAxis();
  if (auto s = dyn_cast<SplitOp>(op))
    return s.getAxis();
  auto s = dyn_cast<SliceOp>(op);
  if (!s)
    return std::nullopt;
  ArrayRef<int64_t> in = shapeOf(s.getInput()), out = shapeOf(s.getResult());
  std::optional<unsigned> axis;
  for (unsigned d = 0; d < in.size(); ++d) {
    if (in[d] == out[d] && s.getOffsets()[d] == 0 && s.getSteps()[d] == 1)
      continue;
    if (axis)
      return std::nullopt;
    axis = d;
  }
  return axis;
}

std::optional<unsigned> mlir::ditc::slicedPiece(Operation *op, ArrayRef<int64_t> pieces) {
  auto s = dyn_cast<SliceOp>(op);
  std::optional<unsigned> axis = s ? tokenPiecesAxis(op) : std::nullopt;
  if (!axis || s.getSteps()[*axis] != 1)
    return std::nullopt;
  int64_t offset = s.getOffsets()[*axis], size = shapeOf(s.getResult())[*axis], at = 0;
  if (shapeOf(s.getInput())[*axis] != llvm::sum_of(pieces))
    return std::nullopt;
  for (auto [k, n] : llvm::enumerate(pieces)) {
    if (at == offset && n == size)
      return k;
    at += n;
  }
  return std::nullopt;
}

bool mlir::ditc::isWholePiece(Operation *op, unsigned k) {
  auto whole = op->getAttrOfType<DenseI64ArrayAttr>(kWholePiecesAttr);
  return whole && llvm::is_contained(whole.asArrayRef(), int64_t(k));
}

/// kWholePiecesAttr: ascending indices of some (not all) of the pieces.
static LogicalResult verifyWholePieces(Operation *op, Attribute a) {
  auto whole = dyn_cast<DenseI64ArrayAttr>(a);
  auto pieces = op->getAttrOfType<DenseI64ArrayAttr>(kTokenPiecesAttr);
  if (!pieces)
    return op->emitError("ditc.whole_pieces needs ditc.token_pieces on the same op");
  int64_t n = pieces.size(), last = -1;
  if (!whole || whole.empty() || whole.size() >= n)
    return op->emitError("ditc.whole_pieces must be an array<i64> of some, not all, of the ")
           << n << " pieces";
  for (int64_t k : whole.asArrayRef()) {
    if (k <= last || k >= n)
      return op->emitError("ditc.whole_pieces must list ascending piece indices below ") << n;
    last = k;
  }
  return success();
}

/// kTokenPiecesAttr: lengths that match the op's operands, results or slice.
static LogicalResult verifyTokenPieces(Operation *op, Attribute a) {
  auto pieces = dyn_cast<DenseI64ArrayAttr>(a);
  if (!pieces || pieces.size() < 2 ||
      llvm::any_of(pieces.asArrayRef(), [](int64_t n) { return n < 1; }))
    return op->emitError("ditc.token_pieces must be an array<i64> of two or more positive lengths");
  std::optional<unsigned> axis = tokenPiecesAxis(op);
  if (!axis)
    return op->emitError("ditc.token_pieces belongs on a ditc.concat, a ditc.split or a "
                         "ditc.slice along one axis");
  SmallVector<int64_t> have;
  if (isa<ConcatOp>(op))
    for (Value v : op->getOperands())
      have.push_back(shapeOf(v)[*axis]);
  else if (isa<SplitOp>(op))
    for (Value v : op->getResults())
      have.push_back(shapeOf(v)[*axis]);
  if (isa<SliceOp>(op) ? !slicedPiece(op, pieces.asArrayRef())
                       : ArrayRef<int64_t>(have) != pieces.asArrayRef())
    return op->emitError("ditc.token_pieces ") << a << " are not the pieces this op "
           << (isa<ConcatOp>(op) ? "joins" : isa<SplitOp>(op) ? "splits into" : "takes one of")
           << " along axis " << *axis;
  return success();
}

LogicalResult DitcDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute a = attr.getValue();
  if (name == kTokenPiecesAttr)
    return verifyTokenPieces(op, a);
  if (name == kWholePiecesAttr)
    return verifyWholePieces(op, a);
  if (name == kReplicatedAttr && !isa<StringAttr>(a))
    return op->emitError("ditc.replicated must be a string (the reason)");
  if (name == kMeshAttr) {
    if (!isa<ModuleOp>(op))
      return op->emitError("ditc.mesh belongs on a module");
    return Mesh::of(op);
  }
  if (name == kShardingAttr) {
    auto all = dyn_cast<ArrayAttr>(a);
    if (!all || all.size() != op->getNumResults())
      return op->emitError("ditc.sharding needs one #ditc.sharding per result (")
             << op->getNumResults() << ")";
    for (auto [s, r] : llvm::zip(all, op->getResults()))
      if (failed(verifyShardingOf(op, s, r.getType(), "ditc.sharding")))
        return failure();
    return success();
  }
  if (name == kShardAttr) {
    auto w = dyn_cast<WeightOp>(op);
    if (!w)
      return op->emitError("ditc.shard belongs on a ditc.weight");
    return verifyShardingOf(op, a, w.getType(), "ditc.shard");
  }
  if (name == kPatchesAttr) {
    auto n = dyn_cast<IntegerAttr>(a);
    if (!isa<ModuleOp>(op) || !n || n.getInt() < 1)
      return op->emitError("ditc.patches must be a positive integer on a module");
    FailureOr<Mesh> mesh = Mesh::of(op);
    if (failed(mesh))
      return failure();
    if (!mesh->has(MeshAxisKind::pipefusion))
      return op->emitError("ditc.patches needs a mesh axis of kind pipefusion");
    return success();
  }
  if (name == kSequenceParallelAttr) {
    if (!isa<AttentionOp>(op))
      return op->emitError("ditc.sequence_parallel belongs on a ditc.attention");
    if (!isa<SequenceParallelAttr>(a))
      return op->emitError("ditc.sequence_parallel must be a #ditc.sequence_parallel<ulysses|ring|usp>");
    return success();
  }
  return success();
}

LogicalResult DitcDialect::verifyRegionArgAttribute(Operation *op, unsigned region,
                                                    unsigned arg, NamedAttribute attr) {
  if (attr.getName().getValue() != kShardingAttr)
    return success();
  Type type = op->getRegion(region).getArgument(arg).getType();
  return verifyShardingOf(op, attr.getValue(), type, "argument ditc.sharding");
}

//===----------------------------------------------------------------------===//
// Rules
//===----------------------------------------------------------------------===//

namespace {
using Kind = ShardingFactor::Kind;

struct RuleBuilder {
  Operation *op;
  ShardingRule rule;
  explicit RuleBuilder(Operation *op) : op(op) {}
  unsigned res(unsigned k = 0) const { return op->getNumOperands() + k; }
  ArrayRef<int64_t> shape(unsigned idx) const {
    Value v = idx < op->getNumOperands() ? op->getOperand(idx)
                                         : op->getResult(idx - op->getNumOperands());
    return cast<RankedTensorType>(v.getType()).getShape();
  }
  ShardingFactor &add(Kind kind = Kind::Parallel, bool exact = false) {
    rule.factors.emplace_back();
    rule.factors.back().kind = kind;
    rule.factors.back().exact = exact;
    return rule.factors.back();
  }
  /// Result dim d of a broadcasting op and the operand dims aligned to it
  /// from the right that have its size.
  void broadcastDims(unsigned resultIdx, ArrayRef<unsigned> operands) {
    ArrayRef<int64_t> r = shape(resultIdx);
    for (unsigned d = 0; d < r.size(); ++d) {
      ShardingFactor &f = add();
      f.dims.push_back({resultIdx, d});
      for (unsigned o : operands) {
        ArrayRef<int64_t> s = shape(o);
        int64_t od = (int64_t)d - (int64_t)(r.size() - s.size());
        if (od >= 0 && s[od] == r[d])
          f.dims.push_back({o, (unsigned)od});
      }
    }
  }
  void identity(unsigned a, unsigned b, unsigned dims) {
    for (unsigned d = 0; d < dims; ++d)
      add().dims.append({{a, d}, {b, d}});
  }
};

ShardingRule computeRule(Operation *op) {
  RuleBuilder rb(op);
  auto allOperands = [&] {
    SmallVector<unsigned> o;
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      o.push_back(i);
    return o;
  };
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](LinearOp o) {
        unsigned n = shapeOf(o.getInput()).size();
        unsigned nDim = o.getTransposeWeight() ? 0 : 1;
        rb.identity(0, rb.res(), n - 1);
        ShardingFactor &out = rb.add();
        out.dims.append({{rb.res(), n - 1}, {1, nDim}});
        if (o.getBias())
          out.dims.push_back({2, 0});
        rb.add(Kind::Reduction).dims.append({{0, n - 1}, {1, 1 - nDim}});
      })
      .Case([&](MatmulOp o) {
        ArrayRef<int64_t> a = shapeOf(o.getLhs()), b = shapeOf(o.getRhs()),
                          r = shapeOf(o.getResult());
        unsigned ra = a.size(), rbk = b.size(), rr = r.size();
        for (unsigned d = 0; d + 2 < rr; ++d) {
          ShardingFactor &f = rb.add();
          f.dims.push_back({rb.res(), d});
          int64_t da = (int64_t)d - (int64_t)(rr - ra), db = (int64_t)d - (int64_t)(rr - rbk);
          if (da >= 0 && a[da] == r[d])
            f.dims.push_back({0, (unsigned)da});
          if (db >= 0 && b[db] == r[d])
            f.dims.push_back({1, (unsigned)db});
        }
        rb.add().dims.append({{0, ra - 2}, {rb.res(), rr - 2}});
        rb.add().dims.append({{1, rbk - 1}, {rb.res(), rr - 1}});
        rb.add(Kind::Reduction).dims.append({{0, ra - 1}, {1, rbk - 2}});
      })
      .Case<AttentionOp, RingAttentionOp>([&](auto o) {
        // Where tensor t's batch (0), head (1) and sequence (2) dims are:
        // seq_major tensors are [B, S, H, D].
        auto at = [&](AttentionOp::Tensor t, unsigned which) -> unsigned {
          return o.layoutDims(t)[which];
        };
        using T = AttentionOp::Tensor;
        auto dim = [&](unsigned operand, T t, unsigned which) -> std::pair<unsigned, unsigned> {
          return {operand, at(t, which)};
        };
        ArrayRef<int64_t> q = shapeOf(o.getQuery()), k = shapeOf(o.getKey());
        int64_t qh = q[at(T::kQuery, 1)], kh = k[at(T::kKey, 1)];
        bool hasMask = (bool)o.getMask();
        ArrayRef<int64_t> m = hasMask ? shapeOf(o.getMask()) : ArrayRef<int64_t>();
        auto maskDim = [&](ShardingFactor &f, unsigned d, int64_t size) {
          if (!hasMask)
            return;
          int64_t md = (int64_t)d - (int64_t)(4 - m.size());
          if (md >= 0 && m[md] == size)
            f.dims.push_back({3, (unsigned)md});
        };
        unsigned res = rb.res();
        ShardingFactor &b = rb.add();
        b.dims.append({dim(0, T::kQuery, 0), dim(res, T::kResult, 0)});
        if (k[0] == q[0])
          b.dims.append({dim(1, T::kKey, 0), dim(2, T::kValue, 0)});
        maskDim(b, 0, q[0]);
        ShardingFactor &h = rb.add();
        h.dims.append({dim(0, T::kQuery, 1), dim(res, T::kResult, 1)});
        if (kh == qh)
          h.dims.append({dim(1, T::kKey, 1), dim(2, T::kValue, 1)});
        maskDim(h, 1, qh);
        if (kh != qh)
          rb.add().dims.append({dim(1, T::kKey, 1), dim(2, T::kValue, 1)});
        // Ring attention (partitioned already): its tokens are a ring's.
        if constexpr (std::is_same_v<decltype(o), AttentionOp>) {
          ShardingFactor &sq = rb.add();
          sq.dims.append({dim(0, T::kQuery, 2), dim(res, T::kResult, 2)});
          maskDim(sq, 2, q[at(T::kQuery, 2)]);
        }
        // Key tokens and head dims stay whole here: splitting the keys is
        // Ulysses' or Ring's business, which ditc-partition carries out.
      })
      // Collectives (after ditc-partition): every dimension they do not cut
      // or join (ditc-pipeline-stages cuts micro-batches through them).
      .Case<AllReduceOp, CollectiveBroadcastOp>(
          [&](Operation *o) { rb.identity(0, rb.res(), rb.shape(0).size()); })
      .Case<AllGatherOp, ReduceScatterOp, ShardOp, AllToAllOp>([&](Operation *o) {
        SmallVector<int64_t, 2> moved;
        for (StringRef a : {"axis", "split_axis", "concat_axis"})
          if (auto attr = o->getAttrOfType<IntegerAttr>(a))
            moved.push_back(attr.getInt());
        for (unsigned d = 0; d < rb.shape(0).size(); ++d)
          if (!llvm::is_contained(moved, (int64_t)d))
            rb.add().dims.append({{0, d}, {rb.res(), d}});
      })
      .Case([&](RopeOp o) {
        unsigned n = shapeOf(o.getInput()).size();
        ArrayRef<int64_t> x = shapeOf(o.getInput());
        for (unsigned d = 0; d + 1 < n; ++d) {
          ShardingFactor &f = rb.add();
          f.dims.append({{0, d}, {rb.res(), d}});
          for (unsigned t : {1u, 2u}) {
            ArrayRef<int64_t> s = rb.shape(t);
            int64_t td = (int64_t)d - (int64_t)(n - s.size());
            if (td >= 0 && s[td] == x[d])
              f.dims.push_back({t, (unsigned)td});
          }
        }
      })
      .Case([&](LayerNormOp o) {
        rb.identity(0, rb.res(), o.getAxis());
        // A modulation's leading dims go with the input's where they have
        // its size (the rest are 1: broadcast).
        for (unsigned segment : {3u, 4u}) { // mod_scale, mod_shift
          auto [idx, len] = o.getODSOperandIndexAndLength(segment);
          for (unsigned m = idx; m < idx + len; ++m)
            for (int64_t d = 0; d < o.getAxis(); ++d)
              if (rb.shape(m)[d] == rb.shape(0)[d])
                rb.rule.factors[d].dims.push_back({m, (unsigned)d});
        }
      })
      .Case([&](RmsNormOp o) {
        rb.identity(0, rb.res(), o.getAxis());
        // A norm across heads (Wan's q/k norms: every user cuts the one
        // normalised axis into heads) may be split over it as a reduction:
        // each rank sums the squares of its heads' features, the sums are
        // all-reduced before the scale (ditc-partition). Other norms (a
        // residual stream's) keep their features whole.
        unsigned n = rb.shape(0).size();
        auto cutsIntoHeads = [&](Operation *user) {
          auto r = dyn_cast<ReshapeOp>(user);
          ArrayRef<int64_t> out = r ? shapeOf(r.getResult()) : ArrayRef<int64_t>();
          return r && out.size() == n + 1 && out.take_front(n - 1) == rb.shape(0).drop_back() &&
                 out[n - 1] > 1 && out[n] > 1;
        };
        if ((unsigned)o.getAxis() + 1 == n && !o->use_empty() &&
            llvm::all_of(o->getUsers(), cutsIntoHeads)) {
          ShardingFactor &f = rb.add(Kind::Reduction);
          f.dims.append({{0, n - 1}, {rb.res(), n - 1}});
          if (o.getScale() && rb.shape(1).size() == 1 && rb.shape(1)[0] == rb.shape(0)[n - 1])
            f.dims.push_back({1, 0});
        }
      })
      .Case([&](GroupNormOp) { rb.identity(0, rb.res(), 1); })
      .Case([&](ConvOp o) {
        rb.identity(0, rb.res(), 1);
        // A patch embedding (stride = kernel, no padding or dilation) maps
        // blocks of output rows to blocks of input rows: splits dividing
        // both exactly keep it local.
        ArrayRef<int64_t> x = shapeOf(o.getInput()), w = shapeOf(o.getWeight()),
                          y = shapeOf(o.getResult());
        unsigned n = x.size() - 2;
        if (n >= 1 && o.getStrides()[0] == w[2] && o.getDilations()[0] == 1 &&
            o.getPads()[0] == 0 && o.getPads()[n] == 0 && x[2] == y[2] * w[2])
          rb.add(Kind::Parallel, /*exact=*/true).dims.append({{0, 2}, {rb.res(), 2}});
      })
      .Case([&](SoftmaxOp o) {
        for (unsigned d = 0; d < shapeOf(o.getInput()).size(); ++d)
          if ((int64_t)d != o.getAxis())
            rb.add().dims.append({{0, d}, {rb.res(), d}});
      })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp,
            ReduceProdOp>([&](auto o) {
        ArrayRef<int64_t> axes = o.getAxes();
        unsigned out = 0;
        for (unsigned d = 0; d < shapeOf(o.getInput()).size(); ++d) {
          bool reduced = llvm::is_contained(axes, (int64_t)d);
          if (!reduced)
            rb.add().dims.append({{0, d}, {rb.res(), out}});
          if (!reduced || o.getKeepDims())
            ++out;
        }
      })
      .Case<ArgMaxOp, ArgMinOp>([&](auto o) {
        unsigned out = 0;
        for (unsigned d = 0; d < shapeOf(o.getInput()).size(); ++d) {
          bool reduced = (int64_t)d == o.getAxis();
          if (!reduced)
            rb.add().dims.append({{0, d}, {rb.res(), out}});
          if (!reduced || o.getKeepDims())
            ++out;
        }
      })
      .Case([&](DetOp o) {
        // Each matrix on its own: the batch dimensions.
        for (unsigned d = 0; d + 2 < shapeOf(o.getInput()).size(); ++d)
          rb.add().dims.append({{0, d}, {rb.res(), d}});
      })
      .Case([&](CumSumOp o) {
        for (unsigned d = 0; d < shapeOf(o.getInput()).size(); ++d)
          if ((int64_t)d != o.getAxis())
            rb.add().dims.append({{0, d}, {rb.res(), d}});
      })
      .Case([&](PoolOp o) {
        // Samples and channels pool on their own.
        for (unsigned d = 0; d < 2; ++d) {
          ShardingFactor &f = rb.add();
          f.dims.append({{0, d}, {rb.res(), d}});
          if (o.getIndices())
            f.dims.push_back({rb.res(1), d});
        }
      })
      .Case([&](ScatterElementsOp o) {
        // Off the scatter axis, data, indices, updates and result go
        // together where indices span the whole data dimension.
        ArrayRef<int64_t> d = shapeOf(o.getData()), i = shapeOf(o.getIndices());
        for (unsigned k = 0; k < d.size(); ++k)
          if ((int64_t)k != (int64_t)o.getAxis() && d[k] == i[k])
            rb.add().dims.append({{0, k}, {1, k}, {2, k}, {rb.res(), k}});
      })
      .Case([&](ScatterNdOp o) {
        // The data dimensions past the index tuple are whole slices that
        // the updates carry: they go together; the indexed ones stay whole.
        ArrayRef<int64_t> d = shapeOf(o.getData()), i = shapeOf(o.getIndices());
        unsigned depth = i.back(), batch = i.size() - 1;
        for (unsigned k = depth; k < d.size(); ++k)
          rb.add().dims.append({{0, k}, {2, batch + k - depth}, {rb.res(), k}});
      })
      .Case([&](ConvTransposeOp) { rb.identity(0, rb.res(), 1); })
      .Case([&](GridSampleOp) {
        rb.add().dims.append({{0, 0}, {1, 0}, {rb.res(), 0}});
        rb.add().dims.append({{0, 1}, {rb.res(), 1}});
      })
      .Case([&](TransposeOp o) {
        for (auto [i, p] : llvm::enumerate(o.getPermutation()))
          rb.add().dims.append({{0, (unsigned)p}, {rb.res(), (unsigned)i}});
      })
      .Case([&](ReshapeOp o) {
        // Walk both shapes in groups of equal products. A group that keeps
        // a dimension keeps its factor; a group that merges or splits
        // dimensions keeps only its outermost one, and only for splits that
        // divide it exactly.
        ArrayRef<int64_t> a = shapeOf(o.getInput()), b = shapeOf(o.getResult());
        size_t i = 0, j = 0;
        while (i < a.size() || j < b.size()) {
          size_t i0 = i, j0 = j;
          int64_t pa = 1, pb = 1;
          if (i < a.size())
            pa *= a[i++];
          if (j < b.size())
            pb *= b[j++];
          while (pa != pb && (i < a.size() || j < b.size())) {
            if ((pa < pb && i < a.size()) || j >= b.size())
              pa *= a[i++];
            else
              pb *= b[j++];
          }
          if (pa != pb)
            break;
          // Trailing size-1 dims of either side belong to no factor.
          auto firstBig = [](ArrayRef<int64_t> s, size_t from, size_t to) -> int64_t {
            for (size_t k = from; k < to; ++k)
              if (s[k] > 1)
                return k;
            return -1;
          };
          int64_t ia = firstBig(a, i0, i), jb = firstBig(b, j0, j);
          if (ia < 0 || jb < 0)
            continue;
          unsigned bigA = 0, bigB = 0;
          for (size_t k = i0; k < i; ++k)
            bigA += a[k] > 1;
          for (size_t k = j0; k < j; ++k)
            bigB += b[k] > 1;
          bool same = bigA == 1 && bigB == 1;
          rb.add(Kind::Parallel, !same)
              .dims.append({{0, (unsigned)ia}, {rb.res(), (unsigned)jb}});
        }
      })
      // Along a blockwise joined token axis (kTokenPiecesAttr) the pieces'
      // tokens and the joined ones are one factor: each rank joins or cuts
      // its own blocks.
      // Pieces kept whole on every rank (kWholePiecesAttr) are left out.
      .Case([&](ConcatOp o) {
        bool blockwise = o->hasAttr(kTokenPiecesAttr);
        for (unsigned d = 0; d < shapeOf(o.getResult()).size(); ++d) {
          bool joined = (int64_t)d == o.getAxis();
          if (joined && !blockwise)
            continue;
          ShardingFactor &f = rb.add();
          for (unsigned k = 0; k < o->getNumOperands(); ++k)
            if (!joined || !isWholePiece(o, k))
              f.dims.push_back({k, d});
          f.dims.push_back({rb.res(), d});
        }
      })
      .Case([&](SplitOp o) {
        bool blockwise = o->hasAttr(kTokenPiecesAttr);
        for (unsigned d = 0; d < shapeOf(o.getInput()).size(); ++d) {
          bool joined = (int64_t)d == o.getAxis();
          if (joined && !blockwise)
            continue;
          ShardingFactor &f = rb.add();
          f.dims.push_back({0, d});
          for (unsigned k = 0; k < o->getNumResults(); ++k)
            if (!joined || !isWholePiece(o, k))
              f.dims.push_back({rb.res(k), d});
        }
      })
      .Case([&](SliceOp o) {
        ArrayRef<int64_t> a = shapeOf(o.getInput()), r = shapeOf(o.getResult());
        std::optional<unsigned> blockwise;
        if (auto pieces = o->getAttrOfType<DenseI64ArrayAttr>(kTokenPiecesAttr)) {
          std::optional<unsigned> k = slicedPiece(o, pieces.asArrayRef());
          if (!k || !isWholePiece(o, *k))
            blockwise = tokenPiecesAxis(o);
        }
        for (unsigned d = 0; d < a.size(); ++d)
          if ((a[d] == r[d] && o.getSteps()[d] == 1 && o.getOffsets()[d] == 0) ||
              blockwise == d)
            rb.add().dims.append({{0, d}, {rb.res(), d}});
      })
      .Case([&](GatherOp o) {
        unsigned ax = o.getAxis(), nd = shapeOf(o.getData()).size(),
                 ni = shapeOf(o.getIndices()).size();
        for (unsigned d = 0; d < nd; ++d)
          if (d != ax)
            rb.add().dims.append({{0, d}, {rb.res(), d < ax ? d : d + ni - 1}});
        for (unsigned k = 0; k < ni; ++k)
          rb.add().dims.append({{1, k}, {rb.res(), ax + k}});
      })
      .Case([&](BroadcastOp) { rb.broadcastDims(rb.res(), {0}); })
      .Case([&](TriluOp o) {
        rb.identity(0, rb.res(), std::max<int64_t>(0, shapeOf(o.getInput()).size() - 2));
      })
      .Case([&](EinsumOp o) {
        StringRef eq = o.getEquation();
        auto [lhs, out] = eq.split("->");
        SmallVector<StringRef> ins;
        lhs.split(ins, ',');
        for (auto [d, letter] : llvm::enumerate(out)) {
          ShardingFactor &f = rb.add();
          f.dims.push_back({rb.res(), (unsigned)d});
          for (auto [k, in] : llvm::enumerate(ins))
            if (size_t at = in.find(letter); at != StringRef::npos)
              f.dims.push_back({(unsigned)k, (unsigned)at});
        }
      })
      .Case([&](CacheApplyOp) { rb.broadcastDims(rb.res(), allOperands()); })
      // A cache decision (and a probe) has no factor: its input is whole on
      // every rank, so that every rank measures the same and decides alike.
      .Default([&](Operation *o) {
        // Elementwise ops: every operand dimension follows the result's.
        if (o->getNumResults() == 1 && o->getNumOperands() > 0 &&
            (o->hasTrait<OpTrait::ditc::Broadcasting>() ||
             o->hasTrait<OpTrait::SameOperandsAndResultShape>() ||
             o->hasTrait<OpTrait::SameOperandsAndResultType>()))
          rb.broadcastDims(rb.res(), allOperands());
      });
  // A factor seen in a single dimension still matters (the dim may be
  // split), but one with a size-1 dim only is pointless: drop empty ones.
  llvm::erase_if(rb.rule.factors, [](const ShardingFactor &f) { return f.dims.empty(); });
  return rb.rule;
}

template <typename OpTy>
struct ShardingRuleModel
    : public ShardingRuleOpInterface::ExternalModel<ShardingRuleModel<OpTy>, OpTy> {
  ShardingRule getShardingRule(Operation *op) const { return computeRule(op); }
};

template <typename... Ops>
void attachAll(MLIRContext *ctx) {
  (Ops::template attachInterface<ShardingRuleModel<Ops>>(*ctx), ...);
}
} // namespace

void mlir::ditc::attachShardingRules(MLIRContext *ctx) {
  attachAll<
#define GET_OP_LIST
#include "dialects/Ditc/IR/DitcOps.cpp.inc"
      >(ctx);
}
