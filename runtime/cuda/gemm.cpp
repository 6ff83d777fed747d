//===- gemm.cpp - linear and matmul on cuBLASLt, loaded at run time ------===//
//
// ditc_cu_linear / ditc_cu_matmul (gemm.h says what they do and how plans
// behave). cuBLASLt is not linked: lt_api() dlopen()s it and resolves the
// functions of LtApi below, typed from cublasLt.h (used for its types,
// enums and declarations only). The CUDA runtime calls (cudaGetDevice,
// cudaMalloc, cudaStreamIsCapturing, cudaMemsetAsync) come from the
// library's CUDA::cudart_static, as for the kernels.
//
// A call: the arguments are checked (fatal on an unknown dtype, a negative
// size or a bad batch rank); an empty output returns; k = 0 writes the
// bias rows (strided_copy) or zeros (cudaMemsetAsync). Otherwise the batch
// dims are collapsed (collapse_batch), one dim is picked for cuBLASLt's
// strided batch and the others are looped over on the host
// (issue_batch: a batch [B, H] where b broadcasts over H only cannot be one
// strided batch, since each operand has one stride per call), mapped to
// column-major (map_problem; the mapping is described at LtProblem in
// gemm.h), and its plan looked up or built under the cache mutex. Then one
// cublasLtMatmul per loop index, on the plan's descriptors and algorithm.
//
// The bias pointer is an attribute of the matmul descriptor, so a plan's
// descriptor (shared by threads, never modified once built) cannot carry
// it: a call with a bias initialises a descriptor of its own on the stack
// (cublasLtMatmulDescInit, no allocation, no device work) with the plan's
// attributes and its bias pointer; the algorithm, layouts and workspace are
// the plan's. The plan's descriptor carries a stand-in bias address of the
// key's bias alignment, which is what cublasLtMatmulAlgoGetHeuristic reads
// of it.
//
// Plans and per-device state are never freed (the process's cuBLASLt and
// device memory outlive them; no destructor runs at exit).
//
//===----------------------------------------------------------------------===//
#include "gemm.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <dlfcn.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#pragma GCC visibility push(hidden)

