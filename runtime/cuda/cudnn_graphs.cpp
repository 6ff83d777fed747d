//===- cudnn_graphs.cpp - Attention and convolutions through cuDNN --------===//
//
// sdpa::run, conv::run and what they share (cudnn_graphs.h says what they
// do): the eligibility of each, then DITC_CUDNN and the library (namespace
// cudnn), then the graphs, with one run_problem() (the device, the cache of
// plans, the capture rule, the execution) for both. The only
// translation unit that includes cudnn-frontend (it compiles slowly), built
// with NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING: the frontend then calls every
// cudnn* function through dlsym(cudnn_frontend::cudnn_dlhandle, ...), the
// handle defined here and set from our own dlopen of the library. Where
// CMake found no cudnn-frontend (DITC_HAVE_CUDNN_FRONTEND undefined) the
// same file builds without it: eligibility, the mode and the loader work,
// run() always hands the call back ("not built with cudnn-frontend").
//
// The frontend reports failures as error_t values and, for a missing symbol
// or libcudart, as exceptions: both become refusals here, never aborts. The
// CUDA runtime calls made here (cudaGetDevice, cudaDeviceGetAttribute,
// cudaStreamIsCapturing, cudaMalloc) are the library's static cudart, as
// for the kernels.
//
// Plans and handles are never freed (they live as long as the process's
// cuDNN and device memory; no destructor runs at exit).
//
//===----------------------------------------------------------------------===//
#include "cudnn_graphs.h"

#include "ditc/runtime/ditc_kernels.h"

#include <cuda_runtime_api.h>

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <functional>
#include <unordered_map>
#include <vector>

#ifdef DITC_HAVE_CUDNN_FRONTEND
#ifndef NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING
#error "cudnn_graphs.cpp needs NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING (cuDNN is never linked)"
#endif
#include <cudnn_frontend.h>

// The frontend's handle of the cuDNN library (declared by
// cudnn_frontend_shim.h, defined by its user); hidden like the rest.
namespace cudnn_frontend {
__attribute__((visibility("hidden"))) void *cudnn_dlhandle = nullptr;
} // namespace cudnn_frontend
namespace fe = cudnn_frontend;
#endif

#pragma GCC visibility push(hidden)

