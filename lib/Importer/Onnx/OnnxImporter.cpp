//===- OnnxImporter.cpp - ONNX model to the ditc dialect ------------------===//

#include "lib/Importer/Onnx/OnnxImporter.h"
#include "lib/Importer/Onnx/ImportContext.h"
#include "lib/Importer/Onnx/WireIndex.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <set>

#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/parser.h>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

//===----------------------------------------------------------------------===//
// Element types and tensor contents
//===----------------------------------------------------------------------===//

Type mlir::ditc::onnx_import::elementTypeFor(MLIRContext *ctx, int32_t t) {
  Builder b(ctx);
  using TP = onnx::TensorProto;
  switch (t) {
  case TP::FLOAT:
    return b.getF32Type();
  case TP::DOUBLE:
    return b.getF64Type();
  case TP::FLOAT16:
    return b.getF16Type();
  case TP::BFLOAT16:
    return b.getBF16Type();
  case TP::INT64:
    return b.getI64Type();
  case TP::INT32:
    return b.getI32Type();
  case TP::INT16:
    return b.getI16Type();
  case TP::INT8:
    return b.getI8Type();
  case TP::UINT8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case TP::UINT16:
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case TP::UINT32:
    return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case TP::UINT64:
    return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  case TP::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

std::string mlir::ditc::onnx_import::onnxTypeName(int32_t t) {
  if (onnx::TensorProto::DataType_IsValid(t))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(t));
  return "type " + std::to_string(t);
}

static int64_t byteWidth(Type et) {
  return et.isInteger(1) ? 1 : (et.getIntOrFloatBitWidth() + 7) / 8;
}

/// Whether a tensor of this element type and shape may be an attention
/// mask: float or boolean, [1, ..., 1, S, S] with S >= 2.
static bool maskShaped(Type et, ArrayRef<int64_t> shape) {
  return (isa<FloatType>(et) || et.isInteger(1)) && shape.size() >= 2 && shape.back() >= 2 &&
         shape[shape.size() - 2] == shape.back() &&
         llvm::all_of(shape.drop_back(2), [](int64_t d) { return d == 1; });
}

/// The one value above the diagonal when `raw` (a tensor's little-endian
/// bytes: its raw_data, or the slice of its external data file) is an
/// additive causal mask: mask-shaped, zero where key <= query and one value
/// below -1e30 (or -inf) everywhere above it (exporters fold
/// `torch.finfo(dtype).min` triangles into initializers). Exits at the first
/// value that differs, so an ordinary square weight costs a few reads.
static std::optional<double> causalMaskFill(StringRef raw, Type et, ArrayRef<int64_t> shape) {
  if (!maskShaped(et, shape) || !isa<FloatType>(et))
    return std::nullopt;
  auto ft = cast<FloatType>(et);
  int64_t s = shape.back();
  int64_t w = byteWidth(ft);
  if ((int64_t)raw.size() != s * s * w || w > 8)
    return std::nullopt;
  auto at = [&](int64_t k) {
    uint64_t bits = 0;
    memcpy(&bits, raw.data() + k * w, w);
    return APFloat(ft.getFloatSemantics(), APInt(w * 8, bits));
  };
  APFloat fill = at(1);
  if (!(fill.convertToDouble() < -1e30))
    return std::nullopt;
  for (int64_t i = 0; i < s; ++i)
    for (int64_t j = 0; j < s; ++j) {
      APFloat v = at(i * s + j);
      if (j <= i ? !v.isZero() : !v.bitwiseIsEqual(fill))
        return std::nullopt;
    }
  return fill.convertToDouble();
}

/// Whether `raw` is a boolean causal mask (true = attend): shape [1, ...,
/// 1, S, S] with S >= 2, true where key <= query and false above, one byte
/// each (the dynamo exporter folds `arange <= arange` into one).
static bool isCausalBoolMask(StringRef raw, Type et, ArrayRef<int64_t> shape) {
  if (!maskShaped(et, shape) || !et.isInteger(1))
    return false;
  int64_t s = shape.back();
  if ((int64_t)raw.size() != s * s)
    return false;
  for (int64_t i = 0; i < s; ++i)
    for (int64_t j = 0; j < s; ++j)
      if (raw[i * s + j] != (j <= i ? 1 : 0))
        return false;
  return true;
}

FailureOr<HostTensor>
mlir::ditc::onnx_import::readTensor(MLIRContext *ctx, const onnx::TensorProto &t,
                                    std::string &why) {
  Type et = elementTypeFor(ctx, t.data_type());
  if (!et) {
    why = "unsupported element type " + onnxTypeName(t.data_type());
    return failure();
  }
  Shape shape(t.dims().begin(), t.dims().end());
  std::optional<int64_t> n = numElements(shape);
  if (!n) {
    why = "tensor dimensions " + shapeStr(shape) + " overflow";
    return failure();
  }
  if (*n > kFoldLimit * 16) {
    why = "tensor too large to hold in the IR";
    return failure();
  }
  HostTensor h(et, shape);
  auto expect = [&](int64_t have) -> LogicalResult {
    if (have == *n)
      return success();
    why = "tensor holds " + std::to_string(have) + " values for shape " +
          shapeStr(shape);
    return failure();
  };
  if (t.has_raw_data()) {
    const std::string &raw = t.raw_data();
    int64_t w = byteWidth(et);
    if (failed(expect((int64_t)raw.size() / w)) || raw.size() % w) {
      why = "raw data of " + std::to_string(raw.size()) +
            " bytes does not match shape " + shapeStr(shape);
      return failure();
    }
    const char *p = raw.data();
    for (int64_t k = 0; k < *n; ++k, p += w) {
      if (auto ft = dyn_cast<FloatType>(et)) {
        uint64_t bits = 0;
        memcpy(&bits, p, w);
        APFloat v(ft.getFloatSemantics(), APInt(w * 8, bits));
        h.f[k] = v.convertToDouble();
      } else {
        uint64_t bits = 0;
        memcpy(&bits, p, w);
        h.i[k] = h.normalizeInt((int64_t)bits);
      }
    }
    return h;
  }
  if (auto ft = dyn_cast<FloatType>(et)) {
    if (ft.isF32()) {
      if (failed(expect(t.float_data_size())))
        return failure();
      for (int64_t k = 0; k < *n; ++k)
        h.f[k] = t.float_data(k);
    } else if (ft.isF64()) {
      if (failed(expect(t.double_data_size())))
        return failure();
      for (int64_t k = 0; k < *n; ++k)
        h.f[k] = t.double_data(k);
    } else { // f16 / bf16 bit patterns in int32_data
      if (failed(expect(t.int32_data_size())))
        return failure();
      for (int64_t k = 0; k < *n; ++k)
        h.f[k] = APFloat(ft.getFloatSemantics(),
                         APInt(ft.getWidth(), (uint64_t)t.int32_data(k)))
                     .convertToDouble();
    }
    return h;
  }
  auto it = cast<IntegerType>(et);
  if (it.getWidth() == 64 && it.isUnsigned()) {
    if (failed(expect(t.uint64_data_size())))
      return failure();
    for (int64_t k = 0; k < *n; ++k)
      h.i[k] = (int64_t)t.uint64_data(k);
  } else if (it.getWidth() == 64) {
    if (failed(expect(t.int64_data_size())))
      return failure();
    for (int64_t k = 0; k < *n; ++k)
      h.i[k] = t.int64_data(k);
  } else if (it.getWidth() == 32 && it.isUnsigned()) {
    if (failed(expect(t.uint64_data_size())))
      return failure();
    for (int64_t k = 0; k < *n; ++k)
      h.i[k] = (int64_t)t.uint64_data(k);
  } else {
    if (failed(expect(t.int32_data_size())))
      return failure();
    for (int64_t k = 0; k < *n; ++k)
      h.i[k] = h.normalizeInt(t.int32_data(k));
  }
  return h;
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

namespace mlir::ditc::onnx_import {

/// Initializers smaller than this stay in the IR as constants.
constexpr int64_t kInlineFloatElements = 64;
constexpr int64_t kInlineIntElements = 4096;

class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, const onnx::ModelProto &model, StringRef path,
                const WireIndex *wire, const OnnxImportOptions &opts)
      : ctx(ctx), b(ctx), model(model), path(path), wire(wire), opts(opts) {
    modelDir = llvm::sys::path::parent_path(path).str();
    if (modelDir.empty())
      modelDir = ".";
    modelFile = llvm::sys::path::filename(path).str();
  }

  OwningOpRef<ModuleOp> run();

  InFlightDiagnostic fileError() {
    return emitError(UnknownLoc::get(ctx));
  }

  /// Registers `name` as the tensor `t` (an initializer or a Constant node's
  /// value); `where` locates its payload in the model file.
  LogicalResult defineTensor(StringRef name, const onnx::TensorProto &t,
                             std::optional<PayloadLocation> where, Location loc,
                             const std::function<InFlightDiagnostic()> &err);

  Location nodeLoc(const onnx::NodeProto &node, int index) {
    std::string name = node.name();
    if (name.empty())
      name = node.op_type() + "_" + std::to_string(index);
    return NameLoc::get(StringAttr::get(ctx, name));
  }

  MLIRContext *ctx;
  OpBuilder b;
  const onnx::ModelProto &model;
  std::string path, modelDir, modelFile;
  const WireIndex *wire;
  const OnnxImportOptions &opts;
  llvm::StringMap<ValueInfo> values;
  int currentNode = 0;
  /// Depth of the If branches being imported: their nodes are not in the
  /// wire index of the top-level graph's payloads.
  int subgraphDepth = 0;

  /// An If whose condition folded: the taken branch's initializers and
  /// nodes imported in place, its outputs as the If's.
  LogicalResult importTakenBranch(NodeContext &nc);

  /// The graph inputs whose values `name` is computed from (through the
  /// top-level graph's nodes), in graph order.
  SmallVector<std::string> inputsReaching(StringRef name);

private:
  LogicalResult importNode(const onnx::NodeProto &node, int index,
                           int64_t opset);
  FailureOr<RankedTensorType> inputType(const onnx::ValueInfoProto &vi);
  LogicalResult bindInput(const onnx::ValueInfoProto &vi);
  LogicalResult checkOptionNames();
};

} // namespace mlir::ditc::onnx_import

