//===- Model.cpp - the C ABI of a compiled model library ------------------===//
//
// Linked into every library `ditc compile` makes. The generated object
// provides ditc_generated_json() (the descriptor: inputs, outputs, weights,
// arena size, weight file and checksum, target, and for a multi-rank
// library the fields of Mesh.h), ditc_generated_constants() (the tensor
// constants' host addresses and sizes) and
// ditc_generated_run(arena, inputs, outputs, weights, comms, constants,
// schedule), which returns 0 or the ditc_rt_comm_status of a collective that
// failed; `schedule` is 1 for a call that may run PipeFusion's stale
// schedule (descriptor "stale_schedule"), else 0.
// This file implements ditc_model.h on top of them: it maps the safetensors
// weights, checks them, owns the communicators (comms[g] is comm group g's)
// and runs steps; where the tensors live (host or GPU memory) is the
// Memory the library links (Memory.h).
//
//===----------------------------------------------------------------------===//

#include "Denoising.h"
#include "Memory.h"
#include "Mesh.h"
#include "../../cuda/cache_rule.h"
#include "../../cuda/kernel_math.h"
#include "../comm/backend.h"

#include "ditc/runtime/ditc_checksum.h"
#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"
#include "ditc/runtime/ditc_model.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#define DITC_MODEL_EXPORT extern "C" __attribute__((visibility("default")))

// Graph inputs and outputs may have exactly the kernels' dtypes (the code
// generator checks), and ditc_model.h promises the kernels' codes.
static constexpr bool sameCodes() {
  const int pairs[][2] = {
      {DITC_DTYPE_F32, DITC_RT_F32},   {DITC_DTYPE_I64, DITC_RT_I64},
      {DITC_DTYPE_I32, DITC_RT_I32},   {DITC_DTYPE_BOOL, DITC_RT_B8},
      {DITC_DTYPE_F16, DITC_RT_F16},   {DITC_DTYPE_BF16, DITC_RT_BF16},
      {DITC_DTYPE_F64, DITC_RT_F64},   {DITC_DTYPE_I8, DITC_RT_I8},
      {DITC_DTYPE_U8, DITC_RT_U8},     {DITC_DTYPE_I16, DITC_RT_I16},
      {DITC_DTYPE_U16, DITC_RT_U16},   {DITC_DTYPE_U32, DITC_RT_U32},
      {DITC_DTYPE_U64, DITC_RT_U64}};
  for (const auto &p : pairs)
    if (p[0] != p[1])
      return false;
  return sizeof(pairs) / sizeof(pairs[0]) == DITC_RT_DTYPE_COUNT;
}
static_assert(sameCodes(), "ditc_dtype and ditc_rt_dtype must use the same codes");

extern "C" const char *ditc_generated_json(void);
extern "C" int32_t ditc_generated_run(void *arena, void *const *inputs,
                                      void *const *outputs,
                                      void *const *weights, void *const *comms,
                                      void *const *constants, int32_t schedule);
// Weak: hand-written test models without constants need not define it.
extern "C" void ditc_generated_constants(const void **ptrs, uint64_t *bytes)
    __attribute__((weak));

namespace {

struct Tensor {
  std::string name;
  int32_t dtype = -1;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
  // Weights under pipeline parallelism: the stages that read it (empty:
  // every rank); other ranks' weight files do not hold it.
  std::vector<int32_t> stages;
  // Weights cut or padded for the plan: the stored tensor's name and shape,
  // and per dimension the mesh axes (indices, major first) that split it.
  std::string source;
  std::vector<int64_t> globalShape;
  std::vector<std::vector<int32_t>> shard;
  // A part of a joined weight: the window of the stored tensor it holds
  // (empty: all of it).
  std::vector<int64_t> windowOffset, windowShape;
};

int32_t dtypeCode(const std::string &s, uint64_t &width) {
  static const std::map<std::string, std::pair<int32_t, uint64_t>> codes = {
      {"f32", {DITC_DTYPE_F32, 4}},  {"i64", {DITC_DTYPE_I64, 8}},
      {"i32", {DITC_DTYPE_I32, 4}},  {"i1", {DITC_DTYPE_BOOL, 1}},
      {"f16", {DITC_DTYPE_F16, 2}},  {"bf16", {DITC_DTYPE_BF16, 2}},
      {"f64", {DITC_DTYPE_F64, 8}},  {"i8", {DITC_DTYPE_I8, 1}},
      {"ui8", {DITC_DTYPE_U8, 1}},   {"i16", {DITC_DTYPE_I16, 2}},
      {"ui16", {DITC_DTYPE_U16, 2}}, {"ui32", {DITC_DTYPE_U32, 4}},
      {"ui64", {DITC_DTYPE_U64, 8}}};
  auto it = codes.find(s);
  if (it == codes.end())
    return -1;
  width = it->second.second;
  return it->second.first;
}

const char *safetensorsDtype(int32_t code) {
  switch (code) {
  case DITC_DTYPE_F32: return "F32";
  case DITC_DTYPE_I64: return "I64";
  case DITC_DTYPE_I32: return "I32";
  case DITC_DTYPE_BOOL: return "BOOL";
  case DITC_DTYPE_F16: return "F16";
  case DITC_DTYPE_BF16: return "BF16";
  case DITC_DTYPE_F64: return "F64";
  case DITC_DTYPE_I8: return "I8";
  case DITC_DTYPE_U8: return "U8";
  case DITC_DTYPE_I16: return "I16";
  case DITC_DTYPE_U16: return "U16";
  case DITC_DTYPE_U32: return "U32";
  case DITC_DTYPE_U64: return "U64";
  }
  return "?";
}

Tensor parseTensor(const nlohmann::json &j) {
  Tensor t;
  t.name = j.at("name").get<std::string>();
  uint64_t width = 0;
  t.dtype = dtypeCode(j.at("dtype").get<std::string>(), width);
  t.shape = j.at("shape").get<std::vector<int64_t>>();
  t.bytes = width;
  for (int64_t d : t.shape)
    t.bytes *= (uint64_t)d;
  if (j.contains("stages"))
    t.stages = j.at("stages").get<std::vector<int32_t>>();
  t.source = j.value("source", std::string());
  if (j.contains("global_shape"))
    t.globalShape = j.at("global_shape").get<std::vector<int64_t>>();
  if (j.contains("shard"))
    t.shard = j.at("shard").get<std::vector<std::vector<int32_t>>>();
  if (j.contains("window_offset"))
    t.windowOffset = j.at("window_offset").get<std::vector<int64_t>>();
  if (j.contains("window_shape"))
    t.windowShape = j.at("window_shape").get<std::vector<int64_t>>();
  return t;
}

thread_local std::string createError;

/// A read-only mapping of a whole file.
struct Mapping {
  void *data = nullptr;
  uint64_t size = 0;
  ~Mapping() {
    if (data && size)
      munmap(data, size);
  }
};

} // namespace

