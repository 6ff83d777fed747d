//===- DitcOps.td - ditc operations ------------------------*- tablegen -*-===//
//
// Operations of the ditc dialect. Every op works on statically shaped ranked
// tensors; result types are written out and checked by the verifiers, which
// share their shape rules with the ONNX importer (DitcShapes.h).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_OPS_TD
#define DITC_OPS_TD

include "dialects/Ditc/IR/DitcDialect.td"
include "dialects/Ditc/IR/DitcAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Ditc_Tensor : RankedTensorOf<[AnyType]>;
def Ditc_I64Scalar : TensorRankOf<[I64], [0]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getI64Type())">;
def Ditc_BoolTensor : RankedTensorOf<[I1]>;
def Ditc_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Ditc_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
// Integers of any signedness (ONNX's uint8 ... uint64 import as ui8 ...).
def Ditc_AnyIntTensor : RankedTensorOf<[AnyInteger]>;

// Operands and result broadcast numpy-style to the result shape.
def Ditc_Broadcasting : NativeOpTrait<"ditc::Broadcasting">;

//===----------------------------------------------------------------------===//
// Sources: constants and weights
//===----------------------------------------------------------------------===//

def Ditc_ConstantOp : Ditc_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "a small constant tensor held in the IR";
  let description = [{
    A constant whose elements live in the IR. The importer uses it for
    scalars, shape tensors and everything it folds; large tensors are
    `ditc.weight` references instead.

    ```mlir
    %c = ditc.constant dense<[2, 4]> : tensor<2xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Ditc_WeightOp : Ditc_Op<"weight", [Pure]> {
  let summary = "a reference to a weight tensor stored outside the IR";
  let description = [{
    Names an ONNX initializer and records where its raw little-endian bytes
    live: `file` is relative to the model's folder (the model file itself for
    embedded initializers) and `offset` is the byte offset in it. The IR never
    holds the bytes; `ditc compile` streams them into per-rank shards.

    ```mlir
    %w = ditc.weight "blocks.0.attn.to_q.weight" {file = "model.onnx.data", offset = 0 : i64} : tensor<1152x1152xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, StrAttr:$file, I64Attr:$offset);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Ditc_BinaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : Ditc_Op<mnemonic, !listconcat(traits, [Pure, Ditc_Broadcasting])> {
  let summary = "elementwise " # desc # " with numpy broadcasting";
  let description = [{
    Applies the operation elementwise after broadcasting both operands to the
    result shape (numpy rules: shapes are aligned on the right and dimensions
    of size 1 stretch).

    ```mlir
    %z = ditc.}] # mnemonic # [{ %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$lhs, Ditc_Tensor:$rhs);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

class Ditc_ArithOp<string mnemonic, string desc, list<Trait> traits = []>
    : Ditc_BinaryOp<mnemonic, desc,
                    !listconcat(traits, [AllElementTypesMatch<["lhs", "rhs", "result"]>])>;

def Ditc_AddOp : Ditc_ArithOp<"add", "addition", [Commutative]> {
  let hasFolder = 1;
}
def Ditc_SubOp : Ditc_ArithOp<"sub", "subtraction"> {
  let hasFolder = 1;
}
def Ditc_MulOp : Ditc_ArithOp<"mul", "multiplication", [Commutative]> {
  let hasFolder = 1;
}
def Ditc_DivOp : Ditc_ArithOp<"div", "division"> {
  let hasFolder = 1;
}
def Ditc_PowOp : Ditc_ArithOp<"pow", "power">;
def Ditc_MaxOp : Ditc_ArithOp<"max", "maximum", [Commutative]>;
def Ditc_MinOp : Ditc_ArithOp<"min", "minimum", [Commutative]>;
def Ditc_ModOp : Ditc_Op<"mod", [Pure, Ditc_Broadcasting,
    AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "elementwise remainder with numpy broadcasting";
  let description = [{
    The remainder of `lhs / rhs`. With `fmod` it has the sign of `lhs` (C's
    `fmod`); without, the sign of `rhs` (Python's `%`), as ONNX `Mod`.

    ```mlir
    %r = ditc.mod %a, %b : (tensor<6xi64>, tensor<i64>) -> tensor<6xi64>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$lhs, Ditc_Tensor:$rhs, UnitAttr:$fmod);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Ditc_AndOp : Ditc_BinaryOp<"and", "logical and",
    [Commutative, AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let arguments = (ins Ditc_BoolTensor:$lhs, Ditc_BoolTensor:$rhs);
  let results = (outs Ditc_BoolTensor:$result);
}

class Ditc_BitwiseOp<string mnemonic, string desc>
    : Ditc_BinaryOp<mnemonic, desc,
                    [Commutative, AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let arguments = (ins Ditc_AnyIntTensor:$lhs, Ditc_AnyIntTensor:$rhs);
  let results = (outs Ditc_AnyIntTensor:$result);
}
def Ditc_BitwiseAndOp : Ditc_BitwiseOp<"bitwise_and", "bitwise and of integers">;
def Ditc_BitwiseOrOp : Ditc_BitwiseOp<"bitwise_or", "bitwise or of integers">;
def Ditc_BitwiseXorOp : Ditc_BitwiseOp<"bitwise_xor",
                                       "bitwise exclusive or of integers">;

class Ditc_CompareOp<string mnemonic, string desc>
    : Ditc_BinaryOp<mnemonic, desc, [AllElementTypesMatch<["lhs", "rhs"]>]> {
  let results = (outs Ditc_BoolTensor:$result);
}
def Ditc_EqualOp : Ditc_CompareOp<"equal", "comparison for equality">;
def Ditc_GreaterOp : Ditc_CompareOp<"greater", "greater-than comparison">;
def Ditc_LessOp : Ditc_CompareOp<"less", "less-than comparison">;

def Ditc_WhereOp : Ditc_Op<"where", [Pure, Ditc_Broadcasting,
    AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "elementwise select with numpy broadcasting";
  let description = [{
    `result = cond ? lhs : rhs`, all three operands broadcast to the result.

    ```mlir
    %r = ditc.where %c, %a, %b : (tensor<4x4xi1>, tensor<f32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Ditc_BoolTensor:$cond, Ditc_Tensor:$lhs, Ditc_Tensor:$rhs);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat =
      "$cond `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Ditc_MulAddOp : Ditc_Op<"mul_add", [Pure, Ditc_Broadcasting,
    AllElementTypesMatch<["lhs", "rhs", "addend", "result"]>]> {
  let summary = "elementwise lhs * rhs + addend with numpy broadcasting";
  let description = [{
    `result = lhs * rhs + addend`, all three operands broadcast to the
    result, computed in f32 and rounded once. `-ditc-legalize-runtime` makes
    it from a `ditc.mul` whose only user is a `ditc.add`: a DiT's gated
    residual, `x + gate * y` with the gate one row per batch, is then one
    pass over the activations instead of two.

    ```mlir
    %r = ditc.mul_add %gate, %y, %x : (tensor<2x1x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$lhs, Ditc_FloatTensor:$rhs,
                   Ditc_FloatTensor:$addend);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs `,` $addend attr-dict `:` "
                       "functional-type(operands, results)";
}

class Ditc_UnaryOp<string mnemonic, string desc, Type type = Ditc_Tensor,
                   list<Trait> traits = []>
    : Ditc_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let summary = "elementwise " # desc;
  let description = [{
    Applies }] # desc # [{ to every element; the result has the operand's type.

    ```mlir
    %y = ditc.}] # mnemonic # [{ %x : tensor<2x8xf32>
    ```
  }];
  let arguments = (ins type:$input);
  let results = (outs type:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Ditc_NegOp : Ditc_UnaryOp<"neg", "negation">;
def Ditc_NotOp : Ditc_UnaryOp<"not", "logical negation", Ditc_BoolTensor>;
def Ditc_SqrtOp : Ditc_UnaryOp<"sqrt", "the square root", Ditc_FloatTensor>;
def Ditc_ReciprocalOp : Ditc_UnaryOp<"reciprocal", "1/x", Ditc_FloatTensor>;
def Ditc_ExpOp : Ditc_UnaryOp<"exp", "the exponential", Ditc_FloatTensor>;
def Ditc_ErfOp : Ditc_UnaryOp<"erf", "the error function", Ditc_FloatTensor>;
def Ditc_CosOp : Ditc_UnaryOp<"cos", "the cosine", Ditc_FloatTensor>;
def Ditc_SinOp : Ditc_UnaryOp<"sin", "the sine", Ditc_FloatTensor>;
def Ditc_TanhOp : Ditc_UnaryOp<"tanh", "the hyperbolic tangent", Ditc_FloatTensor>;
def Ditc_SigmoidOp : Ditc_UnaryOp<"sigmoid", "the logistic sigmoid 1/(1+exp(-x))",
                                  Ditc_FloatTensor>;
def Ditc_ReluOp : Ditc_UnaryOp<"relu", "max(x, 0)">;
def Ditc_SiluOp : Ditc_UnaryOp<"silu", "SiLU (swish), x * sigmoid(x)", Ditc_FloatTensor>;
def Ditc_AbsOp : Ditc_UnaryOp<"abs", "the absolute value", Ditc_FloatTensor>;
def Ditc_LogOp : Ditc_UnaryOp<"log", "the natural logarithm", Ditc_FloatTensor>;
def Ditc_FloorOp : Ditc_UnaryOp<"floor", "rounding down", Ditc_FloatTensor>;
def Ditc_CeilOp : Ditc_UnaryOp<"ceil", "rounding up", Ditc_FloatTensor>;
def Ditc_RoundOp : Ditc_UnaryOp<"round",
    "rounding to the nearest integer, halves to even", Ditc_FloatTensor>;

def Ditc_GeluOp : Ditc_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise GELU";
  let description = [{
    `x * Phi(x)` with the exact error-function form (`none`) or the tanh
    approximation (`tanh`) that many DiT feed-forward layers use.

    ```mlir
    %y = ditc.gelu %x approximate = <tanh> : tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input,
                   DefaultValuedAttr<Ditc_GeluApproximationAttr,
                                     "GeluApproximation::none">:$approximate);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat =
      "$input (`approximate` `=` $approximate^)? attr-dict `:` type($result)";
}

def Ditc_IsNanOp : Ditc_Op<"is_nan", [Pure, SameOperandsAndResultShape]> {
  let summary = "elementwise test for NaN";
  let description = [{
    ```mlir
    %m = ditc.is_nan %x : (tensor<4xf32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input);
  let results = (outs Ditc_BoolTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Ditc_CastOp : Ditc_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "elementwise conversion to another element type";
  let description = [{
    Converts each element to the result's element type (floats to integers
    truncate toward zero; anything to `i1` tests for non-zero).

    ```mlir
    %y = ditc.cast %x : (tensor<4xi64>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Reductions and normalisation
//===----------------------------------------------------------------------===//

class Ditc_ReduceOp<string mnemonic, string desc>
    : Ditc_Op<mnemonic, [Pure]> {
  let summary = desc # " over the given axes";
  let description = [{
    Reduces over `axes` (sorted, non-negative, unique). With `keep_dims` the
    reduced axes stay with size 1.

    ```mlir
    %m = ditc.}] # mnemonic # [{ %x {axes = array<i64: 2>, keep_dims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, DenseI64ArrayAttr:$axes,
                   DefaultValuedAttr<BoolAttr, "true">:$keep_dims);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}
def Ditc_ReduceSumOp : Ditc_ReduceOp<"reduce_sum", "sum">;
def Ditc_ReduceMeanOp : Ditc_ReduceOp<"reduce_mean", "arithmetic mean">;
def Ditc_ReduceMaxOp : Ditc_ReduceOp<"reduce_max", "maximum">;
def Ditc_ReduceMinOp : Ditc_ReduceOp<"reduce_min", "minimum">;
def Ditc_ReduceProdOp : Ditc_ReduceOp<"reduce_prod", "product">;

class Ditc_ArgReduceOp<string mnemonic, string desc>
    : Ditc_Op<mnemonic, [Pure]> {
  let summary = "index of the " # desc # " along one axis";
  let description = [{
    The i64 index of the }] # desc # [{ along `axis` (the first one, or the
    last with `select_last_index`); with `keep_dims` the axis stays with
    size 1.

    ```mlir
    %i = ditc.}] # mnemonic # [{ %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi64>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$axis,
                   DefaultValuedAttr<BoolAttr, "true">:$keep_dims,
                   UnitAttr:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}
def Ditc_ArgMaxOp : Ditc_ArgReduceOp<"argmax", "largest entry">;
def Ditc_ArgMinOp : Ditc_ArgReduceOp<"argmin", "smallest entry">;

def Ditc_CumSumOp : Ditc_Op<"cumsum", [Pure, SameOperandsAndResultType]> {
  let summary = "running sum along one axis";
  let description = [{
    `y[.., i, ..] = sum of x[.., j, ..]` for `j <= i` (`j < i` with
    `exclusive`; `j >= i` / `j > i` with `reverse`).

    ```mlir
    %y = ditc.cumsum %x {axis = 1 : i64, exclusive} : tensor<2x5xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$axis, UnitAttr:$exclusive,
                   UnitAttr:$reverse);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Ditc_DetOp : Ditc_Op<"det", [Pure]> {
  let summary = "determinant of each trailing square matrix";
  let description = [{
    Input `[..., n, n]` (floats), result `[...]`: the determinant of each
    matrix, by Gaussian elimination with partial pivoting (in double).

    ```mlir
    %d = ditc.det %x : (tensor<4x3x3xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_PoolOp : Ditc_Op<"pool", [Pure]> {
  let summary = "max, average or Lp pooling over the spatial axes of NC...";
  let description = [{
    Input `[N, C, d...]`. Output position `o` of spatial axis `a` covers
    input positions `o * strides[a] - pads[a] + k * dilations[a]` for `k` in
    `[0, kernel_shape[a])`; positions outside the input are skipped (`max`,
    `lp`) or count as zeros (`avg` with `count_include_pad`, as long as they
    lie within the begin and end `pads`). `avg` divides by the counted
    positions; `lp` is `(sum |x|^p)^(1/p)`. The result's spatial sizes are
    given (ONNX's ceil mode adds a last window). `max` may also return
    `indices`: the flat index of each maximum in the input (row-major).

    ```mlir
    %y = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>,
                       strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>,
                       dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, Ditc_PoolKindAttr:$kind,
                   DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   UnitAttr:$count_include_pad,
                   DefaultValuedAttr<I64Attr, "2">:$p);
  let results = (outs Ditc_Tensor:$result,
                 Optional<RankedTensorOf<[I64]>>:$indices);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_SoftmaxOp : Ditc_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along `axis` (non-negative).

    ```mlir
    %p = ditc.softmax %s {axis = 3 : i64} : tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Ditc_LayerNormOp : Ditc_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "layer normalisation over the trailing axes";
  let description = [{
    Normalises over the axes `[axis, rank)`: `(x - mean) / sqrt(var + epsilon)`,
    then multiplies by `scale` and adds `bias` when given (both shaped like the
    normalised trailing dimensions, or broadcastable to them).

    `mod_scale` and `mod_shift` are a DiT's adaLN modulation,
    `norm(x) * mod_scale + mod_shift`, with one row of parameters per group
    of rows: shaped like the input except that, of the leading dimensions
    `[0, axis)`, a suffix may be 1 (`[B, 1, C]` for an input `[B, N, C]`).
    `-ditc-legalize-runtime` folds the `mul` and `add` that follow a norm
    into them; the result is then rounded once. `mod_scale_offset` is added
    to `mod_scale` first: `norm(x) * (1 + scale) + shift` is `mod_scale`
    `scale` with `mod_scale_offset = 1.0` (the `1 + scale` add folded in).

    ```mlir
    %y = ditc.layer_norm %x scale %g bias %b {axis = 2 : i64, epsilon = 1.0e-06 : f64}
        : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
    %m = ditc.layer_norm %x mod_scale %s mod_shift %t {axis = 2 : i64, epsilon = 1.0e-06 : f64}
        : (tensor<2x16x64xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>) -> tensor<2x16x64xf32>
    %p = ditc.layer_norm %x mod_scale %s mod_shift %t {axis = 2 : i64, epsilon = 1.0e-06 : f64, mod_scale_offset = 1.0 : f64}
        : (tensor<2x16x64xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Optional<Ditc_FloatTensor>:$scale,
                   Optional<Ditc_FloatTensor>:$bias,
                   Optional<Ditc_FloatTensor>:$mod_scale,
                   Optional<Ditc_FloatTensor>:$mod_shift, I64Attr:$axis,
                   F64Attr:$epsilon, OptionalAttr<F64Attr>:$mod_scale_offset);
  let results = (outs Ditc_FloatTensor:$result);
  let builders = [
    // The norm without a modulation, as the importer and the fusions build it.
    OpBuilder<(ins "Type":$result, "Value":$input, "Value":$scale,
                   "Value":$bias, "IntegerAttr":$axis, "FloatAttr":$epsilon), [{
      build($_builder, $_state, result, input, scale, bias, Value(), Value(),
            axis, epsilon, FloatAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// How many rows of parameters a modulation of shape `mod` has for an
    /// input `x` normalised from `axis` (the product of its leading dims),
    /// or failure when `mod` is not such a shape.
    static FailureOr<int64_t> modulationGroups(ArrayRef<int64_t> x,
                                               int64_t axis,
                                               ArrayRef<int64_t> mod);
    /// The modulation's parameter rows (1 when it has none).
    int64_t getModulationGroups();
    /// The `mul` by a modulation-shaped `scale` that is this unmodulated
    /// norm's only user, and the `add` of a `shift` of the same shape that
    /// is the mul's only user (null when there is none): what
    /// -ditc-legalize-runtime folds into `mod_scale` and `mod_shift`.
    struct Modulation {
      Operation *mul = nullptr, *add = nullptr;
      Value scale, shift;
    };
    Modulation getModulation();
  }];
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`bias` $bias^)? (`mod_scale` $mod_scale^)?
    (`mod_shift` $mod_shift^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ditc_RmsNormOp : Ditc_Op<"rms_norm", [Pure]> {
  let summary = "root-mean-square normalisation over the trailing axes";
  let description = [{
    `x / sqrt(mean(x^2 over [axis, rank)) + epsilon) * scale`, the norm of
    Llama, SD3's and Flux's query/key norms.

    ```mlir
    %y = ditc.rms_norm %x scale %g {axis = 2 : i64, epsilon = 1.0e-06 : f64}
        : (tensor<1x16x32xf32>, tensor<32xf32>) -> tensor<1x16x32xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Optional<Ditc_FloatTensor>:$scale,
                   I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ditc_GroupNormOp : Ditc_Op<"group_norm", [Pure]> {
  let summary = "group normalisation of an NC... tensor";
  let description = [{
    Splits the channels (axis 1) into `num_groups` groups, normalises each
    group over its channels and all spatial positions, then applies the
    per-channel `scale` and `bias` (shape `[C]`).

    ```mlir
    %y = ditc.group_norm %x, %g, %b {num_groups = 2 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Ditc_FloatTensor:$scale,
                   Ditc_FloatTensor:$bias, I64Attr:$num_groups, F64Attr:$epsilon);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Ditc_MatmulOp : Ditc_Op<"matmul", [Pure]> {
  let summary = "batched matrix product with broadcast batch dimensions";
  let description = [{
    `[..., M, K] x [..., K, N] -> [..., M, N]`; both operands have rank 2 or
    more and their batch dimensions broadcast (the importer turns ONNX's
    vector operands into matrices).

    ```mlir
    %c = ditc.matmul %a, %b : (tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$lhs, Ditc_Tensor:$rhs);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_LinearOp : Ditc_Op<"linear", [Pure]> {
  let summary = "a fully connected layer: x W (+ b)";
  let description = [{
    `input [..., K]` times `weight` plus an optional `bias [N]`. The weight is
    `[K, N]`, or `[N, K]` (PyTorch's layout) when `transpose_weight` is set.
    Tensor parallelism splits `weight` by columns or rows.

    An `activation` (`gelu`, `gelu_tanh`, `silu`) is applied to the result
    before it is stored: the epilogue code generation fuses into the layer
    (`-ditc-legalize-runtime`, when the activation is the product's only
    user). It is computed on the f32 accumulator, so a 16-bit result is
    rounded once.

    ```mlir
    %y = ditc.linear %x, %w bias %b {transpose_weight}
        : (tensor<2x16x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
    %h = ditc.linear %x, %w {activation = #ditc.activation<gelu_tanh>}
        : (tensor<2x16x64xf32>, tensor<64x256xf32>) -> tensor<2x16x256xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Ditc_FloatTensor:$weight,
                   Optional<Ditc_FloatTensor>:$bias, UnitAttr:$transpose_weight,
                   OptionalAttr<Ditc_ActivationAttr>:$activation);
  let results = (outs Ditc_FloatTensor:$result);
  let builders = [
    // The layer without an activation, as the importer and the parallel
    // passes build it.
    OpBuilder<(ins "Type":$result, "Value":$input, "Value":$weight,
                   "Value":$bias, "bool":$transposeWeight), [{
      build($_builder, $_state, result, input, weight, bias, transposeWeight,
            ActivationAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// The GELU or SiLU that is this layer's only user (what
    /// -ditc-legalize-runtime makes its `activation`), or null.
    Operation *getActivationUser();
  }];
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ditc_EinsumOp : Ditc_Op<"einsum", [Pure]> {
  let summary = "Einstein summation";
  let description = [{
    Explicit-output Einstein summation over one or more operands, e.g.
    `"bhqd,bhkd->bhqk"`. The importer expands implicit outputs and ellipses.

    ```mlir
    %c = ditc.einsum %a, %b {equation = "ij,jk->ik"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    ```
  }];
  let arguments = (ins Variadic<Ditc_Tensor>:$inputs, StrAttr:$equation);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_ConvOp : Ditc_Op<"conv", [Pure]> {
  let summary = "N-d convolution over an NC... input";
  let description = [{
    Input `[N, C, d...]`, weight `[M, C/group, k...]`, optional bias `[M]`.
    `pads` holds the begin pads of every spatial axis, then the end pads.
    Patch embeddings of DiT models are convolutions with stride = kernel.

    ```mlir
    %y = ditc.conv %x, %w bias %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>,
                                   dilations = array<i64: 1, 1>, group = 1 : i64}
        : (tensor<2x4x8x8xf32>, tensor<16x4x2x2xf32>, tensor<16xf32>) -> tensor<2x16x4x4xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Ditc_FloatTensor:$weight,
                   Optional<Ditc_FloatTensor>:$bias, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   I64Attr:$group);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ditc_ConvTransposeOp : Ditc_Op<"conv_transpose", [Pure]> {
  let summary = "N-d transposed convolution over an NC... input";
  let description = [{
    Input `[N, C, d...]`, weight `[C, M/group, k...]`, optional bias `[M]`.
    Input position `i` of a spatial axis adds `x * w[k]` to output position
    `i * stride - pads[begin] + k * dilation`; outputs outside the result are
    dropped. The result's spatial sizes are given (ONNX's output_padding and
    output_shape decide them).

    ```mlir
    %y = ditc.conv_transpose %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>,
                                     dilations = array<i64: 1, 1>, group = 1 : i64}
        : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x7x7xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Ditc_FloatTensor:$weight,
                   Optional<Ditc_FloatTensor>:$bias, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   I64Attr:$group);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ditc_GridSampleOp : Ditc_Op<"grid_sample", [Pure]> {
  let summary = "sample an NC... input at the grid's normalised coordinates";
  let description = [{
    Input `[N, C, d1..dr]`, grid `[N, o1..or, r]` of coordinates in [-1, 1]
    (last axis: the innermost spatial axis first, as ONNX GridSample),
    result `[N, C, o1..or]`. `align_corners` maps -1 and 1 to the centres
    of the corner elements, else to their outer edges.

    ```mlir
    %y = ditc.grid_sample %x, %g {mode = #ditc.grid_sample_mode<linear>,
                                  padding_mode = #ditc.grid_sample_padding<zeros>}
        : (tensor<1x1x4x4xf32>, tensor<1x6x6x2xf32>) -> tensor<1x1x6x6xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Ditc_FloatTensor:$grid,
                   Ditc_GridSampleModeAttr:$mode,
                   Ditc_GridSamplePaddingAttr:$padding_mode,
                   UnitAttr:$align_corners);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $grid attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_AttentionOp : Ditc_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention with grouped K/V heads";
  let description = [{
    `softmax(scale * Q K^T + mask) V` per batch and head, with
    `query [B, H, Sq, D]`, `key [B, Hkv, Sk, D]`, `value [B, Hkv, Sk, Dv]` and
    result `[B, H, Sq, Dv]`. `H` must be a multiple of `Hkv` (grouped-query
    attention: query head `h` reads K/V head `h / (H / Hkv)`). `scale`
    defaults to `1/sqrt(D)`. The optional `mask` broadcasts to
    `[B, H, Sq, Sk]`: boolean (true = attend) or additive (of the query's
    type, or f32 for 16-bit queries). `causal` masks key
    `j > i` for query `i` (top-left aligned, as PyTorch's `is_causal` and
    ONNX `Attention` without a cache). A row whose keys are all masked
    yields zeros. `query_offset` (a 0-d i64 tensor, with `causal` only)
    says that the queries are rows `query_offset ..` of a longer sequence:
    `causal` then masks key `j > query_offset + i`. `-ditc-chunk` gives it
    to a causal attention whose query rows a `ditc.chunk` cuts
    (`ditc.chunk_offset`).
    Sequence parallelism (Ulysses, Ring) is planned around this op.

    `seq_major` (four booleans: query, key, value, result) says which
    tensors are `[B, S, H, D]` instead of `[B, H, S, D]`: the layout a
    linear layer's output split into heads has. `-ditc-legalize-runtime`
    sets it where it folds the transposes between the heads and the
    attention (`[0, 2, 1, 3]`) into the op, so that they are never made;
    the kernels read and write each tensor where it lies.

    ```mlir
    %o = ditc.attention %q, %k, %v {causal, scale = 0.125 : f64}
        : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
    %p = ditc.attention %q2, %k, %v {seq_major = array<i1: true, false, false, true>}
        : (tensor<1x16x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x16x4x8xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$query, Ditc_FloatTensor:$key,
                   Ditc_FloatTensor:$value, Optional<Ditc_Tensor>:$mask,
                   Optional<Ditc_I64Scalar>:$query_offset,
                   OptionalAttr<F64Attr>:$scale, UnitAttr:$causal,
                   OptionalAttr<DenseBoolArrayAttr>:$seq_major);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^)? (`query_offset` $query_offset^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale applied to Q K^T: the attribute, or 1/sqrt(head dim).
    double getEffectiveScale();
    /// The tensors `seq_major` describes, in its order.
    enum Tensor : unsigned { kQuery = 0, kKey = 1, kValue = 2, kResult = 3 };
    /// Whether tensor `t` is [B, S, H, D] rather than [B, H, S, D].
    bool isSeqMajor(Tensor t);
    /// Where tensor `t`'s batch, head, sequence and head-size dims are.
    std::array<unsigned, 4> layoutDims(Tensor t);
    /// Tensor `t`'s sizes in the order batch, heads, sequence, head size.
    std::array<int64_t, 4> headSizes(Tensor t);
    /// The tensor of `t`: an operand, or the result.
    Value tensor(Tensor t);
  }];
}

def Ditc_RopeOp : Ditc_Op<"rope", [Pure]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates pairs of features along the last axis of `input` (any layout:
    `[B, H, S, D]` for Llama, `[B, S, H, D]` for Flux) by position-dependent
    angles. `cos` and `sin` hold one value per rotated feature: their last
    dimension `W` (even, at most `D`) says how many leading features rotate
    (the rest pass through), and their other dimensions broadcast to the
    input's (numpy rules, aligned on the right). Pairs are `(a, b) = (i, i +
    W/2)` (rotate-half, Llama) or `(2i, 2i + 1)` when `interleaved` (Flux,
    GPT-J), and

    ```
    out[a] = x[a] * cos[a] - x[b] * sin[a]
    out[b] = x[b] * cos[b] + x[a] * sin[b]
    ```

    which is exactly `x * cos + rotate(x) * sin` as exporters write it.

    ```mlir
    %y = ditc.rope %x, %cos, %sin : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$input, Ditc_FloatTensor:$cos,
                   Ditc_FloatTensor:$sin, UnitAttr:$interleaved);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Ditc_ReshapeOp : Ditc_Op<"reshape", [Pure]> {
  let summary = "reinterpret a tensor with another shape";
  let description = [{
    Same elements in row-major order, new static shape (the result type).

    ```mlir
    %y = ditc.reshape %x : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Ditc_TransposeOp : Ditc_Op<"transpose", [Pure]> {
  let summary = "permute the axes of a tensor";
  let description = [{
    Result axis `i` is input axis `permutation[i]`.

    ```mlir
    %y = ditc.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Ditc_ConcatOp : Ditc_Op<"concat", [Pure]> {
  let summary = "join tensors along one axis";
  let description = [{
    ```mlir
    %y = ditc.concat %a, %b {axis = 1 : i64} : (tensor<2x16x8xf32>, tensor<2x4x8xf32>) -> tensor<2x20x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Ditc_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_SplitOp : Ditc_Op<"split", [Pure]> {
  let summary = "split a tensor along one axis into consecutive pieces";
  let description = [{
    The result types give the size of each piece along `axis`.

    ```mlir
    %a, %b = ditc.split %x {axis = 2 : i64} : (tensor<2x16x12xf32>) -> (tensor<2x16x4xf32>, tensor<2x16x8xf32>)
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$axis);
  let results = (outs Variadic<Ditc_Tensor>:$results);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_SliceOp : Ditc_Op<"slice", [Pure]> {
  let summary = "a strided window of a tensor";
  let description = [{
    Result element `i` (per axis `a`) is input element
    `offsets[a] + i * steps[a]`; the result type gives the sizes. Steps are
    non-zero and may be negative.

    ```mlir
    %y = ditc.slice %x {offsets = array<i64: 0, 4>, steps = array<i64: 1, 2>} : (tensor<2x16xf32>) -> tensor<2x6xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, DenseI64ArrayAttr:$offsets,
                   DenseI64ArrayAttr:$steps);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ditc_GatherOp : Ditc_Op<"gather", [Pure]> {
  let summary = "take entries along one axis by index";
  let description = [{
    ONNX `Gather`: the result shape is `data.shape[:axis] + indices.shape +
    data.shape[axis+1:]`; negative indices count from the end. Embedding
    look-ups are gathers on axis 0.

    ```mlir
    %e = ditc.gather %table, %ids {axis = 0 : i64} : (tensor<128x32xf32>, tensor<1x16xi64>) -> tensor<1x16x32xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$data, Ditc_IntTensor:$indices, I64Attr:$axis);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_ScatterElementsOp : Ditc_Op<"scatter_elements", [Pure]> {
  let summary = "write updates into a copy of data at per-element indices";
  let description = [{
    ONNX `ScatterElements`: `indices` and `updates` have one shape; the
    update at position `p` goes to `p` with its `axis` coordinate replaced
    by `indices[p]` (negative counts from the end), combined by `reduction`.

    ```mlir
    %y = ditc.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = #ditc.scatter_reduction<add>}
        : (tensor<2x5xf32>, tensor<2x2xi64>, tensor<2x2xf32>) -> tensor<2x5xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$data, Ditc_IntTensor:$indices,
                   Ditc_Tensor:$updates, I64Attr:$axis,
                   Ditc_ScatterReductionAttr:$reduction);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat =
      "$data `,` $indices `,` $updates attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_ScatterNdOp : Ditc_Op<"scatter_nd", [Pure]> {
  let summary = "write slices of updates into a copy of data at index tuples";
  let description = [{
    ONNX `ScatterND`: `indices` `[..., k]` holds index tuples into the first
    `k` axes of `data`; `updates` `[..., data.shape[k:]]` the slices written
    there, combined by `reduction`.

    ```mlir
    %y = ditc.scatter_nd %d, %i, %u {reduction = #ditc.scatter_reduction<none>}
        : (tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$data, Ditc_IntTensor:$indices,
                   Ditc_Tensor:$updates, Ditc_ScatterReductionAttr:$reduction);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat =
      "$data `,` $indices `,` $updates attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_BroadcastOp : Ditc_Op<"broadcast", [Pure]> {
  let summary = "broadcast a tensor to a larger shape";
  let description = [{
    Numpy broadcasting of `input` to the result shape (ONNX `Expand`).

    ```mlir
    %y = ditc.broadcast %x : (tensor<1x16xf32>) -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ditc_TriluOp : Ditc_Op<"trilu", [Pure, SameOperandsAndResultType]> {
  let summary = "keep the upper or lower triangle of the last two axes";
  let description = [{
    With `upper`, keeps elements with `col - row >= k` and zeroes the rest;
    otherwise keeps `col - row <= k`.

    ```mlir
    %y = ditc.trilu %x {k = 1 : i64, upper = true} : tensor<16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$k, BoolAttr:$upper);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Chunked loops (AutoChunk)
//===----------------------------------------------------------------------===//

def Ditc_ChunkOp : Ditc_Op<"chunk", [RecursiveMemoryEffects,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "run a region once per chunk of one dimension";
  let description = [{
    Runs its body `count` times. Input k is cut along `input_dims[k]` into
    `count` chunks; iteration i gives the body chunk i of every input as its
    block arguments. Values of the enclosing block that the body uses
    directly (weights, K/V of an attention whose query rows are chunked) are
    whole in every iteration. The body yields one chunk of each result, which
    goes to chunk i of result k along `result_dims[k]`.

    A dimension of size n is cut into chunks of c = ceil(n / count) elements;
    chunk i starts at min(i * c, n - c). When `count` divides n the chunks
    tile it; when it does not, the last chunk ends at n and overlaps the one
    before it by count * c - n elements, which the loop computes twice (the
    same values, as every op of the body computes the cut dimension
    independently). Such an uneven loop cuts every input and result along a
    dimension of the same size.

    `-ditc-chunk` writes it to bring the activation memory under a budget:
    the memory plan places the body's buffers once, at chunk size, and the
    loop's results live from its start, so the region's intermediates take
    1/count of their unchunked space.

    ```mlir
    %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>,
                          result_dims = array<i64: 1>}
        : (tensor<2x64x32xf32>) -> tensor<2x64x32xf32> {
    ^bb0(%c: tensor<2x16x32xf32>):
      %g = ditc.gelu %c : tensor<2x16x32xf32>
      ditc.yield %g : tensor<2x16x32xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<Ditc_Tensor>:$inputs, I64Attr:$count,
                   DenseI64ArrayAttr:$input_dims, DenseI64ArrayAttr:$result_dims);
  let results = (outs Variadic<Ditc_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The type of one chunk of `type` along `dim`.
    static RankedTensorType chunkType(Type type, int64_t dim, int64_t count);
    /// Elements of one chunk of a dimension of `size`: ceil(size / count).
    static int64_t chunkSize(int64_t size, int64_t count) {
      return (size + count - 1) / count;
    }
    /// The size of the dimensions the loop cuts when `count` does not
    /// divide them (all are the same size then); 0 when it divides all.
    int64_t getUnevenSize();
    /// The whole size of a cut dimension whose chunks hold `chunk`
    /// elements.
    int64_t wholeSize(int64_t chunk) {
      int64_t n = getUnevenSize();
      return n ? n : chunk * getCount();
    }
    Block &getBodyBlock() { return getBody().front(); }
  }];
}

def Ditc_ChunkOffsetOp : Ditc_Op<"chunk_offset", [Pure, HasParent<"ChunkOp">]> {
  let summary = "where an iteration's chunk starts along the cut dimension";
  let description = [{
    `stride` times the iteration index of the enclosing `ditc.chunk`, plus
    `base` (a `ditc.chunk_offset` of an enclosing loop) when given: the
    position in the whole dimension of the first element of this
    iteration's chunk, when each chunk holds `stride` elements. In an
    uneven loop (a count that does not divide the cut size n) the last
    chunk starts at n - `stride` instead. A causal
    `ditc.attention` whose query rows the loop cuts reads it as its
    `query_offset`.

    ```mlir
    %o = ditc.chunk_offset {stride = 16 : i64} : tensor<i64>
    %a = ditc.attention %q, %k, %v query_offset %o {causal}
        : (tensor<1x2x16x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<i64>) -> tensor<1x2x16x8xf32>
    ```
  }];
  let arguments = (ins Optional<Ditc_I64Scalar>:$base, I64Attr:$stride);
  let results = (outs Ditc_I64Scalar:$result);
  let assemblyFormat = "(`base` $base^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Ditc_YieldOp : Ditc_Op<"yield", [Pure, Terminator,
    HasParent<"ChunkOp">]> {
  let summary = "the chunk of each result a ditc.chunk iteration computes";
  let description = [{
    Terminates the body of `ditc.chunk`: operand k is this iteration's chunk
    of result k.
  }];
  let arguments = (ins Variadic<Ditc_Tensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* empty yield */ }]>];
}

include "dialects/Ditc/IR/DitcParallelOps.td"

#endif // DITC_OPS_TD
