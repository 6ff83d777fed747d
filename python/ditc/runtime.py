"""ctypes bindings of the model ABI (include/ditc/runtime/ditc_model.h).

A library made by `ditc compile` (for --target cpu or cuda) exports the
ditc_model_* functions; Model wraps one instance:

    m = Model("model.so", weights=None)        # or random_weights=True
    m.inputs, m.outputs                        # [TensorInfo(name, dtype, shape)]
    out = m.run({"x": x, "t": t})              # {name: numpy array}
    m.target                                   # "cpu" or "cuda"

Inputs are converted to the library's dtype and shape checks are exact.
bf16 tensors are exchanged as numpy uint16 arrays of their bits (numpy has
no bfloat16); bf16_to_f32 / f32_to_bf16 convert. Errors raise DitcError with
the library's one-line message (CommError, a DitcError, for DITC_ERROR_COMM);
DitcError is a ditc.Error (ditc/errors.py).

ditc.Model (ditc/api.py) is this class with model(*args, **kwargs) calls,
torch tensors, thread and device settings and InputError for bad inputs.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import CommError, DitcError

ABI_VERSION = 2
RANDOM_WEIGHTS = ":random:"  # DITC_RANDOM_WEIGHTS

# ditc_dtype codes -> numpy dtypes (bf16 as its uint16 bits).
DTYPES = {
    0: np.dtype(np.float32), 1: np.dtype(np.int64), 2: np.dtype(np.int32),
    3: np.dtype(np.bool_), 4: np.dtype(np.float16), 5: np.dtype(np.uint16),
    6: np.dtype(np.float64), 7: np.dtype(np.int8), 8: np.dtype(np.uint8),
    9: np.dtype(np.int16), 10: np.dtype(np.uint16), 11: np.dtype(np.uint32),
    12: np.dtype(np.uint64),
}
DTYPE_NAMES = {0: "f32", 1: "i64", 2: "i32", 3: "bool", 4: "f16", 5: "bf16",
               6: "f64", 7: "i8", 8: "u8", 9: "i16", 10: "u16", 11: "u32",
               12: "u64"}


DITC_ERROR_COMM = 7  # ditc_status: communication between ranks failed


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32),
                ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("bytes", ctypes.c_uint64)]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str        # "f32", "bf16", ...
    shape: tuple
    nbytes: int

    @property
    def numpy_dtype(self) -> np.dtype:
        return DTYPES[_CODES[self.dtype]]


_CODES = {v: k for k, v in DTYPE_NAMES.items()}


class _ProbeInfo(ctypes.Structure):
    _fields_ = [("layer", ctypes.c_char_p), ("quantity", ctypes.c_char_p),
                ("tensor", _TensorInfo)]


class _CacheState(ctypes.Structure):
    _fields_ = [("skipped", ctypes.c_int32), ("change", ctypes.c_double),
                ("skipped_steps", ctypes.c_int32), ("bytes", ctypes.c_uint64)]


@dataclass(frozen=True)
class ProbeInfo:
    """A redundancy probe (ditc compile --probes redundancy): the layer
    ("block A.3", "block A.3.attn0"), what of it ("k", "v", "out",
    "residual", "k_text", ...) and the tensor it measures."""
    layer: str
    quantity: str
    tensor: TensorInfo


@dataclass(frozen=True)
class CacheState:
    """What a step cache (ditc compile --cache) measured and decided at the
    last run: whether it skipped the blocks, the relative L1 change (NaN:
    none), the steps skipped in this denoising run, its state's bytes."""
    skipped: bool
    change: float
    skipped_steps: int
    nbytes: int


def bf16_to_f32(bits):
    """uint16 bf16 bits -> float32."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    """float32 -> uint16 bf16 bits, rounded to nearest even (NaN kept)."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, (u >> 16) | 0x40, rounded).astype(np.uint16)