struct ditc_model {
  ~ditc_model() {
    for (ditc_rt_comm *c : comms)
      ditc_rt_comm_destroy(c);
    ditc_rt_comm_destroy(world);
  }

  std::vector<Tensor> inputs, outputs, weights;
  uint64_t arenaBytes = 0, scratchBytes = 0;
  // PipeFusion: the library has a stale schedule, whose K/V buffers (in the
  // arena) stay from one call to the next.
  bool staleSchedule = false;
  uint64_t kvCacheBytes = 0;
  // Redundancy probes (ditc compile --probes): what each one measures and
  // where its slot of four doubles is in the arena; the bytes of their
  // state.
  struct Probe {
    Tensor tensor; // named "<layer>/<quantity>"
    std::string layer, quantity;
    uint64_t prev = 0, slot = 0;
  };
  std::vector<Probe> probes;
  uint64_t probeBytes = 0;
  // A step cache (ditc compile --cache): its rule ("" none), the slot of
  // its state (ditc_rt_cache_decide's) and the bytes of its state.
  std::string cacheKind;
  uint64_t cacheSlot = 0, cacheBytes = 0;
  int32_t lastSchedule = -1; // the schedule the last call ran (tellCache)
  // Steps the generated code marks (compiled with --trace), else -1; the
  // end time of each in the last run.
  int32_t traceSteps = -1;
  std::vector<double> trace;
  std::string weightsFile, checksum, dir, target = "cpu";
  std::vector<std::string> cudaArch;
  int64_t numConstants = 0;
  std::unique_ptr<ditc_rt::model::Memory> memory;
  std::unique_ptr<Mapping> mapping;
  std::vector<void *> weightTable;
  uint64_t weightBytes = 0;
  std::string error;
  // Multi-rank: the descriptor's fields, this process's world rank, the
  // world communicator (null for one rank) and one per comm group.
  ditc_rt::model::Parallel par;
  int32_t rank = 0;
  ditc_rt_comm *world = nullptr;
  std::vector<ditc_rt_comm *> comms;
  /// What the last step that called its operations counted (bytes, calls
  /// per communicator of allComms() and kind): a step replayed from a CUDA
  /// graph calls none and counts the same again.
  std::vector<uint64_t> stepStats;
  int64_t timeoutMs = 120000; // of every communicator (DITC_COMM_TIMEOUT_S)
  // Where the calls sit in the application's denoising run (ditc_model.h).
  ditc_rt::model::DenoisingRun denoising;

  ditc_status fail(ditc_status s, std::string msg) {
    error = std::move(msg);
    return s;
  }
  /// Whether this rank reads weight `w`: under pipeline stages, only the
  /// weights of its stage (its coordinate on the mesh's stage axis).
  bool mine(const Tensor &w) const {
    if (par.stageAxis < 0 || w.stages.empty())
      return true;
    int64_t stage = ditc_rt::model::meshCoords(par.shape, rank)[par.stageAxis];
    return std::find(w.stages.begin(), w.stages.end(), stage) != w.stages.end();
  }
  ditc_status bind(const std::string &path);
  ditc_status bindRandom();
  ditc_status setUpMemory();
  ditc_status checkPlan(const std::string &path, const nlohmann::json &header);
  ditc_status readTimeout();
  /// Zeroes the probes' slots (the next run records no change) and the step
  /// cache's (a new denoising run computes its first step).
  ditc_status resetState() {
    const double zero[ditc_cache::kSlotDoubles] = {};
    for (const Probe &p : probes)
      if (ditc_status s = memory->writeArena(p.slot, zero, 4 * sizeof(double), error);
          s != DITC_OK)
        return s;
    if (!cacheKind.empty())
      return memory->writeArena(cacheSlot, zero, sizeof zero, error);
    return DITC_OK;
  }
  /// The step cache's slot [0..1]: the denoising step this run is (-1:
  /// none) and the run's steps; [10]: 1 when the call runs another schedule
  /// than the call before (PipeFusion: the other schedule's cached
  /// residuals are not this one's, so it computes).
  ditc_status tellCache(int32_t step, int32_t schedule) {
    if (cacheKind.empty())
      return DITC_OK;
    const double at[2] = {(double)step, (double)denoising.steps()};
    const double other = lastSchedule >= 0 && schedule != lastSchedule ? 1.0 : 0.0;
    lastSchedule = schedule;
    if (ditc_status s = memory->writeArena(cacheSlot, at, sizeof at, error); s != DITC_OK)
      return s;
    return memory->writeArena(cacheSlot + 10 * sizeof(double), &other, sizeof other, error);
  }
  /// The step cache's slot (zeros for a library without one).
  ditc_status cacheState(double (&slot)[ditc_cache::kSlotDoubles]) {
    std::fill(std::begin(slot), std::end(slot), 0.0);
    return cacheKind.empty() ? DITC_OK : memory->readArena(cacheSlot, slot, sizeof slot, error);
  }
  ditc_status joinRun();
  ditc_status makeGroups();
  std::vector<ditc_rt_comm *> allComms() const {
    std::vector<ditc_rt_comm *> all = comms;
    if (world)
      all.push_back(world);
    return all;
  }
};

