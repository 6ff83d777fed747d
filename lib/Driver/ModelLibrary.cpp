//===- ModelLibrary.cpp - a compiled model library, loaded ----------------===//

#include "lib/Driver/ModelLibrary.h"
#include "lib/Driver/Npz.h"

#include "ditc/runtime/ditc_model.h"

#include "llvm/ADT/Twine.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace llvm;

namespace mlir::ditc {

/// The ABI functions, looked up with dlsym.
struct ModelLibrary::Api {
  uint32_t (*abiVersion)(void) = nullptr;
  const char *(*statusString)(ditc_status) = nullptr;
  ditc_status (*create)(const char *, ditc_model **) = nullptr;
  void (*destroy)(ditc_model *) = nullptr;
  int32_t (*numInputs)(const ditc_model *) = nullptr;
  int32_t (*numOutputs)(const ditc_model *) = nullptr;
  ditc_status (*inputInfo)(const ditc_model *, int32_t,
                           ditc_tensor_info *) = nullptr;
  ditc_status (*outputInfo)(const ditc_model *, int32_t,
                            ditc_tensor_info *) = nullptr;
  ditc_status (*run)(ditc_model *, const void *const *, void *const *) = nullptr;
  uint64_t (*arenaBytes)(const ditc_model *) = nullptr;
  uint64_t (*weightBytes)(const ditc_model *) = nullptr;
  uint64_t (*peakRssBytes)(void) = nullptr;
  void (*setNumThreads)(int32_t) = nullptr;
  const char *(*lastError)(const ditc_model *) = nullptr;
  int32_t (*trace)(const ditc_model *, double *, int32_t) = nullptr;
  // Multi-rank libraries (absent from older ones: one rank).
  int32_t (*rank)(const ditc_model *) = nullptr;
  int32_t (*worldSize)(const ditc_model *) = nullptr;
  const char *(*plan)(const ditc_model *) = nullptr;
  ditc_status (*commStats)(const ditc_model *, int32_t, uint64_t *,
                           uint64_t *) = nullptr;
  ditc_status (*resetCommStats)(ditc_model *) = nullptr;
  // Denoising runs (ABI 2).
  ditc_status (*beginDenoising)(ditc_model *, int32_t, int32_t) = nullptr;
  ditc_status (*setDenoisingStep)(ditc_model *, int32_t) = nullptr;
  int32_t (*denoisingStep)(const ditc_model *) = nullptr;
  // PipeFusion's K/V buffers (optional: hand-written libraries lack it).
  uint64_t (*kvCacheBytes)(const ditc_model *) = nullptr;
  int32_t (*numProbes)(const ditc_model *) = nullptr;
  ditc_status (*probeInfo)(const ditc_model *, int32_t, ditc_probe_info *) = nullptr;
  int32_t (*probeValues)(ditc_model *, double *, int32_t) = nullptr;
  uint64_t (*probeBytes)(const ditc_model *) = nullptr;
  ditc_status (*probeTensor)(ditc_model *, int32_t, void *) = nullptr;
  const char *(*cacheKind)(const ditc_model *) = nullptr;
  ditc_status (*cacheState)(ditc_model *, ditc_cache_state *) = nullptr;
};


namespace {

static_assert((int)npz::DType::F32 == DITC_DTYPE_F32 &&
                  (int)npz::DType::I64 == DITC_DTYPE_I64 &&
                  (int)npz::DType::I32 == DITC_DTYPE_I32 &&
                  (int)npz::DType::Bool == DITC_DTYPE_BOOL &&
                  (int)npz::DType::F16 == DITC_DTYPE_F16 &&
                  (int)npz::DType::F64 == DITC_DTYPE_F64 &&
                  (int)npz::DType::I8 == DITC_DTYPE_I8 &&
                  (int)npz::DType::U8 == DITC_DTYPE_U8 &&
                  (int)npz::DType::I16 == DITC_DTYPE_I16 &&
                  (int)npz::DType::U16 == DITC_DTYPE_U16 &&
                  (int)npz::DType::U32 == DITC_DTYPE_U32 &&
                  (int)npz::DType::U64 == DITC_DTYPE_U64,
              "npz::DType must use the ditc_dtype codes");

std::string oneLine(const char *s) {
  std::string r = s ? s : "";
  std::replace(r.begin(), r.end(), '\n', ' ');
  return r.empty() ? "(no message)" : r;
}

template <typename F>
bool lookup(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}


// IEEE half and bfloat16 from float, rounding to nearest even.
uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff)
    return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31)
    return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10)
      return sign;
    mant |= 0x800000;
    uint32_t shift = 14 - exp;
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = ((uint32_t)exp << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    ++half;
  return sign | half;
}

} // namespace

uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return (x >> 16) | 0x40;
  x += 0x7fff + ((x >> 16) & 1);
  return x >> 16;
}

