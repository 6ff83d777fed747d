//===- DitcAttrs.td - the parallel plan as typed attributes -*- tablegen -*-===//
//
// The plan contract: the device mesh of a module, the split of every value
// over it, and the algorithm each split attention runs. Passes that decide a
// plan write these; passes that carry it out read them, by the axes' kinds,
// never by their names (names are for people and diagnostics).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_ATTRS_TD
#define DITC_ATTRS_TD

include "dialects/Ditc/IR/DitcDialect.td"

def Ditc_MeshAxisKind : I32EnumAttr<"MeshAxisKind",
    "what a mesh axis divides", [
      I32EnumAttrCase<"data", 0>,      // independent samples of the batch (dp)
      I32EnumAttrCase<"cfg", 1>,       // the conditional / unconditional halves (cfg)
      I32EnumAttrCase<"ring", 2>,      // tokens; attention circulates K/V blocks (ring)
      I32EnumAttrCase<"ulysses", 3>,   // tokens; attention trades tokens for heads (ulysses)
      I32EnumAttrCase<"tensor", 4>,    // heads and hidden units (tp)
      I32EnumAttrCase<"pipeline", 5>,  // consecutive layers: pipeline stages (pp)
      I32EnumAttrCase<"pipefusion", 6>, // consecutive layers, fed patch by patch (pipefusion)
      I32EnumAttrCase<"ring_inner", 7> // tokens; the inner rings of a double ring (ring_inner)
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}

def Ditc_MeshAxisAttr : AttrDef<Ditc_Dialect, "MeshAxis"> {
  let mnemonic = "axis";
  let summary = "One axis of a device mesh: its name, size and kind";
  let parameters = (ins "StringAttr":$name, "int64_t":$size, "MeshAxisKind":$kind);
  let assemblyFormat = "`<` $name `=` $size `:` $kind `>`";
  let genVerifyDecl = 1;
}

def Ditc_MeshAttr : AttrDef<Ditc_Dialect, "Mesh"> {
  let mnemonic = "mesh";
  let summary = "The device mesh a module runs on (module attribute ditc.mesh)";
  let description = [{
    Axes, most significant first: ranks are numbered row-major over them.
    Every axis has a name (unique), a size (>= 1) and a kind; a kind names
    what the axis divides, and appears at most once.

    ```mlir
    module attributes {ditc.mesh = #ditc.mesh<["cfg" = 2 : cfg, "ulysses" = 4 : ulysses]>}
    ```
  }];
  let parameters = (ins OptionalArrayRefParameter<"MeshAxisAttr">:$axes);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Ditc_ShardingAttr : AttrDef<Ditc_Dialect, "Sharding"> {
  let mnemonic = "sharding";
  let summary = "How a value is split over the mesh: per dimension, the axes that split it";
  let description = [{
    One list of mesh-axis names per dimension of the value, most significant
    first; an axis splits at most one dimension. An op carries one per
    result as `ditc.sharding = [...]` (a function argument: the argument
    attribute of that name); a weight slice carries its own as `ditc.shard`.
    The verifier checks the ranks and that every name is an axis of the
    module's `ditc.mesh`.

    ```mlir
    %y = ditc.linear %x, %w {ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {} ]>]} : ...
    ```
  }];
  let parameters = (ins OptionalArrayRefParameter<"ArrayAttr">:$dims);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Ditc_SequenceParallel : I32EnumAttr<"SequenceParallel",
    "how an attention whose tokens are split runs", [
      I32EnumAttrCase<"ulysses", 0>,   // all-to-all: tokens traded for heads
      I32EnumAttrCase<"ring", 1>,      // K/V blocks circulate, online softmax
      I32EnumAttrCase<"usp", 2>        // ring across the ring axis, Ulysses within
    ]> {
  let cppNamespace = "::mlir::ditc";
  let genSpecializedAttr = 0;
}
def Ditc_SequenceParallelAttr : EnumAttr<Ditc_Dialect, Ditc_SequenceParallel,
                                         "sequence_parallel"> {
  let summary = "The sequence-parallel algorithm of one attention (ditc.sequence_parallel)";
  let assemblyFormat = "`<` $value `>`";
}

#endif // DITC_ATTRS_TD
