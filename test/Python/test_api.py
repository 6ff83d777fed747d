"""Tests of the ditc Python package (python/ditc): ditc.compile runs the
compiler, ditc.load runs the libraries, and every error path says what is
wrong in one line.

Run from the repository root (test/Python/pytest.test does, under lit):

    DITC_COMPILER=$PWD/build/bin/ditc PYTHONPATH=$PWD/python \
        python3 -m pytest -q test/Python

The compiler is DITC_COMPILER, else `ditc` on PATH. torch is not needed
(nor tested) here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ditc
import ditc.runtime as rt

from common import FIXTURES, HERE, INPUTS, compiler, fixture_arrays, rel_l2

DIT_NAMES = ["hidden_states", "timestep", "class_labels"]


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """The dit_dynamo and pixart_dynamo fixtures, compiled once by
    ditc.compile (into a directory it has to create)."""
    out = tmp_path_factory.mktemp("libs")
    made = {}
    for name in ("dit_dynamo", "pixart_dynamo"):
        lib = out / name / "sub" / "m.so"
        made[name] = ditc.compile(str(FIXTURES / name / "model.onnx"), lib)
        assert made[name] == lib and isinstance(made[name], Path)
    return made


@pytest.fixture(scope="module")
def dit(libs):
    return ditc.load(libs["dit_dynamo"])


@pytest.fixture
def dit_inputs():
    return fixture_arrays("dit_dynamo", "inputs")


# -- the package ---------------------------------------------------------------

def test_import_does_no_work(tmp_path):
    """Importing ditc imports neither torch nor subprocess, and needs no
    compiler."""
    env = {k: v for k, v in os.environ.items() if k != "DITC_COMPILER"}
    env["PATH"] = str(tmp_path)
    code = ("import sys, ditc; print(sorted(m for m in ('torch', 'subprocess') "
            "if m in sys.modules)); print(ditc.Model.__mro__[1].__module__)")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out == "[]\nditc.runtime\n"


def test_error_hierarchy():
    assert issubclass(ditc.Error, RuntimeError)
    for cls in (ditc.CompileError, ditc.DitcError, ditc.InputError, ditc.CommError):
        assert issubclass(cls, ditc.Error)
    assert issubclass(ditc.InputError, ditc.DitcError)
    assert issubclass(ditc.CommError, ditc.DitcError)
    assert not issubclass(ditc.CompileError, ditc.DitcError)
    assert rt.DitcError is ditc.DitcError
    assert ditc.api.Error is ditc.Error and ditc.api.InputError is ditc.InputError


def test_pyproject():
    import tomllib
    with open(HERE.parent.parent / "python" / "pyproject.toml", "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["name"] == "ditc"
    assert meta["project"]["dependencies"] == ["numpy"]
    assert (HERE.parent.parent / "python" / "ditc" / "py.typed").exists()


# -- compile and run -------------------------------------------------------------

@pytest.mark.parametrize("name", ["dit_dynamo", "pixart_dynamo"])
def test_fixture_matches_cli_and_pytorch(libs, tmp_path, name):
    """A library made by ditc.compile and run by ditc.load gives what
    `ditc run` gives on it, and what PyTorch gave."""
    lib = libs[name]
    assert lib.exists() and lib.with_suffix(".safetensors").exists()
    model = ditc.load(lib)
    inputs = fixture_arrays(name, "inputs")
    assert [t.name for t in model.inputs] == list(inputs)
    out = model(**inputs)
    assert isinstance(out, np.ndarray)

    cli = tmp_path / "cli.npz"
    subprocess.run([compiler(), "run", str(lib), "--inputs",
                    str(FIXTURES / name / "inputs.npz"), "--outputs", str(cli)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with np.load(cli) as f:
        theirs = f[model.outputs[0].name]
    assert out.dtype == theirs.dtype and out.shape == theirs.shape
    assert np.array_equal(out, theirs) or rel_l2(out, theirs) < 1e-6

    torch_out = fixture_arrays(name, "outputs")[model.outputs[0].name]
    assert rel_l2(out, torch_out) < 1e-4


def test_positional_keyword_and_mixed_calls_agree(dit, dit_inputs):
    by_name = dit(**dit_inputs)
    positional = dit(*[dit_inputs[n] for n in DIT_NAMES])
    mixed = dit(dit_inputs["hidden_states"], class_labels=dit_inputs["class_labels"],
                timestep=dit_inputs["timestep"])
    assert np.array_equal(by_name, positional)
    assert np.array_equal(by_name, mixed)
    assert not np.shares_memory(by_name, positional)  # a new array per call


def test_run_dict_and_properties(dit, dit_inputs):
    """ditc.Model is a runtime.Model: run() takes a dict or a list and
    returns {name: array}, as before."""
    assert isinstance(dit, rt.Model) and isinstance(dit, ditc.Model)
    assert (dit.rank, dit.world_size, dit.plan, dit.target) == (0, 1, "", "cpu")
    assert [(t.name, t.dtype, t.shape) for t in dit.outputs] == [("sample", "f32", (2, 8, 8, 8))]
    assert [(t.name, t.dtype) for t in dit.inputs] == [
        ("hidden_states", "f32"), ("timestep", "i64"), ("class_labels", "i64")]
    out = dit.run(dit_inputs)
    assert list(out) == ["sample"]
    assert np.array_equal(out["sample"], dit(**dit_inputs))
    assert np.array_equal(dit.run([dit_inputs[n] for n in DIT_NAMES])["sample"],
                          out["sample"])
    assert "hidden_states: f32[2, 4, 8, 8]" in repr(dit)


def test_safe_casts_are_accepted(dit, dit_inputs):
    """Casts within a kind are made: float64 to float32, int32 and Python
    ints to int64."""
    exact = dit(**dit_inputs)
    cast = dit(dit_inputs["hidden_states"].astype(np.float64),
               dit_inputs["timestep"].astype(np.int32),
               [int(v) for v in dit_inputs["class_labels"]])
    assert np.array_equal(exact, cast)
    strided = np.asfortranarray(dit_inputs["hidden_states"])
    assert np.array_equal(exact, dit(strided, dit_inputs["timestep"],
                                     dit_inputs["class_labels"]))


def test_threads(libs, dit, dit_inputs):
    one = ditc.load(libs["dit_dynamo"], threads=1)
    a = one(**dit_inputs)
    b = dit(**dit_inputs)
    assert np.array_equal(a, b) or rel_l2(a, b) < 1e-6
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive int"):
            ditc.load(libs["dit_dynamo"], threads=bad)


def test_weights_argument(libs, dit_inputs):
    """weights= maps another file: the library's own gives the same result,
    another model's is refused with the library's message."""
    dit = libs["dit_dynamo"]
    same = ditc.load(dit, weights=dit.with_suffix(".safetensors"))
    assert np.array_equal(same(**dit_inputs), ditc.load(dit)(**dit_inputs))
    other = libs["pixart_dynamo"].with_suffix(".safetensors")
    with pytest.raises(ditc.DitcError) as e:
        ditc.load(dit, weights=other)
    assert str(e.value).startswith(f"weight file does not fit the model: '{other}'")


def test_two_outputs_are_a_tuple(tmp_path):
    lib = ditc.compile(INPUTS / "two_outputs.onnxtxt", tmp_path / "two.so")
    model = ditc.load(lib)
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    y = np.array([1.5, -2.0, 0.25], np.float32)
    out = model(x, y)
    assert isinstance(out, tuple) and len(out) == 2
    assert np.array_equal(out[0], x + y) and np.array_equal(out[1], x * y)
    s, p = model(Y=y, X=x)
    assert np.array_equal(s, out[0]) and np.array_equal(p, out[1])


def test_bf16_inputs_and_outputs(tmp_path):
    """--io-dtype bf16 (io_dtype=): float inputs are rounded to bf16, uint16
    ones taken as its bits; outputs come back as bits."""
    lib = ditc.compile(INPUTS / "two_outputs.onnxtxt", tmp_path / "two.so",
                       io_dtype="bf16")
    model = ditc.load(lib)
    assert [t.dtype for t in model.inputs + model.outputs] == ["bf16"] * 4
    x = np.linspace(-3, 3, 6, dtype=np.float32).reshape(2, 3)
    y = np.array([1.1, -2.3, 0.3], np.float32)
    s, p = model(x, y)
    assert s.dtype == np.uint16 and s.shape == (2, 3)
    xb = rt.bf16_to_f32(rt.f32_to_bf16(x))
    yb = rt.bf16_to_f32(rt.f32_to_bf16(y))
    assert np.array_equal(s, rt.f32_to_bf16(xb + yb))
    assert np.array_equal(p, rt.f32_to_bf16(xb * yb))
    s2, p2 = model(rt.f32_to_bf16(x), rt.f32_to_bf16(y))
    assert np.array_equal(s, s2) and np.array_equal(p, p2)
    with pytest.raises(ditc.InputError) as e:
        model(x.astype(np.int32), y)
    assert str(e.value) == "input 'X': dtype int32, expected bfloat16 (or its bits as uint16)"


def test_shapes_and_dict_options(tmp_path):
    """shapes= gives --shape NAME=D0,D1; a dict option one flag per entry
    (dim={"N": 5} is --dim N=5); without either the compiler's error."""
    src = INPUTS / "dynamic.onnxtxt"
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(src, tmp_path / "none.so")
    assert str(e.value) == (f"{src}: graph input 'X' has a dynamic dimension 'N'; "
                            "give --shape X=... or --dim N=N")
    for lib, rows in ((ditc.compile(src, tmp_path / "a.so", shapes={"X": (4, 3)}), 4),
                      (ditc.compile(src, tmp_path / "b.so", dim={"N": 5}), 5)):
        model = ditc.load(lib)
        assert model.inputs[0].shape == (rows, 3)
        x = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
        assert np.array_equal(model(x), -x)