LogicalResult GraphImporter::defineTensor(
    StringRef name, const onnx::TensorProto &t,
    std::optional<PayloadLocation> where, Location loc,
    const std::function<InFlightDiagnostic()> &err) {
  Type et = elementTypeFor(ctx, t.data_type());
  if (!et)
    return err() << "tensor '" << name << "' has unsupported element type "
                 << onnxTypeName(t.data_type());
  Shape shape;
  for (int64_t d : t.dims()) {
    if (d < 0)
      return err() << "tensor '" << name << "' has a negative dimension";
    shape.push_back(d);
  }
  std::optional<int64_t> n = numElements(shape);
  if (!n || *n > kMaxElements / 8)
    return err() << "tensor '" << name << "' dimensions " << shapeStr(shape)
                 << " overflow";
  auto type = RankedTensorType::get(shape, et);
  int64_t nbytes = *n * byteWidth(et);
  ValueInfo &vi = values[name];
  vi = ValueInfo();
  vi.type = type;
  std::string nameStr = name.str();

  auto makeWeight = [&](std::string file, int64_t offset) {
    vi.materialize = [this, type, nameStr, file, offset, loc]() -> Value {
      return WeightOp::create(b, loc, type, b.getStringAttr(nameStr),
                              b.getStringAttr(file), b.getI64IntegerAttr(offset));
    };
  };

  // A causal mask becomes the triangle of one splat constant, as the
  // Attention importer builds for is_causal (bit for bit the same values):
  // no weight to store, and the attention fusion reads it as causal.
  auto asCausalMask = [&](StringRef raw) {
    if (isCausalBoolMask(raw, et, shape)) {
      // The lower triangle (k = 0) of a splat of true.
      vi.materialize = [this, type, loc]() -> Value {
        Value all = ConstantOp::create(b, loc, DenseElementsAttr::get(type, true));
        return TriluOp::create(b, loc, type, all, 0, false);
      };
      return true;
    }
    std::optional<double> fill = causalMaskFill(raw, et, shape);
    if (!fill)
      return false;
    vi.materialize = [this, type, fill = *fill, loc]() -> Value {
      Value all = ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), fill)));
      return TriluOp::create(b, loc, type, all, 1, true);
    };
    return true;
  };
  bool small = isa<FloatType>(et) ? *n <= kInlineFloatElements
                                  : *n <= kInlineIntElements;
  // The tensor's values in the IR (`from` holds them inline).
  auto defineConstant = [&](const onnx::TensorProto &from) -> LogicalResult {
    std::string why;
    FailureOr<HostTensor> h = readTensor(ctx, from, why);
    if (failed(h))
      return err() << "tensor '" << name << "': " << why;
    vi.constant = std::make_shared<HostTensor>(std::move(*h));
    return success();
  };
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset" || kv.key() == "length") {
        int64_t v;
        if (!llvm::to_integer(kv.value(), v, 10) || v < 0)
          return err() << "tensor '" << name << "' has a bad external-data "
                       << kv.key() << " '" << kv.value() << "'";
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    if (location.empty())
      return err() << "tensor '" << name
                   << "' is external but names no location";
    SmallString<256> norm(location);
    llvm::sys::path::remove_dots(norm, /*remove_dot_dot=*/true);
    if (llvm::sys::path::is_absolute(location) || norm.starts_with("..") ||
        StringRef(location).contains('\\') || norm.empty())
      return err() << "tensor '" << name << "' external data '" << location
                   << "' points outside the model's folder";
    if (length >= 0 && length != nbytes)
      return err() << "tensor '" << name << "' external data length "
                   << length << " does not match its " << shapeStr(shape)
                   << " shape (" << nbytes << " bytes)";
    // The data file may be absent (planning without weights); when present,
    // it must hold the bytes and stay inside the model's folder.
    SmallString<256> full(modelDir);
    llvm::sys::path::append(full, norm);
    uint64_t fileSize;
    if (!llvm::sys::fs::file_size(full, fileSize)) {
      SmallString<256> realDir, realFile;
      if (!llvm::sys::fs::real_path(modelDir, realDir) &&
          !llvm::sys::fs::real_path(full, realFile) &&
          !StringRef(realFile).starts_with((realDir + "/").str()))
        return err() << "tensor '" << name << "' external data '" << location
                     << "' resolves outside the model's folder";
      if ((uint64_t)offset + (uint64_t)nbytes > fileSize)
        return err() << "tensor '" << name << "' external data runs past the "
                     << "end of '" << location << "' (" << fileSize
                     << " bytes)";
      // Mapped, not read: an ordinary square weight is refused after its
      // first two values.
      if (maskShaped(et, shape))
        if (auto slice = llvm::MemoryBuffer::getFileSlice(full, nbytes, offset);
            slice && asCausalMask((*slice)->getBuffer()))
          return success();
      // Small tensors are constants wherever their bytes are (exporters
      // move tensors of 1 KiB and more out of the model: the index ranges
      // that Wan's rotation writes through are such), so that folding and
      // the fusions see their values, as they see inline ones.
      if ((uint64_t)offset + (uint64_t)nbytes <= fileSize && small)
        if (auto slice = llvm::MemoryBuffer::getFileSlice(full, nbytes, offset)) {
          onnx::TensorProto inlined;
          inlined.set_data_type(t.data_type());
          for (int64_t d : shape)
            inlined.add_dims(d);
          inlined.set_raw_data((*slice)->getBufferStart(), nbytes);
          return defineConstant(inlined);
        }
    }
    makeWeight(std::string(norm.str()), offset);
    return success();
  }

  if (t.data_location() != onnx::TensorProto::EXTERNAL && t.has_raw_data() &&
      asCausalMask(t.raw_data()))
    return success();
  if (!small && where && where->size == (uint64_t)nbytes) {
    makeWeight(modelFile, (int64_t)where->offset);
    return success();
  }
  return defineConstant(t);
}