/// Weights of a multi-rank library name the plan and rank they hold in the
/// safetensors __metadata__ ("ditc_plan", "ditc_rank"): they must be this
/// library's and this rank's.
ditc_status ditc_model::checkPlan(const std::string &path,
                                  const nlohmann::json &header) {
  if (par.plan.empty())
    return DITC_OK;
  std::string plan, holder;
  bool found = false;
  auto md = header.find("__metadata__");
  if (md != header.end() && md->is_object()) {
    auto p = md->find("ditc_plan"), r = md->find("ditc_rank");
    if (p != md->end() && p->is_string() && r != md->end() && r->is_string()) {
      plan = p->get<std::string>();
      holder = r->get<std::string>();
      found = true;
    }
  }
  if (found && plan == par.plan && holder == std::to_string(rank))
    return DITC_OK;
  std::string holds = found ? "hold rank " + holder + " of plan '" + plan + "'"
                            : "name no plan (no ditc_plan / ditc_rank "
                              "metadata)";
  return fail(DITC_ERROR_FORMAT,
              "weights '" + path + "' " + holds + "; this library is rank " +
                  std::to_string(rank) + " of plan '" + par.plan +
                  "' (weights from another compile?)");
}

/// The integers of JSON array `a` into `out` (unsigned ones for an unsigned
/// T); false, without throwing, when it is anything else.
template <class T>
static bool integers(const nlohmann::json &a, std::vector<T> &out) {
  out.clear();
  if (!a.is_array())
    return false;
  for (const nlohmann::json &x : a) {
    if (std::is_unsigned<T>::value ? !x.is_number_unsigned() : !x.is_number_integer())
      return false;
    out.push_back(x.get<T>());
  }
  return true;
}

/// Maps a safetensors file and points the weight table into it.
ditc_status ditc_model::bind(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return fail(DITC_ERROR_IO, "cannot open weight file '" + path +
                                   "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < 8) {
    close(fd);
    return fail(DITC_ERROR_FORMAT, "'" + path + "' is not a safetensors file (too short)");
  }
  auto m = std::make_unique<Mapping>();
  m->size = st.st_size;
  m->data = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m->data == MAP_FAILED) {
    m->data = nullptr;
    return fail(DITC_ERROR_IO, "cannot map '" + path + "'");
  }
  const char *base = static_cast<const char *>(m->data);
  uint64_t headerLen;
  std::memcpy(&headerLen, base, 8);
  if (headerLen > m->size - 8)
    return fail(DITC_ERROR_FORMAT, "'" + path + "' is not a safetensors file (header past the end)");
  nlohmann::json header = nlohmann::json::parse(
      base + 8, base + 8 + headerLen, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object())
    return fail(DITC_ERROR_FORMAT, "'" + path + "' has an unreadable safetensors header");
  if (ditc_status s = checkPlan(path, header); s != DITC_OK)
    return s;
  const char *data = base + 8 + headerLen;
  uint64_t dataSize = m->size - 8 - headerLen;
  std::vector<void *> table;
  uint64_t expected = 0;
  for (const Tensor &w : weights) {
    if (!mine(w)) {
      table.push_back(nullptr); // another stage's: never read here
      continue;
    }
    auto it = header.find(w.name);
    if (it == header.end() || !it->is_object())
      return fail(DITC_ERROR_FORMAT, "'" + path + "' has no weight '" + w.name + "'");
    const nlohmann::json &e = *it;
    std::vector<int64_t> shape;
    std::vector<uint64_t> offsets;
    if (!e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !integers(e["shape"], shape) || !integers(e["data_offsets"], offsets) ||
        offsets.size() != 2)
      return fail(DITC_ERROR_FORMAT, "'" + path + "': bad entry for '" + w.name + "'");
    if (e["dtype"] != safetensorsDtype(w.dtype) || shape != w.shape)
      return fail(DITC_ERROR_FORMAT, "'" + path + "': weight '" + w.name +
                                         "' has another dtype or shape than the model needs");
    if (offsets[1] < offsets[0] || offsets[1] - offsets[0] != w.bytes ||
        offsets[1] > dataSize)
      return fail(DITC_ERROR_FORMAT, "'" + path + "': weight '" + w.name +
                                         "' lies outside the file (truncated?)");
    table.push_back(const_cast<char *>(data + offsets[0]));
    expected += w.bytes;
  }
  if (dataSize != expected)
    return fail(DITC_ERROR_FORMAT, "'" + path + "' holds " + std::to_string(dataSize) +
                                       " data bytes, the model expects " +
                                       std::to_string(expected));
  if (!checksum.empty()) {
    uint64_t h = ditc_checksum_update(DITC_CHECKSUM_SEED, data, dataSize);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", (unsigned long long)h);
    if (checksum != hex)
      return fail(DITC_ERROR_CHECKSUM, "'" + path + "' does not match the model "
                                                    "(checksum " + hex + ", expected " +
                                           checksum + "): weights from another compile?");
  }
  ditc_rt::model::WeightSource source;
  source.mapped.assign(table.begin(), table.end());
  std::vector<void *> placed;
  if (ditc_status s = memory->placeWeights(source, placed, error); s != DITC_OK)
    return s;
  mapping = std::move(m);
  weightTable = std::move(placed);
  weightBytes = expected;
  return DITC_OK;
}

