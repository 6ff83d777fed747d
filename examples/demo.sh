#!/usr/bin/env bash
# The main job on a bundled example: set up, build, import a real exported
# PixArt-alpha transformer (tiny config, dynamo exporter) and print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
MODEL=${1:-test/fixtures/pixart_dynamo/model.onnx}
echo "== ditc import $MODEL --summary"
build/bin/ditc import "$MODEL" --summary