FailureOr<RankedTensorType>
GraphImporter::inputType(const onnx::ValueInfoProto &vi) {
  const std::string &name = vi.name();
  if (!vi.type().has_tensor_type())
    return fileError() << "graph input '" << name << "' is not a tensor",
           failure();
  const auto &tt = vi.type().tensor_type();
  Type et = elementTypeFor(ctx, tt.elem_type());
  if (!et)
    return fileError() << "graph input '" << name
                       << "' has unsupported element type "
                       << onnxTypeName(tt.elem_type()),
           failure();
  Shape shape;
  auto it = opts.inputShapes.find(name);
  if (it != opts.inputShapes.end()) {
    shape.assign(it->second.begin(), it->second.end());
    if (tt.has_shape() && tt.shape().dim_size() != (int)shape.size())
      return fileError() << "--shape " << name << " has rank " << shape.size()
                         << " but the graph input has rank "
                         << tt.shape().dim_size(),
             failure();
    if (tt.has_shape())
      for (int k = 0; k < tt.shape().dim_size(); ++k) {
        const auto &d = tt.shape().dim(k);
        if (d.has_dim_value() && d.dim_value() != shape[k])
          return fileError() << "--shape " << name << " sets dimension " << k
                             << " to " << shape[k] << " but the graph fixes it to "
                             << d.dim_value(),
                 failure();
      }
  } else {
    if (!tt.has_shape())
      return fileError() << "graph input '" << name
                         << "' has no shape; give --shape " << name << "=...",
             failure();
    for (const auto &d : tt.shape().dim()) {
      if (d.has_dim_param()) {
        auto v = opts.dimValues.find(d.dim_param());
        if (v != opts.dimValues.end()) {
          shape.push_back(v->second);
          continue;
        }
      }
      if (!d.has_dim_value() || d.dim_value() < 0)
        return fileError() << "graph input '" << name
                           << "' has a dynamic dimension '"
                           << (d.has_dim_param() ? d.dim_param() : "?")
                           << "'; give --shape " << name << "=..."
                           << (d.has_dim_param()
                                   ? " or --dim " + d.dim_param() + "=N"
                                   : std::string()),
               failure();
      shape.push_back(d.dim_value());
    }
  }
  if (!numElements(shape))
    return fileError() << "graph input '" << name << "' dimensions "
                       << shapeStr(shape) << " overflow",
           failure();
  return RankedTensorType::get(shape, et);
}