/// DITC_RANDOM_WEIGHTS: every weight this rank reads generated (uniform in
/// [-0.05, 0.05) for floats, zero for the others). Element k of the stored
/// tensor (row-major over its whole shape) is a function of the tensor's
/// name and k alone, so a rank that holds a block of a weight cut by the plan
/// gets the block's values of the whole tensor, and every plan of a model
/// computes with the same weights (padding stays zero, as in a weight file).
ditc_status ditc_model::bindRandom() {
  for (const Tensor &w : weights) {
    size_t n = w.shape.size();
    bool ok = (w.globalShape.empty() || w.globalShape.size() == n) &&
              (w.shard.empty() || w.shard.size() == n) &&
              w.windowOffset.size() == w.windowShape.size() &&
              (w.windowOffset.empty() || (w.windowOffset.size() == n && w.globalShape.size() == n));
    for (size_t d = 0; ok && d < w.windowOffset.size(); ++d)
      ok = w.windowOffset[d] >= 0 && w.windowShape[d] >= 0 &&
           w.windowOffset[d] + w.windowShape[d] <= w.globalShape[d];
    for (const auto &axes : w.shard)
      for (int32_t a : axes)
        ok = ok && a >= 0 && a < (int32_t)par.shape.size();
    if (!ok)
      return fail(DITC_ERROR_FORMAT, "the library's descriptor gives weight '" + w.name +
                                         "' a global shape or sharding that does not "
                                         "fit its shape or the mesh");
  }
  std::vector<int32_t> coords = ditc_rt::model::meshCoords(par.shape, rank);
  ditc_rt::model::WeightSource source;
  source.has = [this](size_t i) { return mine(weights[i]); };
  source.generate = [this, &coords](size_t i, void *dst) {
    const Tensor &w = weights[i];
    const std::string &name = w.source.empty() ? w.name : w.source;
    uint64_t seed = 0xcbf29ce484222325ull; // FNV-1a of the stored name
    for (unsigned char c : name)
      seed = (seed ^ c) * 0x100000001b3ull;
    // splitmix64 of the element's index, to a float in [-0.05, 0.05).
    auto value = [seed](uint64_t k) {
      uint64_t z = seed + 0x9e3779b97f4a7c15ull * (k + 1);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      return (float)((double)(z >> 11) * 0x1.0p-53 * 0.1 - 0.05);
    };
    auto store = [&w, dst](uint64_t at, float v) {
      uint16_t *half = static_cast<uint16_t *>(dst);
      switch (w.dtype) {
      case DITC_DTYPE_F32: static_cast<float *>(dst)[at] = v; return;
      case DITC_DTYPE_F64: static_cast<double *>(dst)[at] = v; return;
      case DITC_DTYPE_F16: half[at] = ditc_cu::math::f32_to_f16_bits(v); return;
      default: half[at] = ditc_cu::math::f32_to_bf16_bits(v); return;
      }
    };
    if (w.dtype != DITC_DTYPE_F32 && w.dtype != DITC_DTYPE_F64 &&
        w.dtype != DITC_DTYPE_F16 && w.dtype != DITC_DTYPE_BF16) {
      std::memset(dst, 0, w.bytes);
      return;
    }
    // This rank's block: where it starts in the stored tensor, per
    // dimension, and where the stored elements it may read end (its
    // window's end; zeros beyond).
    size_t n = w.shape.size();
    const std::vector<int64_t> &global = w.globalShape.empty() ? w.shape : w.globalShape;
    std::vector<int64_t> start(n, 0), limit(global);
    for (size_t d = 0; d < w.windowOffset.size(); ++d) {
      start[d] = w.windowOffset[d];
      limit[d] = w.windowOffset[d] + w.windowShape[d];
    }
    for (size_t d = 0; d < w.shard.size(); ++d) {
      int64_t block = 0;
      for (int32_t a : w.shard[d])
        block = block * par.shape[a] + coords[a];
      start[d] += block * w.shape[d];
    }
    uint64_t count = 1;
    for (int64_t e : w.shape)
      count *= (uint64_t)e;
    if (n == 0) {
      store(0, value(0));
      return;
    }
    // Row by row over the last dimension (an odometer over the others).
    std::vector<int64_t> at(n, 0);
    int64_t inner = w.shape[n - 1];
    for (uint64_t row = 0; row * inner < count; ++row) {
      bool inside = true;
      uint64_t g = 0;
      for (size_t d = 0; d + 1 < n; ++d) {
        inside = inside && start[d] + at[d] < limit[d];
        g = g * global[d] + (start[d] + at[d]);
      }
      for (int64_t c = 0; c < inner; ++c) {
        int64_t x = start[n - 1] + c;
        bool in = inside && x < limit[n - 1];
        store(row * inner + c, in ? value(g * global[n - 1] + x) : 0.0f);
      }
      for (size_t d = n - 1; d-- > 0;) {
        if (++at[d] < w.shape[d])
          break;
        at[d] = 0;
      }
    }
  };
  std::vector<void *> placed;
  if (ditc_status s = memory->placeWeights(source, placed, error); s != DITC_OK)
    return s;
  mapping.reset();
  weightTable = std::move(placed);
  weightBytes = 0;
  for (const Tensor &w : weights)
    if (mine(w))
      weightBytes += w.bytes;
  return DITC_OK;
}

