"""Compile a model and run it from Python.

    import ditc
    ditc.compile("model.onnx", "out/model.so")        # runs `ditc compile`
    model = ditc.load("out/model.so", threads=8)
    sample = model(latent, timestep, labels)         # numpy or torch in and out

compile() runs the `ditc` executable (DITC_COMPILER, else `ditc` on PATH);
load() needs nothing but the library: it carries its runtime. Nothing here
runs at import: torch and subprocess are imported when first needed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from . import runtime
from .errors import (CommError, CompileError, DitcError, Error,  # noqa: F401
                     InputError)
from .runtime import TensorInfo, bf16_to_f32, f32_to_bf16  # noqa: F401

__all__ = ["compile", "load", "Model", "TensorInfo", "Error", "InputError",
           "CompileError", "CommError", "DitcError"]

PathLike = Union[str, "os.PathLike[str]"]

# The numpy spelling of each library dtype, for messages.
_DTYPE_WORDS = {"f32": "float32", "f64": "float64", "f16": "float16",
                "bf16": "bfloat16", "i64": "int64", "i32": "int32",
                "i16": "int16", "i8": "int8", "u8": "uint8", "u16": "uint16",
                "u32": "uint32", "u64": "uint64", "bool": "bool"}


# ---------------------------------------------------------------------------
# compile
# ---------------------------------------------------------------------------

def _compiler() -> str:
    """The ditc executable: DITC_COMPILER, else `ditc` on PATH."""
    env = os.environ.get("DITC_COMPILER")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise CompileError(f"DITC_COMPILER={env} is not an executable file")
        return env
    found = shutil.which("ditc")
    if found is None:
        raise CompileError("no ditc compiler: set DITC_COMPILER to the path of "
                           "the ditc executable or put ditc on PATH")
    return found


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(e).__name__}: {line}" if line else type(e).__name__


def _export_cause(e: BaseException) -> str:
    """One line saying why a torch exporter failed: the first entry of the
    dynamo exporter's "## Exception summary" (its first line only says
    which step failed), else the error's first line; no terminal colours."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    if "## Exception summary" in text:
        summary = text.split("## Exception summary", 1)[1]
        for line in summary.splitlines():
            m = re.match(r"<class '(?:[\w.]*\.)?(\w+)'>: (.*)", line.strip())
            if m:
                return f"{m.group(1)}: {m.group(2).strip()}"
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"{type(e).__name__}: {line}" if line else type(e).__name__


def _export_torch(module: Any, example_inputs: Any, directory: str,
                  verbose: bool, what: Optional[str] = None) -> str:
    """Exports a torch.nn.Module to directory/model.onnx: the dynamo exporter,
    else TorchScript (opset 17). Returns the file's path. what: the model's
    name in messages (default: the module's class)."""
    import torch  # lazily: the package works without torch

    if example_inputs is None:
        raise CompileError("compiling a torch.nn.Module needs example_inputs "
                           "(a tuple of positional inputs or a dict by name)")
    if isinstance(example_inputs, Mapping):
        args: Tuple[Any, ...] = ()
        kwargs: Dict[str, Any] = dict(example_inputs)
    elif isinstance(example_inputs, (tuple, list)):
        args, kwargs = tuple(example_inputs), {}
    else:
        args, kwargs = (example_inputs,), {}
    path = os.path.join(directory, "model.onnx")
    was_training = module.training
    module.eval()
    try:
        try:
            torch.onnx.export(module, args, path, kwargs=kwargs or None,
                              dynamo=True, verbose=verbose)
            return path
        except Exception as e:  # noqa: BLE001 - any exporter failure
            dynamo_error = e
        # TorchScript names the inputs input_0, ...: name them as forward does.
        names: Optional[List[str]] = None
        try:
            import inspect
            bound = inspect.signature(module.forward).bind(*args, **kwargs)
            names = list(bound.arguments)
        except (TypeError, ValueError):
            pass
        try:
            if os.path.exists(path):
                os.remove(path)
            legacy_args = args + ((kwargs,) if kwargs else ())
            torch.onnx.export(module, legacy_args, path, input_names=names,
                              opset_version=17, dynamo=False)
            return path
        except Exception as e:  # noqa: BLE001
            raise CompileError(
                f"cannot export {what or type(module).__name__} to ONNX: dynamo "
                f"exporter: {_export_cause(dynamo_error)}; TorchScript "
                f"exporter: {_export_cause(e)}") from e
    finally:
        module.train(was_training)