class Model:
    """One instance of a compiled model library."""

    def __init__(self, library: Union[str, os.PathLike], weights: Optional[Union[str, os.PathLike]] = None,
                 random_weights: bool = False) -> None:
        if weights is not None and random_weights:
            raise ValueError("weights and random_weights exclude each other")
        path = os.path.abspath(library)
        self.path = path  # the library's absolute path
        if not os.path.exists(path):
            raise DitcError(f"{library}: no such file")
        try:
            self._lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        except OSError as e:
            raise DitcError(f"{library}: cannot load: {e}") from None
        lib = self._lib
        try:
            lib.ditc_model_abi_version.restype = ctypes.c_uint32
        except AttributeError:
            raise DitcError(f"{library} is not a ditc model library") from None
        abi = lib.ditc_model_abi_version()
        if abi != ABI_VERSION:
            raise DitcError(f"{library} has model ABI {abi}, these bindings {ABI_VERSION}")
        P = ctypes.c_void_p
        lib.ditc_model_create.argtypes = [ctypes.c_char_p, ctypes.POINTER(P)]
        lib.ditc_model_create.restype = ctypes.c_int
        lib.ditc_model_destroy.argtypes = [P]
        lib.ditc_model_last_error.argtypes = [P]
        lib.ditc_model_last_error.restype = ctypes.c_char_p
        lib.ditc_status_string.argtypes = [ctypes.c_int]
        lib.ditc_status_string.restype = ctypes.c_char_p
        self._has_threads = hasattr(lib, "ditc_model_set_num_threads")
        if self._has_threads:
            lib.ditc_model_set_num_threads.argtypes = [ctypes.c_int32]
            lib.ditc_model_set_num_threads.restype = None
        self._has_plan = hasattr(lib, "ditc_model_plan")
        if self._has_plan:
            lib.ditc_model_plan.argtypes = [P]
            lib.ditc_model_plan.restype = ctypes.c_char_p
        for f in ("ditc_model_num_inputs", "ditc_model_num_outputs",
                  "ditc_model_rank", "ditc_model_world_size"):
            getattr(lib, f).argtypes = [P]
            getattr(lib, f).restype = ctypes.c_int32
        for f in ("ditc_model_input_info", "ditc_model_output_info"):
            getattr(lib, f).argtypes = [P, ctypes.c_int32, ctypes.POINTER(_TensorInfo)]
            getattr(lib, f).restype = ctypes.c_int
        lib.ditc_model_run.argtypes = [P, ctypes.POINTER(P), ctypes.POINTER(P)]
        lib.ditc_model_run.restype = ctypes.c_int
        for f in ("ditc_model_arena_bytes", "ditc_model_weight_bytes"):
            getattr(lib, f).argtypes = [P]
            getattr(lib, f).restype = ctypes.c_uint64
        lib.ditc_model_begin_denoising.argtypes = [P, ctypes.c_int32, ctypes.c_int32]
        lib.ditc_model_begin_denoising.restype = ctypes.c_int
        lib.ditc_model_set_denoising_step.argtypes = [P, ctypes.c_int32]
        lib.ditc_model_set_denoising_step.restype = ctypes.c_int
        lib.ditc_model_denoising_step.argtypes = [P]
        lib.ditc_model_denoising_step.restype = ctypes.c_int32
        self._has_kv = hasattr(lib, "ditc_model_kv_cache_bytes")
        if self._has_kv:
            lib.ditc_model_kv_cache_bytes.argtypes = [P]
            lib.ditc_model_kv_cache_bytes.restype = ctypes.c_uint64
        self._has_probes = hasattr(lib, "ditc_model_num_probes")
        if self._has_probes:
            lib.ditc_model_num_probes.argtypes = [P]
            lib.ditc_model_num_probes.restype = ctypes.c_int32
            lib.ditc_model_probe_info.argtypes = [P, ctypes.c_int32, ctypes.POINTER(_ProbeInfo)]
            lib.ditc_model_probe_info.restype = ctypes.c_int
            lib.ditc_model_probe_values.argtypes = [P, ctypes.POINTER(ctypes.c_double),
                                                    ctypes.c_int32]
            lib.ditc_model_probe_values.restype = ctypes.c_int32
            lib.ditc_model_probe_tensor.argtypes = [P, ctypes.c_int32, P]
            lib.ditc_model_probe_tensor.restype = ctypes.c_int
        self._has_cache = hasattr(lib, "ditc_model_cache_kind")
        if self._has_cache:
            lib.ditc_model_cache_kind.argtypes = [P]
            lib.ditc_model_cache_kind.restype = ctypes.c_char_p
            lib.ditc_model_cache_state.argtypes = [P, ctypes.POINTER(_CacheState)]
            lib.ditc_model_cache_state.restype = ctypes.c_int
        self._has_target = hasattr(lib, "ditc_model_target")
        if self._has_target:
            lib.ditc_model_target.argtypes = [P]
            lib.ditc_model_target.restype = ctypes.c_char_p

        handle = P()
        w = RANDOM_WEIGHTS if random_weights else weights
        status = lib.ditc_model_create(None if w is None else os.fsencode(w),
                                       ctypes.byref(handle))
        if status != 0:
            self._raise(None, status)
        self._model = handle
        self.inputs = [self._info(lib.ditc_model_input_info, i)
                       for i in range(lib.ditc_model_num_inputs(handle))]
        self.outputs = [self._info(lib.ditc_model_output_info, i)
                        for i in range(lib.ditc_model_num_outputs(handle))]
        self.probes = []
        for i in range(lib.ditc_model_num_probes(handle) if self._has_probes else 0):
            p = _ProbeInfo()
            status = lib.ditc_model_probe_info(handle, i, ctypes.byref(p))
            if status != 0:
                self._raise(handle, status)
            t = p.tensor
            self.probes.append(ProbeInfo(
                p.layer.decode(), p.quantity.decode(),
                TensorInfo(t.name.decode(), DTYPE_NAMES.get(t.dtype, str(t.dtype)),
                           tuple(t.shape[k] for k in range(t.rank)), t.bytes)))

    def _why(self, model, status):
        msg = self._lib.ditc_model_last_error(model).decode(errors="replace")
        what = self._lib.ditc_status_string(status).decode()
        return f"{what}: {msg}" if msg else what

    def _raise(self, model, status):
        """Raises the error of a failed call: CommError for DITC_ERROR_COMM,
        else DitcError, with the library's message."""
        cls = CommError if status == DITC_ERROR_COMM else DitcError
        raise cls(self._why(model, status))

    def _info(self, fn, i):
        t = _TensorInfo()
        status = fn(self._model, i, ctypes.byref(t))
        if status != 0:
            self._raise(self._model, status)
        return TensorInfo(t.name.decode(), DTYPE_NAMES.get(t.dtype, str(t.dtype)),
                          tuple(t.shape[k] for k in range(t.rank)), t.bytes)

    @property
    def target(self):
        if not self._has_target:
            return "cpu"
        return self._lib.ditc_model_target(self._model).decode()

    @property
    def arena_bytes(self):
        return self._lib.ditc_model_arena_bytes(self._model)

    @property
    def weight_bytes(self):
        return self._lib.ditc_model_weight_bytes(self._model)

    @property
    def kv_cache_bytes(self):
        """Bytes of the K/V buffers PipeFusion's stale schedule keeps from
        one denoising step to the next (0: no stale schedule)."""
        return self._lib.ditc_model_kv_cache_bytes(self._model) if self._has_kv else 0

    def probe_values(self) -> np.ndarray:
        """Each probe's relative L1 change in the last run (NaN: no previous
        run since the instance was made or a denoising run began)."""
        values = np.zeros(len(self.probes), dtype=np.float64)
        if self.probes:
            n = self._lib.ditc_model_probe_values(
                self._model, values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                len(values))
            if n < 0:
                self._raise(self._model, 2)
        return values

    def probe_tensor(self, index: int) -> np.ndarray:
        """The tensor probe `index` saw in the last run (bf16 as its bits,
        uint16)."""
        t = self.probes[index].tensor
        out = np.empty(t.shape, dtype=t.numpy_dtype)
        status = self._lib.ditc_model_probe_tensor(self._model, index,
                                                   out.ctypes.data_as(ctypes.c_void_p))
        if status != 0:
            self._raise(self._model, status)
        return out

    @property
    def cache_kind(self) -> str:
        """"fbcache", "teacache" or "" (no step cache)."""
        return self._lib.ditc_model_cache_kind(self._model).decode() if self._has_cache else ""

    def cache_state(self) -> CacheState:
        st = _CacheState()
        if self._has_cache:
            status = self._lib.ditc_model_cache_state(self._model, ctypes.byref(st))
            if status != 0:
                self._raise(self._model, status)
        return CacheState(bool(st.skipped), st.change, st.skipped_steps, st.bytes)

    @property
    def rank(self) -> int:
        """This process's rank (0 for a single-rank library)."""
        return self._lib.ditc_model_rank(self._model)

    @property
    def world_size(self) -> int:
        """The number of ranks the library was compiled for (ditc compile
        --devices; 1 for a single-rank library)."""
        return self._lib.ditc_model_world_size(self._model)

    @property
    def plan(self) -> str:
        """The parallel plan ("cfg=2,ulysses=2"; "" for a single rank)."""
        if not self._has_plan:
            return ""
        return self._lib.ditc_model_plan(self._model).decode()

    def run(self, inputs: Union[Mapping[str, np.ndarray], Sequence[np.ndarray]]
            ) -> Dict[str, np.ndarray]:
        """inputs: {name: array} or a list in the library's order. Returns
        {name: array} of the outputs (bf16 ones as uint16 bits)."""
        if isinstance(inputs, dict):
            missing = [t.name for t in self.inputs if t.name not in inputs]
            extra = sorted(set(inputs) - {t.name for t in self.inputs})
            if missing or extra:
                raise DitcError(f"inputs: missing {missing}, unknown {extra}")
            arrays = [inputs[t.name] for t in self.inputs]
        else:
            arrays = list(inputs)
            if len(arrays) != len(self.inputs):
                raise DitcError(f"{len(arrays)} inputs given, the model takes "
                                f"{len(self.inputs)}")
        held = []
        for t, a in zip(self.inputs, arrays):
            a = np.asarray(a)
            if tuple(a.shape) != t.shape:
                raise DitcError(f"input '{t.name}': shape {tuple(a.shape)}, "
                                f"expected {t.shape}")
            held.append(np.ascontiguousarray(a, dtype=t.numpy_dtype))
        outs = self._run_arrays(held)
        return {t.name: o for t, o in zip(self.outputs, outs)}

    def _run_arrays(self, held: List[np.ndarray]) -> List[np.ndarray]:
        """Runs on C-contiguous arrays of the inputs' exact dtypes and shapes
        (in order; the caller keeps them alive). Returns new output arrays."""
        outs = [np.empty(t.shape, t.numpy_dtype) for t in self.outputs]
        P = ctypes.c_void_p
        in_table = (P * max(1, len(held)))(*[a.ctypes.data for a in held])
        out_table = (P * max(1, len(outs)))(*[o.ctypes.data for o in outs])
        status = self._lib.ditc_model_run(self._model, in_table, out_table)
        if status != 0:
            self._raise(self._model, status)
        return outs

    def begin_denoising(self, steps: int, warmup_steps: int = 0) -> None:
        """A new denoising run of `steps` calls, the first `warmup_steps` of
        them warm-up (ditc_model.h). Raises DitcError naming the cause."""
        status = self._lib.ditc_model_begin_denoising(self._model, steps, warmup_steps)
        if status != 0:
            self._raise(self._model, status)

    def set_denoising_step(self, step: int) -> None:
        """The next run() is denoising step `step` (0, 1, ... in order)."""
        status = self._lib.ditc_model_set_denoising_step(self._model, step)
        if status != 0:
            self._raise(self._model, status)

    @property
    def denoising_step(self) -> int:
        """The denoising step the last run() was (-1: none set)."""
        return self._lib.ditc_model_denoising_step(self._model)

    def close(self):
        if getattr(self, "_model", None):
            self._lib.ditc_model_destroy(self._model)
            self._model = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
