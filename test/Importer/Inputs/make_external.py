#!/usr/bin/env python3
"""Re-saves an ONNX model with every initializer of 1 KiB or more (or of
--threshold BYTES) moved to one external-data file beside it (<out>.data);
with --attributes, Constant nodes' tensors too (as torch's exporters write
large models)."""
import argparse
import os

import onnx

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("dst")
ap.add_argument("--threshold", type=int, default=1024)
ap.add_argument("--attributes", action="store_true")
a = ap.parse_args()
model = onnx.load(a.src)
onnx.save_model(model, a.dst, save_as_external_data=True, all_tensors_to_one_file=True,
                location=os.path.basename(a.dst) + ".data", size_threshold=a.threshold,
                convert_attribute=a.attributes)
