"""Python bindings of ditc: load and run the libraries `ditc compile` makes.

    from ditc import Model
    m = Model("model.so")                      # weights beside it
    outputs = m.run({"x": x})                  # numpy in, numpy out

Only the standard library and numpy are needed (the model ABI is plain C,
loaded with ctypes); see ditc.runtime.
"""

from .runtime import DitcError, Model, TensorInfo  # noqa: F401