/// Renders a declared ONNX shape as "2x?x3".
static std::string declaredShapeStr(const onnx::TensorShapeProto &s) {
  std::string r;
  for (const auto &d : s.dim())
    r += (r.empty() ? "" : "x") +
         (d.has_dim_value() ? std::to_string(d.dim_value()) : "?");
  return r.empty() ? "scalar" : r;
}

LogicalResult GraphImporter::bindInput(const onnx::ValueInfoProto &vi) {
  const std::string &name = vi.name();
  std::string file = opts.inputBindings.lookup(name);
  auto err = [&]() { return fileError() << "--bind " << name << ": "; };
  if (opts.inputShapes.count(name))
    return err() << "the input also has a --shape; give only one";
  auto buf = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return err() << "cannot read '" << file
                 << "': " << buf.getError().message();
  StringRef bytes = (*buf)->getBuffer();
  onnx::TensorProto t;
  if (bytes.size() > (size_t)INT32_MAX ||
      !t.ParseFromArray(bytes.data(), (int)bytes.size()) || !t.has_data_type())
    return err() << "'" << file << "' is not a serialized ONNX TensorProto";
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return err() << "'" << file << "' refers to external data";
  if (!vi.type().has_tensor_type())
    return err() << "the graph input is not a tensor";
  const auto &tt = vi.type().tensor_type();
  if (t.data_type() != tt.elem_type())
    return err() << "'" << file << "' holds " << onnxTypeName(t.data_type())
                 << " but the graph input is " << onnxTypeName(tt.elem_type());
  Shape dims(t.dims().begin(), t.dims().end());
  if (tt.has_shape()) {
    bool fits = tt.shape().dim_size() == (int)dims.size();
    for (int k = 0; fits && k < tt.shape().dim_size(); ++k) {
      const auto &d = tt.shape().dim(k);
      fits = !d.has_dim_value() || d.dim_value() == dims[k];
    }
    if (!fits)
      return err() << "'" << file << "' has shape " << shapeStr(dims)
                   << " but the graph input is declared "
                   << declaredShapeStr(tt.shape());
  }
  return defineTensor(name, t, std::nullopt,
                      NameLoc::get(b.getStringAttr(name)),
                      [&] { return err(); });
}

