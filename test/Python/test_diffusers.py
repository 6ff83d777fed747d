"""ditc.diffusers on real diffusers pipelines (test/Python/tiny_pipelines.py:
configs, seeded random weights, nothing downloaded): the image a pipeline
makes with its transformer compiled by ditc against the image of the same
pipeline in PyTorch (same seed, 4 steps), on one rank and on 2 ranks under
mpirun with plans; and every error a user can meet.

Needs torch and diffusers: run with the venv's Python (${DITC_VENV:-
/opt/ditc-venv}, made by .ci/setup.sh); test/Python/pytest-venv.test does.
"""

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ditc
import ditc.diffusers as dd
import tiny_pipelines as tp
from common import rel_l2

HERE = Path(__file__).resolve().parent
TOLERANCE = 1e-3  # the issue's bound on the images' relative L2


@pytest.fixture(scope="module")
def dit_reference():
    return tp.generate(tp.dit_pipeline())


@pytest.fixture(scope="module")
def pixart_reference():
    return tp.generate(tp.pixart_pipeline(), **tp.PIXART_CALL)


@pytest.fixture(scope="module")
def dit_compiled(tmp_path_factory):
    """A DiT pipeline whose transformer ditc compiled (batch 1 with
    guidance: the transformer sees batch 2)."""
    pipe = tp.dit_pipeline()
    original = pipe.transformer
    out = tmp_path_factory.mktemp("dit")
    compiled = dd.compile_transformer(pipe, out, batch_size=1)
    return pipe, original, compiled, out


# -- one rank --------------------------------------------------------------------

def test_dit_pipeline_matches_pytorch(dit_compiled, dit_reference):
    pipe, original, compiled, out = dit_compiled
    assert pipe.transformer is compiled
    assert isinstance(compiled, dd.CompiledTransformer)
    image = tp.generate(pipe)
    assert image.shape == dit_reference.shape == (1, 16, 16, 3)
    assert rel_l2(image, dit_reference) < TOLERANCE
    # Not a constant image: the comparison means something.
    assert image.std() > 0.01
    # Every step reached the step API: the last run was step 3 of 0..3.
    assert compiled.model.denoising_step == 3
    # A second run of the pipeline begins a new denoising run.
    assert rel_l2(tp.generate(pipe), dit_reference) < TOLERANCE
    assert sorted(p.name for p in out.iterdir()) == [
        "transformer.json", "transformer.safetensors", "transformer.so"]
    info = json.loads((out / "transformer.json").read_text())
    assert [i["name"] for i in info["inputs"]] == [
        "hidden_states", "timestep", "class_labels"]
    assert info["inputs"][0]["shape"] == [2, 4, 8, 8]
    assert info["outputs"] == ["sample"]


def test_swapped_scheduler_reaches_the_step_api(tmp_path, dit_reference):
    """A scheduler set after compiling is watched from the transformer's
    next call: its next run is numbered again (3 steps: last step 2)."""
    from diffusers import (DDIMScheduler, DDPMScheduler,
                           EulerDiscreteScheduler)

    pipe = tp.dit_pipeline()
    compiled = dd.compile_transformer(pipe, tmp_path)
    pipe.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    tp.generate(pipe, steps=3)  # the first run in full, unnumbered
    assert compiled.model.denoising_step == -1
    tp.generate(pipe, steps=3)
    assert compiled.model.denoising_step == 2
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    tp.generate(pipe)
    assert rel_l2(tp.generate(pipe), dit_reference) < TOLERANCE
    assert compiled.model.denoising_step == 3
    # Euler's timesteps are fractional floats; the library takes the
    # integer ones DDIM gave when it was compiled.
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    with pytest.raises(ditc.InputError) as e:
        tp.generate(pipe)
    assert str(e.value) == (
        "transformer input 'timestep': dtype torch.float32, compiled for "
        "torch.int64: compile it again with the scheduler the pipeline runs")


