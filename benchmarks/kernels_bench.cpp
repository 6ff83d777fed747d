//===- kernels_bench.cpp - CPU kernel benchmarks (Google Benchmark) ------===//
//
// Not a test: timings of the runtime kernels on the shapes a DiT (PixArt-
// alpha, hidden 1152, 16 heads of 72) runs, with GFLOP/s or GB/s counters.
//
//   build/bin/ditc-kernels-bench --benchmark_repetitions=10 \
//       --benchmark_report_aggregates_only=true
//
// Each benchmark also reports the minimum over the repetitions ("_min"),
// the least disturbed figure on a shared machine.
//
// Environment: DITC_RT_ISA=generic|avx2|avx512 picks the CPU code path,
// OMP_NUM_THREADS (or DITC_BENCH_THREADS) the threads.
//
//===----------------------------------------------------------------------===//
#include "ditc/runtime/ditc_kernels.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <random>
#include <vector>

namespace {

std::vector<float> randomVec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto &x : v)
    x = d(rng);
  return v;
}

double minimum(const std::vector<double> &v) {
  return *std::min_element(v.begin(), v.end());
}

void setGflops(benchmark::State &state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
void setGbytes(benchmark::State &state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(
      bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// y[m,n] = x[m,k] W^T + b, W [n,k] (PyTorch layout) or W [k,n].
void BM_Linear(benchmark::State &state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const int32_t tw = (int32_t)state.range(3);
  auto x = randomVec(m * k, 1), w = randomVec(k * n, 2), b = randomVec(n, 3);
  std::vector<float> y(m * n);
  for (auto _ : state) {
    ditc_rt_linear_f32(x.data(), w.data(), b.data(), y.data(), m, k, n, tw,
                       DITC_RT_ACTIVATION_NONE);
    benchmark::DoNotOptimize(y.data());
  }
  setGflops(state, 2.0 * m * k * n);
  setGbytes(state, 4.0 * (m * k + k * n + n + m * n));
}
BENCHMARK(BM_Linear)
    ->ArgNames({"m", "k", "n", "transpose_w"})
    ->Args({4096, 1152, 1152, 1})
    ->Args({4096, 1152, 1152, 0})
    ->Args({4096, 1152, 4608, 1})
    // A DiT-XL block's adaLN modulation (1152 -> 6 x 1152) on the rows of
    // a batch: with a [N, K] weight 1 to 4 rows go to linear_rows_f32, 8 to
    // oneDNN's matmul; a [K, N] weight stays with oneDNN's sgemm.
    ->Args({1, 1152, 6912, 1})
    ->Args({2, 1152, 6912, 1})
    ->Args({4, 1152, 6912, 1})
    ->Args({8, 1152, 6912, 1})
    ->Args({2, 1152, 6912, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

// q, k, v [1, H, S, D], or with layout 15 (DITC_RT_SEQ_MAJOR_*) all four
// tensors [1, S, H, D] (attention_layout_f32: heads where the projections
// put them); FLOPs counted as 4*H*S*S*D (QK^T and PV), halved when causal.
void BM_Attention(benchmark::State &state) {
  const int64_t H = state.range(0), S = state.range(1), D = state.range(2);
  const int32_t causal = (int32_t)state.range(3);
  const int32_t layout = (int32_t)state.range(4);
  auto q = randomVec(H * S * D, 1), k = randomVec(H * S * D, 2),
       v = randomVec(H * S * D, 3);
  std::vector<float> out(H * S * D);
  for (auto _ : state) {
    if (layout)
      ditc_rt_attention_layout_f32(q.data(), k.data(), v.data(), nullptr, 0, nullptr,
                                   out.data(), nullptr, 1, H, H, S, S, D, D,
                                   1.f / std::sqrt((float)D), causal, 0, 0, 0, layout);
    else
      ditc_rt_attention_f32(q.data(), k.data(), v.data(), nullptr, 0, nullptr,
                            out.data(), 1, H, H, S, S, D, D,
                            1.f / std::sqrt((float)D), causal);
    benchmark::DoNotOptimize(out.data());
  }
  setGflops(state, 4.0 * H * S * S * D * (causal ? 0.5 : 1.0));
}
BENCHMARK(BM_Attention)
    ->ArgNames({"H", "S", "D", "causal", "layout"})
    ->Args({16, 1024, 72, 0, 0})
    ->Args({16, 1024, 72, 0, 15})
    ->Args({16, 1024, 72, 0, 9})
    ->Args({16, 1024, 72, 0, 6})
    ->Args({16, 4096, 72, 0, 0})
    ->Args({16, 4096, 72, 0, 15})
    ->Args({16, 4096, 72, 0, 9})
    ->Args({16, 4096, 72, 0, 6})
    ->Args({16, 1024, 72, 1, 0})
    ->Args({32, 2048, 128, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

// What Ring attention computes on one rank, without its exchange: q
// [B, Sq, H, D] (all four tensors seq-major, layout 15, as a ring's in a
// compiled plan) against Sk keys in P blocks of Sk / P, each block attended
// with its log-sum-exp (attention_layout_f32, global key offsets) and
// merged into the running result (attention_merge_f32). P = 1 is one
// attention over every key. The DiT block's ring=2 rank is B 2, Sq 512,
// Sk 1024, P 2; its cfg=2 rank, the same FLOPs, is B 1, Sq 1024, P 1.
void BM_AttentionBlocks(benchmark::State &state) {
  const int64_t B = state.range(0), H = state.range(1), Sq = state.range(2),
                Sk = state.range(3), D = state.range(4), P = state.range(5);
  const int64_t n = Sk / P; // keys per block
  auto q = randomVec(B * Sq * H * D, 1);
  std::vector<std::vector<float>> k, v; // each block's [B, n, H, D]
  for (int64_t p = 0; p < P; ++p) {
    k.push_back(randomVec(B * n * H * D, 2 + 2 * p));
    v.push_back(randomVec(B * n * H * D, 3 + 2 * p));
  }
  const int64_t rows = B * Sq * H;
  std::vector<float> out(rows * D), part(rows * D), lse(rows), partLse(rows);
  const float scale = 1.f / std::sqrt((float)D);
  for (auto _ : state) {
    for (int64_t p = 0; p < P; ++p) {
      const bool first = p == 0;
      ditc_rt_attention_layout_f32(q.data(), k[p].data(), v[p].data(), nullptr, 0, nullptr,
                                   first ? out.data() : part.data(),
                                   first ? lse.data() : partLse.data(), B, H, H, Sq, n, D,
                                   D, scale, 0, 0, p * n, 0, 15);
      if (!first)
        ditc_rt_attention_merge_f32(out.data(), lse.data(), part.data(), partLse.data(),
                                    rows, D);
    }
    benchmark::DoNotOptimize(out.data());
  }
  setGflops(state, 4.0 * B * H * Sq * Sk * D);
}
BENCHMARK(BM_AttentionBlocks)
    ->ArgNames({"B", "H", "Sq", "Sk", "D", "P"})
    ->Args({1, 16, 1024, 1024, 72, 1})
    ->Args({2, 16, 512, 1024, 72, 1})
    ->Args({2, 16, 512, 1024, 72, 2})
    ->Args({1, 16, 1024, 1024, 72, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

// The unfused baseline for the row above: per head, scores = q k^T with
// oneDNN sgemm, row softmax over the materialised [S, S] scores, then
// P v with sgemm (what an attention built from MatMul + Softmax does).
void BM_AttentionUnfusedSgemm(benchmark::State &state) {
  const int64_t H = state.range(0), S = state.range(1), D = state.range(2);
  auto q = randomVec(H * S * D, 1), k = randomVec(H * S * D, 2),
       v = randomVec(H * S * D, 3);
  const float scale = 1.f / std::sqrt((float)D);
  for (float &x : q)
    x *= scale;
  std::vector<float> scores(S * S), out(H * S * D);
  for (auto _ : state) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t o = h * S * D;
      ditc_rt_linear_f32(q.data() + o, k.data() + o, nullptr, scores.data(), S,
                         D, S, /*transpose_w=*/1, DITC_RT_ACTIVATION_NONE);
      ditc_rt_softmax_f32(scores.data(), scores.data(), S, S, 1);
      ditc_rt_linear_f32(scores.data(), v.data() + o, nullptr,
                         out.data() + o, S, S, D, 0, DITC_RT_ACTIVATION_NONE);
    }
    benchmark::DoNotOptimize(out.data());
  }
  setGflops(state, 4.0 * H * S * S * D);
}
BENCHMARK(BM_AttentionUnfusedSgemm)
    ->ArgNames({"H", "S", "D"})
    ->Args({16, 1024, 72})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

// GQA decode: one query per head, 32 query heads over 8 kv heads.
void BM_AttentionDecode(benchmark::State &state) {
  const int64_t Sk = state.range(0), H = 32, Hkv = 8, D = 128;
  auto q = randomVec(H * D, 1), k = randomVec(Hkv * Sk * D, 2),
       v = randomVec(Hkv * Sk * D, 3);
  std::vector<float> out(H * D);
  for (auto _ : state) {
    ditc_rt_attention_f32(q.data(), k.data(), v.data(), nullptr, 0, nullptr,
                          out.data(), 1, H, Hkv, 1, Sk, D, D, 0.088f, 0);
    benchmark::DoNotOptimize(out.data());
  }
  setGbytes(state, 2.0 * Hkv * Sk * D * 4); // K and V read once
}
BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"Sk"})
    ->Arg(4096)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

// NCHW convolutions: a DiT patch embedding (4 -> 1152, 2x2 stride 2) and a
// VAE-style 3x3.
void BM_Conv2d(benchmark::State &state) {
  const int64_t C = state.range(0), M = state.range(1), HW = state.range(2),
                K = state.range(3), stride = state.range(4);
  const int64_t pad = K / 2 * (stride == 1), OHW = (HW + 2 * pad - K) / stride + 1;
  auto x = randomVec(C * HW * HW, 1), w = randomVec(M * C * K * K, 2),
       b = randomVec(M, 3);
  std::vector<float> y(M * OHW * OHW);
  for (auto _ : state) {
    ditc_rt_conv2d_f32(x.data(), w.data(), b.data(), y.data(), 1, C, HW, HW, M,
                       K, K, stride, stride, pad, pad, pad, pad, 1, 1, 1);
    benchmark::DoNotOptimize(y.data());
  }
  setGflops(state, 2.0 * M * C * K * K * OHW * OHW);
}
BENCHMARK(BM_Conv2d)
    ->ArgNames({"C", "M", "HW", "K", "stride"})
    ->Args({4, 1152, 128, 2, 2})
    ->Args({128, 128, 128, 3, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

void BM_LayerNorm(benchmark::State &state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  auto x = randomVec(rows * cols, 1), s = randomVec(cols, 2),
       b = randomVec(cols, 3);
  std::vector<float> y(rows * cols);
  for (auto _ : state) {
    ditc_rt_layer_norm_f32(x.data(), s.data(), b.data(), y.data(), rows, cols,
                           1e-6f);
    benchmark::DoNotOptimize(y.data());
  }
  setGbytes(state, 2.0 * rows * cols * 4);
}
BENCHMARK(BM_LayerNorm)
    ->ArgNames({"rows", "cols"})
    ->Args({4096, 1152})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

void BM_Softmax(benchmark::State &state) {
  const int64_t rows = state.range(0), len = state.range(1);
  auto x = randomVec(rows * len, 1);
  std::vector<float> y(rows * len);
  for (auto _ : state) {
    ditc_rt_softmax_f32(x.data(), y.data(), rows, len, 1);
    benchmark::DoNotOptimize(y.data());
  }
  setGbytes(state, 2.0 * rows * len * 4);
}
BENCHMARK(BM_Softmax)
    ->ArgNames({"rows", "len"})
    ->Args({16 * 1024, 1024})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

void BM_Gelu(benchmark::State &state) {
  const int64_t n = state.range(0);
  auto x = randomVec(n, 1);
  std::vector<float> y(n);
  for (auto _ : state) {
    ditc_rt_unary_f32((int32_t)state.range(1), x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  setGbytes(state, 2.0 * n * 4);
}
BENCHMARK(BM_Gelu)
    ->ArgNames({"n", "op"})
    ->Args({4096 * 4608, DITC_RT_UNARY_GELU_TANH})
    ->Args({4096 * 4608, DITC_RT_UNARY_GELU})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

// The head split of attention: [1, S, H, D] -> [1, H, S, D] (a transpose of
// two middle dims, rows of D contiguous), the head merge back (arg 2: the
// rows land a destination stride apart; copied in blocks of positions), and
// a plain 2-D transpose.
void BM_StridedCopy(benchmark::State &state) {
  const int64_t S = 4096, H = 16, D = 72;
  const int64_t kind = state.range(0);
  auto x = randomVec(S * H * D, 1);
  std::vector<float> y(S * H * D);
  std::vector<int64_t> shape, src, dst;
  if (kind == 0) { // out [H, S, D] from in [S, H, D]
    shape = {H, S, D};
    src = {D, H * D, 1};
    dst = {S * D, D, 1};
  } else if (kind == 2) { // out [S, H, D] from in [H, S, D]
    shape = {S, H, D};
    src = {D, S * D, 1};
    dst = {H * D, D, 1};
  } else { // out [H*D, S] from in [S, H*D]
    shape = {H * D, S};
    src = {1, H * D};
    dst = {S, 1};
  }
  for (auto _ : state) {
    ditc_rt_strided_copy(4, x.data(), 0, src.data(), y.data(), dst.data(),
                         shape.data(), (int32_t)shape.size());
    benchmark::DoNotOptimize(y.data());
  }
  setGbytes(state, 2.0 * S * H * D * 4);
}
BENCHMARK(BM_StridedCopy)
    ->ArgNames({"kind"})
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->ComputeStatistics("min", minimum);

} // namespace

int main(int argc, char **argv) {
  if (const char *t = std::getenv("DITC_BENCH_THREADS"))
    ditc_rt_set_num_threads(std::atoi(t));
  static const char *isas[] = {"generic", "avx2", "avx512", "avx2_w16"};
  int isa = ditc_rt_get_isa();
  benchmark::AddCustomContext("ditc_rt_isa",
                              isa >= 0 && isa < 4 ? isas[isa] : "?");
  benchmark::AddCustomContext("ditc_rt_threads",
                              std::to_string(ditc_rt_get_num_threads()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
