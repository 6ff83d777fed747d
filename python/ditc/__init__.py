"""ditc from Python: compile ONNX models (or torch.nn.Modules) with the ditc
compiler and run the shared libraries it makes.

    import ditc
    lib = ditc.compile("model.onnx", "out/model.so")   # runs `ditc compile`
    model = ditc.load(lib)
    out = model(x, t)                                 # numpy or torch tensors

Loading and running need only numpy: a library carries its runtime and is
driven through its C ABI with ctypes (ditc.runtime). Compiling needs the
`ditc` executable (DITC_COMPILER, else PATH); torch only to export a module.
"""

from .api import compile, load, Model  # noqa: F401
from .errors import (CommError, CompileError, DitcError, Error,  # noqa: F401
                     InputError)
from .runtime import TensorInfo  # noqa: F401

__all__ = ["compile", "load", "Model", "TensorInfo", "Error", "InputError",
           "CompileError", "CommError", "DitcError"]
