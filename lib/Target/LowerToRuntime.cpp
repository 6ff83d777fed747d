//===- LowerToRuntime.cpp - planned ditc graph to runtime calls -----------===//
//
// Every ditc op becomes one call (a few for concat/split) of a ditc_rt_*
// entry point. Tensors are pointers: into the arena at the planned offset,
// into the caller's input/output tables, into the weight table, or to
// constant globals. Shapes and strides are constant i64 arrays.
//
//===----------------------------------------------------------------------===//

#include "lib/Target/Passes.h"
#include "lib/Target/KernelLayout.h"
#include "lib/Target/RuntimeKernels.h"
#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/Profile.h"

#include "dialects/Ditc/IR/DitcShapes.h"
#include "ditc/runtime/ditc_kernels.h"
#include "ditc/runtime/ditc_model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/TypeSwitch.h"

#include <deque>
#include <map>
#include <nlohmann/json.hpp>

namespace mlir::ditc {
#define GEN_PASS_DEF_LOWERTORUNTIMEPASS
#include "lib/Target/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

int64_t count(Value v) { return typeOf(v).getNumElements(); }

int64_t elemBytes(Type et) {
  return et.isInteger(1) ? 1 : (et.getIntOrFloatBitWidth() + 7) / 8;
}

/// The runtime's dtype code (also the model ABI's ditc_dtype), or -1.
int32_t dtypeCode(Type et) {
  if (et.isF32())
    return DITC_RT_F32;
  if (et.isF64())
    return DITC_RT_F64;
  if (et.isF16())
    return DITC_RT_F16;
  if (et.isBF16())
    return DITC_RT_BF16;
  auto it = dyn_cast<IntegerType>(et);
  if (!it || it.isSigned())
    return -1;
  bool u = it.isUnsigned();
  switch (it.getWidth()) {
  case 1:
    return u ? -1 : DITC_RT_B8;
  case 8:
    return u ? DITC_RT_U8 : DITC_RT_I8;
  case 16:
    return u ? DITC_RT_U16 : DITC_RT_I16;
  case 32:
    return u ? DITC_RT_U32 : DITC_RT_I32;
  case 64:
    return u ? DITC_RT_U64 : DITC_RT_I64;
  }
  return -1;
}

std::string dtypeName(Type et) {
  std::string s;
  llvm::raw_string_ostream os(s);
  et.print(os);
  return s;
}

Shape contiguousStrides(ArrayRef<int64_t> shape) {
  Shape s(shape.size(), 1);
  for (int64_t k = (int64_t)shape.size() - 2; k >= 0; --k)
    s[k] = s[k + 1] * shape[k + 1];
  return s;
}

/// Strides (elements) that read a contiguous `operand` broadcast to `result`.
Shape broadcastStrides(ArrayRef<int64_t> operand, ArrayRef<int64_t> result) {
  Shape c = contiguousStrides(operand), s(result.size(), 0);
  size_t off = result.size() - operand.size();
  for (size_t k = 0; k < operand.size(); ++k)
    s[off + k] = operand[k] == 1 ? 0 : c[k];
  return s;
}

int64_t product(ArrayRef<int64_t> s) {
  int64_t p = 1;
  for (int64_t d : s)
    p *= d;
  return p;
}

class Lowerer {
public:
  /// Mark the end of every step (ditc compile --trace).
  bool trace = false;
  /// --target cuda: the GPU architectures the kernels were built for
  /// ("80", "90a"), recorded in the descriptor.
  std::vector<std::string> cudaArch;

  Lowerer(ModuleOp module, func::FuncOp func, const KernelTarget &target)
      : target(&target), module(module), func(func), ctx(module.getContext()),
        b(ctx), loc(func.getLoc()), sigs(runtimeKernels(ctx)) {
    ptrTy = LLVM::LLVMPointerType::get(ctx);
    i64Ty = IntegerType::get(ctx, 64);
    i32Ty = IntegerType::get(ctx, 32);
    i8Ty = IntegerType::get(ctx, 8);
  }

  LogicalResult run();

private:
  // Constants and globals.
  Value c64(int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i64Ty, b.getI64IntegerAttr(v));
  }
  Value c32(int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i32Ty, b.getI32IntegerAttr(v));
  }
  Value cf32(double v) {
    return LLVM::ConstantOp::create(b, loc, Float32Type::get(ctx),
                                    b.getF32FloatAttr(v));
  }
  Value null() { return LLVM::ZeroOp::create(b, loc, ptrTy); }

  /// A private constant global holding `bytes`; returns its address.
  Value bytesGlobal(StringRef bytes, StringRef prefix) {
    if (bytes.empty())
      return null();
    return LLVM::AddressOfOp::create(b, loc, globalFor(bytes, prefix));
  }
  /// A tensor constant: slot k of the run's constants table, which the
  /// runtime fills with the globals' addresses (host memory) or with their
  /// copies in device memory (ditc_generated_constants lists them).
  Value constantSlot(StringRef bytes) {
    if (bytes.empty())
      return null();
    LLVM::GlobalOp g = globalFor(bytes, "ditc_const");
    auto [it, inserted] = constIndex.insert({g, (int64_t)constList.size()});
    if (inserted)
      constList.push_back({g, (int64_t)bytes.size()});
    return loadSlot(consts, it->second);
  }
  LLVM::GlobalOp globalFor(StringRef bytes, StringRef prefix) {
    std::string key = prefix.str() + ":" + bytes.str();
    auto it = globals.find(key);
    if (it == globals.end()) {
      OpBuilder gb = OpBuilder::atBlockBegin(module.getBody());
      auto type = LLVM::LLVMArrayType::get(i8Ty, bytes.size());
      auto g = LLVM::GlobalOp::create(
          gb, loc, type, /*isConstant=*/true, LLVM::Linkage::Private,
          (prefix + "_" + std::to_string(globals.size())).str(),
          b.getStringAttr(bytes), /*alignment=*/64);
      it = globals.insert({key, g}).first;
    }
    return it->second;
  }
  Value i64Array(ArrayRef<int64_t> values) {
    return bytesGlobal(StringRef(reinterpret_cast<const char *>(values.data()),
                                 values.size() * sizeof(int64_t)),
                       "ditc_i64");
  }

  /// A GEP index. A constant index of llvm.getelementptr holds only
  /// kGEPConstantBitWidth (29) signed bits and wraps silently beyond them
  /// (an arena offset of 306,081,792 bytes became -230,789,120), so larger
  /// indices are i64 constant operands.
  LLVM::GEPArg gepIndex(int64_t index) {
    constexpr int64_t limit = int64_t(1) << (LLVM::kGEPConstantBitWidth - 1);
    if (index >= -limit && index < limit)
      return LLVM::GEPArg(static_cast<int32_t>(index));
    return LLVM::GEPArg(c64(index));
  }
  Value loadSlot(Value table, int64_t index) {
    Value addr = LLVM::GEPOp::create(b, loc, ptrTy, ptrTy, table,
                                     ArrayRef<LLVM::GEPArg>{gepIndex(index)});
    return LLVM::LoadOp::create(b, loc, ptrTy, addr);
  }
  Value byteOffset(Value p, int64_t bytes) {
    if (bytes == 0)
      return p;
    return LLVM::GEPOp::create(b, loc, ptrTy, i8Ty, p,
                               ArrayRef<LLVM::GEPArg>{gepIndex(bytes)});
  }

  /// Calls entry point `base` of the .def list ("binary") by the target's
  /// symbol for it. One the target does not have is recorded in `missing`
  /// (the op being lowered then fails).
  LLVM::CallOp call(StringRef base, ArrayRef<Value> args) {
    if (!target->has(base) && missing.empty())
      missing = base.str();
    std::string symbol = target->symbol(base);
    auto it = decls.find(symbol);
    if (it == decls.end()) {
      OpBuilder gb = OpBuilder::atBlockEnd(module.getBody());
      auto f = LLVM::LLVMFuncOp::create(gb, loc, symbol,
                                        sigs.lookup(("ditc_rt_" + base).str()));
      it = decls.insert({symbol, f}).first;
    }
    return LLVM::CallOp::create(b, loc, it->second, args);
  }
  /// The error for an entry point the target lacks (`missing`), if any.
  LogicalResult checkMissing(Operation *op) {
    if (missing.empty())
      return success();
    std::string what = missing;
    missing.clear();
    return fail(op, "--target " + target->name + " has no kernel '" + what +
                        "' yet");
  }

  /// Calls a runtime function that returns a status and returns that status
  /// from the generated run when it is not 0 (a collective that failed).
  void callChecked(StringRef kernel, ArrayRef<Value> args) {
    Value status = call(kernel, args).getResult();
    Value zero = c32(0);
    Value bad = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, status, zero);
    Block *cont = b.getBlock()->splitBlock(b.getInsertionPoint());
    b.setInsertionPointAfterValue(bad);
    LLVM::CondBrOp::create(b, loc, bad, failBlock, ValueRange{status}, cont, ValueRange{});
    b.setInsertionPointToStart(cont);
  }

  /// The communicator of the group over `axes` (comms[i] of the run),
  /// its ranks ordered by their coordinates on `axes` in this order (the
  /// order of the split the collective gathers or scatters, which need not
  /// be the mesh's: context_first lists ring after ulysses in the mesh).
  Value commOf(ArrayAttr axes) {
    SmallVector<int64_t> idx;
    for (Attribute a : axes)
      idx.push_back(mesh.indexOf(cast<StringAttr>(a).getValue()));
    auto it = llvm::find(commGroups, idx);
    int64_t k = it - commGroups.begin();
    if (it == commGroups.end())
      commGroups.push_back(idx);
    return loadSlot(comms, k);
  }

  /// ditc_rt_cache_decide for `o` in `mode` (cache_rule.h): the i32 skip.
  Value decideCall(CacheDecideOp o, int32_t mode) {
    auto state = o->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
    SmallVector<double> params = {o.getThreshold().convertToDouble(),
                                  o.getComputeFraction().convertToDouble()};
    llvm::append_range(params, o.getCoefficients());
    Value p = bytesGlobal(StringRef(reinterpret_cast<const char *>(params.data()),
                                    params.size() * sizeof(double)),
                          "ditc_f64");
    return call("cache_decide",
                {c32((int32_t)o.getKind()), c32(dtypeCode(o.getInput().getType().getElementType())),
                 ptrOf(o.getInput()), byteOffset(arena, state[0]),
                 c64(product(shapeOf(o.getInput()))), p, c32(params.size()),
                 byteOffset(arena, state[1]), c32(mode)})
        .getResult();
  }
  LogicalResult takeStaleDecision(Block &body);

  LogicalResult lowerCollective(Operation *op);
  LogicalResult lowerPointToPoint(Operation *op);
  /// An attention mask's kernel arguments (pointer, DITC_RT_MASK_* kind,
  /// element strides over `scores` [B, H, Sq, Sk]); none for a null mask.
  std::tuple<Value, int32_t, Value> maskArgs(Value m, ArrayRef<int64_t> scores) {
    if (!m)
      return {null(), DITC_RT_MASK_NONE, i64Array(Shape(4, 0))};
    int32_t kind = typeOf(m).getElementType().isInteger(1) ? DITC_RT_MASK_BOOL
                                                            : DITC_RT_MASK_ADDITIVE;
    return {ptrOf(m), kind, i64Array(broadcastStrides(shapeOf(m), scores))};
  }
  LogicalResult lowerRingAttention(RingAttentionOp op);
  LogicalResult lowerChunk(ChunkOp op);
  /// Where iteration `iv` of `loop` starts along a cut dimension whose
  /// chunks hold `chunk` elements (ditc.chunk's description).
  Value chunkStart(ChunkOp loop, Value iv, int64_t chunk);
  /// Each chunk loop's iteration index, and each ditc.chunk_offset's value
  /// (i64 values of the generated code).
  llvm::DenseMap<Operation *, Value> loopIndex;
  llvm::DenseMap<Value, Value> chunkOffsets;

  // Tensors.
  Value ptrOf(Value v) { return ptrs.lookup(v); }
  LogicalResult definePointer(Operation *op);
  LogicalResult lower(Operation *op);
  LogicalResult fail(Operation *op, const Twine &why) {
    return op->emitError("cannot generate code: ") << why;
  }

  void copyStrided(Value src, int64_t srcOffset, ArrayRef<int64_t> srcStrides,
                   Value dst, ArrayRef<int64_t> dstStrides,
                   ArrayRef<int64_t> shape, int64_t elem) {
    call("strided_copy",
         {c64(elem), src, c64(srcOffset), i64Array(srcStrides), dst,
          i64Array(dstStrides), i64Array(shape), c32(shape.size())});
  }

  /// The one float type (DITC_RT_F32 / F16 / BF16) of a compute op's
  /// operands and results (the attention mask aside), or an error.
  FailureOr<int32_t> computeType(Operation *op);
  /// computeType of the op being lowered.
  int32_t computeDtype = DITC_RT_F32;
  /// Calls the dtype-taking entry point (16-bit types, or a target without
  /// the f32-only ones).
  bool generic() const {
    return computeDtype != DITC_RT_F32 || !target->f32Entries;
  }
  /// "<name>_f32" for the f32-only entry point, else "<name>" (it takes the
  /// dtype first: `args` then start with it).
  StringRef kernelFor(StringRef name) {
    kernelNames.push_back((name + (generic() ? "" : "_f32")).str());
    return kernelNames.back();
  }
  /// `args`, with the dtype code in front for the dtype-taking kernels.
  SmallVector<Value> withDtype(ArrayRef<Value> args) {
    SmallVector<Value> a;
    if (generic())
      a.push_back(c32(computeDtype));
    a.append(args.begin(), args.end());
    return a;
  }
  std::deque<std::string> kernelNames;
  LogicalResult lowerBinary(Operation *op, int32_t code);
  LogicalResult lowerUnary(Operation *op, int32_t code);
  LogicalResult lowerReduce(Operation *op, int32_t code, ArrayRef<int64_t> axes);
  /// The kernels of runtime/src/structured.cpp (ArgMax/ArgMin, CumSum, pool,
  /// conv_transpose, grid_sample, the scatters).
  LogicalResult lowerStructured(Operation *op);
  /// The dtype code of `v`'s elements when a "number" kernel takes it (F32,
  /// F64, the integers), else an error naming the op.
  FailureOr<int32_t> numberDtype(Operation *op, Value v);
  LogicalResult lowerMatmul(MatmulOp op);
  LogicalResult lowerAttention(AttentionOp op);
  LogicalResult lowerConv(ConvOp op);
  std::string descriptorJson();

  const KernelTarget *target;
  std::string missing;
  ModuleOp module;
  func::FuncOp func;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
  llvm::StringMap<LLVM::LLVMFunctionType> sigs;
  llvm::StringMap<LLVM::LLVMFuncOp> decls;
  std::map<std::string, LLVM::GlobalOp> globals;
  Type ptrTy, i64Ty, i32Ty, i8Ty;
  Value arena, inputs, outputs, weights, comms, consts, schedule;
  /// The step cache's decision (ditc.cache_decide lowered last; null
  /// before one): i32 1 when the step skips its blocks, and i1 whether it
  /// computes them.
  Value cacheSkip, cacheCompute;
  DenseMap<Operation *, int64_t> constIndex;
  SmallVector<std::pair<LLVM::GlobalOp, int64_t>> constList;
  Block *failBlock = nullptr;
  Mesh mesh;
  SmallVector<SmallVector<int64_t>> commGroups;
  DenseMap<Value, Value> ptrs;
  /// The element strides of strided views (isStridedView slices and their
  /// reshapes); any other value is contiguous.
  DenseMap<Value, Shape> viewStrides;
  /// Strides (elements) that read `v` broadcast to `result`.
  Shape stridesOf(Value v, ArrayRef<int64_t> result) const;
  /// Points result k of a slice or split, a strided view (isStridedView),
  /// into its input.
  LogicalResult defineView(Operation *op, unsigned k);
  llvm::StringMap<int64_t> weightIndex;
  SmallVector<WeightOp> weightList;
  int32_t traceSteps = 0;
  int64_t arenaBytes = 0;
};

