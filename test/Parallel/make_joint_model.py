#!/usr/bin/python3
"""Writes a small joint-attention (MMDiT-style) ONNX model with random
weights, its inputs and reference outputs (onnx's ReferenceEvaluator, no
ditc code), as a fixture directory for check_parallel.py and
check_fixtures_run.py:

    make_joint_model.py OUT_DIR

OUT_DIR/joint_tokens/{model.onnx, inputs.npz, outputs.npz}, and
OUT_DIR/joint_causal/ the same graph with causal attention (whose keys'
order matters: the streams stay joined whole). An image
stream of 5 tokens and a text stream of 3 (uneven over 2, 3 and 4 ranks)
are projected, joined along the token axis, scaled per joined token by a
constant table (which the partition lays out blockwise), attended over all
keys (ONNX Attention, opset 23) and cut back into the streams with a Split
(image) and a Slice (text). A ReduceMean over the joined tokens needs them
whole (the partition gathers and reorders them).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

IMG, TXT, DIM, HEADS = 5, 3, 8, 2
HD = DIM // HEADS


def write(out, causal):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    inits = []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    nodes = []

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    const("heads_shape_img", np.array([1, IMG, HEADS, HD], np.int64))
    const("heads_shape_txt", np.array([1, TXT, HEADS, HD], np.int64))
    const("joined_shape", np.array([1, IMG + TXT, DIM], np.int64))
    const("slice_start", np.array([IMG], np.int64))
    const("slice_end", np.array([IMG + TXT], np.int64))
    const("slice_axis", np.array([1], np.int64))
    const("split_sizes", np.array([IMG, TXT], np.int64))
    const("token_scale", rng.uniform(0.5, 1.5, (1, 1, IMG + TXT, 1)).astype(np.float32))
    joined = {}
    for p in ("q", "k", "v"):
        parts = []
        for s, n in (("img", IMG), ("txt", TXT)):
            w = const(f"w{p}_{s}", rng.standard_normal((DIM, DIM)).astype(np.float32) * 0.4)
            x = node("MatMul", [s, w], [f"{p}_{s}_lin"])
            x = node("Reshape", [x, f"heads_shape_{s}"], [f"{p}_{s}_heads"])
            parts.append(node("Transpose", [x], [f"{p}_{s}_t"], perm=[0, 2, 1, 3]))
        joined[p] = node("Concat", parts, [f"{p}_joined"], axis=2)
    q = node("Mul", [joined["q"], "token_scale"], ["q_scaled"])
    o = node("Attention", [q, joined["k"], joined["v"]], ["attn"], is_causal=int(causal))
    o = node("Transpose", [o], ["attn_t"], perm=[0, 2, 1, 3])
    o = node("Reshape", [o, "joined_shape"], ["attn_joined"])
    mean = node("ReduceMean", [o, "slice_axis"], ["token_mean"], keepdims=1)
    img = node("Split", [o, "split_sizes"], ["img_part", "txt_unused"], axis=1)
    txt = node("Slice", [o, "slice_start", "slice_end", "slice_axis"], ["txt_part"])
    wo = const("wo", rng.standard_normal((DIM, DIM)).astype(np.float32) * 0.4)
    node("Add", [img, mean], ["image_out"])
    node("MatMul", [txt, wo], ["text_out"])

    graph = helper.make_graph(
        nodes, "joint_tokens",
        [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, IMG, DIM]),
         helper.make_tensor_value_info("txt", TensorProto.FLOAT, [1, TXT, DIM])],
        [helper.make_tensor_value_info("image_out", TensorProto.FLOAT, [1, IMG, DIM]),
         helper.make_tensor_value_info("text_out", TensorProto.FLOAT, [1, TXT, DIM])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    feeds = {"img": rng.standard_normal((1, IMG, DIM)).astype(np.float32),
             "txt": rng.standard_normal((1, TXT, DIM)).astype(np.float32)}
    np.savez(os.path.join(out, "inputs.npz"), **feeds)
    image_out, text_out = ReferenceEvaluator(model).run(None, feeds)
    np.savez(os.path.join(out, "outputs.npz"), image_out=image_out, text_out=text_out)
    print(f"wrote {out}")


def main():
    write(os.path.join(sys.argv[1], "joint_tokens"), False)
    write(os.path.join(sys.argv[1], "joint_causal"), True)


if __name__ == "__main__":
    main()