def _option_args(key: str, value: Any) -> List[str]:
    """One keyword of compile() as command-line arguments: True a bare
    flag, False/None nothing, a list or tuple the flag per item, a dict the
    flag per NAME=VALUE entry (dim={"tokens": 4096})."""
    flag = "--" + key.replace("_", "-")
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    if isinstance(value, Mapping):
        return [f"{flag}={k}={v}" for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [f"{flag}={v}" for v in value]
    return [f"{flag}={os.fspath(value) if isinstance(value, os.PathLike) else value}"]


def compile(model: Union[PathLike, Any], out: PathLike, *,
            example_inputs: Any = None, devices: int = 1,
            plan: Optional[str] = None, dtype: Optional[str] = None,
            target: str = "cpu",
            shapes: Optional[Mapping[str, Sequence[int]]] = None,
            verbose: Optional[bool] = None, **options: Any) -> Path:
    """Compiles `model` into the shared library `out` with `ditc compile`.

    model: an ONNX file (str or PathLike) or a torch.nn.Module, exported
        first (torch.onnx.export with dynamo=True, else the TorchScript
        exporter at opset 17) with `example_inputs` (a tuple of positional
        inputs or a dict by name; required for a module).
    out: the library's path (its directory is created). The weights go
        beside it (out with .safetensors; one file per rank for devices > 1).
    devices, plan, dtype, target: --devices, --plan ("cfg=2,ulysses=2" or
        "auto"), --dtype (f32, bf16, f16), --target (cpu, cuda).
    shapes: {input name: dims}, one --shape NAME=D0,D1,... each.
    verbose: pass the compiler's progress lines ("ditc: ...", as the
        command line prints them) to sys.stderr: None (the default) when
        sys.stderr is a terminal, True always (and let the torch exporter
        print its own), False never.
    options: any other option of `ditc compile`, underscores as dashes:
        io_dtype="bf16" -> --io-dtype=bf16; no_weights=True -> --no-weights
        (False or None: left out); a list repeats the flag; a dict gives
        NAME=VALUE entries (dim={"tokens": 4096} -> --dim=tokens=4096).

    Returns Path(out). Raises CompileError with the compiler's one-line
    error (or why the compiler or the export failed).
    """
    compiler = _compiler()
    out_path = Path(out)
    progress = _stderr_is_terminal() if verbose is None else bool(verbose)
    with tempfile.TemporaryDirectory(prefix="ditc-export-") as tmp:
        if isinstance(model, (str, os.PathLike)):
            source = os.fspath(model)
        else:
            # A module's class imported torch already; nothing else needs it.
            torch = sys.modules.get("torch")
            if torch is None or not isinstance(model, torch.nn.Module):
                raise TypeError("model must be an ONNX file path or a "
                                f"torch.nn.Module, not {type(model).__name__}")
            source = _export_torch(model, example_inputs, tmp, verbose is True)
        args = [compiler, "compile", source, "-o", os.fspath(out_path),
                f"--target={target}"]
        if devices != 1:
            args.append(f"--devices={int(devices)}")
        if plan is not None:
            args.append(f"--plan={plan}")
        if dtype is not None:
            args.append(f"--dtype={dtype}")
        for name, dims in (shapes or {}).items():
            args.append(f"--shape={name}=" + ",".join(str(int(d)) for d in dims))
        for key, value in options.items():
            args += _option_args(key, value)
        status, log = _run_compiler(args, progress)
    if status != 0:
        errors = [line for line in log.splitlines() if line.startswith("error: ")]
        if errors:
            message = errors[0][len("error: "):]
        else:
            lines = [line for line in log.splitlines() if line.strip()]
            message = (lines[0] if lines else
                       f"ditc compile exited with status {status}")
        raise CompileError(message, log)
    return out_path


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _run_compiler(args: List[str], verbose: bool) -> Tuple[int, str]:
    """Runs the compiler, its stdout and stderr as one stream (passed to
    sys.stderr as it comes when verbose). Returns (status, output)."""
    import subprocess

    lines: List[str] = []
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                errors="replace")
    except OSError as e:
        raise CompileError(f"cannot run {args[0]}: {e.strerror or e}") from None
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            lines.append(line)
            if verbose:
                sys.stderr.write(line)
                sys.stderr.flush()
    return proc.returncode, "".join(lines)


# ---------------------------------------------------------------------------
# load / Model
# ---------------------------------------------------------------------------

def _from_dlpack(value: Any) -> Optional[np.ndarray]:
    """A DLPack producer in host memory (JAX, CuPy's host arrays, PyTorch,
    ...) as a numpy view, no copy; None for anything else (numpy arrays,
    lists) and for producers np.from_dlpack cannot read (device memory),
    which np.asarray then tries."""
    if isinstance(value, np.ndarray) or not hasattr(value, "__dlpack__"):
        return None
    try:
        return np.from_dlpack(value)
    except (TypeError, RuntimeError, BufferError, ValueError):
        return None


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


