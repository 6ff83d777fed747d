"""One rank of a parallel diffusers run, started by test_diffusers.py under
mpirun: every rank builds the same pipeline (seeded), generates the
reference image with the PyTorch transformer, compiles the transformer with
ditc.diffusers.compile_transformer (rank 0 compiles, the others wait), and
generates again. Prints one JSON line per rank:
{"rank", "world", "plan", "rel_l2": [one per warm-up setting], ...}.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_pipelines as tp  # noqa: E402

import ditc.diffusers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pipeline", choices=["dit", "pixart"])
    ap.add_argument("--plan", required=True)
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, nargs="+", default=[1],
                    help="warm-up steps of each run, one run each")
    args = ap.parse_args()

    make = tp.dit_pipeline if args.pipeline == "dit" else tp.pixart_pipeline
    call = {} if args.pipeline == "dit" else dict(tp.PIXART_CALL)
    shaping = {} if args.pipeline == "dit" else dict(tp.PIXART_SHAPING)
    reference = tp.generate(make(), steps=args.steps, **call)

    pipe = make()
    compiled = ditc.diffusers.compile_transformer(
        pipe, args.out, height=call.get("height"), width=call.get("width"),
        call_kwargs=shaping, devices=args.devices, plan=args.plan)
    rel = []
    for warmup in args.warmup:
        compiled.warmup_steps = warmup
        image = tp.generate(pipe, steps=args.steps, **call)
        rel.append(float(np.linalg.norm(image - reference) /
                         np.linalg.norm(reference)))
    model = compiled.model
    print(json.dumps({"rank": model.rank, "world": model.world_size,
                      "plan": model.plan, "rel_l2": rel,
                      "last_step": model.denoising_step,
                      "kv_cache_bytes": model.kv_cache_bytes,
                      "image_mean": float(image.mean())}), flush=True)


if __name__ == "__main__":
    main()