LogicalResult Lowerer::definePointer(Operation *op) {
  if (auto w = dyn_cast<WeightOp>(op)) {
    auto [it, inserted] = weightIndex.insert({w.getName(), weightList.size()});
    if (inserted)
      weightList.push_back(w);
    ptrs[w.getResult()] = loadSlot(weights, it->second);
    return success();
  }
  if (auto c = dyn_cast<ConstantOp>(op)) {
    auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
    if (!dense)
      return fail(op, "constant is not dense");
    std::string bytes;
    Type et = dense.getElementType();
    if (et.isInteger(1)) {
      for (bool v : dense.getValues<bool>())
        bytes.push_back(v ? 1 : 0);
    } else {
      ArrayRef<char> raw = dense.getRawData();
      if (dense.isSplat())
        for (int64_t k = 0; k < dense.getNumElements(); ++k)
          bytes.append(raw.data(), raw.size());
      else
        bytes.assign(raw.data(), raw.size());
    }
    ptrs[c.getResult()] = constantSlot(bytes);
    return success();
  }
  if (auto r = dyn_cast<ReshapeOp>(op)) {
    ptrs[r.getResult()] = ptrOf(r.getInput());
    // A strided view keeps its strides over the non-unit dims.
    if (viewStrides.count(r.getInput()))
      viewStrides[r.getResult()] = Shape(pieceLayout(r.getResult())->strides);
    return success();
  }
  if (isa<ChunkOffsetOp>(op)) // an integer, not a buffer (lower())
    return success();
  if (auto sel = dyn_cast<ScheduleSelectOp>(op)) {
    Value stale = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, schedule, c32(1));
    ptrs[sel.getResult()] = LLVM::SelectOp::create(b, loc, stale, ptrOf(sel.getStale()),
                                                   ptrOf(sel.getSynchronous()));
    return success();
  }
  auto offsets = op->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
  // The offsets of the state an op keeps across calls follow its results'.
  size_t state = stateBuffers(op).size();
  if (!offsets || offsets.size() != (int64_t)(op->getNumResults() + state))
    return fail(op, "no memory plan (run -ditc-plan-memory first)");
  if (!op->getNumResults())
    return success();
  for (auto [k, r, o] : llvm::enumerate(op->getResults(), offsets.asArrayRef())) {
    if (o == kViewOffset) {
      if (failed(defineView(op, k)))
        return failure();
      continue;
    }
    if (isOutputOffset(o)) {
      if (outputIndex(o) >= (int64_t)func.getNumResults())
        return fail(op, "its result is planned into output " +
                            Twine(outputIndex(o)) + " of a graph with " +
                            Twine(func.getNumResults()) + " outputs");
      ptrs[r] = loadSlot(outputs, outputIndex(o));
      continue;
    }
    // A plan edited by hand (or a planner bug) must not address memory
    // outside the arena at run time.
    int64_t bytes = tensorBytes(r.getType());
    if (o < 0 || (bytes > 0 && o > arenaBytes - bytes))
      return fail(op, "its result [" + Twine(o) + ", " + Twine(o + bytes) +
                          ") lies outside the " + Twine(arenaBytes) +
                          "-byte arena");
    ptrs[r] = byteOffset(arena, o);
  }
  return success();
}

LogicalResult Lowerer::defineView(Operation *op, unsigned k) {
  Value piece = op->getResult(k), in = op->getOperand(0);
  if (!isStridedView(piece))
    return fail(op, "its memory plan makes result " + Twine(k) +
                        " a view, but a user reads it contiguously");
  StridedLayout l = *pieceLayout(piece);
  ptrs[piece] = byteOffset(ptrOf(in), l.start * elemBytes(typeOf(piece).getElementType()));
  viewStrides[piece] = Shape(l.strides);
  return success();
}

Shape Lowerer::stridesOf(Value v, ArrayRef<int64_t> result) const {
  auto it = viewStrides.find(v);
  if (it == viewStrides.end())
    return broadcastStrides(shapeOf(v), result);
  ArrayRef<int64_t> shape = shapeOf(v);
  Shape s(result.size(), 0);
  size_t off = result.size() - shape.size();
  for (size_t k = 0; k < shape.size(); ++k)
    s[off + k] = shape[k] == 1 ? 0 : it->second[k];
  return s;
}

LogicalResult Lowerer::lowerBinary(Operation *op, int32_t code) {
  Value out = op->getResult(0);
  Type et = typeOf(op->getOperand(0)).getElementType();
  int32_t dt = dtypeCode(et);
  if (dt < 0 || !(ditc_rt_binary_dtypes(code) & (1u << dt)))
    return fail(op, "no runtime kernel for '" + op->getName().getStringRef() +
                        "' on element type " + dtypeName(et));
  ArrayRef<int64_t> s = shapeOf(out);
  Value a = op->getOperand(0), bb = op->getOperand(1);
  call("binary",
       {c32(code), c32(dt), ptrOf(a), i64Array(stridesOf(a, s)), ptrOf(bb),
        i64Array(stridesOf(bb, s)), ptrOf(out),
        i64Array(s), c32(s.size())});
  return success();
}

