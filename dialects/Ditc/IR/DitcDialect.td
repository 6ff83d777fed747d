//===- DitcDialect.td - the ditc dialect -------------------*- tablegen -*-===//
//
// The graph-level dialect every stage of ditc works on.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_DIALECT_TD
#define DITC_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Ditc_Dialect : Dialect {
  let name = "ditc";
  let cppNamespace = "::mlir::ditc";
  let summary = "Tensor-level graph dialect for DiT and LLM inference";
  let description = [{
    The `ditc` dialect holds inference graphs imported from ONNX. Values are
    statically shaped ranked tensors. Besides the elementwise, reduction and
    data-movement ops that exporters write, it keeps the semantic ops that the
    profiler, the chunk search and the parallel planner reason about:
    `ditc.linear`, `ditc.attention`, `ditc.layer_norm`, `ditc.rms_norm`,
    `ditc.gelu`, `ditc.silu` and `ditc.rope`.

    Weights are not stored in the IR: `ditc.weight` names an initializer and
    where its bytes live (file and offset), so importing, profiling and
    planning never read a weight byte.

    ```mlir
    func.func @main(%x: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
      %w = ditc.weight "proj.weight" {file = "model.onnx", offset = 1024 : i64} : tensor<64x64xf32>
      %y = ditc.linear %x, %w : (tensor<2x16x64xf32>, tensor<64x64xf32>) -> tensor<2x16x64xf32>
      return %y : tensor<2x16x64xf32>
    }
    ```
  }];
  let hasConstantMaterializer = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Ditc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ditc_Dialect, mnemonic, traits>;

def Ditc_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how GELU is computed", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"tanh", 1>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_GeluApproximationAttr : EnumAttr<Ditc_Dialect, Ditc_GeluApproximation,
                                          "gelu_approximation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_Activation : I32EnumAttr<"Activation",
    "an elementwise function a kernel applies to its result", [
      I32EnumAttrCase<"gelu", 0>,
      I32EnumAttrCase<"gelu_tanh", 1>,
      I32EnumAttrCase<"silu", 2>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_ActivationAttr : EnumAttr<Ditc_Dialect, Ditc_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_PoolKind : I32EnumAttr<"PoolKind", "what a pooling window computes", [
      I32EnumAttrCase<"max", 0>,
      I32EnumAttrCase<"avg", 1>,
      I32EnumAttrCase<"lp", 2>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_PoolKindAttr : EnumAttr<Ditc_Dialect, Ditc_PoolKind, "pool_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_ProbeQuantity : I32EnumAttr<"ProbeQuantity",
    "what a redundancy probe measures", [
      I32EnumAttrCase<"k", 0>,
      I32EnumAttrCase<"v", 1>,
      I32EnumAttrCase<"out", 2>,
      I32EnumAttrCase<"residual", 3>,
      I32EnumAttrCase<"k_text", 4>,
      I32EnumAttrCase<"v_text", 5>,
      I32EnumAttrCase<"out_text", 6>,
      I32EnumAttrCase<"residual_text", 7>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_ProbeQuantityAttr : EnumAttr<Ditc_Dialect, Ditc_ProbeQuantity,
                                      "probe_quantity"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_CacheKind : I32EnumAttr<"CacheKind",
    "the rule that decides whether a denoising step skips the blocks", [
      I32EnumAttrCase<"fbcache", 0>,
      I32EnumAttrCase<"teacache", 1>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_CacheKindAttr : EnumAttr<Ditc_Dialect, Ditc_CacheKind, "cache_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_ScatterReduction : I32EnumAttr<"ScatterReduction",
    "how a scatter combines an update with the entry it lands on", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"add", 1>,
      I32EnumAttrCase<"mul", 2>,
      I32EnumAttrCase<"max", 3>,
      I32EnumAttrCase<"min", 4>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_ScatterReductionAttr : EnumAttr<Ditc_Dialect, Ditc_ScatterReduction,
                                         "scatter_reduction"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_GridSampleMode : I32EnumAttr<"GridSampleMode",
    "how grid_sample interpolates", [
      I32EnumAttrCase<"linear", 0>,
      I32EnumAttrCase<"nearest", 1>,
      I32EnumAttrCase<"cubic", 2>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_GridSampleModeAttr : EnumAttr<Ditc_Dialect, Ditc_GridSampleMode,
                                       "grid_sample_mode"> {
  let assemblyFormat = "`<` $value `>`";
}

def Ditc_GridSamplePadding : I32EnumAttr<"GridSamplePadding",
    "what grid_sample reads outside the input", [
      I32EnumAttrCase<"zeros", 0>,
      I32EnumAttrCase<"border", 1>,
      I32EnumAttrCase<"reflection", 2>
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_GridSamplePaddingAttr : EnumAttr<Ditc_Dialect, Ditc_GridSamplePadding,
                                          "grid_sample_padding"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // DITC_DIALECT_TD
