//===- GemmPlanTest.cpp - The host side of runtime/cuda/gemm.cpp ---------===//
//
// What ditc_cu_linear / ditc_cu_matmul decide on the host, without a GPU:
//  - the row-major -> column-major mapping, batch collapsing and the split
//    into strided-batched calls and a host loop: a naive reference reads the
//    operands exactly as the mapped cuBLASLt calls would (column-major
//    layouts, op(A), leading dimensions, batch strides, per-call offsets)
//    and must agree with the CPU runtime (ditc_rt_matmul_f32 /
//    ditc_rt_linear_f32) on random data, writing every output once, for
//    batch ranks 0 to 4 with broadcast, permuted and padded batch strides,
//    transpose on and off, with and without bias;
//  - plan keys and alignments;
//  - the cuBLASLt descriptors of a few problems, created with the dlopen()ed
//    library and read back (skipped, with the reason, when libcublasLt
//    cannot be loaded; creating descriptors needs no device);
//  - argument errors.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"
#include "gemm.h"

#include <cublasLt.h>
#include <dlfcn.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace ditc_cu::gemm;
using ditc_cuda_test::randomFloats;

namespace {

//===--- The naive column-major reference of the mapping ------------------===//

/// The output of `r` computed the way the mapped cuBLASLt calls read and
/// write memory: for every host-loop call and every matrix of its strided
/// batch, D(i, j) = sum_l op(A)(i, l) B(l, j) (+ bias[i]) with
/// A(i, l) at a[i + l * lda] (op N) or op(A)(i, l) = A(l, i) at
/// a[l + i * lda] (op T), B(l, j) at b[l + j * ldb], D(i, j) at
/// d[i + j * ldd], A = right, B = left, D = out, the operands' bases at
/// rightBase / leftBase of their buffers (negative strides read before).
/// Double accumulation;
/// absSum gets sum |A||B| (+ |bias|) per output, writes the number of times
/// each output element was written. Any index outside its buffer fails.
struct LtResult {
  std::vector<double> out, absSum;
  std::vector<int> writes;
};

LtResult ltReference(const Request &r, const std::vector<float> &left,
                     int64_t leftBase, const std::vector<float> &right,
                     int64_t rightBase, const std::vector<float> &bias,
                     size_t outSize) {
  const Batch batch = collapse_batch(r);
  const Issue is = issue_batch(batch);
  const LtProblem p = map_problem(r, is);
  LtResult res{std::vector<double>(outSize, NAN),
               std::vector<double>(outSize, 0.0), std::vector<int>(outSize)};
  // The shapes must chain: op(A) is rows(D) x rows(B), B is rows(B) x
  // cols(D); leading dimensions at least the rows.
  const int64_t opRows = p.trans_a ? p.a.cols : p.a.rows;
  const int64_t opCols = p.trans_a ? p.a.rows : p.a.cols;
  EXPECT_EQ(opRows, p.d.rows);
  EXPECT_EQ(opCols, p.b.rows);
  EXPECT_EQ(p.b.cols, p.d.cols);
  EXPECT_GE(p.a.ld, p.a.rows);
  EXPECT_GE(p.b.ld, p.b.rows);
  EXPECT_GE(p.d.ld, p.d.rows);
  EXPECT_GE(p.count, 1);
  EXPECT_EQ(is.calls * p.count, batch.count);
  if (p.bias) {
    EXPECT_EQ((int64_t)bias.size(), p.d.rows);
  }
  auto inRange = [](int64_t i, size_t n) { return i >= 0 && (size_t)i < n; };
  for (int64_t call = 0; call < is.calls; ++call) {
    const Offsets off = call_offsets(is, call);
    for (int64_t q = 0; q < p.count; ++q) {
      const int64_t aBase = rightBase + off.right + q * p.a_stride;
      const int64_t bBase = leftBase + off.left + q * p.b_stride;
      const int64_t dBase = off.out + q * p.d_stride;
      for (int64_t j = 0; j < p.d.cols; ++j) {
        for (int64_t i = 0; i < p.d.rows; ++i) {
          double s = 0, abs = 0;
          for (int64_t l = 0; l < p.b.rows; ++l) {
            const int64_t ai =
                aBase + (p.trans_a ? l + i * p.a.ld : i + l * p.a.ld);
            const int64_t bi = bBase + l + j * p.b.ld;
            if (!inRange(ai, right.size()) || !inRange(bi, left.size())) {
              ADD_FAILURE() << "operand index out of range: A " << ai << " / "
                            << right.size() << ", B " << bi << " / "
                            << left.size();
              return res;
            }
            s += (double)right[ai] * left[bi];
            abs += std::fabs((double)right[ai] * left[bi]);
          }
          if (p.bias) {
            s += bias[i];
            abs += std::fabs(bias[i]);
          }
          const int64_t di = dBase + i + j * p.d.ld;
          if (!inRange(di, outSize)) {
            ADD_FAILURE() << "output index out of range: " << di << " / "
                          << outSize;
            return res;
          }
          res.out[di] = s;
          res.absSum[di] = abs;
          ++res.writes[di];
        }
      }
    }
  }
  return res;
}

/// got (the CPU runtime, f32) against the reference: every element written
/// once, within the f32 summation bound (k + 2) 2^-24 sum |a||b|: the CPU
/// accumulates k products and a bias in f32 in some order, the reference in
/// double. A wrong mapping is off by O(1).
void expectMatches(const LtResult &ref, const std::vector<float> &got,
                   int64_t k, const std::string &what) {
  ASSERT_EQ(got.size(), ref.out.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    if (ref.writes[i] != 1) {
      ADD_FAILURE() << what << ": output " << i << " written "
                    << ref.writes[i] << " times";
      ++failures;
      continue;
    }
    const double tol = (double)(k + 2) * std::ldexp(1.0, -24) * ref.absSum[i];
    if (!(std::fabs(got[i] - ref.out[i]) <= tol)) {
      ADD_FAILURE() << what << ": output " << i << ": CPU " << got[i]
                    << ", mapped cuBLASLt reference " << ref.out[i];
      ++failures;
    }
  }
}

std::string shapeString(const Request &r) {
  std::string s = "m" + std::to_string(r.m) + " k" + std::to_string(r.k) +
                  " n" + std::to_string(r.n) +
                  (r.transpose_w ? " transposed" : "") +
                  (r.bias ? " bias" : "") + " batch [";
  for (int d = 0; d < r.batch_rank; ++d)
    s += (d ? "," : "") + std::to_string(r.batch_shape[d]);
  s += "] a strides [";
  for (int d = 0; d < r.batch_rank; ++d)
    s += (d ? "," : "") + std::to_string(r.left_strides[d]);
  s += "] b strides [";
  for (int d = 0; d < r.batch_rank; ++d)
    s += (d ? "," : "") + std::to_string(r.right_strides[d]);
  return s + "]";
}

/// Batch strides placing `matrix`-element matrices over `shape`: 0 where
/// `broadcast`, else dense in the dim order `order` (innermost last), with
/// `pad` elements between matrices. Returns the elements the buffer needs.
int64_t placeMatrices(const std::vector<int64_t> &shape,
                      const std::vector<bool> &broadcast,
                      const std::vector<int> &order, int64_t matrix,
                      int64_t pad, int64_t *strides) {
  int64_t stride = matrix + pad;
  for (int i = (int)order.size() - 1; i >= 0; --i) {
    const int d = order[i];
    if (broadcast[d]) {
      strides[d] = 0;
      continue;
    }
    strides[d] = stride;
    stride *= shape[d];
  }
  int64_t last = 0; // offset of the last matrix
  for (size_t d = 0; d < shape.size(); ++d)
    last += (shape[d] - 1) * strides[d];
  return last + matrix;
}

void checkMatmul(const Request &r, uint32_t seed) {
  SCOPED_TRACE(shapeString(r));
  // Offsets of the first and last matrices (strides may be negative).
  int64_t aLo = 0, aHi = 0, bLo = 0, bHi = 0, count = 1;
  for (int d = 0; d < r.batch_rank; ++d) {
    const int64_t la = (r.batch_shape[d] - 1) * r.left_strides[d];
    const int64_t lb = (r.batch_shape[d] - 1) * r.right_strides[d];
    (la < 0 ? aLo : aHi) += la;
    (lb < 0 ? bLo : bHi) += lb;
    count *= r.batch_shape[d];
  }
  std::vector<float> a =
      randomFloats(aHi - aLo + r.m * r.k, seed, -1.f, 1.f);
  std::vector<float> b =
      randomFloats(bHi - bLo + r.k * r.n, seed + 1, -1.f, 1.f);
  std::vector<float> c(count * r.m * r.n, NAN);
  ditc_rt_matmul_f32(a.data() - aLo, b.data() - bLo, c.data(), r.m, r.k, r.n,
                     r.batch_rank, r.batch_shape, r.left_strides,
                     r.right_strides);
  const LtResult ref = ltReference(r, a, -aLo, b, -bLo, {}, c.size());
  expectMatches(ref, c, r.k, "matmul");
}

void checkLinear(const Request &r, uint32_t seed) {
  SCOPED_TRACE(shapeString(r));
  std::vector<float> x = randomFloats(r.m * r.k, seed, -1.f, 1.f);
  std::vector<float> w = randomFloats(r.k * r.n, seed + 1, -1.f, 1.f);
  std::vector<float> bias =
      r.bias ? randomFloats(r.n, seed + 2, -1.f, 1.f) : std::vector<float>();
  std::vector<float> y(r.m * r.n, NAN);
  ditc_rt_linear_f32(x.data(), w.data(), r.bias ? bias.data() : nullptr,
                     y.data(), r.m, r.k, r.n, r.transpose_w,
                     DITC_RT_ACTIVATION_NONE);
  const LtResult ref = ltReference(r, x, 0, w, 0, bias, y.size());
  expectMatches(ref, y, r.k, "linear");
}

//===--- Batch collapsing and the call split --------------------------------===//

Request matmulOf(int64_t m, int64_t k, int64_t n,
                 std::vector<int64_t> shape, std::vector<int64_t> as,
                 std::vector<int64_t> bs) {
  return matmul_request(DITC_RT_F32, m, k, n, (int32_t)shape.size(),
                        shape.data(), as.data(), bs.data());
}

TEST(GemmBatch, ContiguousDimsCollapseIntoOneCall) {
  // [2,3,4] of contiguous 5x6 * 6x7 matrices: one call of 24.
  const Request r = matmulOf(5, 6, 7, {2, 3, 4}, {360, 120, 30},
                             {504, 168, 42});
  const Batch b = collapse_batch(r);
  EXPECT_EQ(b.rank, 1);
  EXPECT_EQ(b.count, 24);
  EXPECT_EQ(b.shape[0], 24);
  EXPECT_EQ(b.left[0], 30);
  EXPECT_EQ(b.right[0], 42);
  EXPECT_EQ(b.out[0], 35);
  const Issue is = issue_batch(b);
  EXPECT_EQ(is.count, 24);
  EXPECT_EQ(is.calls, 1);
  EXPECT_EQ(is.loop_rank, 0);
  const LtProblem p = map_problem(r, is);
  EXPECT_EQ(p.count, 24);
  EXPECT_EQ(p.a_stride, 42); // A is b
  EXPECT_EQ(p.b_stride, 30); // B is a
  EXPECT_EQ(p.d_stride, 35);
}

TEST(GemmBatch, BroadcastDimsMergeWithEachOther) {
  // b broadcast over both dims (0 = 0 * 3): still one call, b stride 0.
  const Request r = matmulOf(2, 3, 4, {2, 3}, {18, 6}, {0, 0});
  const Batch b = collapse_batch(r);
  ASSERT_EQ(b.rank, 1);
  EXPECT_EQ(b.shape[0], 6);
  EXPECT_EQ(b.right[0], 0);
  const Issue is = issue_batch(b);
  EXPECT_EQ(is.calls, 1);
  EXPECT_EQ(is.count, 6);
  EXPECT_EQ(is.right_stride, 0);
}

TEST(GemmBatch, InnerBroadcastNeedsALoop) {
  // a [2,3] contiguous, b broadcast over the inner dim only: one strided
  // batch cannot express it; the larger dim (3) is the strided one, the host
  // loops over the 2.
  const Request r = matmulOf(2, 3, 4, {2, 3}, {18, 6}, {12, 0});
  const Batch b = collapse_batch(r);
  ASSERT_EQ(b.rank, 2);
  const Issue is = issue_batch(b);
  EXPECT_EQ(is.count, 3);
  EXPECT_EQ(is.left_stride, 6);
  EXPECT_EQ(is.right_stride, 0);
  EXPECT_EQ(is.out_stride, 8);
  EXPECT_EQ(is.calls, 2);
  ASSERT_EQ(is.loop_rank, 1);
  EXPECT_EQ(is.loop_left[0], 18);
  EXPECT_EQ(is.loop_right[0], 12);
  EXPECT_EQ(is.loop_out[0], 24);
  const Offsets o = call_offsets(is, 1);
  EXPECT_EQ(o.left, 18);
  EXPECT_EQ(o.right, 12);
  EXPECT_EQ(o.out, 24);
}

TEST(GemmBatch, StridedDimIsTheLargestInnermostOfEquals) {
  // Transposed batch order: nothing merges.
  const Request r = matmulOf(1, 1, 1, {4, 2}, {1, 4}, {1, 4});
  const Batch b = collapse_batch(r);
  ASSERT_EQ(b.rank, 2);
  Issue is = issue_batch(b);
  EXPECT_EQ(is.count, 4);
  EXPECT_EQ(is.left_stride, 1);
  EXPECT_EQ(is.calls, 2);
  // Equal extents: the inner one.
  const Request e = matmulOf(1, 1, 1, {3, 3}, {1, 3}, {1, 3});
  is = issue_batch(collapse_batch(e));
  EXPECT_EQ(is.count, 3);
  EXPECT_EQ(is.left_stride, 3);
  EXPECT_EQ(is.loop_left[0], 1);
}

TEST(GemmBatch, SizeOneDimsDropAndEmptyBatches) {
  Request r = matmulOf(2, 2, 2, {1, 5, 1}, {99, 4, 77}, {0, 4, 5});
  Batch b = collapse_batch(r);
  ASSERT_EQ(b.rank, 1);
  EXPECT_EQ(b.shape[0], 5);
  EXPECT_EQ(b.left[0], 4);
  r = matmulOf(2, 2, 2, {1, 1}, {3, 4}, {5, 6});
  b = collapse_batch(r);
  EXPECT_EQ(b.rank, 0);
  EXPECT_EQ(b.count, 1);
  Issue is = issue_batch(b);
  EXPECT_EQ(is.count, 1);
  EXPECT_EQ(is.calls, 1);
  // A single matrix has no batch strides (its key is that of no batch).
  const LtProblem p = map_problem(r, is);
  EXPECT_EQ(p.a_stride, 0);
  EXPECT_EQ(p.b_stride, 0);
  EXPECT_EQ(p.d_stride, 0);
  r = matmulOf(2, 2, 2, {2, 0, 3}, {12, 4, 4}, {12, 4, 4});
  b = collapse_batch(r);
  EXPECT_EQ(b.count, 0);
  EXPECT_EQ(b.rank, 0);
}

TEST(GemmBatch, NegativeStridesAreLoopedOver) {
  const Request r = matmulOf(2, 2, 2, {3}, {-4, }, {4});
  const Issue is = issue_batch(collapse_batch(r));
  EXPECT_EQ(is.count, 1);
  EXPECT_EQ(is.calls, 3);
  EXPECT_EQ(call_offsets(is, 2).left, -8);
}

TEST(GemmMapping, LinearLayouts) {
  // y[3,7] = x[3,5] W: W [5,7] is column-major 7 x 5 (ld 7), op N; W [7,5]
  // (transposed) column-major 5 x 7 (ld 5), op T; x: 5 x 3 (ld 5); y: 7 x 3
  // (ld 7).
  const Issue one;
  LtProblem p = map_problem(linear_request(DITC_RT_F16, 3, 5, 7, false, true),
                            one);
  EXPECT_FALSE(p.trans_a);
  EXPECT_EQ(p.a.rows, 7);
  EXPECT_EQ(p.a.cols, 5);
  EXPECT_EQ(p.a.ld, 7);
  EXPECT_EQ(p.b.rows, 5);
  EXPECT_EQ(p.b.cols, 3);
  EXPECT_EQ(p.b.ld, 5);
  EXPECT_EQ(p.d.rows, 7);
  EXPECT_EQ(p.d.cols, 3);
  EXPECT_EQ(p.d.ld, 7);
  EXPECT_TRUE(p.bias);
  EXPECT_EQ(p.dtype, DITC_RT_F16);
  p = map_problem(linear_request(DITC_RT_F32, 3, 5, 7, true, false), one);
  EXPECT_TRUE(p.trans_a);
  EXPECT_EQ(p.a.rows, 5);
  EXPECT_EQ(p.a.cols, 7);
  EXPECT_EQ(p.a.ld, 5);
  EXPECT_FALSE(p.bias);
}

//===--- The mapping against the CPU runtime --------------------------------===//

TEST(GemmMapping, LinearAgainstTheCpu) {
  const int64_t sizes[][3] = {{1, 1, 1},  {1, 77, 300}, {3, 5, 7},
                              {17, 1, 9}, {8, 16, 1},   {33, 65, 31},
                              {2, 128, 3}};
  uint32_t seed = 1;
  for (const auto &s : sizes)
    for (bool t : {false, true})
      for (bool bias : {false, true})
        checkLinear(linear_request(DITC_RT_F32, s[0], s[1], s[2], t, bias),
                    seed += 3);
}

TEST(GemmMapping, FixedBatchesAgainstTheCpu) {
  // Rank 0; contiguous; broadcast a or b per dim; transposed order; padding;
  // negative strides.
  checkMatmul(matmulOf(3, 4, 5, {}, {}, {}), 1);
  checkMatmul(matmulOf(1, 77, 30, {2, 3}, {231, 77}, {0, 2310}), 2);
  checkMatmul(matmulOf(3, 4, 5, {2, 3}, {12, 0}, {60, 20}), 3);
  checkMatmul(matmulOf(3, 4, 5, {3, 2}, {12, 36}, {20, 60}), 4);
  checkMatmul(matmulOf(3, 4, 5, {2, 1, 3}, {0, 0, 0}, {60, 7, 20}), 5);
  checkMatmul(matmulOf(2, 3, 2, {4}, {-6}, {6}), 6);
  checkMatmul(matmulOf(2, 3, 2, {2, 2, 2, 2}, {13, 0, 0, 100},
                       {0, 24, 6, 12}),
              7);
}

TEST(GemmMapping, RandomBatchesAgainstTheCpu) {
  std::mt19937 rng(2024);
  auto pick = [&](std::initializer_list<int64_t> v) {
    return *(v.begin() + rng() % v.size());
  };
  std::set<int64_t> callCounts, matrixCounts;
  for (int iter = 0; iter < 400; ++iter) {
    const int rank = iter % 5; // 0..4
    const int64_t m = pick({1, 2, 3, 5, 8}), k = pick({1, 2, 3, 7, 16}),
                  n = pick({1, 2, 4, 5, 9});
    std::vector<int64_t> shape(rank);
    for (auto &e : shape)
      e = pick({1, 2, 3, 3});
    std::vector<int64_t> as(std::max(rank, 1)), bs(std::max(rank, 1));
    for (int op = 0; op < 2; ++op) {
      std::vector<bool> broadcast(rank);
      for (int d = 0; d < rank; ++d)
        broadcast[d] = rng() % 3 == 0;
      std::vector<int> order(rank);
      std::iota(order.begin(), order.end(), 0);
      if (rng() % 2)
        std::shuffle(order.begin(), order.end(), rng);
      const int64_t pad = rng() % 3 == 0 ? (int64_t)(rng() % 4) : 0;
      placeMatrices(shape, broadcast, order, op == 0 ? m * k : k * n, pad,
                    op == 0 ? as.data() : bs.data());
    }
    const Request r = matmul_request(DITC_RT_F32, m, k, n, rank, shape.data(),
                                     as.data(), bs.data());
    const Issue is = issue_batch(collapse_batch(r));
    callCounts.insert(is.calls);
    matrixCounts.insert(is.count);
    checkMatmul(r, 100 + iter);
    if (HasFailure())
      return;
  }
  // Both strided batches and host loops were exercised.
  EXPECT_GT(callCounts.size(), 3u);
  EXPECT_GT(matrixCounts.size(), 3u);
}

//===--- Plan keys and alignments -------------------------------------------===//

PlanKey keyOf(const Request &r, int device = 0, Alignment al = {}) {
  return plan_key(device, map_problem(r, issue_batch(collapse_batch(r))), al);
}

TEST(GemmPlanKey, DistinguishesWhatChangesThePlan) {
  const Request base = linear_request(DITC_RT_F16, 4, 8, 16, false, true);
  const PlanKey k0 = keyOf(base);
  std::vector<PlanKey> others;
  others.push_back(keyOf(base, 1)); // device
  for (int32_t dt : {DITC_RT_F32, DITC_RT_BF16}) {
    Request r = base;
    r.dtype = dt;
    others.push_back(keyOf(r));
  }
  for (int field = 0; field < 3; ++field) {
    Request r = base;
    (field == 0 ? r.m : field == 1 ? r.k : r.n) += 1;
    others.push_back(keyOf(r));
  }
  // m and n swapped (same sizes otherwise).
  others.push_back(keyOf(linear_request(DITC_RT_F16, 16, 8, 4, false, true)));
  {
    Request r = base;
    r.transpose_w = true;
    others.push_back(keyOf(r));
    r = base;
    r.bias = false;
    others.push_back(keyOf(r));
    // The GELU epilogue, with and without the bias.
    r = base;
    r.activation = DITC_RT_UNARY_GELU_TANH;
    others.push_back(keyOf(r));
    r.bias = false;
    others.push_back(keyOf(r));
  }
  for (int which = 0; which < 4; ++which) {
    Alignment al;
    (which == 0 ? al.a : which == 1 ? al.b : which == 2 ? al.d : al.bias) = 2;
    others.push_back(keyOf(base, 0, al));
  }
  // Batches: count, each stride.
  const Request batched = matmulOf(4, 8, 16, {3}, {32, }, {128});
  others.push_back(keyOf(batched));
  others.push_back(keyOf(matmulOf(4, 8, 16, {2}, {32}, {128})));
  others.push_back(keyOf(matmulOf(4, 8, 16, {3}, {0}, {128})));
  others.push_back(keyOf(matmulOf(4, 8, 16, {3}, {32}, {0})));
  others.push_back(keyOf(matmulOf(4, 8, 16, {3}, {40}, {128})));
  std::set<PlanKey> all(others.begin(), others.end());
  all.insert(k0);
  EXPECT_EQ(all.size(), others.size() + 1) << "two different plans share a key";
}

TEST(GemmPlanKey, EqualForTheSameCuBlasLtProblem) {
  // The same descriptors: [2,3] contiguous = [6]; size-1 dims; a linear
  // without bias or transpose = a matmul of one matrix; a bias alignment
  // without a bias.
  EXPECT_EQ(keyOf(matmulOf(2, 3, 4, {2, 3}, {18, 6}, {0, 0})),
            keyOf(matmulOf(2, 3, 4, {6}, {6}, {0})));
  EXPECT_EQ(keyOf(matmulOf(2, 3, 4, {1, 6, 1}, {5, 6, 9}, {0, 0, 3})),
            keyOf(matmulOf(2, 3, 4, {6}, {6}, {0})));
  EXPECT_EQ(keyOf(matmulOf(2, 3, 4, {}, {}, {})),
            keyOf(linear_request(DITC_RT_F32, 2, 3, 4, false, false)));
  EXPECT_EQ(keyOf(matmulOf(2, 3, 4, {1}, {7}, {9})),
            keyOf(matmulOf(2, 3, 4, {}, {}, {})));
  Alignment al;
  al.bias = 2;
  EXPECT_EQ(keyOf(linear_request(DITC_RT_F32, 2, 3, 4, false, false), 0, al),
            keyOf(linear_request(DITC_RT_F32, 2, 3, 4, false, false)));
  // GELU (erf) and SILU run after cuBLASLt's plain product.
  for (int32_t act : {DITC_RT_UNARY_GELU, DITC_RT_UNARY_SILU})
    EXPECT_EQ(keyOf(linear_request(DITC_RT_BF16, 2, 3, 4, true, true, act)),
              keyOf(linear_request(DITC_RT_BF16, 2, 3, 4, true, true)));
}

TEST(GemmPlanKey, Alignments) {
  EXPECT_EQ(alignment_of(0, 4, {}), 16);
  EXPECT_EQ(alignment_of(256, 2, {}), 16);
  EXPECT_EQ(alignment_of(256 + 2, 2, {}), 2);
  EXPECT_EQ(alignment_of(256 + 8, 2, {}), 8);
  EXPECT_EQ(alignment_of(256, 2, {77}), 2);  // 154 bytes
  EXPECT_EQ(alignment_of(256, 2, {4}), 8);
  EXPECT_EQ(alignment_of(256, 4, {-2}), 8);  // -8 bytes
  EXPECT_EQ(alignment_of(256, 2, {0, 8}), 16);
  EXPECT_EQ(alignment_of(4096, 4, {1 << 20}), 16);

  // A call's operands: the loop and batch strides count, the base too.
  const Request r = matmulOf(3, 5, 8, {2, 3}, {15, 0}, {0, 40});
  const Issue is = issue_batch(collapse_batch(r));
  ASSERT_EQ(is.calls, 2);
  const LtProblem p = map_problem(r, is);
  const auto *base = reinterpret_cast<const char *>(uintptr_t(1) << 12);
  Alignment al = call_alignment(p, is, base, base, nullptr, base);
  EXPECT_EQ(al.b, 4);  // a: 15 floats between the outer matrices
  EXPECT_EQ(al.a, 16); // b: 0 and 160 bytes
  EXPECT_EQ(al.d, 16); // out: 24 * 4 and 72 * 4 bytes
  EXPECT_EQ(al.bias, 16);
  al = call_alignment(p, is, base, base + 4, base + 2, base + 8);
  EXPECT_EQ(al.a, 4);
  EXPECT_EQ(al.d, 8);
  EXPECT_EQ(al.bias, 2);
}

//===--- cuBLASLt descriptors ------------------------------------------------===//

/// The getters the test reads the descriptors back with, from the library
/// gemm.cpp loaded (resolved here: gemm.cpp does not use them).
struct Getters {
  decltype(&cublasLtMatrixLayoutGetAttribute) layout = nullptr;
  decltype(&cublasLtMatmulDescGetAttribute) desc = nullptr;
  decltype(&cublasLtMatmulPreferenceGetAttribute) pref = nullptr;
};

bool loadGetters(Getters &g, std::string &why) {
  const char *env = std::getenv("DITC_CUBLASLT_LIBRARY");
  for (const char *name : {env && *env ? env : "libcublasLt.so.13",
                           "libcublasLt.so"}) {
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      continue;
    g.layout = reinterpret_cast<decltype(g.layout)>(
        dlsym(lib, "cublasLtMatrixLayoutGetAttribute"));
    g.desc = reinterpret_cast<decltype(g.desc)>(
        dlsym(lib, "cublasLtMatmulDescGetAttribute"));
    g.pref = reinterpret_cast<decltype(g.pref)>(
        dlsym(lib, "cublasLtMatmulPreferenceGetAttribute"));
    if (g.layout && g.desc && g.pref)
      return true;
  }
  why = "the cuBLASLt getters are not there";
  return false;
}

template <class T>
T layoutAttr(const Getters &g, void *l, cublasLtMatrixLayoutAttribute_t a) {
  T v{};
  size_t written = 0;
  EXPECT_EQ(g.layout(static_cast<cublasLtMatrixLayout_t>(l), a, &v, sizeof v,
                     &written),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(written, sizeof v);
  return v;
}
template <class T>
T descAttr(const Getters &g, void *d, cublasLtMatmulDescAttributes_t a) {
  T v{};
  size_t written = 0;
  EXPECT_EQ(g.desc(static_cast<cublasLtMatmulDesc_t>(d), a, &v, sizeof v,
                   &written),
            CUBLAS_STATUS_SUCCESS);
  return v;
}
template <class T>
T prefAttr(const Getters &g, void *p, cublasLtMatmulPreferenceAttributes_t a) {
  T v{};
  size_t written = 0;
  EXPECT_EQ(g.pref(static_cast<cublasLtMatmulPreference_t>(p), a, &v,
                   sizeof v, &written),
            CUBLAS_STATUS_SUCCESS);
  return v;
}

void expectLayout(const Getters &g, void *l, uint32_t type, const Matrix &m,
                  int64_t count, int64_t stride) {
  EXPECT_EQ(layoutAttr<uint32_t>(g, l, CUBLASLT_MATRIX_LAYOUT_TYPE), type);
  EXPECT_EQ(layoutAttr<int32_t>(g, l, CUBLASLT_MATRIX_LAYOUT_ORDER),
            CUBLASLT_ORDER_COL);
  EXPECT_EQ(layoutAttr<uint64_t>(g, l, CUBLASLT_MATRIX_LAYOUT_ROWS),
            (uint64_t)m.rows);
  EXPECT_EQ(layoutAttr<uint64_t>(g, l, CUBLASLT_MATRIX_LAYOUT_COLS),
            (uint64_t)m.cols);
  EXPECT_EQ(layoutAttr<int64_t>(g, l, CUBLASLT_MATRIX_LAYOUT_LD), m.ld);
  EXPECT_EQ(layoutAttr<int32_t>(g, l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT),
            count);
  EXPECT_EQ(
      layoutAttr<int64_t>(g, l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET),
      stride);
}

TEST(GemmDescriptors, CreatedAsMapped) {
  std::string why;
  const LtApi *api = lt_api(why);
  if (!api)
    GTEST_SKIP() << "libcublasLt cannot be loaded here: " << why;
  Getters g;
  if (!loadGetters(g, why))
    GTEST_SKIP() << why;
  struct Case {
    Request r;
    uint32_t type;
    Alignment al;
  };
  Alignment two;
  two.a = two.b = two.d = two.bias = 2;
  const std::vector<Case> cases = {
      {linear_request(DITC_RT_F32, 1, 77, 300, false, false), CUDA_R_32F, {}},
      {linear_request(DITC_RT_F16, 33, 77, 300, true, true), CUDA_R_16F, two},
      {linear_request(DITC_RT_BF16, 64, 128, 256, false, true), CUDA_R_16BF,
       {}},
      {linear_request(DITC_RT_BF16, 64, 128, 256, true, true,
                      DITC_RT_UNARY_GELU_TANH),
       CUDA_R_16BF, {}},
      {linear_request(DITC_RT_F16, 8, 128, 256, true, false,
                      DITC_RT_UNARY_GELU_TANH),
       CUDA_R_16F, {}},
      {linear_request(DITC_RT_F16, 8, 128, 256, true, true, DITC_RT_UNARY_SILU),
       CUDA_R_16F, {}},
      {matmulOf(7, 9, 11, {4, 3}, {0, 63}, {99, 0}), CUDA_R_32F, {}},
      {matmulOf(7, 9, 11, {6}, {63}, {0}), CUDA_R_32F, {}},
  };
  int gelu = 0;
  for (Case c : cases) {
    if (c.r.batch_rank) // matmulOf makes F32; run the batches in BF16
      c.r.dtype = DITC_RT_BF16, c.type = CUDA_R_16BF;
    SCOPED_TRACE(shapeString(c.r));
    const Issue is = issue_batch(collapse_batch(c.r));
    const LtProblem p = map_problem(c.r, is);
    EXPECT_EQ(p.gelu, c.r.activation == DITC_RT_UNARY_GELU_TANH);
    gelu += p.gelu;
    const uint32_t epilogue =
        p.bias ? (p.gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
               : (p.gelu ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
    Descriptors d;
    std::string what;
    ASSERT_EQ(create_descriptors(api, p, c.al, kWorkspaceBytes, d, what), 0)
        << what;
    ASSERT_TRUE(d.matmul && d.a && d.b && d.d && d.pref);
    EXPECT_EQ(descAttr<int32_t>(g, d.matmul, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE),
              CUBLAS_COMPUTE_32F);
    EXPECT_EQ(descAttr<int32_t>(g, d.matmul, CUBLASLT_MATMUL_DESC_SCALE_TYPE),
              CUDA_R_32F);
    EXPECT_EQ(descAttr<int32_t>(g, d.matmul, CUBLASLT_MATMUL_DESC_TRANSA),
              p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N);
    EXPECT_EQ(descAttr<int32_t>(g, d.matmul, CUBLASLT_MATMUL_DESC_TRANSB),
              CUBLAS_OP_N);
    EXPECT_EQ(descAttr<uint32_t>(g, d.matmul, CUBLASLT_MATMUL_DESC_EPILOGUE),
              epilogue);
    if (p.bias) {
      EXPECT_EQ(
          descAttr<int32_t>(g, d.matmul, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE),
          (int32_t)c.type);
      // The stand-in bias address has the key's alignment.
      const uintptr_t bias = reinterpret_cast<uintptr_t>(descAttr<const void *>(
          g, d.matmul, CUBLASLT_MATMUL_DESC_BIAS_POINTER));
      EXPECT_EQ(bias & (~bias + 1), (uintptr_t)c.al.bias);
    }
    expectLayout(g, d.a, c.type, p.a, p.count, p.a_stride);
    expectLayout(g, d.b, c.type, p.b, p.count, p.b_stride);
    expectLayout(g, d.d, c.type, p.d, p.count, p.d_stride);
    EXPECT_EQ(
        prefAttr<uint64_t>(g, d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES),
        kWorkspaceBytes);
    EXPECT_EQ(prefAttr<uint32_t>(g, d.pref,
                                 CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES),
              (uint32_t)c.al.a);
    EXPECT_EQ(prefAttr<uint32_t>(g, d.pref,
                                 CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES),
              (uint32_t)c.al.b);
    EXPECT_EQ(prefAttr<uint32_t>(g, d.pref,
                                 CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES),
              (uint32_t)c.al.d);
    destroy_descriptors(api, d);
    EXPECT_EQ(d.matmul, nullptr);

    // A call's own descriptor (with its bias), initialised in place.
    cublasLtMatmulDescOpaque_t local;
    const void *biasPtr = reinterpret_cast<const void *>(uintptr_t(0x7000));
    ASSERT_EQ(init_call_desc(api, p, biasPtr, &local, sizeof local), 0);
    EXPECT_EQ(descAttr<int32_t>(g, &local, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE),
              CUBLAS_COMPUTE_32F);
    EXPECT_EQ(descAttr<int32_t>(g, &local, CUBLASLT_MATMUL_DESC_TRANSA),
              p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N);
    EXPECT_EQ(descAttr<uint32_t>(g, &local, CUBLASLT_MATMUL_DESC_EPILOGUE),
              epilogue);
    if (p.bias) {
      EXPECT_EQ(descAttr<const void *>(g, &local,
                                       CUBLASLT_MATMUL_DESC_BIAS_POINTER),
                biasPtr);
    }
  }
  EXPECT_EQ(gelu, 2);
}

TEST(GemmDescriptors, AMissingLibraryIsNamed) {
  std::string why;
  EXPECT_EQ(load_lt({"libditc-no-such-cublasLt.so.13"}, why), nullptr);
  EXPECT_NE(why.find("cannot load cuBLASLt"), std::string::npos) << why;
  EXPECT_NE(why.find("libditc-no-such-cublasLt.so.13"), std::string::npos)
      << why;
  // A library without cuBLASLt's functions: the first missing one is named.
  why.clear();
  EXPECT_EQ(load_lt({"libm.so.6"}, why), nullptr);
  EXPECT_NE(why.find("libm.so.6 has no cublasLtGetVersion"), std::string::npos)
      << why;
}

//===--- Arguments ---------------------------------------------------------===//

TEST(GemmArguments, EmptyProblemsTouchNothing) {
  // No device, no cuBLASLt: these return before either is needed.
  const int64_t shape[2] = {3, 0}, strides[2] = {0, 0};
  ditc_cu_linear(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr, 0, 5, 7, 0,
                 DITC_RT_ACTIVATION_NONE);
  ditc_cu_linear(DITC_RT_BF16, nullptr, nullptr, nullptr, nullptr, 4, 5, 0, 1,
                 DITC_RT_UNARY_SILU);
  ditc_cu_matmul(DITC_RT_F16, nullptr, nullptr, nullptr, 2, 3, 4, 2, shape,
                 strides, strides);
  ditc_cu_gemm_prepare(DITC_RT_F32, 0, 3, 4, 0, 1, DITC_RT_UNARY_GELU_TANH, 0,
                       nullptr, nullptr, nullptr);
}

TEST(GemmDeathTest, ArgumentsTheLaunchersCannotHonour) {
  const int64_t shape[1] = {2}, strides[1] = {0};
  EXPECT_DEATH(ditc_cu_linear(DITC_RT_I64, nullptr, nullptr, nullptr, nullptr,
                              1, 1, 1, 0, DITC_RT_ACTIVATION_NONE),
               "ditc cuda: linear: dtype 1 is not F32, F16 or BF16");
  EXPECT_DEATH(ditc_cu_linear(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr,
                              -1, 1, 1, 0, DITC_RT_ACTIVATION_NONE),
               "ditc cuda: linear: negative size");
  EXPECT_DEATH(ditc_cu_linear(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr,
                              1, 1, 1, 0, 42),
               "ditc cuda: linear: activation 42 is not GELU, GELU_TANH or SILU");
  EXPECT_DEATH(ditc_cu_gemm_prepare(DITC_RT_F32, 1, 1, 1, 0, 0,
                                    DITC_RT_UNARY_EXP, 0, nullptr, nullptr,
                                    nullptr),
               "ditc cuda: gemm_prepare: activation 3 is not GELU");
  EXPECT_DEATH(ditc_cu_matmul(DITC_RT_F16, nullptr, nullptr, nullptr, 1, 1, 1,
                              17, shape, strides, strides),
               "ditc cuda: matmul: batch rank 17 is outside \\[0, 16\\]");
  EXPECT_DEATH(ditc_cu_matmul(DITC_RT_F16, nullptr, nullptr, nullptr, 1, 1, 1,
                              1, nullptr, strides, strides),
               "ditc cuda: matmul: batch rank 1 with a null");
  EXPECT_DEATH(ditc_cu_gemm_prepare(DITC_RT_B8, 1, 1, 1, 0, 0,
                                    DITC_RT_ACTIVATION_NONE, 1, shape, strides,
                                    strides),
               "ditc cuda: gemm_prepare: dtype 3 is not F32");
  EXPECT_DEATH(lt_fatal("linear", "cublasLtMatmul failed", 13),
               "ditc cuda: linear: cublasLtMatmul failed \\(cublasLt status "
               "13\\)");
}

} // namespace