LogicalResult Lowerer::lowerUnary(Operation *op, int32_t code) {
  Value x = op->getOperand(0), y = op->getResult(0);
  Type et = typeOf(x).getElementType();
  if (et.isF32() && target->f32Entries) {
    call("unary_f32", {c32(code), ptrOf(x), ptrOf(y), c64(count(x))});
    return success();
  }
  if (!et.isF32() && !et.isF64() && !et.isF16() && !et.isBF16())
    return fail(op, "unary kernels take f32, f64, f16 or bf16, not " +
                        dtypeName(et));
  call("unary",
       {c32(code), c32(dtypeCode(et)), ptrOf(x), ptrOf(y), c64(count(x))});
  return success();
}

LogicalResult Lowerer::lowerReduce(Operation *op, int32_t code,
                                   ArrayRef<int64_t> axes) {
  Value x = op->getOperand(0), y = op->getResult(0);
  int32_t dt = dtypeCode(typeOf(x).getElementType());
  if (dt != DITC_RT_F32 && dt != DITC_RT_F64 && dt != DITC_RT_F16 &&
      dt != DITC_RT_BF16 && dt != DITC_RT_I64 && dt != DITC_RT_I32)
    return fail(op, "reductions take f32, f64, f16, bf16, i64 or i32");
  int64_t mask = 0;
  for (int64_t a : axes)
    mask |= int64_t(1) << a;
  call("reduce", {c32(code), c32(dt), ptrOf(x), i64Array(shapeOf(x)),
                          c32(shapeOf(x).size()), c64(mask), ptrOf(y)});
  return success();
}

FailureOr<int32_t> Lowerer::numberDtype(Operation *op, Value v) {
  Type et = typeOf(v).getElementType();
  int32_t dt = dtypeCode(et);
  if (dt < 0 || dt == DITC_RT_B8 || dt == DITC_RT_F16 || dt == DITC_RT_BF16)
    return fail(op, "the '" + op->getName().getStringRef() +
                        "' kernel takes f32, f64 or integers, not " +
                        dtypeName(et));
  return dt;
}