namespace ditc_cu {

namespace gemm {

//===--- Requests, batches, the mapping (host only) -----------------------===//


Request linear_request(int32_t dtype, int64_t m, int64_t k, int64_t n,
                       bool transpose_w, bool bias, int32_t activation) {
  Request r;
  r.activation = activation;
  r.dtype = dtype;
  r.m = m;
  r.k = k;
  r.n = n;
  r.transpose_w = transpose_w;
  r.bias = bias;
  return r;
}

Request matmul_request(int32_t dtype, int64_t m, int64_t k, int64_t n,
                       int32_t batch_rank, const int64_t *batch_shape,
                       const int64_t *a_batch_strides,
                       const int64_t *b_batch_strides) {
  Request r = linear_request(dtype, m, k, n, false, false);
  r.batch_rank = batch_rank;
  for (int d = 0; d < batch_rank; ++d) {
    r.batch_shape[d] = batch_shape[d];
    r.left_strides[d] = a_batch_strides[d];
    r.right_strides[d] = b_batch_strides[d];
  }
  return r;
}

Batch collapse_batch(const Request &r) {
  Batch b;
  int64_t out_strides[kMaxRank];
  int64_t stride = r.m * r.n;
  for (int d = r.batch_rank - 1; d >= 0; --d) {
    out_strides[d] = stride;
    stride *= r.batch_shape[d];
  }
  for (int d = 0; d < r.batch_rank; ++d) {
    if (r.batch_shape[d] == 0) {
      b.count = 0;
      return b;
    }
    b.count *= r.batch_shape[d];
  }
  for (int d = 0; d < r.batch_rank; ++d) {
    const int64_t e = r.batch_shape[d];
    if (e == 1)
      continue;
    if (b.rank > 0) {
      const int o = b.rank - 1;
      if (b.left[o] == r.left_strides[d] * e &&
          b.right[o] == r.right_strides[d] * e &&
          b.out[o] == out_strides[d] * e) {
        b.shape[o] *= e;
        b.left[o] = r.left_strides[d];
        b.right[o] = r.right_strides[d];
        b.out[o] = out_strides[d];
        continue;
      }
    }
    b.shape[b.rank] = e;
    b.left[b.rank] = r.left_strides[d];
    b.right[b.rank] = r.right_strides[d];
    b.out[b.rank] = out_strides[d];
    ++b.rank;
  }
  return b;
}

Issue issue_batch(const Batch &b) {
  Issue is;
  int strided = -1;
  for (int d = 0; d < b.rank; ++d) {
    if (b.left[d] < 0 || b.right[d] < 0 || b.shape[d] > INT32_MAX)
      continue;
    if (strided < 0 || b.shape[d] >= b.shape[strided])
      strided = d;
  }
  if (strided >= 0) {
    is.count = b.shape[strided];
    is.left_stride = b.left[strided];
    is.right_stride = b.right[strided];
    is.out_stride = b.out[strided];
  }
  for (int d = 0; d < b.rank; ++d) {
    if (d == strided)
      continue;
    is.loop_shape[is.loop_rank] = b.shape[d];
    is.loop_left[is.loop_rank] = b.left[d];
    is.loop_right[is.loop_rank] = b.right[d];
    is.loop_out[is.loop_rank] = b.out[d];
    ++is.loop_rank;
    is.calls *= b.shape[d];
  }
  return is;
}

Offsets call_offsets(const Issue &is, int64_t call) {
  Offsets o;
  for (int d = is.loop_rank - 1; d >= 0; --d) {
    const int64_t i = call % is.loop_shape[d];
    call /= is.loop_shape[d];
    o.left += i * is.loop_left[d];
    o.right += i * is.loop_right[d];
    o.out += i * is.loop_out[d];
  }
  return o;
}

LtProblem map_problem(const Request &r, const Issue &is) {
  LtProblem p;
  p.dtype = r.dtype;
  p.trans_a = r.transpose_w;
  // A = right^T as stored: W [k,n] -> [n,k] ld n; W [n,k] -> [k,n] ld k.
  p.a = r.transpose_w ? Matrix{r.k, r.n, r.k} : Matrix{r.n, r.k, r.n};
  p.b = Matrix{r.k, r.m, r.k}; // left [m,k] -> [k,m] ld k
  p.d = Matrix{r.n, r.m, r.n}; // out [m,n] -> [n,m] ld n
  p.bias = r.bias;
  p.gelu = epilogue_gelu(r.activation);
  p.count = is.count;
  if (is.count > 1) { // a single matrix has no batch strides
    p.a_stride = is.right_stride;
    p.b_stride = is.left_stride;
    p.d_stride = is.out_stride;
  }
  return p;
}

int64_t alignment_of(uintptr_t addr, int64_t elem_size,
                     const std::vector<int64_t> &strides) {
  uint64_t bits = addr;
  for (int64_t s : strides)
    bits |= (uint64_t)s * (uint64_t)elem_size; // lowest set bit of |s * es|
  if (bits == 0)
    return kMaxAlignment;
  const uint64_t low = bits & (~bits + 1);
  return low < (uint64_t)kMaxAlignment ? (int64_t)low : kMaxAlignment;
}

Alignment call_alignment(const LtProblem &p, const Issue &is,
                         const void *left, const void *right,
                         const void *bias, const void *out) {
  const int64_t es = elem_size(p.dtype);
  // Every address an operand is read at: the base, plus the strided
  // batch's stride, plus the loop dims' strides.
  std::vector<int64_t> l, r, o;
  if (is.count > 1) {
    l.push_back(is.left_stride);
    r.push_back(is.right_stride);
    o.push_back(is.out_stride);
  }
  for (int d = 0; d < is.loop_rank; ++d) {
    l.push_back(is.loop_left[d]);
    r.push_back(is.loop_right[d]);
    o.push_back(is.loop_out[d]);
  }
  Alignment al;
  al.a = alignment_of((uintptr_t)right, es, r);
  al.b = alignment_of((uintptr_t)left, es, l);
  al.d = alignment_of((uintptr_t)out, es, o);
  al.bias = alignment_of((uintptr_t)bias, es, {});
  return al;
}

PlanKey plan_key(int device, const LtProblem &p, const Alignment &al) {
  // m = D's columns, n = D's rows, k = B's rows.
  return PlanKey{{device, p.dtype, p.d.cols, p.b.rows, p.d.rows, p.trans_a,
                  p.bias, p.gelu, p.count, p.a_stride, p.b_stride, p.d_stride,
                  al.a, al.b, al.d, p.bias ? al.bias : 0}};
}

//===--- cuBLASLt, loaded at run time -------------------------------------===//

struct LtApi {
  decltype(&cublasLtGetVersion) getVersion;
  decltype(&cublasLtCreate) create;
  decltype(&cublasLtMatmulDescCreate) descCreate;
  decltype(&cublasLtMatmulDescInit_internal) descInit;
  decltype(&cublasLtMatmulDescSetAttribute) descSet;
  decltype(&cublasLtMatmulDescDestroy) descDestroy;
  decltype(&cublasLtMatrixLayoutCreate) layoutCreate;
  decltype(&cublasLtMatrixLayoutSetAttribute) layoutSet;
  decltype(&cublasLtMatrixLayoutDestroy) layoutDestroy;
  decltype(&cublasLtMatmulPreferenceCreate) prefCreate;
  decltype(&cublasLtMatmulPreferenceSetAttribute) prefSet;
  decltype(&cublasLtMatmulPreferenceDestroy) prefDestroy;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic;
  decltype(&cublasLtMatmul) matmul;
};

namespace {

template <class F>
bool resolve(void *lib, const char *sym, F &f, const std::string &libName,
             std::string &why) {
  f = reinterpret_cast<F>(dlsym(lib, sym));
  if (f)
    return true;
  why = libName + " has no " + sym;
  return false;
}

// Resolves every function of `lib` (named `n`); false with `why`.
bool resolveAll(void *lib, const std::string &n, LtApi &a, std::string &why) {
  return resolve(lib, "cublasLtGetVersion", a.getVersion, n, why) &&
         resolve(lib, "cublasLtCreate", a.create, n, why) &&
         resolve(lib, "cublasLtMatmulDescCreate", a.descCreate, n, why) &&
         resolve(lib, "cublasLtMatmulDescInit_internal", a.descInit, n,
                 why) &&
         resolve(lib, "cublasLtMatmulDescSetAttribute", a.descSet, n, why) &&
         resolve(lib, "cublasLtMatmulDescDestroy", a.descDestroy, n, why) &&
         resolve(lib, "cublasLtMatrixLayoutCreate", a.layoutCreate, n, why) &&
         resolve(lib, "cublasLtMatrixLayoutSetAttribute", a.layoutSet, n,
                 why) &&
         resolve(lib, "cublasLtMatrixLayoutDestroy", a.layoutDestroy, n,
                 why) &&
         resolve(lib, "cublasLtMatmulPreferenceCreate", a.prefCreate, n,
                 why) &&
         resolve(lib, "cublasLtMatmulPreferenceSetAttribute", a.prefSet, n,
                 why) &&
         resolve(lib, "cublasLtMatmulPreferenceDestroy", a.prefDestroy, n,
                 why) &&
         resolve(lib, "cublasLtMatmulAlgoGetHeuristic", a.heuristic, n,
                 why) &&
         resolve(lib, "cublasLtMatmul", a.matmul, n, why);
}

} // namespace

const LtApi *load_lt(const std::vector<std::string> &names,
                     std::string &why) {
  std::string tried, errors;
  for (const std::string &name : names) {
    tried += (tried.empty() ? "" : ", ") + name;
    void *lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *e = dlerror();
      errors += std::string(errors.empty() ? "" : "; ") +
                (e ? e : (name + ": dlopen failed").c_str());
      continue;
    }
    LtApi a{};
    std::string missing;
    if (!resolveAll(lib, name, a, missing)) {
      errors += (errors.empty() ? "" : "; ") + missing;
      dlclose(lib);
      continue;
    }
    // The enums and opaque sizes used here are those of the header's major
    // version.
    const size_t version = a.getVersion();
    if (version / 10000 != CUBLAS_VER_MAJOR) {
      errors += (errors.empty() ? "" : "; ") + name + " is cuBLASLt " +
                std::to_string(version) + ", not of major version " +
                std::to_string(CUBLAS_VER_MAJOR);
      dlclose(lib);
      continue;
    }
    return new LtApi(a); // never freed, like the library
  }
  why = "cannot load cuBLASLt (tried " + tried + "): " + errors;
  return nullptr;
}

const LtApi *lt_api(std::string &why) {
  static std::mutex mu;
  static const LtApi *api = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (api)
    return api;
  if (const char *path = std::getenv("DITC_CUBLASLT_LIBRARY"); path && *path) {
    api = load_lt({path}, why);
    if (!api)
      why = "DITC_CUBLASLT_LIBRARY=" + std::string(path) + ": " + why;
  } else {
    api = load_lt({"libcublasLt.so.13", "libcublasLt.so"}, why);
  }
  return api;
}

namespace {

cudaDataType_t cuda_type(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F16:
    return CUDA_R_16F;
  case DITC_RT_BF16:
    return CUDA_R_16BF;
  default:
    return CUDA_R_32F;
  }
}

// The attributes of a problem's matmul descriptor (its compute and scale
// types are set when it is created / initialised): op(A), op(B) = N, and
// the bias epilogue with `bias` (of the output's type), the GELU epilogue.
cublasStatus_t set_desc(const LtApi *api, cublasLtMatmulDesc_t desc,
                        const LtProblem &p, const void *bias) {
  const int32_t ta = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
  cublasStatus_t st;
  if ((st = api->descSet(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                         sizeof ta)) != CUBLAS_STATUS_SUCCESS ||
      (st = api->descSet(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                         sizeof tb)) != CUBLAS_STATUS_SUCCESS)
    return st;
  if (!p.bias && !p.gelu)
    return CUBLAS_STATUS_SUCCESS;
  const uint32_t epilogue =
      p.bias ? (p.gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
             : CUBLASLT_EPILOGUE_GELU;
  if ((st = api->descSet(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                         sizeof epilogue)) != CUBLAS_STATUS_SUCCESS)
    return st;
  if (!p.bias)
    return CUBLAS_STATUS_SUCCESS;
  const int32_t bias_type = cuda_type(p.dtype);
  if ((st = api->descSet(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                         &bias_type, sizeof bias_type)) !=
          CUBLAS_STATUS_SUCCESS)
    return st;
  return api->descSet(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                      sizeof bias);
}

cublasStatus_t create_layout(const LtApi *api, cublasLtMatrixLayout_t *out,
                             int32_t dtype, const Matrix &m, int64_t count,
                             int64_t stride) {
  cublasStatus_t st = api->layoutCreate(out, cuda_type(dtype),
                                        (uint64_t)m.rows, (uint64_t)m.cols,
                                        m.ld);
  if (st != CUBLAS_STATUS_SUCCESS || count <= 1)
    return st;
  const int32_t c = (int32_t)count;
  if ((st = api->layoutSet(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &c,
                           sizeof c)) != CUBLAS_STATUS_SUCCESS)
    return st;
  return api->layoutSet(*out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                        &stride, sizeof stride);
}

} // namespace

int create_descriptors(const LtApi *api, const LtProblem &p,
                       const Alignment &al, uint64_t workspace,
                       Descriptors &out, std::string &what) {
  Descriptors d;
  cublasStatus_t st;
  auto failed = [&](const char *call) {
    what = call;
    destroy_descriptors(api, d);
    return (int)st;
  };
  cublasLtMatmulDesc_t md = nullptr;
  if ((st = api->descCreate(&md, CUBLAS_COMPUTE_32F, CUDA_R_32F)) !=
      CUBLAS_STATUS_SUCCESS)
    return failed("cublasLtMatmulDescCreate");
  d.matmul = md;
  // A stand-in bias address with the key's alignment (never dereferenced).
  const void *bias = reinterpret_cast<const void *>(
      (uintptr_t(1) << 20) | (uintptr_t)al.bias);
  if ((st = set_desc(api, md, p, bias)) != CUBLAS_STATUS_SUCCESS)
    return failed("cublasLtMatmulDescSetAttribute");
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
  st = create_layout(api, &la, p.dtype, p.a, p.count, p.a_stride);
  d.a = la;
  if (st != CUBLAS_STATUS_SUCCESS)
    return failed("the layout of A (cublasLtMatrixLayoutCreate / "
                  "SetAttribute)");
  st = create_layout(api, &lb, p.dtype, p.b, p.count, p.b_stride);
  d.b = lb;
  if (st != CUBLAS_STATUS_SUCCESS)
    return failed("the layout of B (cublasLtMatrixLayoutCreate / "
                  "SetAttribute)");
  st = create_layout(api, &ld, p.dtype, p.d, p.count, p.d_stride);
  d.d = ld;
  if (st != CUBLAS_STATUS_SUCCESS)
    return failed("the layout of D (cublasLtMatrixLayoutCreate / "
                  "SetAttribute)");
  cublasLtMatmulPreference_t pref = nullptr;
  if ((st = api->prefCreate(&pref)) != CUBLAS_STATUS_SUCCESS)
    return failed("cublasLtMatmulPreferenceCreate");
  d.pref = pref;
  const uint32_t aa = (uint32_t)al.a, ab = (uint32_t)al.b,
                 ad = (uint32_t)al.d;
  if ((st = api->prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                         &workspace, sizeof workspace)) !=
          CUBLAS_STATUS_SUCCESS ||
      (st = api->prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aa,
                         sizeof aa)) != CUBLAS_STATUS_SUCCESS ||
      (st = api->prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ab,
                         sizeof ab)) != CUBLAS_STATUS_SUCCESS ||
      (st = api->prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ad,
                         sizeof ad)) != CUBLAS_STATUS_SUCCESS ||
      (st = api->prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ad,
                         sizeof ad)) != CUBLAS_STATUS_SUCCESS)
    return failed("cublasLtMatmulPreferenceSetAttribute");
  out = d;
  return CUBLAS_STATUS_SUCCESS;
}