/// The memory of the library's target: the arena, the constants.
ditc_status ditc_model::setUpMemory() {
  memory = ditc_rt::model::makeMemory();
  if (target != memory->target())
    return fail(DITC_ERROR_ABI, "the library's descriptor says target '" + target +
                                    "' but it links the runtime of '" +
                                    memory->target() + "'");
  ditc_rt::model::Layout layout;
  layout.arenaBytes = arenaBytes;
  layout.scratchBytes = scratchBytes;
  for (const Tensor &t : inputs)
    layout.inputBytes.push_back(t.bytes);
  for (const Tensor &t : outputs)
    layout.outputBytes.push_back(t.bytes);
  for (const Tensor &t : weights)
    layout.weightBytes.push_back(t.bytes);
  layout.constants.assign(numConstants, nullptr);
  layout.constantBytes.assign(numConstants, 0);
  if (numConstants > 0) {
    if (!ditc_generated_constants)
      return fail(DITC_ERROR_ABI, "the library lists " + std::to_string(numConstants) +
                                      " constants but does not define them");
    ditc_generated_constants(layout.constants.data(), layout.constantBytes.data());
  }
  layout.cudaArch = cudaArch;
  layout.collectives = par.worldSize > 1 || !par.groups.empty();
  layout.hostDecisions = !cacheKind.empty();
  return memory->setUp(layout, error);
}

/// The communicators' timeout: DITC_COMM_TIMEOUT_S (seconds, default 120;
/// <= 0 none).
ditc_status ditc_model::readTimeout() {
  const char *t = std::getenv("DITC_COMM_TIMEOUT_S");
  if (!t || !*t)
    return DITC_OK;
  char *end = nullptr;
  double seconds = std::strtod(t, &end);
  if (end == t || *end || !std::isfinite(seconds))
    return fail(DITC_ERROR_ARGUMENT, std::string("DITC_COMM_TIMEOUT_S='") + t +
                                         "' is not a number of seconds");
  timeoutMs = 0; // none
  if (seconds > 0 && seconds < 1e12)
    timeoutMs = std::max<int64_t>(1, std::llround(seconds * 1e3));
  return DITC_OK;
}

/// A multi-rank library joins the run: the world communicator (backend from
/// DITC_COMM, default "mpi"), of the size compiled for.
ditc_status ditc_model::joinRun() {
  if (par.worldSize <= 1)
    return DITC_OK;
  const char *backend = std::getenv("DITC_COMM");
  if (!backend || !*backend)
    backend = "mpi";
  std::string what = "--devices " + std::to_string(par.worldSize) + " (plan '" +
                     par.plan + "')";
  if (ditc_rt_comm_create(backend, &world) != DITC_RT_COMM_OK)
    return fail(DITC_ERROR_COMM, "this library was compiled for " + what +
                                     " but cannot join a parallel run: " +
                                     ditc_rt_comm_last_error());
  int32_t size = 1;
  ditc_rt_comm_size(world, &size);
  ditc_rt_comm_rank(world, &rank);
  if (size != par.worldSize)
    return fail(DITC_ERROR_COMM, "this library was compiled for " + what +
                                     " but runs on " + std::to_string(size) +
                                     (size == 1 ? " rank" : " ranks") +
                                     "; start it with mpirun -np " +
                                     std::to_string(par.worldSize));
  ditc_rt_comm_set_timeout_ms(world, timeoutMs);
  return DITC_OK;
}

/// One communicator per comm group: a split of the world, or "self" when the
/// library runs on one rank.
ditc_status ditc_model::makeGroups() {
  for (size_t g = 0; g < par.groups.size(); ++g) {
    ditc_rt_comm *c = nullptr;
    ditc_rt_comm_status s;
    if (world) {
      int32_t color = 0, key = 0;
      ditc_rt::model::groupSplit(par.shape, par.groups[g], rank, &color, &key);
      s = ditc_rt_comm_split(world, color, key, &c);
    } else {
      s = ditc_rt_comm_create("self", &c);
      if (s == DITC_RT_COMM_OK)
        ditc_rt_comm_set_timeout_ms(c, timeoutMs);
    }
    if (s != DITC_RT_COMM_OK) {
      std::string axes;
      for (int32_t a : par.groups[g])
        axes += (axes.empty() ? "" : ",") + par.axes[a];
      return fail(DITC_ERROR_COMM, "cannot make the communicator of group " +
                                       std::to_string(g) + " (" + axes +
                                       "): " + ditc_rt_comm_last_error());
    }
    comms.push_back(c);
  }
  return DITC_OK;
}

DITC_MODEL_EXPORT uint32_t ditc_model_abi_version(void) {
  return DITC_MODEL_ABI_VERSION;
}

DITC_MODEL_EXPORT const char *ditc_status_string(ditc_status s) {
  switch (s) {
  case DITC_OK: return "ok";
  case DITC_ERROR_ARGUMENT: return "invalid argument";
  case DITC_ERROR_IO: return "I/O error";
  case DITC_ERROR_FORMAT: return "weight file does not fit the model";
  case DITC_ERROR_CHECKSUM: return "weight file checksum mismatch";
  case DITC_ERROR_MEMORY: return "out of memory";
  case DITC_ERROR_ABI: return "ABI version mismatch";
  case DITC_ERROR_COMM:
    return "communication between ranks failed";
  case DITC_ERROR_DEVICE:
    return "GPU unavailable or failed";
  }
  return "unknown status";
}