LogicalResult Lowerer::lowerStructured(Operation *op) {
  // [outer, len, inner] around one axis.
  auto around = [](ArrayRef<int64_t> s, int64_t axis) {
    return std::array<int64_t, 3>{product(s.take_front(axis)), s[axis],
                                  product(s.drop_front(axis + 1))};
  };
  auto spatial = [](Value v) { return shapeOf(v).drop_front(2); };
  auto indexDtype = [](Value v) {
    return dtypeCode(typeOf(v).getElementType());
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ArgMaxOp, ArgMinOp>([&](auto o) -> LogicalResult {
        FailureOr<int32_t> dt = numberDtype(o, o.getInput());
        if (failed(dt))
          return failure();
        auto [outer, len, inner] = around(shapeOf(o.getInput()), o.getAxis());
        call("arg_reduce",
             {c32(isa<ArgMinOp>(op)), c32(*dt), ptrOf(o.getInput()),
              c64(outer), c64(len), c64(inner), c32(o.getSelectLastIndex()),
              ptrOf(o.getResult())});
        return success();
      })
      .Case([&](DetOp o) -> LogicalResult {
        Type et = typeOf(o.getInput()).getElementType();
        if (!et.isF32() && !et.isF64())
          return fail(o, "det takes f32 or f64, not " + dtypeName(et));
        ArrayRef<int64_t> s = shapeOf(o.getInput());
        call("det", {c32(dtypeCode(et)), ptrOf(o.getInput()),
                     ptrOf(o.getResult()), c64(product(s.drop_back(2))),
                     c64(s.back())});
        return success();
      })
      .Case([&](CumSumOp o) -> LogicalResult {
        FailureOr<int32_t> dt = numberDtype(o, o.getInput());
        if (failed(dt))
          return failure();
        auto [outer, len, inner] = around(shapeOf(o.getInput()), o.getAxis());
        call("cumsum", {c32(*dt), ptrOf(o.getInput()), ptrOf(o.getResult()),
                        c64(outer), c64(len), c64(inner),
                        c32(o.getExclusive()), c32(o.getReverse())});
        return success();
      })
      .Case([&](PoolOp o) -> LogicalResult {
        FailureOr<int32_t> dt = numberDtype(o, o.getInput());
        if (failed(dt))
          return failure();
        ArrayRef<int64_t> in = shapeOf(o.getInput());
        call("pool",
             {c32((int32_t)o.getKind()), c32(*dt), ptrOf(o.getInput()),
              ptrOf(o.getResult()),
              o.getIndices() ? ptrOf(o.getIndices()) : null(),
              c64(in[0] * in[1]), c32(in.size() - 2),
              i64Array(spatial(o.getInput())), i64Array(spatial(o.getResult())),
              i64Array(o.getKernelShape()), i64Array(o.getStrides()),
              i64Array(o.getPads()), i64Array(o.getDilations()),
              c32(o.getCountIncludePad()), c32(o.getP())});
        return success();
      })
      .Case([&](ConvTransposeOp o) -> LogicalResult {
        if (!typeOf(o.getInput()).getElementType().isF32())
          return fail(o, "the conv_transpose kernel takes f32");
        ArrayRef<int64_t> in = shapeOf(o.getInput()), w = shapeOf(o.getWeight());
        call("conv_transpose_f32",
             {ptrOf(o.getInput()), ptrOf(o.getWeight()),
              o.getBias() ? ptrOf(o.getBias()) : null(), ptrOf(o.getResult()),
              c64(in[0]), c64(in[1]), c64(w[1] * o.getGroup()),
              c32(in.size() - 2), i64Array(spatial(o.getInput())),
              i64Array(spatial(o.getResult())), i64Array(w.drop_front(2)),
              i64Array(o.getStrides()), i64Array(o.getPads()),
              i64Array(o.getDilations()), c64(o.getGroup())});
        return success();
      })
      .Case([&](GridSampleOp o) -> LogicalResult {
        if (!typeOf(o.getInput()).getElementType().isF32())
          return fail(o, "the grid_sample kernel takes f32");
        ArrayRef<int64_t> in = shapeOf(o.getInput());
        call("grid_sample_f32",
             {ptrOf(o.getInput()), ptrOf(o.getGrid()), ptrOf(o.getResult()),
              c64(in[0]), c64(in[1]), c32(in.size() - 2),
              i64Array(spatial(o.getInput())), i64Array(spatial(o.getResult())),
              c32((int32_t)o.getMode()), c32((int32_t)o.getPaddingMode()),
              c32(o.getAlignCorners())});
        return success();
      })
      .Case<ScatterElementsOp, ScatterNdOp>([&](auto o) -> LogicalResult {
        int32_t dt = dtypeCode(typeOf(o.getData()).getElementType());
        if (o.getReduction() != ScatterReduction::none) {
          FailureOr<int32_t> n = numberDtype(o, o.getData());
          if (failed(n))
            return failure();
        }
        if (dt < 0)
          return fail(o, "no scatter kernel for this element type");
        SmallVector<Value> args{c32((int32_t)o.getReduction()), c32(dt),
                                ptrOf(o.getData()), ptrOf(o.getIndices()),
                                c32(indexDtype(o.getIndices())),
                                ptrOf(o.getUpdates()), ptrOf(o.getResult()),
                                i64Array(shapeOf(o.getData()))};
        ArrayRef<int64_t> idx = shapeOf(o.getIndices());
        if constexpr (std::is_same_v<decltype(o), ScatterElementsOp>) {
          args.append({i64Array(idx), c32(idx.size()), c32(o.getAxis())});
          call("scatter_elements", args);
        } else {
          args.append({c32(shapeOf(o.getData()).size()),
                       c64(product(idx.drop_back())), c32(idx.back())});
          call("scatter_nd", args);
        }
        return success();
      })
      .Default([&](Operation *o) {
        return fail(o, "no structured kernel for this op");
      });
}

LogicalResult Lowerer::lowerMatmul(MatmulOp op) {
  ArrayRef<int64_t> a = shapeOf(op.getLhs()), bs = shapeOf(op.getRhs()),
                    c = shapeOf(op.getResult());
  int64_t m = a[a.size() - 2], k = a.back(), n = bs.back();
  ArrayRef<int64_t> batch = c.drop_back(2);
  // Batch strides in elements: each operand's matrices are contiguous.
  auto batchStrides = [&](ArrayRef<int64_t> s, int64_t matrix) {
    Shape st = broadcastStrides(s.drop_back(2), batch);
    for (int64_t &x : st)
      x *= matrix;
    return st;
  };
  call(kernelFor("matmul"),
       withDtype({ptrOf(op.getLhs()), ptrOf(op.getRhs()), ptrOf(op.getResult()), c64(m),
                  c64(k), c64(n), c32(batch.size()), i64Array(batch),
                  i64Array(batchStrides(a, m * k)), i64Array(batchStrides(bs, k * n))}));
  return success();
}

/// The DITC_RT_SEQ_MAJOR_* bits of an attention's `seq_major` tensors.
template <class Attention>
static int32_t attentionLayout(Attention op) {
  int32_t layout = 0;
  const std::pair<AttentionOp::Tensor, int32_t> bits[] = {
      {AttentionOp::kQuery, DITC_RT_SEQ_MAJOR_Q},
      {AttentionOp::kKey, DITC_RT_SEQ_MAJOR_K},
      {AttentionOp::kValue, DITC_RT_SEQ_MAJOR_V},
      {AttentionOp::kResult, DITC_RT_SEQ_MAJOR_OUT}};
  for (auto [t, bit] : bits)
    if (op.isSeqMajor(t))
      layout |= bit;
  return layout;
}

LogicalResult Lowerer::lowerAttention(AttentionOp op) {
  // Sizes as [B, H, S, D] whatever the layout.
  std::array<int64_t, 4> q = op.headSizes(AttentionOp::kQuery),
                         k = op.headSizes(AttentionOp::kKey),
                         v = op.headSizes(AttentionOp::kValue);
  auto [mask, kind, maskStrides] = maskArgs(op.getMask(), {q[0], q[1], q[2], k[2]});
  Value offset = op.getQueryOffset();
  Value first;
  if (offset) {
    first = chunkOffsets.lookup(offset);
    if (!first)
      return fail(op, "its query_offset is not a chunk loop's ditc.chunk_offset");
  }
  if (int32_t layout = attentionLayout(op)) {
    // Heads where the linear layers put them: the layout kernel (a chunk
    // loop's query rows from their first, over every key).
    call(kernelFor("attention_layout"),
         withDtype({ptrOf(op.getQuery()), ptrOf(op.getKey()), ptrOf(op.getValue()), mask,
                    c32(kind), maskStrides, ptrOf(op.getResult()), null(), c64(q[0]),
                    c64(q[1]), c64(k[1]), c64(q[2]), c64(k[2]), c64(q[3]), c64(v[3]),
                    cf32(op.getEffectiveScale()), c32(op.getCausal()),
                    first ? first : c64(0), c64(0), c64(0), c32(layout)}));
    return success();
  }
  if (offset) {
    // A chunk loop's query rows: the block kernel with the chunk's first
    // row (over every key, no log-sum-exp).
    call(kernelFor("attention_block"),
         withDtype({ptrOf(op.getQuery()), ptrOf(op.getKey()), ptrOf(op.getValue()), mask,
                    c32(kind), maskStrides, ptrOf(op.getResult()), null(), c64(q[0]),
                    c64(q[1]), c64(k[1]), c64(q[2]), c64(k[2]), c64(q[3]), c64(v[3]),
                    cf32(op.getEffectiveScale()), c32(op.getCausal()), first, c64(0),
                    c64(0)}));
    return success();
  }
  call(kernelFor("attention"),
       withDtype({ptrOf(op.getQuery()), ptrOf(op.getKey()), ptrOf(op.getValue()), mask,
                  c32(kind), maskStrides, ptrOf(op.getResult()), c64(q[0]),
                  c64(q[1]), c64(k[1]), c64(q[2]), c64(k[2]), c64(q[3]), c64(v[3]),
                  cf32(op.getEffectiveScale()), c32(op.getCausal())}));
  return success();
}

LogicalResult Lowerer::lowerCollective(Operation *op) {
  Value x = op->getOperand(0), y = op->getResult(0);
  int32_t dt = dtypeCode(typeOf(x).getElementType());
  if (dt < 0)
    return fail(op, "no runtime dtype for " + dtypeName(typeOf(x).getElementType()));
  ArrayRef<int64_t> shape = shapeOf(x);
  auto common = [&](ArrayAttr axes) {
    return SmallVector<Value>{commOf(axes), ptrOf(x), ptrOf(y), c32(dt),
                              c32(shape.size()), i64Array(shape)};
  };
  if (auto o = dyn_cast<AllReduceOp>(op)) {
    callChecked("coll_all_reduce",
                {commOf(o.getAxes()), ptrOf(x), ptrOf(y), c64(product(shape)), c32(dt)});
    return success();
  }
  if (auto o = dyn_cast<AllToAllOp>(op)) {
    SmallVector<Value> args = common(o.getAxes());
    args.append({c32(o.getSplitAxis()), c32(o.getConcatAxis())});
    callChecked("coll_all_to_all", args);
    return success();
  }
  StringRef kernel;
  int64_t axis;
  ArrayAttr axes;
  if (auto o = dyn_cast<AllGatherOp>(op))
    kernel = "coll_all_gather", axis = o.getAxis(), axes = o.getAxes();
  else if (auto o = dyn_cast<ReduceScatterOp>(op))
    kernel = "coll_reduce_scatter", axis = o.getAxis(), axes = o.getAxes();
  else {
    auto s = cast<ShardOp>(op);
    kernel = "coll_slice", axis = s.getAxis(), axes = s.getAxes();
  }
  SmallVector<Value> args = common(axes);
  args.push_back(c32(axis));
  callChecked(kernel, args);
  return success();
}

LogicalResult Lowerer::lowerPointToPoint(Operation *op) {
  // Pipeline stages: send, recv, and the outputs' broadcast.
  Value t = isa<RecvOp>(op) ? op->getResult(0) : op->getOperand(0);
  int32_t dt = dtypeCode(typeOf(t).getElementType());
  if (dt < 0)
    return fail(op, "no runtime dtype for " + dtypeName(typeOf(t).getElementType()));
  Value n = c64(count(t));
  if (auto o = dyn_cast<SendOp>(op))
    callChecked("coll_send", {commOf(o.getAxes()), ptrOf(t), n, c32(dt),
                                      c32(o.getPeer()), c32(o.getTag())});
  else if (auto o = dyn_cast<RecvOp>(op))
    callChecked("coll_recv", {commOf(o.getAxes()), ptrOf(t), n, c32(dt),
                                      c32(o.getPeer()), c32(o.getTag())});
  else {
    auto bc = cast<CollectiveBroadcastOp>(op);
    callChecked("coll_broadcast", {commOf(bc.getAxes()), ptrOf(t),
                                           ptrOf(bc.getResult()), n, c32(dt),
                                           c32(bc.getRoot())});
  }
  return success();
}

LogicalResult Lowerer::lowerRingAttention(RingAttentionOp op) {
  // Sizes as [B, H, S, D] whatever the layout.
  std::array<int64_t, 4> q = op.headSizes(AttentionOp::kQuery),
                         k = op.headSizes(AttentionOp::kKey),
                         v = op.headSizes(AttentionOp::kValue);
  int64_t ring = mesh.groupSize(op.getAxes());
  // The mask's key index is global: Sk over the whole ring.
  auto [mask, kind, maskStrides] = maskArgs(op.getMask(), {q[0], q[1], q[2], k[2] * ring});
  double scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0 / std::sqrt((double)q[3]);
  // A double ring: the inner rings' communicator, then the outer ring's
  // (over the leading axes).
  SmallVector<Value> args;
  ArrayAttr inner = op.getInnerAttr();
  if (inner) {
    ArrayRef<Attribute> all = op.getAxes().getValue();
    args.push_back(commOf(inner));
    args.push_back(commOf(ArrayAttr::get(op.getContext(), all.drop_back(inner.size()))));
  } else {
    args.push_back(commOf(op.getAxes()));
  }
  // The dtype-taking entry points on every target: they alone take the
  // tensors' layout.
  args.append({c32(computeDtype), ptrOf(op.getQuery()), ptrOf(op.getKey()),
               ptrOf(op.getValue()), mask, c32(kind), maskStrides, ptrOf(op.getResult()),
               c64(q[0]), c64(q[1]), c64(k[1]), c64(q[2]), c64(k[2]), c64(q[3]), c64(v[3]),
               cf32(scale), c32(op.getCausal()), c64(op.getKvValid()),
               c32(attentionLayout(op))});
  callChecked(inner ? "double_ring_attention" : "ring_attention", args);
  return success();
}

LogicalResult Lowerer::lowerConv(ConvOp op) {
  ArrayRef<int64_t> x = shapeOf(op.getInput()), w = shapeOf(op.getWeight());
  if (x.size() != 4)
    return fail(op, "only 2-D convolutions have a kernel");
  ArrayRef<int64_t> s = op.getStrides(), p = op.getPads(), d = op.getDilations();
  call(kernelFor("conv2d"),
       withDtype({ptrOf(op.getInput()), ptrOf(op.getWeight()),
                  op.getBias() ? ptrOf(op.getBias()) : null(), ptrOf(op.getResult()),
                  c64(x[0]), c64(x[1]), c64(x[2]), c64(x[3]), c64(w[0]), c64(w[2]),
                  c64(w[3]), c64(s[0]), c64(s[1]), c64(p[0]), c64(p[1]), c64(p[2]),
                  c64(p[3]), c64(d[0]), c64(d[1]), c64(op.getGroup())}));
  return success();
}

FailureOr<int32_t> Lowerer::computeType(Operation *op) {
  Value mask;
  if (auto a = dyn_cast<AttentionOp>(op))
    mask = a.getMask();
  else if (auto a = dyn_cast<RingAttentionOp>(op))
    mask = a.getMask();
  if (mask && !typeOf(mask).getElementType().isInteger(1) &&
      !typeOf(mask).getElementType().isF32())
    return fail(op, "an additive attention mask must be f32, not " +
                        dtypeName(typeOf(mask).getElementType()));
  Type et;
  Value offset;
  if (auto a = dyn_cast<AttentionOp>(op))
    offset = a.getQueryOffset();
  for (Value v : llvm::concat<Value>(op->getOperands(), op->getResults())) {
    if (v == mask || (offset && v == offset))
      continue;
    Type t = typeOf(v).getElementType();
    if (!t.isF32() && !t.isF16() && !t.isBF16())
      return fail(op, "the kernel takes f32, f16 or bf16, not " + dtypeName(t));
    if (et && t != et)
      return fail(op, "the kernel takes one float type, not " + dtypeName(et) +
                          " and " + dtypeName(t));
    et = t;
  }
  return dtypeCode(et);
}

Value Lowerer::chunkStart(ChunkOp loop, Value iv, int64_t chunk) {
  Value at = LLVM::MulOp::create(b, loc, iv, c64(chunk));
  int64_t uneven = loop.getUnevenSize();
  if (!uneven)
    return at;
  Value last = c64(uneven - chunk);
  Value before = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, at, last);
  return LLVM::SelectOp::create(b, loc, before, at, last);
}

