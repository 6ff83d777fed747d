// RUN: ditc-opt %s -split-input-file -ditc-plan-memory -ditc-lower-to-runtime="target=cuda cuda-arch=80,90a" -verify-diagnostics | FileCheck %s
// RUN: ditc-opt %s -split-input-file -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s --check-prefix=CPU

// One lowering, two kernel tables: --target cuda calls ditc_cu_* (the
// dtype-taking entry points, f32 included: DITC_RT_F32 = 0 in front), the
// CPU target the _f32 ones of the same ops. Tensor constants come from the
// run's sixth argument, the constants table, on both targets (the runtime
// fills it with device copies for cuda); ditc_generated_constants lists
// them. The descriptor says target cuda and the architectures.
// CHECK-LABEL: module
// CHECK: llvm.func @ditc_generated_run(%[[ARENA:.*]]: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %[[CONSTS:.*]]: !llvm.ptr, %{{.*}}: i32) -> i32
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[CONSTS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[BIAS:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @ditc_cu_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %{{.*}}) : (i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i32, i32) -> ()
// CHECK: llvm.call @ditc_cu_unary(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, !llvm.ptr, !llvm.ptr, i64) -> ()
// CHECK: llvm.call @ditc_cu_layer_norm(
// CHECK: llvm.call @ditc_cu_binary(
// CHECK-NOT: ditc_rt_
// CHECK: llvm.func @ditc_generated_constants(%[[PTRS:.*]]: !llvm.ptr, %[[SIZES:.*]]: !llvm.ptr)
// CHECK: %[[G:.*]] = llvm.mlir.addressof @ditc_const_{{[0-9]+}}
// CHECK: llvm.store %[[G]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: %[[N:.*]] = llvm.mlir.constant(256 : i64) : i64
// CHECK: llvm.store %[[N]], %{{.*}} : i64, !llvm.ptr
// CHECK: ditc_generated_json_data("{{.*}}\22constants\22:1,\22cuda_arch\22:[\2280\22,\2290a\22]{{.*}}\22target\22:\22cuda\22
// CPU: llvm.call @ditc_rt_linear_f32(
// CPU: llvm.call @ditc_rt_unary_f32(
// CPU: llvm.call @ditc_rt_layer_norm_f32(
// CPU: ditc_generated_json_data("{{.*}}\22constants\22:1,\22dtype{{.*}}\22target\22:\22cpu\22
func.func @main(%x: tensor<4x64xf32> {ditc.name = "x"}) -> (tensor<4x64xf32> {ditc.name = "y"}) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x64xf32>
  %b = ditc.constant dense<0.5> : tensor<64xf32>
  %a = ditc.linear %x, %w bias %b : (tensor<4x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %g = ditc.gelu %a : tensor<4x64xf32>
  %n = ditc.layer_norm %g {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<4x64xf32>) -> tensor<4x64xf32>
  %s = ditc.add %n, %x : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  return %s : tensor<4x64xf32>
}

// -----

// Collectives on device tensors: ditc_cu_coll_* (staged through host
// memory by the GPU model archive), with the status checked as on the CPU.
// CHECK-LABEL: ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>
// CHECK: %[[ST:.*]] = llvm.call @ditc_cu_coll_all_reduce(
// CHECK: llvm.icmp "ne" %[[ST]]
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>, ditc.plan = "tp=2"} {
  func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %y = ditc.collective.all_reduce %x {axes = ["tp"]} : (tensor<4x8xf32>) -> tensor<4x8xf32>
    return %y : tensor<4x8xf32>
  }
}

// -----

// Ring attention on device tensors: ditc_cu_ring_attention (the K/V
// blocks through host memory, runtime/cuda/ring_attention.cpp) with the
// dtype in front and the status checked; a double ring passes the inner
// rings' communicator, then the outer ring's.
// CHECK-LABEL: ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>
// CHECK: %[[ST:.*]] = llvm.call @ditc_cu_ring_attention(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, {{.*}}) : (!llvm.ptr, i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64, f32, i32, i64, i32) -> i32
// CHECK: llvm.icmp "ne" %[[ST]]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>, ditc.plan = "ring=2"} {
  func.func @main(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
    %o = ditc.ring_attention %q, %q, %q {axes = ["ring"], kv_valid = 4 : i64} : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
    return %o : tensor<1x1x4x8xf32>
  }
}

// -----

// CHECK-LABEL: ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>
// CHECK: %[[ST:.*]] = llvm.call @ditc_cu_double_ring_attention(%{{.*}}, %{{.*}}, %{{.*}}, {{.*}}) : (!llvm.ptr, !llvm.ptr, i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64, f32, i32, i64, i32) -> i32
// CHECK: llvm.icmp "ne" %[[ST]]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>, ditc.plan = "ring=2,ring_inner=2"} {
  func.func @main(%q: tensor<1x1x4x8xbf16>) -> tensor<1x1x4x8xbf16> {
    %o = ditc.ring_attention %q, %q, %q {axes = ["ring", "ring_inner"], inner = ["ring_inner"], kv_valid = 0 : i64} : (tensor<1x1x4x8xbf16>, tensor<1x1x4x8xbf16>, tensor<1x1x4x8xbf16>) -> tensor<1x1x4x8xbf16>
    return %o : tensor<1x1x4x8xbf16>
  }
}
