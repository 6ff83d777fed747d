#!/usr/bin/env python3
"""A diffusers pipeline whose transformer runs as a ditc library.

Builds a DiT/2 pipeline (DiT-S/2 unless --dit says otherwise) from its config with random weights (or loads
a local diffusers pipeline folder with --model), generates an image with
the PyTorch transformer, compiles the transformer with ditc, generates the
same image again, saves both as PNG and prints the time per denoising step
of each and how far apart the images are.

    pip install ./python                # or PYTHONPATH=python
    export DITC_COMPILER=$PWD/build/bin/ditc
    python examples/diffusers_pipeline.py --out /tmp/ditc-dit
    # on 2 ranks, classifier-free guidance split over them:
    mpirun -np 2 python examples/diffusers_pipeline.py --out /tmp/ditc-dit \\
        --devices 2 --plan cfg=2

It needs torch, diffusers, transformers and pillow (python/requirements-
test.txt pins the versions it was run with). Nothing is downloaded.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

try:
    import ditc.diffusers
except ImportError:  # run from a checkout without `pip install ./python`
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
    import ditc.diffusers


# DiT sizes (arXiv 2212.09748, table 1): layers, heads, head dim.
DIT_SIZES = {"S": (12, 6, 64), "B": (12, 12, 64), "L": (24, 16, 64),
             "XL": (28, 16, 72)}


def dit(size: str, image_size: int, seed: int):
    """DiT-<size>/2 with a small 8x-downsampling VAE, random weights: the
    real diffusers classes, made here."""
    from diffusers import (AutoencoderKL, DDIMScheduler, DiTPipeline,
                           DiTTransformer2DModel)

    layers, heads, head_dim = DIT_SIZES[size]
    torch.manual_seed(seed)
    transformer = DiTTransformer2DModel(
        num_attention_heads=heads, attention_head_dim=head_dim, in_channels=4,
        out_channels=8, num_layers=layers, sample_size=image_size // 8,
        patch_size=2, num_embeds_ada_norm=1000, norm_type="ada_norm_zero")
    vae = AutoencoderKL(block_out_channels=[32] * 4, in_channels=3,
                        out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4,
                        norm_num_groups=32)
    return DiTPipeline(transformer=transformer.eval(), vae=vae.eval(),
                       scheduler=DDIMScheduler())


def generate(pipe, args, call):
    """The image (PIL) and the seconds the pipeline took per step."""
    started = time.perf_counter()
    with torch.no_grad():
        image = pipe(num_inference_steps=args.steps,
                     generator=torch.Generator().manual_seed(args.seed),
                     **call).images[0]
    return image, (time.perf_counter() - started) / args.steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a local diffusers pipeline folder "
                    "(DiffusionPipeline.from_pretrained); default: DiT/2 "
                    "from its config with random weights")
    ap.add_argument("--dit", choices=sorted(DIT_SIZES), default="S",
                    help="the DiT size without --model (default S; XL is "
                    "the full-size DiT-XL/2, 675M parameters)")
    ap.add_argument("--out", required=True,
                    help="folder for the library and the PNG files")
    ap.add_argument("--prompt", default="a red panda on a tree",
                    help="the prompt of a text-to-image pipeline")
    ap.add_argument("--label", type=int, default=207,
                    help="the class label of a class-conditional pipeline")
    ap.add_argument("--size", type=int, default=256,
                    help="image height and width (default 256)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--devices", type=int, default=1,
                    help="ranks (start the script under mpirun -np N)")
    ap.add_argument("--plan", help="e.g. cfg=2, ulysses=2, pipefusion=2")
    ap.add_argument("--threads", type=int,
                    help="kernel threads of the library (default: all)")
    args = ap.parse_args()

    if args.model:
        from diffusers import DiffusionPipeline
        pipe = DiffusionPipeline.from_pretrained(args.model,
                                                 local_files_only=True)
        custom = args.model
    else:
        pipe = dit(args.dit, args.size, args.seed)
        custom = None
    pipe.set_progress_bar_config(disable=True)
    import inspect
    params = inspect.signature(pipe.__call__).parameters
    call = ({"class_labels": [args.label]} if "class_labels" in params
            else {"prompt": [args.prompt]})
    size = {}
    if custom and "height" in params:
        size = {"height": args.size, "width": args.size}
    call.update(size)

    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK",
                              os.environ.get("PMI_RANK", "0")))
    def say(*words):
        if rank == 0:
            print(*words, flush=True)
    os.makedirs(args.out, exist_ok=True)

    generate(pipe, args, call)  # a first run warms up both the same way
    reference, eager_s = generate(pipe, args, call)
    say(f"PyTorch transformer: {eager_s * 1e3:.1f} ms of pipeline time per step")

    started = time.perf_counter()
    ditc.diffusers.compile_transformer(
        pipe, args.out, batch_size=1, threads=args.threads,
        verbose=None if rank == 0 else False,  # progress on a terminal
        devices=args.devices, plan=args.plan, **size)
    say(f"compiled in {time.perf_counter() - started:.1f} s")
    generate(pipe, args, call)  # the first run maps the weights
    image, ditc_s = generate(pipe, args, call)
    say(f"ditc transformer:    {ditc_s * 1e3:.1f} ms of pipeline time per step "
        f"({eager_s / ditc_s:.2f}x the PyTorch pipeline's speed)")

    a = np.asarray(image, np.float64)
    b = np.asarray(reference, np.float64)
    say(f"image difference: relative L2 {np.linalg.norm(a - b) / np.linalg.norm(b):.2e} "
        "(8-bit pixels)")
    if rank == 0:
        for name, img in (("pytorch.png", reference), ("ditc.png", image)):
            img.save(os.path.join(args.out, name))
        say(f"wrote {args.out}/pytorch.png and {args.out}/ditc.png")


if __name__ == "__main__":
    main()
