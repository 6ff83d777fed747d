"""Run a diffusers pipeline's transformer through a compiled ditc library.

    import ditc.diffusers
    pipe = DiTPipeline(...)                         # or .from_pretrained(...)
    ditc.diffusers.compile_transformer(pipe, "out/", batch_size=1)
    images = pipe(class_labels=[207], num_inference_steps=25).images

compile_transformer() calls the pipeline once to see the transformer's
inputs at the shapes the pipeline will use (its first transformer call runs
in PyTorch, then the call is stopped), exports the transformer with those
inputs to ONNX, compiles it with `ditc compile` and puts a CompiledTransformer
in place of pipe.transformer: same forward signature, config and output
type, so pipe(...) runs unchanged. Each sampler run reaches the library's
step API (begin_denoising / set_denoising_step), which PipeFusion's stale
K/V needs.

Under mpirun (a library compiled with devices=N and a plan) every rank runs
the same script: rank 0 exports and compiles, the other ranks wait for it,
then every rank loads the library and runs the pipeline; the transformer
runs in parallel across the ranks and every rank gets its outputs.

torch and diffusers are imported here, when this module is imported (not by
`import ditc`).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
import weakref
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch

from .api import (Model, PathLike, _export_torch, _first_line,
                  _stderr_is_terminal, compile as _compile, load)
from .errors import CompileError, Error, InputError

__all__ = ["compile_transformer", "CompiledTransformer"]

# How long the ranks other than 0 wait for rank 0's compile (seconds); a
# full-size model takes minutes. DITC_COMPILE_WAIT overrides.
_DEFAULT_WAIT_S = 3600.0


class _Captured(Exception):
    """Raised by the capture hook to stop the pipeline after the
    transformer's first call."""


def _mpi_rank_size() -> Tuple[int, int]:
    """This process's rank and the run's size when started by mpirun (Open
    MPI, MPICH/PMI), else (0, 1)."""
    for rank_var, size_var in (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                               ("PMI_RANK", "PMI_SIZE"),
                               ("PMIX_RANK", None)):
        if rank_var in os.environ:
            size = int(os.environ.get(size_var, "0")) if size_var else 0
            return int(os.environ[rank_var]), max(size, 1)
    return 0, 1


def _run_token() -> str:
    """A string the same on every rank of one mpirun and different across
    runs (rank 0's marker file carries it)."""
    for var in ("PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "PMI_KVSNAME",
                "OMPI_MCA_orte_hnp_uri"):
        value = os.environ.get(var)
        if value:
            return value
    return f"ppid-{os.getppid()}"


# ---------------------------------------------------------------------------
# What the pipeline passes to its transformer
# ---------------------------------------------------------------------------

class _Call:
    """The transformer's first call in a pipeline run, split into the
    tensors (the library's inputs, in order) and everything else (baked into
    the export; later calls must pass the same)."""

    def __init__(self, signature: inspect.Signature, args: Tuple[Any, ...],
                 kwargs: Dict[str, Any], output: Any) -> None:
        self.takes_return_dict = "return_dict" in signature.parameters
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()  # a later call must not change one either
        self.tensors: List[Tuple[str, Tuple[str, ...]]] = []  # (name, path)
        self.examples: List[torch.Tensor] = []
        self.constants: Dict[str, Any] = {}
        for param, value in bound.arguments.items():
            if param == "return_dict":
                continue
            kind = signature.parameters[param].kind
            if kind == inspect.Parameter.VAR_KEYWORD:
                items = list(value.items())
            elif kind == inspect.Parameter.VAR_POSITIONAL:
                if value:
                    raise CompileError(f"the transformer's forward takes "
                                       f"*{param}; only named inputs can be "
                                       "exported")
                continue
            else:
                items = [(param, value)]
            for name, v in items:
                self._add(name, (name,), v)
        self.returns, self.output_fields = _output_structure(output)
        self.outputs = [t.detach() for t in _flatten_output(output)]

    def _add(self, name: str, path: Tuple[str, ...], value: Any) -> None:
        if isinstance(value, torch.Tensor):
            self.tensors.append(("_".join(path), path))
            self.examples.append(value.detach())
        elif isinstance(value, Mapping) and any(
                isinstance(v, torch.Tensor) for v in value.values()):
            const = {}
            for k, v in value.items():
                if isinstance(v, torch.Tensor):
                    self.tensors.append(("_".join(path + (str(k),)),
                                         path + (str(k),)))
                    self.examples.append(v.detach())
                elif isinstance(v, Mapping) and any(
                        isinstance(x, torch.Tensor) for x in v.values()):
                    raise CompileError(
                        f"the transformer's argument '{name}' nests tensors "
                        "two dicts deep; only tensors and dicts of tensors "
                        "can be inputs")
                else:
                    const[k] = v
            self.constants[name] = _DictWithTensors(const)
        else:
            self.constants[name] = value

    @property
    def input_names(self) -> List[str]:
        return [name for name, _ in self.tensors]

    def kwargs(self, tensors: Tuple[Any, ...]) -> Dict[str, Any]:
        """forward's keyword arguments from the tensors (in order) and the
        constants."""
        out: Dict[str, Any] = {}
        for name, value in self.constants.items():
            out[name] = dict(value) if isinstance(value, _DictWithTensors) else value
        for (_, path), tensor in zip(self.tensors, tensors):
            if len(path) == 1:
                out[path[0]] = tensor
            else:
                out.setdefault(path[0], {})[path[1]] = tensor
        return out


