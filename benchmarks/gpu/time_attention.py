#!/usr/bin/env python3
"""Sets ditc's attention kernel beside PyTorch's SDPA on the same shapes.

    time_attention.py [BENCH_OUTPUT ...] [--runs 10] [--repeats 5]
                      [--warmup 3] [--no-torch] [--json PATH]

BENCH_OUTPUT: files holding the lines of build-gpu/bin/ditc-cuda-attention-bench
(benchmarks/gpu/attention_bench.cpp; "-" reads stdin): `ATTN name=... path=cudnn|own
ms=...` per shape and path, ditc_cu_attention_layout in bf16 with the cuDNN
path allowed (what the models run: DITC_CUDNN=auto) and with the own kernel
only. This script times torch.nn.functional.scaled_dot_product_attention on
each of those shapes (bf16 on cuda, contiguous [B, H, S, D] as PyTorch wants,
is_causal for the causal ones; GQA through enable_gqa=True where this PyTorch
has it, and also with K / V heads repeated, the faster of the two being the
baseline; only repeated where enable_gqa is missing), with the bench's
method: --warmup calls, then --repeats times the bench's iteration count
between two CUDA events, the median per call. Where the bench printed no
lines, the built-in shapes are timed for PyTorch alone and the table says so.

Prints one markdown table last: per shape and ditc layout, SDPA ms, ditc
cuDNN-path ms and own-kernel ms, each with speed = SDPA ms / ditc ms, and
whether the GPU issue's goal (attention at >= 90% of SDPA's speed: speed >=
0.9) holds. Writes the rows under "attention" in $OUT/timings.json (or
--json), merged with what is there: a list there (time_models.py's rows)
becomes {"models": [...], "attention": {...}}.

Exit status: 0 when every shape was timed on both sides; 1 when the bench
printed nothing or a side failed; 2 when there is no PyTorch with CUDA.
"""

import argparse
import json
import os
import re
import statistics
import sys

# (name, B, H, Hkv, S, D, causal): the bench's shapes (attention_bench.cpp),
# used when it printed none.
SHAPES = [
    ("dit", 2, 16, 16, 256, 72, False),
    ("pixart", 2, 16, 16, 4096, 72, False),
    ("sd3", 2, 24, 24, 4429, 64, False),
    ("flux", 1, 24, 24, 4608, 128, False),
    ("llama3-8b", 1, 32, 8, 4096, 128, True),
]
TITLES = {
    "dit": "DiT-XL/2 256px b2",
    "pixart": "PixArt-alpha 1024px b2",
    "sd3": "SD3-medium 1024px b2 (joint)",
    "flux": "Flux 1024px b1",
    "llama3-8b": "Llama-3-8B prefill 4096 causal GQA",
}
GOAL = 0.9


def log(msg):
    print("time_attention: " + msg, file=sys.stderr, flush=True)


def flops(b, h, s, d, causal):
    f = 4.0 * b * h * s * s * d
    return f / 2 if causal else f