namespace ditc_cu {

// stream.cu: "ditc cuda: <kernel>: <message>" and abort.
[[noreturn]] void fatal(const char *kernel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

namespace {
bool aligned16(const void *p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

// The bytes [first, last) of a tensor.
struct Span {
  uintptr_t first, last;
};
Span bytes(const void *p, int64_t n) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return {a, a + (uintptr_t)n};
}
bool overlap(Span x, Span y) { return x.first < y.last && y.first < x.last; }
} // namespace

namespace sdpa {

//===--- Eligibility (host only) -----------------------------------------===//

namespace {
// The bytes a [B, H, S, D] tensor with these strides spans.
Span span(const void *p, const int64_t (&s)[3], int64_t b, int64_t h,
          int64_t len, int64_t d, int64_t es) {
  const int64_t last = (b - 1) * s[0] + (h - 1) * s[1] + (len - 1) * s[2] + d;
  return bytes(p, last * es);
}
} // namespace

Band band(const Call &c) {
  Band b;
  b.keys = c.Skv;
  if (c.kv_valid > 0)
    b.keys = std::max<int64_t>(0, std::min(c.Skv, c.kv_valid - c.kv_offset));
  b.right_bound = c.q_offset - c.kv_offset;
  // Row 0 sees keys 0..right_bound: all of them when that reaches the last.
  b.causal = c.causal && b.right_bound < b.keys - 1;
  if (!b.causal)
    b.right_bound = 0;
  return b;
}

const char *ineligible(const Call &c) {
  if (c.dtype != DITC_RT_F16 && c.dtype != DITC_RT_BF16)
    return "the dtype is not F16 or BF16";
  if (c.mask_kind != DITC_RT_MASK_NONE)
    return "a mask (the own kernel takes masks)";
  if (c.B <= 0 || c.H <= 0 || c.Hkv <= 0 || c.Sq <= 0 || c.Skv <= 0)
    return "an empty dimension";
  if (c.q_offset < 0 || c.kv_offset < 0)
    return "a negative offset";
  const Band b = band(c);
  if (b.keys <= 0)
    return "no key before kv_valid";
  if (c.H % c.Hkv != 0)
    return "heads is not a multiple of kv_heads";
  if (c.D != c.Dv)
    return "head_dim differs from v_head_dim";
  if (c.D % 8 != 0 || c.D < 8 || c.D > 256)
    return "head_dim is not a multiple of 8 in [8, 256]";
  if (b.causal && c.Sq != b.keys)
    return "causal with q_len != the keys";
  if (b.causal && b.right_bound < 0)
    return "a causal block whose first queries see no key";
  if (b.right_bound > INT32_MAX)
    return "a causal band beyond 2^31 keys";
  if (!aligned16(c.q) || !aligned16(c.k) || !aligned16(c.v) ||
      !aligned16(c.out) || (c.lse && !aligned16(c.lse)))
    return "a tensor is not 16-byte aligned";
  for (const int64_t *s : {c.q_stride, c.k_stride, c.v_stride, c.o_stride})
    for (int d = 0; d < 3; ++d)
      if (s[d] % 8 != 0 || s[d] < 0)
        return "a stride is not a multiple of 8 elements";
  if (c.lse)
    for (int d = 0; d < 3; ++d)
      if (c.lse_stride[d] < 0)
        return "a negative lse stride";
  // The own kernel allows out == q (each block reads its rows of q before
  // writing them); cuDNN's kernels promise nothing of the kind.
  const Span o = span(c.out, c.o_stride, c.B, c.H, c.Sq, c.Dv, 2);
  if (overlap(o, span(c.q, c.q_stride, c.B, c.H, c.Sq, c.D, 2)) ||
      overlap(o, span(c.k, c.k_stride, c.B, c.Hkv, c.Skv, c.D, 2)) ||
      overlap(o, span(c.v, c.v_stride, c.B, c.Hkv, c.Skv, c.Dv, 2)))
    return "the output overlaps an input";
  if (c.sm < 80)
    return "the device is older than sm_80";
  return nullptr;
}

} // namespace sdpa

namespace conv {

const char *ineligible(const Call &c) {
  if (c.dtype != DITC_RT_F16 && c.dtype != DITC_RT_BF16)
    return "the dtype is not F16 or BF16";
  if (c.N <= 0 || c.C <= 0 || c.H <= 0 || c.W <= 0 || c.O <= 0 ||
      c.kh <= 0 || c.kw <= 0 || c.OH <= 0 || c.OW <= 0)
    return "an empty dimension";
  if (c.groups != 1)
    return "a grouped convolution (groups != 1)";
  if (c.stride_h < 1 || c.stride_w < 1 || c.dil_h < 1 || c.dil_w < 1)
    return "a stride or dilation below 1";
  if (c.pad_top < 0 || c.pad_left < 0 || c.pad_bottom < 0 ||
      c.pad_right < 0)
    return "a negative padding";
  // The output size the pads give must be the caller's (cuDNN derives it
  // the same way).
  if (c.OH != (c.H + c.pad_top + c.pad_bottom - c.dil_h * (c.kh - 1) - 1) /
                      c.stride_h +
                  1 ||
      c.OW != (c.W + c.pad_left + c.pad_right - c.dil_w * (c.kw - 1) - 1) /
                      c.stride_w +
                  1)
    return "the output size is not the pads' and strides'";
  if (!aligned16(c.x) || !aligned16(c.w) || !aligned16(c.y) ||
      (c.bias && !aligned16(c.bias)))
    return "a tensor is not 16-byte aligned";
  const Span y = bytes(c.y, c.N * c.O * c.OH * c.OW * 2);
  if (overlap(y, bytes(c.x, c.N * c.C * c.H * c.W * 2)) ||
      overlap(y, bytes(c.w, c.O * (c.C / c.groups) * c.kh * c.kw * 2)) ||
      (c.bias && overlap(y, bytes(c.bias, c.O * 2))))
    return "the output overlaps an input";
  if (c.sm < 80)
    return "the device is older than sm_80";
  return nullptr;
}

} // namespace conv

namespace cudnn {

//===--- DITC_CUDNN --------------------------------------------------------===//

bool parse_mode(const char *value, Mode &mode) {
  if (!value || !*value || std::strcmp(value, "auto") == 0)
    mode = Mode::Auto;
  else if (std::strcmp(value, "0") == 0)
    mode = Mode::Off;
  else if (std::strcmp(value, "1") == 0)
    mode = Mode::On;
  else
    return false;
  return true;
}

namespace {
std::atomic<int> g_override{-1};
} // namespace

Mode mode() {
  const int o = g_override.load(std::memory_order_relaxed);
  if (o >= 0)
    return static_cast<Mode>(o);
  static const Mode from_env = [] {
    const char *v = std::getenv("DITC_CUDNN");
    Mode m = Mode::Auto;
    if (!parse_mode(v, m))
      fatal("cudnn", "DITC_CUDNN=%s: expected auto, 0 or 1", v);
    return m;
  }();
  return from_env;
}

void set_mode(Mode m) {
  g_override.store(static_cast<int>(m), std::memory_order_relaxed);
}

bool built_with_frontend() {
#ifdef DITC_HAVE_CUDNN_FRONTEND
  return true;
#else
  return false;
#endif
}

//===--- The library -------------------------------------------------------===//

namespace {

typedef size_t (*GetVersionFn)();

// dlopen()s `path` and checks the version; the handle (kept open) or null
// with `why`.
void *open_library(const std::string &path, int64_t &version,
                   std::string &why) {
  dlerror();
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    why = "cannot load " + path + ": " + (e ? e : "dlopen failed");
    return nullptr;
  }
  auto get = reinterpret_cast<GetVersionFn>(dlsym(lib, "cudnnGetVersion"));
  if (!get) {
    why = path + " has no cudnnGetVersion (not cuDNN?)";
    dlclose(lib);
    return nullptr;
  }
  version = (int64_t)get();
  if (version < 90000) {
    why = path + " is cuDNN " + std::to_string(version) +
          ", older than 9.0 (90000)";
    dlclose(lib);
    return nullptr;
  }
  return lib;
}

struct Library {
  std::mutex mu;
  std::atomic<bool> tried{false}; // set last, under mu
  void *handle = nullptr;
  int64_t version = 0;
  std::string why;
};

Library &library() {
  static Library *l = new Library; // never destroyed
  return *l;
}

// The process's cuDNN handle, loaded once; null with `why`.
void *library_handle(int64_t &version, std::string &why) {
  Library &l = library();
  if (l.tried.load(std::memory_order_acquire)) { // fixed from then on
    version = l.version;
    why = l.why;
    return l.handle;
  }
  std::lock_guard<std::mutex> lock(l.mu);
  if (!l.tried.load(std::memory_order_relaxed)) {
    const char *env = std::getenv("DITC_CUDNN_LIBRARY");
    const bool named = env && *env;
    const std::string path = named ? env : "libcudnn.so.9";
    l.handle = open_library(path, l.version, l.why);
    if (!l.handle && named)
      l.why = "DITC_CUDNN_LIBRARY=" + path + ": " + l.why;
#ifdef DITC_HAVE_CUDNN_FRONTEND
    if (l.handle)
      cudnn_frontend::cudnn_dlhandle = l.handle;
#endif
    l.tried.store(true, std::memory_order_release);
  }
  version = l.version;
  why = l.why;
  return l.handle;
}

// What run_problem did for one kind of graph.
struct Stats {
  std::atomic<uint64_t> ran{0}, fell_back{0}, plans{0}, refused{0};
  Counters get() const {
    Counters c;
    c.ran = ran.load();
    c.fell_back = fell_back.load();
    c.plans = plans.load();
    c.refused = refused.load();
    return c;
  }
};

} // namespace

int64_t probe_library(const std::string &path, std::string &why) {
  int64_t version = 0;
  void *lib = open_library(path, version, why);
  if (!lib)
    return 0;
  dlclose(lib);
  return version;
}

int64_t library_version(std::string &why) {
  int64_t version = 0;
  return library_handle(version, why) ? version : 0;
}

//===--- One problem, either kind ----------------------------------------===//

namespace {

// What run_problem needs of a call: its kind's name (messages) and
// counters, its eligibility on a device of a given sm, its plan key (the
// device's number goes in front), its graph, and its tensors by uid.
struct Problem {
  const char *kernel = nullptr; // "attention", "conv2d"
  Stats *stats = nullptr;
  int32_t *sm = nullptr; // the call's sm, filled in when 0
  std::function<const char *(int32_t sm)> ineligible;
  std::function<std::vector<int64_t>()> key;
  std::function<std::string()> what; // the problem in words
#ifdef DITC_HAVE_CUDNN_FRONTEND
  std::function<fe::error_t(fe::graph::Graph &)> describe; // and validate
#endif
  mutable std::unordered_map<int64_t, void *> pack; // execute's
};

/// The parts of call c's Problem (c must outlive it) that every kind fills
/// alike from its own ineligible, plan_key and describe_call: the graph and
/// the tensors are the kind's to add.
template <auto Ineligible, auto Key, auto What, class C>
Problem problem_of(C &c, const char *kernel, Stats *stats) {
  Problem p;
  p.kernel = kernel;
  p.stats = stats;
  p.sm = &c.sm;
  p.ineligible = [&c](int32_t sm) {
    C at = c;
    at.sm = sm;
    return Ineligible(at);
  };
  p.key = [&c] { return Key(c); };
  p.what = [&c] { return What(c); };
  return p;
}

/// Whether call c falls back before a Problem is built for it (counted,
/// and why said): DITC_CUDNN=0, or, unless DITC_CUDNN=1, what no device
/// takes (f32, a mask, an odd head size): a check per call, not the
/// Problem's closures and map on every eager call cuDNN never takes.
template <auto Ineligible, class C>
bool refused_up_front(const C &c, Stats &stats, std::string *why) {
  const Mode m = mode();
  const char *r = nullptr;
  if (m == Mode::Off) {
    r = "DITC_CUDNN=0";
  } else if (m != Mode::On) {
    C anywhere = c;
    anywhere.sm = 1000;
    r = Ineligible(anywhere);
  }
  if (!r)
    return false;
  stats.fell_back.fetch_add(1, std::memory_order_relaxed);
  if (why)
    *why = r;
  return true;
}

#ifndef DITC_HAVE_CUDNN_FRONTEND

const char *const kNotBuilt =
    "not built with cudnn-frontend (DITC_CUDNN_FRONTEND_INCLUDE_DIR)";

bool run_problem(const Problem &p, void *, std::string *why) {
  if (mode() == Mode::On)
    fatal(p.kernel, "DITC_CUDNN=1, but this runtime was %s", kNotBuilt);
  p.stats->fell_back.fetch_add(1, std::memory_order_relaxed);
  if (why)
    *why = kNotBuilt; // DITC_CUDNN=0 was refused up front
  return false;
}

bool validate_problem(const Problem &, std::string &why) {
  why = kNotBuilt;
  return false;
}

#else // DITC_HAVE_CUDNN_FRONTEND

typedef int (*CreateFn)(void **handle);            // cudnnCreate
typedef int (*SetStreamFn)(void *handle, void *s); // cudnnSetStream
typedef const char *(*ErrorStringFn)(int);         // cudnnGetErrorString

std::string message(const char *step, fe::error_t &e) {
  return std::string("cuDNN ") + step + ": " + e.get_message();
}

struct Plan {
  std::string refused; // non-empty: cuDNN does not take the problem
  // An execute failed: the own kernel runs the problem from then on
  // (said once, not retried and printed on every call).
  mutable std::atomic<bool> broken{false};
  std::unique_ptr<fe::graph::Graph> graph;
  void *handle = nullptr; // the device's cudnnHandle_t
  void *workspace = nullptr;
  int64_t workspace_bytes = 0;
  int device = 0;
};

struct Device {
  void *handle = nullptr;
  std::mutex exec; // cudnnSetStream + execute
};

struct Cache {
  std::mutex mu; // guards both maps; a Plan is immutable once inserted
  std::map<int, std::unique_ptr<Device>> devices;
  std::map<std::vector<int64_t>, std::unique_ptr<Plan>> plans;
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  ErrorStringFn error_string = nullptr;
};

Cache &cache() {
  static Cache *c = new Cache; // never destroyed
  return *c;
}

// True when a capture may be under way on `stream` (as gemm.cpp's).
bool capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) != cudaSuccess) {
    (void)cudaGetLastError();
    return true;
  }
  return status != cudaStreamCaptureStatusNone;
}