class _DictWithTensors(dict):
    """The non-tensor entries of a dict argument some of whose entries are
    tensors (added_cond_kwargs={"resolution": tensor, ...})."""


def _output_structure(output: Any) -> Tuple[Any, List[str]]:
    """What forward returns with return_dict=True: its class (diffusers'
    BaseOutput, an ordered dict), "tensor" or "tuple"; and the names of its
    tensor fields."""
    if isinstance(output, torch.Tensor):
        return "tensor", ["sample"]
    if isinstance(output, Mapping):
        fields = [k for k, v in output.items() if isinstance(v, torch.Tensor)]
        return type(output), fields
    if isinstance(output, (tuple, list)):
        return "tuple", [f"output_{i}" for i, v in enumerate(output)
                         if isinstance(v, torch.Tensor)]
    raise CompileError(f"the transformer returned {type(output).__name__}; "
                       "expected tensors, a tuple or a diffusers output")


def _flatten_output(output: Any) -> Tuple[torch.Tensor, ...]:
    if isinstance(output, torch.Tensor):
        return (output,)
    if isinstance(output, Mapping):
        return tuple(v for v in output.values() if isinstance(v, torch.Tensor))
    return tuple(v for v in output if isinstance(v, torch.Tensor))


def _pipeline_arguments(pipe: Any, batch_size: int, height: Optional[int],
                        width: Optional[int], guidance: bool,
                        call_kwargs: Optional[Mapping[str, Any]]
                        ) -> Dict[str, Any]:
    """Arguments of one pipe(...) call that makes the transformer see the
    shapes asked for."""
    params = inspect.signature(pipe.__call__).parameters
    kwargs: Dict[str, Any] = {}
    name = type(pipe).__name__
    if "class_labels" in params:
        kwargs["class_labels"] = [0] * batch_size
    elif "prompt" in params:
        kwargs["prompt"] = ["a photo"] * batch_size
    else:
        raise CompileError(f"cannot tell how to call {name}: its __call__ "
                           "takes neither prompt nor class_labels")
    for key, value in (("height", height), ("width", width)):
        if value is not None:
            if key not in params:
                raise CompileError(f"{name} takes no {key}: its transformer's "
                                   "resolution is fixed by its config")
            kwargs[key] = int(value)
    if "guidance_scale" in params:
        default = params["guidance_scale"].default
        if not guidance:
            kwargs["guidance_scale"] = 1.0
        elif not isinstance(default, (int, float)) or default <= 1.0:
            kwargs["guidance_scale"] = 4.0
    elif guidance:
        raise CompileError(f"{name} has no classifier-free guidance "
                           "(no guidance_scale): pass guidance=False")
    if "num_inference_steps" in params:
        kwargs["num_inference_steps"] = 2
    if "output_type" in params:
        kwargs["output_type"] = "latent"
    if "generator" in params:
        kwargs["generator"] = torch.Generator().manual_seed(0)
    kwargs.update(call_kwargs or {})
    return kwargs


