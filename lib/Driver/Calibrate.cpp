//===- Calibrate.cpp - `ditc calibrate`: measure this machine -------------===//
//
// Writes a machine description (passes/Analysis/Hardware.h) for the machine
// it runs on, from micro-models compiled and run exactly as user models are
// (ditc codegen, the runtime's kernels, the model ABI):
//
//   tiny ...   32 dependent tiny ops of each class (add, linear, attention,
//              conv, layer_norm, transpose): the fixed cost of one kernel of
//              that class (op_overhead_s; the add's is launch_overhead_s)
//   gemm       linear 1024x1152 . 1152x1152: the matrix rate
//   attention  16 heads, 1024 tokens, head dim 72: the attention rate
//   vector     layer_norm, gelu, softmax, silu, mul on 64x1152 (cache-sized):
//              the rate of "other" FLOPs as the profile counts them
//   memory     add of two 4M-float vectors: bytes moved per second
//   transpose  [4, 2048, 16, 72] -> [4, 16, 2048, 72] (runs of one head,
//              36 MiB each way, out of the caches as the memory one): the
//              rate of data movement against the memory rate
//   copy       a concat (two contiguous block copies of 8 MiB): the link
//              bandwidth between ranks sharing this memory, when no
//              second rank is there to measure it with
//   link       under mpirun (-np W >= 2): chains of all-reduces and
//              all-to-alls of 32 bytes and of 16 MiB, and of all-gathers of
//              16 MiB, over the W ranks, compiled as partitioned libraries
//              and run on every rank (the communicator `ditc run` uses):
//              the link's latency and bandwidth as the time model's
//              collective formulas take them, and each kind's own rate
//              relative to the bandwidth (links[].collective_rates);
//              then a ring attention over the W ranks (a DiT block's heads,
//              512 queries and keys per rank) against one attention of the
//              same FLOPs on every rank: the ring's blocks' share of the
//              attention rate (efficiency.ring_block)
//
// Each rate is work / (median time - the fixed costs of its kernels).
// Under mpirun rank 0 writes the description; the others only take part in
// the link's micro-models.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Driver.h"
#include "lib/Driver/ModelLibrary.h"

#include "lib/InitAll.h"
#include "lib/Support/Diagnostics.h"
#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>

using namespace mlir;
using namespace mlir::ditc;

namespace {

std::string tensor(ArrayRef<int64_t> shape) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + "f32>";
}

/// A micro-model: @main over f32 inputs named a, b, c, ... (past z: in26,
/// in27, ...) with `body` (which defines %out of type `result`).
std::string microModel(ArrayRef<SmallVector<int64_t>> inputs,
                       ArrayRef<int64_t> result, const std::string &body) {
  std::string s = "func.func @main(";
  for (size_t i = 0; i < inputs.size(); ++i)
    s += llvm::formatv("{0}%in{1}: {2} {{ditc.name = \"{3}\"}", i ? ", " : "", i,
                       tensor(inputs[i]),
                       i < 26 ? std::string(1, char('a' + i)) : "in" + std::to_string(i))
             .str();
  s += ") -> (" + tensor(result) + " {ditc.name = \"out\"}) {\n" + body +
       "  return %out : " + tensor(result) + "\n}\n";
  return s;
}

struct Measured {
  double seconds = 0; // median of one run
  int64_t kernels = 0;
  /// Its kernels by class of op (TimeModel.h opClass()).
  std::map<std::string, int64_t> kernelsByClass;
  int64_t flopsMatrix = 0, flopsOther = 0, bytes = 0;
  /// The collectives' local layout passes (OpCost::packBytes).
  int64_t packBytes = 0;
  /// Bytes of the ops that move nothing between ranks.
  int64_t localBytes = 0;
};

struct Calibrator {
  MLIRContext &ctx;
  std::string dir, argv0;
  int runs;
  int threads;