LogicalResult GraphImporter::checkOptionNames() {
  llvm::StringSet<> inputs;
  for (const auto &in : model.graph().input())
    inputs.insert(in.name());
  auto check = [&](StringRef option, StringRef name) -> LogicalResult {
    if (inputs.count(name))
      return success();
    return fileError() << option << " names '" << name
                       << "', which is not an input of the graph";
  };
  for (const auto &entry : opts.inputShapes)
    if (failed(check("--shape", entry.getKey())))
      return failure();
  for (const auto &entry : opts.inputBindings)
    if (failed(check("--bind", entry.getKey())))
      return failure();
  if (opts.dimValues.empty())
    return success();
  std::set<std::string> named;
  for (const auto &in : model.graph().input())
    if (in.type().has_tensor_type() && in.type().tensor_type().has_shape())
      for (const auto &d : in.type().tensor_type().shape().dim())
        if (d.has_dim_param())
          named.insert(d.dim_param());
  for (const auto &entry : opts.dimValues)
    if (!named.count(entry.getKey().str())) {
      std::string list;
      for (const std::string &n : named)
        list += (list.empty() ? "" : ", ") + n;
      return fileError() << "--dim names '" << entry.getKey()
                         << "', which is not a named dimension of any graph "
                            "input (named: "
                         << (list.empty() ? "none" : list) << ")";
    }
  return success();
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node, int index,
                                        int64_t opset) {
  Location loc = nodeLoc(node, index);
  const std::string &domain = node.domain();
  if (!domain.empty() && domain != "ai.onnx")
    return emitError(loc) << "unsupported op '" << domain << "."
                          << node.op_type() << "' (domain '" << domain << "')";
  if (node.output_size() == 0)
    return emitError(loc) << node.op_type() << ": node has no outputs";
  const auto &reg = opRegistry();
  auto it = reg.find(node.op_type());
  if (it == reg.end())
    return emitError(loc) << "unsupported op '" << node.op_type()
                          << "' (opset " << opset << ")";
  if (opset < it->second.sinceOpset)
    return emitError(loc) << "op '" << node.op_type() << "' needs opset "
                          << it->second.sinceOpset << ", model has " << opset;
  int required = it->second.requiredInputs;
  if (required == OpInfo::kAllInputs)
    required = std::max(1, node.input_size());
  for (int k = 0; k < required; ++k)
    if (k >= node.input_size() || node.input(k).empty())
      return emitError(loc) << node.op_type() << " (opset " << opset
                            << "): needs " << required << " inputs, input "
                            << k << " is missing";
  for (const std::string &in : node.input())
    if (!in.empty() && !values.count(in))
      return emitError(loc) << node.op_type() << ": input '" << in
                            << "' is not produced by any earlier node";
  NodeContext nc(*this, node, opset, loc);
  if (failed(it->second.handler(nc)))
    return failure();
  for (int k = 0; k < node.output_size(); ++k)
    if (nc.outputUsed(k) && !values.count(node.output(k)))
      return emitError(loc) << node.op_type() << ": output " << k
                            << " is not supported";
  return success();
}

