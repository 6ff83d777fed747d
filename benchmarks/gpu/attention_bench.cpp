//===- attention_bench.cpp - Times ditc_cu_attention_layout on the GPU ----===//
//
// The attention kernel alone, on the shapes of the full-size models, for
// benchmarks/gpu/time_attention.py to set beside PyTorch's SDPA (the GPU
// issue's goal: attention at >= 90% of SDPA's speed). Built as
// build/bin/ditc-cuda-attention-bench (test/Cuda/CMakeLists.txt) and run by
// benchmarks/gpu/check.sh without --quick.
//
// For each shape: random bf16 q / k / v (uniform in [-1, 1), fixed seed,
// filled on the host and copied; never zeros) and an output, in the layout
// the compiled models use -- [B, S, H, D] for q, k, v and out, all four
// DITC_RT_SEQ_MAJOR_* bits, as -ditc-legalize-runtime makes DiT / PixArt /
// SD3 / Flux attention call it -- plus PixArt once in [B, H, S, D] (layout
// 0) for comparison. Each runs twice: with the cuDNN path allowed
// (sdpa::set_mode(Auto), what DITC_CUDNN=auto does) and with the own kernel
// only (Mode::Off, DITC_CUDNN=0). sdpa::counters() says whether cuDNN
// really took the calls of the first. Timing: ditc_cu_set_stream on a
// stream of its own, `--warmup` calls, then `--repeats` times `iters`
// calls between two CUDA events; the median of the repeats' per-call times.
// iters is `--iters`, raised for the small shapes to about 1e12 FLOPs per
// repeat (at most 200).
//
// Output, one line per (shape, path), then one comparing the two outputs:
//
//   ATTN name=pixart layout=bshd path=cudnn B=2 H=16 Hkv=16 S=4096 D=72
//        causal=0 ms=0.812 tflops=190.4 iters=10 repeats=5 cudnn_calls=65/65
//   ATTN_DIFF name=pixart layout=bshd max_abs=0.0039
//
// (one line each; FLOPs 4*B*H*Sq*Skv*D, halved for causal). cudnn_calls is
// calls cuDNN ran / calls made; 0/N on the cudnn path means the own kernel
// ran them (no cuDNN, or cuDNN refused the problem). Then, for each
// non-causal seq-major shape, Ring attention's block on 2 and 4 ranks
// (S / P queries and keys, with the lse; cuDNN path):
//
//   RING_BLOCK name=flux ring=4 B=1 H=24 S=1152 D=128 ms=0.051
//        tflops=399.0 rate_vs_whole=0.78 cudnn_calls=205/205 Exit 77 with one line
// "no GPU: ..." where there is none; 1 on a CUDA error.
//
//   ditc-cuda-attention-bench [--iters N] [--repeats N] [--warmup N]
//                             [--only NAME[,NAME...]] [--paths cudnn,own]
//
//===----------------------------------------------------------------------===//
#include "cuda_runtime_api.h" // ditc_cu_attention_layout, ditc_cu_set_stream
#include "cudnn_graphs.h"       // sdpa::set_mode, sdpa::counters
#include "kernel_math.h"        // the bf16 conversions the kernels use

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using ditc_cu::math::bf16_bits_to_f32;
using ditc_cu::math::f32_to_bf16_bits;

struct Shape {
  const char *name;
  int64_t B, H, Hkv, S, D;
  bool causal;
  int32_t layout;
};

constexpr int32_t kSeqMajor = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                              DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;

const Shape kShapes[] = {
    {"dit", 2, 16, 16, 256, 72, false, kSeqMajor},     // DiT-XL/2 256px b2
    {"pixart", 2, 16, 16, 4096, 72, false, kSeqMajor}, // PixArt-alpha 1024 b2
    {"pixart", 2, 16, 16, 4096, 72, false, 0},         // the same, [B,H,S,D]
    {"sd3", 2, 24, 24, 4429, 64, false, kSeqMajor},    // SD3-medium 1024 joint
    {"flux", 1, 24, 24, 4608, 128, false, kSeqMajor},  // Flux 1024px b1
    {"llama3-8b", 1, 32, 8, 4096, 128, true, kSeqMajor}, // prefill, GQA
};