  /// Compiles `text`, runs it, and returns its median time and costs.
  /// `fixedRuns` > 0: exactly that many timed runs (a partitioned model,
  /// whose ranks must run it the same number of times); else at least
  /// `runs`, more until 0.3 s have passed.
  std::optional<Measured> measure(StringRef name, const std::string &text,
                                  int fixedRuns = 0, bool report = true) {
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
    if (!module) {
      llvm::errs() << "error: calibrate: cannot build the '" << name
                   << "' micro-model\n";
      return std::nullopt;
    }
    Measured m;
    Profile profile(*module);
    for (const OpCost &c : profile.ops()) {
      m.kernels += !c.isView;
      if (!c.isView)
        ++m.kernelsByClass[opClass(c.op)];
      m.flopsMatrix += c.flopsMatrix;
      m.flopsOther += c.flopsOther;
      m.bytes += c.bytes();
      m.packBytes += c.packBytes;
      if (c.commKind < 0)
        m.localBytes += c.bytes();
    }
    CodegenOptions codegen;
    codegen.output = dir + "/" + name.str() + ".so";
    codegen.modelDir = dir;
    codegen.argv0 = argv0;
    if (failed(compileModule(*module, codegen, [](const llvm::Twine &) {})))
      return std::nullopt;
    std::string err;
    std::unique_ptr<ModelLibrary> lib =
        ModelLibrary::load(codegen.output, "", threads, err);
    if (!lib) {
      llvm::errs() << "error: calibrate: " << err << "\n";
      return std::nullopt;
    }
    std::vector<Buffer> in, out;
    for (auto [i, t] : llvm::enumerate(lib->inputs())) {
      in.emplace_back(t.bytes);
      fillRandom(t, int(i), in.back());
    }
    for (const TensorDesc &t : lib->outputs())
      out.emplace_back(t.bytes);
    std::vector<double> times;
    auto runOnce = [&]() -> bool {
      auto t0 = std::chrono::steady_clock::now();
      if (!lib->run(in, out, err))
        return false;
      times.push_back(std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - t0)
                          .count());
      return true;
    };
    for (int i = 0; i < 3; ++i)
      if (!runOnce())
        return llvm::errs() << "error: calibrate: " << err << "\n", std::nullopt;
    times.clear();
    auto start = std::chrono::steady_clock::now();
    auto more = [&] {
      if (fixedRuns > 0)
        return int(times.size()) < fixedRuns;
      return int(times.size()) < runs ||
             (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(300) &&
              times.size() < 2000);
    };
    while (more())
      if (!runOnce())
        return llvm::errs() << "error: calibrate: " << err << "\n", std::nullopt;
    std::sort(times.begin(), times.end());
    m.seconds = times[times.size() / 2];
    if (report)
      llvm::errs() << llvm::formatv("  {0,-16} {1,10:F1} us  ({2} kernels, {3} runs)\n",
                                    name, m.seconds * 1e6, m.kernels, times.size());
    return m;
  }
};

/// This process's rank and the number of ranks mpirun started (Open MPI's
/// or a PMI's environment); 0 of 1 outside mpirun.
std::pair<int, int> worldFromEnv() {
  auto num = [](const char *a, const char *b) {
    for (const char *name : {a, b})
      if (const char *v = std::getenv(name))
        return std::atoi(v);
    return -1;
  };
  int size = num("OMPI_COMM_WORLD_SIZE", "PMI_SIZE");
  int rank = num("OMPI_COMM_WORLD_RANK", "PMI_RANK");
  if (size < 2 || rank < 0 || rank >= size)
    return {0, 1};
  return {rank, size};
}

/// A chain of `count` (even) collectives of `kind` (all_reduce,
/// all_to_all, all_gather) over `ranks` ranks on f32 tensors of `elems`
/// elements per rank (a multiple of ranks^2), as a partitioned module. The
/// all-to-alls alternate between [W, E/W] and [W*W, E/W^2] (split one axis,
/// concatenate the other), so that the chain ends in the shape it started
/// from; each all-gather of [1, E/W] into [W, E/W] (E elements gathered,
/// the others' B) is followed by a shard back to the rank's block.
std::string linkModel(const char *kind, int ranks, int64_t elems, int count) {
  bool a2a = StringRef(kind) == "all_to_all";
  bool gather = StringRef(kind) == "all_gather";
  SmallVector<int64_t> wide = {ranks, elems / ranks};
  SmallVector<int64_t> tall = {int64_t(ranks) * ranks, elems / ranks / ranks};
  SmallVector<int64_t> block = {1, elems / ranks};
  SmallVector<int64_t> first = gather ? block : wide;
  std::string body;
  for (int i = 0; i < count; ++i) {
    std::string prev = i ? "%v" + std::to_string(i - 1) : std::string("%in0");
    std::string cur = i + 1 == count ? std::string("%out") : "%v" + std::to_string(i);
    if (gather) {
      body += llvm::formatv("  %g{0} = ditc.collective.all_gather {1} {{axes = "
                            "[\"link\"], axis = 0 : i64} : ({2}) -> {3}\n"
                            "  {4} = ditc.collective.shard %g{0} {{axes = "
                            "[\"link\"], axis = 0 : i64} : ({3}) -> {2}\n",
                            i, prev, tensor(block), tensor(wide), cur)
                  .str();
      continue;
    }
    bool even = i % 2 == 0;
    bool fromTall = a2a && !even, toTall = a2a && even;
    std::string from = tensor(fromTall ? tall : wide), to = tensor(toTall ? tall : wide);
    std::string attrs = !a2a   ? ""
                        : even ? ", concat_axis = 0 : i64, split_axis = 1 : i64"
                               : ", concat_axis = 1 : i64, split_axis = 0 : i64";
    body += llvm::formatv("  {0} = ditc.collective.{1} {2} {{axes = [\"link\"]{3}} : "
                          "({4}) -> {5}\n",
                          cur, kind, prev, attrs, from, to)
                .str();
  }
  return llvm::formatv("module attributes {{ditc.mesh = #ditc.mesh<[\"link\" = {0} : "
                       "tensor]>, ditc.plan = \"tp={0}\"} {{\n{1}}\n",
                       ranks, microModel({first}, first, body))
      .str();
}