def _capture(pipe: Any, transformer: torch.nn.Module,
             pipe_kwargs: Dict[str, Any]) -> _Call:
    """Calls the pipeline until its transformer's first call has run and
    returns what it was called with and returned."""
    seen: Dict[str, Any] = {}
    takes_return_dict = "return_dict" in inspect.signature(
        transformer.forward).parameters

    def hook(module: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any],
             output: Any) -> None:
        if takes_return_dict and kwargs.get("return_dict", True) is False:
            # The output class the pipeline did not ask for, for callers
            # that will (one more forward, at capture only).
            output = module.forward(*args, **{**kwargs, "return_dict": True})
        seen.update(args=args, kwargs=dict(kwargs), output=output)
        raise _Captured()

    handle = transformer.register_forward_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            pipe(**pipe_kwargs)
    except _Captured:
        pass
    except Error:
        raise
    except Exception as e:  # noqa: BLE001 - the pipeline's own failure
        raise CompileError(f"calling {type(pipe).__name__} to see its "
                           f"transformer's inputs failed: {_first_line(e)}") from e
    finally:
        handle.remove()
    if not seen:
        raise CompileError(f"{type(pipe).__name__} did not call its "
                           "transformer")
    return _Call(inspect.signature(transformer.forward), seen["args"],
                 seen["kwargs"], seen["output"])


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

