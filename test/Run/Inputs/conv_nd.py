#!/usr/bin/python3
"""One ONNX Conv of 3 or 4 spatial axes (video DiTs' patch embeddings and
more), its random input and weights, and a float64 reference computed here
with numpy (a direct sum over the kernel's offsets, independent of ditc):

    conv_nd.py OUT_DIR VARIANT
    conv_nd.py --compare OUT.npz REF.npz

VARIANT: patch (Wan's (1, 2, 2) patch embedding, stride = kernel, bias),
cube (a 3x3x3 kernel, pads 1, bias), strided (kernel (2, 3, 3), strides
(2, 1, 2), dilations (1, 2, 1), uneven pads), grouped (group 2), tpatch (a
(2, 2, 2) patch, stride = kernel, as CogVideoX 1.5's temporal patches
would be), conv4d (four spatial axes, kernel (2, 1, 3, 3), pads). --compare
prints the relative L2 of y.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VARIANTS = {
    # name: (x shape, out channels, kernel, strides, pads, dilations, group, bias)
    "patch": ((2, 4, 3, 8, 8), 16, (1, 2, 2), (1, 2, 2), (0,) * 6, (1, 1, 1), 1, True),
    "cube": ((1, 3, 5, 6, 7), 8, (3, 3, 3), (1, 1, 1), (1,) * 6, (1, 1, 1), 1, True),
    "strided": ((1, 4, 7, 9, 8), 6, (2, 3, 3), (2, 1, 2), (1, 0, 1, 0, 2, 1), (1, 2, 1), 1, False),
    "grouped": ((2, 4, 4, 5, 5), 6, (3, 1, 3), (1, 1, 1), (1, 0, 1, 1, 0, 1), (1, 1, 1), 2, True),
    "tpatch": ((1, 8, 4, 6, 6), 12, (2, 2, 2), (2, 2, 2), (0,) * 6, (1, 1, 1), 1, True),
    "conv4d": ((1, 2, 3, 4, 5, 5), 4, (2, 1, 3, 3), (1, 2, 1, 1), (1, 0, 1, 1, 0, 0, 1, 1), (1, 1, 1, 1), 1, True),
}


def conv_ref(x, w, b, strides, pads, dil, group):
    """y[n, o, i...] = sum_{c, k...} w[o, c, k...] x[n, g*C/G + c, i*s + k*d - pad]."""
    k = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[j], pads[k + j]) for j in range(k)])
    out = [(xp.shape[2 + j] - dil[j] * (w.shape[2 + j] - 1) - 1) // strides[j] + 1 for j in range(k)]
    cg, og = x.shape[1] // group, w.shape[0] // group
    y = np.zeros((x.shape[0], w.shape[0], *out))
    for off in np.ndindex(*w.shape[2:]):
        window = tuple(slice(off[j] * dil[j], off[j] * dil[j] + strides[j] * (out[j] - 1) + 1, strides[j])
                       for j in range(k))
        for g in range(group):
            xs = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + window]
            ws = w[(slice(g * og, (g + 1) * og), slice(None)) + off]
            y[:, g * og:(g + 1) * og] += np.einsum("nc...,oc->no...", xs, ws)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * k)
    return y


def main():
    if sys.argv[1] == "--compare":
        y = np.load(sys.argv[2])["y"].astype(np.float64)
        ref = np.load(sys.argv[3])["y"]
        if y.shape != ref.shape:
            print("shape %s != %s" % (y.shape, ref.shape))
            return
        print("rel_l2 %.1e" % (np.linalg.norm(y - ref) / np.linalg.norm(ref)))
        return
    out, variant = sys.argv[1], sys.argv[2]
    shape, cout, kernel, strides, pads, dil, group, bias = VARIANTS[variant]
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((cout, shape[1] // group, *kernel)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) if bias else None
    y = conv_ref(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                 strides, pads, dil, group)
    inits = [numpy_helper.from_array(w, "w")] + ([numpy_helper.from_array(b, "b")] if bias else [])
    node = helper.make_node("Conv", ["x", "w"] + (["b"] if bias else []), ["y"], strides=list(strides),
                            pads=list(pads), dilations=list(dil), group=group, kernel_shape=list(kernel))
    graph = helper.make_graph([node], "conv_nd", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y.shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.savez(os.path.join(out, "inputs.npz"), x=x)
    np.savez(os.path.join(out, "ref.npz"), y=y)


if __name__ == "__main__":
    main()