/// A chunk loop: a loop over the chunks, its body's pointers defined inside
/// it (the body's buffers are planned once, at chunk size; the arguments cut
/// from the inputs move with the iteration).
LogicalResult Lowerer::lowerChunk(ChunkOp op) {
  auto argOffsets = op->getAttrOfType<DenseI64ArrayAttr>(kArgOffsetsAttr);
  Block &inner = op.getBodyBlock();
  if (!argOffsets || argOffsets.size() != (int64_t)inner.getNumArguments())
    return fail(op, "no memory plan for the chunk loop's arguments");
  int64_t count = op.getCount(), uneven = op.getUnevenSize();
  Block *header = new Block(), *loopBody = new Block(), *exit = new Block();
  Region *region = b.getBlock()->getParent();
  region->push_back(header);
  region->push_back(loopBody);
  region->push_back(exit);
  header->addArgument(i64Ty, loc);
  LLVM::BrOp::create(b, loc, ValueRange{c64(0)}, header);
  b.setInsertionPointToStart(header);
  Value iv = header->getArgument(0);
  Value more = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, iv, c64(count));
  LLVM::CondBrOp::create(b, loc, more, loopBody, ValueRange{}, exit, ValueRange{});
  b.setInsertionPointToStart(loopBody);
  loopIndex[op] = iv;
  Value start = uneven ? chunkStart(op, iv, ChunkOp::chunkSize(uneven, count)) : Value();
  // Chunk iv of a value cut along `dim`: its first element.
  auto firstElement = [&](Value whole, int64_t dim) -> Value {
    int64_t stride = contiguousStrides(shapeOf(whole))[dim];
    if (uneven)
      return LLVM::MulOp::create(b, loc, start, c64(stride));
    return LLVM::MulOp::create(b, loc, iv, c64(shapeOf(whole)[dim] / count * stride));
  };
  for (auto [k, in] : llvm::enumerate(op.getInputs())) {
    int64_t dim = op.getInputDims()[k], elem = elemBytes(typeOf(in).getElementType());
    Value first = firstElement(in, dim);
    BlockArgument arg = inner.getArgument(k);
    int64_t o = argOffsets[k];
    if (o == kViewOffset) {
      ptrs[arg] = LLVM::GEPOp::create(b, loc, ptrTy, i8Ty, ptrOf(in),
                                      ValueRange{LLVM::MulOp::create(b, loc, first, c64(elem))});
      continue;
    }
    int64_t bytes = tensorBytes(arg.getType());
    if (o < 0 || (bytes > 0 && o > arenaBytes - bytes))
      return fail(op, "its argument " + Twine(k) + " lies outside the arena");
    ptrs[arg] = byteOffset(arena, o);
    call("strided_copy", {c64(elem), ptrOf(in), first, i64Array(contiguousStrides(shapeOf(in))),
                          ptrs[arg], i64Array(contiguousStrides(shapeOf(arg))),
                          i64Array(shapeOf(arg)), c32(shapeOf(arg).size())});
  }
  for (Operation &bodyOp : inner.without_terminator()) {
    loc = bodyOp.getLoc();
    if (failed(definePointer(&bodyOp)))
      return failure();
  }
  for (Operation &bodyOp : inner.without_terminator()) {
    loc = bodyOp.getLoc();
    if (failed(lower(&bodyOp)) || failed(checkMissing(&bodyOp)))
      return failure();
  }
  loc = op.getLoc();
  // Each result's chunk into its place.
  auto yield = cast<YieldOp>(inner.getTerminator());
  for (auto [k, v] : llvm::enumerate(yield.getValues())) {
    Value whole = op.getResult(k);
    int64_t dim = op.getResultDims()[k], elem = elemBytes(typeOf(v).getElementType());
    Value first = LLVM::MulOp::create(b, loc, firstElement(whole, dim), c64(elem));
    Value dst = LLVM::GEPOp::create(b, loc, ptrTy, i8Ty, ptrOf(whole), ValueRange{first});
    copyStrided(ptrOf(v), 0, contiguousStrides(shapeOf(v)), dst,
                contiguousStrides(shapeOf(whole)), shapeOf(v), elem);
  }
  LLVM::BrOp::create(b, loc, ValueRange{LLVM::AddOp::create(b, loc, iv, c64(1))}, header);
  b.setInsertionPointToStart(exit);
  return success();
}

/// A linear layer's `activation` argument (DITC_RT_ACTIVATION_NONE or the
/// unary op).
static int32_t activationCode(std::optional<Activation> act) {
  if (!act)
    return DITC_RT_ACTIVATION_NONE;
  switch (*act) {
  case Activation::gelu:
    return DITC_RT_UNARY_GELU;
  case Activation::gelu_tanh:
    return DITC_RT_UNARY_GELU_TANH;
  case Activation::silu:
    return DITC_RT_UNARY_SILU;
  }
  llvm_unreachable("an activation the enum does not have");
}