#define CHECK_CUDA(expr)                                                       \
  do {                                                                         \
    cudaError_t e_ = (expr);                                                   \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "ditc-cuda-attention-bench: %s: %s\n", #expr,      \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

// A device buffer of n bf16 values, random (uniform in [-1, 1), no zeros)
// when seed != 0, else left as cudaMalloc gives it.
struct Buffer {
  void *p = nullptr;
  size_t n = 0;
  Buffer(size_t count, uint32_t seed) : n(count) {
    CHECK_CUDA(cudaMalloc(&p, n * 2));
    if (!seed)
      return;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    std::vector<uint16_t> host(n);
    for (auto &h : host) {
      do
        h = f32_to_bf16_bits(dist(rng));
      while ((h & 0x7fff) == 0);
    }
    CHECK_CUDA(cudaMemcpy(p, host.data(), n * 2, cudaMemcpyHostToDevice));
  }
  ~Buffer() { cudaFree(p); }
  std::vector<uint16_t> download() const {
    std::vector<uint16_t> host(n);
    CHECK_CUDA(cudaMemcpy(host.data(), p, n * 2, cudaMemcpyDeviceToHost));
    return host;
  }
};

struct Options {
  int iters = 10, repeats = 5, warmup = 3;
  std::vector<std::string> only;
  bool cudnn = true, own = true;
};

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = std::min(s.find(',', at), s.size());
    if (comma > at)
      out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: ditc-cuda-attention-bench [--iters N] [--repeats N] "
               "[--warmup N] [--only NAME[,NAME...]] [--paths cudnn,own]\n"
               "names: dit pixart sd3 flux llama3-8b\n");
  std::exit(rc);
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help")
      usage(0);
    if (i + 1 >= argc)
      usage(64);
    const std::string v = argv[++i];
    if (a == "--iters")
      o.iters = std::max(1, std::atoi(v.c_str()));
    else if (a == "--repeats")
      o.repeats = std::max(1, std::atoi(v.c_str()));
    else if (a == "--warmup")
      o.warmup = std::max(1, std::atoi(v.c_str())); // builds the plan
    else if (a == "--only")
      o.only = split(v);
    else if (a == "--paths") {
      o.cudnn = o.own = false;
      for (const std::string &p : split(v)) {
        if (p == "cudnn")
          o.cudnn = true;
        else if (p == "own")
          o.own = true;
        else
          usage(64);
      }
    } else
      usage(64);
  }
  return o;
}

double flops(const Shape &s) {
  const double f = 4.0 * s.B * s.H * (double)s.S * (double)s.S * s.D;
  return s.causal ? f / 2 : f;
}

struct Timing {
  double ms = 0;
  int iters = 0;
  uint64_t cudnn_ran = 0, calls = 0;
};

// A block of Ring attention over P ranks (ring > 1): S / P queries
// attended to the S / P keys of another rank (kv_offset S / P), with the
// log-sum-exp the merge needs (f32, in out's row order), as
// runtime/cuda/ring_attention.cpp calls it.
struct Block {
  int64_t ring = 1;
  float *lse = nullptr;
  int64_t len(const Shape &s) const { return s.S / ring; }
  double flops(const Shape &s) const {
    return ring > 1 ? 4.0 * s.B * s.H * (double)len(s) * (double)len(s) * s.D
                    : ::flops(s);
  }
};

Timing timeShape(const Shape &s, const Options &o, const Buffer &q,
                 const Buffer &k, const Buffer &v, Buffer &out,
                 cudaStream_t stream, const Block &blk = Block()) {
  const float scale = 1.f / std::sqrt((float)s.D);
  const int64_t len = blk.len(s);
  auto call = [&] {
    ditc_cu_attention_layout(DITC_RT_BF16, q.p, k.p, v.p, nullptr,
                             DITC_RT_MASK_NONE, nullptr, out.p, blk.lse, s.B,
                             s.H, s.Hkv, len, len, s.D, s.D, scale,
                             s.causal ? 1 : 0, 0, blk.ring > 1 ? len : 0, 0,
                             s.layout);
  };
  Timing t;
  // About 1e12 FLOPs per repeat for the small shapes, at most 200 calls.
  t.iters =
      std::max(o.iters, (int)std::min(200.0, std::ceil(1e12 / blk.flops(s))));
  const uint64_t ran0 = ditc_cu::sdpa::counters().ran;
  for (int i = 0; i < o.warmup; ++i)
    call();
  CHECK_CUDA(cudaStreamSynchronize(stream));
  CHECK_CUDA(cudaGetLastError());
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  std::vector<double> per_call;
  for (int r = 0; r < o.repeats; ++r) {
    CHECK_CUDA(cudaEventRecord(start, stream));
    for (int i = 0; i < t.iters; ++i)
      call();
    CHECK_CUDA(cudaEventRecord(stop, stream));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    per_call.push_back(ms / t.iters);
  }
  CHECK_CUDA(cudaGetLastError());
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(per_call.begin(), per_call.end());
  const size_t n = per_call.size();
  t.ms = n % 2 ? per_call[n / 2] : (per_call[n / 2 - 1] + per_call[n / 2]) / 2;
  t.calls = (uint64_t)o.warmup + (uint64_t)o.repeats * t.iters;
  t.cudnn_ran = ditc_cu::sdpa::counters().ran - ran0;
  return t;
}

} // namespace

