#!/usr/bin/python3
"""Compiles and runs the ONNX backend node tests with `ditc compile` / `ditc run`.

Selects the same tests as run_node_tests.py (the committed list
node_tests_selected.txt, default-domain opset 13..23), compiles each model to a shared library
(retrying with `--bind` for integer inputs / `--shape` for dynamic dims when
the compiler says so, as the import runner does; bound inputs are then not
passed at run time), runs it on test_data_set_0/input_N.pb and compares every
output with output_N.pb: floating point by relative L2 error < 1e-4 (max
absolute error < 1e-6 when the reference is all zeros; NaN and +-inf
positions must match exactly), integers and bools exactly.

Prints per directory `passed P / attempted A` and one line per failure. Exits
non-zero when a test fails that the expectations file does not list with a
reason found in the failure's message, or when
a listed test passes in every directory that has it (stale entry).

  /usr/bin/python3 test/OnnxBackend/run_node_tests_compiled.py \\
      --ditc build/bin/ditc /usr/share/libonnx-testdata/data/node \\
      build/onnx-node-tests/node
"""

import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
from onnx import TensorProto, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_node_tests as rnt  # noqa: E402

TIMEOUT = 120
RTOL = 1e-4
ATOL_ZERO = 1e-6


def run_cmd(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124, f"error: timed out after {TIMEOUT} s"
    return p.returncode, p.stderr.strip()


def error_line(what, rc, err):
    lines = [l for l in err.splitlines() if l.strip()]
    errs = [l for l in lines if "error" in l.lower()]
    line = (errs or lines or [""])[0][:300]
    if rc < 0:
        return f"{what} crashed (signal {-rc}): {line}"
    return f"{what}: {line}" if line else f"{what}: exit {rc}"


def compile_test(ditc, test, so):
    """Returns (args, None) on success, else (args, reason)."""
    args = []
    rc, err = run_cmd([ditc, "compile", test.model_path, "-o", so])
    errors = ""
    for _ in range(3):
        if rc == 0:
            break
        errors += err + "\n"
        bind = bool(rnt.NEEDS_CONSTANT.search(err))
        shape = bool(rnt.NEEDS_SHAPE.search(err))
        retry = test.extra_args(bind or "--bind" in args, True, errors)
        if not (bind or shape) or retry == args:
            break
        args = retry
        rc, err = run_cmd([ditc, "compile", test.model_path, "-o", so] + args)
    if rc != 0:
        return args, error_line("compile", rc, err)
    return args, None


def bound_names(args):
    return {args[i + 1].split("=", 1)[0]
            for i in range(len(args) - 1) if args[i] == "--bind"}


def compare(name, got, want):
    """None when `got` matches `want`, else a short reason."""
    if got.shape != want.shape:
        return f"{name}: shape {got.shape} but expected {want.shape}"
    if want.dtype.kind in "fc":
        g = got.astype(np.float64)
        w = want.astype(np.float64)
        gn, wn = np.isnan(g), np.isnan(w)
        if (gn != wn).any():
            return f"{name}: NaN at {int((gn != wn).sum())} positions differ"
        gi, wi = np.isinf(g), np.isinf(w)
        if (gi != wi).any() or (g[wi] != w[wi]).any():
            return f"{name}: inf positions differ"
        fin = ~(wn | wi)
        g, w = g[fin], w[fin]
        if w.size == 0:
            return None
        diff = g - w
        wnorm = np.linalg.norm(w)
        maxabs = float(np.abs(diff).max())
        if wnorm == 0:
            if maxabs >= ATOL_ZERO:
                return f"{name}: max abs error {maxabs:.3g} (reference is 0)"
            return None
        rel = float(np.linalg.norm(diff) / wnorm)
        if not rel < RTOL:
            return (f"{name}: relative L2 error {rel:.3g}, "
                    f"max abs error {maxabs:.3g}")
        return None
    if got.dtype.kind in "fc":
        return f"{name}: dtype {got.dtype} but expected {want.dtype}"
    bad = got.astype(want.dtype) != want
    if bad.any() or (got.dtype.kind == "b") != (want.dtype.kind == "b"):
        idx = np.argwhere(bad)
        where = tuple(int(i) for i in idx[0]) if idx.size else ()
        return (f"{name}: {int(bad.sum())} of {want.size} elements differ "
                f"(dtype {got.dtype} vs {want.dtype}; first at {where}: "
                f"{got[where] if idx.size else ''} vs "
                f"{want[where] if idx.size else ''})")
    return None


def write_npz(path, arrays):
    """np.savez(path, **arrays) without its keyword quirks (it drops an
    array named 'like', the CastLike input)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, arr in arrays.items():
            with z.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, np.asarray(arr),
                                          allow_pickle=False)


def run_test(ditc, test):
    """None when the test compiles, runs and matches, else a reason."""
    with tempfile.TemporaryDirectory(prefix="ditc-node-") as tmp:
        so = os.path.join(tmp, "model.so")
        args, reason = compile_test(ditc, test, so)
        if reason:
            return reason
        bound = bound_names(args)
        inputs = {}
        for k, vi in enumerate(test.inputs):
            pb = test.data_file("input", k)
            if vi.name in bound or not os.path.exists(pb):
                continue
            inputs[vi.name] = numpy_helper.to_array(rnt.read_tensor(pb))
        in_npz = os.path.join(tmp, "in.npz")
        out_npz = os.path.join(tmp, "out.npz")
        write_npz(in_npz, inputs)
        rc, err = run_cmd([ditc, "run", so, "--inputs", in_npz,
                           "--outputs", out_npz])
        if rc != 0:
            return error_line("run", rc, err)
        try:
            got = np.load(out_npz)
        except Exception as e:  # noqa: BLE001
            return f"run: cannot read {os.path.basename(out_npz)}: {e}"
        for k, vo in enumerate(test.model.graph.output):
            pb = test.data_file("output", k)
            if not os.path.exists(pb):
                continue
            want = numpy_helper.to_array(rnt.read_tensor(pb))
            if vo.type.tensor_type.elem_type == TensorProto.BFLOAT16 and \
                    want.dtype == np.uint16:
                # onnx 1.12 reads bfloat16 as its bits; `ditc run` writes
                # bfloat16 outputs widened to float32.
                want = (want.astype(np.uint32) << 16).view(np.float32)
            if vo.name not in got.files:
                return f"output {vo.name} missing from the run's outputs"
            reason = compare(vo.name, got[vo.name], want)
            if reason:
                return reason
    return None


def select(root, names, only):
    """Tests in `root` that run_node_tests.py attempts (the committed
    selection, opset in range)."""
    return rnt.selected_tests(root, names, only)[0]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ditc", required=True, help="the ditc binary")
    ap.add_argument("--expected",
                    default=os.path.join(here,
                                         "expected_failures_compiled.txt"),
                    help="expectations file (test_name  reason)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    rnt.add_selection_args(ap)
    ap.add_argument("dirs", nargs="+", help="node-test directories")
    a = ap.parse_args()

    names = rnt.load_selection(a.selected)
    expected = rnt.load_expectations(a.expected)
    unexpected, seen_pass, seen_fail = 0, set(), set()
    for root in a.dirs:
        if not os.path.isdir(root):
            print(f"error: no node tests at {root}")
            return 1
        tests = select(root, names, a.only)
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
            results = list(pool.map(lambda t: run_test(a.ditc, t), tests))
        failures = {t.name: r for t, r in zip(tests, results) if r}
        xfail = {n for n, r in failures.items()
                 if n in expected and rnt.matches_expectation(r, expected[n])}
        print(f"== {root}")
        print(f"passed {len(tests) - len(failures)} / {len(tests)} "
              f"attempted, expected failures {len(xfail)}")
        for name, reason in sorted(failures.items()):
            tag = "XFAIL" if name in xfail else "FAIL"
            print(f"{tag} {name}: {reason}")
            if name in expected and name not in xfail:
                print(f"  (listed as failing for: {expected[name]})")
        sys.stdout.flush()
        unexpected += len(failures) - len(xfail)
        seen_fail.update(failures)
        seen_pass.update(t.name for t in tests
                         if t.name in expected and t.name not in failures)
    stale = sorted(seen_pass - seen_fail)
    for name in stale:
        print(f"STALE {name}: listed in {a.expected} but passes")
    print(f"{len(stale) + unexpected} unexpected results")
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    sys.exit(main())