LogicalResult Lowerer::lower(Operation *op) {
  // The contractions, norms, softmax, attention and rope compute in one float
  // type: f32 calls the _f32 kernels, f16 / bf16 the dtype-taking ones.
  if (isa<MatmulOp, LinearOp, ConvOp, LayerNormOp, RmsNormOp, GroupNormOp,
          SoftmaxOp, AttentionOp, RingAttentionOp, RopeOp>(op)) {
    FailureOr<int32_t> dt = computeType(op);
    if (failed(dt))
      return failure();
    computeDtype = *dt;
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<WeightOp, ConstantOp, ReshapeOp, ScheduleSelectOp>([](auto) { return success(); })
      .Case([&](ChunkOp o) { return lowerChunk(o); })
      .Case([&](ChunkOffsetOp o) {
        // iteration index x stride, or the uneven loop's last chunk's start
        // (+ the enclosing loop's offset), an i64.
        auto loop = cast<ChunkOp>(o->getParentOp());
        Value at = chunkStart(loop, loopIndex.lookup(loop), o.getStride());
        if (Value base = o.getBase())
          at = LLVM::AddOp::create(b, loc, chunkOffsets.lookup(base), at);
        chunkOffsets[o.getResult()] = at;
        return success();
      })
      .Case([&](KvCacheUpdateOp o) {
        // The input's blocks into the buffer (its pointer) at `offset` +
        // g * `stride` along `axis`: one copy over [.., blocks, block, ..].
        int64_t axis = o.getAxis(), blocks = o.getBlocks();
        Shape in(shapeOf(o.getInput()).begin(), shapeOf(o.getInput()).end());
        Shape whole = contiguousStrides(shapeOf(o.getResult()));
        int64_t elem = elemBytes(o.getType().getElementType());
        Shape shape = in, dst = whole;
        shape[axis] = in[axis] / blocks;
        shape.insert(shape.begin() + axis, blocks);
        dst.insert(dst.begin() + axis, o.getStride() * whole[axis]);
        copyStrided(ptrOf(o.getInput()), 0, contiguousStrides(shape),
                    byteOffset(ptrOf(o.getResult()), o.getOffset() * whole[axis] * elem), dst,
                    shape, elem);
        return success();
      })
      .Case([&](ProbeOp o) {
        auto state = o->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
        call("probe_change",
             {c32(dtypeCode(o.getInput().getType().getElementType())), ptrOf(o.getInput()),
              byteOffset(arena, state[0]), c64(product(shapeOf(o.getInput()))),
              byteOffset(arena, state[1])});
        return success();
      })
      .Case([&](CacheDecideOp o) {
        // Stale: the next step's decision (the call starts with it, see
        // takeStaleDecision).
        Value skip = decideCall(o, o.getStale() ? 1 : 0);
        if (!o.getStale()) {
          cacheSkip = skip;
          cacheCompute = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, skip, c32(0));
        }
        return success();
      })
      .Case([&](CacheApplyOp o) {
        auto offsets = o->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
        if (!cacheSkip)
          return fail(o, "no ditc.cache_decide before it");
        call("cache_apply", {c32(dtypeCode(o.getType().getElementType())), cacheSkip,
                             ptrOf(o.getComputed()), ptrOf(o.getBase()),
                             byteOffset(arena, offsets[1]), ptrOf(o.getResult()),
                             c64(product(shapeOf(o.getResult())))});
        return success();
      })
      .Case([&](AddOp o) { return lowerBinary(o, DITC_RT_BINARY_ADD); })
      .Case([&](SubOp o) { return lowerBinary(o, DITC_RT_BINARY_SUB); })
      .Case([&](MulOp o) { return lowerBinary(o, DITC_RT_BINARY_MUL); })
      .Case([&](DivOp o) { return lowerBinary(o, DITC_RT_BINARY_DIV); })
      .Case([&](PowOp o) { return lowerBinary(o, DITC_RT_BINARY_POW); })
      .Case([&](MaxOp o) { return lowerBinary(o, DITC_RT_BINARY_MAX); })
      .Case([&](MinOp o) { return lowerBinary(o, DITC_RT_BINARY_MIN); })
      .Case([&](AndOp o) { return lowerBinary(o, DITC_RT_BINARY_AND); })
      .Case([&](BitwiseAndOp o) { return lowerBinary(o, DITC_RT_BINARY_AND); })
      .Case([&](BitwiseOrOp o) { return lowerBinary(o, DITC_RT_BINARY_OR); })
      .Case([&](BitwiseXorOp o) { return lowerBinary(o, DITC_RT_BINARY_XOR); })
      .Case([&](EqualOp o) { return lowerBinary(o, DITC_RT_BINARY_EQUAL); })
      .Case([&](GreaterOp o) { return lowerBinary(o, DITC_RT_BINARY_GREATER); })
      .Case([&](LessOp o) { return lowerBinary(o, DITC_RT_BINARY_LESS); })
      .Case([&](ModOp o) {
        return lowerBinary(o, o.getFmod() ? DITC_RT_BINARY_FMOD
                                          : DITC_RT_BINARY_MOD);
      })
      .Case([&](NegOp o) { return lowerUnary(o, DITC_RT_UNARY_NEG); })
      .Case([&](SqrtOp o) { return lowerUnary(o, DITC_RT_UNARY_SQRT); })
      .Case([&](ReciprocalOp o) { return lowerUnary(o, DITC_RT_UNARY_RECIPROCAL); })
      .Case([&](ExpOp o) { return lowerUnary(o, DITC_RT_UNARY_EXP); })
      .Case([&](ErfOp o) { return lowerUnary(o, DITC_RT_UNARY_ERF); })
      .Case([&](CosOp o) { return lowerUnary(o, DITC_RT_UNARY_COS); })
      .Case([&](SinOp o) { return lowerUnary(o, DITC_RT_UNARY_SIN); })
      .Case([&](TanhOp o) { return lowerUnary(o, DITC_RT_UNARY_TANH); })
      .Case([&](SigmoidOp o) { return lowerUnary(o, DITC_RT_UNARY_SIGMOID); })
      .Case([&](ReluOp o) { return lowerUnary(o, DITC_RT_UNARY_RELU); })
      .Case([&](SiluOp o) { return lowerUnary(o, DITC_RT_UNARY_SILU); })
      .Case([&](AbsOp o) { return lowerUnary(o, DITC_RT_UNARY_ABS); })
      .Case([&](LogOp o) { return lowerUnary(o, DITC_RT_UNARY_LOG); })
      .Case([&](FloorOp o) { return lowerUnary(o, DITC_RT_UNARY_FLOOR); })
      .Case([&](CeilOp o) { return lowerUnary(o, DITC_RT_UNARY_CEIL); })
      .Case([&](RoundOp o) { return lowerUnary(o, DITC_RT_UNARY_ROUND); })
      .Case([&](GeluOp o) {
        return lowerUnary(o, o.getApproximate() == GeluApproximation::tanh
                                 ? DITC_RT_UNARY_GELU_TANH
                                 : DITC_RT_UNARY_GELU);
      })
      .Case([&](IsNanOp o) -> LogicalResult {
        Type et = typeOf(o.getInput()).getElementType();
        if (!isa<FloatType>(et) || dtypeCode(et) < 0)
          return fail(o, "is_nan takes f32, f64, f16 or bf16, not " +
                             dtypeName(et));
        call("is_nan", {c32(dtypeCode(et)), ptrOf(o.getInput()),
                                ptrOf(o.getResult()), c64(count(o.getInput()))});
        return success();
      })
      .Case([&](NotOp o) {
        call("not_b8",
             {ptrOf(o.getInput()), ptrOf(o.getResult()), c64(count(o.getInput()))});
        return success();
      })
      .Case([&](CastOp o) -> LogicalResult {
        int32_t from = dtypeCode(typeOf(o.getInput()).getElementType());
        int32_t to = dtypeCode(o.getType().getElementType());
        if (from < 0 || to < 0)
          return fail(o, "no runtime cast for these element types");
        call("cast", {c32(from), c32(to), ptrOf(o.getInput()),
                              ptrOf(o.getResult()), c64(count(o.getInput()))});
        return success();
      })
      .Case([&](MulAddOp o) -> LogicalResult {
        ArrayRef<int64_t> s = o.getType().getShape();
        Type et = o.getType().getElementType();
        if (!et.isF32() && !et.isF16() && !et.isBF16())
          return fail(o, "mul_add kernels take f32, f16 or bf16, not " + dtypeName(et));
        call("mul_add",
             {c32(dtypeCode(et)), ptrOf(o.getLhs()), i64Array(stridesOf(o.getLhs(), s)),
              ptrOf(o.getRhs()), i64Array(stridesOf(o.getRhs(), s)), ptrOf(o.getAddend()),
              i64Array(stridesOf(o.getAddend(), s)), ptrOf(o.getResult()), i64Array(s),
              c32(s.size())});
        return success();
      })
      .Case([&](WhereOp o) -> LogicalResult {
        ArrayRef<int64_t> s = o.getType().getShape();
        int32_t dt = dtypeCode(o.getType().getElementType());
        if (dt < 0)
          return fail(o, "no runtime kernel for this element type");
        call("where",
             {c32(dt), ptrOf(o.getCond()), i64Array(stridesOf(o.getCond(), s)),
              ptrOf(o.getLhs()), i64Array(stridesOf(o.getLhs(), s)),
              ptrOf(o.getRhs()), i64Array(stridesOf(o.getRhs(), s)),
              ptrOf(o.getResult()), i64Array(s), c32(s.size())});
        return success();
      })
      .Case([&](ReduceSumOp o) {
        return lowerReduce(o, DITC_RT_REDUCE_SUM, o.getAxes());
      })
      .Case([&](ReduceMeanOp o) {
        return lowerReduce(o, DITC_RT_REDUCE_MEAN, o.getAxes());
      })
      .Case([&](ReduceMaxOp o) {
        return lowerReduce(o, DITC_RT_REDUCE_MAX, o.getAxes());
      })
      .Case([&](ReduceMinOp o) {
        return lowerReduce(o, DITC_RT_REDUCE_MIN, o.getAxes());
      })
      .Case([&](ReduceProdOp o) {
        return lowerReduce(o, DITC_RT_REDUCE_PROD, o.getAxes());
      })
      .Case([&](SoftmaxOp o) -> LogicalResult {
        ArrayRef<int64_t> s = o.getType().getShape();
        int64_t a = o.getAxis();
        call(kernelFor("softmax"),
             withDtype({ptrOf(o.getInput()), ptrOf(o.getResult()),
                        c64(product(s.take_front(a))), c64(s[a]),
                        c64(product(s.drop_front(a + 1)))}));
        return success();
      })
      .Case([&](LayerNormOp o) {
        ArrayRef<int64_t> s = o.getType().getShape();
        int64_t a = o.getAxis();
        if (o.getModScale() || o.getModShift()) {
          // The modulation's rows: packed, or where a strided view has them.
          int64_t cols = product(s.drop_front(a));
          auto rowStride = [&](Value m) -> std::optional<int64_t> {
            auto it = m ? viewStrides.find(m) : viewStrides.end();
            if (it == viewStrides.end())
              return cols;
            return modulationRowStride(shapeOf(m), it->second, a);
          };
          std::optional<int64_t> ss = rowStride(o.getModScale()),
                                 ts = rowStride(o.getModShift());
          if (!ss || !ts)
            return fail(o, "a strided view of its modulation has rows it cannot read");
          double offset =
              o.getModScaleOffset() ? o.getModScaleOffset()->convertToDouble() : 0.0;
          call(kernelFor("layer_norm_mod"),
               withDtype({ptrOf(o.getInput()), o.getScale() ? ptrOf(o.getScale()) : null(),
                          o.getBias() ? ptrOf(o.getBias()) : null(),
                          o.getModScale() ? ptrOf(o.getModScale()) : null(),
                          o.getModShift() ? ptrOf(o.getModShift()) : null(),
                          ptrOf(o.getResult()), c64(product(s.take_front(a))), c64(cols),
                          c64(o.getModulationGroups()), c64(*ss), c64(*ts), cf32(offset),
                          cf32(o.getEpsilon().convertToDouble())}));
          return success();
        }
        call(kernelFor("layer_norm"),
             withDtype({ptrOf(o.getInput()), o.getScale() ? ptrOf(o.getScale()) : null(),
                        o.getBias() ? ptrOf(o.getBias()) : null(), ptrOf(o.getResult()),
                        c64(product(s.take_front(a))), c64(product(s.drop_front(a))),
                        cf32(o.getEpsilon().convertToDouble())}));
        return success();
      })
      .Case([&](RmsNormOp o) {
        ArrayRef<int64_t> s = o.getType().getShape();
        int64_t a = o.getAxis();
        call(kernelFor("rms_norm"),
             withDtype({ptrOf(o.getInput()), o.getScale() ? ptrOf(o.getScale()) : null(),
                        ptrOf(o.getResult()), c64(product(s.take_front(a))),
                        c64(product(s.drop_front(a))),
                        cf32(o.getEpsilon().convertToDouble())}));
        return success();
      })
      .Case([&](GroupNormOp o) {
        ArrayRef<int64_t> s = o.getType().getShape();
        call(kernelFor("group_norm"),
             withDtype({ptrOf(o.getInput()), ptrOf(o.getScale()), ptrOf(o.getBias()),
                        ptrOf(o.getResult()), c64(s[0]), c64(s[1]),
                        c64(product(s.drop_front(2))), c64(o.getNumGroups()),
                        cf32(o.getEpsilon().convertToDouble())}));
        return success();
      })
      .Case([&](MatmulOp o) { return lowerMatmul(o); })
      .Case([&](LinearOp o) {
        ArrayRef<int64_t> x = shapeOf(o.getInput());
        int64_t n = o.getType().getShape().back();
        call(kernelFor("linear"),
             withDtype({ptrOf(o.getInput()), ptrOf(o.getWeight()),
                        o.getBias() ? ptrOf(o.getBias()) : null(), ptrOf(o.getResult()),
                        c64(product(x.drop_back())), c64(x.back()), c64(n),
                        c32(o.getTransposeWeight()), c32(activationCode(o.getActivation()))}));
        return success();
      })
      .Case([&](ConvOp o) { return lowerConv(o); })
      .Case([&](AttentionOp o) { return lowerAttention(o); })
      .Case([&](RingAttentionOp o) { return lowerRingAttention(o); })
      .Case<AllGatherOp, AllReduceOp, ReduceScatterOp, AllToAllOp, ShardOp>(
          [&](Operation *o) { return lowerCollective(o); })
      .Case<SendOp, RecvOp, CollectiveBroadcastOp>(
          [&](Operation *o) { return lowerPointToPoint(o); })
      .Case([&](TransposeOp o) {
        ArrayRef<int64_t> in = shapeOf(o.getInput());
        Shape c = contiguousStrides(in), src;
        for (int64_t p : o.getPermutation())
          src.push_back(c[p]);
        ArrayRef<int64_t> out = o.getType().getShape();
        copyStrided(ptrOf(o.getInput()), 0, src, ptrOf(o.getResult()),
                    contiguousStrides(out), out, elemBytes(o.getType().getElementType()));
        return success();
      })
      .Case([&](SliceOp o) {
        if (viewStrides.count(o.getResult())) // a strided view (definePointer)
          return success();
        Shape c = contiguousStrides(shapeOf(o.getInput())), src;
        int64_t offset = 0;
        for (size_t k = 0; k < c.size(); ++k) {
          offset += o.getOffsets()[k] * c[k];
          src.push_back(o.getSteps()[k] * c[k]);
        }
        ArrayRef<int64_t> out = o.getType().getShape();
        copyStrided(ptrOf(o.getInput()), offset, src, ptrOf(o.getResult()),
                    contiguousStrides(out), out, elemBytes(o.getType().getElementType()));
        return success();
      })
      .Case([&](BroadcastOp o) {
        ArrayRef<int64_t> out = o.getType().getShape();
        copyStrided(ptrOf(o.getInput()), 0,
                    broadcastStrides(shapeOf(o.getInput()), out),
                    ptrOf(o.getResult()), contiguousStrides(out), out,
                    elemBytes(o.getType().getElementType()));
        return success();
      })
      .Case([&](ConcatOp o) {
        ArrayRef<int64_t> out = o.getType().getShape();
        Shape dst = contiguousStrides(out);
        int64_t elem = elemBytes(o.getType().getElementType()), at = 0;
        for (Value in : o.getInputs()) {
          ArrayRef<int64_t> s = shapeOf(in);
          // A part the memory plan placed in the result is there already.
          if (product(s) > 0 && !isConcatPart(in))
            copyStrided(ptrOf(in), 0, contiguousStrides(s),
                        byteOffset(ptrOf(o.getResult()), at * dst[o.getAxis()] * elem),
                        dst, s, elem);
          at += s[o.getAxis()];
        }
        return success();
      })
      .Case([&](SplitOp o) {
        ArrayRef<int64_t> in = shapeOf(o.getInput());
        Shape src = contiguousStrides(in);
        int64_t elem = elemBytes(typeOf(o.getInput()).getElementType()), at = 0;
        for (Value r : o.getResults()) {
          ArrayRef<int64_t> s = shapeOf(r);
          if (product(s) > 0 && !viewStrides.count(r)) // a view is not copied
            copyStrided(ptrOf(o.getInput()), at * src[o.getAxis()], src,
                        ptrOf(r), contiguousStrides(s), s, elem);
          at += s[o.getAxis()];
        }
        return success();
      })
      .Case([&](GatherOp o) -> LogicalResult {
        ArrayRef<int64_t> d = shapeOf(o.getData());
        int64_t a = o.getAxis();
        int32_t idt = dtypeCode(typeOf(o.getIndices()).getElementType());
        if (idt != DITC_RT_I64 && idt != DITC_RT_I32)
          return fail(o, "gather indices must be i64 or i32");
        call("gather",
             {c64(elemBytes(typeOf(o.getData()).getElementType())), ptrOf(o.getData()),
              c64(product(d.take_front(a))), c64(d[a]),
              c64(product(d.drop_front(a + 1))), ptrOf(o.getIndices()), c32(idt),
              c64(count(o.getIndices())), ptrOf(o.getResult())});
        return success();
      })
      .Case([&](RopeOp o) -> LogicalResult {
        std::optional<RopeKernelLayout> l = ropeKernelLayout(o);
        if (!l)
          return fail(o, "the rope kernel takes tables of the input's float "
                         "type (f32, f16 or bf16) that broadcast "
                         "over at most three runs of dims (run "
                         "-ditc-legalize-runtime first)");
        call(kernelFor("rope"),
             withDtype({ptrOf(o.getInput()), ptrOf(o.getCos()), ptrOf(o.getSin()),
                        ptrOf(o.getResult()), c64(l->rows[0]), c64(l->rows[1]),
                        c64(l->rows[2]), c64(l->dim), c64(l->rotDim),
                        i64Array(l->tableStrides), c32(o.getInterleaved())}));
        return success();
      })
      .Case<ArgMaxOp, ArgMinOp, CumSumOp, DetOp, PoolOp, ConvTransposeOp,
            GridSampleOp, ScatterElementsOp, ScatterNdOp>(
          [&](Operation *o) { return lowerStructured(o); })
      .Case([&](TriluOp o) {
        ArrayRef<int64_t> s = o.getType().getShape();
        call("trilu",
             {c64(elemBytes(o.getType().getElementType())), ptrOf(o.getInput()),
              ptrOf(o.getResult()), c64(product(s.drop_back(2))),
              c64(s[s.size() - 2]), c64(s.back()), c64(o.getK()),
              c32(o.getUpper())});
        return success();
      })
      .Default([&](Operation *o) {
        return fail(o, "no runtime lowering for '" +
                           o->getName().getStringRef() + "'");
      });
}

