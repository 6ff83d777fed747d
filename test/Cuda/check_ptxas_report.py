#!/usr/bin/env python3
"""Checks the ptxas -v report of the CUDA kernels (build/ptxas-report.txt).

The report (runtime/cuda/ptxas_report.cmake) is the "ptxas info" output of
each translation unit under a "== <file.cu> ==" header. Fails (exit 1) when:
  - any function reports non-zero spill stores or spill loads;
  - an --arch has no kernel, or a file's kernels differ between archs;
  - a file pinned with --pin FILE=N has fewer than N kernels per arch.
Prints one line per file ("<file>: N kernels, registers MIN..MAX"), then
every kernel's registers per arch (demangled when c++filt is found), and
"OK: no spills" last.
"""
import argparse
import collections
import re
import shutil
import subprocess
import sys

ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(\w+)'")
PROPS = re.compile(r"Function properties for (\S+)")
SPILL = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                   r"(\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers")
FILE = re.compile(r"^== (\S+) ==$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--arch", action="append", default=[])
    ap.add_argument("--pin", action="append", default=[])
    args = ap.parse_args()

    errors = []
    regs = collections.defaultdict(dict)  # file -> {(arch, kernel): regs}
    spills = []
    cur_file, cur = None, None  # cur: (arch, kernel) being compiled
    func = None
    with open(args.report) as f:
        for line in f:
            line = line.rstrip("\n")
            m = FILE.match(line)
            if m:
                cur_file, cur, func = m.group(1), None, None
                regs.setdefault(cur_file, {})
                continue
            m = ENTRY.search(line)
            if m:
                cur = (m.group(2), m.group(1))
                continue
            m = PROPS.search(line)
            if m:
                func = m.group(1)
                continue
            m = SPILL.search(line)
            if m:
                if int(m.group(2)) or int(m.group(3)):
                    spills.append("%s: %s (%s): %s" % (
                        cur_file, func, cur[0] if cur else "?", line.strip()))
                continue
            m = USED.search(line)
            if m and cur and cur_file:
                regs[cur_file][cur] = int(m.group(1))
                cur = None

    for s in spills:
        errors.append("spills: " + s)
    if not regs:
        errors.append("no kernels in %s" % args.report)
    for arch in args.arch:
        if not any(a == arch for fr in regs.values() for (a, _) in fr):
            errors.append("no kernel compiled for %s" % arch)

    pins = {}
    for p in args.pin:
        name, _, n = p.partition("=")
        pins[name] = int(n)
    for name in pins:
        if name not in regs:
            errors.append("%s: not in the report" % name)

    for name, fr in regs.items():
        per_arch = collections.defaultdict(set)
        for (arch, kernel) in fr:
            per_arch[arch].add(kernel)
        archs = args.arch or sorted(per_arch)
        sets = [per_arch.get(a, set()) for a in archs]
        if sets and any(s != sets[0] for s in sets):
            for a, s in zip(archs, sets):
                missing = sorted(set().union(*sets) - s)
                for k in missing[:5]:
                    errors.append("%s: %s not compiled for %s" % (name, k, a))
                if len(missing) > 5:
                    errors.append("%s: and %d more not compiled for %s" %
                                  (name, len(missing) - 5, a))
        count = len(sets[0]) if sets else 0
        values = list(fr.values())
        line = "%s: %d kernels" % (name, count)
        if values:
            line += ", registers %d..%d" % (min(values), max(values))
        print(line)
        if name in pins and count < pins[name]:
            errors.append("%s: %d kernels, fewer than the %d pinned" %
                          (name, count, pins[name]))

    names = sorted({k for fr in regs.values() for (_, k) in fr})
    demangled = names
    cxxfilt = shutil.which("c++filt")
    if cxxfilt and names:
        out = subprocess.run([cxxfilt], input="\n".join(names), text=True,
                             capture_output=True).stdout.splitlines()
        if len(out) == len(names):
            demangled = out
    pretty = dict(zip(names, demangled))
    for name, fr in sorted(regs.items()):
        by_kernel = collections.defaultdict(dict)
        for (arch, kernel), r in fr.items():
            by_kernel[kernel][arch] = r
        for kernel in sorted(by_kernel, key=lambda k: pretty[k]):
            cols = " ".join("%s=%d" % (a, r)
                            for a, r in sorted(by_kernel[kernel].items()))
            print("  %s  %s  %s" % (name, cols, pretty[kernel]))

    if errors:
        for e in errors:
            print("error: " + e, file=sys.stderr)
        return 1
    print("OK: no spills")
    return 0


if __name__ == "__main__":
    sys.exit(main())
