#!/usr/bin/python3
"""Imports the ONNX backend node tests with `ditc import`.

For each node-test directory given, selects the tests named in the committed
list node_tests_selected.txt (select_node_tests.py writes it from a rule over
op categories and element types; which ops ditc has plays no part) and
imports each. Tests whose
default-domain opset lies outside 13..23 must be refused with the opset error
and are counted apart. When the importer says an input must be constant (a
Reshape shape, a Slice start, ...), the import is retried with `--bind` for
the model's integer inputs, taken from test_data_set_0/input_N.pb; inputs with
dynamic dimensions get `--shape` from the same files. The result types of
`@main` must match the test's expected outputs (output_N.pb) in shape and
element type.

Prints per directory `imported / attempted` and each failure with its one-line
error. Exits non-zero when an attempted test fails, unless it is listed in the
expectations file (`test_name  reason` per line) with a reason that is a
substring of the failure's message, or when a listed test imports in every
directory that has it (the entry is stale).

Needs only python3-onnx (1.12) and the ditc binary:
  /usr/bin/python3 test/OnnxBackend/run_node_tests.py --ditc build/bin/ditc \\
      /usr/share/libonnx-testdata/data/node build/onnx-node-tests/node
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

import onnx
from onnx import TensorProto

MIN_OPSET, MAX_OPSET = 13, 23
DEFAULT_DOMAINS = ("", "ai.onnx")

MLIR_ELEM = {
    TensorProto.FLOAT: "f32", TensorProto.DOUBLE: "f64",
    TensorProto.FLOAT16: "f16", TensorProto.BFLOAT16: "bf16",
    TensorProto.INT64: "i64", TensorProto.INT32: "i32",
    TensorProto.INT16: "i16", TensorProto.INT8: "i8",
    TensorProto.UINT64: "ui64", TensorProto.UINT32: "ui32",
    TensorProto.UINT16: "ui16", TensorProto.UINT8: "ui8",
    TensorProto.BOOL: "i1",
}
INT_TYPES = {TensorProto.INT64, TensorProto.INT32, TensorProto.INT16,
             TensorProto.INT8, TensorProto.UINT64, TensorProto.UINT32,
             TensorProto.UINT16, TensorProto.UINT8}
NEEDS_CONSTANT = re.compile(r"must be (a )?constant|shapes are static")
NEEDS_SHAPE = re.compile(r"give --shape")


SELECTED = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "node_tests_selected.txt")


def load_selection(path):
    """Test names of the committed selection (select_node_tests.py)."""
    with open(path) as f:
        return {line.strip() for line in f
                if line.strip() and not line.startswith("#")}


def add_selection_args(ap):
    ap.add_argument("--selected", default=SELECTED,
                    help="list of the tests to run (default: the committed "
                         "node_tests_selected.txt)")
    ap.add_argument("--only", default=None,
                    help="regular expression: run only the selected tests "
                         "whose names match (counts are then partial)")


def selected_tests(root, names, only=None):
    """(in range, refused) NodeTests of `root` named in `names`: in range
    when the default-domain opset lies in MIN_OPSET..MAX_OPSET."""
    pattern = re.compile(only) if only else None
    chosen, refused = [], []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name not in names or \
                not os.path.exists(os.path.join(path, "model.onnx")):
            continue
        if pattern and not pattern.search(name):
            continue
        test = NodeTest(path)
        in_range = test.opset is not None and \
            MIN_OPSET <= test.opset <= MAX_OPSET
        (chosen if in_range else refused).append(test)
    return chosen, refused


def matches_expectation(reason, expected_reason):
    """An expected failure must fail for the listed reason: the listed text
    is a substring of the failure's one-line reason."""
    return expected_reason in reason


def supported_ops(ditc):
    out = subprocess.run([ditc, "ops"], check=True, capture_output=True,
                         text=True).stdout
    return set(out.split())