std::string Lowerer::descriptorJson() {
  auto tensor = [](StringRef name, RankedTensorType t) {
    return nlohmann::json{{"name", name.str()},
                          {"dtype", dtypeName(t.getElementType())},
                          {"shape", t.getShape().vec()}};
  };
  nlohmann::json j;
  j["abi"] = DITC_MODEL_ABI_VERSION;
  j["arena_bytes"] = module->getAttrOfType<IntegerAttr>(kArenaBytesAttr).getInt();
  // What the runtime keeps beside the arena (Ring attention's scratch, as
  // the profile counts it), for the GPU's memory check at load.
  int64_t scratch = 0;
  func.walk([&](RingAttentionOp op) { scratch = std::max(scratch, costOf(op).scratchBytes); });
  if (scratch)
    j["scratch_bytes"] = scratch;
  if (trace)
    j["trace_steps"] = traceSteps;
  if (auto src = module->getAttrOfType<StringAttr>("ditc.source"))
    j["source"] = src.str();
  auto nameOf = [](DictionaryAttr attrs, unsigned k) -> std::string {
    if (attrs)
      if (auto n = attrs.getAs<StringAttr>("ditc.name"))
        return n.str();
    return "#" + std::to_string(k);
  };
  j["inputs"] = nlohmann::json::array();
  for (unsigned k = 0; k < func.getNumArguments(); ++k)
    j["inputs"].push_back(tensor(nameOf(func.getArgAttrDict(k), k),
                                 typeOf(func.getArgument(k))));
  j["outputs"] = nlohmann::json::array();
  for (unsigned k = 0; k < func.getNumResults(); ++k)
    j["outputs"].push_back(tensor(nameOf(func.getResultAttrDict(k), k),
                                  cast<RankedTensorType>(func.getResultTypes()[k])));
  j["weights"] = nlohmann::json::array();
  for (WeightOp w : weightList) {
    nlohmann::json e = tensor(w.getName(), w.getType());
    e["file"] = w.getFile().str();
    e["offset"] = w.getOffset();
    // Pipeline stages: only the ranks of these stages read (and have) it.
    if (auto st = w->getAttrOfType<DenseI64ArrayAttr>(kStagesAttr))
      e["stages"] = st.asArrayRef().vec();
    // A weight cut or padded for the plan: the stored tensor and, per
    // dimension, the mesh axes that split it (random weights generate the
    // rank's block of the stored tensor).
    if (auto src = w->getAttrOfType<StringAttr>(kSourceNameAttr))
      e["source"] = src.str();
    if (auto g = w->getAttrOfType<DenseI64ArrayAttr>(kGlobalShapeAttr))
      e["global_shape"] = g.asArrayRef().vec();
    // A window of the stored tensor (a part of a joined weight).
    if (w->hasAttr(kWindowOffsetAttr)) {
      WeightWindow win = weightWindow(w);
      e["window_offset"] = std::vector<int64_t>(win.offset.begin(), win.offset.end());
      e["window_shape"] = std::vector<int64_t>(win.shape.begin(), win.shape.end());
    }
    if (auto s = shardingFromAttr(w->getAttr(kShardAttr), w.getType().getRank())) {
      std::vector<std::vector<int64_t>> axes;
      for (const auto &dim : *s) {
        axes.emplace_back();
        for (const std::string &a : dim)
          axes.back().push_back(mesh.indexOf(a));
      }
      e["shard"] = axes;
    }
    j["weights"].push_back(e);
  }
  j["target"] = target->name.str();
  if (!cudaArch.empty())
    j["cuda_arch"] = cudaArch;
  j["dtype"] = "f32";
  j["constants"] = constList.size();
  for (StringRef key : {"ditc.weights_file", "ditc.weights_checksum", "ditc.plan",
                        "ditc.plan_source", "ditc.dtype"})
    if (auto a = module->getAttrOfType<StringAttr>(key))
      j[key.drop_front(5).str()] = a.str();
  for (StringRef key : {"ditc.weights_files", "ditc.weights_checksums"})
    if (auto a = module->getAttrOfType<ArrayAttr>(key)) {
      j[key.drop_front(5).str()] = nlohmann::json::array();
      for (Attribute s : a)
        j[key.drop_front(5).str()].push_back(cast<StringAttr>(s).str());
    }
  if (!mesh.axes.empty()) {
    j["world_size"] = mesh.numRanks();
    std::vector<std::string> kinds;
    for (MeshAxisKind k : mesh.kinds)
      kinds.push_back(stringifyMeshAxisKind(k).str());
    j["mesh"] = {{"axes", mesh.axes}, {"shape", mesh.shape}, {"kinds", kinds}};
    if (int64_t stage = mesh.stageAxis(); stage >= 0)
      j["mesh"]["stage_axis"] = stage;
    if (auto patches = module->getAttrOfType<IntegerAttr>(kPatchesAttr))
      j["mesh"]["patches"] = patches.getInt();
  }
  // PipeFusion's stale schedule, and the K/V buffers it keeps across calls.
  if (module->hasAttr(kKvCachesAttr)) {
    // The region the memory plan gave them (at the start of the arena).
    int64_t bytes = 0;
    func.walk([&](KvCacheUpdateOp c) {
      if (auto o = c->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr); o && o.size() == 1)
        bytes = std::max(bytes, o[0] + tensorBytes(c.getType()));
    });
    j["stale_schedule"] = true;
    j["kv_cache_bytes"] = bytes;
  }
  // The arena bytes of the state an op keeps (MemoryPlan places it).
  auto stateBytes = [](Operation *op) {
    int64_t bytes = 0;
    for (int64_t b : stateBuffers(op))
      bytes += (b + MemoryPlan::kAlign - 1) / MemoryPlan::kAlign * MemoryPlan::kAlign;
    return bytes;
  };
  // Redundancy probes: where each one's slot is, in index order, and the
  // bytes of their state (previous inputs and slots).
  std::vector<nlohmann::json> probes;
  int64_t probeBytes = 0, cacheBytes = 0;
  func.walk([&](ProbeOp p) {
    auto state = p->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
    if (!state || state.size() != 2)
      return;
    if ((int64_t)probes.size() <= (int64_t)p.getIndex())
      probes.resize(p.getIndex() + 1);
    std::string quantity = stringifyProbeQuantity(p.getQuantity()).str();
    nlohmann::json t = tensor(p.getLayer().str() + "/" + quantity, p.getInput().getType());
    t["layer"] = p.getLayer().str();
    t["quantity"] = quantity;
    t["prev"] = state[0];
    t["slot"] = state[1];
    probes[p.getIndex()] = t;
    probeBytes += stateBytes(p);
  });
  if (!probes.empty()) {
    j["probes"] = probes;
    j["probe_bytes"] = probeBytes;
  }
  // A step cache: its rule, the slot the runtime tells the step in, the
  // bytes of its state (the decision's and the residuals).
  bool decision = false; // the decisions share one state (MemoryPlan)
  func.walk([&](Operation *op) {
    if (isa<CacheApplyOp>(op) || (isa<CacheDecideOp>(op) && !decision))
      cacheBytes += stateBytes(op);
    decision |= isa<CacheDecideOp>(op);
  });
  func.walk([&](CacheDecideOp d) {
    auto state = d->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
    j["cache"] = {{"kind", stringifyCacheKind(d.getKind())},
                  {"threshold", d.getThreshold().convertToDouble()},
                  {"slot", state[1]},
                  {"bytes", cacheBytes}};
  });
  if (!commGroups.empty()) {
    j["comm_groups"] = nlohmann::json::array();
    for (const auto &g : commGroups)
      j["comm_groups"].push_back(g);
  }
  return j.dump();
}