SmallVector<std::string> GraphImporter::inputsReaching(StringRef name) {
  const onnx::GraphProto &graph = model.graph();
  llvm::StringMap<int> producer;
  for (int k = 0; k < graph.node_size(); ++k)
    for (const std::string &out : graph.node(k).output())
      producer[out] = k;
  // The inputs the compiled function takes (not initializers, not bound).
  llvm::StringSet<> runtimeInputs, seen, reached;
  for (const auto &in : graph.input()) {
    auto it = values.find(in.name());
    if (it != values.end() && it->second.value && isa<BlockArgument>(it->second.value))
      runtimeInputs.insert(in.name());
  }
  SmallVector<std::string> work{name.str()};
  while (!work.empty()) {
    std::string v = work.pop_back_val();
    if (v.empty() || !seen.insert(v).second)
      continue;
    if (runtimeInputs.contains(v)) {
      reached.insert(v);
      continue;
    }
    auto p = producer.find(v);
    if (p != producer.end())
      for (const std::string &in : graph.node(p->second).input())
        work.push_back(in);
  }
  SmallVector<std::string> out;
  for (const auto &in : graph.input())
    if (reached.contains(in.name()))
      out.push_back(in.name());
  return out;
}

std::string NodeContext::bindHint(int i) {
  if (!has(i))
    return "";
  SmallVector<std::string> inputs = g.inputsReaching(node.input(i));
  if (inputs.empty())
    return "";
  std::string names, example;
  for (const std::string &n : inputs) {
    names += (names.empty() ? "'" : ", '") + n + "'";
    example += (example.empty() ? "--bind " : " --bind ") + n + "=FILE.pb";
  }
  return " (it reads graph input" + std::string(inputs.size() > 1 ? "s " : " ") + names +
         "; " + example + " compiles for given values)";
}

LogicalResult GraphImporter::importTakenBranch(NodeContext &nc) {
  const onnx::NodeProto &node = nc.node;
  const HostTensor *cond = nc.cst(0);
  if (!cond || cond->size() != 1)
    return nc.error() << "the condition '" << node.input(0)
                      << "' must fold to one value (ditc compiles one path: a "
                         "test of shapes folds)"
                      << nc.bindHint(0);
  bool taken = cond->isFloat() ? cond->f[0] != 0.0 : cond->i[0] != 0;
  const char *branchName = taken ? "then_branch" : "else_branch";
  const onnx::AttributeProto *a = nc.attr(branchName);
  if (!a || !a->has_g())
    return nc.error() << "has no " << branchName;
  const onnx::GraphProto &branch = a->g();
  if (branch.output_size() != node.output_size())
    return nc.error() << branchName << " has " << branch.output_size()
                      << " outputs, the node " << node.output_size();
  ++subgraphDepth;
  llvm::scope_exit done([&] { --subgraphDepth; });
  for (const onnx::TensorProto &t : branch.initializer())
    if (failed(defineTensor(t.name(), t, std::nullopt,
                            NameLoc::get(b.getStringAttr(t.name())),
                            [&] { return nc.error(); })))
      return failure();
  for (int k = 0; k < branch.node_size(); ++k)
    if (failed(importNode(branch.node(k), k, nc.opset)))
      return failure();
  for (int k = 0; k < node.output_size(); ++k) {
    auto it = values.find(branch.output(k).name());
    if (it == values.end())
      return nc.error() << branchName << " output '" << branch.output(k).name()
                        << "' is not produced by any of its nodes";
    ValueInfo copy = it->second;
    values[node.output(k)] = copy;
  }
  return success();
}