/// Ring attention over `ranks` ranks as DiT blocks run it (16 heads of 72,
/// two batch rows, 512 queries and keys per rank, every tensor [B, S, H, D])
/// when `ring`; else the same FLOPs as one attention on each rank (its 512
/// queries against the ring's 512 x ranks keys), no mesh. Both run on every
/// rank at once, so that the two compete for the machine alike.
std::string ringModel(int ranks, bool ring) {
  SmallVector<int64_t> q = {2, 512, 16, 72};
  SmallVector<int64_t> kv = {2, ring ? 512 : 512 * int64_t(ranks), 16, 72};
  std::string body =
      llvm::formatv("  %out = ditc.{0} %in0, %in1, %in2 {{{1}seq_major = array<i1: true, "
                    "true, true, true>} : ({2}, {3}, {3}) -> {2}\n",
                    ring ? "ring_attention" : "attention",
                    ring ? "axes = [\"link\"], kv_valid = 0 : i64, " : "", tensor(q),
                    tensor(kv))
          .str();
  std::string main = microModel({q, kv, kv}, q, body);
  if (!ring)
    return main;
  return llvm::formatv("module attributes {{ditc.mesh = #ditc.mesh<[\"link\" = {0} : "
                       "ring]>, ditc.plan = \"ring={0}\"} {{\n{1}}\n",
                       ranks, main)
      .str();
}

/// The predicted time of micro-model `text` on `hw` (the sum over its ops,
/// one after another as the runtime runs them).
std::optional<double> predictModule(MLIRContext &ctx, const std::string &text,
                                    const HardwareDesc &hw) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module) {
    llvm::errs() << "error: calibrate: cannot build a micro-model to predict\n";
    return std::nullopt;
  }
  double total = 0;
  Profile profile(*module);
  for (const OpCost &c : profile.ops())
    total += predictOpTime(c, hw).totalS;
  return total;
}

/// The link's micro-models as measured: per kind, the chains' median
/// times and what the time model counts of one collective.
struct LinkSample {
  std::string kind;              // all_reduce, all_to_all, all_gather
  double steps = 0, share = 0;   // alpha steps; share of B sent per rank
  double smallS = 0, largeS = 0; // one collective of 32 B (0: not timed), of 16 MiB
  double largeBytes = 0;         // B of the large one
  double largePackBytes = 0;     // its layout passes' bytes
  double largeLocalBytes = 0;    // bytes of the local ops between them
};

/// What measureLink times: the link's collectives and a ring attention
/// against one attention of its FLOPs (HardwareDesc::ringBlockEfficiency).
struct LinkMeasured {
  std::vector<LinkSample> samples;
  double ringS = 0, wholeS = 0; // median times of ringModel(ranks, true / false)
};