DITC_MODEL_EXPORT ditc_status ditc_model_create(const char *weightsPath,
                                                ditc_model **out) {
  if (!out)
    return DITC_ERROR_ARGUMENT;
  *out = nullptr;
  auto m = std::make_unique<ditc_model>();
  nlohmann::json j = nlohmann::json::parse(ditc_generated_json(), nullptr, false);
  if (!j.is_object() || j.value("abi", 0) != (int)DITC_MODEL_ABI_VERSION) {
    createError = "the library's descriptor is not ABI version " +
                  std::to_string(DITC_MODEL_ABI_VERSION);
    return DITC_ERROR_ABI;
  }
  for (const auto &t : j["inputs"])
    m->inputs.push_back(parseTensor(t));
  for (const auto &t : j["outputs"])
    m->outputs.push_back(parseTensor(t));
  for (const auto &t : j["weights"])
    m->weights.push_back(parseTensor(t));
  m->arenaBytes = j.value("arena_bytes", (uint64_t)0);
  m->scratchBytes = j.value("scratch_bytes", (uint64_t)0);
  m->staleSchedule = j.value("stale_schedule", false);
  m->kvCacheBytes = j.value("kv_cache_bytes", (uint64_t)0);
  if (j.contains("probes") && j["probes"].is_array())
    for (const auto &p : j["probes"])
      m->probes.push_back({parseTensor(p), p.value("layer", std::string()),
                           p.value("quantity", std::string()), p.value("prev", (uint64_t)0),
                           p.value("slot", (uint64_t)0)});
  m->probeBytes = j.value("probe_bytes", (uint64_t)0);
  if (j.contains("cache") && j["cache"].is_object()) {
    m->cacheKind = j["cache"].value("kind", std::string());
    m->cacheSlot = j["cache"].value("slot", (uint64_t)0);
    m->cacheBytes = j["cache"].value("bytes", (uint64_t)0);
  }
  m->traceSteps = j.value("trace_steps", (int32_t)-1);
  m->weightsFile = j.value("weights_file", std::string());
  m->checksum = j.value("weights_checksum", std::string());
  m->target = j.value("target", std::string("cpu"));
  m->numConstants = j.value("constants", (int64_t)0);
  if (j.contains("cuda_arch") && j["cuda_arch"].is_array())
    for (const auto &a : j["cuda_arch"])
      if (a.is_string())
        m->cudaArch.push_back(a.get<std::string>());
  std::string err;
  if (!ditc_rt::model::parseParallel(j, m->par, err)) {
    createError = err;
    return DITC_ERROR_ABI;
  }
  // Multi-rank: the world communicator first (it gives the rank).
  ditc_status s = DITC_OK;
  if (m->par.worldSize > 1 || !m->par.groups.empty())
    s = m->readTimeout();
  if (s == DITC_OK)
    s = m->joinRun();
  if (s != DITC_OK) {
    createError = m->error;
    return s;
  }
  if (!m->par.weightsFiles.empty())
    m->weightsFile = m->par.weightsFiles[m->rank];
  if (!m->par.weightsChecksums.empty())
    m->checksum = m->par.weightsChecksums[m->rank];
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&ditc_model_create), &info) && info.dli_fname) {
    std::string so = info.dli_fname;
    size_t slash = so.rfind('/');
    m->dir = slash == std::string::npos ? "." : so.substr(0, slash);
  }
  // What this rank sets up alone: its memory (the device, the arena, the
  // constants), then its weights.
  ditc_status local = m->setUpMemory();
  if (local == DITC_OK)
    local = m->resetState();
  if (local == DITC_OK && !m->weights.empty()) {
    if (weightsPath && std::string(weightsPath) == DITC_RANDOM_WEIGHTS) {
      local = m->bindRandom();
    } else if (!weightsPath && m->weightsFile.empty()) {
      local = m->fail(DITC_ERROR_IO,
                      "this library was compiled with --no-weights: give it a "
                      "weight file or DITC_RANDOM_WEIGHTS (ditc run --weights "
                      "FILE or --random-weights)");
    } else {
      std::string path = weightsPath ? weightsPath : m->dir + "/" + m->weightsFile;
      for (size_t at; (at = path.find("{rank}")) != std::string::npos;)
        path.replace(at, 6, std::to_string(m->rank));
      local = m->bind(path);
    }
  }
  // The ranks agree that every one of them got this far (the lowest rank
  // that did not is named), so that none waits in a collective for a rank
  // that gave up.
  if (m->world) {
    int32_t p = m->par.worldSize;
    int32_t mine = local == DITC_OK ? 0 : p - m->rank, worst = 0;
    if (ditc_rt_comm_all_reduce(m->world, &mine, &worst, 1, DITC_RT_I32,
                                DITC_RT_REDUCE_MAX) != DITC_RT_COMM_OK &&
        local == DITC_OK)
      local = m->fail(DITC_ERROR_COMM,
                      std::string("the ranks could not agree that each "
                                  "created its model: ") +
                          ditc_rt_comm_last_error());
    else if (local == DITC_OK && worst > 0)
      local = m->fail(DITC_ERROR_COMM,
                      "rank " + std::to_string(p - worst) + " of " +
                          std::to_string(p) +
                          " could not create its model (its error says "
                          "why); rank " +
                          std::to_string(m->rank) + " stops too");
  }
  if (local == DITC_OK)
    local = m->makeGroups();
  if (local != DITC_OK) {
    createError = m->error;
    return local;
  }
  for (ditc_rt_comm *c : m->allComms())
    ditc_rt_comm_reset_stats(c);
  *out = m.release();
  return DITC_OK;
}

DITC_MODEL_EXPORT void ditc_model_destroy(ditc_model *model) {
  if (!model)
    return;
  delete model;
}

DITC_MODEL_EXPORT ditc_status ditc_model_bind_weights(ditc_model *model,
                                                      const char *path) {
  if (!model || !path)
    return DITC_ERROR_ARGUMENT;
  if (std::string(path) == DITC_RANDOM_WEIGHTS)
    return model->bindRandom();
  return model->bind(path);
}

DITC_MODEL_EXPORT int32_t ditc_model_num_inputs(const ditc_model *model) {
  return model ? (int32_t)model->inputs.size() : 0;
}

DITC_MODEL_EXPORT int32_t ditc_model_num_outputs(const ditc_model *model) {
  return model ? (int32_t)model->outputs.size() : 0;
}

static ditc_status describe(const std::vector<Tensor> &ts, int32_t i,
                            ditc_tensor_info *info) {
  if (!info || i < 0 || i >= (int32_t)ts.size())
    return DITC_ERROR_ARGUMENT;
  const Tensor &t = ts[i];
  info->name = t.name.c_str();
  info->dtype = t.dtype;
  info->rank = (int32_t)t.shape.size();
  info->shape = t.shape.data();
  info->bytes = t.bytes;
  return DITC_OK;
}