def test_flag_options(tmp_path):
    """True is a bare flag, False and None are left out."""
    src = FIXTURES / "pixart_dynamo" / "model.onnx"
    lib = ditc.compile(src, tmp_path / "nw.so", no_weights=True, trace=None)
    assert lib.exists() and not lib.with_suffix(".safetensors").exists()
    model = ditc.load(lib, weights=rt.RANDOM_WEIGHTS)
    assert model(**fixture_arrays("pixart_dynamo", "inputs")).shape == (2, 8, 8, 8)
    lib = ditc.compile(src, tmp_path / "w.so", no_weights=False)
    assert lib.with_suffix(".safetensors").exists()


def test_verbose_passes_progress_lines(tmp_path, capfd):
    src = INPUTS / "two_outputs.onnxtxt"
    ditc.compile(src, tmp_path / "quiet.so")
    assert capfd.readouterr().err == ""
    ditc.compile(src, tmp_path / "loud.so", verbose=True)
    err = capfd.readouterr().err
    assert f"ditc: imported {src}" in err
    assert f"ditc: linked {tmp_path / 'loud.so'}" in err


def test_progress_on_a_terminal(tmp_path, monkeypatch):
    """verbose=None (the default) prints the progress lines when stderr is
    a terminal, as the command line does; verbose=False never."""
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    src = INPUTS / "two_outputs.onnxtxt"
    for verbose, printed in ((None, True), (False, False)):
        term = Terminal()
        monkeypatch.setattr(sys, "stderr", term)
        ditc.compile(src, tmp_path / f"{verbose}.so", verbose=verbose)
        monkeypatch.undo()
        assert ("ditc: linked " in term.getvalue()) == printed, term.getvalue()


