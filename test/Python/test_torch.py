"""The Python package with torch (python/ditc): torch tensors in and out of
ditc.Model (against `ditc run` and PyTorch), torch.nn.Modules compiled by
ditc.compile (against the module), and the errors only torch inputs meet.

Needs torch: run with the venv's Python (${DITC_VENV:-/opt/ditc-venv}, made
by .ci/setup.sh); test/Python/pytest-venv.test does.
"""

import subprocess

import numpy as np
import pytest
import torch

import ditc

from common import FIXTURES, INPUTS, compiler, fixture_arrays, rel_l2


@pytest.fixture(scope="module")
def pixart(tmp_path_factory):
    out = tmp_path_factory.mktemp("pixart")
    return ditc.load(ditc.compile(FIXTURES / "pixart_dynamo" / "model.onnx",
                                  out / "pixart.so"))


def test_torch_tensors_match_cli_and_pytorch(pixart, tmp_path):
    """Torch inputs give torch outputs equal to `ditc run`'s on the same
    data and close to what PyTorch computed when the fixture was made."""
    inputs = fixture_arrays("pixart_dynamo", "inputs")
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    out = pixart(**tensors)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32 and tuple(out.shape) == (2, 8, 8, 8)

    cli = tmp_path / "cli.npz"
    assert pixart.path.endswith("pixart.so")
    subprocess.run([compiler(), "run", pixart.path, "--inputs",
                    str(FIXTURES / "pixart_dynamo" / "inputs.npz"),
                    "--outputs", str(cli)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with np.load(cli) as f:
        theirs = f["sample"]
    assert np.array_equal(out.numpy(), theirs) or rel_l2(out.numpy(), theirs) < 1e-6
    pytorch = fixture_arrays("pixart_dynamo", "outputs")["sample"]
    assert rel_l2(out.numpy(), pytorch) < 1e-4
    # numpy in, numpy out: the same numbers.
    assert np.array_equal(pixart(**inputs), out.numpy())


def test_contiguous_cpu_tensors_are_not_copied(pixart):
    """A contiguous float32 CPU tensor reaches the library as a view; a
    strided or float64 one is copied (and gives the same result)."""
    inputs = {k: torch.from_numpy(v) for k, v in
              fixture_arrays("pixart_dynamo", "inputs").items()}
    info = pixart.inputs[0]
    x = inputs["hidden_states"]
    assert np.shares_memory(pixart._array(info, x), x.numpy())
    strided = x.transpose(2, 3).contiguous().transpose(2, 3)
    assert not strided.is_contiguous()
    assert not np.shares_memory(pixart._array(info, strided), strided.numpy())
    want = pixart(**inputs)
    for other in (strided, x.double()):
        assert torch.equal(pixart(other, inputs["encoder_hidden_states"],
                                  inputs["timestep"]), want)
    # Outputs of a call are new tensors, which the caller owns.
    again = pixart(**inputs)
    assert torch.equal(again, want) and again.data_ptr() != want.data_ptr()


def test_dlpack_producers_are_read_without_a_copy(pixart):
    """Any DLPack producer in host memory (here an object that only offers
    __dlpack__, backed by a torch tensor) is read as a view."""
    class Producer:
        def __init__(self, tensor):
            self.tensor = tensor

        def __dlpack__(self, **kwargs):
            return self.tensor.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.tensor.__dlpack_device__()

    inputs = {k: torch.from_numpy(v) for k, v in
              fixture_arrays("pixart_dynamo", "inputs").items()}
    x = inputs["hidden_states"]
    view = pixart._array(pixart.inputs[0], Producer(x))
    assert np.shares_memory(view, x.numpy())
    out = pixart(Producer(x), inputs["encoder_hidden_states"].numpy(),
                 inputs["timestep"].numpy())
    assert isinstance(out, np.ndarray)
    assert np.array_equal(out, pixart(**inputs).numpy())


def test_bfloat16_tensors(tmp_path):
    """torch.bfloat16 tensors go in and come out as they are (io_dtype=bf16);
    float32 ones are rounded to bf16."""
    model = ditc.load(ditc.compile(INPUTS / "two_outputs.onnxtxt",
                                   tmp_path / "two.so", io_dtype="bf16"))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, generator=gen).to(torch.bfloat16)
    y = torch.randn(3, generator=gen).to(torch.bfloat16)
    s, p = model(x, y)
    assert s.dtype == torch.bfloat16 and p.dtype == torch.bfloat16
    # bf16 + bf16 computed in f32 and rounded once, as torch does it.
    assert torch.equal(s, (x.float() + y.float()).to(torch.bfloat16))
    assert torch.equal(p, (x.float() * y.float()).to(torch.bfloat16))
    s32, _ = model(x.float(), y.float())
    assert torch.equal(s32, s)


class Attention(torch.nn.Module):
    """A small self-attention block with a residual, sized oddly."""

    def __init__(self, dim=24, heads=3):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.out = torch.nn.Linear(dim, dim)
        self.norm = torch.nn.LayerNorm(dim)

    def forward(self, x, scale):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        split = lambda t: t.view(b, n, self.heads, -1).transpose(1, 2)  # noqa: E731
        a = torch.nn.functional.scaled_dot_product_attention(
            split(q), split(k), split(v))
        return x + scale * self.out(a.transpose(1, 2).reshape(b, n, d))


class DataDependent(torch.nn.Module):
    """Python control flow on a tensor's value: torch.export refuses it,
    the TorchScript exporter traces the branch taken."""

    def forward(self, x, y):
        if x.sum() > 0:
            return torch.tanh(x) * y
        return x - y


def test_compile_module_with_the_dynamo_exporter(tmp_path):
    torch.manual_seed(0)
    module = Attention().eval()
    x = torch.randn(2, 10, 24)
    scale = torch.tensor([0.5])
    lib = ditc.compile(module, tmp_path / "attn.so", example_inputs=(x, scale))
    model = ditc.load(lib)
    assert [t.name for t in model.inputs] == ["x", "scale"]
    assert module.training is False
    other = torch.randn(2, 10, 24)
    with torch.no_grad():
        want = module(other, scale)
    got = model(other, scale)
    assert rel_l2(got, want) < 1e-5
    # A dict of example inputs by name does the same.
    lib2 = ditc.compile(module, tmp_path / "attn2.so",
                        example_inputs={"x": x, "scale": scale})
    assert rel_l2(ditc.load(lib2)(x=other, scale=scale), want) < 1e-5


def test_compile_module_falls_back_to_torchscript(tmp_path):
    module = DataDependent()
    x = torch.rand(3, 4) + 0.1
    y = torch.randn(3, 4)
    lib = ditc.compile(module, tmp_path / "dd.so", example_inputs=(x, y))
    model = ditc.load(lib)
    # TorchScript names the inputs after forward's parameters too.
    assert [t.name for t in model.inputs] == ["x", "y"]
    x2 = torch.rand(3, 4) + 0.5
    assert rel_l2(model(x2, y), torch.tanh(x2) * y) < 1e-6


def test_module_errors(tmp_path):
    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(Attention(), tmp_path / "a.so")
    assert str(e.value) == ("compiling a torch.nn.Module needs example_inputs "
                            "(a tuple of positional inputs or a dict by name)")

    class Svd(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.svdvals(x)

    with pytest.raises(ditc.CompileError) as e:
        ditc.compile(Svd(), tmp_path / "s.so", example_inputs=(torch.randn(3, 3),))
    assert str(e.value).startswith("cannot export Svd to ONNX: dynamo "
                                   "exporter: DispatchError: No ONNX function "
                                   "found for <OpOverload(op='aten._linalg_svd'")
    assert str(e.value).endswith("TorchScript exporter: UnsupportedOperatorError: "
                                 "Exporting the operator 'aten::linalg_svdvals' "
                                 "to ONNX opset version 17 is not supported")


def test_torch_input_errors(pixart):
    inputs = {k: torch.from_numpy(v) for k, v in
              fixture_arrays("pixart_dynamo", "inputs").items()}

    def refused(message, **change):
        with pytest.raises(ditc.InputError) as e:
            pixart(**{**inputs, **change})
        assert str(e.value) == message

    refused("input 'hidden_states': shape (2, 4, 8, 9), expected (2, 4, 8, 8)",
            hidden_states=torch.zeros(2, 4, 8, 9))
    refused("input 'timestep': dtype float32, expected int64",
            timestep=inputs["timestep"].float())
    refused("input 'hidden_states': a tensor on meta, this library runs on "
            "the CPU (move it with .cpu())",
            hidden_states=inputs["hidden_states"].to("meta"))
    refused("input 'timestep': dtype bfloat16, expected int64",
            timestep=inputs["timestep"].to(torch.bfloat16))
    with pytest.raises(ditc.InputError, match=r"^input 'hidden_states': "
                       r"torch.complex64 has no numpy equivalent|"
                       r"^input 'hidden_states': dtype complex64"):
        pixart(**{**inputs, "hidden_states": torch.zeros(2, 4, 8, 8,
                                                         dtype=torch.complex64)})