LogicalResult mlir::ditc::onnx_import::importIf(NodeContext &nc) {
  return nc.graph().importTakenBranch(nc);
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  int64_t opset = -1;
  for (const auto &imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  if (opset < 0)
    return fileError() << "model imports no default-domain opset", nullptr;
  if (opset < kMinOnnxOpset || opset > kMaxOnnxOpset)
    return fileError() << "opset " << opset << " is out of the supported range "
                       << kMinOnnxOpset << "-" << kMaxOnnxOpset,
           nullptr;
  const onnx::GraphProto &graph = model.graph();

  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(ctx));
  (*module)->setAttr("ditc.source", b.getStringAttr(modelFile));
  (*module)->setAttr("ditc.opset", b.getI64IntegerAttr(opset));
  b.setInsertionPointToEnd(module->getBody());

  // Initializers (names may also appear among the inputs before IR 4).
  int64_t initElements = 0, initBytes = 0;
  for (int k = 0; k < graph.initializer_size(); ++k) {
    const onnx::TensorProto &t = graph.initializer(k);
    std::optional<PayloadLocation> where;
    if (wire && k < (int)wire->initializers.size())
      where = wire->initializers[k];
    Location loc = NameLoc::get(b.getStringAttr(t.name()));
    if (failed(defineTensor(t.name(), t, where, loc,
                            [&] { return fileError(); })))
      return nullptr;
    RankedTensorType type = values[t.name()].type;
    initElements += type.getNumElements();
    initBytes += type.getNumElements() * byteWidth(type.getElementType());
  }
  (*module)->setAttr(kInitializerElementsAttr, b.getI64IntegerAttr(initElements));
  (*module)->setAttr(kInitializerBytesAttr, b.getI64IntegerAttr(initBytes));

  if (failed(checkOptionNames()))
    return nullptr;
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &in : graph.input()) {
    if (opts.inputBindings.count(in.name())) {
      if (failed(bindInput(in)))
        return nullptr;
      continue;
    }
    if (values.count(in.name()))
      continue;
    FailureOr<RankedTensorType> t = inputType(in);
    if (failed(t))
      return nullptr;
    argTypes.push_back(*t);
    argNames.push_back(in.name());
  }

  auto func = func::FuncOp::create(b, UnknownLoc::get(ctx), "main",
                                   b.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (auto [k, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(k, "ditc.name", b.getStringAttr(name));
    ValueInfo &vi = values[name];
    vi.type = cast<RankedTensorType>(argTypes[k]);
    vi.value = body->getArgument(k);
  }
  b.setInsertionPointToEnd(body);

  for (int k = 0; k < graph.node_size(); ++k) {
    currentNode = k;
    if (failed(importNode(graph.node(k), k, opset)))
      return nullptr;
  }

  SmallVector<Value> results;
  for (const auto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return fileError() << "graph output '" << out.name()
                         << "' is not produced by any node",
           nullptr;
    ValueInfo &vi = it->second;
    if (!vi.value) {
      if (vi.constant)
        vi.value = ConstantOp::create(b, NameLoc::get(b.getStringAttr(out.name())),
                                      vi.constant->toAttr());
      else
        vi.value = vi.materialize();
    }
    results.push_back(vi.value);
  }
  func::ReturnOp::create(b, UnknownLoc::get(ctx), results);
  func.setType(b.getFunctionType(argTypes, TypeRange(ValueRange(results))));
  for (auto [k, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(k, "ditc.name", b.getStringAttr(out.name()));
  return module;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

NodeContext::NodeContext(GraphImporter &g, const onnx::NodeProto &node,
                         int64_t opset, Location loc)
    : node(node), opset(opset), loc(loc), b(g.b), g(g) {}

bool NodeContext::has(int i) const {
  return i < node.input_size() && !node.input(i).empty();
}

Value NodeContext::in(int i) {
  ValueInfo &vi = g.values[node.input(i)];
  if (!vi.value) {
    Location l = NameLoc::get(b.getStringAttr(node.input(i)));
    if (vi.constant)
      vi.value = ConstantOp::create(b, l, vi.constant->toAttr());
    else
      vi.value = vi.materialize();
  }
  return vi.value;
}

RankedTensorType NodeContext::type(int i) {
  return g.values[node.input(i)].type;
}

const HostTensor *NodeContext::cst(int i) {
  if (!has(i))
    return nullptr;
  return g.values[node.input(i)].constant.get();
}

bool NodeContext::allConst() {
  for (int i = 0; i < numInputs(); ++i)
    if (has(i) && !cst(i))
      return false;
  return true;
}

FailureOr<SmallVector<int64_t>> NodeContext::constInts(int i, StringRef what) {
  const HostTensor *t = has(i) ? cst(i) : nullptr;
  if (!t || t->isFloat())
    return error() << "input '" << what
                   << "' must be a constant integer tensor (shapes are static)"
                   << (t ? std::string() : bindHint(i)),
           failure();
  return SmallVector<int64_t>(t->i.begin(), t->i.end());
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::attrInt(StringRef name, int64_t def) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : def;
}

double NodeContext::attrFloat(StringRef name, double def) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : def;
}

std::string NodeContext::attrStr(StringRef name, StringRef def) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : def.str();
}

std::optional<SmallVector<int64_t>>
NodeContext::attrInts(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

bool NodeContext::outputUsed(int i) const {
  return i < node.output_size() && !node.output(i).empty();
}

void NodeContext::set(int i, Value v) {
  if (!outputUsed(i))
    return;
  ValueInfo &vi = g.values[node.output(i)];
  vi = ValueInfo();
  vi.type = cast<RankedTensorType>(v.getType());
  vi.value = v;
}

void NodeContext::setConst(int i, HostTensor t) {
  if (!outputUsed(i))
    return;
  ValueInfo &vi = g.values[node.output(i)];
  vi = ValueInfo();
  vi.type = t.type();
  vi.constant = std::make_shared<HostTensor>(std::move(t));
}

InFlightDiagnostic NodeContext::error() {
  return emitError(loc) << node.op_type() << " (opset " << opset << "): ";
}

InFlightDiagnostic NodeContext::warning() {
  return emitWarning(loc) << node.op_type() << " (opset " << opset << "): ";
}

LogicalResult NodeContext::fail(const std::string &why) {
  return error() << why;
}

FailureOr<RankedTensorType> NodeContext::tensorType(ArrayRef<int64_t> shape,
                                                    Type elem) {
  std::optional<int64_t> n = numElements(shape);
  if (!n || *n > kMaxElements / 8)
    return error() << "result dimensions " << shapeStr(shape) << " overflow",
           failure();
  return RankedTensorType::get(shape, elem);
}

FailureOr<int64_t> NodeContext::axis(int64_t a, int64_t rank) {
  if (a < -rank || a >= rank)
    return error() << "axis " << a << " is out of range for rank " << rank,
           failure();
  return a < 0 ? a + rank : a;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

LogicalResult
mlir::ditc::onnx_import::defineConstantTensor(NodeContext &nc,
                                             const onnx::TensorProto &t,
                                             int attrIndex) {
  GraphImporter &g = nc.graph();
  std::optional<PayloadLocation> where;
  if (g.wire && g.subgraphDepth == 0) {
    auto it = g.wire->nodeTensors.find({g.currentNode, attrIndex});
    if (it != g.wire->nodeTensors.end())
      where = it->second;
  }
  return g.defineTensor(nc.node.output(0), t, where, nc.loc,
                        [&] { return nc.error(); });
}

LogicalResult mlir::ditc::parseShapeOption(StringRef spec,
                                           OnnxImportOptions &opts,
                                           std::string &why) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || !spec.contains('=')) {
    why = "--shape expects NAME=D0,D1,... but got '" + spec.str() + "'";
    return failure();
  }
  SmallVector<int64_t> shape;
  SmallVector<StringRef> parts;
  if (!dims.empty())
    dims.split(parts, ',');
  for (StringRef p : parts) {
    int64_t d;
    if (p.trim().getAsInteger(10, d) || d < 0) {
      why = "--shape " + name.str() + ": bad dimension '" + p.str() + "'";
      return failure();
    }
    shape.push_back(d);
  }
  opts.inputShapes[name] = shape;
  return success();
}

LogicalResult mlir::ditc::parseDimOption(StringRef spec,
                                         OnnxImportOptions &opts,
                                         std::string &why) {
  auto [name, value] = spec.split('=');
  int64_t v;
  if (name.empty() || !spec.contains('=') || value.trim().getAsInteger(10, v) ||
      v < 0) {
    why = "--dim expects NAME=N (a non-negative size) but got '" + spec.str() +
          "'";
    return failure();
  }
  opts.dimValues[name] = v;
  return success();
}

LogicalResult mlir::ditc::parseBindOption(StringRef spec,
                                          OnnxImportOptions &opts,
                                          std::string &why) {
  auto [name, file] = spec.split('=');
  if (name.empty() || file.empty()) {
    why = "--bind expects NAME=FILE.pb but got '" + spec.str() + "'";
    return failure();
  }
  if (!opts.inputBindings.try_emplace(name, file.str()).second) {
    why = "--bind " + name.str() + " is given twice";
    return failure();
  }
  return success();
}

std::vector<std::string> mlir::ditc::supportedOnnxOps() {
  std::vector<std::string> ops;
  for (const auto &e : opRegistry())
    ops.push_back(e.getKey().str());
  llvm::sort(ops);
  return ops;
}

OwningOpRef<ModuleOp> mlir::ditc::importOnnxModel(MLIRContext *ctx,
                                                  StringRef path,
                                                  const OnnxImportOptions &opts) {
  ctx->loadDialect<DitcDialect, func::FuncDialect>();
  auto fileError = [&]() { return emitError(UnknownLoc::get(ctx)); };
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return fileError() << "cannot read: " << buf.getError().message(), nullptr;
  StringRef bytes = (*buf)->getBuffer();
  onnx::ModelProto model;
  WireIndex wire;
  bool haveWire = false;
  StringRef trimmed = bytes.ltrim();
  bool isText = path.ends_with(".onnxtxt") || path.ends_with(".onnxtext") ||
                trimmed.starts_with("<");
  if (isText) {
    std::string text = bytes.str();
    std::string parseError;
    // ONNX's parser reports most errors as a status but throws on malformed
    // numbers (std::stol).
    try {
      onnx::OnnxParser parser(text.c_str());
      auto status = parser.Parse(model);
      if (!status.IsOK())
        parseError = StringRef(status.ErrorMessage()).trim().str();
    } catch (const std::exception &e) {
      parseError = std::string("malformed number or token (") + e.what() + ")";
    }
    if (!parseError.empty())
      return fileError() << "not valid ONNX text: " << parseError, nullptr;
  } else {
    if (bytes.size() > (size_t)INT32_MAX)
      return fileError() << "model file over 2 GB; keep weights as external "
                            "data",
             nullptr;
    google::protobuf::io::CodedInputStream stream(
        reinterpret_cast<const uint8_t *>(bytes.data()), (int)bytes.size());
    stream.SetRecursionLimit(64);
    if (!model.ParseFromCodedStream(&stream) ||
        !stream.ConsumedEntireMessage())
      return fileError() << "not an ONNX model (truncated or not protobuf)",
             nullptr;
    haveWire = scanWireIndex(bytes, wire);
  }
  if (!model.has_graph() || model.ir_version() <= 0)
    return fileError() << "not an ONNX model (no graph or IR version)", nullptr;
  GraphImporter importer(ctx, model, path, haveWire ? &wire : nullptr, opts);
  return importer.run();
}
