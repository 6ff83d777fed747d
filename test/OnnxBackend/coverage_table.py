#!/usr/bin/python3
"""Counts of the selected ONNX node tests per op category, for
docs/ONNX_COVERAGE.md: reads the output of run_node_tests_compiled.py (its
FAIL lines) and prints a markdown table of passed / selected per category
and test set.

  /usr/bin/python3 test/OnnxBackend/run_node_tests_compiled.py ... > log
  /usr/bin/python3 test/OnnxBackend/coverage_table.py log \\
      /usr/share/libonnx-testdata/data/node build/onnx-node-tests/node

A test counts under the category of its first op found in CATEGORIES (in
the order below); an `_expanded` test counts with the op it expands.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_node_tests as rnt  # noqa: E402

CATEGORIES = [
    ("attention and normalization", [
        "Attention", "RotaryEmbedding", "LayerNormalization",
        "RMSNormalization", "GroupNormalization", "BatchNormalization",
        "InstanceNormalization", "MeanVarianceNormalization",
        "LpNormalization", "LRN", "Softmax", "LogSoftmax", "Hardmax"]),
    ("matrix products and convolution", [
        "MatMul", "Gemm", "Einsum", "Conv", "ConvTranspose", "Col2Im"]),
    ("pooling", [
        "MaxPool", "AveragePool", "LpPool", "GlobalMaxPool",
        "GlobalAveragePool", "GlobalLpPool", "MaxUnpool"]),
    ("reductions and scans", [
        "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
        "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
        "ReduceSumSquare", "ArgMax", "ArgMin", "CumSum", "TopK", "Det"]),
    ("indexing and scatter", [
        "Gather", "GatherElements", "GatherND", "ScatterElements",
        "ScatterND", "OneHot", "NonZero", "Trilu", "Where"]),
    ("resampling", ["Resize", "GridSample", "AffineGrid"]),
    ("data movement and shapes", [
        "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze",
        "Unsqueeze", "Expand", "Tile", "Flatten", "Pad", "CenterCropPad",
        "DepthToSpace", "SpaceToDepth", "Shape", "Size", "ConstantOfShape",
        "Range", "EyeLike", "Identity", "Constant"]),
    ("casts", ["Cast", "CastLike"]),
    ("activations", [
        "Relu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Elu", "Selu",
        "Celu", "LeakyRelu", "PRelu", "ThresholdedRelu", "Shrink",
        "Softsign", "Softplus", "Mish", "Tanh", "Clip", "Dropout"]),
    ("comparison, logic and bitwise", [
        "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And",
        "Or", "Xor", "Not", "IsNaN", "IsInf", "BitwiseAnd", "BitwiseOr",
        "BitwiseXor", "BitwiseNot", "BitShift"]),
    ("elementwise arithmetic and math", [
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean",
        "Neg", "Abs", "Sign", "Sqrt", "Reciprocal", "Exp", "Log", "Erf",
        "Floor", "Ceil", "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
        "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"]),
]


def category(ops):
    for name, members in CATEGORIES:
        for op in ops:
            if op in members:
                return name
    return "other"


def failures(log):
    """{directory: set of failing test names} from the runner's output."""
    out, current = {}, None
    for line in open(log):
        m = re.match(r"== (.*)$", line)
        if m:
            current = os.path.normpath(m.group(1))
            out[current] = set()
            continue
        m = re.match(r"(?:FAIL|XFAIL) (\S+?):", line)
        if m and current:
            out[current].add(m.group(1))
    return out


def main():
    log, dirs = sys.argv[1], sys.argv[2:]
    failed = failures(log)
    selected = rnt.load_selection(rnt.SELECTED)
    columns = []
    rows = {}
    for root in dirs:
        root = os.path.normpath(root)
        columns.append(root)
        chosen, _ = rnt.selected_tests(root, selected)
        for test in chosen:
            name = test.name
            ops = [op for _, op in rnt.op_types(test.model.graph)]
            # An _expanded test is filed under the op it expands.
            base = name[:-len("_expanded")] if name.endswith("_expanded") \
                else name
            if base != name and os.path.exists(os.path.join(root, base)):
                ops = [op for _, op in rnt.op_types(
                    rnt.NodeTest(os.path.join(root, base)).model.graph)]
            cat = category(ops)
            if cat == "other" and base != name:
                # Window functions and NLL loss are left out as ops, but
                # their expanded bodies use only selected ops.
                cat = "expanded bodies of left-out ops"
            cell = rows.setdefault(cat, {}).setdefault(root, [0, 0])
            cell[1] += 1
            cell[0] += name not in failed.get(root, set())
    print("| category | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    totals = {c: [0, 0] for c in columns}
    for cat in [c for c, _ in CATEGORIES] + [
            "expanded bodies of left-out ops", "other"]:
        if cat not in rows:
            continue
        cells = []
        for c in columns:
            p, n = rows[cat].get(c, [0, 0])
            totals[c][0] += p
            totals[c][1] += n
            cells.append(f"{p} / {n}")
        print(f"| {cat} | " + " | ".join(cells) + " |")
    print("| **all** | " + " | ".join(
        f"**{totals[c][0]} / {totals[c][1]}**" for c in columns) + " |")


if __name__ == "__main__":
    main()
