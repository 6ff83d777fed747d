//===- ImportContext.h - state shared by the importer and op handlers -*- C++ -*-//
//
// The graph importer walks nodes in order; each node is handed to the handler
// registered for its op type (OnnxOps.cpp) through a NodeContext, which gives
// typed access to inputs (as IR values or folded host constants), attributes,
// and a way to define outputs.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_IMPORTER_ONNX_IMPORTCONTEXT_H
#define DITC_LIB_IMPORTER_ONNX_IMPORTCONTEXT_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "dialects/Ditc/IR/DitcShapes.h"
#include "lib/Importer/Onnx/HostTensor.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>
#include <memory>

namespace mlir::ditc::onnx_import {

/// What the importer knows about one ONNX value.
struct ValueInfo {
  RankedTensorType type;
  Value value;                          // materialised IR value, if any
  std::shared_ptr<HostTensor> constant; // folded contents, if known
  std::function<Value()> materialize;   // lazily creates `value`
};

class GraphImporter;

class NodeContext {
public:
  NodeContext(GraphImporter &g, const onnx::NodeProto &node, int64_t opset,
              Location loc);

  const onnx::NodeProto &node;
  const int64_t opset;
  const Location loc;
  OpBuilder &b;

  // Inputs.
  int numInputs() const { return node.input_size(); }
  bool has(int i) const;
  Value in(int i);
  RankedTensorType type(int i);
  ArrayRef<int64_t> shape(int i) { return type(i).getShape(); }
  Type elem(int i) { return type(i).getElementType(); }
  int64_t rank(int i) { return type(i).getRank(); }
  /// Folded contents of input i, or null.
  const HostTensor *cst(int i);
  /// Whether every present input is a folded constant.
  bool allConst();
  /// Integer contents of a constant input; an error naming `what` otherwise.
  FailureOr<SmallVector<int64_t>> constInts(int i, StringRef what);
  /// For an input that must fold but does not: " (it reads graph input
  /// 'X'; --bind X=FILE.pb compiles for given values)", or "" when no graph
  /// input reaches it.
  std::string bindHint(int i);

  // Attributes.
  const onnx::AttributeProto *attr(StringRef name) const;
  int64_t attrInt(StringRef name, int64_t def) const;
  double attrFloat(StringRef name, double def) const;
  std::string attrStr(StringRef name, StringRef def) const;
  std::optional<SmallVector<int64_t>> attrInts(StringRef name) const;

  // Outputs.
  int numOutputs() const { return node.output_size(); }
  bool outputUsed(int i) const;
  void set(int i, Value v);
  void setConst(int i, HostTensor t);

  /// An error at this node: "OpType (opset N): ...".
  InFlightDiagnostic error();
  /// A warning at this node, in the same form; the import goes on.
  InFlightDiagnostic warning();
  /// Reports a failed shape rule.
  LogicalResult fail(const std::string &why);
  /// A tensor type, or an error when the shape overflows.
  FailureOr<RankedTensorType> tensorType(ArrayRef<int64_t> shape, Type elem);
  /// Normalises a possibly negative axis against `rank`.
  FailureOr<int64_t> axis(int64_t a, int64_t rank);
  MLIRContext *ctx() { return b.getContext(); }
  GraphImporter &graph() { return g; }

private:
  GraphImporter &g;
};

using OpHandler = LogicalResult (*)(NodeContext &);

struct OpInfo {
  OpHandler handler;
  /// The first opset of the default domain that defines this op.
  int64_t sinceOpset;
  /// How many leading inputs must be present (the rest are optional);
  /// kAllInputs for variadic ops, whose every input must be present.
  int requiredInputs = 1;
  static constexpr int kAllInputs = -1;
};

/// The handlers, keyed by ONNX op type (OnnxOps.cpp).
const llvm::StringMap<OpInfo> &opRegistry();

/// Maps an ONNX TensorProto data type to an MLIR element type (null when
/// unsupported).
Type elementTypeFor(MLIRContext *ctx, int32_t onnxType);

/// The name of an ONNX TensorProto data type ("FLOAT", "STRING", ...).
std::string onnxTypeName(int32_t onnxType);

/// Defines the Constant node's output from its tensor attribute (number
/// `attrIndex`), as a weight reference when large.
LogicalResult defineConstantTensor(NodeContext &nc, const onnx::TensorProto &t,
                                   int attrIndex);

/// If: the branch its folded condition takes, imported in place
/// (OnnxImporter.cpp).
LogicalResult importIf(NodeContext &nc);

/// Reads the contents of a tensor held inside the model (not external data).
FailureOr<HostTensor> readTensor(MLIRContext *ctx, const onnx::TensorProto &t,
                                 std::string &why);

} // namespace mlir::ditc::onnx_import

#endif // DITC_LIB_IMPORTER_ONNX_IMPORTCONTEXT_H
