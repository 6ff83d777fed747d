#!/usr/bin/env python3
"""Full-size diffusers pipelines through ditc.diffusers.compile_transformer.

The pipelines of test/Python/tiny_pipelines.py at the published transformer
sizes (random weights, nothing downloaded): DiT-XL/2 (28 layers, hidden
1152, 675M parameters) and PixArt-alpha XL/2 (28 layers, hidden 1152,
cross-attention to 4096-wide text features from a 2-layer T5 of that width),
with a small 8x VAE. Each generates an image in PyTorch and again with its
transformer compiled by ditc (same seed), and prints the images' relative
L2 and the pipeline's time per step, both medians of --runs runs after one
warm-up run.

    DITC_COMPILER=$PWD/build/bin/ditc /opt/ditc-venv/bin/python \\
        benchmarks/diffusers_fullsize.py --pipeline pixart --out /tmp/ditc-pixart
    mpirun -np 2 ... benchmarks/diffusers_fullsize.py --pipeline dit \\
        --devices 2 --plan cfg=2 --out /tmp/ditc-dit2

The numbers of docs/BENCHMARKS.md ("diffusers pipelines") come from it.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "Python"))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import tiny_pipelines as tp  # noqa: E402

import ditc.diffusers  # noqa: E402

XL = dict(num_attention_heads=16, attention_head_dim=72, num_layers=28)


def build(args):
    latent = args.size // 8
    if args.pipeline == "dit":
        pipe = tp.dit_pipeline(config=dict(XL, sample_size=latent),
                               vae_blocks=4)
        return pipe, {}, {}
    pipe = tp.pixart_pipeline(
        config=dict(XL, sample_size=latent, cross_attention_dim=1152,
                    caption_channels=4096), vae_blocks=4)
    shaping = dict(use_resolution_binning=False, max_sequence_length=120,
                   clean_caption=False)
    call = dict(shaping, height=args.size, width=args.size)
    return pipe, call, shaping


def timed(pipe, args, call):
    tp.generate(pipe, steps=args.steps, **call)  # warm-up
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        image = tp.generate(pipe, steps=args.steps, **call)
        times.append((time.perf_counter() - started) / args.steps)
    return image, statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", choices=["dit", "pixart"], required=True)
    ap.add_argument("--out", required=True, help="folder for the library")
    ap.add_argument("--size", type=int, default=256, help="image size")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--devices", type=int, default=1)
    ap.add_argument("--plan")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    pipe, call, shaping = build(args)
    params = sum(p.numel() for p in pipe.transformer.parameters())
    reference, torch_s = timed(pipe, args, call)

    started = time.perf_counter()
    compiled = ditc.diffusers.compile_transformer(
        pipe, args.out, height=call.get("height"), width=call.get("width"),
        call_kwargs=shaping, threads=args.threads, devices=args.devices,
        plan=args.plan)
    compile_s = time.perf_counter() - started
    image, ditc_s = timed(pipe, args, call)
    rel = float(np.linalg.norm(image - reference) / np.linalg.norm(reference))
    if compiled.model.rank == 0:
        print(json.dumps({
            "pipeline": args.pipeline, "params": params, "size": args.size,
            "steps": args.steps, "devices": args.devices, "plan": args.plan,
            "rel_l2": rel, "torch_s_per_step": torch_s,
            "ditc_s_per_step": ditc_s, "compile_s": compile_s,
            "peak_rss_bytes": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