/// Times the link between the `ranks` ranks of this machine through the
/// runtime's communicator (every rank runs the chains and the ring).
std::optional<LinkMeasured> measureLink(Calibrator &cal, int ranks, bool report) {
  // f32 elements per rank: 32 bytes and 16 MiB (multiples of ranks^2).
  const int64_t w2 = int64_t(ranks) * ranks;
  const int64_t small = (8 + w2 - 1) / w2 * w2;
  const int64_t large = ((int64_t(1) << 22) + w2 - 1) / w2 * w2;
  const int chainSmall = 16, chainLarge = 4;
  std::vector<LinkSample> samples;
  for (const char *kind : {"all_reduce", "all_to_all", "all_gather"}) {
    // Steps and bytes sent per rank for B bytes, as the time model counts.
    LinkSample k;
    k.kind = kind;
    k.steps = (k.kind == "all_reduce" ? 2.0 : 1.0) * (ranks - 1);
    k.share = k.steps / ranks;
    // The latency comes from the chains of collectives alone: the
    // all-gathers' chain has a shard between them.
    if (k.kind != "all_gather") {
      auto s = cal.measure("link " + k.kind + " 32 B",
                           linkModel(kind, ranks, small, chainSmall), 200, report);
      if (!s)
        return std::nullopt;
      k.smallS = s->seconds / chainSmall;
    }
    auto l = cal.measure("link " + k.kind + " 16 MiB",
                         linkModel(kind, ranks, large, chainLarge), 10, report);
    if (!l)
      return std::nullopt;
    k.largeS = l->seconds / chainLarge;
    k.largeBytes = double(large * 4);
    k.largePackBytes = double(l->packBytes) / chainLarge;
    k.largeLocalBytes = double(l->localBytes) / chainLarge;
    samples.push_back(k);
  }
  // The same number of runs on every rank (the ring's rounds pair them).
  auto ring = cal.measure("ring attention", ringModel(ranks, true), 10, report);
  auto whole = cal.measure("ring, whole", ringModel(ranks, false), 10, report);
  if (!ring || !whole)
    return std::nullopt;
  return LinkMeasured{samples, ring->seconds, whole->seconds};
}

/// The weights' micro-models: a chain of kWeightChain products of 256
/// rows by 1152 x 1152 weights, each its own weight (243 MiB in all: out
/// of the caches by the time the chain comes back to one) or one weight
/// for all (in them). Same FLOPs and shapes.
constexpr int kWeightChain = 48;
int64_t weightChainBytes() { return int64_t(kWeightChain) * 1152 * 1152 * 4; }

std::string weightModel(bool distinct) {
  SmallVector<SmallVector<int64_t>> inputs = {{256, 1152}};
  std::string body;
  for (int i = 0; i < kWeightChain; ++i) {
    if (distinct || i == 0)
      inputs.push_back({1152, 1152});
    std::string prev = i ? "%v" + std::to_string(i - 1) : std::string("%in0");
    std::string cur = i + 1 == kWeightChain ? std::string("%out") : "%v" + std::to_string(i);
    body += llvm::formatv("  {0} = ditc.linear {1}, %in{2} : (tensor<256x1152xf32>, "
                          "tensor<1152x1152xf32>) -> tensor<256x1152xf32>\n",
                          cur, prev, distinct ? i + 1 : 1)
                .str();
  }
  return microModel(inputs, {256, 1152}, body);
}

/// Times weightModel(true) and weightModel(false), on every rank at once
/// under mpirun (the ranks of a plan share the memory behind the caches):
/// in turns, so that the machine's drift reaches both alike (the
/// difference is a few percent of either), each the median of its turns.
std::optional<std::pair<Measured, Measured>> measureWeights(Calibrator &cal, bool report) {
  const std::string coldText = weightModel(true), hotText = weightModel(false);
  std::vector<Measured> cold, hot;
  for (int turn = 0; turn < 3; ++turn) {
    bool last = turn == 2;
    auto c = cal.measure("weights, each once", coldText, 3, report && last);
    auto h = cal.measure("weights, one", hotText, 3, report && last);
    if (!c || !h)
      return std::nullopt;
    cold.push_back(*c);
    hot.push_back(*h);
  }
  auto mid = [](std::vector<Measured> &v) {
    std::sort(v.begin(), v.end(),
              [](const Measured &a, const Measured &b) { return a.seconds < b.seconds; });
    return v[v.size() / 2];
  };
  return std::make_pair(mid(cold), mid(hot));
}

/// The link as the time model reads it: a latency, a bandwidth, and each
/// measured kind's transfer rate relative to the bandwidth
/// (LinkLevel::collectiveRates).
struct LinkFit {
  double alpha = 0, beta = 0;
  std::map<std::string, double> rates;
};

