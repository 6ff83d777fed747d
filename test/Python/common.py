"""What the Python package's tests share: the compiler's path, the relative
L2 distance and the fixtures' arrays. pytest puts this folder on sys.path."""

import os
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
INPUTS = HERE / "Inputs"


def compiler():
    path = os.environ.get("DITC_COMPILER") or shutil.which("ditc")
    assert path, "set DITC_COMPILER to build/bin/ditc (or put ditc on PATH)"
    return path


def rel_l2(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def fixture_arrays(name, which):
    with np.load(FIXTURES / name / f"{which}.npz") as f:
        return {k: f[k] for k in f.files}
