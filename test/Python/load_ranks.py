"""One rank of `mpirun -np N python load_ranks.py LIB INPUTS.npz OUT_DIR`
(test_api.py): loads a multi-rank library with ditc.load, runs it once on
the inputs and saves its outputs as OUT_DIR/rank<R>.npz, or prints the
ditc.Error it got as "rank R: <class>: <message>"."""

import os
import sys

import numpy as np

import ditc

library, inputs, out_dir = sys.argv[1:4]
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "?")
try:
    model = ditc.load(library)
    with np.load(inputs) as f:
        outputs = model.run({k: f[k] for k in f.files})
    np.savez(os.path.join(out_dir, f"rank{model.rank}.npz"), **outputs)
    print(f"rank {rank}: rank {model.rank} of {model.world_size}", flush=True)
except ditc.Error as e:
    print(f"rank {rank}: {type(e).__name__}: {e}", flush=True)
    sys.exit(1)
