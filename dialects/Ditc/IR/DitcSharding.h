//===- DitcSharding.h - meshes, shardings and per-op rules ------*- C++ -*-===//
//
// The plan as IR (the attributes are defined in DitcAttrs.td). A module that
// is to run on several ranks carries a mesh, whose axes have a name, a size
// and a kind (what they divide):
//
//   module attributes {ditc.mesh = #ditc.mesh<["cfg" = 2 : cfg, "ulysses" = 2 : ulysses]>}
//
// Ranks are numbered row-major over the mesh (the first axis is the most
// significant). A value's sharding says, per dimension, which mesh axes
// split it (most significant first); it is stored on the defining op as
// `ditc.sharding`, one entry per result (func arguments: the argument
// attribute of the same name):
//
//   %y = ditc.linear ... {ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}]>]}
//
// A dimension split over axes of total size P holds ceil(n / P) entries per
// rank; the last ranks' blocks are padded when P does not divide n.
// Passes find axes by kind (Mesh::indexOf(MeshAxisKind)); names only
// connect shardings and collectives to the mesh.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_DIALECTS_DITC_IR_DITCSHARDING_H
#define DITC_DIALECTS_DITC_IR_DITCSHARDING_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::ditc {

constexpr llvm::StringLiteral kMeshAttr = "ditc.mesh";
constexpr llvm::StringLiteral kShardingAttr = "ditc.sharding";
/// On a sharded weight slice (ditc.weight): its ShardingAttr.
constexpr llvm::StringLiteral kShardAttr = "ditc.shard";
/// On a ditc.attention whose tokens the plan splits: a SequenceParallelAttr.
constexpr llvm::StringLiteral kSequenceParallelAttr = "ditc.sequence_parallel";
/// On a ditc.concat, ditc.split or ditc.slice along a token dimension that
/// sequence parallelism splits (joint attention over concatenated streams):
/// the global lengths of the streams joined along that axis (array<i64>).
/// The joined dimension is laid out blockwise: each rank holds its block of
/// every stream, one after the other, so the concat and the slices or split
/// that undo it run on each rank's blocks alone. The sharding rules tie the
/// streams' token dimensions to the joined one.
constexpr llvm::StringLiteral kTokenPiecesAttr = "ditc.token_pieces";
/// Beside kTokenPiecesAttr under Ulysses (plan key whole_stream=1): the
/// indices of the pieces kept whole on every rank (array<i64>, ascending,
/// not all of them). Their tokens are not split (xDiT's joint layout: the
/// short text stream whole on every rank, its heads split inside Ulysses);
/// each rank holds the whole pieces and its blocks of the others, in piece
/// order. The sharding rules leave the whole pieces' token dimensions out
/// of the joined factor.
constexpr llvm::StringLiteral kWholePiecesAttr = "ditc.whole_pieces";

/// On an op of a partitioned program that every rank of its group computes
/// whole, though the mesh splits work: why, as a verb phrase ("needs
/// dimension D of operand K whole, ..." or "has no dimension tied to a
/// split one").
constexpr llvm::StringLiteral kReplicatedAttr = "ditc.replicated";

/// The axis a ditc.concat, ditc.split or ditc.slice joins or cuts (a slice:
/// its one dimension that is not whole with step 1; nullopt when it has
/// none or several), and the global lengths of the pieces along it (the
/// concat's operands, the split's results; a slice's from its
/// kTokenPiecesAttr).
std::optional<unsigned> tokenPiecesAxis(Operation *op);
/// A slice of a blockwise joined dimension: which piece it takes (nullopt
/// when it takes none exactly).
std::optional<unsigned> slicedPiece(Operation *slice, ArrayRef<int64_t> pieces);
/// Whether piece `k` of `op`'s kTokenPiecesAttr is kept whole on every rank
/// (kWholePiecesAttr).
bool isWholePiece(Operation *op, unsigned k);

/// The device mesh of a module.
struct Mesh {
  SmallVector<std::string> axes;
  SmallVector<int64_t> shape;
  SmallVector<MeshAxisKind> kinds;

  /// The mesh of `op`'s module; an empty mesh (one rank) when it has none.
  /// Fails (with a diagnostic on `op`) when the attribute is not a MeshAttr.
  static FailureOr<Mesh> of(Operation *op);
  static Mesh of(MeshAttr attr);
  /// The attribute form.
  MeshAttr toAttr(MLIRContext *ctx) const;
  void addAxis(StringRef name, int64_t size, MeshAxisKind kind);