def test_dit_module_looks_like_the_original(dit_compiled):
    """Same forward signature, config and output type (return_dict=True:
    Transformer2DModelOutput; False: a tuple), same numbers as the
    original on the same inputs."""
    pipe, original, compiled, _ = dit_compiled
    assert (inspect.signature(compiled.forward)
            == inspect.signature(original.forward))
    assert compiled.config == original.config
    assert compiled.config.sample_size == 8 and compiled.in_channels == 4
    assert compiled.dtype == torch.float32
    assert compiled.model.inputs[0].name == "hidden_states"

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 8, 8, generator=gen)
    t = torch.tensor([981, 981])
    labels = torch.tensor([7, 1000])
    with torch.no_grad():
        want = original(x, timestep=t, class_labels=labels).sample
    got = compiled(x, timestep=t, class_labels=labels)
    assert type(got).__name__ == "Transformer2DModelOutput"
    assert rel_l2(got.sample, want) < 1e-5
    as_tuple = compiled(x, t, labels, return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 1
    assert torch.equal(as_tuple[0], got.sample)


def test_pixart_pipeline_matches_pytorch(tmp_path, pixart_reference):
    pipe = tp.pixart_pipeline()
    compiled = dd.compile_transformer(pipe, tmp_path, batch_size=1, height=16,
                                      width=16, call_kwargs=tp.PIXART_SHAPING)
    image = tp.generate(pipe, **tp.PIXART_CALL)
    assert image.shape == pixart_reference.shape == (1, 16, 16, 3)
    assert rel_l2(image, pixart_reference) < TOLERANCE
    assert image.std() > 0.01
    assert compiled.model.denoising_step == 3
    # The pipeline's text features and attention mask are inputs.
    assert [t.name for t in compiled.model.inputs] == [
        "hidden_states", "encoder_hidden_states", "timestep",
        "encoder_attention_mask"]
    assert compiled.model.inputs[1].shape == (2, 16, 32)


def test_dict_of_tensors_argument(tmp_path):
    """PixArt at sample size 128 with its micro-conditions: the pipeline
    passes added_cond_kwargs={"resolution": tensor, "aspect_ratio": tensor};
    each tensor is an input of its own (2 steps: 4096 tokens)."""
    config = dict(tp.PIXART_SMALL, num_attention_heads=3,
                  cross_attention_dim=24, sample_size=128,
                  use_additional_conditions=True)
    call = dict(tp.PIXART_CALL, height=256, width=256)
    reference = tp.generate(tp.pixart_pipeline(config=config), steps=2, **call)
    pipe = tp.pixart_pipeline(config=config)
    compiled = dd.compile_transformer(pipe, tmp_path, height=256, width=256,
                                      call_kwargs=tp.PIXART_SHAPING)
    inputs = {t.name: t.shape for t in compiled.model.inputs}
    assert inputs["added_cond_kwargs_resolution"] == (2, 2)
    assert inputs["added_cond_kwargs_aspect_ratio"] == (2, 1)
    image = tp.generate(pipe, steps=2, **call)
    assert rel_l2(image, reference) < TOLERANCE


def test_batch_of_two_without_guidance(tmp_path):
    """batch_size counts prompts; guidance=False leaves the batch as it is."""
    labels = [3, 5]
    reference = tp.generate(tp.dit_pipeline(), class_labels=labels,
                            guidance_scale=1.0)
    pipe = tp.dit_pipeline()
    compiled = dd.compile_transformer(pipe, tmp_path, batch_size=2,
                                      guidance=False)
    assert compiled.model.inputs[0].shape == (2, 4, 8, 8)
    image = tp.generate(pipe, class_labels=labels, guidance_scale=1.0)
    assert image.shape == (2, 16, 16, 3)
    assert rel_l2(image, reference) < TOLERANCE


def test_bfloat16_pipeline(tmp_path, dit_reference):
    """A pipeline cast to bfloat16: the transformer is exported and compiled
    in bf16 (inputs and outputs bf16), and the image is as far from the
    float32 one as PyTorch's own bf16 image is."""
    pipe = tp.dit_pipeline().to(torch.bfloat16)
    torch_bf16 = tp.generate(pipe)
    compiled = dd.compile_transformer(pipe, tmp_path)
    assert [t.dtype for t in compiled.model.inputs] == ["bf16", "i64", "i64"]
    assert compiled.model.outputs[0].dtype == "bf16"
    image = tp.generate(pipe)
    torch_error = rel_l2(torch_bf16, dit_reference)
    assert 1e-3 < torch_error < 0.1
    assert rel_l2(image, dit_reference) < 2 * torch_error
    assert rel_l2(image, torch_bf16) < 2 * torch_error


# -- 2 ranks under mpirun -----------------------------------------------------------

def mpirun(tmp_path, *args):
    """diffusers_ranks.py on 2 ranks; returns each rank's JSON line."""
    mpi = shutil.which("mpirun")
    assert mpi, "mpirun (Open MPI) is needed"
    cmd = [mpi, "--allow-run-as-root", "--oversubscribe", "--mca",
           "btl_vader_single_copy_mechanism", "none", "-np", "2",
           sys.executable, str(HERE / "diffusers_ranks.py"), *args,
           "--out", str(tmp_path / "lib")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()
             if line.startswith("{")]
    assert sorted(r["rank"] for r in lines) == [0, 1], proc.stdout
    return lines


@pytest.mark.parametrize("pipeline,plan", [("dit", "cfg=2"),
                                           ("pixart", "ulysses=2")])
def test_two_ranks_with_a_plan(tmp_path, pipeline, plan, dit_reference,
                               pixart_reference):
    """Every rank runs the pipeline; the transformer runs split over the
    2 ranks; every rank's image matches the single-process PyTorch one."""
    reference = dit_reference if pipeline == "dit" else pixart_reference
    for rank in mpirun(tmp_path, pipeline, "--plan", plan):
        assert rank["world"] == 2 and rank["plan"] == plan
        assert rank["rel_l2"][0] < TOLERANCE, rank
        assert rank["last_step"] == 3
        assert abs(rank["image_mean"] - float(reference.mean())) < 1e-3


def test_pipefusion_gets_the_sampler_steps(tmp_path):
    """PipeFusion's stale K/V through diffusers: with every step warm-up the
    image is the exact one; with one warm-up step the later steps reuse the
    previous step's K/V, which changes the image a little (so the steps did
    reach the library)."""
    for rank in mpirun(tmp_path, "dit", "--plan", "pipefusion=2",
                       "--warmup", "4", "1"):
        exact, stale = rank["rel_l2"]
        assert rank["plan"] == "pipefusion=2,patches=2"
        assert rank["kv_cache_bytes"] > 0
        assert exact < TOLERANCE, rank
        assert 10 * TOLERANCE < stale < 0.5, rank


# -- errors ------------------------------------------------------------------------

def test_other_batch_or_resolution_is_refused(dit_compiled, tmp_path):
    pipe = dit_compiled[0]
    with pytest.raises(ditc.InputError) as e:
        tp.generate(pipe, class_labels=[1, 2])
    assert str(e.value) == (
        "transformer input 'hidden_states' has shape (4, 4, 8, 8); it was "
        "compiled for (2, 4, 8, 8) (batch_size=1, guidance=True, height=None, "
        "width=None): compile it again for this batch size and resolution")
    # Without guidance the batch halves.
    with pytest.raises(ditc.InputError, match=r"has shape \(1, 4, 8, 8\)"):
        tp.generate(pipe, guidance_scale=1.0)

    pixart = tp.pixart_pipeline()
    dd.compile_transformer(pixart, tmp_path, height=16, width=16,
                           call_kwargs=tp.PIXART_SHAPING)
    call = dict(tp.PIXART_CALL, height=32, width=32)
    with pytest.raises(ditc.InputError) as e:
        tp.generate(pixart, **call)
    assert "'hidden_states' has shape (2, 4, 16, 16); it was compiled for " \
           "(2, 4, 8, 8) (batch_size=1, guidance=True, height=16, width=16)" \
           in str(e.value)


def test_other_non_tensor_argument_is_refused(dit_compiled):
    compiled = dit_compiled[2]
    x = torch.zeros(2, 4, 8, 8)
    t = torch.tensor([1, 1])
    c = torch.tensor([1, 2])
    with pytest.raises(ditc.InputError) as e:
        compiled(x, t, c, cross_attention_kwargs={"scale": 0.5})
    assert str(e.value) == ("transformer argument 'cross_attention_kwargs' is "
                            "{'scale': 0.5}; it was compiled with None")
    with pytest.raises(ditc.InputError) as e:
        compiled(x, t)
    assert str(e.value) == ("transformer input 'class_labels': NoneType, "
                            "compiled for a tensor of shape (2,)")
    with pytest.raises(ditc.InputError) as e:
        compiled(x, t.float(), c)
    assert str(e.value) == ("transformer input 'timestep': dtype "
                            "torch.float32, compiled for torch.int64: compile "
                            "it again with the scheduler the pipeline runs")


class Wrapped(torch.nn.Module):
    """A transformer around the pipeline's: the same forward, plus `extra`."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config

    @property
    def dtype(self):
        return torch.float32

    @property
    def device(self):
        return torch.device("cpu")

    def extra(self, hidden_states):
        return hidden_states

    def forward(self, hidden_states, timestep=None, class_labels=None,
                return_dict=True):
        h = self.extra(hidden_states)
        return self.inner(h, timestep=timestep, class_labels=class_labels,
                          return_dict=return_dict)


class Unexportable(Wrapped):
    """An operator ONNX has not (singular values): neither exporter can."""

    def extra(self, hidden_states):
        return hidden_states + torch.linalg.svdvals(hidden_states).sum()


class ExportsSomethingElse(Wrapped):
    """Computes one thing in PyTorch and another when exported, as a wrong
    export would."""

    def extra(self, hidden_states):
        if torch.onnx.is_in_onnx_export():
            return hidden_states * 1.5
        return hidden_states


def test_unexportable_transformer_names_the_cause(tmp_path):
    pipe = tp.dit_pipeline()
    pipe.transformer = Unexportable(pipe.transformer)
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(pipe, tmp_path)
    assert str(e.value) == (
        "cannot export Unexportable to ONNX: dynamo exporter: DispatchError: "
        "No ONNX function found for <OpOverload(op='aten._linalg_svd', "
        "overload='default')>. Failure message: No decompositions registered "
        "for the real-valued input; TorchScript exporter: "
        "UnsupportedOperatorError: Exporting the operator "
        "'aten::linalg_svdvals' to ONNX opset version 17 is not supported")


def test_wrong_export_is_caught_by_the_check(tmp_path):
    pipe = tp.dit_pipeline()
    pipe.transformer = ExportsSomethingElse(pipe.transformer)
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(pipe, tmp_path / "checked")
    assert re.fullmatch(
        r"the compiled transformer's output 'sample' differs from PyTorch's "
        r"on the pipeline's inputs: relative L2 [0-9.e-]+ > 0\.001 "
        r"\(check=False skips this check\)", str(e.value)), str(e.value)
    # The pipeline keeps its PyTorch transformer.
    assert isinstance(pipe.transformer, ExportsSomethingElse)
    compiled = dd.compile_transformer(pipe, tmp_path / "unchecked",
                                      check=False)
    assert pipe.transformer is compiled


def test_pipeline_errors(dit_compiled, tmp_path):
    pipe = dit_compiled[0]
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(pipe, tmp_path)
    assert str(e.value) == ("DiTPipeline.transformer is compiled already; "
                            "build the pipeline again to recompile")
    fresh = tp.dit_pipeline()
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(fresh, tmp_path, height=32)
    assert str(e.value) == ("DiTPipeline takes no height: its transformer's "
                            "resolution is fixed by its config")

    class NotAPipeline:
        transformer = None
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(NotAPipeline(), tmp_path)
    assert str(e.value) == ("NotAPipeline has no transformer module "
                            "(pipe.transformer is NoneType)")

    # The pipeline itself failing while compile_transformer calls it.
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(tp.dit_pipeline(), tmp_path,
                               call_kwargs={"class_labels": [5000]})
    assert str(e.value).startswith("calling DiTPipeline to see its "
                                   "transformer's inputs failed: ")
    with pytest.raises(ValueError):
        dd.compile_transformer(tp.dit_pipeline(), tmp_path, batch_size=0)


def test_compile_error_keeps_the_compiler_line(tmp_path):
    """An option the compiler refuses: its one-line error."""
    with pytest.raises(ditc.CompileError) as e:
        dd.compile_transformer(tp.dit_pipeline(), tmp_path, plan="cfg=3",
                               devices=3)
    assert "\n" not in str(e.value) and "cfg" in str(e.value)


def test_library_for_other_rank_count(tmp_path):
    """A --devices 2 library outside mpirun: the library's CommError, as
    the CLI prints it."""
    pipe = tp.dit_pipeline()
    with pytest.raises(ditc.CommError) as e:
        dd.compile_transformer(pipe, tmp_path, devices=2, plan="cfg=2")
    assert str(e.value).startswith(
        "communication between ranks failed: this library was compiled for "
        "--devices 2 (plan 'cfg=2')"), str(e.value)
    # The library was made; the pipeline keeps its PyTorch transformer.
    assert (tmp_path / "transformer.so").exists()
    assert not isinstance(pipe.transformer, dd.CompiledTransformer)
