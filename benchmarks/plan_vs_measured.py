#!/usr/bin/env python3
"""How well `ditc plan` ranks plans: every legal plan of a model for N ranks
of one core each, predicted on a CPU description calibrated here with one
thread (under mpirun with N ranks, so that the link between them is
measured through the runtime's communicator; once per round, beside the
plans' runs, the predictions on the median of the rounds' descriptions),
compiled and measured under mpirun; Spearman's rank correlation
between predicted and measured step times, and how far the chosen plan is
from the measured best.

    python3 benchmarks/plan_vs_measured.py [--models dit_dynamo,...] \
        [--devices 2] [--steps 6] [--warmup-steps 1] [--repeats 3] [--rounds 1] \
        [--hw FILE] [--work /tmp/ditc-plan-vs-measured]

A model is a fixture name (test/fixtures/NAME, its inputs.npz) or
`dit-block`: a full-width DiT-XL block (hidden 1152, 16 heads, 1024 tokens)
made by examples/export_models.py --full-size dit-block (needs the export
venv, docs/BENCHMARKS.md). A plan's measured time is one
denoising step averaged as the prediction averages it: plain calls
(`ditc run --bench`) for the warm-up steps and for plans without a stale
schedule, the stale steps of `ditc run --steps 8` for PipeFusion's other
steps; medians over --repeats runs. Prints a markdown table per model and a summary; compare
ratios from one run (the machine is shared and noisy).

With --rounds 6 or more the summary also gives Spearman against the
measured order the rounds can tell apart: plans by median, a plan tied
with the fastest of the group before it unless an exact two-sided
Wilcoxon signed-rank test over the paired rounds puts it behind at 5%
(one round's plans run within minutes of each other, so the machine's
drift reaches them alike). Plans measured within the noise then share a
rank instead of taking the order the noise gave them; the raw Spearman
is printed too. And Spearman against each plan's fastest round: a round
is one mpirun launch, and this VM runs a launch of the same library in
one of two modes, steady within it (a tiny fixture's `cfg=2`: medians of
0.046 or 0.074 ms); the slow mode only adds time.

--explain also compiles every plan but pp and PipeFusion (whose ranks run
different ops) with --trace, runs it once under mpirun (`ditc run --trace`:
rank 0's time per op, medians over 10 calls) and prints, per plan and
class of op, the predicted time (`ditc profile --format json`, the same
machine description) beside the traced one: where the time model is off.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl_vader_single_copy_mechanism", "none"]


def run(cmd, stdout_only=False):
    p = subprocess.run(cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE if stdout_only else subprocess.STDOUT, text=True)
    if p.returncode:
        sys.exit(f"plan_vs_measured: failed ({p.returncode}): {' '.join(cmd)}\n"
                 f"{(p.stderr if stdout_only else p.stdout)[-2000:]}")
    return p.stdout


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den else float("nan")


def signed_rank_test(faster, slower):
    """Two-sided exact Wilcoxon signed-rank test over paired rounds: the
    chance, if neither plan were faster, of rank sums at least this
    lopsided. Rounds without a difference are dropped; equal magnitudes
    share their mean rank (sums in halves)."""
    d = [s - f for f, s in zip(faster, slower) if s != f]
    n = len(d)
    if n == 0:
        return 1.0
    order = sorted(range(n), key=lambda i: abs(d[i]))
    twice = [0] * n  # twice each rank, integral with shared ranks
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(d[order[j + 1]]) == abs(d[order[i]]):
            j += 1
        for k in range(i, j + 1):
            twice[order[k]] = i + j + 2
        i = j + 1
    # How many of the 2^n sign assignments give each (doubled) positive sum.
    total = sum(twice)
    counts = [0] * (total + 1)
    counts[0] = 1
    for r in twice:
        for v in range(total, r - 1, -1):
            counts[v] += counts[v - r]
    positive = sum(r for r, x in zip(twice, d) if x > 0)
    low = min(positive, total - positive)
    tail = sum(counts[: low + 1]) / 2 ** n
    return min(1.0, 2 * tail)


def measured_groups(times, alpha=0.05):
    """Plans by measured median, in groups the rounds cannot order: a plan
    starts a new group when the signed-rank test over the paired rounds
    puts it behind the fastest plan of the current group (p <= alpha);
    otherwise it is tied with that group."""
    order = sorted(times, key=lambda p: median(times[p]))
    groups = []
    for p in order:
        if groups and signed_rank_test(times[groups[-1][0]], times[p]) > alpha:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def shape_args(name):
    """The exported DiT block's token count is dynamic: the one measured."""
    return ["--dim", "tokens=1024"] if name == "dit-block" else []


