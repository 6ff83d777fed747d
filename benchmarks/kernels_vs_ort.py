#!/usr/bin/env python3
"""ditc runtime kernels vs ONNX Runtime, one op at a time, same process.

    /opt/ditc-export-venv/bin/python benchmarks/kernels_vs_ort.py \
        --lib build/lib/libditc_runtime.so --threads 2 --runs 9

Each case builds a one-node ONNX model for ONNX Runtime (CPU provider,
intra_op_num_threads = --threads) and calls the matching ditc_rt_* kernel
through ctypes with the same thread count. Per case, ditc runs --runs times,
then ONNX Runtime does, each after a warm-up and a pause (both thread pools
spin for a while after work; interleaving calls would make each pay for the
other's spinning). The table gives the minimum and the median wall time and
checks that the outputs agree (relative L2). Nothing here is a test.
Needs numpy, onnx and onnxruntime (the export venv has them).
"""
import argparse
import ctypes
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

F32P = ctypes.POINTER(ctypes.c_float)
I64 = ctypes.c_int64
I32 = ctypes.c_int32


def ptr(a):
    return a.ctypes.data_as(F32P)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10 if opset >= 21 else 8
    return m


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def init(name, a):
    return helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.flatten())


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", default="build/lib/libditc_runtime.so")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--filter", default="")
    args = ap.parse_args()

    rt = ctypes.CDLL(args.lib)
    rt.ditc_rt_set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    def rand(*shape):
        return (rng.random(shape, dtype=np.float32) - 0.5).astype(np.float32)

    def session(m):
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(m.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])

    cases = []

    # Linear / Gemm with the weight as an initializer ([n, k], transB).
    M, K, N = 4096, 1152, 1152
    x, w, b = rand(M, K), rand(N, K), rand(N)
    y = np.empty((M, N), np.float32)
    cases.append((
        f"linear {M}x{K}x{N} (Gemm transB)", 2.0 * M * K * N, "GFLOP/s",
        model([helper.make_node("Gemm", ["X", "W", "B"], ["Y"], transB=1)],
              [vi("X", [M, K])], [vi("Y", [M, N])], [init("W", w), init("B", b)]),
        {"X": x},
        lambda: rt.ditc_rt_linear_f32(ptr(x), ptr(w), ptr(b), ptr(y), I64(M),
                                      I64(K), I64(N), I32(1), I32(-1)),
        y))

    # Attention (opset 23), [1, H, S, D].
    for H, S, D, causal in ((16, 1024, 72, 0), (16, 1024, 72, 1),
                            (16, 4096, 72, 0)):
        q, k, v = rand(1, H, S, D), rand(1, H, S, D), rand(1, H, S, D)
        o = np.empty((1, H, S, D), np.float32)
        scale = 1.0 / np.sqrt(D)

        def run(q=q, k=k, v=v, o=o, H=H, S=S, D=D, causal=causal, scale=scale):
            rt.ditc_rt_attention_f32(ptr(q), ptr(k), ptr(v), None, I32(0), None,
                                     ptr(o), I64(1), I64(H), I64(H), I64(S),
                                     I64(S), I64(D), I64(D),
                                     ctypes.c_float(scale), I32(causal))
        cases.append((
            f"attention H{H} S{S} D{D}{' causal' if causal else ''}",
            4.0 * H * S * S * D * (0.5 if causal else 1.0), "GFLOP/s",
            model([helper.make_node("Attention", ["Q", "K", "V"], ["Y"],
                                    is_causal=causal)],
                  [vi(n, [1, H, S, D]) for n in "QKV"], [vi("Y", [1, H, S, D])],
                  opset=23),
            {"Q": q, "K": k, "V": v}, run, o))

    # LayerNormalization over the last axis.
    R, C = 4096, 1152
    xl, s, bb = rand(R, C), rand(C), rand(C)
    yl = np.empty((R, C), np.float32)
    cases.append((
        f"layer_norm {R}x{C}", 2.0 * R * C * 4, "GB/s",
        model([helper.make_node("LayerNormalization", ["X", "S", "B"], ["Y"],
                                axis=-1, epsilon=1e-6)],
              [vi("X", [R, C])], [vi("Y", [R, C])], [init("S", s), init("B", bb)]),
        {"X": xl},
        lambda: rt.ditc_rt_layer_norm_f32(ptr(xl), ptr(s), ptr(bb), ptr(yl),
                                          I64(R), I64(C), ctypes.c_float(1e-6)),
        yl))

    # Head split: [1, S, H, D] -> [1, H, S, D].
    S, H, D = 4096, 16, 72
    xt = rand(1, S, H, D)
    yt = np.empty((1, H, S, D), np.float32)
    shape = (I64 * 3)(H, S, D)
    src = (I64 * 3)(D, H * D, 1)
    dst = (I64 * 3)(S * D, D, 1)
    cases.append((
        f"transpose [1,{S},{H},{D}] -> [1,{H},{S},{D}]", 2.0 * xt.size * 4, "GB/s",
        model([helper.make_node("Transpose", ["X"], ["Y"], perm=[0, 2, 1, 3])],
              [vi("X", [1, S, H, D])], [vi("Y", [1, H, S, D])]),
        {"X": xt},
        lambda: rt.ditc_rt_strided_copy(I64(4), xt.ctypes.data_as(ctypes.c_void_p),
                                        I64(0), src, yt.ctypes.data_as(ctypes.c_void_p),
                                        dst, shape, I32(3)),
        yt))

    # GELU (opset 20), tanh approximation.
    n = 4096 * 4608
    xg = rand(n) * 8
    yg = np.empty(n, np.float32)
    cases.append((
        f"gelu_tanh {n}", 2.0 * n * 4, "GB/s",
        model([helper.make_node("Gelu", ["X"], ["Y"], approximate="tanh")],
              [vi("X", [n])], [vi("Y", [n])], opset=20),
        {"X": xg},
        lambda: rt.ditc_rt_unary_f32(I32(11), ptr(xg), ptr(yg), I64(n)), yg))

    print(f"threads {args.threads}, {args.runs} runs each (after a warm-up); "
          "wall time min / median")
    print(f"{'case':44s} {'ditc min':>10s} {'ditc med':>10s} {'ORT min':>10s} "
          f"{'ORT med':>10s} {'ditc rate':>12s} {'speedup':>8s} {'rel L2':>8s}")
    for name, work, unit, m, feeds, run, out in cases:
        if args.filter and args.filter not in name:
            continue
        sess = session(m)
        ref = sess.run(None, feeds)[0]
        time.sleep(0.2)
        run()
        td, to = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            run()
            td.append(time.perf_counter() - t)
        time.sleep(0.2)
        sess.run(None, feeds)
        for _ in range(args.runs):
            t = time.perf_counter()
            sess.run(None, feeds)
            to.append(time.perf_counter() - t)
        err = rel_l2(out.reshape(ref.shape), ref)
        dmin, omin = min(td), min(to)
        print(f"{name:44s} {dmin*1e3:8.2f}ms {statistics.median(td)*1e3:8.2f}ms "
              f"{omin*1e3:8.2f}ms {statistics.median(to)*1e3:8.2f}ms "
              f"{work/dmin*1e-9:7.1f} {unit:5s}{omin/dmin:7.2f}x {err:8.1e}")


if __name__ == "__main__":
    main()