/// Latency (alpha) and bandwidth (beta) such that the time model's formulas
/// (TimeModel.h: an all-reduce of B bytes over n ranks takes
/// 2(n-1) alpha + 2(n-1)/n B / beta, an all-to-all and an all-gather half
/// the steps and bytes, then their layout passes at the movement rate)
/// give the measured times: alpha averaged over the chains timed small
/// (all-reduces and all-to-alls), beta the harmonic mean of those two
/// kinds' rates (what the kinds not measured move at), and each measured
/// kind's own rate kept relative to it. The local passes are charged at the
/// movement rate, as the time model charges them in a plan.
LinkFit fitLink(ArrayRef<LinkSample> samples, double movementRate) {
  LinkFit fit;
  int timed = 0;
  for (const LinkSample &k : samples)
    if (k.smallS > 0) {
      fit.alpha += k.smallS / k.steps;
      ++timed;
    }
  fit.alpha /= std::max(timed, 1);
  std::map<std::string, double> rate;
  double secondsPerByte = 0;
  for (const LinkSample &k : samples) {
    double passes = (k.largePackBytes + k.largeLocalBytes) / movementRate;
    double transfer = std::max(k.largeS - k.steps * fit.alpha - passes, 1e-9);
    rate[k.kind] = k.share * k.largeBytes / transfer;
    if (k.smallS > 0)
      secondsPerByte += 1.0 / rate[k.kind] / double(timed);
  }
  fit.beta = 1.0 / secondsPerByte;
  for (auto &[kind, r] : rate)
    fit.rates[kind] = r / fit.beta;
  return fit;
}

/// The largest cache the first core has to itself (Linux sysfs: a level
/// whose shared_cpu_list is one CPU), in bytes; 0 when none is listed.
double privateCacheBytes() {
  double best = 0;
  for (int i = 0; i < 8; ++i) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream sizeFile(dir + "size"), sharedFile(dir + "shared_cpu_list");
    std::string size, shared;
    if (!std::getline(sizeFile, size) || !std::getline(sharedFile, shared))
      continue;
    if (StringRef(shared).trim().find_first_of(",-") != StringRef::npos)
      continue; // shared with other CPUs
    unsigned long long n = 0;
    StringRef s = StringRef(size).trim();
    double scale = s.consume_back("K") ? 1024.0 : s.consume_back("M") ? 1048576.0 : 1.0;
    if (!s.getAsInteger(10, n))
      best = std::max(best, double(n) * scale);
  }
  return best;
}

std::string cpuName() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos)
        return StringRef(line).substr(colon + 1).trim().str();
    }
  return "unknown CPU";
}

} // namespace

