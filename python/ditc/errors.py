"""The exceptions of the ditc package (re-exported as ditc.Error, ...).

    Error                 everything ditc raises (a RuntimeError)
    ├── CompileError      `ditc compile` failed, no compiler, a failed export
    └── DitcError         a loaded model library refused a call
        ├── InputError    inputs that do not fit the library's
        └── CommError     multi-rank: the ranks could not talk to each other

The message is one line: the one the `ditc` command line would print,
without its "error: " prefix. DitcError keeps the name older code catches
(ditc.runtime.DitcError); every failure of a loaded model is one.
"""

from __future__ import annotations


class Error(RuntimeError):
    """Anything ditc raises; the message is one line."""


class CompileError(Error):
    """`ditc compile` failed (its first "error: " line), the compiler was not
    found, or a torch.nn.Module could not be exported to ONNX.

    `log` holds everything the compiler printed (empty when it did not run).
    """

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class DitcError(Error):
    """A call into a model library failed; the message is the library's
    status and last error ("invalid argument: ...")."""


class InputError(DitcError):
    """Inputs that do not fit the library: a missing, unknown or repeated
    name, another shape, or a dtype that does not cast safely to the
    library's. The message names the input and what was expected."""


class CommError(DitcError):
    """A multi-rank library whose communicators could not be made, or a
    collective that failed or timed out (DITC_ERROR_COMM)."""


# Tracebacks name the classes where users find them: ditc.Error, ... and,
# as before, ditc.runtime.DitcError.
for _cls in (Error, CompileError, InputError, CommError):
    _cls.__module__ = "ditc"
DitcError.__module__ = "ditc.runtime"
del _cls
