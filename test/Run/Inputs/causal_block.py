#!/usr/bin/python3
"""Writes a causal self-attention block as an ONNX model with its inputs and a
reference output computed here in float64 (numpy), for AutoChunk's causal
query rows (test/Run/chunk-causal.test):

    causal_block.py OUT_DIR [--seq 256] [--embed 32] [--heads 1]

x [1, S, E] -> Q, K, V projections -> heads [1, H, S, E/H] -> ONNX
Attention (opset 23, is_causal=1) -> back to [1, S, E] -> output
projection + x -> a GELU MLP (4E) + residual. Writes OUT_DIR/model.onnx,
inputs.npz (x) and outputs.npz (y). One head by default, so that the
attention's query rows are the only dimension besides the batch of one
that a chunk loop can cut there.
"""

import argparse
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--heads", type=int, default=1)
    a = ap.parse_args()
    s, e, h = a.seq, a.embed, a.heads
    d = e // h
    rng = np.random.default_rng(11)
    w = {n: (rng.standard_normal(shape) / math.sqrt(shape[0])).astype(np.float32)
         for n, shape in [("wq", (e, e)), ("wk", (e, e)), ("wv", (e, e)), ("wo", (e, e)),
                          ("w1", (e, 4 * e)), ("w2", (4 * e, e))]}
    x = rng.standard_normal((1, s, e)).astype(np.float32)

    nodes = []
    for n in ("q", "k", "v"):
        nodes += [
            helper.make_node("MatMul", ["x", "w" + n], [n + "_p"]),
            helper.make_node("Reshape", [n + "_p", "heads_shape"], [n + "_r"]),
            helper.make_node("Transpose", [n + "_r"], [n + "_h"], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        helper.make_node("Attention", ["q_h", "k_h", "v_h"], ["att"], is_causal=1),
        helper.make_node("Transpose", ["att"], ["att_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["att_t", "embed_shape"], ["att_e"]),
        helper.make_node("MatMul", ["att_e", "wo"], ["o"]),
        helper.make_node("Add", ["o", "x"], ["r1"]),
        helper.make_node("MatMul", ["r1", "w1"], ["m1"]),
        helper.make_node("Gelu", ["m1"], ["g"]),
        helper.make_node("MatMul", ["g", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "r1"], ["y"]),
    ]
    inits = [numpy_helper.from_array(v, n) for n, v in w.items()]
    inits += [numpy_helper.from_array(np.array([1, s, h, d], np.int64), "heads_shape"),
              numpy_helper.from_array(np.array([1, s, e], np.int64), "embed_shape")]
    graph = helper.make_graph(
        nodes, "causal_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, s, e])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, s, e])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    onnx.checker.check_model(model)
    os.makedirs(a.out, exist_ok=True)
    onnx.save(model, os.path.join(a.out, "model.onnx"))

    # The reference, in float64.
    xd = x.astype(np.float64)
    wd = {n: v.astype(np.float64) for n, v in w.items()}
    def heads(t):
        return t.reshape(1, s, h, d).transpose(0, 2, 1, 3)
    q, k, v = (heads(xd @ wd[n]) for n in ("wq", "wk", "wv"))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    scores = np.where(np.tril(np.ones((s, s), bool)), scores, -np.inf)
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    att = (p @ v).transpose(0, 2, 1, 3).reshape(1, s, e)
    r1 = att @ wd["wo"] + xd
    y = gelu(r1 @ wd["w1"]) @ wd["w2"] + r1
    np.savez(os.path.join(a.out, "inputs.npz"), x=x)
    np.savez(os.path.join(a.out, "outputs.npz"), y=y.astype(np.float32))


if __name__ == "__main__":
    main()
