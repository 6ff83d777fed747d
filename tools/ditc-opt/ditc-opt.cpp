//===- ditc-opt.cpp - run ditc passes on textual IR -----------------------===//

#include "lib/InitAll.h"

#include "mlir/IR/DialectRegistry.h"

namespace mlir::ditc {
void registerTestProfilePass();
} // namespace mlir::ditc
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::ditc::registerAllPasses();
  mlir::ditc::registerTestProfilePass();
  mlir::DialectRegistry registry;
  mlir::ditc::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "ditc optimizer driver\n", registry));
}