class _ForExport(torch.nn.Module):
    """The transformer called as the pipeline calls it, with the tensors as
    positional inputs and the outputs as a tuple of tensors."""

    def __init__(self, transformer: torch.nn.Module, call: _Call) -> None:
        super().__init__()
        self.transformer = transformer
        self.call = call

    def forward(self, *tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        kwargs = self.call.kwargs(tensors)
        if self.call.takes_return_dict:
            kwargs["return_dict"] = False
        return _flatten_output(self.transformer(**kwargs))


def _rename_io(path: str, inputs: List[str], outputs: List[str]) -> None:
    """Names the exported graph's inputs and outputs (the exporter names
    positional inputs tensors_0, ...) after the transformer's arguments."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    graph_inputs = [i for i in graph.input if i.name not in initializers]
    if len(graph_inputs) != len(inputs) or len(graph.output) != len(outputs):
        raise CompileError(
            f"the exported graph has {len(graph_inputs)} inputs and "
            f"{len(graph.output)} outputs; the transformer was called with "
            f"{len(inputs)} tensors and returned {len(outputs)}")
    renames = {old.name: new for old, new in zip(graph_inputs, inputs)}
    renames.update({old.name: new for old, new in zip(graph.output, outputs)})
    taken = {v.name for v in graph.value_info} | {
        o for n in graph.node for o in n.output} | initializers
    for old, new in renames.items():
        if new != old and new in taken and new not in renames:
            raise CompileError(f"cannot name the exported input '{old}' "
                               f"'{new}': the graph has a value of that name")

    def rename(name: str) -> str:
        return renames.get(name, name)

    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = rename(value.name)
    for node in graph.node:
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
    onnx.save(model, path)


# ---------------------------------------------------------------------------
# The module that replaces pipe.transformer
# ---------------------------------------------------------------------------

class CompiledTransformer(torch.nn.Module):
    """pipe.transformer after compile_transformer(): the original's forward
    signature, config and output type, computed by a ditc library.

    model: the loaded ditc.Model. Calls must pass tensors of the compiled
    shapes and the same non-tensor arguments as when it was compiled
    (else ditc.InputError naming both).
    """

    def __init__(self, model: Model, original: torch.nn.Module, call: _Call,
                 compiled_for: str, warmup_steps: int, pipe: Any) -> None:
        super().__init__()
        self.model = model
        self.config = getattr(original, "config", None)
        self._signature = inspect.signature(original.forward)

        # forward with the original's signature (pipelines inspect it), on
        # this instance only.
        def forward(*args: Any, **kwargs: Any) -> Any:
            return self._forward(*args, **kwargs)
        forward.__signature__ = self._signature  # type: ignore[attr-defined]
        forward.__doc__ = original.forward.__doc__
        self.forward = forward
        self._call = call
        self._shapes = [tuple(t.shape) for t in call.examples]
        self._dtypes = [t.dtype for t in call.examples]
        self._compiled_for = compiled_for
        self.warmup_steps = warmup_steps
        self._steps = 0          # of the denoising run begun, 0: none
        self._next_step = 0
        self._scheduler: Any = None
        self._pipe = weakref.ref(pipe)  # for its scheduler, swapped or not
        self.dtype = next((p.dtype for p in original.parameters()),
                          torch.float32)
        self.device = torch.device("cpu")
        self.original_class = type(original)
        self._watch(getattr(pipe, "scheduler", None))

    # -- what pipelines ask of a transformer ----------------------------------

    def __getattr__(self, name: str) -> Any:
        # Pipelines read config entries as attributes now and then
        # (transformer.in_channels); diffusers' ModelMixin forwards them.
        try:
            return super().__getattr__(name)
        except AttributeError:
            config = self.__dict__.get("config")
            if config is not None and name in config:
                return config[name]
            raise

    def extra_repr(self) -> str:
        return f"{self.original_class.__name__} compiled by ditc: {self._compiled_for}"

    # -- the denoising run ---------------------------------------------------

    def begin_denoising(self, steps: int, warmup_steps: Optional[int] = None) -> None:
        """Starts a denoising run of `steps` transformer calls (the first
        `warmup_steps` of them warm-up; default: compile_transformer's).
        compile_transformer() makes the pipeline's scheduler call this from
        set_timesteps, so a pipeline needs nothing more."""
        warm = self.warmup_steps if warmup_steps is None else warmup_steps
        self.model.begin_denoising(int(steps), min(int(warm), int(steps)))
        self._steps, self._next_step = int(steps), 0

    def _watch(self, scheduler: Any) -> None:
        """Makes scheduler.set_timesteps begin a denoising run of as many
        steps as it makes timesteps."""
        if scheduler is None or scheduler is self._scheduler:
            return
        original = scheduler.set_timesteps
        module = self

        def set_timesteps(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            timesteps = getattr(scheduler, "timesteps", None)
            if timesteps is not None and module._scheduler is scheduler:
                module.begin_denoising(len(timesteps))
            return result

        scheduler.set_timesteps = set_timesteps
        self._scheduler = scheduler

    # -- a call ----------------------------------------------------------------

    def _forward(self, *args: Any, **kwargs: Any) -> Any:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise InputError(f"transformer: {e}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        return_dict = arguments.pop("return_dict", True)
        for param in list(arguments):
            if self._signature.parameters[param].kind == inspect.Parameter.VAR_KEYWORD:
                arguments.update(arguments.pop(param))
        tensors = []
        for i, (name, path) in enumerate(self._call.tensors):
            value: Any = arguments.get(path[0])
            if len(path) > 1:
                value = value.get(path[1]) if isinstance(value, Mapping) else None
            if not isinstance(value, torch.Tensor):
                raise InputError(f"transformer input '{name}': "
                                 f"{type(value).__name__}, compiled for a tensor "
                                 f"of shape {self._shapes[i]}")
            if tuple(value.shape) != self._shapes[i]:
                raise InputError(
                    f"transformer input '{name}' has shape {tuple(value.shape)}; "
                    f"it was compiled for {self._shapes[i]} "
                    f"({self._compiled_for}): compile it again for this batch "
                    "size and resolution")
            if value.dtype.is_floating_point != self._dtypes[i].is_floating_point:
                raise InputError(f"transformer input '{name}': dtype "
                                 f"{value.dtype}, compiled for {self._dtypes[i]}: "
                                 "compile it again with the scheduler the "
                                 "pipeline runs")
            tensors.append(value.to(self._dtypes[i]))
        for name, expected in self._call.constants.items():
            given = arguments.get(name)  # every parameter, its default too
            if isinstance(expected, _DictWithTensors):
                given = {k: v for k, v in (given or {}).items()
                         if not isinstance(v, torch.Tensor)}
            if not _same(given, expected):
                raise InputError(f"transformer argument '{name}' is {given!r}; "
                                 f"it was compiled with {dict(expected) if isinstance(expected, dict) else expected!r}")
        # A scheduler swapped in after compiling: its runs are numbered
        # from its next set_timesteps on.
        pipe = self._pipe()
        if pipe is not None:
            self._watch(getattr(pipe, "scheduler", None))
        self._step()
        outs = self.model(*tensors)
        if not isinstance(outs, tuple):
            outs = (outs,)
        outs = tuple(o.to(self.dtype) for o in outs)
        returns = self._call.returns
        if not return_dict or returns == "tuple":
            return outs
        if returns == "tensor":
            return outs[0]
        return returns(**dict(zip(self._call.output_fields, outs)))

    def _step(self) -> None:
        """Tells the library which denoising step this call is."""
        if self._steps and self._next_step < self._steps:
            self.model.set_denoising_step(self._next_step)
            self._next_step += 1
        else:
            self._steps = 0  # beyond the run begun: an unnumbered call


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - a comparison that does not reduce
        return a is b


# ---------------------------------------------------------------------------
# compile_transformer
# ---------------------------------------------------------------------------

_calls = 0  # compile_transformer calls in this process (the same on every rank)


def compile_transformer(pipe: Any, out_dir: PathLike, *, batch_size: int = 1,
                        height: Optional[int] = None,
                        width: Optional[int] = None, guidance: bool = True,
                        warmup_steps: int = 1,
                        call_kwargs: Optional[Mapping[str, Any]] = None,
                        check: bool = True, keep_onnx: bool = False,
                        threads: Optional[int] = None,
                        verbose: Optional[bool] = None,
                        **compile_options: Any) -> CompiledTransformer:
    """Compiles pipe.transformer with ditc and puts the compiled module in
    its place (pipe.transformer); returns the new module.

    batch_size: prompts (or class labels) per pipe(...) call times images
        per prompt; classifier-free guidance doubles the transformer's batch.
    height, width: the image size the pipeline will be called with (None:
        the pipeline's default).
    guidance: whether the pipeline will run with classifier-free guidance
        (guidance_scale > 1).
    warmup_steps: denoising steps of each run that run the synchronous
        schedule before PipeFusion reuses stale K/V (the library's step API).
    call_kwargs: further arguments of the pipe(...) calls that change the
        transformer's inputs (e.g. max_sequence_length=120,
        use_resolution_binning=False).
    check: run the library once on the inputs of the pipeline's first
        transformer call and compare with what PyTorch returned for them
        (relative L2 at most 1e-3; 5e-2 with dtype bf16 or f16 or a
        transformer in bf16 or f16), else
        CompileError: a wrong export does not go unnoticed.
    keep_onnx: keep the exported graph as out_dir/onnx/model.onnx (for
        `ditc profile` or `ditc compile` by hand); else it is deleted.
    threads, verbose: as ditc.load / ditc.compile.
    compile_options: ditc.compile's (devices=, plan=, dtype=, target=, ...).

    out_dir gets transformer.so, its weights and transformer.json (what it
    was compiled for). Under mpirun, rank 0 compiles; every rank loads.
    Raises CompileError (the export or compile failed, naming the cause).
    """
    global _calls
    _calls += 1
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
    transformer = getattr(pipe, "transformer", None)
    if isinstance(transformer, CompiledTransformer):
        raise CompileError(f"{type(pipe).__name__}.transformer is compiled "
                           "already; build the pipeline again to recompile")
    if not isinstance(transformer, torch.nn.Module):
        raise CompileError(f"{type(pipe).__name__} has no transformer module "
                           f"(pipe.transformer is {type(transformer).__name__})")
    out = Path(out_dir)
    rank, size = _mpi_rank_size()
    pipe_kwargs = _pipeline_arguments(pipe, batch_size, height, width,
                                      guidance, call_kwargs)
    call = _capture(pipe, transformer, pipe_kwargs)
    compiled_for = (f"batch_size={batch_size}, guidance={guidance}, "
                    f"height={height}, width={width}")
    library = out / "transformer.so"
    marker = out / "transformer.json"
    token = f"{_run_token()}#{_calls}"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if marker.exists():
            marker.unlink()
        error = None
        try:
            _export_and_compile(transformer, call, library, verbose,
                                keep_onnx, compile_options)
        except BaseException as e:  # the other ranks must not wait on it
            error = str(e) if isinstance(e, Error) else _first_line(e)
            raise
        finally:
            if size > 1 or error is None:
                _write_marker(marker, token, call, compiled_for, error)
    else:
        _wait_for(marker, token)
    model = load(library, threads=threads)
    if check:
        _check(model, call, compile_options.get("dtype"))
    compiled = CompiledTransformer(model, transformer, call, compiled_for,
                                   warmup_steps, pipe)
    pipe.transformer = compiled
    return compiled


def _export_and_compile(transformer: torch.nn.Module, call: _Call,
                        library: Path, verbose: Optional[bool], keep_onnx: bool,
                        options: Dict[str, Any]) -> None:
    import contextlib
    import tempfile

    wrapper = _ForExport(transformer, call).eval()
    progress = _stderr_is_terminal() if verbose is None else verbose
    if keep_onnx:
        kept = library.parent / "onnx"
        kept.mkdir(exist_ok=True)
        folder: Any = contextlib.nullcontext(str(kept))
    else:
        folder = tempfile.TemporaryDirectory(prefix="ditc-transformer-")
    with folder as tmp:
        started = time.monotonic()
        if progress:
            print(f"ditc: exporting {type(transformer).__name__} to ONNX",
                  file=sys.stderr, flush=True)
        with torch.no_grad():
            path = _export_torch(wrapper, tuple(call.examples), tmp,
                                 verbose is True,
                                 what=type(transformer).__name__)
        _rename_io(path, call.input_names, list(call.output_fields))
        if progress:
            print(f"ditc: exported in {time.monotonic() - started:.1f} s",
                  file=sys.stderr, flush=True)
        _compile(path, library, verbose=verbose, **options)


def _check(model: Model, call: _Call, dtype: Optional[str]) -> None:
    """The library against PyTorch on the captured call."""
    half = (torch.bfloat16, torch.float16)
    low = dtype in ("bf16", "f16") or any(
        t.dtype in half for t in list(call.examples) + list(call.outputs))
    tolerance = 5e-2 if low else 1e-3
    outs = model(*call.examples)
    if not isinstance(outs, tuple):
        outs = (outs,)
    for name, got, want in zip(call.output_fields, outs, call.outputs):
        want64 = want.double()
        norm = float(torch.linalg.vector_norm(want64))
        diff = float(torch.linalg.vector_norm(got.double() - want64))
        rel = diff / norm if norm > 0 else diff
        if not rel <= tolerance:
            raise CompileError(
                f"the compiled transformer's output '{name}' differs from "
                f"PyTorch's on the pipeline's inputs: relative L2 {rel:.3g} > "
                f"{tolerance:g} (check=False skips this check)")


def _write_marker(marker: Path, token: str, call: _Call, compiled_for: str,
                  error: Optional[str]) -> None:
    info = {"token": token, "error": error, "compiled_for": compiled_for,
            "inputs": [{"name": n, "shape": list(t.shape),
                        "dtype": str(t.dtype).replace("torch.", "")}
                       for n, t in zip(call.input_names, call.examples)],
            "outputs": call.output_fields}
    tmp = marker.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, marker)


def _wait_for(marker: Path, token: str) -> None:
    """Waits until rank 0 has written the marker of this run."""
    limit = float(os.environ.get("DITC_COMPILE_WAIT", _DEFAULT_WAIT_S))
    deadline = time.monotonic() + limit
    while True:
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            info = None
        if info is not None and info.get("token") == token:
            if info.get("error"):
                raise CompileError(f"rank 0: {info['error']}")
            return
        if time.monotonic() > deadline:
            raise CompileError(f"rank 0 did not compile {marker.parent} "
                               f"within {limit:.0f} s (DITC_COMPILE_WAIT)")
        time.sleep(0.2)