int mlir::ditc::runCalibrateCommand(const CalibrateCommandOptions &opts) {
  if (opts.runs < 1)
    return llvm::errs() << "error: --runs must be at least 1\n", 1;
  SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("ditc-calibrate", dir))
    return llvm::errs() << "error: cannot create a temporary directory\n", 1;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { llvm::sys::fs::remove_directories(dir); }
  } cleanup{dir.str().str()};

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  OneLineDiagnosticHandler diag(&ctx, "calibrate");
  Calibrator cal{ctx, dir.str().str(), opts.argv0, opts.runs, opts.threads};
  auto [rank, ranks] = worldFromEnv();
  std::optional<LinkMeasured> link;
  if (ranks > 1) {
    // Every rank runs the link's micro-models and the weights' ones; rank
    // 0 goes on alone.
    if (rank == 0)
      llvm::errs() << "ditc calibrate: timing the link between " << ranks
                   << " ranks (mpirun)\n";
    link = measureLink(cal, ranks, rank == 0);
    if (!link)
      return 1;
  }
  if (rank == 0)
    llvm::errs() << "ditc calibrate: timing products over weights in and out of the caches"
                 << (ranks > 1 ? " (every rank)" : "") << "\n";
  std::optional<std::pair<Measured, Measured>> weights = measureWeights(cal, rank == 0);
  if (!weights)
    return 1;
  if (rank != 0)
    return 0;
  llvm::errs() << "ditc calibrate: timing micro-models on this machine\n";

  auto gemm = cal.measure(
      "gemm", microModel({{1024, 1152}, {1152, 1152}}, {1024, 1152},
                         "  %out = ditc.linear %in0, %in1 : (tensor<1024x1152xf32>, "
                         "tensor<1152x1152xf32>) -> tensor<1024x1152xf32>\n"));
  // The same product on 128 rows: how the rate falls with the rows.
  auto gemmSmall = cal.measure(
      "gemm 128 rows",
      microModel({{128, 1152}, {1152, 1152}}, {128, 1152},
                 "  %out = ditc.linear %in0, %in1 : (tensor<128x1152xf32>, "
                 "tensor<1152x1152xf32>) -> tensor<128x1152xf32>\n"));
  auto attention = cal.measure(
      "attention",
      microModel({{1, 16, 1024, 72}, {1, 16, 1024, 72}, {1, 16, 1024, 72}},
                 {1, 16, 1024, 72},
                 "  %out = ditc.attention %in0, %in1, %in2 : "
                 "(tensor<1x16x1024x72xf32>, tensor<1x16x1024x72xf32>, "
                 "tensor<1x16x1024x72xf32>) -> tensor<1x16x1024x72xf32>\n"));
  const char *t = "tensor<64x1152xf32>";
  std::string vec;
  vec += llvm::formatv("  %n = ditc.layer_norm %in0 {{axis = 1 : i64, epsilon = "
                       "1.0e-05 : f64} : ({0}) -> {0}\n",
                       t);
  vec += llvm::formatv("  %g = ditc.gelu %n : {0}\n", t);
  vec += llvm::formatv("  %s = ditc.softmax %g {{axis = 1 : i64} : {0}\n", t);
  vec += llvm::formatv("  %u = ditc.silu %s : {0}\n", t);
  vec += llvm::formatv("  %out = ditc.mul %u, %in1 : ({0}, {0}) -> {0}\n", t);
  auto vector = cal.measure("vector", microModel({{64, 1152}, {64, 1152}},
                                                 {64, 1152}, vec));
  auto memory = cal.measure(
      "memory", microModel({{4194304}, {4194304}}, {4194304},
                           "  %out = ditc.add %in0, %in1 : (tensor<4194304xf32>, "
                           "tensor<4194304xf32>) -> tensor<4194304xf32>\n"));
  auto copy = cal.measure(
      "copy", microModel({{1024, 2048}, {1024, 2048}}, {2048, 2048},
                         "  %out = ditc.concat %in0, %in1 {axis = 0 : i64} : "
                         "(tensor<1024x2048xf32>, tensor<1024x2048xf32>) -> "
                         "tensor<2048x2048xf32>\n"));
  // The heads' transpose the sequence-parallel plans add around attention
  // ([B, S, H, D] <-> [B, H, S, D]): copies in runs of one head (288 B),
  // larger than the caches (in them it ran at the memory rate, in a plan
  // at about two thirds of it).
  auto transpose = cal.measure(
      "transpose", microModel({{4, 2048, 16, 72}}, {4, 16, 2048, 72},
                              "  %out = ditc.transpose %in0 {permutation = array<i64: 0, 2, 1, "
                              "3>} : (tensor<4x2048x16x72xf32>) -> tensor<4x16x2048x72xf32>\n"));
  if (!gemm || !gemmSmall || !attention || !vector || !memory || !copy || !transpose)
    return 1;

  // The fixed cost of one kernel, per class of op: 32 dependent tiny ops.
  struct ChainSpec {
    const char *cls;
    std::vector<SmallVector<int64_t>> inputs;
    SmallVector<int64_t> result;
    std::function<std::string(int step)> op; // uses %prev, defines %cur
  };
  const char *x16 = "tensor<16x32xf32>", *w32 = "tensor<32x32xf32>";
  const char *q = "tensor<1x2x16x8xf32>", *img = "tensor<1x4x8x8xf32>";
  std::vector<ChainSpec> chains = {
      {"elementwise", {{16}, {16}}, {16}, [](int) {
         return std::string("ditc.add %prev, %in1 : (tensor<16xf32>, "
                            "tensor<16xf32>) -> tensor<16xf32>");
       }},
      {"matrix", {{16, 32}, {32, 32}}, {16, 32}, [&](int) {
         return llvm::formatv("ditc.linear %prev, %in1 : ({0}, {1}) -> {0}", x16,
                              w32)
             .str();
       }},
      {"attention", {{1, 2, 16, 8}, {1, 2, 16, 8}, {1, 2, 16, 8}}, {1, 2, 16, 8},
       [&](int) {
         return llvm::formatv("ditc.attention %prev, %in1, %in2 : ({0}, {0}, "
                              "{0}) -> {0}",
                              q)
             .str();
       }},
      {"conv", {{1, 4, 8, 8}, {4, 4, 1, 1}}, {1, 4, 8, 8}, [&](int) {
         return llvm::formatv(
                    "ditc.conv %prev, %in1 {{strides = array<i64: 1, 1>, pads "
                    "= array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, "
                    "group = 1 : i64} : ({0}, tensor<4x4x1x1xf32>) -> {0}",
                    img)
             .str();
       }},
      {"norm", {{16, 32}}, {16, 32}, [&](int) {
         return llvm::formatv("ditc.layer_norm %prev {{axis = 1 : i64, epsilon "
                              "= 1.0e-05 : f64} : ({0}) -> {0}",
                              x16)
             .str();
       }},
      {"movement", {{16, 32}}, {16, 32}, [&](int step) {
         bool wide = step % 2 == 0; // 16x32 -> 32x16, then back
         return llvm::formatv("ditc.transpose %prev {{permutation = array<i64: "
                              "1, 0>} : ({0}) -> {1}",
                              wide ? "tensor<16x32xf32>" : "tensor<32x16xf32>",
                              wide ? "tensor<32x16xf32>" : "tensor<16x32xf32>")
             .str();
       }},
  };
  std::map<std::string, double> overhead;
  for (const ChainSpec &c : chains) {
    std::string body;
    for (int i = 0; i < 32; ++i) {
      std::string line = c.op(i);
      std::string prev = i ? "%v" + std::to_string(i - 1) : std::string("%in0");
      std::string cur = i == 31 ? std::string("%out") : "%v" + std::to_string(i);
      size_t at;
      while ((at = line.find("%prev")) != std::string::npos)
        line.replace(at, 5, prev);
      body += "  " + cur + " = " + line + "\n";
    }
    auto m = cal.measure(std::string("tiny ") + c.cls,
                         microModel(c.inputs, c.result, body));
    if (!m)
      return 1;
    overhead[c.cls] = m->seconds / double(m->kernels);
  }
  double launch = overhead["elementwise"];
  // Run time net of the fixed costs of the model's kernels.
  auto net = [&](const Measured &m) {
    double fixed = 0;
    for (auto &[cls, n] : m.kernelsByClass)
      fixed += overhead[cls] * double(n);
    return std::max(m.seconds - fixed, 1e-9);
  };


  HardwareDesc hw;
  hw.name = opts.name;
  hw.kind = "cpu";
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  char date[32] = "";
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  hw.description = llvm::formatv("{0}, {1} cores; measured by ditc calibrate "
                                 "on {3} (micro-models through the CPU "
                                 "runtime{2})",
                                 cpuName(), cores,
                                 opts.threads > 0
                                     ? ", " + std::to_string(opts.threads) + " threads"
                                     : std::string(),
                                 date)
                       .str();
  if (link)
    hw.description += llvm::formatv("; link measured between {0} ranks under mpirun",
                                    ranks)
                          .str();
  // rate(M) = peak * M / (M + h): the two sizes give h and the peak.
  double rate1024 = double(gemm->flopsMatrix) / net(*gemm);
  double rate128 = double(gemmSmall->flopsMatrix) / net(*gemmSmall);
  double halfRows = fitMatrixHalfRows(1024, rate1024, 128, rate128);
  double matrix = rate1024 * (1024 + halfRows) / 1024;
  // The attention rate that makes the time model reproduce the measured
  // time: matrix FLOPs / attention rate + other FLOPs / vector rate.
  double vectorRate = double(vector->flopsOther) / net(*vector);
  double attnMatrixS = net(*attention) - double(attention->flopsOther) / vectorRate;
  double attnRate = double(attention->flopsMatrix) /
                    std::max(attnMatrixS, 0.2 * net(*attention));
  hw.matrixFlops["f32"] = matrix;
  hw.vectorFlops["f32"] = vectorRate;
  hw.memoryBandwidth = double(memory->bytes) / net(*memory);
  hw.movementEfficiency =
      std::clamp(double(transpose->bytes) / net(*transpose) / hw.memoryBandwidth, 0.01, 1.0);
  hw.memoryCapacity = double(pages) * double(pageSize);
  hw.launchOverheadS = launch;
  hw.opOverheadS = overhead;
  hw.attentionEfficiency = std::clamp(attnRate / matrix, 0.01, 1.0);
  hw.matrixHalfRows = halfRows;
  // Each distinct weight read once from beyond the caches: what the chain
  // over them took more than the chain over one weight, per byte (0 when
  // it took no more: nothing measurable to add).
  auto &[cold, hot] = *weights;
  double streamS = cold.seconds - hot.seconds;
  hw.weightStreamBandwidth = streamS > 0.01 * hot.seconds
                                 ? double(weightChainBytes()) / streamS
                                 : 0.0;
  // A program's weights that fit a core's own cache stay there.
  if (hw.weightStreamBandwidth > 0)
    hw.weightCacheBytes = privateCacheBytes();
  LinkLevel shm;
  shm.name = "shared-memory";
  shm.kind = "shared-memory";
  // The CPU runtime's MPI communicator moves a message inside its calls only.
  shm.overlapsCompute = false;
  LinkFit fitted;
  if (link) {
    // Measured through the communicator between mpirun's ranks.
    fitted = fitLink(link->samples, hw.movementRate());
    shm.latencyS = fitted.alpha;
    shm.bandwidth = fitted.beta;
    shm.collectiveRates = fitted.rates;
  } else {
    // Guessed: a rank-to-rank message is one copy through shared memory.
    shm.bandwidth = double(copy->bytes) / 2 / net(*copy);
    shm.latencyS = overhead["movement"];
  }
  shm.devices = std::max<long>(cores, 1);
  hw.links.push_back(shm);
  double ringOutside = 0; // the ring's predicted time outside its blocks
  if (link) {
    // What the time model adds to one attention for the ring (its exchange
    // on the link just fitted, merges, copies, launches) taken from the
    // measured ring, the rest is its blocks: at the whole one's rate, they
    // would take the whole one's measured time.
    auto ringS = predictModule(ctx, ringModel(ranks, true), hw);
    auto wholeS = predictModule(ctx, ringModel(ranks, false), hw);
    if (!ringS || !wholeS)
      return 1;
    ringOutside = *ringS - *wholeS;
    double blocks = std::max(link->ringS - ringOutside, 0.2 * link->ringS);
    hw.ringBlockEfficiency = std::clamp(link->wholeS / blocks, 0.05, 1.0);
  }

  std::string err;
  auto out = openOutputFile(opts.output, &err);
  if (!out)
    return llvm::errs() << "error: " << opts.output << ": " << err << "\n", 1;
  out->os() << printHardware(hw);
  out->keep();
  if (link) {
    std::string kinds;
    for (auto &[kind, r] : fitted.rates)
      kinds += llvm::formatv("{0}{1} {2:F2}", kinds.empty() ? "" : ", ", kind,
                             r * fitted.beta / 1e9)
                   .str();
    llvm::errs() << llvm::formatv("ditc calibrate: link between {0} ranks: latency "
                                  "{1:F2} us, {2:F2} GB/s ({7} GB/s); ring attention "
                                  "{3:F3} ms, {4:F3} of it outside the blocks as "
                                  "predicted, one attention of its FLOPs {5:F3} ms: "
                                  "blocks at {6:F3} of the attention rate\n",
                                  ranks, fitted.alpha * 1e6, fitted.beta / 1e9,
                                  link->ringS * 1e3, ringOutside * 1e3,
                                  link->wholeS * 1e3, hw.ringBlockEfficiency, kinds);
  }
  llvm::errs() << llvm::formatv(
      "ditc calibrate: matrix {0:F1} GFLOP/s (half of it at {6:F0} rows), "
      "attention {1:F1} GFLOP/s, vector {2:F1} GFLOP/s, memory {3:F1} GB/s "
      "(movement {7:F1}), launch {4:F2} us -> {5}\n",
      matrix / 1e9, attnRate / 1e9, hw.vectorFlops["f32"] / 1e9,
      hw.memoryBandwidth / 1e9, launch * 1e6, opts.output, halfRows,
      hw.movementRate() / 1e9);
  llvm::errs() << llvm::formatv(
      "ditc calibrate: weights out of the caches {0:F3} ms, in them {1:F3} ms: "
      "{2} MiB streamed at {3:F2} GB/s on top of the products (programs with "
      "more than {4} KiB of weights)\n",
      cold.seconds * 1e3, hot.seconds * 1e3, weightChainBytes() >> 20,
      hw.weightStreamBandwidth / 1e9, int64_t(hw.weightCacheBytes) >> 10);
  return 0;
}
