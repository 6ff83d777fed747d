#!/usr/bin/env python3
"""Full-size graphs end to end: export, compile, run on every ISA, compare with ONNX Runtime.

    /opt/ditc-export-venv/bin/python benchmarks/fullsize.py \
        [--ditc build/bin/ditc] [--dir /tmp/ditc-full] [--models dit,pixart,sd3,flux-slice,hunyuandit,llama,wan,cogvideox] \
        [--isa generic,avx2,avx512,avx2_w16] [--dtype f32,bf16,f16] [--threads 2] [--runs 1]
        [--json OUT.json]

Tiny fixtures cannot reach what full sizes reach (arena offsets past 256 MiB,
weights at gigabyte offsets, 4096-token attention, the 333-token text
stream of SD3): this is the standing check to run before an issue that
touches codegen, the memory plan or kernels is resolved. For each model:

  1. export it with seeded random weights (examples/export_models.py
     --full-size, TorchScript, opset 17) unless DIR/NAME/model.onnx exists;
  2. `ditc compile` it (once per --dtype: f32, or bf16 / f16 weights and
     activations);
  3. run ONNX Runtime once on DIR/NAME/inputs.npz (its output is cached in
     DIR/NAME/ort_output.npy, keyed by the model file's size and mtime);
  4. for every ISA this CPU runs (DITC_RT_ISA; ISAs the CPU lacks are
     listed as such, not run): `ditc run --warmup 0 --bench RUNS --threads
     T --outputs`, reading the median step time and the peak RSS it prints;
  5. relative L2 of each ISA's output against ONNX Runtime's.

It prints one markdown table (model, dtype, ISA, rel L2, median s, peak RSS
GiB) and exits 1 if any run fails or any rel L2 reaches its dtype's bound
(f32 1e-4, bf16 2e-2, f16 5e-3; the LLM's 16-bit logits 6e-2 and 2e-2).
Runs the models one
after another: SD3-medium needs about 8 GiB (ditc) and 13 GiB (ONNX
Runtime) of memory, and about 10 GiB of disk for its weights.
Exports take minutes each (SD3-medium: about 7 on 2 cores).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {
    # name: (export_models.py --full-size kind, extra export args, description)
    "dit-block": ("dit-block", ["--seq", "1024"], "DiT-XL/2 block, 1024 tokens b2"),
    "dit": ("dit", ["--seq", "256"], "DiT-XL/2 256px b2"),
    "pixart": ("pixart", [], "PixArt-alpha 1024px b2"),
    "sd3": ("sd3", [], "SD3-medium 1024px b2"),
    "flux-slice": ("flux-slice", [], "Flux 1024px b2, 1 double + 1 single block"),
    "hunyuandit": ("hunyuandit", [], "HunyuanDiT 1024px b2"),
    "llama": ("llama", ["--seq", "512", "--batch", "1"], "TinyLlama-1.1B, 512-token prefill b1"),
    "wan": ("wan", ["--frames", "3", "--sample", "32", "--batch", "1"],
            "Wan2.1-T2V-1.3B, 3 x 32 x 32 latent (768 tokens) b1"),
    "cogvideox": ("cogvideox", ["--frames", "3", "--sample", "32", "--batch", "1"],
                  "CogVideoX-2b, 3 x 32 x 32 latent (226 + 768 tokens) b1"),
}
ISAS = ["generic", "avx2", "avx2_w16", "avx512"]
TOLERANCE = {"f32": 1e-4, "bf16": 2e-2, "f16": 5e-3}
# The 16-bit bounds are the DiT issue's; a 22-layer LLM's logits drift
# further (PyTorch's own TinyLlama is 5.3e-2 from its f32 one in bf16 and
# 1.6e-2 in f16, docs/BENCHMARKS.md), so they are held to what PyTorch's
# 16-bit model meets.
MODEL_TOLERANCE = {"llama": {"bf16": 6e-2, "f16": 2e-2}}


def log(msg):
    print("fullsize: " + msg, file=sys.stderr, flush=True)


def export(name, d):
    kind, extra, _ = MODELS[name]
    if os.path.exists(os.path.join(d, "model.onnx")) and os.path.exists(
            os.path.join(d, "inputs.npz")):
        return
    log("exporting %s into %s (minutes)" % (name, d))
    subprocess.run([sys.executable, os.path.join(REPO, "examples", "export_models.py"),
                    "--full-size", kind, "--out", d] + extra, check=True)


def ort_output(d):
    model = os.path.join(d, "model.onnx")
    st = os.stat(os.path.join(d, "model.onnx.data"))
    key = "%d-%d" % (st.st_size, int(st.st_mtime))
    cache = os.path.join(d, "ort_output.npy")
    keyfile = cache + ".key"
    if os.path.exists(cache) and os.path.exists(keyfile) and open(keyfile).read() == key:
        return np.load(cache)
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    log("running ONNX Runtime on %s" % model)
    t0 = time.perf_counter()
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    out = sess.run(None, dict(np.load(os.path.join(d, "inputs.npz"))))[0]
    log("ONNX Runtime took %.1f s" % (time.perf_counter() - t0))
    del sess
    np.save(cache, out)
    with open(keyfile, "w") as f:
        f.write(key)
    return out


def run_isa(ditc, lib, inputs, out, isa, threads, runs):
    env = dict(os.environ, DITC_RT_ISA=isa)
    p = subprocess.run([ditc, "run", lib, "--inputs", inputs, "--outputs", out,
                        "--threads", str(threads), "--warmup", "0", "--bench", str(runs)],
                       env=env, capture_output=True, text=True)
    text = p.stdout + p.stderr
    if "is unknown or not supported" in text:
        return None  # this CPU (or the build) lacks the ISA: it picked another
    if p.returncode != 0:
        raise RuntimeError("ditc run (%s) exited %d: %s" % (isa, p.returncode, text.strip()[-400:]))
    median = float(re.search(r"median ([0-9.]+) ms", text).group(1)) / 1000
    rss = float(re.search(r"peak RSS: ([0-9.]+) MiB", text).group(1)) / 1024
    return median, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ditc", default=os.path.join(REPO, "build", "bin", "ditc"))
    ap.add_argument("--dir", default="/tmp/ditc-full", help="where exports and libraries live")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--isa", default=",".join(ISAS), help="ISAs to try (those the CPU lacks are skipped)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dtype", default="f32", help="ditc compile --dtype values to try (f32,bf16,f16)")
    ap.add_argument("--runs", type=int, default=1, help="timed runs per ISA (median)")
    ap.add_argument("--json", help="also write the rows as JSON")
    args = ap.parse_args()
    rows, failed = [], False
    for name in args.models.split(","):
        if name not in MODELS:
            ap.error("unknown model '%s' (expected one of %s)" % (name, ", ".join(MODELS)))
        d = os.path.join(args.dir, name)
        export(name, d)
        ref = None
        for dtype in args.dtype.split(","):
            if dtype not in TOLERANCE:
                ap.error("unknown dtype '%s' (expected f32, bf16 or f16)" % dtype)
            lib = os.path.join(d, "ditc", "model-%s.so" % dtype)
            os.makedirs(os.path.dirname(lib), exist_ok=True)
            log("compiling %s (%s)" % (name, dtype))
            t0 = time.perf_counter()
            subprocess.run([args.ditc, "compile", os.path.join(d, "model.onnx"), "-o", lib,
                            "--dtype", dtype], check=True, stderr=subprocess.DEVNULL)
            compile_s = time.perf_counter() - t0
            if ref is None:
                ref = ort_output(d)
            for isa in args.isa.split(","):
                out = os.path.join(d, "ditc", "out-%s-%s.npz" % (dtype, isa))
                log("running %s (%s) on %s" % (name, dtype, isa))
                row = dict(model=name, dtype=dtype, isa=isa)
                try:
                    r = run_isa(args.ditc, lib, os.path.join(d, "inputs.npz"), out, isa,
                                args.threads, args.runs)
                except RuntimeError as e:
                    log(str(e))
                    rows.append(dict(row, error=str(e)))
                    failed = True
                    continue
                if r is None:
                    rows.append(dict(row, unsupported=True))
                    continue
                got = np.load(out)
                got = got[got.files[0]].astype(np.float64)
                err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
                failed |= not err < MODEL_TOLERANCE.get(name, {}).get(dtype, TOLERANCE[dtype])
                rows.append(dict(row, rel_l2=err, median_s=r[0], peak_rss_gib=r[1],
                                 compile_s=compile_s))
                os.remove(out)
    print("| model | dtype | ISA | rel L2 vs ORT f32 | median s | peak RSS GiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        head = "| %s | %s | %s |" % (MODELS[r["model"]][2], r["dtype"], r["isa"])
        if r.get("unsupported"):
            print(head + " (this CPU lacks it) | | |")
        elif "error" in r:
            print(head + " FAILED: %s | | |" % r["error"][:80])
        else:
            print(head + " %.1e | %.2f | %.2f |" % (r["rel_l2"], r["median_s"], r["peak_rss_gib"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
