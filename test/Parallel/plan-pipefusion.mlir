// RUN: ditc-opt %s -ditc-plan="plan=cfg=2,pipefusion=2,ulysses=2" | FileCheck %s --check-prefix=PIPEFUSION
// RUN: ditc-opt %s -ditc-plan="plan=pipefusion=2,patches=4" | FileCheck %s --check-prefix=PATCHES
// RUN: ditc-opt %s -ditc-plan="plan=pipefusion=2" -ditc-propagate-sharding -ditc-partition -ditc-pipeline-stages | FileCheck %s --check-prefix=STAGES

// PipeFusion's stages are the outermost axis, like pp's; patches (default:
// the stages) are no mesh axis but a module attribute.
// PIPEFUSION: module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion, "cfg" = 2 : cfg, "ulysses" = 2 : ulysses]>, ditc.patches = 2 : i64, ditc.plan = "pipefusion=2,cfg=2,ulysses=2,patches=2"}
// PATCHES: ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 4 : i64, ditc.plan = "pipefusion=2,patches=4"

// The synchronous schedule: two stages, no micro-batches (the batch of 2
// is not cut), the activation sent once from stage 0 to stage 1, the
// output broadcast; each layer's weights on its stage. Then the stale
// schedule (test/Parallel/pipeline-stale.mlir): each stage once per patch
// of 4 tokens, one message per patch.
// STAGES: ditc.weight "wa" {ditc.stages = array<i64: 0>
// STAGES: ditc.weight "wb" {ditc.stages = array<i64: 1>
// STAGES: ditc.attention {{.*}}ditc.schedule = 0 : i64, ditc.stage = 0 : i64{{.*}} -> tensor<2x2x8x8xf32>
// STAGES: ditc.collective.send {{.*}}axes = ["pipefusion"], ditc.schedule = 0 : i64, ditc.stage = 0 : i64, peer = 1 : i64{{.*}} : tensor<2x8x16xf32>
// STAGES-NOT: ditc.collective.send
// STAGES: ditc.collective.recv {axes = ["pipefusion"], ditc.schedule = 0 : i64, ditc.stage = 1 : i64, peer = 0 : i64
// STAGES: ditc.attention {{.*}}ditc.schedule = 0 : i64, ditc.stage = 1 : i64{{.*}} -> tensor<2x2x8x8xf32>
// STAGES-COUNT-2: ditc.collective.send {{.*}}ditc.schedule = 1 : i64, ditc.stage = 0 : i64, peer = 1 : i64{{.*}} : tensor<2x4x16xf32>
// STAGES-NOT: ditc.collective.send
// STAGES: ditc.collective.broadcast {{.*}}ditc.schedule = 0 : i64, ditc.stage = -1 : i64, root = 1 : i64
// STAGES: ditc.collective.broadcast {{.*}}ditc.schedule = 1 : i64, ditc.stage = -1 : i64, root = 1 : i64
func.func @main(%x: tensor<2x8x16xf32> {ditc.name = "x"}) -> (tensor<2x8x16xf32> {ditc.name = "y"}) {
  %wa = ditc.weight "wa" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %wb = ditc.weight "wb" {file = "m.onnx", offset = 1024 : i64} : tensor<16x16xf32>
  %a = ditc.linear %x, %wa : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %a4 = ditc.reshape %a : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %at = ditc.transpose %a4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %ao = ditc.attention %at, %at, %at : (tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
  %ot = ditc.transpose %ao {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x8x8xf32>) -> tensor<2x8x2x8xf32>
  %o3 = ditc.reshape %ot : (tensor<2x8x2x8xf32>) -> tensor<2x8x16xf32>
  %h = ditc.add %o3, %x : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %b = ditc.linear %h, %wb : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %b4 = ditc.reshape %b : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %bt = ditc.transpose %b4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %bo = ditc.attention %bt, %bt, %bt : (tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
  %pt = ditc.transpose %bo {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x8x8xf32>) -> tensor<2x8x2x8xf32>
  %p3 = ditc.reshape %pt : (tensor<2x8x2x8xf32>) -> tensor<2x8x16xf32>
  %y = ditc.add %p3, %h : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}
