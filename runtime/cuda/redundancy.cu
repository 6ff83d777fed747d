//===- redundancy.cu - Redundancy probes and step caches (CUDA) ----------===//
//
// The GPU twins of precision.cpp's probe_change, cache_decide and
// cache_apply. The measure's sums (sum |x - prev|, sum |prev|, in double)
// come from one block striding over the tensor: deterministic, and once per
// probe or denoising step it is cheap next to the step. probe_change keeps
// everything on the stream (capturable); cache_decide brings the sums to the
// host and decides there (cache_rule.h, the CPU's code), so a library with a
// step cache runs kernel by kernel (DeviceMemory.cpp: no CUDA graph).
//
//===----------------------------------------------------------------------===//
#include "cache_rule.h"
#include "common.cuh"

namespace ditc_cu {
namespace {

constexpr int kSumThreads = 1024;

/// sums[0] = sum |x - prev|, sums[1] = sum |prev| over n elements, by one
/// block; with `count` (a probe's slot[2]) below 1 both are 0, and count is
/// then incremented.
template <class T>
__global__ void l1_sums_kernel(const T *x, const T *prev, int64_t n, double *sums,
                               double *count) {
  __shared__ double smem[32];
  double dn = 0, dd = 0;
  if (!count || *count >= 1)
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      double a = math::to_f32(x[i]), b = math::to_f32(prev[i]);
      dn += fabs(a - b);
      dd += fabs(b);
    }
  auto add = [](double p, double q) { return p + q; };
  dn = group_reduce(dn, add, 0.0, (int)blockDim.x, smem);
  dd = group_reduce(dd, add, 0.0, (int)blockDim.x, smem);
  if (threadIdx.x == 0) {
    sums[0] = dn;
    sums[1] = dd;
    if (count)
      *count += 1;
  }
}

void l1_sums(const char *name, int32_t dtype, const void *x, const void *prev, int64_t n,
             double *sums, double *count) {
  dispatch_float(name, dtype, [&](auto t) {
    using T = decltype(t);
    launch(l1_sums_kernel<T>, dim3(1), dim3(kSumThreads), static_cast<const T *>(x),
           static_cast<const T *>(prev), n, sums, count);
  });
  check_launch(name);
}

size_t bytes_of(int32_t dtype, int64_t n) { return (size_t)n * (dtype == DITC_RT_F32 ? 4 : 2); }

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" void ditc_cu_probe_change(int32_t dtype, const void *x, void *prev, int64_t n,
                                     double *slot) {
  if (n < 0)
    fatal("probe_change", "n %lld < 0", (long long)n);
  l1_sums("probe_change", dtype, x, prev, n, slot, slot + 2);
  if (cudaError_t e = cudaMemcpyAsync(prev, x, bytes_of(dtype, n), cudaMemcpyDeviceToDevice,
                                      stream());
      e != cudaSuccess)
    fatal("probe_change", "cannot keep the tensor: %s", cudaGetErrorString(e));
}

extern "C" int32_t ditc_cu_cache_decide(int32_t kind, int32_t dtype, const void *x, void *ref,
                                        int64_t n, const double *params, int32_t num_params,
                                        double *slot, int32_t mode) {
  const char *name = "cache_decide";
  if (mode != ditc_cache::kTake && kind != 0 && kind != 1)
    fatal(name, "unknown kind %d", (int)kind);
  if (mode != ditc_cache::kNow && mode != ditc_cache::kAhead && mode != ditc_cache::kTake)
    fatal(name, "unknown mode %d", (int)mode);
  if (mode != ditc_cache::kTake && num_params < 3)
    fatal(name, "%d params: the threshold, the fraction computed first and a coefficient",
          (int)num_params);
  // The slot on the host (the sums after the rule's doubles), decided
  // there, back.
  constexpr int kSums = ditc_cache::kSlotDoubles;
  double host[kSums + 2];
  if (cudaError_t e = cudaMemcpyAsync(host, slot, sizeof host, cudaMemcpyDeviceToHost,
                                      stream());
      e != cudaSuccess || (e = cudaStreamSynchronize(stream())) != cudaSuccess)
    fatal(name, "cannot read the cache's state: %s", cudaGetErrorString(e));
  if (mode == ditc_cache::kTake) {
    bool skip = ditc_cache::take(host);
    if (cudaError_t e = cudaMemcpyAsync(slot, host, kSums * sizeof(double),
                                        cudaMemcpyHostToDevice, stream());
        e != cudaSuccess || (e = cudaStreamSynchronize(stream())) != cudaSuccess)
      fatal(name, "cannot write the cache's state: %s", cudaGetErrorString(e));
    return skip;
  }
  double d = NAN;
  if (host[0] >= 0 && host[5] != 0) { // a denoising step with a reference
    l1_sums(name, dtype, x, ref, n, slot + kSums, nullptr);
    if (cudaError_t e = cudaMemcpyAsync(host + kSums, slot + kSums, 2 * sizeof(double),
                                        cudaMemcpyDeviceToHost, stream());
        e != cudaSuccess || (e = cudaStreamSynchronize(stream())) != cudaSuccess)
      fatal(name, "cannot read the measure: %s", cudaGetErrorString(e));
    d = host[kSums] / host[kSums + 1];
  }
  ditc_cache::Decision r = mode == ditc_cache::kNow
                               ? ditc_cache::decide(kind, d, params, num_params, host)
                               : ditc_cache::decideAhead(kind, d, params, num_params, host);
  cudaError_t e = cudaMemcpyAsync(slot, host, kSums * sizeof(double), cudaMemcpyHostToDevice,
                                  stream());
  if (e == cudaSuccess && r.keepInput)
    e = cudaMemcpyAsync(ref, x, bytes_of(dtype, n), cudaMemcpyDeviceToDevice, stream());
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(stream()); // `host` goes out of scope
  if (e != cudaSuccess)
    fatal(name, "cannot write the cache's state: %s", cudaGetErrorString(e));
  return mode == ditc_cache::kNow && r.skip;
}

extern "C" void ditc_cu_cache_apply(int32_t dtype, int32_t skip, const void *computed,
                                    const void *base, void *residual, void *y, int64_t n) {
  int64_t shape[1] = {n}, strides[1] = {1};
  if (skip) {
    ditc_cu_binary(DITC_RT_BINARY_ADD, dtype, base, strides, residual, strides, y, shape, 1);
    return;
  }
  ditc_cu_binary(DITC_RT_BINARY_SUB, dtype, computed, strides, base, strides, residual, shape,
                 1);
  if (y != computed)
    if (cudaError_t e = cudaMemcpyAsync(y, computed, bytes_of(dtype, n),
                                        cudaMemcpyDeviceToDevice, stream());
        e != cudaSuccess)
      fatal("cache_apply", "cannot copy the result: %s", cudaGetErrorString(e));
}