  int64_t numRanks() const;
  /// Index of an axis, or -1.
  int64_t indexOf(StringRef axis) const;
  /// Index of the axis of kind `kind`, or -1.
  int64_t indexOf(MeshAxisKind kind) const;
  bool has(MeshAxisKind kind) const { return indexOf(kind) >= 0; }
  /// The axis whose coordinate is a rank's pipeline stage: the one of kind
  /// `pipeline` or `pipefusion` (at most one of them), or -1.
  int64_t stageAxis() const;
  /// The name of the axis of kind `kind` ("" when the mesh has none).
  std::string nameOf(MeshAxisKind kind) const;
  /// The kind of the axis named `axis` (nullopt when there is none).
  std::optional<MeshAxisKind> kindOf(StringRef axis) const;
  /// Product of the sizes of `axes` (names that are not axes count 1).
  int64_t groupSize(ArrayRef<std::string> axes) const;
  int64_t groupSize(ArrayAttr axes) const;
  /// How many neighbouring ranks a group over `axes` spreads across: ranks
  /// are numbered row-major (the last axis varies fastest), so a group
  /// spans the product of the sizes of its outermost axis and every axis
  /// after it. 1 for no axis. The link a group's messages cross is the
  /// innermost one that holds this many devices.
  int64_t span(ArrayAttr axes) const;
  int64_t span(ArrayRef<std::string> axes) const;
  /// The coordinate of world rank `rank` on axis `axis`, or -1 when the mesh
  /// has no such axis.
  int64_t coordOf(int64_t rank, StringRef axis) const { return coordAt(rank, indexOf(axis)); }
  /// The coordinate of `rank` on axis number `i` (-1 when i < 0).
  int64_t coordAt(int64_t rank, int64_t i) const;
};

/// Pipeline parallelism: a rank's stage is its coordinate on the mesh's stage
/// axis (kind `pipeline` or `pipefusion`, Mesh::stageAxis).
/// On the module under PipeFusion: the patches (i64 >= 1) its image tokens
/// are cut into.
constexpr llvm::StringLiteral kPatchesAttr = "ditc.patches";
/// On the module under pipeline parallelism (`pp`): the micro-batches (i64
/// > 1) the batch is cut into, which the stages pass along one after
/// another (absent: the whole batch at once).
constexpr llvm::StringLiteral kMicrobatchesAttr = "ditc.microbatches";
/// On an op: the stage (i64) whose ranks run it; -1: every rank. Ops
/// without it (written after the stages were cut) take their stage from
/// their operands' or users' ops (stagesOf).
constexpr llvm::StringLiteral kStageAttr = "ditc.stage";
/// On a weight: the stages that read it (array<i64>); only the weight files
/// of their ranks hold it.
constexpr llvm::StringLiteral kStagesAttr = "ditc.stages";

/// On an op of a library with two schedules (PipeFusion): the schedule that
/// runs it, 0 synchronous or 1 stale; -1 or none: both (ScheduleSelectOp).
constexpr llvm::StringLiteral kScheduleAttr = "ditc.schedule";
/// On the module: the number of K/V buffers the stale schedule keeps
/// (kv_cache_update's `cache` is below it).
constexpr llvm::StringLiteral kKvCachesAttr = "ditc.kv_caches";
/// On an op of a step cache's blocks (ditc compile --cache): it runs only
/// when the denoising step computes them (ditc.cache_decide decided so).
constexpr llvm::StringLiteral kCachedAttr = "ditc.cached";

/// The value of the integer attribute `name` of every op in `body`: its own,
/// else an operand's defining op's (>= 0), else its users' when they all
/// have the same, else -1.
llvm::DenseMap<Operation *, int64_t> inferIndexAttr(Block &body, StringRef name);
/// The stage of every op in `body` (-1: every rank): its `ditc.stage`, else
/// the stage of an operand's defining op, else of its users (when they
/// agree), else -1.
llvm::DenseMap<Operation *, int64_t> stagesOf(Block &body);
/// The schedule of every op in `body` (kScheduleAttr; -1: both), inferred
/// as stagesOf infers stages.
llvm::DenseMap<Operation *, int64_t> schedulesOf(Block &body);

/// Per dimension, the mesh axes that split it (most significant first).
using Sharding = SmallVector<SmallVector<std::string, 2>, 4>;

/// Reads / writes `ditc.sharding` of a value (null attr: not annotated).
std::optional<Sharding> getSharding(Value v);
/// The sharding of `v`, or replicated (no axis on any dimension) when it
/// has none.
Sharding shardingOrReplicated(Value v);
void setSharding(Value v, const Sharding &s);
/// Adds `axes` to dimension `dim` of `v`'s sharding (after the axes it has;
/// axes it has already are kept once).
void addSplit(Value v, unsigned dim, ArrayRef<std::string> axes);
ShardingAttr shardingToAttr(MLIRContext *ctx, const Sharding &s);
/// The sharding a ShardingAttr of rank `rank` holds (nullopt otherwise).
std::optional<Sharding> shardingFromAttr(Attribute a, int64_t rank);
/// "[[], [ulysses], []]" for diagnostics.
std::string shardingToString(const Sharding &s);

/// One loop of an op: the (operand-or-result index, dimension) pairs in which
/// it appears. Indices count operands first, then results.
struct ShardingFactor {
  enum class Kind { Parallel, Reduction };
  Kind kind = Kind::Parallel;
  SmallVector<std::pair<unsigned, unsigned>, 4> dims;
  /// Splits must divide every dimension exactly (reshapes), no padding.
  bool exact = false;
};

struct ShardingRule {
  SmallVector<ShardingFactor, 4> factors;
};

/// Attaches ShardingRuleOpInterface to every ditc op (DitcDialect calls it).
void attachShardingRules(MLIRContext *ctx);

} // namespace mlir::ditc

#include "dialects/Ditc/IR/DitcInterfaces.h.inc"

#endif // DITC_DIALECTS_DITC_IR_DITCSHARDING_H