void destroy_descriptors(const LtApi *api, Descriptors &d) {
  if (d.pref)
    api->prefDestroy(static_cast<cublasLtMatmulPreference_t>(d.pref));
  for (void *l : {d.a, d.b, d.d})
    if (l)
      api->layoutDestroy(static_cast<cublasLtMatrixLayout_t>(l));
  if (d.matmul)
    api->descDestroy(static_cast<cublasLtMatmulDesc_t>(d.matmul));
  d = Descriptors{};
}

int init_call_desc(const LtApi *api, const LtProblem &p, const void *bias,
                   void *storage, size_t size) {
  auto desc = static_cast<cublasLtMatmulDesc_t>(storage);
  cublasStatus_t st =
      api->descInit(desc, size, CUBLAS_COMPUTE_32F, CUDA_R_32F);
  if (st == CUBLAS_STATUS_SUCCESS)
    st = set_desc(api, desc, p, bias);
  return st;
}

void lt_fatal(const char *name, const char *what, int status) {
  fatal(name, "%s (cublasLt status %d)", what, status);
}

//===--- Plans ------------------------------------------------------------===//

namespace {

struct Plan {
  const LtApi *api;
  bool none = false; // cuBLASLt has no algorithm with this epilogue
  LtProblem problem;
  Descriptors desc; // pref destroyed once the algorithm is chosen
  cublasLtHandle_t handle;
  cublasLtMatmulAlgo_t algo;
  void *workspace;          // the device's, or null
  size_t workspace_bytes;   // what the algorithm may use of it
};

struct DeviceState {
  cublasLtHandle_t handle = nullptr;
  void *workspace = nullptr;
};

struct Cache {
  std::mutex mu; // guards both maps; a Plan is immutable once inserted
  std::map<int, DeviceState> devices;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

Cache &cache() {
  static Cache *c = new Cache; // never destroyed (see the top)
  return *c;
}

const char *dtype_name(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F16:
    return "F16";
  case DITC_RT_BF16:
    return "BF16";
  default:
    return "F32";
  }
}

std::string describe(const LtProblem &p, const Alignment &al) {
  char buf[320];
  snprintf(buf, sizeof buf,
           "%s m=%lld k=%lld n=%lld%s%s, %lld matrices a call (strides A %lld "
           "B %lld D %lld), alignment A %lld B %lld D %lld",
           dtype_name(p.dtype), (long long)p.d.cols, (long long)p.b.rows,
           (long long)p.d.rows, p.trans_a ? " transposed" : "",
           p.bias ? (p.gelu ? " with bias and GELU" : " with bias")
                  : (p.gelu ? " with GELU" : ""),
           (long long)p.count,
           (long long)p.a_stride, (long long)p.b_stride,
           (long long)p.d_stride, (long long)al.a, (long long)al.b,
           (long long)al.d);
  return buf;
}

// True when a capture may be under way on `stream` (or on another stream in
// a mode that forbids what we would do): no cudaMalloc then.
bool capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  const cudaError_t err = cudaStreamIsCapturing(stream, &status);
  if (err != cudaSuccess) {
    (void)cudaGetLastError(); // ours: not for the next launch to report
    return true;
  }
  return status != cudaStreamCaptureStatusNone;
}

