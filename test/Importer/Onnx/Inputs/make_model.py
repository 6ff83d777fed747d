#!/usr/bin/python3
"""Writes small binary ONNX models (and tensors) for the importer tests.

  make_model.py weights OUT.onnx          a large and a small initializer
  make_model.py external OUT.onnx LOC     an initializer stored in file LOC
  make_model.py tensor OUT.pb DTYPE V,...  a 1-D TensorProto of these values
  make_model.py empty_input OUT.onnx      Max with an empty (omitted) input
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(graph, out):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, out)


def weights(out):
    big = numpy_helper.from_array(np.ones((16, 8), np.float32), "big")
    small = numpy_helper.from_array(np.arange(8, dtype=np.float32), "small")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "big"], ["h"], name="mm"),
         helper.make_node("Add", ["h", "small"], ["y"], name="add")],
        "weights",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
        [big, small])
    save(graph, out)


def external(out, location):
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                    data_location=TensorProto.EXTERNAL)
    w.external_data.add(key="location", value=location)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
    save(graph, out)


def tensor(out, dtype, values):
    array = np.array([int(v) for v in values.split(",")], dtype=dtype)
    with open(out, "wb") as f:
        f.write(numpy_helper.from_array(array).SerializeToString())


def empty_input(out):
    graph = helper.make_graph(
        [helper.make_node("Max", ["x", ""], ["y"], name="max")], "empty",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    save(graph, out)


if __name__ == "__main__":
    commands = {"weights": weights, "external": external, "tensor": tensor,
                "empty_input": empty_input}
    commands[sys.argv[1]](*sys.argv[2:])
