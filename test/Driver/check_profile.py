#!/usr/bin/python3
"""Checks a `ditc profile --format json` report against an independent count
made here from the ONNX file with the onnx package (no ditc code):

  - param_elements and param_bytes equal the sum over every initializer;
  - flops.matrix is within 0.5% of 2*M*N*K summed over every MatMul, Gemm
    and Conv of the source graph (shapes from ONNX shape inference);
  - the per-op list adds up to the totals, per-layer sums add up to the
    predicted time, and the memory curve peaks at most at the arena size.

  check_profile.py REPORT.json MODEL.onnx [--tolerance 0.005]
"""

import argparse
import json
import math
import os
import sys

import onnx
from onnx import numpy_helper, shape_inference  # noqa: F401


def dims_of(vi):
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        if not d.HasField("dim_value"):
            return None
        out.append(d.dim_value)
    return out


def shapes_by_running(model, inputs_npz):
    """Every intermediate shape, from running the graph with the onnx
    reference evaluator on the fixture's inputs (for graphs whose Reshape
    chains defeat static shape inference)."""
    import numpy as np
    from onnx.reference import ReferenceEvaluator
    m = onnx.ModelProto()
    m.CopyFrom(model)
    names = [o for n in m.graph.node for o in n.output if o]
    del m.graph.output[:]
    m.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names)
    feeds = dict(np.load(inputs_npz))
    values = ReferenceEvaluator(m).run(None, feeds)
    return {n: list(np.shape(v)) for n, v in zip(names, values)}


def source_matrix_flops(model, inputs_npz=None):
    inferred = shape_inference.infer_shapes(model, data_prop=True)
    g = inferred.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        d = dims_of(vi)
        if d is not None:
            shapes[vi.name] = d
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
    matrix = [n for n in g.node if n.op_type in ("MatMul", "Gemm", "Conv")]
    if inputs_npz and any(n.output[0] not in shapes or n.input[0] not in shapes
                          for n in matrix):
        shapes.update(shapes_by_running(model, inputs_npz))
    total = 0
    missing = []
    for node in g.node:
        if node.op_type not in ("MatMul", "Gemm", "Conv"):
            continue
        out = shapes.get(node.output[0])
        a = shapes.get(node.input[0])
        b = shapes.get(node.input[1])
        if out is None or a is None or b is None:
            missing.append(node.name or node.output[0])
            continue
        if node.op_type == "MatMul":
            k = a[-1]
            total += 2 * math.prod(out) * k
        elif node.op_type == "Gemm":
            trans_a = next((x.i for x in node.attribute if x.name == "transA"), 0)
            k = a[0] if trans_a else a[1]
            total += 2 * math.prod(out) * k
        else:  # Conv: weight [M, C/group, k...]
            total += 2 * math.prod(out) * math.prod(b[1:])
    return total, missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("model")
    ap.add_argument("--tolerance", type=float, default=0.005)
    ap.add_argument("--hw")
    ap.add_argument("--dtype")
    args = ap.parse_args()
    r = json.load(open(args.report))
    model = onnx.load(args.model, load_external_data=False)
    failures = []

    for key in ("param_elements", "param_bytes", "flops", "activation_peak_bytes",
                "predicted_time_s", "ops", "layers", "memory_curve"):
        if key not in r:
            failures.append(f"missing key {key}")
    if args.hw and r.get("hardware") != args.hw:
        failures.append(f"hardware {r.get('hardware')} != {args.hw}")
    if args.dtype and r.get("dtype") != args.dtype:
        failures.append(f"dtype {r.get('dtype')} != {args.dtype}")

    elems = sum(math.prod(t.dims) for t in model.graph.initializer)
    size = {onnx.TensorProto.FLOAT: 4, onnx.TensorProto.DOUBLE: 8,
            onnx.TensorProto.FLOAT16: 2, onnx.TensorProto.BFLOAT16: 2,
            onnx.TensorProto.INT64: 8, onnx.TensorProto.INT32: 4,
            onnx.TensorProto.INT8: 1, onnx.TensorProto.UINT8: 1,
            onnx.TensorProto.BOOL: 1, onnx.TensorProto.INT16: 2}
    nbytes = sum(math.prod(t.dims) * size[t.data_type] for t in model.graph.initializer)
    if r["param_elements"] != elems:
        failures.append(f"param_elements {r['param_elements']} != initializers {elems}")
    if r["param_bytes"] != nbytes:
        failures.append(f"param_bytes {r['param_bytes']} != initializers {nbytes}")

    npz = os.path.join(os.path.dirname(args.model), "inputs.npz")
    ref, missing = source_matrix_flops(model, npz if os.path.exists(npz) else None)
    if missing:
        failures.append(f"no inferred shapes for {len(missing)} matrix nodes, e.g. {missing[:3]}")
    got = r["flops"]["matrix"]
    rel = abs(got - ref) / max(ref, 1)
    if rel > args.tolerance:
        failures.append(f"flops.matrix {got} vs source count {ref}: {rel:.4%} apart")

    ops = r["ops"]
    for key, total in (("flops_matrix", r["flops"]["matrix"]),
                       ("flops_other", r["flops"]["other"])):
        if sum(o[key] for o in ops) != total:
            failures.append(f"ops' {key} do not add up to the total")
    t_ops = sum(o["predicted_time_s"] for o in ops)
    t_layers = sum(l["predicted_time_s"] for l in r["layers"])
    if not math.isclose(t_ops, r["predicted_time_s"], rel_tol=1e-9) or \
       not math.isclose(t_layers, r["predicted_time_s"], rel_tol=1e-9):
        failures.append("per-op / per-layer times do not add up to predicted_time_s")
    if max(r["memory_curve"], default=0) > r["activation_peak_bytes"]:
        failures.append("memory curve exceeds the arena")

    name = args.model
    if failures:
        for f in failures:
            print(f"FAIL {name}: {f}")
        sys.exit(1)
    print(f"ok {name}: params {elems}, flops.matrix {got} vs {ref} "
          f"({rel:.4%}), arena {r['activation_peak_bytes']}")


if __name__ == "__main__":
    main()
