"""Drives the statistics of benchmarks/plan_vs_measured.py on fixed rounds
(plan-vs-measured-stats.test)."""
import sys

sys.path.insert(0, sys.argv[1])
import plan_vs_measured as p  # noqa: E402

zeros = [0.0] * 7
print("rank 7/7", p.signed_rank_test(zeros, [1, 2, 3, 4, 5, 6, 7]))
print("rank W-=1", p.signed_rank_test(zeros, [-1, 2, 3, 4, 5, 6, 7]))
print("rank W-=3", p.signed_rank_test(zeros, [-1, -2, 3, 4, 5, 6, 7]))
print("rank W-=4", p.signed_rank_test(zeros, [-4, 2, 3, 1, 5, 6, 7]))
print("rank 5/5", p.signed_rank_test(zeros[:5], [1, 2, 3, 4, 5]))
print("rank shared", p.signed_rank_test(zeros[:4], [1, 1, -1, -1]))
print("rank none", p.signed_rank_test(zeros[:3], zeros[:3]))

# Two runs of 7 rounds (ms) of the DiT block's plans on 2 ranks, measured
# round robin, and their predictions (on the median of the rounds'
# calibrations), 2026-12-07.
runs = [
    ({"cfg=2": [366.521, 358.268, 359.805, 362.822, 359.349, 365.873, 358.009],
      "ulysses=2": [370.468, 374.081, 374.152, 371.680, 370.130, 369.447, 374.637],
      "tp=2": [372.988, 375.756, 371.795, 373.560, 375.794, 372.790, 365.583],
      "ring=2": [373.583, 380.616, 372.601, 375.347, 373.441, 372.327, 366.203],
      "pp=2": [567.108, 570.334, 569.024, 564.529, 567.018, 560.979, 565.634]},
     {"cfg=2": 352.977, "ulysses=2": 367.345, "tp=2": 369.143, "ring=2": 364.407,
      "pp=2": 565.762}),
    ({"cfg=2": [363.820, 360.836, 362.532, 360.851, 366.631, 361.888, 372.447],
      "ulysses=2": [374.821, 373.811, 370.041, 374.515, 375.918, 376.097, 369.424],
      "tp=2": [372.034, 373.456, 361.976, 374.406, 379.458, 374.128, 367.149],
      "ring=2": [370.449, 376.892, 377.502, 373.376, 376.416, 372.538, 371.310],
      "pp=2": [565.729, 571.165, 564.411, 563.478, 567.976, 587.049, 563.979]},
     {"cfg=2": 356.216, "ulysses=2": 370.771, "tp=2": 372.325, "ring=2": 367.698,
      "pp=2": 570.925}),
]
for i, (times, predicted) in enumerate(runs):
    groups = p.measured_groups(times)
    print(f"run {i + 1} groups", " | ".join(" ".join(g) for g in groups))
    plans = list(predicted)
    raw = p.spearman([predicted[k] for k in plans], [p.median(times[k]) for k in plans])
    group = {k: j for j, g in enumerate(groups) for k in g}
    tied = p.spearman([predicted[k] for k in plans], [group[k] for k in plans])
    print(f"run {i + 1} spearman {raw:.2f} ties {tied:.2f}")

ordered = {"a": [1.0 + 0.01 * r for r in range(6)], "b": [2.0 + 0.01 * r for r in range(6)],
           "c": [3.0 + 0.01 * r for r in range(6)]}
print("ordered groups", " | ".join(" ".join(g) for g in p.measured_groups(ordered)))
print("few rounds groups", " | ".join(" ".join(g) for g in p.measured_groups(
    {k: v[:5] for k, v in ordered.items()})))

# The median of the rounds' calibrations: a round whose smaller products ran
# no slower leaves matrix_half_rows out (its default, 0); a link in every one.
ds = [{"name": "a", "memory_bandwidth": 3.0, "links": [{"bandwidth": 1.0}]},
      {"name": "a", "memory_bandwidth": 1.0, "matrix_half_rows": 2.5, "links": [{"bandwidth": 2.5}]},
      {"name": "a", "memory_bandwidth": 2.0, "links": [{"bandwidth": 0.9}]}]
m = p.median_description(ds)
print("median", m["name"], m["memory_bandwidth"], m["matrix_half_rows"], m["links"][0]["bandwidth"])
m = p.median_description(ds[1:2] + ds[1:2] + ds[:1])
print("median present", m["matrix_half_rows"])