def default_iters(b, h, s, d, causal, iters):
    # As the bench: about 1e12 FLOPs per repeat for small shapes, at most 200.
    return max(iters, min(200, -(-int(1e12) // int(flops(b, h, s, d, causal)))))


FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')


def parse_lines(lines):
    """(device dict, [ATTN dicts], {(name, layout): max_abs})."""
    device, rows, diffs = {}, [], {}
    for line in lines:
        words = line.split(None, 1)
        if not words or words[0] not in ("ATTN", "ATTN_DEVICE", "ATTN_DIFF"):
            continue
        fields = {k: v.strip('"') for k, v in FIELD.findall(words[1] if len(words) > 1 else "")}
        if words[0] == "ATTN_DEVICE":
            device = fields
        elif words[0] == "ATTN_DIFF":
            diffs[(fields.get("name"), fields.get("layout"))] = fields.get("max_abs")
        else:
            try:
                for k in ("B", "H", "Hkv", "S", "D", "causal", "iters", "repeats"):
                    fields[k] = int(fields[k])
                fields["ms"] = float(fields["ms"])
            except (KeyError, ValueError):
                log(f"unreadable bench line: {line.strip()}")
                continue
            rows.append(fields)
    return device, rows, diffs


def torch_sdpa_ms(torch, shape, iters, repeats, warmup):
    """(ms, note) of SDPA on contiguous [B, H, S, D] bf16 tensors."""
    b, h, hkv, s, d, causal = shape
    gen = torch.Generator(device="cuda").manual_seed(0)

    def rand(heads):
        return torch.rand(b, heads, s, d, device="cuda", dtype=torch.bfloat16,
                          generator=gen) * 2 - 1

    q, k, v = rand(h), rand(hkv), rand(hkv)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    variants = []
    if hkv != h:
        try:
            sdpa(q[:, :, :8], k[:, :, :8], v[:, :, :8], is_causal=causal, enable_gqa=True)
            variants.append(("enable_gqa", lambda: sdpa(q, k, v, is_causal=causal,
                                                        enable_gqa=True)))
        except TypeError:
            pass
        kr = k.repeat_interleave(h // hkv, dim=1)
        vr = v.repeat_interleave(h // hkv, dim=1)
        variants.append(("K/V heads repeated", lambda: sdpa(q, kr, vr, is_causal=causal)))
    else:
        variants.append(("", lambda: sdpa(q, k, v, is_causal=causal)))
    best = None
    times = {}
    for label, fn in variants:
        with torch.inference_mode():
            for _ in range(warmup):
                fn()
            torch.cuda.synchronize()
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            per_call = []
            for _ in range(repeats):
                start.record()
                for _ in range(iters):
                    fn()
                stop.record()
                stop.synchronize()
                per_call.append(start.elapsed_time(stop) / iters)
        times[label] = statistics.median(per_call)
        if best is None or times[label] < times[best]:
            best = label
    note = ""
    if hkv != h:
        if "enable_gqa" not in times:
            note = "GQA: this PyTorch has no enable_gqa, K/V heads repeated"
        else:
            note = "GQA: " + ", ".join(f"{k} {v:.3f} ms" for k, v in times.items()) + \
                f"; baseline {best}"
    return times[best], note


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="See the module docstring (head of this file).")
    ap.add_argument("bench_output", nargs="*", help="files with the bench's lines ('-': stdin)")
    ap.add_argument("--runs", type=int, default=10,
                    help="calls per repeat where the bench gave no count (default 10)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true", help="the bench's numbers alone")
    ap.add_argument("--json", help="where to merge the rows (default $OUT/timings.json)")
    args = ap.parse_args()

    lines = []
    for path in args.bench_output:
        try:
            lines += (sys.stdin if path == "-" else open(path, errors="replace")).readlines()
        except OSError as e:
            log(f"cannot read {path}: {e}")
    device, bench, diffs = parse_lines(lines)
    notes = []
    if not bench:
        notes.append("the attention bench printed no timings" +
                     (" (no GPU?)" if any(l.startswith("no GPU") for l in lines) else ""))

    # The shapes: the bench's, in its order, else the built-in list.
    shapes = {}
    for r in bench:
        key = r["name"]
        shape = (r["B"], r["H"], r["Hkv"], r["S"], r["D"], bool(r["causal"]))
        shapes.setdefault(key, (shape, r["iters"], r["repeats"]))
    if not shapes:
        for name, b, h, hkv, s, d, causal in SHAPES:
            shapes[name] = ((b, h, hkv, s, d, causal),
                            default_iters(b, h, s, d, causal, args.runs), args.repeats)

    torch_ms, torch_notes = {}, {}
    torch_ok = False
    if args.no_torch:
        notes.append("PyTorch not timed (--no-torch)")
    else:
        try:
            import torch
            if not torch.cuda.is_available():
                notes.append(f"PyTorch {torch.__version__} sees no CUDA device: SDPA not timed")
            else:
                torch_ok = True
                device.setdefault("name", torch.cuda.get_device_name(0))
                device["torch"] = torch.__version__
        except ImportError as e:
            notes.append(f"no PyTorch ({e}): SDPA not timed")
        if torch_ok:
            for name, (shape, iters, repeats) in shapes.items():
                try:
                    torch_ms[name], torch_notes[name] = torch_sdpa_ms(
                        torch, shape, iters, repeats, max(1, args.warmup))
                    log(f"{name}: SDPA {torch_ms[name]:.4f} ms {torch_notes[name]}")
                except Exception as e:  # out of memory, a backend refusing
                    torch_notes[name] = f"SDPA failed: {type(e).__name__}: {e}"
                    log(f"{name}: {torch_notes[name]}")

    # One row per (shape, ditc layout).
    rows = []
    by_key = {}
    for r in bench:
        key = (r["name"], r["layout"] if "layout" in r else "bshd")
        by_key.setdefault(key, {})[r["path"]] = r
    keys = list(by_key) or [(name, "-") for name in shapes]
    for name, layout in keys:
        paths = by_key.get((name, layout), {})
        shape = shapes[name][0]
        row = {"name": name, "shape": TITLES.get(name, name), "layout": layout,
               "B": shape[0], "H": shape[1], "Hkv": shape[2], "S": shape[3],
               "D": shape[4], "causal": shape[5],
               "flops": flops(shape[0], shape[1], shape[3], shape[4], shape[5]),
               "torch_sdpa_ms": torch_ms.get(name)}
        row_notes = [torch_notes.get(name, "")]
        for path in ("cudnn", "own"):
            r = paths.get(path)
            row[f"ditc_{path}_ms"] = r["ms"] if r else None
            if r and path == "cudnn":
                row["cudnn_calls"] = r.get("cudnn_calls")
                if r.get("cudnn_calls", "").startswith("0/"):
                    row_notes.append("cuDNN did not run it (own kernel)")
            t, m = row["torch_sdpa_ms"], row[f"ditc_{path}_ms"]
            speed = t / m if t and m else None
            row[f"{path}_speed"] = speed
            row[f"{path}_goal"] = None if speed is None else speed >= GOAL
        if (name, layout) in diffs:
            row["cudnn_vs_own_max_abs"] = diffs[(name, layout)]
        row["note"] = "; ".join(n for n in row_notes if n)
        rows.append(row)

    def ms(v):
        return f"{v:.3f}" if isinstance(v, float) else "-"

    def speed(v):
        return f"{v:.2f}" if isinstance(v, float) else "-"

    def goal(v):
        return "-" if v is None else ("yes" if v else "no")

    for n in notes:
        print(f"attention: {n}")
    if device:
        print("attention device: " + ", ".join(f"{k} {v}" for k, v in device.items()))
    print(f"| attention (bf16) | ditc layout | SDPA ms | ditc cuDNN ms | speed | "
          f">= {GOAL:.0%} | ditc own ms | speed | >= {GOAL:.0%} | note |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        shape = f"{r['shape']} ({r['B']}x{r['H']}/{r['Hkv']}x{r['S']}x{r['D']})"
        print(f"| {shape} | {r['layout']} | {ms(r['torch_sdpa_ms'])} "
              f"| {ms(r['ditc_cudnn_ms'])} | {speed(r['cudnn_speed'])} | {goal(r['cudnn_goal'])} "
              f"| {ms(r['ditc_own_ms'])} | {speed(r['own_speed'])} | {goal(r['own_goal'])} "
              f"| {r['note']} |")
    def met(path):
        done = [r[f"{path}_goal"] for r in rows if r[f"{path}_goal"] is not None]
        return f"{sum(done)}/{len(done)}" if done else "-"

    print(f"attention goal: cuDNN {met('cudnn')}, own {met('own')}")
    print(f"speed = SDPA ms / ditc ms (SDPA on contiguous [B,H,S,D]); the goal: speed >= {GOAL}; "
          "the cuDNN column is what the models run (DITC_CUDNN=auto)")

    target = args.json or (os.path.join(os.environ["OUT"], "timings.json")
                           if os.environ.get("OUT") else None)
    if target:
        data = {}
        try:
            with open(target) as f:
                data = json.load(f)
        except (OSError, ValueError):
            pass
        if isinstance(data, list):
            data = {"models": data}
        elif not isinstance(data, dict):
            data = {}
        data["attention"] = {"device": device, "notes": notes, "goal_speed": GOAL,
                             "rows": rows}
        with open(target, "w") as f:
            json.dump(data, f, indent=1)

    if not torch_ok and not args.no_torch:
        return 2
    complete = bool(bench) and all(
        r["ditc_cudnn_ms"] is not None and r["ditc_own_ms"] is not None and
        (args.no_torch or r["torch_sdpa_ms"] is not None) for r in rows)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
