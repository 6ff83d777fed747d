// A linear layer's product cut into row chunks on oneDNN: dnnl_sgemm (what
// the CPU runtime calls) against the matmul primitive (created once per
// shape), 4096 rows in 1, 2, 4, 8 and 64 chunks (or the counts given), f32,
// 2 OpenMP threads. A count that does not divide 4096 runs chunks of
// ceil(4096 / count) rows, the last ending at row 4096 (ditc.chunk's uneven
// loop). The configurations run alternately, 9 rounds; medians.
// docs/BENCHMARKS.md, "AutoChunk".
//
//   g++ -O2 -fopenmp benchmarks/onednn_linear_rows.cpp -ldnnl -o /tmp/linear_rows
//   /tmp/linear_rows K N nk|kn [COUNT,COUNT,...]
//                                   (nk: weight [N, K], PyTorch's; kn: [K, N])
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace dnnl;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5 || (std::strcmp(argv[3], "nk") && std::strcmp(argv[3], "kn"))) {
    std::fprintf(stderr, "usage: %s K N nk|kn [COUNT,COUNT,...]\n", argv[0]);
    return 2;
  }
  const int64_t M = 4096, K = std::atoll(argv[1]), N = std::atoll(argv[2]);
  const bool nk = !std::strcmp(argv[3], "nk");
  omp_set_num_threads(2);
  std::vector<float> a(M * K), b(K * N), c(M * N);
  for (auto &x : a) x = std::rand() / float(RAND_MAX);
  for (auto &x : b) x = std::rand() / float(RAND_MAX);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  std::vector<int64_t> chunks = {1, 2, 4, 8, 64};
  if (argc == 5) {
    chunks.clear();
    for (const char *p = argv[4]; *p;) {
      char *end;
      int64_t c = std::strtoll(p, &end, 10);
      if (end == p || c < 1 || c > M) {
        std::fprintf(stderr, "bad count list '%s'\n", argv[4]);
        return 2;
      }
      chunks.push_back(c);
      p = *end == ',' ? end + 1 : end;
    }
  }
  const int n = (int)chunks.size();
  auto rowsOf = [&](int64_t ch) { return (M + ch - 1) / ch; };
  auto wei = memory::desc({K, N}, memory::data_type::f32,
                          nk ? memory::format_tag::ba : memory::format_tag::ab);
  std::vector<matmul> prims;
  for (int64_t ch : chunks) {
    int64_t m = rowsOf(ch);
    auto src = memory::desc({m, K}, memory::data_type::f32, memory::format_tag::ab);
    auto dst = memory::desc({m, N}, memory::data_type::f32, memory::format_tag::ab);
    prims.emplace_back(matmul::primitive_desc(matmul::desc(src, wei, dst), eng));
  }
  std::vector<std::vector<double>> t(2 * n);
  for (int round = 0; round < 9; ++round)
    for (int v = 0; v < 2 * n; ++v) {
      int64_t ch = chunks[v % n];
      int64_t m = rowsOf(ch);
      double start = now();
      for (int64_t i = 0; i < ch; ++i) {
        int64_t first = std::min(i * m, M - m);
        const float *ai = a.data() + first * K;
        float *ci = c.data() + first * N;
        if (v < n) {
          dnnl_sgemm('N', nk ? 'T' : 'N', m, N, K, 1.f, ai, K, b.data(), nk ? K : N, 0.f, ci, N);
        } else {
          auto src = memory::desc({m, K}, memory::data_type::f32, memory::format_tag::ab);
          auto dst = memory::desc({m, N}, memory::data_type::f32, memory::format_tag::ab);
          prims[v % n].execute(s, {{DNNL_ARG_SRC, memory(src, eng, const_cast<float *>(ai))},
                                   {DNNL_ARG_WEIGHTS, memory(wei, eng, b.data())},
                                   {DNNL_ARG_DST, memory(dst, eng, ci)}});
        }
      }
      s.wait();
      t[v].push_back(now() - start);
    }
  for (int v = 0; v < 2 * n; ++v) {
    std::sort(t[v].begin(), t[v].end());
    double med = t[v][t[v].size() / 2];
    std::printf("K=%lld N=%lld weight %s %-6s rows %5lld: %.3f s, %.1f GFLOP/s\n", (long long)K,
                (long long)N, nk ? "[N,K]" : "[K,N]", v < n ? "sgemm" : "matmul",
                (long long)rowsOf(chunks[v % n]), med, 2.0 * M * N * K / med / 1e9);
  }
}
