"""Drives the statistics of benchmarks/plan_vs_measured.py on fixed rounds
(plan-vs-measured-stats.test)."""
import sys

sys.path.insert(0, sys.argv[1])
import plan_vs_measured as p  # noqa: E402

print("sign 7/7", p.sign_test([1.0] * 7, [2.0] * 7))
print("sign 6/7", p.sign_test([1.0] * 7, [2.0] * 6 + [0.5]))
print("sign 3/6", p.sign_test([1.0] * 6, [2.0] * 3 + [0.5] * 3))
print("sign ties", p.sign_test([1.0] * 4, [1.0] * 4))
# Medians of 7 rounds (ms) of the DiT block's plans on 2 ranks, measured
# round robin, and their predictions (calibrated beside them).
times = {
    "cfg=2": [366.521, 358.268, 359.805, 362.822, 359.349, 365.873, 358.009],
    "ulysses=2": [370.468, 374.081, 374.152, 371.680, 370.130, 369.447, 374.637],
    "tp=2": [372.988, 375.756, 371.795, 373.560, 375.794, 372.790, 365.583],
    "ring=2": [373.583, 380.616, 372.601, 375.347, 373.441, 372.327, 366.203],
    "pp=2": [567.108, 570.334, 569.024, 564.529, 567.018, 560.979, 565.634],
}
predicted = {"cfg=2": 352.977, "ulysses=2": 367.345, "tp=2": 369.143, "ring=2": 364.407,
             "pp=2": 565.762}
groups = p.measured_groups(times)
print("groups", " | ".join(" ".join(g) for g in groups))
plans = list(predicted)
print(f"spearman {p.spearman([predicted[k] for k in plans], [p.median(times[k]) for k in plans]):.2f}")
group = {k: i for i, g in enumerate(groups) for k in g}
print(f"spearman ties {p.spearman([predicted[k] for k in plans], [group[k] for k in plans]):.2f}")
ordered = {"a": [1.0 + 0.01 * r for r in range(6)], "b": [2.0 + 0.01 * r for r in range(6)],
           "c": [3.0 + 0.01 * r for r in range(6)]}
g = p.measured_groups(ordered)
print("groups ordered", " | ".join(" ".join(x) for x in g))
print(f"spearman ordered {p.spearman([1, 2, 3], [i for i, _ in enumerate(g)]):.2f}")