def model_files(name, work, ditc):
    if name == "dit-block":
        d = os.path.join(work, "dit-block")
        if not os.path.exists(os.path.join(d, "model.onnx")):
            run([os.environ.get("DITC_EXPORT_PYTHON", "/opt/ditc-export-venv/bin/python"),
                 os.path.join(REPO, "examples", "export_models.py"), "--full-size", "dit-block",
                 "--seq", "1024", "--out", d])
        return os.path.join(d, "model.onnx"), os.path.join(d, "inputs.npz")
    src = os.path.join(REPO, "test", "fixtures", name)
    return os.path.join(src, "model.onnx"), os.path.join(src, "inputs.npz")


def calibrate(a, path):
    """`ditc calibrate --threads 1` under mpirun with the benchmark's ranks:
    the compute rates of one core and the link between the ranks."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run(MPIRUN + ["-np", str(a.devices), a.ditc, "calibrate", "--threads", "1",
                  "--name", "cpu-1thread", "-o", path])
    return path


# Fields `ditc calibrate` leaves out at their default: a round whose
# smaller products ran no slower writes no matrix_half_rows (0).
DESCRIPTION_DEFAULTS = {"matrix_half_rows": 0.0}


def median_description(ds):
    """The field-wise median of machine descriptions of one machine (numbers
    by median, everything else from the first that has it; a field some
    descriptions leave out counts at its default where it has one, else
    the median is of those that give it)."""
    first = ds[0]
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for d in ds for k in d))
        out = {}
        for k in keys:
            values = [d[k] for d in ds if k in d]
            if len(values) < len(ds) and k in DESCRIPTION_DEFAULTS:
                values += [DESCRIPTION_DEFAULTS[k]] * (len(ds) - len(values))
            out[k] = median_description(values)
        return out
    if isinstance(first, list):
        return [median_description([d[i] for d in ds]) for i in range(len(first))]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return median(ds)
    return first


def link_rate(path):
    return json.load(open(path))["links"][0]["bandwidth"]


def predict(a, name, model, hw):
    """Every legal plan, chosen first, with its predicted step in ms."""
    out = json.loads(run([a.ditc, "plan", model, *shape_args(name), "--devices", str(a.devices),
                          "--hw", hw, "--format", "json", "--top", "1000", "--steps", str(a.steps),
                          "--warmup-steps", str(a.warmup_steps)], stdout_only=True))
    return {c["plan_string"]: 1e3 * c["predicted_step_s"] for c in [out] + out["alternatives"]}


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def measure(a, so, inputs, pipefusion):
    """One denoising step averaged over S steps of which K warm up: plain
    calls (`--bench`, the synchronous schedule) time the warm-up steps and
    every step of a plan without a stale schedule; the stale steps of a
    sampler run (`--steps`, past its first, cold, call) time the rest. Each
    the median of --repeats runs."""
    base = MPIRUN + ["-np", str(a.devices), a.ditc, "run", so, "--inputs", inputs,
                     "--threads", "1"]
    sync, stale = [], []
    for _ in range(a.repeats):
        o = run(base + ["--bench", "30", "--warmup", "5"])
        m = re.search(r"median ([0-9.]+) ms", o)
        if not m:
            sys.exit(f"plan_vs_measured: no bench line for {so}:\n{o[-1500:]}")
        sync.append(float(m.group(1)))
        if pipefusion:
            o = run(base + ["--steps", "8", "--warmup-steps", "1"])
            times = [float(x) for x in re.findall(r"denoising step \d+/\d+: .*?, ([0-9.]+) ms \(stale K/V\)", o)]
            if times:
                stale.append(median(times))
    warm, rest = median(sync), median(stale) if stale else median(sync)
    k = min(max(a.warmup_steps, 1 if pipefusion else 0), a.steps)
    return (k * warm + (a.steps - k) * rest) / a.steps


def op_class(op):
    """The class of a profile op name, as the explanation groups them."""
    name = op.split(".", 1)[-1]
    if name.startswith("collective.") or name in ("send", "recv"):
        return "communication"
    if name in ("linear", "matmul", "einsum", "conv"):
        return "matrix"
    if name in ("attention", "ring_attention"):
        return "attention"
    if name in ("layer_norm", "rms_norm", "group_norm", "softmax"):
        return "norm"
    if name in ("transpose", "concat", "split", "slice", "gather", "broadcast", "cast"):
        return "movement"
    return "elementwise"


def explain(a, name, model, hw, plan, d):
    """Predicted and traced milliseconds per class of op for one plan."""
    so = os.path.join(d, "trace.so")
    run([a.ditc, "compile", model, *shape_args(name), "-o", so, "--devices", str(a.devices),
         "--plan", plan, "--trace"])
    inputs = model_files(name, a.work, a.ditc)[1]
    trace = os.path.join(d, "trace.json")
    run(MPIRUN + ["-np", str(a.devices), a.ditc, "run", so, "--inputs", inputs, "--threads", "1",
                  "--bench", "10", "--warmup", "2", "--trace", trace])
    prof = os.path.join(d, "profile.json")
    run([a.ditc, "profile", model, *shape_args(name), "--hw", hw, "--devices", str(a.devices),
         "--plan", plan, "--format", "json", "-o", prof])
    ops = json.load(open(prof))["ops"]
    steps = json.load(open(trace))["step_seconds"]
    if len(ops) != len(steps):
        sys.exit(f"plan_vs_measured: {plan}: the profile has {len(ops)} steps, the trace {len(steps)}")
    sums = {}
    for o, t in zip(ops, steps):
        p, m = sums.get(op_class(o["op"]), (0.0, 0.0))
        sums[op_class(o["op"])] = (p + 1e3 * o["predicted_time_s"], m + 1e3 * t)
    return sums


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ditc", default=os.path.join(REPO, "build", "bin", "ditc"))
    ap.add_argument("--models", default="dit_dynamo,pixart_dynamo,sd3_dynamo,flux_dynamo")
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup-steps", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure every plan this many times, round robin; median")
    ap.add_argument("--hw", help="machine description (default: ditc calibrate --threads 1 "
                    "under mpirun -np DEVICES, which measures the link between the ranks, "
                    "run once per round beside the plans; the predictions use the median "
                    "of the rounds' descriptions)")
    ap.add_argument("--work", default="/tmp/ditc-plan-vs-measured")
    ap.add_argument("--explain", action="store_true",
                    help="per plan and class of op, predicted against traced time")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    summary = []
    for name in a.models.split(","):
        model, inputs = model_files(name, a.work, a.ditc)
        # The candidates: every legal plan (which plans are legal does not
        # depend on the description's rates, so the first round's
        # calibration lists them).
        descriptions = []
        if not a.hw:
            descriptions.append(calibrate(a, os.path.join(a.work, name, "calibration-1.json")))
        hw = a.hw or descriptions[0]
        cands = predict(a, name, model, hw)
        libs = []
        for plan in cands:
            d = os.path.join(a.work, name, re.sub(r"[=,]", "-", plan))
            os.makedirs(d, exist_ok=True)
            so = os.path.join(d, "m.so")
            run([a.ditc, "compile", model, *shape_args(name), "-o", so, "--devices", str(a.devices),
                 "--plan", plan])
            libs.append((plan, so))
        # Rounds over all the plans, so that the machine's drift reaches
        # every plan alike; each plan's time is its median over the rounds.
        # Without --hw every round calibrates the machine too, and the
        # predictions use the median of those descriptions: this VM's link
        # between the ranks switches between modes minutes apart (2.4x in
        # bandwidth), and a description timed before the plans can see the
        # other mode from the one they run in.
        times = {plan: [] for plan, _ in libs}
        for r in range(a.rounds):
            if not a.hw and r > 0:
                descriptions.append(calibrate(a, os.path.join(a.work, name, f"calibration-{r + 1}.json")))
            # Each round starts at the next plan, so that no plan always
            # runs first after the calibration.
            for plan, so in libs[r % len(libs):] + libs[:r % len(libs)]:
                times[plan].append(measure(a, so, inputs, "pipefusion" in plan))
                print(f"plan_vs_measured: {name} {plan} (round {r + 1}/{a.rounds}): "
                      f"measured {times[plan][-1]:.3f} ms", file=sys.stderr)
        if descriptions:
            hw = os.path.join(a.work, name, "calibration-median.json")
            with open(hw, "w") as f:
                json.dump(median_description([json.load(open(p)) for p in descriptions]), f, indent=1)
            print(f"plan_vs_measured: {name}: link per round "
                  + ", ".join(f"{link_rate(p) / 1e9:.2f}" for p in descriptions)
                  + f" GB/s; predicting with the median, {link_rate(hw) / 1e9:.2f} GB/s", file=sys.stderr)
        predicted = predict(a, name, model, hw)
        if set(predicted) != set(times):
            sys.exit(f"plan_vs_measured: {name}: the median description gives other plans: "
                     f"{sorted(predicted)} against {sorted(times)}")
        rows = [(plan, ms, median(times[plan])) for plan, ms in predicted.items()]
        rho = spearman([r[1] for r in rows], [r[2] for r in rows])
        # Against each plan's fastest round: a round is one mpirun launch,
        # and on this project's VM a launch of the same library runs in one
        # of two modes (a tiny fixture's `cfg=2`: 0.046 or 0.074 ms, steady
        # within the launch); slowness only adds, so the fastest launch is
        # the plan without it.
        rho_fastest = spearman([r[1] for r in rows], [min(times[r[0]]) for r in rows])
        # Against the measured order the rounds can tell apart (ties where a
        # signed-rank test over the paired rounds cannot): with fewer than 6
        # rounds no order passes at 5%, and this is not computed.
        rho_ties, tied = float("nan"), []
        if a.rounds >= 6:
            groups = measured_groups(times)
            group = {p: i for i, g in enumerate(groups) for p in g}
            rho_ties = spearman([r[1] for r in rows], [group[r[0]] for r in rows])
            tied = [g for g in groups if len(g) > 1]
        best = min(r[2] for r in rows)
        gap = rows[0][2] / best - 1.0
        print(f"\n### {name}, {a.devices} ranks\n")
        print("| plan | predicted ms | measured ms (median) | fastest round ms |")
        print("|---|---|---|---|")
        for plan, p, m in sorted(rows, key=lambda r: r[2]):
            print(f"| `{plan}`{' (chosen)' if plan == rows[0][0] else ''} | {p:.3f} | {m:.3f} "
                  f"| {min(times[plan]):.3f} |")
        for g in tied:
            print(f"\nTied (the rounds cannot order them: signed-rank test, 5%): "
                  + ", ".join(f"`{p}`" for p in g))
        summary.append((name, len(rows), rho, rho_fastest, rho_ties, rows[0][0], gap))
        if a.explain:
            classes = ["matrix", "attention", "norm", "elementwise", "movement", "communication"]
            print(f"\n{name}: predicted / traced ms per class of op (rank 0, one run of 10 calls)\n")
            print("| plan | " + " | ".join(classes) + " | total |")
            print("|---|" + "---|" * (len(classes) + 1))
            for plan, _ in libs:
                if "pipefusion" in plan or "pp=" in plan:
                    continue
                d = os.path.join(a.work, name, re.sub(r"[=,]", "-", plan))
                sums = explain(a, name, model, hw, plan, d)
                cells = [sums.get(k, (0.0, 0.0)) for k in classes]
                total = (sum(c[0] for c in cells), sum(c[1] for c in cells))
                print(f"| `{plan}` | " + " | ".join(f"{p:.2f} / {m:.2f}" for p, m in cells + [total]) + " |")
    print("\n| model | plans | Spearman (medians) | Spearman (fastest rounds) | Spearman, measured ties "
          "| chosen | chosen vs measured best |")
    print("|---|---|---|---|---|---|---|")
    for name, n, rho, rho_fastest, rho_ties, plan, gap in summary:
        ties = "n/a" if math.isnan(rho_ties) else f"{rho_ties:.2f}"
        print(f"| {name} | {n} | {rho:.2f} | {rho_fastest:.2f} | {ties} | `{plan}` | +{100 * gap:.1f}% |")


if __name__ == "__main__":
    main()
