#!/usr/bin/env python3
"""Re-saves an ONNX model with every initializer of 1 KiB or more moved to
one external-data file beside it (<out>.data)."""
import os
import sys

import onnx

src, dst = sys.argv[1], sys.argv[2]
model = onnx.load(src)
onnx.save_model(model, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                location=os.path.basename(dst) + ".data", size_threshold=1024)
