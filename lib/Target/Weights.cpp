//===- Weights.cpp - per-model weight files (safetensors) -----------------===//

#include "lib/Target/Weights.h"
#include "dialects/Ditc/IR/DitcSharding.h"

#include <cstring>

#include "dialects/Ditc/IR/DitcOps.h"
#include "ditc/runtime/ditc_checksum.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

using namespace mlir;
using namespace mlir::ditc;

static std::string safetensorsDtype(Type et) {
  if (et.isF32())
    return "F32";
  if (et.isF16())
    return "F16";
  if (et.isBF16())
    return "BF16";
  if (et.isF64())
    return "F64";
  if (et.isInteger(64))
    return et.isUnsignedInteger() ? "U64" : "I64";
  if (et.isInteger(32))
    return et.isUnsignedInteger() ? "U32" : "I32";
  if (et.isInteger(16))
    return et.isUnsignedInteger() ? "U16" : "I16";
  if (et.isInteger(8))
    return et.isUnsignedInteger() ? "U8" : "I8";
  if (et.isInteger(1))
    return "BOOL";
  return "";
}

namespace {
/// ditc_checksum_update over a stream cut anywhere: whole 8-byte words are
/// hashed as they come, the tail at the end.
struct StreamHash {
  uint64_t h = DITC_CHECKSUM_SEED;
  char carry[8];
  uint64_t carried = 0;
  void add(const char *p, uint64_t n) {
    while (carried && n) {
      carry[carried++] = *p++;
      --n;
      if (carried == 8) {
        h = ditc_checksum_update(h, carry, 8);
        carried = 0;
      }
    }
    uint64_t whole = n / 8 * 8;
    h = ditc_checksum_update(h, p, whole);
    for (uint64_t i = whole; i < n; ++i)
      carry[carried++] = p[i];
  }
  uint64_t finish() { return ditc_checksum_update(h, carry, carried); }
};
} // namespace

namespace {
/// Copies this rank's block of a row-major source tensor into `out`.
struct BlockCopy {
  /// The source's shape, the block's, where the block starts in the source
  /// and where the source's elements end (a window of it; zeros beyond).
  ArrayRef<int64_t> global, local, start, limit;
  int64_t elem;
  const char *src;
  char *dst;
  void run(size_t d, int64_t srcOff, int64_t dstOff) {
    int64_t srcStride = elem, dstStride = elem;
    for (size_t k = d + 1; k < global.size(); ++k)
      srcStride *= global[k], dstStride *= local[k];
    int64_t valid = std::max<int64_t>(0, std::min(local[d], limit[d] - start[d]));
    if (d + 1 == global.size()) {
      std::memcpy(dst + dstOff, src + srcOff + start[d] * elem, valid * elem);
      return;
    }
    for (int64_t i = 0; i < valid; ++i)
      run(d + 1, srcOff + (start[d] + i) * srcStride, dstOff + i * dstStride);
  }
};
} // namespace

namespace {
int64_t elementBytes(Type et) {
  return et.isInteger(1) ? 1 : et.getIntOrFloatBitWidth() / 8;
}

/// f32 to bf16, rounding to nearest even (NaN stays a quiet NaN).
uint16_t f32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

/// Converts `count` stored f32 or f64 values to `to` (bf16, f16 or f32) in
/// `dst`; false for another pair of types.
bool convertStored(const char *src, Type from, char *dst, Type to, int64_t count) {
  if (!(from.isF32() || from.isF64()) || !(to.isBF16() || to.isF16() || to.isF32()))
    return false;
  for (int64_t i = 0; i < count; ++i) {
    float f;
    if (from.isF64()) {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      f = static_cast<float>(d);
    } else {
      std::memcpy(&f, src + 4 * i, 4);
    }
    if (to.isF32()) {
      std::memcpy(dst + 4 * i, &f, 4);
    } else if (to.isBF16()) {
      uint16_t h = f32ToBf16(f);
      std::memcpy(dst + 2 * i, &h, 2);
    } else {
      _Float16 h = static_cast<_Float16>(f); // round to nearest even
      std::memcpy(dst + 2 * i, &h, 2);
    }
  }
  return true;
}
} // namespace