/// A module's step cache is one rule: every ditc.cache_decide (one per
/// schedule, one for all the micro-batches) alike. A stale one's decision
/// for this call was taken ahead on the stage that measures; every stage
/// gets it (slot[9]) by a broadcast over the pipeline axis, before any
/// other message, and takes it.
LogicalResult Lowerer::takeStaleDecision(Block &body) {
  SmallVector<CacheDecideOp> decides(body.getOps<CacheDecideOp>());
  if (decides.empty())
    return success();
  CacheDecideOp first = decides.front();
  loc = first.getLoc();
  auto stageOf = [](Operation *op) {
    auto s = op->getAttrOfType<IntegerAttr>(kStageAttr);
    return s ? s.getInt() : -1;
  };
  for (CacheDecideOp d : decides)
    if (d.getInput().getType() != first.getInput().getType() ||
        d.getKind() != first.getKind() || d.getStale() != first.getStale() ||
        d.getThreshold() != first.getThreshold() || stageOf(d) != stageOf(first))
      return fail(d, "differs from the module's first ditc.cache_decide (a module has one "
                     "step cache: one rule, input type, stage and staleness)");
  if (!first.getStale())
    return success();
  if (mesh.stageAxis() >= 0) {
    if (stageOf(first) < 0)
      return fail(first, "a stale decision under pipeline stages needs the stage that "
                         "measures (ditc.stage)");
    auto state = first->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
    Value ahead = byteOffset(arena, state[1] + 9 * (int64_t)sizeof(double));
    callChecked("coll_broadcast",
                {commOf(b.getStrArrayAttr({mesh.axes[mesh.stageAxis()]})), ahead, ahead,
                 c64(1), c32(DITC_RT_F64), c32(stageOf(first))});
  }
  cacheSkip = decideCall(first, 2);
  cacheCompute = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, cacheSkip, c32(0));
  return success();
}

LogicalResult Lowerer::run() {
  auto arenaAttr = module->getAttrOfType<IntegerAttr>(kArenaBytesAttr);
  if (!arenaAttr)
    return module.emitError("no memory plan (run -ditc-plan-memory first)");
  arenaBytes = arenaAttr.getInt();
  Block &body = func.getBody().front();
  // The model ABI carries the runtime's element types (ditc_model.h,
  // ditc_dtype has the same codes).
  for (Type t : llvm::concat<const Type>(func.getArgumentTypes(), func.getResultTypes()))
    if (dtypeCode(cast<RankedTensorType>(t).getElementType()) < 0)
      return func.emitError("cannot generate code: a graph input or output has "
                            "element type ")
             << cast<RankedTensorType>(t).getElementType()
             << ", which compiled models cannot take";
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  // int32_t ditc_generated_run(arena, inputs, outputs, weights, comms,
  // consts, schedule): 0, or the ditc_rt_comm_status of a failed collective
  // (Model.cpp). `schedule` picks the ops of a library with two schedules
  // (kScheduleAttr: 0 synchronous, 1 stale); others ignore it.
  auto runType = LLVM::LLVMFunctionType::get(
      IntegerType::get(ctx, 32), {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, i32Ty});
  auto runFn = LLVM::LLVMFuncOp::create(mb, loc, "ditc_generated_run", runType);
  FailureOr<Mesh> m = Mesh::of(module);
  if (failed(m))
    return failure();
  mesh = *m;
  Block *entry = runFn.addEntryBlock(mb);
  // A failed collective branches here with its status.
  failBlock = b.createBlock(&runFn.getBody(), runFn.getBody().end(), {i32Ty}, {loc});
  LLVM::ReturnOp::create(b, loc, ValueRange{failBlock->getArgument(0)});
  b.setInsertionPointToStart(entry);
  arena = entry->getArgument(0);
  inputs = entry->getArgument(1);
  outputs = entry->getArgument(2);
  weights = entry->getArgument(3);
  comms = entry->getArgument(4);
  consts = entry->getArgument(5);
  schedule = entry->getArgument(6);
  for (BlockArgument a : body.getArguments())
    ptrs[a] = loadSlot(inputs, a.getArgNumber());
  Operation *ret = body.getTerminator();
  // Every tensor's address first (in the entry block, where every stage's
  // code sees it), then the code of each op.
  for (Operation &op : body) {
    if (&op == ret)
      break;
    loc = op.getLoc();
    if (failed(definePointer(&op)))
      return failure();
  }
  // Pipeline stages: an op of stage s runs on the ranks whose coordinate on
  // the pipeline axis is s (their rank in the pp group); -1: every rank.
  // Two schedules (PipeFusion): an op of schedule k runs when the call's
  // `schedule` argument is k; -1: in both.
  bool staged = mesh.stageAxis() >= 0;
  llvm::DenseMap<Operation *, int64_t> stageOf, scheduleOf = schedulesOf(body);
  Value myStage;
  if (staged) {
    stageOf = stagesOf(body);
    myStage = call("coll_rank",
                   {commOf(b.getStrArrayAttr({mesh.axes[mesh.stageAxis()]}))}).getResult();
    if (failed(checkMissing(func)))
      return failure();
  }
  if (failed(takeStaleDecision(body)))
    return failure();
  // A step cache's blocks (kCachedAttr) run when its decision computes.
  using Guard = std::tuple<int64_t, int64_t, bool>; // (stage, schedule, cached)
  const Guard none = {-1, -1, false};
  Guard open = none; // the guard of the open block
  Block *rest = nullptr;
  auto closeGuard = [&] {
    if (!rest)
      return;
    LLVM::BrOp::create(b, loc, ValueRange{}, rest);
    b.setInsertionPointToStart(rest);
    rest = nullptr;
    open = none;
  };
  for (Operation &op : body) {
    if (&op == ret)
      break;
    loc = op.getLoc();
    bool source = isa<WeightOp, ConstantOp>(op);
    Guard g = source ? open
                     : Guard{staged ? stageOf.lookup(&op) : -1, scheduleOf.lookup(&op),
                             op.hasAttr(kCachedAttr)};
    if (g != open) {
      closeGuard();
      if (g != none) {
        Value mine = LLVM::ConstantOp::create(b, loc, b.getI1Type(), b.getBoolAttr(true));
        auto [stage, sched, cached] = g;
        if (stage >= 0)
          mine = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, myStage, c32(stage));
        if (sched >= 0)
          mine = LLVM::AndOp::create(
              b, loc, mine,
              LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, schedule, c32(sched)));
        if (cached) {
          if (!cacheCompute)
            return fail(&op, "a cached op before the step cache's ditc.cache_decide");
          mine = LLVM::AndOp::create(b, loc, mine, cacheCompute);
        }
        Block *then = new Block();
        rest = new Block();
        runFn.getBody().push_back(then);
        runFn.getBody().push_back(rest);
        LLVM::CondBrOp::create(b, loc, mine, then, ValueRange{}, rest, ValueRange{});
        b.setInsertionPointToStart(then);
        open = g;
      }
    }
    // A chunk loop's body steps come before the loop's own (MemoryPlan):
    // a traced run marks them when the loop starts and the loop when it is
    // over, so the loop's step holds the time of all its iterations.
    if (auto chunk = dyn_cast<ChunkOp>(op); chunk && trace)
      chunk.getBody().walk<WalkOrder::PostOrder>([&](Operation *inner) {
        if (inner->hasAttr(kOffsetsAttr))
          call("trace_step", {c32(traceSteps++)});
      });
    if (failed(lower(&op)) || failed(checkMissing(&op)))
      return failure();
    if (trace && op.hasAttr(kOffsetsAttr))
      call("trace_step", {c32(traceSteps++)});
  }
  closeGuard();
  // Outputs not written in place (inputs, weights, constants, views, repeats).
  loc = ret->getLoc();
  for (auto [k, v] : llvm::enumerate(ret->getOperands())) {
    auto offsets = v.getDefiningOp()
                       ? v.getDefiningOp()->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr)
                       : DenseI64ArrayAttr();
    if (offsets) {
      int64_t o = offsets[cast<OpResult>(v).getResultNumber()];
      if (isOutputOffset(o) && outputIndex(o) == (int64_t)k)
        continue;
    }
    int64_t n = count(v);
    if (n == 0)
      continue;
    copyStrided(ptrOf(v), 0, {1}, loadSlot(outputs, k), {1}, {n},
                elemBytes(typeOf(v).getElementType()));
  }
  LLVM::ReturnOp::create(b, loc, ValueRange{c32(0)});
  if (failed(checkMissing(ret)))
    return failure();

  // void ditc_generated_constants(const void **ptrs, uint64_t *bytes): the
  // tensor constants' globals, in the slots of the run's constants table.
  {
    OpBuilder gb = OpBuilder::atBlockEnd(module.getBody());
    auto fn = LLVM::LLVMFuncOp::create(
        gb, loc, "ditc_generated_constants",
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrTy, ptrTy}));
    Block *e = fn.addEntryBlock(gb);
    b.setInsertionPointToStart(e);
    for (auto [k, c] : llvm::enumerate(constList)) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrTy, ptrTy, e->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{gepIndex(k)});
      LLVM::StoreOp::create(b, loc, LLVM::AddressOfOp::create(b, loc, c.first), slot);
      Value size = LLVM::GEPOp::create(b, loc, ptrTy, i64Ty, e->getArgument(1),
                                       ArrayRef<LLVM::GEPArg>{gepIndex(k)});
      LLVM::StoreOp::create(b, loc, c64(c.second), size);
    }
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }

  // The descriptor: ditc_model_json() returns a JSON string.
  std::string json = descriptorJson();
  json.push_back('\0');
  OpBuilder gb = OpBuilder::atBlockEnd(module.getBody());
  auto strType = LLVM::LLVMArrayType::get(i8Ty, json.size());
  auto g = LLVM::GlobalOp::create(gb, loc, strType, true, LLVM::Linkage::Private,
                                  "ditc_generated_json_data", b.getStringAttr(json));
  auto jsonFn = LLVM::LLVMFuncOp::create(
      gb, loc, "ditc_generated_json", LLVM::LLVMFunctionType::get(ptrTy, {}));
  b.setInsertionPointToStart(jsonFn.addEntryBlock(gb));
  LLVM::ReturnOp::create(b, loc, ValueRange{LLVM::AddressOfOp::create(b, loc, g)});
  func.erase();
  return success();
}

struct LowerToRuntimePass
    : ditc::impl::LowerToRuntimePassBase<LowerToRuntimePass> {
  using LowerToRuntimePassBase::LowerToRuntimePassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func) {
      module.emitError("expected func.func @main");
      return signalPassFailure();
    }
    const KernelTarget *kt = kernelTarget(target.getValue());
    if (!kt) {
      module.emitError("unknown target '") << target << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    Lowerer lowerer(module, func, *kt);
    lowerer.trace = trace;
    if (!kt->hostMemory) {
      SmallVector<StringRef> archs;
      StringRef(cudaArch.getValue()).split(archs, ',', -1, /*KeepEmpty=*/false);
      for (StringRef a : archs)
        lowerer.cudaArch.push_back(a.trim().str());
    }
    if (failed(lowerer.run()))
      signalPassFailure();
  }
};

} // namespace