int main(int argc, char **argv) {
  const Options o = parse(argc, argv);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("no GPU: %s\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
    return 77;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::string why;
  const int64_t cudnn = ditc_cu::sdpa::built_with_frontend()
                            ? ditc_cu::sdpa::library_version(why)
                            : 0;
  if (!ditc_cu::sdpa::built_with_frontend())
    why = "the runtime was built without cudnn-frontend";
  std::printf("ATTN_DEVICE name=\"%s\" sm=%d%d cudnn=%lld%s%s\n", prop.name,
              prop.major, prop.minor, (long long)cudnn,
              cudnn ? "" : " why=", cudnn ? "" : why.c_str());
  std::fflush(stdout);

  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  ditc_cu_set_stream(stream);

  // The cuDNN path's rate per shape (TFLOP/s), for the ring blocks'.
  std::vector<std::pair<std::string, double>> whole;
  for (const Shape &s : kShapes) {
    if (!o.only.empty() &&
        std::find(o.only.begin(), o.only.end(), s.name) == o.only.end())
      continue;
    const size_t nq = (size_t)(s.B * s.H * s.S * s.D);
    const size_t nkv = (size_t)(s.B * s.Hkv * s.S * s.D);
    const Buffer q(nq, 1), k(nkv, 2), v(nkv, 3);
    Buffer out(nq, 0);
    const char *layout = s.layout ? "bshd" : "bhsd";
    std::vector<uint16_t> results[2];
    for (int p = 0; p < 2; ++p) {
      const bool use_cudnn = p == 0;
      if (use_cudnn ? !o.cudnn : !o.own)
        continue;
      ditc_cu::sdpa::set_mode(use_cudnn ? ditc_cu::sdpa::Mode::Auto
                                        : ditc_cu::sdpa::Mode::Off);
      CHECK_CUDA(cudaMemsetAsync(out.p, 0, nq * 2, stream));
      const Timing t = timeShape(s, o, q, k, v, out, stream);
      results[p] = out.download();
      std::printf("ATTN name=%s layout=%s path=%s B=%lld H=%lld Hkv=%lld "
                  "S=%lld D=%lld causal=%d ms=%.4f tflops=%.1f iters=%d "
                  "repeats=%d cudnn_calls=%llu/%llu\n",
                  s.name, layout, use_cudnn ? "cudnn" : "own", (long long)s.B,
                  (long long)s.H, (long long)s.Hkv, (long long)s.S,
                  (long long)s.D, s.causal ? 1 : 0, t.ms,
                  flops(s) / (t.ms * 1e-3) / 1e12, t.iters, o.repeats,
                  (unsigned long long)t.cudnn_ran,
                  (unsigned long long)t.calls);
      std::fflush(stdout);
      if (use_cudnn && s.layout == kSeqMajor)
        whole.emplace_back(s.name, flops(s) / (t.ms * 1e-3) / 1e12);
    }
    if (!results[0].empty() && !results[1].empty()) {
      double max_abs = 0;
      for (size_t i = 0; i < nq; ++i) {
        const double d = std::fabs((double)bf16_bits_to_f32(results[0][i]) -
                                   (double)bf16_bits_to_f32(results[1][i]));
        if (std::isnan(d)) {
          max_abs = NAN;
          break;
        }
        max_abs = std::max(max_abs, d);
      }
      std::printf("ATTN_DIFF name=%s layout=%s max_abs=%.4g\n", s.name, layout,
                  max_abs);
      std::fflush(stdout);
    }
  }
  // Ring attention's blocks (the cuDNN path; the lines time_attention.py
  // does not read): the time model charges them at the whole attention's
  // rate (docs/PROFILE.md), which rate_vs_whole checks.
  for (const auto &[name, rate] : whole) {
    const Shape &s = *std::find_if(std::begin(kShapes), std::end(kShapes),
                                   [&, n = name](const Shape &x) {
                                     return x.name == n && x.layout == kSeqMajor;
                                   });
    if (s.causal || !o.cudnn)
      continue;
    for (int64_t ring : {2, 4}) {
      Block blk;
      blk.ring = ring;
      const int64_t len = blk.len(s);
      const Buffer q((size_t)(s.B * s.H * len * s.D), 4),
          k((size_t)(s.B * s.Hkv * len * s.D), 5),
          v((size_t)(s.B * s.Hkv * len * s.D), 6);
      Buffer out((size_t)(s.B * s.H * len * s.D), 0);
      float *lse = nullptr;
      CHECK_CUDA(cudaMalloc(&lse, (size_t)(s.B * s.H * len) * 4));
      blk.lse = lse;
      ditc_cu::sdpa::set_mode(ditc_cu::sdpa::Mode::Auto);
      const Timing t = timeShape(s, o, q, k, v, out, stream, blk);
      const double tflops = blk.flops(s) / (t.ms * 1e-3) / 1e12;
      std::printf("RING_BLOCK name=%s ring=%lld B=%lld H=%lld S=%lld D=%lld "
                  "ms=%.4f tflops=%.1f rate_vs_whole=%.2f cudnn_calls=%llu/%llu\n",
                  s.name, (long long)ring, (long long)s.B, (long long)s.H,
                  (long long)len, (long long)s.D, t.ms, tflops, tflops / rate,
                  (unsigned long long)t.cudnn_ran,
                  (unsigned long long)t.calls);
      std::fflush(stdout);
      cudaFree(lse);
    }
  }
  ditc_cu_set_stream(nullptr);
  cudaStreamDestroy(stream);
  return 0;
}