int current_device(const char *name) {
  int device = 0;
  const cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess)
    fatal(name, "cudaGetDevice failed: %s (%s)", cudaGetErrorString(err),
          cudaGetErrorName(err));
  return device;
}

// The plan of (device, p, al), built if new; null where cuBLASLt has no
// algorithm for p's epilogue (bias, GELU), which the caller then runs
// without it (remembered, so the heuristic is asked once).
const Plan *get_plan(const char *name, int device, const LtProblem &p,
                     const Alignment &al, cudaStream_t stream) {
  Cache &c = cache();
  const PlanKey key = plan_key(device, p, al);
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.plans.find(key);
  if (it != c.plans.end())
    return it->second->none ? nullptr : it->second.get();

  std::string why;
  const LtApi *api = lt_api(why);
  if (!api)
    fatal(name, "%s", why.c_str());
  DeviceState &dev = c.devices[device];
  if (!dev.handle) {
    cublasLtHandle_t h = nullptr;
    const cublasStatus_t st = api->create(&h);
    if (st != CUBLAS_STATUS_SUCCESS)
      lt_fatal(name, "cublasLtCreate failed", st);
    dev.handle = h;
  }
  if (!dev.workspace && !capturing(stream)) {
    void *ws = nullptr;
    const cudaError_t err = cudaMalloc(&ws, kWorkspaceBytes);
    if (err != cudaSuccess)
      fatal(name, "cannot allocate the %llu MiB cuBLASLt workspace: %s",
            (unsigned long long)(kWorkspaceBytes >> 20),
            cudaGetErrorString(err));
    dev.workspace = ws;
  }

  auto plan = std::make_unique<Plan>();
  plan->api = api;
  plan->problem = p;
  plan->handle = dev.handle;
  plan->workspace = dev.workspace;
  const uint64_t ws_bytes = dev.workspace ? kWorkspaceBytes : 0;
  std::string what;
  int st = create_descriptors(api, p, al, ws_bytes, plan->desc, what);
  if (st != CUBLAS_STATUS_SUCCESS)
    lt_fatal(name, ("cannot describe " + describe(p, al) + ": " + what +
                    " failed")
                       .c_str(),
             st);
  Descriptors &d = plan->desc;
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const auto layout = [](void *l) {
    return static_cast<cublasLtMatrixLayout_t>(l);
  };
  st = api->heuristic(dev.handle, static_cast<cublasLtMatmulDesc_t>(d.matmul),
                      layout(d.a), layout(d.b), layout(d.d), layout(d.d),
                      static_cast<cublasLtMatmulPreference_t>(d.pref), 1,
                      &result, &found);
  if (st != CUBLAS_STATUS_SUCCESS)
    lt_fatal(name,
             ("cublasLtMatmulAlgoGetHeuristic failed for " + describe(p, al))
                 .c_str(),
             st);
  api->prefDestroy(static_cast<cublasLtMatmulPreference_t>(d.pref));
  d.pref = nullptr;
  if (found < 1 || result.state != CUBLAS_STATUS_SUCCESS) {
    if (!p.bias && !p.gelu)
      lt_fatal(name, ("no cuBLASLt algorithm for " + describe(p, al)).c_str(),
               found < 1 ? CUBLAS_STATUS_NOT_SUPPORTED : result.state);
    plan->none = true;
    c.plans.emplace(key, std::move(plan));
    return nullptr;
  }
  plan->algo = result.algo;
  plan->workspace_bytes = ws_bytes;
  const Plan *ref = plan.get();
  c.plans.emplace(key, std::move(plan));
  return ref;
}

