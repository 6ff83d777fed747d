// RUN: ditc-opt %s -ditc-plan="plan=ulysses=2,tp=2 devices=4" | FileCheck %s
// RUN: ditc-opt %s -ditc-plan="plan=cfg=2,ring=2" | FileCheck %s --check-prefix=CFG
// RUN: ditc-opt %s -ditc-plan="plan=tp=2,pp=2" | FileCheck %s --check-prefix=PP

// The mesh keeps axes of degree > 1 in the order pp, dp, cfg, ring, ulysses, tp;
// seeds: every self-attention's Q/K/V tokens (sequence axes), the heads of
// the query, and the hidden units between a column- and a row-parallel
// linear layer (tp).
// CHECK: module attributes {ditc.mesh = {axes = ["ulysses", "tp"], shape = array<i64: 2, 2>}, ditc.plan = "ulysses=2,tp=2"}
// CHECK-LABEL: func.func @main
// CHECK: %[[Q:.*]] = ditc.transpose {{.*}}ditc.sharding = {{\[\[\[\], \["tp"\], \["ulysses"\], \[\]\]\]}}
// CHECK: ditc.transpose {{.*}}ditc.sharding = {{\[\[\[\], \[\], \["ulysses"\], \[\]\]\]}}
// CHECK: ditc.transpose {{.*}}ditc.sharding = {{\[\[\[\], \[\], \["ulysses"\], \[\]\]\]}}
// CHECK: ditc.attention %[[Q]]
// CHECK-NOT: ditc.sharding
// CHECK: return

// Pipeline stages are the outermost axis; pp seeds nothing
// (-ditc-pipeline-stages cuts the partitioned program).
// PP: ditc.mesh = {axes = ["pp", "tp"], shape = array<i64: 2, 2>}, ditc.plan = "pp=2,tp=2"

// The batch of the first output (cfg), ring before ulysses on the tokens.
// CFG: ditc.mesh = {axes = ["cfg", "ring"], shape = array<i64: 2, 2>}, ditc.plan = "cfg=2,ring=2"
// CFG: ditc.transpose {{.*}}ditc.sharding = {{\[\[\[\], \[\], \["ring"\], \[\]\]\]}}
// CFG: ditc.layer_norm {{.*}}ditc.sharding = {{\[\[\["cfg"\], \[\], \[\]\]\]}}
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
