//===- Run.cpp - `ditc run`: load a compiled model library and run it -----===//
//
// Uses a model library only through dlopen/dlsym and the C ABI of
// include/ditc/runtime/ditc_model.h, exactly as an application would, so this
// also checks that a library is usable on its own.
//
// Random inputs (no --inputs): seed 0, one stream per input index;
//   float inputs (f32, f64, f16, bf16)  standard normal N(0, 1)
//   integer inputs of rank <= 1         uniform in [0, 1000) (timesteps,
//                                       class labels), [0, 100) for 8-bit
//   integer inputs of rank >= 2         uniform in [0, 100) (token ids)
//   bool inputs                         all true (masks that keep everything)
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Run.h"
#include "lib/Driver/Npz.h"

#include "ditc/runtime/ditc_model.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

using namespace llvm;

namespace mlir::ditc {

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

/// The ABI functions, looked up with dlsym.
struct ModelApi {
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
};

/// A tensor as the library describes it.
struct TensorDesc {
  std::string name;
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

/// A 64-byte aligned buffer.
struct Buffer {
  struct Free {
    void operator()(void *p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> ptr;
  uint64_t bytes = 0;
  explicit Buffer(uint64_t n) : bytes(n) {
    size_t rounded = (n + 63) / 64 * 64;
    ptr.reset(std::aligned_alloc(64, rounded ? rounded : 64));
    if (ptr)
      std::memset(ptr.get(), 0, rounded ? rounded : 64);
  }
  uint8_t *data() const { return static_cast<uint8_t *>(ptr.get()); }
};

int fail(const Twine &msg) {
  std::string s = msg.str();
  std::replace(s.begin(), s.end(), '\n', ' ');
  errs() << "error: " << s << "\n";
  return 1;
}

std::string oneLine(const char *s) {
  std::string r = s ? s : "";
  std::replace(r.begin(), r.end(), '\n', ' ');
  return r.empty() ? "(no message)" : r;
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

uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return (x >> 16) | 0x40;
  x += 0x7fff + ((x >> 16) & 1);
  return x >> 16;
}

float bf16ToFloat(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

/// Fills `buf` with the random values documented at the top of this file.
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

template <typename F>
bool lookup(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string mib(uint64_t bytes) {
  std::string s;
  raw_string_ostream os(s);
  os << format("%.2f MiB (%llu bytes)", bytes / 1048576.0,
               (unsigned long long)bytes);
  return s;
}

} // namespace

int runRunCommand(const RunCommandOptions &opts) {
  const std::string &libName = opts.library;
  if (opts.bench < 0 || opts.warmup < 0)
    return fail("--bench and --warmup must not be negative");

  // Load the library. A path without a slash would make dlopen search the
  // library path instead of opening the file named.
  std::string path = libName;
  if (path.find('/') == std::string::npos)
    path = "./" + path;
  dlerror();
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return fail("cannot load '" + libName + "': " + oneLine(dlerror()));

  ModelApi api;
  if (!lookup(lib, "ditc_model_abi_version", api.abiVersion))
    return fail(libName +
                " is not a ditc model library (no ditc_model_abi_version)");
  uint32_t abi = api.abiVersion();
  if (abi != DITC_MODEL_ABI_VERSION)
    return fail(libName + " was built for ABI version " + Twine(abi) +
                ", this ditc expects " + Twine(DITC_MODEL_ABI_VERSION) +
                "; recompile it");
  struct {
    const char *name;
    bool ok;
  } syms[] = {
      {"ditc_status_string", lookup(lib, "ditc_status_string", api.statusString)},
      {"ditc_model_create", lookup(lib, "ditc_model_create", api.create)},
      {"ditc_model_destroy", lookup(lib, "ditc_model_destroy", api.destroy)},
      {"ditc_model_num_inputs", lookup(lib, "ditc_model_num_inputs", api.numInputs)},
      {"ditc_model_num_outputs",
       lookup(lib, "ditc_model_num_outputs", api.numOutputs)},
      {"ditc_model_input_info", lookup(lib, "ditc_model_input_info", api.inputInfo)},
      {"ditc_model_output_info",
       lookup(lib, "ditc_model_output_info", api.outputInfo)},
      {"ditc_model_run", lookup(lib, "ditc_model_run", api.run)},
      {"ditc_model_arena_bytes",
       lookup(lib, "ditc_model_arena_bytes", api.arenaBytes)},
      {"ditc_model_weight_bytes",
       lookup(lib, "ditc_model_weight_bytes", api.weightBytes)},
      {"ditc_model_peak_rss_bytes",
       lookup(lib, "ditc_model_peak_rss_bytes", api.peakRssBytes)},
      {"ditc_model_set_num_threads",
       lookup(lib, "ditc_model_set_num_threads", api.setNumThreads)},
      {"ditc_model_last_error",
       lookup(lib, "ditc_model_last_error", api.lastError)},
  };
  for (const auto &s : syms)
    if (!s.ok)
      return fail(libName + " is not a ditc model library (no " + s.name + ")");

  if (opts.threads > 0)
    api.setNumThreads(opts.threads);

  ditc_model *model = nullptr;
  ditc_status st = api.create(opts.weights.empty() ? nullptr : opts.weights.c_str(),
                              &model);
  if (st != DITC_OK || !model)
    return fail("cannot create the model of " + libName + ": " +
                oneLine(api.statusString(st)) + ": " +
                oneLine(api.lastError(nullptr)));
  std::unique_ptr<ditc_model, void (*)(ditc_model *)> owner(model, api.destroy);

  // The library's inputs and outputs.
  auto describeAll = [&](bool inputs, std::vector<TensorDesc> &out) -> bool {
    int32_t n = inputs ? api.numInputs(model) : api.numOutputs(model);
    for (int32_t i = 0; i < n; ++i) {
      ditc_tensor_info info{};
      ditc_status s = inputs ? api.inputInfo(model, i, &info)
                             : api.outputInfo(model, i, &info);
      if (s != DITC_OK || !info.name || info.rank < 0 ||
          (info.rank > 0 && !info.shape)) {
        fail(libName + ": cannot describe " + (inputs ? "input " : "output ") +
             Twine(i) + ": " + oneLine(api.lastError(model)));
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
  std::vector<TensorDesc> inDescs, outDescs;
  if (!describeAll(true, inDescs) || !describeAll(false, outDescs))
    return 1;

  // Inputs: from the .npz, checked against the graph, or random.
  std::vector<Buffer> inBufs;
  inBufs.reserve(inDescs.size());
  for (const TensorDesc &t : inDescs) {
    inBufs.emplace_back(t.bytes);
    if (!inBufs.back().ptr)
      return fail("cannot allocate " + Twine(t.bytes) + " bytes for input '" +
                  t.name + "'");
  }
  if (!opts.inputs.empty()) {
    std::vector<npz::Array> arrays;
    std::string err;
    if (!npz::readNpz(opts.inputs, arrays, err))
      return fail(err);
    std::map<std::string, const npz::Array *> byName;
    for (const npz::Array &a : arrays)
      byName[a.name] = &a;
    for (size_t i = 0; i < inDescs.size(); ++i) {
      const TensorDesc &t = inDescs[i];
      auto it = byName.find(t.name);
      if (it == byName.end()) {
        std::string has;
        for (const npz::Array &a : arrays)
          has += (has.empty() ? "'" : ", '") + a.name + "'";
        return fail(opts.inputs + " has no array for input '" + t.name +
                    "' (expected " + describe(t.dtype, t.shape) + "); it has " +
                    (has.empty() ? std::string("none") : has));
      }
      const npz::Array &a = *it->second;
      if ((int32_t)a.dtype != t.dtype || a.shape != t.shape)
        return fail("input '" + t.name + "' in " + opts.inputs + ": expected " +
                    describe(t.dtype, t.shape) + ", found " +
                    npz::dtypeName(a.dtype) + " " + npz::formatShape(a.shape));
      std::memcpy(inBufs[i].data(), a.data.data(), t.bytes);
    }
    for (const npz::Array &a : arrays) {
      bool known = std::any_of(inDescs.begin(), inDescs.end(),
                               [&](const TensorDesc &t) { return t.name == a.name; });
      if (!known) {
        std::string names;
        for (const TensorDesc &t : inDescs)
          names += (names.empty() ? "'" : ", '") + t.name + "'";
        return fail(opts.inputs + " has an array '" + a.name +
                    "' that is not an input of the model (inputs: " + names + ")");
      }
    }
  } else {
    outs() << "note: no --inputs given; running on random inputs (seed 0): "
              "floats ~ N(0, 1), integers of rank <= 1 in [0, 1000), other "
              "integers in [0, 100), bools true\n";
    for (size_t i = 0; i < inDescs.size(); ++i)
      fillRandom(inDescs[i], (int)i, inBufs[i]);
  }

  std::vector<Buffer> outBufs;
  outBufs.reserve(outDescs.size());
  for (const TensorDesc &t : outDescs) {
    outBufs.emplace_back(t.bytes);
    if (!outBufs.back().ptr)
      return fail("cannot allocate " + Twine(t.bytes) + " bytes for output '" +
                  t.name + "'");
  }
  std::vector<const void *> inPtrs;
  std::vector<void *> outPtrs;
  for (Buffer &b : inBufs)
    inPtrs.push_back(b.data());
  for (Buffer &b : outBufs)
    outPtrs.push_back(b.data());

  outs() << "model: " << libName << " (ABI " << abi << ")\n";
  for (const TensorDesc &t : inDescs)
    outs() << "  input  '" << t.name << "': " << describe(t.dtype, t.shape)
           << "\n";
  for (const TensorDesc &t : outDescs)
    outs() << "  output '" << t.name << "': " << describe(t.dtype, t.shape)
           << "\n";
  if (opts.threads > 0)
    outs() << "threads: " << opts.threads << "\n";
  outs().flush();

  using Clock = std::chrono::steady_clock;
  auto runOnce = [&](double *ms) -> bool {
    auto t0 = Clock::now();
    ditc_status s = api.run(model, inPtrs.data(), outPtrs.data());
    auto t1 = Clock::now();
    if (s != DITC_OK) {
      fail("running " + libName + " failed: " + oneLine(api.statusString(s)) +
           ": " + oneLine(api.lastError(model)));
      return false;
    }
    if (ms)
      *ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    return true;
  };

  double first = 0;
  if (!runOnce(&first))
    return 1;
  outs() << format("first run: %.3f ms\n", first);
  for (int i = 0; i < opts.warmup; ++i)
    if (!runOnce(nullptr))
      return 1;
  if (opts.warmup)
    outs() << "warm-up: " << opts.warmup << " runs\n";
  if (opts.bench > 0) {
    std::vector<double> times(opts.bench);
    for (double &t : times)
      if (!runOnce(&t))
        return 1;
    outs() << format("bench: %d runs: median %.3f ms, min %.3f ms, max %.3f ms\n",
                     opts.bench, median(times),
                     *std::min_element(times.begin(), times.end()),
                     *std::max_element(times.begin(), times.end()));
  }
  outs() << "arena: " << mib(api.arenaBytes(model)) << "\n";
  outs() << "weights: " << mib(api.weightBytes(model)) << "\n";
  outs() << format("peak RSS: %.1f MiB\n", api.peakRssBytes() / 1048576.0);

  if (!opts.outputs.empty()) {
    std::vector<npz::Array> arrays;
    for (size_t i = 0; i < outDescs.size(); ++i) {
      const TensorDesc &t = outDescs[i];
      npz::Array a;
      a.name = t.name;
      a.shape = t.shape;
      if (t.dtype == DITC_DTYPE_BF16) {
        // numpy has no bfloat16: widen to float32.
        a.dtype = npz::DType::F32;
        uint64_t n = t.bytes / 2;
        a.data.resize(n * 4);
        for (uint64_t k = 0; k < n; ++k) {
          uint16_t h;
          std::memcpy(&h, outBufs[i].data() + 2 * k, 2);
          float f = bf16ToFloat(h);
          std::memcpy(a.data.data() + 4 * k, &f, 4);
        }
        outs() << "note: output '" << t.name
               << "' is bfloat16; written as float32\n";
      } else {
        npz::dtypeFromCode(t.dtype, a.dtype);
        a.data.assign(outBufs[i].data(), outBufs[i].data() + t.bytes);
      }
      arrays.push_back(std::move(a));
    }
    std::string err;
    if (!npz::writeNpz(opts.outputs, arrays, err))
      return fail(err);
    outs() << "wrote " << outDescs.size() << " output"
           << (outDescs.size() == 1 ? "" : "s") << " to " << opts.outputs
           << "\n";
  }
  outs().flush();
  return 0;
}

} // namespace mlir::ditc