int device_sm(int device) {
  static std::atomic<int> sms[64];
  if (device >= 0 && device < 64)
    if (int sm = sms[device].load(std::memory_order_relaxed))
      return sm;
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor,
                             device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor,
                             device) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  const int sm = major * 10 + minor;
  if (device >= 0 && device < 64)
    sms[device].store(sm, std::memory_order_relaxed);
  return sm;
}

// Builds the plan of `p` on `device` (the cache lock held); a refusal is a
// plan too. Errors of our own set-up (no handle, no workspace memory)
// refuse as well: the own kernel still runs.
std::unique_ptr<Plan> build_plan(Cache &cc, int device, const Problem &p) {
  auto plan = std::make_unique<Plan>();
  plan->device = device;
  auto refuse = [&](std::string why) {
    plan->refused = std::move(why);
    plan->graph.reset();
    return std::move(plan);
  };
  auto &dev = cc.devices[device];
  if (!dev)
    dev = std::make_unique<Device>();
  if (!dev->handle) {
    void *h = nullptr;
    const int st = cc.create(&h);
    if (st != 0)
      return refuse(std::string("cudnnCreate failed: ") +
                    cc.error_string(st));
    dev->handle = h;
  }
  plan->handle = dev->handle;
  try {
    plan->graph = std::make_unique<fe::graph::Graph>();
    fe::graph::Graph &g = *plan->graph;
    fe::error_t e = p.describe(g);
    if (e.is_bad())
      return refuse(message("validate", e));
    auto *h = static_cast<cudnnHandle_t>(dev->handle);
    if ((e = g.build_operation_graph(h)).is_bad())
      return refuse(message("build_operation_graph", e));
    // Mode A's engines first; FALLBACK's where A offers none that builds.
    if ((e = g.create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}))
             .is_bad())
      return refuse(message("create_execution_plans", e));
    if ((e = g.check_support()).is_bad())
      return refuse(message("check_support", e));
    if ((e = g.build_plans()).is_bad())
      return refuse(message("build_plans", e));
    int64_t bytes = 0;
    if ((e = g.get_workspace_size(bytes)).is_bad())
      return refuse(message("get_workspace_size", e));
    if (bytes > 0) {
      void *ws = nullptr;
      const cudaError_t err = cudaMalloc(&ws, (size_t)bytes);
      if (err != cudaSuccess) {
        (void)cudaGetLastError();
        return refuse("cannot allocate its " + std::to_string(bytes) +
                      "-byte workspace: " + cudaGetErrorString(err));
      }
      plan->workspace = ws;
      plan->workspace_bytes = bytes;
    }
  } catch (const std::exception &ex) {
    return refuse(std::string("cuDNN frontend: ") + ex.what());
  }
  return plan;
}