FailureOr<WeightFileInfo> mlir::ditc::writeWeights(ModuleOp module,
                                                   StringRef modelDir,
                                                   StringRef outPath,
                                                   int64_t rank,
                                                   StringRef writePath) {
  FailureOr<Mesh> mesh = Mesh::of(module);
  if (failed(mesh))
    return failure();
  // This rank's coordinate on every mesh axis (row-major, first axis major).
  llvm::StringMap<int64_t> coord;
  for (int64_t i = (int64_t)mesh->axes.size() - 1, r = rank; i >= 0; --i) {
    coord[mesh->axes[i]] = r % mesh->shape[i];
    r /= mesh->shape[i];
  }
  // Distinct weights in first-use order (the order of the model's table).
  SmallVector<WeightOp> weights;
  llvm::StringSet<> seen;
  // Pipeline stages: a rank holds the weights its stage reads.
  int64_t stage = mesh->coordAt(rank, mesh->stageAxis());
  module.walk([&](WeightOp w) {
    auto readers = w->getAttrOfType<DenseI64ArrayAttr>(kStagesAttr);
    if (stage >= 0 && readers && !llvm::is_contained(readers.asArrayRef(), stage))
      return;
    if (seen.insert(w.getName()).second)
      weights.push_back(w);
  });
  nlohmann::ordered_json header;
  if (auto plan = module->getAttrOfType<StringAttr>("ditc.plan"))
    header["__metadata__"] = {{"ditc_plan", plan.str()},
                              {"ditc_rank", std::to_string(rank)}};
  int64_t at = 0;
  for (WeightOp w : weights) {
    auto t = w.getType();
    std::string dt = safetensorsDtype(t.getElementType());
    if (dt.empty())
      return w.emitError("weight '") << w.getName() << "' has an element type "
                                     << "safetensors cannot hold",
             failure();
    int64_t n = t.getNumElements() * elementBytes(t.getElementType());
    header[w.getName().str()] = {{"dtype", dt},
                                 {"shape", t.getShape().vec()},
                                 {"data_offsets", {at, at + n}}};
    at += n;
  }
  // The checksum covers the data section; it is computed while streaming and
  // stored in the descriptor (the header cannot hold it before the data).
  std::string headerText = header.dump();
  while ((headerText.size() + 8) % 64)
    headerText.push_back(' ');
  std::error_code ec;
  llvm::raw_fd_ostream out(writePath.empty() ? outPath : writePath, ec,
                           llvm::sys::fs::OF_None);
  if (ec)
    return module.emitError("cannot write '") << outPath << "': " << ec.message(),
           failure();
  uint64_t len = headerText.size();
  out.write(reinterpret_cast<const char *>(&len), 8);
  out << headerText;
  StreamHash hash;
  // Source files are memory-mapped: the bytes go from the page cache to
  // the output without an intermediate copy.
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> sources;
  for (WeightOp w : weights) {
    SmallString<256> src(modelDir);
    llvm::sys::path::append(src, w.getFile());
    auto &buf = sources[src];
    if (!buf) {
      auto mapped = llvm::MemoryBuffer::getFile(src, /*IsText=*/false,
                                                /*RequiresNullTerminator=*/false);
      if (!mapped)
        return w.emitError("weight '") << w.getName() << "': cannot open '"
                                       << src << "': "
                                       << mapped.getError().message(),
               failure();
      buf = std::move(*mapped);
    }
    auto t = w.getType();
    // The stored tensor's element type (-ditc-precision converts weights).
    Type stored = t.getElementType();
    if (auto st = w->getAttrOfType<TypeAttr>(kStoredTypeAttr))
      stored = st.getValue();
    bool convert = stored != t.getElementType();
    int64_t elem = elementBytes(stored);
    uint64_t n = t.getNumElements() * elem; // stored bytes of this rank's block
    uint64_t outBytes = t.getNumElements() * elementBytes(t.getElementType());
    // A [K, N] tensor stored, an [N, K] weight written
    // (-ditc-transpose-loop-weights).
    bool transposed = w->hasAttr(kTransposedAttr);
    if (transposed && t.getRank() != 2)
      return w.emitError("weight '") << w.getName() << "': ditc.transposed on a "
                                     << t.getRank() << "-D weight",
             failure();
    // Writes this rank's block (stored bytes at q), converted and
    // transposed as needed.
    auto emit = [&](const char *q) -> LogicalResult {
      std::vector<char> conv, flipped;
      if (convert) {
        conv.resize(outBytes);
        if (!convertStored(q, stored, conv.data(), t.getElementType(), t.getNumElements()))
          return w.emitError("weight '") << w.getName() << "': cannot convert its stored "
                                         << stored << " to " << t.getElementType();
        q = conv.data();
      }
      if (transposed) {
        int64_t rows = t.getDimSize(1), cols = t.getDimSize(0); // stored [rows, cols]
        size_t e = elementBytes(t.getElementType());
        flipped.resize(outBytes);
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j)
            std::memcpy(flipped.data() + (j * rows + i) * e, q + (i * cols + j) * e, e);
        q = flipped.data();
      }
      hash.add(q, outBytes);
      out.write(q, outBytes);
      return success();
    };
    // A per-rank slice reads its block of the whole source tensor.
    auto globalShape = w->getAttrOfType<DenseI64ArrayAttr>(kGlobalShapeAttr);
    // A weight padded for the plan (ditc.global_shape without ditc.shard):
    // its block 0, the stored tensor followed by zeros.
    std::optional<Sharding> shard;
    if (globalShape && transposed)
      return w.emitError("weight '") << w.getName() << "': ditc.transposed on a sharded "
                                     << "or padded weight",
             failure();
    if (globalShape) {
      shard = shardingFromAttr(w->getAttr(kShardAttr), t.getRank());
      if (!shard)
        shard = Sharding(t.getRank());
      if ((int64_t)globalShape.size() != t.getRank())
        return w.emitError("weight '") << w.getName() << "': ditc.global_shape has "
                                       << globalShape.size() << " dimensions, the weight "
                                       << t.getRank(), failure();
    }
    uint64_t srcBytes = n;
    if (shard) {
      srcBytes = elem;
      for (int64_t g : globalShape.asArrayRef())
        srcBytes *= g;
    }
    uint64_t off = w.getOffset();
    if (off > buf->getBufferSize() || srcBytes > buf->getBufferSize() - off)
      return w.emitError("weight '") << w.getName() << "': '" << src
                                     << "' ends before its data (offset "
                                     << off << ", " << n << " bytes)",
             failure();
    const char *p = buf->getBufferStart() + off;
    if (shard) {
      // The block of the weight's window (the whole stored tensor unless
      // it is a part of it) this rank holds.
      WeightWindow win = weightWindow(w);
      SmallVector<int64_t> start, limit;
      for (auto [d, axes] : llvm::enumerate(*shard)) {
        int64_t block = 0;
        for (const std::string &a : axes)
          block = block * mesh->shape[mesh->indexOf(a)] + coord.lookup(a);
        start.push_back(win.offset[d] + block * t.getDimSize(d));
        limit.push_back(win.offset[d] + win.shape[d]);
      }
      std::vector<char> slice(n, 0);
      BlockCopy copy{globalShape.asArrayRef(), t.getShape(), start, limit, elem, p, slice.data()};
      if (t.getRank() > 0)
        copy.run(0, 0, 0);
      if (failed(emit(slice.data())))
        return failure();
      continue;
    }
    if (failed(emit(p)))
      return failure();
  }
  out.close();
  if (out.has_error())
    return module.emitError("error writing '") << outPath << "'", failure();
  WeightFileInfo info;
  info.checksum = llvm::utohexstr(hash.finish(), /*LowerCase=*/true);
  info.tensors = weights.size();
  info.bytes = at;
  return info;
}