// DITC_CUBLASLT_EPILOGUE=0: no bias or GELU epilogue is asked of cuBLASLt
// (the products alone, then the bias and activation kernels), as where it
// has no algorithm with them; for debugging and for testing that path.
bool epilogues_allowed() {
  static const bool allowed = [] {
    const char *v = std::getenv("DITC_CUBLASLT_EPILOGUE");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return allowed;
}

// The plan for p, or for p without its epilogue (cleared in p) where
// cuBLASLt has none with it or epilogues are off.
const Plan &plan_for(const char *name, int device, LtProblem &p,
                     const Alignment &al, cudaStream_t stream) {
  if (!epilogues_allowed())
    p.bias = p.gelu = false;
  if (const Plan *plan = get_plan(name, device, p, al, stream))
    return *plan;
  p.bias = p.gelu = false;
  return *get_plan(name, device, p, al, stream);
}

// left = x / a, right = W / b.
void run(const char *name, const Request &r, const void *left,
         const void *right, const void *bias, void *out) {
  const Batch batch = collapse_batch(r);
  if (r.m == 0 || r.n == 0 || batch.count == 0)
    return;
  const int64_t es = elem_size(r.dtype);
  cudaStream_t stream = static_cast<cudaStream_t>(ditc_cu_get_stream());
  // An activation cuBLASLt has no epilogue for, over the stored result.
  const auto activate = [&](bool fused) {
    if (r.activation != DITC_RT_ACTIVATION_NONE && !fused)
      ditc_cu_unary(r.activation, r.dtype, out, out, batch.count * r.m * r.n);
  };
  if (r.k == 0) { // an empty sum: the bias rows, or zeros
    if (bias) {
      const int64_t shape[2] = {r.m, r.n}, src[2] = {0, 1},
                    dst[2] = {r.n, 1};
      ditc_cu_strided_copy(es, bias, 0, src, out, dst, shape, 2);
    } else {
      const cudaError_t err = cudaMemsetAsync(
          out, 0, (size_t)(batch.count * r.m * r.n * es), stream);
      if (err != cudaSuccess)
        fatal(name, "cudaMemsetAsync failed: %s", cudaGetErrorString(err));
    }
    return activate(false);
  }
  const Issue is = issue_batch(batch);
  LtProblem p = map_problem(r, is);
  const Alignment al = call_alignment(p, is, left, right, bias, out);
  const Plan &plan = plan_for(name, current_device(name), p, al, stream);

  const LtApi *api = plan.api;
  cublasLtMatmulDesc_t desc = static_cast<cublasLtMatmulDesc_t>(
      plan.desc.matmul);
  cublasLtMatmulDescOpaque_t local;
  if (p.bias) {
    const int st = init_call_desc(api, p, bias, &local, sizeof local);
    if (st != CUBLAS_STATUS_SUCCESS)
      lt_fatal(name, "cannot set up the bias descriptor", st);
    desc = &local;
  }
  const float alpha = 1.f, beta = 0.f;
  const auto layout = [](void *l) {
    return static_cast<cublasLtMatrixLayout_t>(l);
  };
  const char *l = static_cast<const char *>(left);
  const char *w = static_cast<const char *>(right);
  char *o = static_cast<char *>(out);
  for (int64_t call = 0; call < is.calls; ++call) {
    const Offsets off = call_offsets(is, call);
    void *d = o + off.out * es;
    const cublasStatus_t st = api->matmul(
        plan.handle, desc, &alpha, w + off.right * es, layout(plan.desc.a),
        l + off.left * es, layout(plan.desc.b), &beta, d, layout(plan.desc.d),
        d, layout(plan.desc.d), &plan.algo, plan.workspace,
        plan.workspace_bytes, stream);
    if (st != CUBLAS_STATUS_SUCCESS)
      lt_fatal(name, "cublasLtMatmul failed", st);
  }
  if (r.bias && !p.bias) { // the epilogue's bias, over the stored product
    const int64_t shape[2] = {batch.count * r.m, r.n}, rows[2] = {r.n, 1},
                  bias_rows[2] = {0, 1};
    ditc_cu_binary(DITC_RT_BINARY_ADD, r.dtype, out, rows, bias, bias_rows,
                   out, shape, 2);
  }
  activate(p.gelu);
}

} // namespace
} // namespace gemm
} // namespace ditc_cu