def load_expectations(path):
    expected = {}
    if not path or not os.path.exists(path):
        return expected
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, reason = line.partition(" ")
            if not reason.strip():
                sys.exit(f"{path}: '{name}' has no reason")
            expected[name] = reason.strip()
    return expected


def op_types(graph):
    """(domain, op_type) of every node, subgraphs included."""
    for node in graph.node:
        yield node.domain, node.op_type
        for attr in node.attribute:
            subgraphs = list(attr.graphs)
            if attr.HasField("g"):
                subgraphs.append(attr.g)
            for g in subgraphs:
                yield from op_types(g)


def default_opset(model):
    for imp in model.opset_import:
        if imp.domain in DEFAULT_DOMAINS:
            return imp.version
    return None


def read_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


class NodeTest:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.model_path = os.path.join(path, "model.onnx")
        self.model = onnx.load(self.model_path, load_external_data=False)
        self.opset = default_opset(self.model)
        inits = {t.name for t in self.model.graph.initializer}
        self.inputs = [i for i in self.model.graph.input if i.name not in inits]

    def data_file(self, kind, k):
        return os.path.join(self.path, "test_data_set_0", f"{kind}_{k}.pb")

    def uses_only(self, ops):
        return all(d in DEFAULT_DOMAINS and op in ops
                   for d, op in op_types(self.model.graph))

    def graph_names(self, schema_names):
        """Graph values that feed a node input whose operator-schema name
        is in `schema_names` ("training_mode" -> the graph input "t"), and
        the names themselves."""
        names = set(schema_names)
        for node in self.model.graph.node:
            try:
                schema = onnx.defs.get_schema(node.op_type, self.opset or 1,
                                              node.domain)
            except Exception:  # an op this onnx does not know
                continue
            for i, value in enumerate(node.input):
                if i < len(schema.inputs) and \
                        schema.inputs[i].name in schema_names:
                    names.add(value)
        return names

    def extra_args(self, bind_ints, fix_shapes, err=""):
        """--bind / --shape options from test_data_set_0: binds the integer
        inputs, and any input the error names as needing a constant."""
        named = self.graph_names(
            set(re.findall(r"'?(\w+)'? must be (?:a )?constant", err)))
        args = []
        for k, vi in enumerate(self.inputs):
            pb = self.data_file("input", k)
            if not os.path.exists(pb):
                continue
            elem = vi.type.tensor_type.elem_type
            if bind_ints and (elem in INT_TYPES or vi.name in named):
                args += ["--bind", f"{vi.name}={pb}"]
                continue
            dims = vi.type.tensor_type.shape.dim
            dynamic = not vi.type.tensor_type.HasField("shape") or any(
                not d.HasField("dim_value") for d in dims)
            if fix_shapes and dynamic:
                shape = ",".join(str(d) for d in read_tensor(pb).dims)
                args += ["--shape", f"{vi.name}={shape}"]
        return args

    def expected_results(self):
        """Result types: shapes from output_N.pb, element types as the model
        declares them (ONNX 1.12 stores bfloat16 outputs as uint16)."""
        types = []
        for k, vi in enumerate(self.model.graph.output):
            pb = self.data_file("output", k)
            if not os.path.exists(pb):
                return None
            t = read_tensor(pb)
            dtype = vi.type.tensor_type.elem_type or t.data_type
            elem = MLIR_ELEM.get(dtype, f"type{dtype}")
            types.append("tensor<" + "".join(f"{d}x" for d in t.dims) +
                         elem + ">")
        return types


def result_types(mlir):
    """Result types of @main in printed IR."""
    m = re.search(r"func\.func @main\(.*\) -> \((.*)\) \{", mlir)
    if not m:
        m = re.search(r"func\.func @main\(.*\) -> (tensor<[^>]*>)", mlir)
    if not m:
        return []
    return re.findall(r"tensor<[^>]*>", m.group(1))


