#!/usr/bin/python3
"""An attention written out in ONNX ops as torch's dynamo exporter writes
one whose causal mask it folded into a constant (q and k^T each scaled by
d^-1/4, MatMul, Add of the mask initializer, Softmax, MatMul), with the mask in one of several variants, its inputs
and a float64 reference computed here (numpy):

    causal_mask.py OUT_DIR VARIANT [--seq 16]
    causal_mask.py --compare OUT.npz REF.npz

VARIANT: min (0 on and below the diagonal, float32's lowest above: what
torch.finfo(dtype).min gives), inf (-inf above), near (min, with one
element below the diagonal -1), soft (-1e4 above), mixed (min above, one
element of it -inf); eager: min, added after the scaled scores as eager
attention code writes it, (q k^T) * d^-1/2 + mask; outer: a random bias
inside the scale, (q k^T + bias) * d^-1/2; onnx: min, as the attn_mask of
an ONNX Attention node (opset 23); external: min, in an external data
file (as large models are saved); bool: a boolean mask (true on and below
the diagonal), made additive by Where(mask, 0, -inf) as the dynamo exporter
writes a folded `arange <= arange`; boolnear: the same with one element
above the diagonal true. --compare prints the relative
L2 of y.
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mask_of(variant, s):
    if variant in ("bool", "boolnear"):
        m = np.tril(np.ones((s, s), bool))
        if variant == "boolnear":
            m[1, s - 1] = True
        return m.reshape(1, 1, s, s)
    above = np.triu(np.ones((s, s), bool), 1)
    low = np.finfo(np.float32).min
    if variant == "outer":
        return np.random.default_rng(6).standard_normal((1, 1, s, s)).astype(np.float32)
    fill = {"min": low, "inf": -np.inf, "near": low, "soft": -1e4, "mixed": low,
            "eager": low, "onnx": low, "external": low}[variant]
    m = np.where(above, np.float32(fill), np.float32(0)).astype(np.float32)
    if variant == "near":
        m[s - 1, 1] = -1.0
    if variant == "mixed":
        m[1, s - 1] = -np.inf
    return m.reshape(1, 1, s, s)


def main():
    if sys.argv[1] == "--compare":
        y = np.load(sys.argv[2])["y"].astype(np.float64)
        ref = np.load(sys.argv[3])["y"]
        print("rel_l2 %.1e" % (np.linalg.norm(y - ref) / np.linalg.norm(ref)))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("variant", choices=["min", "inf", "near", "soft", "mixed", "eager", "outer", "onnx", "external", "bool",
                                            "boolnear"])
    ap.add_argument("--seq", type=int, default=16)
    a = ap.parse_args()
    s, h, d = a.seq, 2, 8
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((1, h, s, d)).astype(np.float32) for _ in range(3))
    mask = mask_of(a.variant, s)
    scale = d ** -0.5 if a.variant in ("eager", "outer") else d ** -0.25
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2])]
    if a.variant == "onnx":
        nodes = [helper.make_node("Attention", ["q", "k", "v", "mask"], ["y"])]
    elif a.variant == "eager":
        nodes += [helper.make_node("MatMul", ["q", "kt"], ["qk"]),
                  helper.make_node("Mul", ["qk", "scale"], ["scaled"]),
                  helper.make_node("Add", ["scaled", "mask"], ["masked"])]
    elif a.variant == "outer":
        nodes += [helper.make_node("MatMul", ["q", "kt"], ["qk"]),
                  helper.make_node("Add", ["qk", "mask"], ["biased"]),
                  helper.make_node("Mul", ["biased", "scale"], ["masked"])]
    elif a.variant in ("bool", "boolnear"):
        nodes += [helper.make_node("Mul", ["q", "scale"], ["qs"]),
                  helper.make_node("Mul", ["kt", "scale"], ["kts"]),
                  helper.make_node("MatMul", ["qs", "kts"], ["scaled"]),
                  helper.make_node("Where", ["mask", "zero", "ninf"], ["additive"]),
                  helper.make_node("Add", ["scaled", "additive"], ["masked"])]
    else:
        nodes += [helper.make_node("Mul", ["q", "scale"], ["qs"]),
                  helper.make_node("Mul", ["kt", "scale"], ["kts"]),
                  helper.make_node("MatMul", ["qs", "kts"], ["scaled"]),
                  helper.make_node("Add", ["scaled", "mask"], ["masked"])]
    if a.variant != "onnx":
        nodes += [helper.make_node("Softmax", ["masked"], ["p"], axis=-1),
                  helper.make_node("MatMul", ["p", "v"], ["y"])]
    inits = [numpy_helper.from_array(mask, "mask"),
             numpy_helper.from_array(np.array(scale, np.float32), "scale"),
             numpy_helper.from_array(np.array(0, np.float32), "zero"),
             numpy_helper.from_array(np.array(-np.inf, np.float32), "ninf")]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, h, s, d]) for n in "qkv"]
    graph = helper.make_graph(nodes, "causal_mask", io,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, h, s, d])],
                              inits)
    opset = 23 if a.variant == "onnx" else 18
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    os.makedirs(a.out, exist_ok=True)
    onnx.save(model, os.path.join(a.out, "model.onnx"),
              save_as_external_data=a.variant == "external", location="model.onnx.data",
              size_threshold=0)
    np.savez(os.path.join(a.out, "inputs.npz"), q=q, k=k, v=v)
    # The reference, in float64, with the mask as given.
    scores = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2)
    if a.variant == "outer":
        scores = (scores + mask.astype(np.float64)) / math.sqrt(d)
    elif mask.dtype == bool:
        scores = scores / math.sqrt(d) + np.where(mask, 0.0, -np.inf)
    else:
        scores = scores / math.sqrt(d) + mask.astype(np.float64)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.savez(os.path.join(a.out, "ref.npz"), y=p @ v.astype(np.float64))


if __name__ == "__main__":
    main()
