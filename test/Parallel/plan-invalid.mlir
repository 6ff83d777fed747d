// Plans that are malformed or do not apply to the graph are refused with
// the reason (one line each; `ditc compile` prints the same).
// RUN: not ditc-opt %s -ditc-plan="plan=ulysses=2,tp=2 devices=8" 2>&1 | FileCheck %s --check-prefix=PRODUCT
// PRODUCT: error: plan 'ulysses=2,tp=2': the degrees multiply to 4, not to the 8 devices (unnamed degrees are 1)
// RUN: not ditc-opt %s -ditc-plan="plan=cfg=4" 2>&1 | FileCheck %s --check-prefix=CFG
// CFG: error: plan 'cfg=4': no CFG batch to split: the first output has batch 2, which does not divide by 4 (cfg)
// RUN: not ditc-opt %s -ditc-plan="plan=pp=64" -ditc-propagate-sharding -ditc-partition -ditc-pipeline-stages 2>&1 | FileCheck %s --check-prefix=PP
// PP: error: pp=64 needs at least 64 ops to put in stages; the graph has {{[0-9]+}}
// RUN: not ditc-opt %s -ditc-plan="plan=pipefusion=2,pp=2" 2>&1 | FileCheck %s --check-prefix=PIPEFUSION_PP
// PIPEFUSION_PP: error: plan 'pipefusion=2,pp=2': pipefusion and pp both cut the layers into stages: use one of them
// RUN: not ditc-opt %s -ditc-plan="plan=patches=4" 2>&1 | FileCheck %s --check-prefix=PATCHES_ALONE
// PATCHES_ALONE: error: plan 'patches=4': patches=4 needs pipefusion=S with S > 1
// RUN: not ditc-opt %s -ditc-plan="plan=pipefusion=2,patches=16" 2>&1 | FileCheck %s --check-prefix=PATCHES_MANY
// PATCHES_MANY: error: plan 'pipefusion=2,patches=16': patches=16 is more than the 8 tokens of a self-attention
// RUN: not ditc-opt %s -ditc-plan="plan=pipefusion=2,patches=4,ulysses=4" 2>&1 | FileCheck %s --check-prefix=PATCHES_SP
// PATCHES_SP: error: plan 'pipefusion=2,patches=4,ulysses=4': patches=4 x 4 sequence ranks is more than the 8 tokens of a self-attention
// RUN: not ditc-opt %s -ditc-plan="plan=pipefusion=2" 2>&1 | FileCheck %s --check-prefix=BLOCKS
// BLOCKS: error: plan 'pipefusion=2': pipefusion=2 needs at least 2 attention layers to put in stages; the graph has 1
// RUN: not ditc-opt %s -ditc-plan="plan=sp=2" 2>&1 | FileCheck %s --check-prefix=KEY
// KEY: error: plan 'sp=2': unknown key 'sp' (expected cfg, dp, ulysses, ring, ring_inner, tp, pp, pipefusion, patches, context_first or whole_stream)
// RUN: not ditc-opt %s -ditc-plan="plan=ring_inner=2,ulysses=2" 2>&1 | FileCheck %s --check-prefix=INNER
// INNER: error: plan 'ring_inner=2,ulysses=2': ring_inner=2 makes the inner rings of a double ring: it needs ring=O above 1 (the outer ring over them; a single ring of N ranks is ring=N)
// RUN: not ditc-opt %s -ditc-plan="plan=ring=2,context_first=1" 2>&1 | FileCheck %s --check-prefix=CTX_BOTH
// CTX_BOTH: error: plan 'ring=2,context_first=1': context_first=1 places the ring groups inside the ulysses groups: it needs both ring and ulysses above 1
// RUN: not ditc-opt %s -ditc-plan="plan=ring=2,ulysses=2,context_first=2" 2>&1 | FileCheck %s --check-prefix=CTX_VALUE
// CTX_VALUE: error: plan 'ring=2,ulysses=2,context_first=2': context_first=2 is not 0 or 1
// RUN: not ditc-opt %s -ditc-plan="plan=ring=2,whole_stream=1" 2>&1 | FileCheck %s --check-prefix=WHOLE_ULYSSES
// WHOLE_ULYSSES: error: plan 'ring=2,whole_stream=1': whole_stream=1 splits the whole stream's heads inside Ulysses: it needs ulysses above 1
// RUN: not ditc-opt %s -ditc-plan="plan=ulysses=2,ring=2,whole_stream=1" 2>&1 | FileCheck %s --check-prefix=WHOLE_RING
// WHOLE_RING: error: plan 'ulysses=2,ring=2,whole_stream=1': whole_stream=1 keeps a stream whole on every rank, and Ring cuts every stream: use one of them
// RUN: not ditc-opt %s -ditc-plan="plan=ulysses=2,pipefusion=2,whole_stream=1" 2>&1 | FileCheck %s --check-prefix=WHOLE_PF
// WHOLE_PF: error: plan 'ulysses=2,pipefusion=2,whole_stream=1': whole_stream=1 keeps a stream whole on every rank, and PipeFusion's patches cut every stream: use one of them
// RUN: not ditc-opt %s -ditc-plan="plan=ulysses=2,whole_stream=3" 2>&1 | FileCheck %s --check-prefix=WHOLE_VALUE
// WHOLE_VALUE: error: plan 'ulysses=2,whole_stream=3': whole_stream=3 is not 0 or 1
// RUN: not ditc-opt %s -ditc-plan="plan=ulysses=2,whole_stream=1" 2>&1 | FileCheck %s --check-prefix=WHOLE_JOINT
// WHOLE_JOINT: error: plan 'ulysses=2,whole_stream=1': whole_stream=1 keeps one stream of a joint attention whole, and no self-attention joins streams (a concat along its tokens)
// RUN: not ditc-opt %s -ditc-plan="plan=ring=0" 2>&1 | FileCheck %s --check-prefix=DEGREE
// DEGREE: error: plan 'ring=0': 'ring=0' needs a positive integer degree
// RUN: not ditc-opt %s -ditc-plan="plan=ring=2,ring=2" 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: plan 'ring=2,ring=2': 'ring' given twice
// RUN: not ditc-opt %s -ditc-plan="plan=ring=9" 2>&1 | FileCheck %s --check-prefix=TOKENS
// TOKENS: error: plan 'ring=9': sequence parallelism over 9 ranks (ring) leaves ranks without tokens: a self-attention has 8 tokens
// RUN: not ditc-opt %s -ditc-plan="plan=ulysses=5000" 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: error: plan 'ulysses=5000': 'ulysses=5000': degree above 4096
// RUN: not ditc-opt %s -ditc-plan="plan=ring=64,ulysses=64,cfg=2" 2>&1 | FileCheck %s --check-prefix=PRODUCT_HUGE
// PRODUCT_HUGE: error: plan 'ring=64,ulysses=64,cfg=2': the degrees multiply to more than 4096 ranks
// RUN: not ditc-opt %s -ditc-plan="plan=" 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: error: plan '': empty plan
func.func @main(%x: tensor<2x8x16xf32> {ditc.name = "x"}) -> (tensor<2x8x16xf32> {ditc.name = "y"}) {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %wk = ditc.weight "wk" {file = "m.onnx", offset = 1024 : i64} : tensor<16x16xf32>
  %wv = ditc.weight "wv" {file = "m.onnx", offset = 2048 : i64} : tensor<16x16xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 3072 : i64} : tensor<16x16xf32>
  %bo = ditc.weight "bo" {file = "m.onnx", offset = 4096 : i64} : tensor<16xf32>
  %q = ditc.linear %x, %wq : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %k = ditc.linear %x, %wk : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %v = ditc.linear %x, %wv : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %q4 = ditc.reshape %q : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %k4 = ditc.reshape %k : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %v4 = ditc.reshape %v : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %kt = ditc.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %vt = ditc.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %o = ditc.attention %qt, %kt, %vt : (tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x8x8xf32>) -> tensor<2x8x2x8xf32>
  %o3 = ditc.reshape %ot : (tensor<2x8x2x8xf32>) -> tensor<2x8x16xf32>
  %y = ditc.linear %o3, %wo bias %bo : (tensor<2x8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %r = ditc.add %y, %x : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %n = ditc.layer_norm %r {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %n : tensor<2x8x16xf32>
}