DITC_MODEL_EXPORT ditc_status ditc_model_input_info(const ditc_model *model,
                                                    int32_t index,
                                                    ditc_tensor_info *info) {
  return model ? describe(model->inputs, index, info) : DITC_ERROR_ARGUMENT;
}

DITC_MODEL_EXPORT ditc_status ditc_model_output_info(const ditc_model *model,
                                                     int32_t index,
                                                     ditc_tensor_info *info) {
  return model ? describe(model->outputs, index, info) : DITC_ERROR_ARGUMENT;
}

DITC_MODEL_EXPORT ditc_status ditc_model_run(ditc_model *model,
                                             const void *const *inputs,
                                             void *const *outputs) {
  if (!model)
    return DITC_ERROR_ARGUMENT;
  if ((!inputs && !model->inputs.empty()) || (!outputs && !model->outputs.empty()))
    return model->fail(DITC_ERROR_ARGUMENT, "null input or output table");
  for (size_t i = 0; i < model->inputs.size(); ++i)
    if (!inputs[i] && model->inputs[i].bytes)
      return model->fail(DITC_ERROR_ARGUMENT, "input '" + model->inputs[i].name + "' is null");
  for (size_t i = 0; i < model->outputs.size(); ++i)
    if (!outputs[i] && model->outputs[i].bytes)
      return model->fail(DITC_ERROR_ARGUMENT, "output '" + model->outputs[i].name + "' is null");
  // The stale schedule needs the K/V that the call before left: this call
  // is a denoising step past the warm-up and the last call was the step
  // before it. Anything else runs the synchronous schedule (which refills
  // the K/V buffers).
  int32_t previous = model->denoising.last();
  int32_t step = model->denoising.take();
  int32_t schedule = model->staleSchedule && step >= 0 && model->denoising.stale(step) &&
                             previous == step - 1
                         ? 1
                         : 0;
  if (ditc_status c = model->tellCache(step, schedule); c != DITC_OK)
    return c;
  if (model->traceSteps > 0) {
    model->trace.assign(model->traceSteps, 0.0);
    model->memory->trace(model->trace.data(), model->traceSteps);
  }
  std::vector<void *> comms(model->comms.begin(), model->comms.end());
  void *const *weights = model->weightTable.data();
  int32_t rc = 0;
  std::vector<ditc_rt_comm *> counted = model->allComms();
  auto statsNow = [&] {
    std::vector<uint64_t> v;
    for (ditc_rt_comm *c : counted)
      for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
        uint64_t bytes = 0, calls = 0;
        ditc_rt_comm_stats(c, k, &bytes, &calls);
        v.push_back(bytes);
        v.push_back(calls);
      }
    return v;
  };
  std::vector<uint64_t> before = statsNow();
  bool called = false;
  ditc_status s = model->memory->run(
      [&](void *arena, void *const *in, void *const *out, void *const *constants) {
        called = true;
        return ditc_generated_run(arena, in, out, weights, comms.data(), constants, schedule);
      },
      inputs, outputs, rc, model->error);
  if (s != DITC_OK)
    return s;
  if (called) {
    model->stepStats = statsNow();
    for (size_t i = 0; i < before.size(); ++i)
      model->stepStats[i] -= before[i];
  } else if (model->stepStats.size() == before.size()) {
    for (size_t c = 0, i = 0; c < counted.size(); ++c)
      for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k, i += 2)
        ditc_rt::comm::addStats(counted[c], k, model->stepStats[i], model->stepStats[i + 1]);
  }
  if (model->traceSteps > 0) {
    model->memory->trace(nullptr, 0);
    // Steps of other pipeline stages did not run here: they end when the
    // step before them did (they take no time).
    for (size_t i = 1; i < model->trace.size(); ++i)
      if (model->trace[i] == 0.0)
        model->trace[i] = model->trace[i - 1];
  }
  if (rc != 0) {
    std::string why = ditc_rt_comm_last_error();
    return model->fail(DITC_ERROR_COMM,
                       why.empty() ? std::string(ditc_rt_comm_status_string(rc))
                                   : why);
  }
  return DITC_OK;
}

DITC_MODEL_EXPORT ditc_status ditc_model_begin_denoising(ditc_model *model, int32_t steps,
                                                         int32_t warmupSteps) {
  if (!model)
    return DITC_ERROR_ARGUMENT;
  std::string err;
  if (!model->denoising.begin(steps, warmupSteps, err))
    return model->fail(DITC_ERROR_ARGUMENT, err);
  return model->resetState();
}

DITC_MODEL_EXPORT ditc_status ditc_model_set_denoising_step(ditc_model *model, int32_t step) {
  if (!model)
    return DITC_ERROR_ARGUMENT;
  std::string err;
  if (!model->denoising.setStep(step, err))
    return model->fail(DITC_ERROR_ARGUMENT, err);
  return DITC_OK;
}

DITC_MODEL_EXPORT int32_t ditc_model_denoising_step(const ditc_model *model) {
  return model ? model->denoising.last() : -1;
}

DITC_MODEL_EXPORT uint64_t ditc_model_kv_cache_bytes(const ditc_model *model) {
  return model && model->staleSchedule ? model->kvCacheBytes : 0;
}

DITC_MODEL_EXPORT const char *ditc_model_cache_kind(const ditc_model *model) {
  return model ? model->cacheKind.c_str() : "";
}

DITC_MODEL_EXPORT ditc_status ditc_model_cache_state(ditc_model *model,
                                                     ditc_cache_state *state) {
  if (!model || !state)
    return DITC_ERROR_ARGUMENT;
  double slot[ditc_cache::kSlotDoubles];
  if (ditc_status s = model->cacheState(slot); s != DITC_OK)
    return s;
  state->skipped = slot[7] != 0;
  state->change = slot[6];
  state->skipped_steps = (int32_t)slot[8];
  state->bytes = model->cacheBytes;
  return DITC_OK;
}