class Model(runtime.Model):
    """A compiled model library, loaded: call it like the model.

        model = ditc.load("model.so")
        out = model(x, t)                 # positional, in model.inputs' order
        out = model(x=x, t=t)             # or by input name, or both
        outs = model.run({"x": x, "t": t})  # {output name: numpy array}

    Inputs are numpy arrays (or anything np.asarray takes) or torch tensors.
    Each must have the input's exact shape and a dtype that casts to the
    input's within its kind (np.can_cast(..., "same_kind"): float64 to
    float32 yes, float to int no); else InputError. A call returns the
    output, or a tuple of the outputs in order when there are several; torch
    tensors when any input was one, else numpy arrays. bf16 tensors:
    numpy has no bfloat16, so a bf16 input takes uint16 arrays of the bits
    (or floats, rounded to nearest even) and a bf16 output comes back as
    uint16 bits (ditc.runtime.bf16_to_f32 converts); torch bfloat16 tensors
    are passed and returned as they are.
    """

    def __init__(self, library: PathLike, weights: Optional[PathLike] = None,
                 random_weights: bool = False, *, threads: Optional[int] = None,
                 device: Optional[int] = None) -> None:
        if threads is not None and (isinstance(threads, bool) or
                                    not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive int, not {threads!r}")
        if device is not None:
            if isinstance(device, bool) or not isinstance(device, int) or device < 0:
                raise ValueError(f"device must be an int >= 0, not {device!r}")
            # Read by a cuda library when it is created (ditc_model.h).
            os.environ["DITC_CUDA_DEVICE"] = str(device)
        super().__init__(library, weights=weights, random_weights=random_weights)
        if threads is not None and self._has_threads:
            self._lib.ditc_model_set_num_threads(threads)
        self._names = [t.name for t in self.inputs]

    def __repr__(self) -> str:
        def sig(ts: List[TensorInfo]) -> str:
            return ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in ts)
        return (f"<ditc.Model ({sig(self.inputs)}) -> ({sig(self.outputs)}) "
                f"target={self.target} rank={self.rank}/{self.world_size}>")

    # -- inputs --------------------------------------------------------------

    def _bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> List[Any]:
        """The inputs in the library's order from positional and keyword
        arguments; InputError for too many, unknown, repeated or missing."""
        n = len(self.inputs)
        if len(args) > n:
            raise InputError(f"{len(args)} positional inputs given, the model "
                             f"takes {n}: {self._list(self._names)}")
        given: Dict[str, Any] = dict(zip(self._names, args))
        for name, value in kwargs.items():
            if name not in self._names:
                raise InputError(f"unknown input '{name}'; the model's inputs "
                                 f"are {self._list(self._names)}")
            if name in given:
                raise InputError(f"input '{name}' given twice (positionally "
                                 "and by name)")
            given[name] = value
        missing = [name for name in self._names if name not in given]
        if missing:
            word = "input" if len(missing) == 1 else "inputs"
            raise InputError(f"missing {word} {self._list(missing)}")
        return [given[name] for name in self._names]

    @staticmethod
    def _list(names: Sequence[str]) -> str:
        return ", ".join(f"'{n}'" for n in names)

    def _array(self, info: TensorInfo, value: Any) -> np.ndarray:
        """value as a C-contiguous array of the input's dtype (bf16: uint16
        bits), no copy when it already is one."""
        if _is_torch_tensor(value):
            array, source = self._from_torch(info, value)
        else:
            try:
                array = _from_dlpack(value)
                if array is None:
                    array = np.asarray(value)
            except Exception as e:  # noqa: BLE001 - ragged lists and the like
                raise InputError(f"input '{info.name}': not an array "
                                 f"({_first_line(e)})") from None
            source = array.dtype.name
            if array.dtype.kind in "OSUVMm":
                raise InputError(f"input '{info.name}': dtype {source}, "
                                 f"expected {_DTYPE_WORDS.get(info.dtype, info.dtype)}")
        if tuple(array.shape) != info.shape:
            raise InputError(f"input '{info.name}': shape {tuple(array.shape)}, "
                             f"expected {info.shape}")
        want = info.numpy_dtype
        if info.dtype == "bf16" and source != "bfloat16":
            if array.dtype == np.uint16:  # the bits, ditc.runtime's convention
                return np.ascontiguousarray(array)
            if array.dtype.kind != "f":
                raise InputError(f"input '{info.name}': dtype {source}, "
                                 "expected bfloat16 (or its bits as uint16)")
            return f32_to_bf16(array)
        if source != "bfloat16" and not np.can_cast(array.dtype, want, "same_kind"):
            raise InputError(f"input '{info.name}': dtype {source}, expected "
                             f"{_DTYPE_WORDS.get(info.dtype, info.dtype)}")
        return np.ascontiguousarray(array, dtype=want)

    def _from_torch(self, info: TensorInfo, tensor: Any) -> Tuple[np.ndarray, str]:
        """A torch tensor's data as numpy (a view when the tensor is on the
        CPU and contiguous) and the name of its dtype."""
        import torch

        tensor = tensor.detach()
        if tensor.device.type != "cpu":
            if self.target == "cpu":
                raise InputError(f"input '{info.name}': a tensor on {tensor.device}, "
                                 "this library runs on the CPU (move it with .cpu())")
            tensor = tensor.cpu()  # a cuda library takes host buffers
        tensor = tensor.resolve_conj().resolve_neg()
        if tensor.dtype == torch.bfloat16:
            bits = tensor.contiguous().view(torch.int16).numpy().view(np.uint16)
            if info.dtype == "bf16":
                return bits, "bfloat16"
            # bf16 widens to any float exactly; to other kinds it cannot.
            if info.numpy_dtype.kind != "f":
                raise InputError(f"input '{info.name}': dtype bfloat16, expected "
                                 f"{_DTYPE_WORDS.get(info.dtype, info.dtype)}")
            return bf16_to_f32(bits), "bfloat16"
        try:
            array = tensor.numpy()
        except (TypeError, RuntimeError) as e:
            raise InputError(f"input '{info.name}': {tensor.dtype} has no numpy "
                             f"equivalent ({_first_line(e)})") from None
        return array, array.dtype.name

    # -- running -------------------------------------------------------------

    def run(self, inputs: Union[Mapping[str, Any], Sequence[Any]]
            ) -> Dict[str, np.ndarray]:
        """inputs: {name: array} or a sequence in the library's order (numpy
        arrays or torch tensors). Returns {output name: numpy array} (bf16
        outputs as uint16 bits). Raises InputError for inputs that do not
        fit, DitcError (CommError) when the library fails."""
        if isinstance(inputs, Mapping):
            bound = self._bind((), inputs)
        else:
            values = list(inputs)
            if len(values) != len(self.inputs):
                raise InputError(f"{len(values)} inputs given, the model takes "
                                 f"{len(self.inputs)}: {self._list(self._names)}")
            bound = values
        held = [self._array(t, v) for t, v in zip(self.inputs, bound)]
        return dict(zip((t.name for t in self.outputs), self._run_arrays(held)))

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        """Runs the model: positional inputs in the order of model.inputs,
        keyword inputs by name. Returns the output (a tuple when several),
        as torch tensors when any input was one."""
        values = self._bind(args, kwargs)
        held = [self._array(t, v) for t, v in zip(self.inputs, values)]
        outs = self._run_arrays(held)
        if any(_is_torch_tensor(v) for v in values):
            outs = self._to_torch(values, outs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _to_torch(self, values: Sequence[Any], outs: List[np.ndarray]) -> List[Any]:
        """Outputs as torch tensors (sharing memory with the arrays), on the
        device of the inputs for a cuda library given cuda tensors."""
        import torch

        device = None
        if self.target != "cpu":
            device = next((v.device for v in values if _is_torch_tensor(v)
                           and v.device.type != "cpu"), None)
        tensors = []
        for info, array in zip(self.outputs, outs):
            if info.dtype == "bf16":
                t = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
            else:
                t = torch.from_numpy(array)
            tensors.append(t if device is None else t.to(device))
        return tensors


def load(path: PathLike, *, threads: Optional[int] = None,
         device: Optional[int] = None,
         weights: Optional[PathLike] = None) -> Model:
    """Loads a library made by `ditc compile` (or compile()).

    threads: the number of threads the kernels use (default: OMP_NUM_THREADS
        or every processor). It is process-wide: it sets the thread count of
        the library's runtime and OpenMP's, which other libraries loaded in
        this process share. No effect on cuda libraries.
    device: the GPU of a cuda library (sets DITC_CUDA_DEVICE, also
        process-wide, before the library is created; default GPU 0).
    weights: a weight file in place of the one beside the library.

    Raises DitcError (a ditc.Error) when the file is not a model library of
    this ABI, its weights do not fit, or it cannot start (no GPU, a
    multi-rank library outside its parallel run: CommError).
    """
    return Model(path, weights=weights, threads=threads, device=device)
