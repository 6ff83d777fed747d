#!/usr/bin/env python3
"""PipeFusion's stale schedule on a full-size graph, under mpirun.

Every rank runs this through the Python bindings on a library compiled with
`--no-weights --devices N --plan pipefusion=...` (random weights): denoising
step 0 (a warm-up step: the synchronous schedule, which fills the K/V
buffers), then step 1 on the same inputs (the stale schedule, whose other
patches' K/V are then the fresh ones). The two outputs must agree (relative
L2 below 1e-4): a chunk of K/V written to the wrong place in the buffers
would not. Prints the K/V buffer bytes, both steps' times and the error.

usage: mpirun -np N -x DITC_COMM_TIMEOUT_S=3000 python3 benchmarks/pipefusion_fullsize.py LIB.so INPUTS.npz
(a full-size stage can take longer than the default 120 s communication timeout)
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import ditc.runtime as rt  # noqa: E402


def rel(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    lib, inputs = sys.argv[1], sys.argv[2]
    m = rt.Model(lib, random_weights=True)
    if m.kv_cache_bytes <= 0:
        sys.exit(f"{lib}: no stale schedule (the compile warned why)")
    feed = dict(np.load(inputs))
    name = m.outputs[0].name
    m.begin_denoising(3, 1)
    m.set_denoising_step(0)
    t = time.time()
    sync = m.run(feed)[name]
    t_sync = time.time() - t
    m.set_denoising_step(1)
    t = time.time()
    stale = m.run(feed)[name]
    t_stale = time.time() - t
    err = rel(stale, sync)
    print(f"K/V buffers {m.kv_cache_bytes} bytes; warm-up (synchronous) {t_sync:.1f} s, "
          f"stale {t_stale:.1f} s; stale vs synchronous on the same inputs: {err:.2e}",
          flush=True)
    sys.exit(0 if err < 1e-4 else 1)


if __name__ == "__main__":
    main()
