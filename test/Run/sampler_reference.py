"""An independent sampler loop for `ditc run --steps` (test/Run/sampler.test).

Runs the same denoising run as `ditc run LIB --steps S --inputs IN.npz`
through the Python bindings (python/ditc), with its own numpy schedule
written from the schedulers' definitions (DDIM with eta 0 on linear betas,
"leading" timesteps; flow-matching Euler with shift 3), and compares the
final latent with the one `ditc run` wrote (relative L2). Also checks that
the library reports each call's denoising step, and that a step out of
order is refused with a message naming it.

usage: sampler_reference.py LIB IN.npz DITC_OUT.npz STEPS SCHEDULER LATENT TIMESTEP
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ditc.runtime as rt  # noqa: E402


def ddim(steps):
    betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)
    abar = np.cumprod(1.0 - betas)
    ratio = 1000 // steps
    out = []
    for t in (np.arange(steps) * ratio)[::-1]:
        a = abar[t]
        ap = abar[t - ratio] if t - ratio >= 0 else 1.0

        def update(x, eps, a=a, ap=ap):
            x0 = (x - np.sqrt(1 - a) * eps) / np.sqrt(a)
            return np.sqrt(ap) * x0 + np.sqrt(1 - ap) * eps
        out.append((float(t), update))
    return out


def euler(steps, shift=3.0):
    def sh(s):
        return shift * s / (1 + (shift - 1) * s)
    sig = sh(np.linspace(1.0, sh(1.0 / 1000), steps))
    sig = np.append(sig, 0.0)
    return [(1000.0 * sig[i], lambda x, v, i=i: x + (sig[i + 1] - sig[i]) * v)
            for i in range(steps)]


def main():
    lib, inputs, theirs, steps, scheduler, latent, timestep = sys.argv[1:8]
    steps = int(steps)
    m = rt.Model(lib)
    feed = dict(np.load(inputs))
    x = feed[latent].astype(np.float64)
    schedule = ddim(steps) if scheduler == "ddim" else euler(steps)
    m.begin_denoising(steps, 1)
    for i, (t, update) in enumerate(schedule):
        feed[timestep] = np.full(feed[timestep].shape, t).astype(feed[timestep].dtype) \
            if feed[timestep].dtype.kind == "f" else \
            np.full(feed[timestep].shape, np.rint(t)).astype(feed[timestep].dtype)
        feed[latent] = x.astype(np.float32)
        m.set_denoising_step(i)
        pred = m.run(feed)[m.outputs[0].name].astype(np.float64)
        assert m.denoising_step == i, (m.denoising_step, i)
        if pred.shape != x.shape:  # learned sigma: the first half predicts
            axis = [d for d in range(x.ndim) if pred.shape[d] != x.shape[d]][0]
            pred = np.take(pred, range(x.shape[axis]), axis=axis)
        # ditc run keeps the latent in float32 between steps: so does this.
        x = update(x, pred).astype(np.float32).astype(np.float64)
    theirs = np.load(theirs)[latent].astype(np.float64)
    err = np.linalg.norm(theirs - x) / np.linalg.norm(x)
    moved = np.linalg.norm(x - np.load(inputs)[latent]) / np.linalg.norm(x)
    try:
        m.set_denoising_step(0)  # the run has ended
        print("FAIL: a step after the run's last was accepted")
        return 1
    except rt.DitcError as e:
        refused = str(e)
    ok = err < 1e-5 and moved > 1e-2
    print(f"{'PASS' if ok else 'FAIL'} {scheduler} steps={steps} rel_l2={err:.1e} "
          f"moved={moved:.2f} refused: {refused}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