DITC_MODEL_EXPORT int32_t ditc_model_num_probes(const ditc_model *model) {
  return model ? (int32_t)model->probes.size() : 0;
}

DITC_MODEL_EXPORT ditc_status ditc_model_probe_info(const ditc_model *model, int32_t index,
                                                    ditc_probe_info *info) {
  if (!model || !info || index < 0 || index >= (int32_t)model->probes.size())
    return DITC_ERROR_ARGUMENT;
  const ditc_model::Probe &p = model->probes[index];
  info->layer = p.layer.c_str();
  info->quantity = p.quantity.c_str();
  info->tensor = {p.tensor.name.c_str(), p.tensor.dtype, (int32_t)p.tensor.shape.size(),
                  p.tensor.shape.data(), p.tensor.bytes};
  return DITC_OK;
}

DITC_MODEL_EXPORT ditc_status ditc_model_probe_tensor(ditc_model *model, int32_t index,
                                                      void *data) {
  if (!model || !data || index < 0 || index >= (int32_t)model->probes.size())
    return DITC_ERROR_ARGUMENT;
  const ditc_model::Probe &p = model->probes[index];
  double slot[4];
  if (ditc_status s = model->memory->readArena(p.slot, slot, sizeof slot, model->error);
      s != DITC_OK)
    return s;
  if (slot[2] < 1)
    return model->fail(DITC_ERROR_ARGUMENT, "probe " + std::to_string(index) + " ('" +
                                                p.tensor.name +
                                                "') has seen no run since it was reset");
  return model->memory->readArena(p.prev, data, p.tensor.bytes, model->error);
}

DITC_MODEL_EXPORT int32_t ditc_model_probe_values(ditc_model *model, double *values,
                                                  int32_t capacity) {
  if (!model)
    return 0;
  int32_t n = (int32_t)model->probes.size();
  for (int32_t k = 0; k < std::min(n, capacity); ++k) {
    double slot[4];
    if (model->memory->readArena(model->probes[k].slot, slot, sizeof slot, model->error) !=
        DITC_OK)
      return -1;
    values[k] = slot[2] >= 2 ? slot[0] / slot[1] : std::nan("");
  }
  return n;
}

DITC_MODEL_EXPORT uint64_t ditc_model_probe_bytes(const ditc_model *model) {
  return model ? model->probeBytes : 0;
}

DITC_MODEL_EXPORT int32_t ditc_model_rank(const ditc_model *model) {
  return model ? model->rank : 0;
}

DITC_MODEL_EXPORT int32_t ditc_model_world_size(const ditc_model *model) {
  return model ? model->par.worldSize : 1;
}

DITC_MODEL_EXPORT const char *ditc_model_plan(const ditc_model *model) {
  return model ? model->par.plan.c_str() : "";
}

DITC_MODEL_EXPORT ditc_status ditc_model_comm_stats(const ditc_model *model,
                                                    int32_t kind,
                                                    uint64_t *bytes,
                                                    uint64_t *calls) {
  if (!model || kind < 0 || kind >= DITC_RT_COMM_KIND_COUNT)
    return DITC_ERROR_ARGUMENT;
  uint64_t b = 0, n = 0;
  for (ditc_rt_comm *c : model->allComms()) {
    uint64_t cb = 0, cn = 0;
    ditc_rt_comm_stats(c, kind, &cb, &cn);
    b += cb;
    n += cn;
  }
  if (bytes)
    *bytes = b;
  if (calls)
    *calls = n;
  return DITC_OK;
}

DITC_MODEL_EXPORT ditc_status ditc_model_reset_comm_stats(ditc_model *model) {
  if (!model)
    return DITC_ERROR_ARGUMENT;
  for (ditc_rt_comm *c : model->allComms())
    ditc_rt_comm_reset_stats(c);
  return DITC_OK;
}

DITC_MODEL_EXPORT int32_t ditc_model_trace(const ditc_model *model,
                                           double *seconds, int32_t capacity) {
  if (!model)
    return -1;
  if (model->traceSteps < 0)
    return -1;
  int32_t n = (int32_t)model->trace.size();
  for (int32_t i = 0; seconds && i < n && i < capacity; ++i)
    seconds[i] = model->trace[i];
  return n;
}

DITC_MODEL_EXPORT uint64_t ditc_model_arena_bytes(const ditc_model *model) {
  return model ? model->arenaBytes : 0;
}

DITC_MODEL_EXPORT uint64_t ditc_model_weight_bytes(const ditc_model *model) {
  return model ? model->weightBytes : 0;
}

DITC_MODEL_EXPORT uint64_t ditc_model_peak_rss_bytes(void) {
  // The high-water mark of this process's own memory (VmHWM). getrusage's
  // ru_maxrss is not: Linux keeps it across fork and execve, so a process
  // started by a large parent (a Python benchmark that ran ONNX Runtime)
  // would report the parent's peak.
  if (FILE *f = fopen("/proc/self/status", "r")) {
    char line[256];
    unsigned long long kib = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
      found = sscanf(line, "VmHWM: %llu kB", &kib) == 1;
    fclose(f);
    if (found)
      return (uint64_t)kib * 1024;
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (uint64_t)ru.ru_maxrss * 1024;
}

DITC_MODEL_EXPORT void ditc_model_set_num_threads(int32_t threads) {
  ditc_rt::model::makeMemory()->setNumThreads(threads);
}

DITC_MODEL_EXPORT const char *ditc_model_target(const ditc_model *model) {
  return model ? model->target.c_str() : "";
}

DITC_MODEL_EXPORT const char *ditc_model_last_error(const ditc_model *model) {
  return model ? model->error.c_str() : createError.c_str();
}
