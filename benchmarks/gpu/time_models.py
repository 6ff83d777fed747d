#!/usr/bin/env python3
"""Times one step of the full-size models on the GPU: ditc's --target cuda
library (random weights) with and without its CUDA graph, beside PyTorch
eager and torch.compile running the same diffusers model (random weights,
bf16) on the same card in the same run.

    time_models.py PREPARED [--runs 20] [--warmup 3] [--no-torch]

PREPARED/models/<name>/ holds cuda_bf16.so (linked by check.sh from
prepare.sh's object of examples/graphs/<name>/model.onnx, compiled with
--no-weights) and the graph's meta.json (model kind, token count, batch).
Inputs are random, drawn once per model and fed to both. A step is what
ditc_model_run does (inputs copied in, the step, outputs copied out) and,
for PyTorch, the forward call with the inputs already on the GPU followed
by a synchronisation, so PyTorch is not charged the copies: the comparison
favours it. Prints one markdown table last (median ms over --runs after
--warmup), then writes it as JSON to $OUT/timings.json when OUT is set.

PyTorch's models come from examples/export_models.py's build_full (the
graphs' own source); diffusers is imported as installed, else from
build-gpu-deps/pylib (prepare.sh copies it there without its pipelines).
A baseline that cannot be built is reported as such, not as a time.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
from ditc import DitcError, Model  # noqa: E402

TITLES = {"dit": "DiT-XL/2 256px b2", "pixart": "PixArt-alpha 1024px b2"}


def log(msg):
    print("time_models: " + msg, file=sys.stderr, flush=True)


def median_ms(fn, runs, warmup, sync=None):
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def ditc_times(lib, inputs, runs, warmup):
    """(graph ms, no-graph ms) of the library on random weights."""
    out = {}
    for graph in (True, False):
        os.environ["DITC_CUDA_GRAPH"] = "1" if graph else "0"  # read at create
        with Model(lib, random_weights=True) as m:
            feed = {t.name: inputs[t.name].astype(t.numpy_dtype) for t in m.inputs}
            # The first run goes kernel by kernel, the second captures.
            m.run(feed)
            m.run(feed)
            out[graph] = median_ms(lambda: m.run(feed), runs, warmup)
    os.environ.pop("DITC_CUDA_GRAPH", None)
    return out[True], out[False]


def torch_times(meta, runs, warmup):
    """(eager ms, torch.compile ms, note) of the diffusers model in bf16."""
    try:
        import torch
    except ImportError as e:
        return None, None, f"no PyTorch ({e})"
    pylib = os.path.join(ROOT, "build-gpu-deps", "pylib")
    if os.path.isdir(pylib):
        sys.path.append(pylib)  # after the machine's own packages
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import export_models
        # DiT's token count: (latent side / patch 2) squared.
        seq = meta.get("seq") or (meta["inputs"]["hidden_states"][-1] // 2) ** 2
        wrapper, inputs = export_models.build_full(meta["model"], seq, meta["batch"])
    except Exception as e:  # a missing diffusers or dependency
        return None, None, f"cannot build the PyTorch model: {type(e).__name__}: {e}"
    model = wrapper.to("cuda", torch.bfloat16).eval()
    feed = {k: (v.to("cuda", torch.bfloat16) if v.is_floating_point() else v.to("cuda"))
            for k, v in inputs.items()}
    sync = torch.cuda.synchronize
    with torch.inference_mode():
        eager = median_ms(lambda: model(**feed), runs, warmup, sync)
        try:
            compiled = torch.compile(model)
            t = time.perf_counter()
            compiled(**feed)
            sync()
            log(f"torch.compile took {time.perf_counter() - t:.1f} s")
            comp = median_ms(lambda: compiled(**feed), runs, warmup, sync)
        except Exception as e:
            return eager, None, f"torch.compile failed: {type(e).__name__}: {e}"
    return eager, comp, ""


def random_inputs(lib):
    """Inputs of the library's shapes: floats N(0, 1), integers in [0, 1000)."""
    rng = np.random.default_rng(0)
    with Model(lib, random_weights=True) as m:
        specs = list(m.inputs)
    out = {}
    for t in specs:
        if t.dtype in ("f32", "f16", "bf16", "f64"):
            out[t.name] = rng.standard_normal(t.shape).astype(np.float32)
        else:
            out[t.name] = rng.integers(0, 1000, t.shape).astype(t.numpy_dtype)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prepared")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    rows = []
    failed = False
    models = os.path.join(args.prepared, "models")
    for name in sorted(os.listdir(models)) if os.path.isdir(models) else []:
        lib = os.path.join(models, name, "cuda_bf16.so")
        meta = json.load(open(os.path.join(models, name, "meta.json")))
        row = {"model": TITLES.get(meta["model"], name), "name": name}
        try:
            inputs = random_inputs(lib)
            row["ditc_graph_ms"], row["ditc_no_graph_ms"] = ditc_times(
                lib, inputs, args.runs, args.warmup)
        except DitcError as e:
            row["error"] = str(e)
            failed = True
        if not args.no_torch:
            row["torch_eager_ms"], row["torch_compile_ms"], note = torch_times(
                meta, args.runs, args.warmup)
            if note:
                row["torch_note"] = note
        log(json.dumps(row))
        rows.append(row)

    def ms(v):
        return f"{v:.2f}" if isinstance(v, float) else "-"

    print("| model | ditc (CUDA graph) ms | ditc (no graph) ms | PyTorch eager ms | torch.compile ms | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        note = r.get("error") or r.get("torch_note", "")
        print(f"| {r['model']} | {ms(r.get('ditc_graph_ms'))} | {ms(r.get('ditc_no_graph_ms'))} "
              f"| {ms(r.get('torch_eager_ms'))} | {ms(r.get('torch_compile_ms'))} | {note} |")
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "timings.json"), "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
