#!/usr/bin/python3
"""Writes the list of ONNX backend node tests that ditc must handle.

The rule (issue: "the whole ONNX operator set that transformer and diffusion
exports use"): every node test whose nodes are all in the default domain,
except tests that use an op of the categories below, and tests with a tensor
of an excluded element type (graph inputs, outputs, initializers, value_info,
Constant values and Cast/CastLike targets), and tests whose graph inputs or
outputs are sequences or optionals (Identity passes them through). The opset range (13..23) is not
part of the list: the runners check it per test directory and count tests
outside it as refused. `_expanded` tests (an op written as its function body)
are selected by the same rule.

The list is committed (node_tests_selected.txt) and the runners select by it,
so an op that ditc lacks shows as a failure instead of being left out.
Regenerate after changing the rule or the test data:

  /usr/bin/python3 test/OnnxBackend/select_node_tests.py \\
      /usr/share/libonnx-testdata/data/node build/onnx-node-tests/node \\
      -o test/OnnxBackend/node_tests_selected.txt
"""

import argparse
import os
import sys

from onnx import TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_node_tests as rnt  # noqa: E402

# Op categories outside what a transformer / diffusion inference compiler
# must handle, each with the reason printed in the list's header.
EXCLUDED_OPS = {
    "strings and text": [
        "StringNormalizer", "StringConcat", "StringSplit", "RegexFullMatch",
        "TfIdfVectorizer"],
    "sequences and optionals": [
        "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase",
        "SequenceInsert", "SequenceLength", "SequenceMap", "SplitToSequence",
        "ConcatFromSequence", "Optional", "OptionalGetElement",
        "OptionalHasElement"],
    "control flow": ["If", "Loop", "Scan"],
    "training losses and optimizers": [
        "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss", "Adam",
        "Adagrad", "Momentum", "Gradient"],
    "recurrent layers": ["RNN", "GRU", "LSTM"],
    "random generators": [
        "RandomNormal", "RandomUniform", "RandomNormalLike",
        "RandomUniformLike", "Multinomial", "Bernoulli"],
    "integer quantization": [
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
        "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"],
    "signal processing": [
        "DFT", "STFT", "MelWeightMatrix", "BlackmanWindow", "HannWindow",
        "HammingWindow"],
    "image decoding": ["ImageDecoder"],
    "detection and region ops": [
        "NonMaxSuppression", "RoiAlign", "MaxRoiPool", "DeformConv"],
}
EXCLUDED_TYPES = {
    TensorProto.STRING: "string", TensorProto.COMPLEX64: "complex",
    TensorProto.COMPLEX128: "complex",
}
# By number: the onnx 1.12 package of Debian 12 predates these types.
EXCLUDED_TYPES.update({
    17: "float8", 18: "float8", 19: "float8", 20: "float8", 24: "float8",
    23: "float4", 21: "int4/uint4", 22: "int4/uint4", 25: "int2/uint2",
    26: "int2/uint2"})

# Training-mode Dropout draws a random mask (the test data come from one
# seed); with ratio 0 it is deterministic and stays selected.
RANDOM_TESTS_PREFIX = "test_training_dropout"
RANDOM_TESTS_KEPT = ("test_training_dropout_zero_ratio",)


def value_types(graph):
    """Element types of the graph's tensors, subgraphs included."""
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        t = vi.type
        if t.HasField("tensor_type"):
            yield t.tensor_type.elem_type
        elif t.HasField("sparse_tensor_type"):
            yield t.sparse_tensor_type.elem_type
    for init in graph.initializer:
        yield init.data_type
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t.data_type
            if node.op_type == "Cast" and attr.name == "to":
                yield attr.i
            for g in list(attr.graphs) + ([attr.g] if attr.HasField("g")
                                          else []):
                yield from value_types(g)


def exclusion(test):
    """Why the rule leaves `test` out, or None when it is selected."""
    ops = list(rnt.op_types(test.model.graph))
    for domain, op in ops:
        if domain not in rnt.DEFAULT_DOMAINS:
            return f"domain {domain}"
    by_op = {op: cat for cat, names in EXCLUDED_OPS.items() for op in names}
    for _, op in ops:
        if op in by_op:
            return by_op[op]
    g = test.model.graph
    for vi in list(g.input) + list(g.output):
        if vi.type.HasField("sequence_type") or \
                vi.type.HasField("optional_type"):
            return "sequences and optionals"
    for et in value_types(test.model.graph):
        if et in EXCLUDED_TYPES:
            return f"{EXCLUDED_TYPES[et]} tensors"
    if test.name.startswith(RANDOM_TESTS_PREFIX) and \
            not test.name.startswith(RANDOM_TESTS_KEPT):
        return "random generators"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", help="node-test directories")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    selected, excluded = set(), {}
    for root in a.dirs:
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name)
            if not os.path.exists(os.path.join(path, "model.onnx")):
                continue
            why = exclusion(rnt.NodeTest(path))
            if why:
                excluded.setdefault(why, set()).add(name)
            else:
                selected.add(name)
    for names in excluded.values():
        names -= selected
    with open(a.output, "w") as f:
        f.write("# ONNX backend node tests that ditc must compile, run and "
                "match.\n# Generated by select_node_tests.py (the rule is in "
                "its docstring);\n# do not edit by hand. Left out, by "
                "category:\n")
        for why in sorted(excluded):
            if excluded[why]:
                f.write(f"#   {why}: {len(excluded[why])}\n")
        f.write(f"# Selected: {len(selected)}\n")
        for name in sorted(selected):
            f.write(name + "\n")
    print(f"selected {len(selected)}; left out "
          f"{sum(len(v) for v in excluded.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
