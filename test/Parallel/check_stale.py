#!/usr/bin/env python3
"""PipeFusion's stale schedule against the synchronous one and one rank.

Run under mpirun (every rank runs this script on the multi-rank library,
rank 0 reports). Through the Python bindings:

1. a call without denoising-step information (synchronous) matches the
   single-rank output REF (relative L2 < 1e-4);
2. denoising step 0 (synchronous: fills the K/V buffers), then step 1 on the
   same inputs: the stale schedule's K/V of the other patches are then the
   fresh ones, so step 1 must match REF as well;
3. step 2 on changed inputs (latent + 0.1 noise, another timestep) runs the
   stale schedule on K/V left by step 1: its output must differ from the
   synchronous output on those inputs (the stale K/V are used), by a
   relative L2 below 0.5 (small: adjacent steps are alike), and step 3 on
   the same changed inputs comes at least twice as close to it (the
   buffers now hold K/V of that input, computed from layers that read stale
   K/V themselves: a fixed-point iteration).

usage: check_stale.py LIB INPUTS.npz REF.npz
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ditc.runtime as rt  # noqa: E402


def rel(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    lib, inputs, ref = sys.argv[1:4]
    m = rt.Model(lib)
    if m.kv_cache_bytes <= 0:
        print(f"FAIL {lib}: no stale schedule (K/V buffers: {m.kv_cache_bytes} bytes)")
        return 1
    feed = dict(np.load(inputs))
    name = m.outputs[0].name
    want = np.load(ref)[name]
    # The latent: the first float input of the output's shape or with its
    # leading dims.
    latent = next(k for k, v in feed.items() if v.dtype.kind == "f" and v.ndim == want.ndim)
    changed = dict(feed)
    rng = np.random.default_rng(1)
    changed[latent] = (feed[latent] + 0.1 * rng.standard_normal(feed[latent].shape)).astype(
        feed[latent].dtype)
    for k, v in feed.items():  # another timestep (integer or float input of 1-2 dims)
        if k != latent and v.ndim <= 1 and v.size <= 4 and "time" in k:
            changed[k] = (v * 0.9).astype(v.dtype) if v.dtype.kind == "f" else (v - 7).astype(v.dtype)
    sync = m.run(feed)[name]
    sync_changed = m.run(changed)[name]
    m.begin_denoising(4, 1)
    outs = []
    for i, f in enumerate([feed, feed, changed, changed]):
        m.set_denoising_step(i)
        outs.append(m.run(f)[name])
    checks = [
        ("synchronous", rel(sync, want), rel(sync, want) < 1e-4),
        ("step 0 (warm-up)", rel(outs[0], want), rel(outs[0], want) < 1e-4),
        ("step 1 (stale, same inputs)", rel(outs[1], want), rel(outs[1], want) < 1e-4),
        ("step 2 (stale, changed inputs)", rel(outs[2], sync_changed),
         1e-6 < rel(outs[2], sync_changed) < 0.5),
        ("step 3 (stale, same as step 2)", rel(outs[3], sync_changed),
         rel(outs[3], sync_changed) < 0.5 * rel(outs[2], sync_changed)),
    ]
    if m.rank == 0:
        ok = all(c[2] for c in checks)
        print(("PASS " if ok else "FAIL ") + os.path.basename(os.path.dirname(lib)) + ": " +
              ", ".join(f"{what} {err:.1e}{'' if good else ' BAD'}" for what, err, good in checks))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