#pragma GCC visibility pop

using namespace ditc_cu::gemm;

extern "C" {

void ditc_cu_linear(int32_t dtype, const void *x, const void *w,
                    const void *bias, void *y, int64_t m, int64_t k, int64_t n,
                    int32_t transpose_w, int32_t activation) {
  const char *name = "linear";
  check_args(name, dtype, m, k, n, 0, nullptr, nullptr, nullptr);
  check_activation(name, activation);
  run(name,
      linear_request(dtype, m, k, n, transpose_w != 0, bias != nullptr,
                     activation),
      x, w, bias, y);
}

void ditc_cu_matmul(int32_t dtype, const void *a, const void *b, void *c,
                    int64_t m, int64_t k, int64_t n, int32_t batch_rank,
                    const int64_t *batch_shape,
                    const int64_t *a_batch_strides,
                    const int64_t *b_batch_strides) {
  const char *name = "matmul";
  check_args(name, dtype, m, k, n, batch_rank, batch_shape, a_batch_strides,
             b_batch_strides);
  run(name,
      matmul_request(dtype, m, k, n, batch_rank, batch_shape,
                     a_batch_strides, b_batch_strides),
      a, b, nullptr, c);
}

void ditc_cu_gemm_prepare(int32_t dtype, int64_t m, int64_t k, int64_t n,
                          int32_t transpose_w, int32_t has_bias,
                          int32_t activation, int32_t batch_rank,
                          const int64_t *batch_shape,
                          const int64_t *a_batch_strides,
                          const int64_t *b_batch_strides) {
  const char *name = "gemm_prepare";
  check_args(name, dtype, m, k, n, batch_rank, batch_shape, a_batch_strides,
             b_batch_strides);
  check_activation(name, activation);
  Request r = matmul_request(dtype, m, k, n, batch_rank, batch_shape,
                             a_batch_strides, b_batch_strides);
  r.transpose_w = transpose_w != 0;
  r.bias = has_bias != 0;
  r.activation = activation;
  const Batch batch = collapse_batch(r);
  if (m == 0 || n == 0 || k == 0 || batch.count == 0)
    return; // no cuBLASLt call
  const Issue is = issue_batch(batch);
  LtProblem p = map_problem(r, is);
  // Operands at 256-byte aligned bases (cudaMalloc's): only the strides
  // lower the alignment.
  const Alignment al = call_alignment(p, is, nullptr, nullptr, nullptr,
                                      nullptr);
  plan_for(name, current_device(name), p, al,
           static_cast<cudaStream_t>(ditc_cu_get_stream()));
}

} // extern "C"