def run_ditc(ditc, test, args, fuse):
    cmd = [ditc, "import", test.model_path] + args
    if not fuse:
        cmd.append("--no-fuse")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return 1, "", "timed out after 120 s"
    return p.returncode, p.stdout, p.stderr.strip()


def import_test(ditc, test, fuse):
    """Returns None when the test imports with the right result types, else
    a one-line reason."""
    args = []
    rc, out, err = run_ditc(ditc, test, args, fuse)
    errors = ""
    for _ in range(3):
        if rc == 0:
            break
        errors += err + "\n"
        bind = bool(NEEDS_CONSTANT.search(err))
        shape = bool(NEEDS_SHAPE.search(err))
        retry = test.extra_args(bind or "--bind" in args, True, errors)
        if not (bind or shape) or retry == args:
            break
        args = retry
        rc, out, err = run_ditc(ditc, test, args, fuse)
    if rc != 0:
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            return f"exit {rc}, not one error line: {err[:300]!r}"
        return lines[0]
    want = test.expected_results()
    got = result_types(out)
    if want is not None and got != want:
        return f"result types {got} but the test expects {want}"
    return None


def check_refused(ditc, test):
    rc, _, err = run_ditc(ditc, test, [], False)
    if rc != 0 and f"opset {test.opset} is out of the supported range" in err \
            and len(err.splitlines()) == 1:
        return None
    return f"opset {test.opset} not refused: exit {rc}, {err[:300]!r}"


def run_directory(ditc, root, names, only, fuse, jobs):
    """Returns (counts, failures) where failures maps name -> reason."""
    selected, refused = selected_tests(root, names, only)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda t: import_test(ditc, t, fuse),
                                selected))
        refusals = list(pool.map(lambda t: check_refused(ditc, t), refused))
    failures = {t.name: r for t, r in zip(selected, results) if r}
    bad_refusals = {t.name: r for t, r in zip(refused, refusals) if r}
    counts = {"attempted": len(selected),
              "imported": len(selected) - len(failures),
              "refused": len(refused) - len(bad_refusals),
              "names": {t.name for t in selected + refused}}
    failures.update(bad_refusals)
    return counts, failures


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ditc", required=True, help="the ditc binary")
    ap.add_argument("--expected",
                    default=os.path.join(here, "expected_failures.txt"),
                    help="expectations file (test_name  reason)")
    ap.add_argument("--fuse", action="store_true",
                    help="run the frontend pipeline too (default --no-fuse)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    add_selection_args(ap)
    ap.add_argument("dirs", nargs="+", help="node-test directories")
    a = ap.parse_args()

    names = load_selection(a.selected)
    expected = load_expectations(a.expected)
    unexpected, seen_pass, seen_fail = 0, set(), set()
    for root in a.dirs:
        if not os.path.isdir(root):
            print(f"error: no node tests at {root}")
            return 1
        counts, failures = run_directory(a.ditc, root, names, a.only, a.fuse,
                                         a.jobs)
        xfail = {n: r for n, r in failures.items()
                 if n in expected and matches_expectation(r, expected[n])}
        print(f"== {root}")
        print(f"imported {counts['imported']} / {counts['attempted']} "
              f"attempted, refused (opset) {counts['refused']}, "
              f"expected failures {len(xfail)}")
        for name, reason in sorted(failures.items()):
            tag = "XFAIL" if name in xfail else "FAIL"
            print(f"{tag} {name}: {reason}")
            if name in expected and name not in xfail:
                print(f"  (listed as failing for: {expected[name]})")
        unexpected += len(failures) - len(xfail)
        seen_fail.update(failures)
        seen_pass.update(n for n in expected
                         if n in counts["names"] and n not in failures)
    stale = sorted(seen_pass - seen_fail)
    for name in stale:
        print(f"STALE {name}: listed in {a.expected} but imports")
    print(f"{len(stale) + unexpected} unexpected results")
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    sys.exit(main())
