//===- ditc.cpp - the ditc command-line tool ------------------------------===//
//
// Parses options and hands each subcommand to lib/Driver.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Driver.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

using namespace llvm;

static cl::OptionCategory ditcCategory("ditc options");

static cl::SubCommand importCmd("import",
                                "Import an ONNX model into the ditc dialect");
static cl::opt<std::string> importModel(cl::Positional, cl::Required,
                                        cl::desc("MODEL.onnx"), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::opt<std::string> importOut("o", cl::desc("Output file (default: stdout)"),
                                      cl::value_desc("OUT.mlir"), cl::init("-"),
                                      cl::sub(importCmd), cl::cat(ditcCategory));
static cl::list<std::string>
    importShapes("shape",
                 cl::desc("Static shape for a graph input with dynamic "
                          "dimensions (repeatable)"),
                 cl::value_desc("NAME=D0,D1,..."), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::list<std::string> importBinds(
    "bind",
    cl::desc("Replace graph input NAME by the constant in a serialized ONNX "
             "TensorProto file, e.g. a backend test's input_0.pb (repeatable)"),
    cl::value_desc("NAME=FILE.pb"), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::opt<bool> importNoFuse(
    "no-fuse", cl::desc("Print the graph as imported, before canonicalisation "
                        "and fusion of attention, norms, GELU, SiLU, linear"),
    cl::sub(importCmd), cl::cat(ditcCategory));
static cl::opt<bool> importSummary(
    "summary", cl::desc("Print a summary (inputs, outputs, op counts, weights) "
                        "instead of the IR"),
    cl::sub(importCmd), cl::cat(ditcCategory));

static cl::SubCommand opsCmd("ops", "List the ONNX op types the importer supports");

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(ditcCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "ditc: ahead-of-time parallelizing compiler for DiT and LLM graphs\n\n"
      "  ditc import MODEL.onnx [-o OUT.mlir] [--shape NAME=D0,D1,...]\n"
      "              [--bind NAME=FILE.pb]\n"
      "  ditc ops\n");
  if (importCmd) {
    mlir::ditc::ImportCommandOptions opts;
    opts.model = importModel;
    opts.output = importOut;
    opts.shapes = importShapes;
    opts.binds = importBinds;
    opts.fuse = !importNoFuse;
    opts.summary = importSummary;
    return mlir::ditc::runImportCommand(opts);
  }
  if (opsCmd) {
    for (const std::string &op : mlir::ditc::supportedOnnxOps())
      outs() << op << "\n";
    return 0;
  }
  errs() << "error: no subcommand given; see ditc --help\n";
  return 1;
}