const char *dtypeName(int32_t code) {
  if (code == DITC_DTYPE_BF16)
    return "bfloat16";
  npz::DType t;
  return npz::dtypeFromCode(code, t) ? npz::dtypeName(t) : "unknown";
}

size_t dtypeSize(int32_t code) {
  if (code == DITC_DTYPE_BF16)
    return 2;
  npz::DType t;
  return npz::dtypeFromCode(code, t) ? npz::dtypeSize(t) : 0;
}

std::string describe(int32_t dtype, ArrayRef<int64_t> shape) {
  return std::string(dtypeName(dtype)) + " " + npz::formatShape(shape);
}

float bf16ToFloat(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

void fillRandom(const TensorDesc &t, int index, Buffer &buf) {
  std::mt19937_64 rng(0x5eed0000ull + (uint64_t)index);
  uint64_t n = t.bytes / std::max<size_t>(dtypeSize(t.dtype), 1);
  auto uniform01 = [&] {
    return ((rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); // (0, 1)
  };
  bool haveSpare = false;
  double spare = 0;
  auto normal = [&] {
    if (haveSpare) {
      haveSpare = false;
      return spare;
    }
    double r = std::sqrt(-2.0 * std::log(uniform01()));
    double a = 2.0 * M_PI * uniform01();
    spare = r * std::sin(a);
    haveSpare = true;
    return r * std::cos(a);
  };
  bool small = t.dtype == DITC_DTYPE_I8 || t.dtype == DITC_DTYPE_U8;
  uint64_t range = t.shape.size() <= 1 && !small ? 1000 : 100;
  uint8_t *d = buf.data();
  for (uint64_t i = 0; i < n; ++i) {
    auto put = [&](auto v) { std::memcpy(d + sizeof(v) * i, &v, sizeof(v)); };
    switch (t.dtype) {
    case DITC_DTYPE_F32:
      put((float)normal());
      break;
    case DITC_DTYPE_F64:
      put(normal());
      break;
    case DITC_DTYPE_F16:
      put(floatToHalf((float)normal()));
      break;
    case DITC_DTYPE_BF16:
      put(floatToBf16((float)normal()));
      break;
    case DITC_DTYPE_I64:
      put((int64_t)(rng() % range));
      break;
    case DITC_DTYPE_U64:
      put((uint64_t)(rng() % range));
      break;
    case DITC_DTYPE_I32:
      put((int32_t)(rng() % range));
      break;
    case DITC_DTYPE_U32:
      put((uint32_t)(rng() % range));
      break;
    case DITC_DTYPE_I16:
      put((int16_t)(rng() % range));
      break;
    case DITC_DTYPE_U16:
      put((uint16_t)(rng() % range));
      break;
    case DITC_DTYPE_I8:
    case DITC_DTYPE_U8:
      d[i] = (uint8_t)(rng() % range);
      break;
    case DITC_DTYPE_BOOL:
      d[i] = 1;
      break;
    }
  }
}


std::unique_ptr<ModelLibrary> ModelLibrary::load(const std::string &libName,
                                                 const std::string &weights,
                                                 int threads, std::string &error) {
  auto fail = [&](const Twine &msg) -> std::unique_ptr<ModelLibrary> {
    error = msg.str();
    std::replace(error.begin(), error.end(), '\n', ' ');
    return nullptr;
  };
  // A path without a slash would make dlopen search the library path instead
  // of opening the file named.
  std::string path = libName;
  if (path.find('/') == std::string::npos)
    path = "./" + path;
  dlerror();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return fail("cannot load '" + libName + "': " + oneLine(dlerror()));
  std::unique_ptr<ModelLibrary> lib(new ModelLibrary());
  lib->handle = handle;
  lib->api = std::make_unique<Api>();
  Api &api = *lib->api;

  if (!lookup(handle, "ditc_model_abi_version", api.abiVersion))
    return fail(libName +
                " is not a ditc model library (no ditc_model_abi_version)");
  lib->abi = api.abiVersion();
  if (lib->abi != DITC_MODEL_ABI_VERSION)
    return fail(libName + " was built for ABI version " + Twine(lib->abi) +
                ", this ditc expects " + Twine(DITC_MODEL_ABI_VERSION) +
                "; recompile it");
  struct {
    const char *name;
    bool ok;
  } syms[] = {
      {"ditc_status_string", lookup(handle, "ditc_status_string", api.statusString)},
      {"ditc_model_create", lookup(handle, "ditc_model_create", api.create)},
      {"ditc_model_destroy", lookup(handle, "ditc_model_destroy", api.destroy)},
      {"ditc_model_num_inputs",
       lookup(handle, "ditc_model_num_inputs", api.numInputs)},
      {"ditc_model_num_outputs",
       lookup(handle, "ditc_model_num_outputs", api.numOutputs)},
      {"ditc_model_input_info",
       lookup(handle, "ditc_model_input_info", api.inputInfo)},
      {"ditc_model_output_info",
       lookup(handle, "ditc_model_output_info", api.outputInfo)},
      {"ditc_model_run", lookup(handle, "ditc_model_run", api.run)},
      {"ditc_model_arena_bytes",
       lookup(handle, "ditc_model_arena_bytes", api.arenaBytes)},
      {"ditc_model_weight_bytes",
       lookup(handle, "ditc_model_weight_bytes", api.weightBytes)},
      {"ditc_model_peak_rss_bytes",
       lookup(handle, "ditc_model_peak_rss_bytes", api.peakRssBytes)},
      {"ditc_model_set_num_threads",
       lookup(handle, "ditc_model_set_num_threads", api.setNumThreads)},
      {"ditc_model_last_error",
       lookup(handle, "ditc_model_last_error", api.lastError)},
      {"ditc_model_begin_denoising",
       lookup(handle, "ditc_model_begin_denoising", api.beginDenoising)},
      {"ditc_model_set_denoising_step",
       lookup(handle, "ditc_model_set_denoising_step", api.setDenoisingStep)},
      {"ditc_model_denoising_step",
       lookup(handle, "ditc_model_denoising_step", api.denoisingStep)},
  };
  for (const auto &s : syms)
    if (!s.ok)
      return fail(libName + " is not a ditc model library (no " + s.name + ")");
  // Optional: libraries from before tracing / multi-rank runs lack them.
  lookup(handle, "ditc_model_trace", api.trace);
  lookup(handle, "ditc_model_rank", api.rank);
  lookup(handle, "ditc_model_world_size", api.worldSize);
  lookup(handle, "ditc_model_plan", api.plan);
  lookup(handle, "ditc_model_comm_stats", api.commStats);
  lookup(handle, "ditc_model_reset_comm_stats", api.resetCommStats);
  lookup(handle, "ditc_model_kv_cache_bytes", api.kvCacheBytes);
  lookup(handle, "ditc_model_num_probes", api.numProbes);
  lookup(handle, "ditc_model_probe_info", api.probeInfo);
  lookup(handle, "ditc_model_probe_values", api.probeValues);
  lookup(handle, "ditc_model_probe_bytes", api.probeBytes);
  lookup(handle, "ditc_model_probe_tensor", api.probeTensor);
  lookup(handle, "ditc_model_cache_kind", api.cacheKind);
  lookup(handle, "ditc_model_cache_state", api.cacheState);

  if (threads > 0)
    api.setNumThreads(threads);
  ditc_status st =
      api.create(weights.empty() ? nullptr : weights.c_str(), &lib->model);
  if (st != DITC_OK || !lib->model)
    return fail("cannot create the model of " + libName + ": " +
                oneLine(api.statusString(st)) + ": " +
                oneLine(api.lastError(nullptr)));

  // The library's inputs and outputs.
  auto describeAll = [&](bool inputs, std::vector<TensorDesc> &out) -> bool {
    int32_t n = inputs ? api.numInputs(lib->model) : api.numOutputs(lib->model);
    for (int32_t i = 0; i < n; ++i) {
      ditc_tensor_info info{};
      ditc_status s = inputs ? api.inputInfo(lib->model, i, &info)
                             : api.outputInfo(lib->model, i, &info);
      if (s != DITC_OK || !info.name || info.rank < 0 ||
          (info.rank > 0 && !info.shape)) {
        fail(libName + ": cannot describe " + (inputs ? "input " : "output ") +
             Twine(i) + ": " + oneLine(api.lastError(lib->model)));
        return false;
      }
      TensorDesc t;
      t.name = info.name;
      t.dtype = info.dtype;
      t.shape.assign(info.shape, info.shape + info.rank);
      t.bytes = info.bytes;
      uint64_t expect = dtypeSize(t.dtype);
      for (int64_t d : t.shape)
        expect *= d < 0 ? 0 : (uint64_t)d;
      if (dtypeSize(t.dtype) == 0 || expect != t.bytes) {
        fail(libName + " describes " + (inputs ? "input '" : "output '") +
             t.name + "' inconsistently (dtype code " + Twine(t.dtype) +
             ", shape " + npz::formatShape(t.shape) + ", " + Twine(t.bytes) +
             " bytes)");
        return false;
      }
      out.push_back(std::move(t));
    }
    return true;
  };
  if (!describeAll(true, lib->inDescs) || !describeAll(false, lib->outDescs))
    return nullptr;
  int32_t probes = api.numProbes && api.probeInfo ? api.numProbes(lib->model) : 0;
  for (int32_t i = 0; i < probes; ++i) {
    ditc_probe_info info{};
    if (api.probeInfo(lib->model, i, &info) != DITC_OK || !info.layer || !info.quantity ||
        !info.tensor.name || info.tensor.rank < 0) {
      fail(libName + ": cannot describe probe " + Twine(i));
      return nullptr;
    }
    ProbeDesc p;
    p.layer = info.layer;
    p.quantity = info.quantity;
    p.tensor.name = info.tensor.name;
    p.tensor.dtype = info.tensor.dtype;
    p.tensor.shape.assign(info.tensor.shape, info.tensor.shape + info.tensor.rank);
    p.tensor.bytes = info.tensor.bytes;
    lib->probeDescs.push_back(std::move(p));
  }
  return lib;
}

std::string ModelLibrary::cacheKind() const {
  return api->cacheKind ? api->cacheKind(model) : "";
}

bool ModelLibrary::cacheState(ditc_cache_state &state, std::string &error) {
  if (!api->cacheState || api->cacheState(model, &state) != DITC_OK) {
    error = api->cacheState ? oneLine(api->lastError(model)) : "the library has no step cache";
    return false;
  }
  return true;
}

uint64_t ModelLibrary::probeBytes() const {
  return api->probeBytes ? api->probeBytes(model) : 0;
}

bool ModelLibrary::probeValues(std::vector<double> &values, std::string &error) {
  values.assign(probeDescs.size(), 0.0);
  if (probeDescs.empty())
    return true;
  if (api->probeValues(model, values.data(), (int32_t)values.size()) < 0) {
    error = oneLine(api->lastError(model));
    return false;
  }
  return true;
}

bool ModelLibrary::probeTensor(int32_t index, Buffer &data, std::string &error) {
  if (!api->probeTensor || api->probeTensor(model, index, data.data()) != DITC_OK) {
    error = api->probeTensor ? oneLine(api->lastError(model)) : "the library has no probes";
    return false;
  }
  return true;
}

ModelLibrary::~ModelLibrary() {
  if (model && api)
    api->destroy(model);
  // The library stays loaded: OpenMP worker threads of its runtime copy may
  // still be parked in it.
}

bool ModelLibrary::run(const std::vector<Buffer> &in, std::vector<Buffer> &out,
                       std::string &error) {
  std::vector<const void *> inPtrs;
  std::vector<void *> outPtrs;
  for (const Buffer &b : in)
    inPtrs.push_back(b.data());
  for (Buffer &b : out)
    outPtrs.push_back(b.data());
  ditc_status s = api->run(model, inPtrs.data(), outPtrs.data());
  if (s == DITC_OK)
    return true;
  error = oneLine(api->statusString(s)) + ": " + oneLine(api->lastError(model));
  return false;
}

uint64_t ModelLibrary::arenaBytes() const { return api->arenaBytes(model); }
uint64_t ModelLibrary::weightBytes() const { return api->weightBytes(model); }
uint64_t ModelLibrary::peakRssBytes() const { return api->peakRssBytes(); }

int32_t ModelLibrary::rank() const { return api->rank ? api->rank(model) : 0; }

int32_t ModelLibrary::worldSize() const {
  return api->worldSize ? api->worldSize(model) : 1;
}

std::string ModelLibrary::plan() const {
  const char *p = api->plan ? api->plan(model) : nullptr;
  return p ? p : "";
}

bool ModelLibrary::commStats(int32_t kind, uint64_t &bytes,
                             uint64_t &calls) const {
  bytes = calls = 0;
  return api->commStats &&
         api->commStats(model, kind, &bytes, &calls) == DITC_OK;
}

bool ModelLibrary::beginDenoising(int32_t steps, int32_t warmupSteps, std::string &error) {
  ditc_status s = api->beginDenoising(model, steps, warmupSteps);
  if (s == DITC_OK)
    return true;
  error = oneLine(api->lastError(model));
  return false;
}

bool ModelLibrary::setDenoisingStep(int32_t step, std::string &error) {
  ditc_status s = api->setDenoisingStep(model, step);
  if (s == DITC_OK)
    return true;
  error = oneLine(api->lastError(model));
  return false;
}

int32_t ModelLibrary::denoisingStep() const { return api->denoisingStep(model); }

uint64_t ModelLibrary::kvCacheBytes() const {
  return api->kvCacheBytes ? api->kvCacheBytes(model) : 0;
}

void ModelLibrary::resetCommStats() {
  if (api->resetCommStats)
    api->resetCommStats(model);
}

bool ModelLibrary::traced() const {
  return api->trace && api->trace(model, nullptr, 0) >= 0;
}

std::vector<double> ModelLibrary::lastTrace() const {
  if (!api->trace)
    return {};
  int32_t n = api->trace(model, nullptr, 0);
  if (n <= 0)
    return {};
  std::vector<double> t(n);
  api->trace(model, t.data(), n);
  return t;
}

} // namespace mlir::ditc