// validate_graph of either kind: eligible on p.sm, the library, validate().
bool validate_problem(const Problem &p, std::string &why) {
  if (const char *r = p.ineligible(*p.sm)) {
    why = r;
    return false;
  }
  if (library_version(why) == 0)
    return false;
  try {
    fe::graph::Graph g;
    fe::error_t e = p.describe(g);
    if (e.is_bad()) {
      why = message("validate", e);
      return false;
    }
  } catch (const std::exception &ex) {
    why = std::string("cuDNN frontend: ") + ex.what();
    return false;
  }
  return true;
}

bool run_problem(const Problem &p, void *stream, std::string *why) {
  const Mode m = mode();
  Stats &stats = *p.stats;
  auto back = [&](const std::string &reason) {
    stats.fell_back.fetch_add(1, std::memory_order_relaxed);
    if (why)
      *why = reason;
    return false;
  };
  // DITC_CUDNN=0 and what no device takes were refused up front.
  int64_t version = 0;
  std::string lib_why;
  void *lib = library_handle(version, lib_why);
  if (!lib) {
    if (m == Mode::On)
      fatal(p.kernel, "DITC_CUDNN=1: %s", lib_why.c_str());
    return back(lib_why);
  }
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    (void)cudaGetLastError();
    return back("cudaGetDevice failed");
  }
  if (*p.sm == 0)
    *p.sm = device_sm(device);
  if (const char *r = p.ineligible(*p.sm))
    return back(r);

  Cache &cc = cache();
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  const Plan *plan = nullptr;
  Device *dev = nullptr;
  {
    std::lock_guard<std::mutex> lock(cc.mu);
    if (!cc.create) {
      cc.create = reinterpret_cast<CreateFn>(dlsym(lib, "cudnnCreate"));
      cc.set_stream =
          reinterpret_cast<SetStreamFn>(dlsym(lib, "cudnnSetStream"));
      cc.error_string =
          reinterpret_cast<ErrorStringFn>(dlsym(lib, "cudnnGetErrorString"));
      if (!cc.create || !cc.set_stream || !cc.error_string) {
        cc.create = nullptr;
        if (m == Mode::On)
          fatal(p.kernel,
                "DITC_CUDNN=1: the cuDNN library lacks cudnnCreate, "
                "cudnnSetStream or cudnnGetErrorString");
        return back("the cuDNN library lacks cudnnCreate / cudnnSetStream");
      }
    }
    std::vector<int64_t> key = p.key();
    key.insert(key.begin(), device);
    auto it = cc.plans.find(key);
    if (it == cc.plans.end()) {
      if (capturing(st))
        return back("no plan yet and the stream is being captured");
      std::unique_ptr<Plan> built = build_plan(cc, device, p);
      if (built->refused.empty())
        stats.plans.fetch_add(1, std::memory_order_relaxed);
      else {
        stats.refused.fetch_add(1, std::memory_order_relaxed);
        if (m == Mode::On)
          std::fprintf(stderr,
                       "ditc cuda: %s: cuDNN does not take %s (%s); "
                       "the own kernel runs it\n",
                       p.kernel, p.what().c_str(), built->refused.c_str());
      }
      it = cc.plans.emplace(std::move(key), std::move(built)).first;
    }
    plan = it->second.get();
    dev = cc.devices[device].get();
  }
  if (!plan->refused.empty())
    return back(plan->refused);
  if (plan->broken.load(std::memory_order_relaxed))
    return back("cuDNN failed on this problem before");

  std::string failed;
  {
    std::lock_guard<std::mutex> lock(dev->exec);
    const int s = cc.set_stream(plan->handle, stream);
    if (s != 0) {
      failed = std::string("cudnnSetStream failed: ") + cc.error_string(s);
    } else {
      try {
        fe::error_t e = plan->graph->execute(
            static_cast<cudnnHandle_t>(plan->handle), p.pack, plan->workspace);
        if (e.is_bad())
          failed = message("execute", e);
      } catch (const std::exception &ex) {
        failed = std::string("cuDNN frontend: execute: ") + ex.what();
      }
    }
  }
  if (!failed.empty()) {
    // Not expected once a plan is built: say so, and let the own kernel
    // write the output (an error left on the stream surfaces at its launch).
    plan->broken.store(true, std::memory_order_relaxed);
    std::fprintf(stderr,
                 "ditc cuda: %s: cuDNN failed on %s (%s); the own kernel "
                 "runs it\n",
                 p.kernel, p.what().c_str(), failed.c_str());
    return back(failed);
  }
  stats.ran.fetch_add(1, std::memory_order_relaxed);
  return true;
}