# -- compile errors --------------------------------------------------------------

def test_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.delenv("DITC_COMPILER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(INPUTS / "two_outputs.onnxtxt", tmp_path / "m.so")
    assert str(e.value) == ("no ditc compiler: set DITC_COMPILER to the path of "
                            "the ditc executable or put ditc on PATH")
    assert not (tmp_path / "m.so").exists()


def test_compiler_from_path(tmp_path, monkeypatch):
    where = Path(compiler()).parent
    monkeypatch.delenv("DITC_COMPILER", raising=False)
    monkeypatch.setenv("PATH", f"{where}{os.pathsep}{os.environ.get('PATH', '')}")
    assert ditc.compile(INPUTS / "two_outputs.onnxtxt", tmp_path / "m.so").exists()


def test_compiler_not_executable(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-ditc"
    monkeypatch.setenv("DITC_COMPILER", str(missing))
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(INPUTS / "two_outputs.onnxtxt", tmp_path / "m.so")
    assert str(e.value) == f"DITC_COMPILER={missing} is not an executable file"


def test_bad_onnx_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xfe not a protobuf \x00\x01")
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(bad, tmp_path / "m.so")
    assert str(e.value) == f"{bad}: not an ONNX model (truncated or not protobuf)"
    assert f"error: {bad}: not an ONNX model" in e.value.log
    missing = tmp_path / "missing.onnx"
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(str(missing), tmp_path / "m.so")
    assert str(e.value) == f"{missing}: cannot read: No such file or directory"


def test_unknown_option(tmp_path):
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(INPUTS / "two_outputs.onnxtxt", tmp_path / "m.so", bogus_flag=3)
    assert str(e.value).startswith(
        "ditc: Unknown command line argument '--bogus-flag=3'")


def test_compile_rejects_other_models(tmp_path):
    with pytest.raises(TypeError, match="model must be an ONNX file path or "
                                        "a torch.nn.Module, not int"):
        ditc.compile(42, tmp_path / "m.so")


# -- input errors ----------------------------------------------------------------

def _call(model, inputs, how):
    h, t, c = (inputs[n] for n in DIT_NAMES)
    calls = {
        "missing one": lambda: model(h, t),
        "missing all": lambda: model(),
        "unknown": lambda: model(h, t, c, sample=h),
        "duplicate": lambda: model(h, t, c, timestep=t),
        "too many": lambda: model(h, t, c, c),
        "shape": lambda: model(h[:1], t, c),
        "scalar shape": lambda: model(h, 3, c),
        "dtype": lambda: model(h, t.astype(np.float32), c),
        "complex": lambda: model(h.astype(np.complex64), t, c),
        "strings": lambda: model(h, t, np.array(["a", "b"])),
        "run dict": lambda: model.run({"hidden_states": h, "timesteps": t,
                                       "class_labels": c}),
        "run list": lambda: model.run([h, t]),
    }
    return calls[how]()


@pytest.mark.parametrize("how,message", [
    ("missing one", "missing input 'class_labels'"),
    ("missing all", "missing inputs 'hidden_states', 'timestep', 'class_labels'"),
    ("unknown", "unknown input 'sample'; the model's inputs are "
                "'hidden_states', 'timestep', 'class_labels'"),
    ("duplicate", "input 'timestep' given twice (positionally and by name)"),
    ("too many", "4 positional inputs given, the model takes 3: "
                 "'hidden_states', 'timestep', 'class_labels'"),
    ("shape", "input 'hidden_states': shape (1, 4, 8, 8), expected (2, 4, 8, 8)"),
    ("scalar shape", "input 'timestep': shape (), expected (2,)"),
    ("dtype", "input 'timestep': dtype float32, expected int64"),
    ("complex", "input 'hidden_states': dtype complex64, expected float32"),
    ("strings", "input 'class_labels': dtype str32, expected int64"),
    ("run dict", "unknown input 'timesteps'; the model's inputs are "
                 "'hidden_states', 'timestep', 'class_labels'"),
    ("run list", "2 inputs given, the model takes 3: "
                 "'hidden_states', 'timestep', 'class_labels'"),
])
def test_input_errors(dit, dit_inputs, how, message):
    with pytest.raises(ditc.InputError) as e:
        _call(dit, dit_inputs, how)
    assert str(e.value) == message
    # The model still runs after a refused call.
    assert dit(**dit_inputs).shape == (2, 8, 8, 8)


# -- load errors -----------------------------------------------------------------

def test_load_errors(tmp_path):
    text = tmp_path / "text.so"
    text.write_text("not a library\n")
    with pytest.raises(ditc.Error) as e:
        ditc.load(text)
    assert str(e.value).startswith(f"{text}: cannot load: ")
    missing = tmp_path / "missing.so"
    with pytest.raises(ditc.Error) as e:
        ditc.load(missing)
    assert str(e.value) == f"{missing}: no such file"
    # A shared library, but not a model library.
    import _ctypes
    other = _ctypes.__file__
    with pytest.raises(ditc.Error) as e:
        ditc.load(other)
    assert str(e.value) == f"{other} is not a ditc model library"


def test_comm_error(tmp_path, monkeypatch):
    """A --devices 2 library that cannot join a parallel run: CommError with
    the library's message (DITC_COMM names no backend, so no MPI starts)."""
    lib = ditc.compile(FIXTURES / "dit_dynamo" / "model.onnx", tmp_path / "d2.so",
                       devices=2, plan="dp=2")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "d2.rank0.safetensors", "d2.rank1.safetensors", "d2.so"]
    monkeypatch.setenv("DITC_COMM", "nope")
    with pytest.raises(ditc.CommError) as e:
        ditc.load(lib)
    assert str(e.value).startswith(
        "communication between ranks failed: this library was compiled for "
        "--devices 2 (plan 'dp=2') but cannot join a parallel run: create: "
        "unknown communicator backend \"nope\"")
    # runtime.Model raises it too, and older code catching DitcError gets it.
    with pytest.raises(rt.DitcError):
        rt.Model(lib)


def mpirun_load(ranks, library, tmp_path):
    """load_ranks.py on `ranks` processes: (exit status, output lines)."""
    mpi = shutil.which("mpirun")
    assert mpi, "mpirun (Open MPI) is needed"
    proc = subprocess.run(
        [mpi, "--allow-run-as-root", "--oversubscribe", "--mca",
         "btl_vader_single_copy_mechanism", "none", "-np", str(ranks),
         sys.executable, str(HERE / "load_ranks.py"), str(library),
         str(FIXTURES / "dit_dynamo" / "inputs.npz"), str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    return proc.returncode, sorted(line for line in proc.stdout.splitlines()
                                   if line.startswith("rank "))


def test_every_rank_loads_and_gets_the_outputs(dit, dit_inputs, tmp_path):
    """Under mpirun every rank loads the library the same way and gets the
    whole output, equal to the single-rank library's."""
    lib = ditc.compile(FIXTURES / "dit_dynamo" / "model.onnx",
                       tmp_path / "lib" / "d2.so", devices=2, plan="cfg=2")
    status, lines = mpirun_load(2, lib, tmp_path)
    assert status == 0 and lines == ["rank 0: rank 0 of 2",
                                     "rank 1: rank 1 of 2"], lines
    want = dit(**dit_inputs)
    for r in (0, 1):
        with np.load(tmp_path / f"rank{r}.npz") as f:
            assert rel_l2(f["sample"], want) < 1e-5

    # Another rank count than compiled for: the CLI's message on every rank.
    status, lines = mpirun_load(3, lib, tmp_path)
    assert status != 0
    assert lines == [
        f"rank {r}: CommError: communication between ranks failed: this "
        "library was compiled for --devices 2 (plan 'cfg=2') but runs on 3 "
        "ranks; start it with mpirun -np 2" for r in range(3)]


# -- denoising steps -------------------------------------------------------------

def test_denoising_steps(libs, dit, dit_inputs):
    """A single-rank library checks the order of the steps (with its own
    messages) and computes what a plain call does."""
    plain = dit(**dit_inputs)

    def refused(call, message):
        with pytest.raises(ditc.DitcError) as e:
            call()
        assert str(e.value) == "invalid argument: " + message

    fresh = ditc.Model(libs["dit_dynamo"])
    refused(lambda: fresh.set_denoising_step(0),
            "denoising step 0 set, but no denoising run has begun "
            "(call ditc_model_begin_denoising first)")
    refused(lambda: dit.begin_denoising(0),
            "a denoising run needs at least 1 step (got 0)")
    refused(lambda: dit.begin_denoising(2, 3),
            "warm-up steps 3 outside 0 .. 2 (the run's steps)")

    dit.begin_denoising(2, warmup_steps=1)
    refused(lambda: dit.set_denoising_step(1),
            "denoising step 1 out of order: the run expects step 0 next "
            "(steps 0 .. 1 in order)")
    dit.set_denoising_step(0)
    refused(lambda: dit.set_denoising_step(1),
            "denoising step 1 set while step 0 has not run yet")
    assert np.array_equal(dit(**dit_inputs), plain)
    assert dit.denoising_step == 0
    dit.set_denoising_step(1)
    assert np.array_equal(dit(**dit_inputs), plain)
    assert dit.denoising_step == 1
    refused(lambda: dit.set_denoising_step(2),
            "denoising step 2 set after the run's last step (1); "
            "begin a new denoising run")
    dit(**dit_inputs)  # no step set
    assert dit.denoising_step == -1


# -- probes and step caches ------------------------------------------------------

def test_probes_record_the_change_between_calls(tmp_path):
    """--probes redundancy: each probe reports sum |x - prev| / sum |prev|
    for the tensor it saw (recomputed here with NumPy), NaN on the first
    call and after a denoising run begins, 0 for a repeated call."""
    lib = ditc.compile(FIXTURES / "dit_dynamo" / "model.onnx", tmp_path / "p.so",
                       probes="redundancy")
    m = ditc.load(lib)
    assert [(p.layer, p.quantity) for p in m.probes[:4]] == [
        ("block A.0.attn0", "v"), ("block A.0.attn0", "k"), ("block A.0.attn0", "out"),
        ("block A.0", "residual")]
    assert len(m.probes) == 8 and m.cache_kind == ""
    inputs = fixture_arrays("dit_dynamo", "inputs")
    m(**inputs)
    assert np.isnan(m.probe_values()).all()
    first = [m.probe_tensor(i).astype(np.float64) for i in range(len(m.probes))]
    inputs["hidden_states"] = inputs["hidden_states"] * 0.9 + 0.1
    m(**inputs)
    values = m.probe_values()
    for i, prev in enumerate(first):
        x = m.probe_tensor(i).astype(np.float64)
        assert x.shape == m.probes[i].tensor.shape
        want = np.abs(x - prev).sum() / np.abs(prev).sum()
        assert want > 0 and abs(values[i] - want) <= 1e-9 * want, (m.probes[i], values[i], want)
    m(**inputs)
    assert (m.probe_values() == 0).all()
    m.begin_denoising(2)
    m.set_denoising_step(0)
    m(**inputs)
    assert np.isnan(m.probe_values()).all()


def test_fbcache_skips_repeated_steps(tmp_path):
    """--cache fbcache: a denoising step whose first block changed less
    than the threshold skips the other blocks (the first and last steps
    compute); a call without a step computes; the outputs stay close."""
    lib = ditc.compile(FIXTURES / "deep" / "dit4_dynamo" / "model.onnx", tmp_path / "c.so",
                       cache="fbcache", cache_threshold=0.05)
    m = ditc.load(lib)
    assert m.cache_kind == "fbcache"
    inputs = fixture_arrays("deep/dit4_dynamo", "inputs")
    plain = m(**inputs)
    assert not m.cache_state().skipped
    m.begin_denoising(4)
    decisions = []
    for step in range(4):
        m.set_denoising_step(step)
        out = m(**inputs)
        st = m.cache_state()
        decisions.append(st.skipped)
        assert rel_l2(out, plain) < 1e-5
        assert (step == 0) == np.isnan(st.change)
        if step:
            assert st.change == 0.0  # the same inputs: the same first block
    assert decisions == [False, True, True, False]
    assert m.cache_state().skipped_steps == 2 and m.cache_state().nbytes > 0
