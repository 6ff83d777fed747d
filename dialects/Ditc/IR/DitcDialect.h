//===- DitcDialect.h - the ditc dialect -------------------------*- C++ -*-===//

#ifndef DITC_DIALECTS_DITC_IR_DITCDIALECT_H
#define DITC_DIALECTS_DITC_IR_DITCDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Ditc/IR/DitcDialect.h.inc"

#endif // DITC_DIALECTS_DITC_IR_DITCDIALECT_H