#endif // DITC_HAVE_CUDNN_FRONTEND

/// A kind's run(): refused up front, else its Problem (MakeProblem(c),
/// which keeps a reference to c) through run_problem.
template <auto Ineligible, auto MakeProblem, class C>
bool run_kind(C &c, Stats &stats, void *stream, std::string *why) {
  if (refused_up_front<Ineligible>(c, stats, why))
    return false;
  return run_problem(MakeProblem(c), stream, why);
}

/// A kind's validate_graph(): its Problem of a copy of c.
template <auto MakeProblem, class C> bool validate_kind(const C &c, std::string &why) {
  C copy = c;
  return validate_problem(MakeProblem(copy), why);
}

} // namespace
} // namespace cudnn

using cudnn::Problem;
using cudnn::Stats;

namespace {
const char *dtype_name(int32_t dtype) {
  return dtype == DITC_RT_F16 ? "F16" : "BF16";
}

#ifdef DITC_HAVE_CUDNN_FRONTEND
fe::DataType_t io_type(int32_t dtype) {
  return dtype == DITC_RT_F16 ? fe::DataType_t::HALF
                              : fe::DataType_t::BFLOAT16;
}
#endif
} // namespace

//===--- Attention -----------------------------------------------------------===//

namespace sdpa {

namespace {

Stats g_stats;

enum Uid : int64_t { kQ = 1, kK = 2, kV = 3, kO = 4, kStats = 5 };

std::vector<int64_t> plan_key(const Call &c) {
  uint32_t scale_bits;
  std::memcpy(&scale_bits, &c.scale, 4);
  const Band b = band(c);
  // The offsets and kv_valid matter only through the band.
  return {1 /* SDPA */,     c.dtype,          c.B,
          c.H,              c.Hkv,            c.Sq,
          b.keys,           c.D,              c.q_stride[0],
          c.q_stride[1],    c.q_stride[2],    c.k_stride[0],
          c.k_stride[1],    c.k_stride[2],    c.v_stride[0],
          c.v_stride[1],    c.v_stride[2],    c.o_stride[0],
          c.o_stride[1],    c.o_stride[2],    b.causal,
          b.right_bound,    scale_bits,       c.sm,
          c.Dv,             c.lse != nullptr, c.lse_stride[0],
          c.lse_stride[1],  c.lse_stride[2]};
}

std::string describe_call(const Call &c) {
  char buf[240];
  const Band b = band(c);
  std::snprintf(buf, sizeof buf,
                "%s B=%lld H=%lld Hkv=%lld Sq=%lld Skv=%lld D=%lld%s%s sm_%d",
                dtype_name(c.dtype), (long long)c.B, (long long)c.H,
                (long long)c.Hkv, (long long)c.Sq, (long long)b.keys,
                (long long)c.D,
                b.causal ? (b.right_bound ? " causal (band)" : " causal") : "",
                c.lse ? " lse" : "", (int)c.sm);
  return buf;
}

#ifdef DITC_HAVE_CUDNN_FRONTEND
std::vector<int64_t> dims(int64_t b, int64_t h, int64_t s, int64_t d) {
  return {b, h, s, d};
}
std::vector<int64_t> strides(const int64_t (&s)[3]) {
  return {s[0], s[1], s[2], 1};
}

// The SDPA graph of `c` (the softmax stats as the lse when wanted),
// validated. K and V are their first band().keys rows.
fe::error_t describe(fe::graph::Graph &g, const Call &c) {
  g.set_io_data_type(io_type(c.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  // Ours, so that the frontend never queries the device through its own
  // libcudart.
  g.set_sm_version(c.sm);
  using fe::graph::Tensor_attributes;
  const Band b = band(c);
  auto q = g.tensor(Tensor_attributes()
                        .set_name("Q")
                        .set_uid(kQ)
                        .set_dim(dims(c.B, c.H, c.Sq, c.D))
                        .set_stride(strides(c.q_stride)));
  auto k = g.tensor(Tensor_attributes()
                        .set_name("K")
                        .set_uid(kK)
                        .set_dim(dims(c.B, c.Hkv, b.keys, c.D))
                        .set_stride(strides(c.k_stride)));
  auto v = g.tensor(Tensor_attributes()
                        .set_name("V")
                        .set_uid(kV)
                        .set_dim(dims(c.B, c.Hkv, b.keys, c.Dv))
                        .set_stride(strides(c.v_stride)));
  fe::graph::SDPA_attributes a;
  a.set_name("ditc_attention")
      .set_generate_stats(c.lse != nullptr)
      .set_attn_scale(c.scale);
  if (b.causal) // key j is masked for query i when j > i + right_bound
    a.set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT)
        .set_diagonal_band_right_bound(static_cast<int>(b.right_bound));
  auto outs = g.sdpa(q, k, v, a);
  outs[0]
      ->set_output(true)
      .set_uid(kO)
      .set_dim(dims(c.B, c.H, c.Sq, c.Dv))
      .set_stride(strides(c.o_stride));
  if (c.lse) {
    if (!outs[1])
      return {fe::error_code_t::GRAPH_NOT_SUPPORTED, "no softmax stats output"};
    outs[1]
        ->set_output(true)
        .set_uid(kStats)
        .set_data_type(fe::DataType_t::FLOAT)
        .set_dim(dims(c.B, c.H, c.Sq, 1))
        .set_stride(strides(c.lse_stride));
  }
  return g.validate();
}
#endif

// The Problem of `c` (which must outlive it).
Problem problem(Call &c) {
  Problem p = cudnn::problem_of<ineligible, plan_key, describe_call>(
      c, "attention", &g_stats);
#ifdef DITC_HAVE_CUDNN_FRONTEND
  p.describe = [&c](fe::graph::Graph &g) { return describe(g, c); };
#endif
  p.pack = {{kQ, const_cast<void *>(c.q)},
            {kK, const_cast<void *>(c.k)},
            {kV, const_cast<void *>(c.v)},
            {kO, c.out}};
  if (c.lse)
    p.pack.emplace(kStats, c.lse);
  return p;
}

} // namespace

bool run(Call c, void *stream, std::string *why) {
  return cudnn::run_kind<ineligible, problem>(c, g_stats, stream, why);
}

bool validate_graph(const Call &c, std::string &why) {
  return cudnn::validate_kind<problem>(c, why);
}

Counters counters() { return g_stats.get(); }

} // namespace sdpa

//===--- Convolution -------------------------------------------------------===//

namespace conv {

namespace {

Stats g_stats;

enum Uid : int64_t { kX = 1, kW = 2, kB = 3, kY = 4 };

std::vector<int64_t> plan_key(const Call &c) {
  return {2 /* conv */, c.dtype,    c.N,          c.C,          c.H,
          c.W,          c.O,        c.kh,         c.kw,         c.stride_h,
          c.stride_w,   c.pad_top,  c.pad_left,   c.pad_bottom, c.pad_right,
          c.dil_h,      c.dil_w,    c.groups,     c.OH,         c.OW,
          c.bias != nullptr,        c.sm};
}

std::string describe_call(const Call &c) {
  char buf[240];
  std::snprintf(
      buf, sizeof buf,
      "%s x [%lld, %lld, %lld, %lld] w [%lld, %lld, %lld, %lld] stride "
      "%lldx%lld pads %lld,%lld,%lld,%lld dilation %lldx%lld groups %lld%s "
      "sm_%d",
      dtype_name(c.dtype), (long long)c.N, (long long)c.C, (long long)c.H,
      (long long)c.W, (long long)c.O, (long long)(c.C / c.groups),
      (long long)c.kh, (long long)c.kw, (long long)c.stride_h,
      (long long)c.stride_w, (long long)c.pad_top, (long long)c.pad_left,
      (long long)c.pad_bottom, (long long)c.pad_right, (long long)c.dil_h,
      (long long)c.dil_w, (long long)c.groups, c.bias ? " bias" : "",
      (int)c.sm);
  return buf;
}

#ifdef DITC_HAVE_CUDNN_FRONTEND
// Dims and strides of a contiguous NCHW tensor.
std::vector<int64_t> nchw_strides(const std::vector<int64_t> &d) {
  return {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1};
}

// conv_fprop (+ the bias), validated.
fe::error_t describe(fe::graph::Graph &g, const Call &c) {
  g.set_io_data_type(io_type(c.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  g.set_sm_version(c.sm);
  using fe::graph::Tensor_attributes;
  const std::vector<int64_t> xd = {c.N, c.C, c.H, c.W},
                             wd = {c.O, c.C / c.groups, c.kh, c.kw},
                             yd = {c.N, c.O, c.OH, c.OW};
  auto x = g.tensor(Tensor_attributes()
                        .set_name("X")
                        .set_uid(kX)
                        .set_dim(xd)
                        .set_stride(nchw_strides(xd)));
  auto w = g.tensor(Tensor_attributes()
                        .set_name("W")
                        .set_uid(kW)
                        .set_dim(wd)
                        .set_stride(nchw_strides(wd)));
  fe::graph::Conv_fprop_attributes a;
  a.set_name("ditc_conv2d")
      .set_compute_data_type(fe::DataType_t::FLOAT)
      .set_pre_padding({c.pad_top, c.pad_left})
      .set_post_padding({c.pad_bottom, c.pad_right})
      .set_stride({c.stride_h, c.stride_w})
      .set_dilation({c.dil_h, c.dil_w});
  auto y = g.conv_fprop(x, w, a);
  y->set_dim(yd).set_stride(nchw_strides(yd));
  if (c.bias) {
    auto b = g.tensor(Tensor_attributes()
                          .set_name("B")
                          .set_uid(kB)
                          .set_dim({1, c.O, 1, 1})
                          .set_stride({c.O, 1, 1, 1}));
    y->set_data_type(fe::DataType_t::FLOAT); // the sum before the bias
    y = g.pointwise(y, b,
                    fe::graph::Pointwise_attributes()
                        .set_name("ditc_conv2d_bias")
                        .set_mode(fe::PointwiseMode_t::ADD)
                        .set_compute_data_type(fe::DataType_t::FLOAT));
    y->set_dim(yd).set_stride(nchw_strides(yd));
  }
  y->set_output(true).set_uid(kY).set_data_type(io_type(c.dtype));
  return g.validate();
}
#endif

Problem problem(Call &c) {
  Problem p = cudnn::problem_of<ineligible, plan_key, describe_call>(
      c, "conv2d", &g_stats);
#ifdef DITC_HAVE_CUDNN_FRONTEND
  p.describe = [&c](fe::graph::Graph &g) { return describe(g, c); };
#endif
  p.pack = {{kX, const_cast<void *>(c.x)},
            {kW, const_cast<void *>(c.w)},
            {kY, c.y}};
  if (c.bias)
    p.pack.emplace(kB, const_cast<void *>(c.bias));
  return p;
}

} // namespace

bool run(Call c, void *stream, std::string *why, bool *bias_left) {
  if (bias_left)
    *bias_left = false;
  if (!c.bias || !bias_left)
    return cudnn::run_kind<ineligible, problem>(c, g_stats, stream, why);
  // DITC_CUDNN_CONV_BIAS=0: never the fused graph (the path taken where
  // cuDNN refuses it; for testing that path and for debugging).
  static const bool fuse_bias = [] {
    const char *v = std::getenv("DITC_CUDNN_CONV_BIAS");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  if (fuse_bias) {
    // The fused try counts its plans and its run, not its fall-back: the
    // convolution alone is then the call's one outcome.
    Stats fused;
    std::string fused_why;
    const bool ran = cudnn::run_kind<ineligible, problem>(c, fused, stream, &fused_why);
    const Counters f = fused.get();
    g_stats.ran.fetch_add(f.ran, std::memory_order_relaxed);
    g_stats.plans.fetch_add(f.plans, std::memory_order_relaxed);
    g_stats.refused.fetch_add(f.refused, std::memory_order_relaxed);
    if (ran)
      return true;
  }
  // (What refused both up front, DITC_CUDNN=0 or f32, is refused again
  // before any plan: one fall-back counted.)
  Call plain = c;
  plain.bias = nullptr;
  if (!cudnn::run_kind<ineligible, problem>(plain, g_stats, stream, why))
    return false;
  *bias_left = true;
  return true;
}

bool validate_graph(const Call &c, std::string &why) {
  return cudnn::validate_kind<problem>(c, why);
}

Counters counters() { return g_stats.get(); }

} // namespace conv
} // namespace ditc_cu

#pragma GCC visibility pop
