//===- DitcShapesTest.cpp - the shape rules of dialects/Ditc/IR/DitcShapes.h ===//
//
// Each rule is checked against a naive reference written here on random
// shapes (fixed seeds), plus the failure cases and their messages.
//
//===----------------------------------------------------------------------===//

#include "dialects/Ditc/IR/DitcShapes.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include <gtest/gtest.h>
#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace mlir;
using namespace mlir::ditc;

namespace {

using Vec = std::vector<int64_t>;

Vec toVec(ArrayRef<int64_t> a) { return Vec(a.begin(), a.end()); }

std::string str(ArrayRef<int64_t> a) {
  std::string s = "[";
  for (size_t i = 0; i < a.size(); ++i)
    s += (i ? "," : "") + std::to_string(a[i]);
  return s + "]";
}

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int64_t range(int64_t lo, int64_t hi) { // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(g);
  }
  bool coin(double p = 0.5) { return std::bernoulli_distribution(p)(g); }
  Vec shape(int64_t rank, int64_t lo, int64_t hi) {
    Vec s;
    for (int64_t i = 0; i < rank; ++i)
      s.push_back(range(lo, hi));
    return s;
  }
};

/// Reference numpy broadcast: right-aligned, equal or 1.
std::optional<Vec> refBroadcast(const std::vector<Vec> &shapes) {
  size_t rank = 0;
  for (const Vec &s : shapes)
    rank = std::max(rank, s.size());
  Vec out;
  for (size_t fromRight = rank; fromRight-- > 0;) {
    std::set<int64_t> nonOne;
    for (const Vec &s : shapes) {
      if (fromRight < s.size()) {
        int64_t d = s[s.size() - 1 - fromRight];
        if (d != 1)
          nonOne.insert(d);
      }
    }
    if (nonOne.size() > 1)
      return std::nullopt;
    out.push_back(nonOne.empty() ? 1 : *nonOne.begin());
  }
  return out;
}

FailureOr<Shape> bcast(const std::vector<Vec> &shapes, std::string &why) {
  SmallVector<ArrayRef<int64_t>> refs;
  for (const Vec &s : shapes)
    refs.push_back(s);
  return broadcastShapes(refs, why);
}

/// Shapes that broadcast to `out`: suffixes of it with some dims set to 1.
Vec broadcastableTo(Rng &r, const Vec &out) {
  size_t rank = r.range(0, out.size());
  Vec s(out.end() - rank, out.end());
  for (int64_t &d : s)
    if (r.coin(0.35))
      d = 1;
  return s;
}

} // namespace

//===----------------------------------------------------------------------===//
// numElements / shapeStr
//===----------------------------------------------------------------------===//

TEST(DitcShapes, NumElementsMatchesReference) {
  Rng r(101);
  int overflowed = 0, fit = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    int64_t rank = r.range(0, 7);
    Vec s;
    // Zeros only among small dims (a zero after a huge dim is the
    // order-dependence checked by NumElementsZeroIsOrderIndependent).
    bool zeros = r.coin(0.1);
    for (int64_t i = 0; i < rank; ++i) {
      if (zeros) {
        s.push_back(r.range(0, 5));
        continue;
      }
      switch (r.range(1, 9)) {
      case 1:
        s.push_back(-r.range(1, 3));
        break;
      case 2:
        s.push_back(int64_t(1) << r.range(20, 62));
        break;
      case 3:
        s.push_back(r.range(1, INT64_MAX));
        break;
      default:
        s.push_back(r.range(1, 1 << 12));
      }
    }
    // Reference: negative -> none; any zero -> 0; else the exact product
    // (in 128 bits, stopping once it passes the limit).
    std::optional<int64_t> want;
    bool negative = llvm::any_of(s, [](int64_t d) { return d < 0; });
    bool zero = llvm::is_contained(s, 0);
    if (!negative) {
      if (zero) {
        want = 0;
      } else {
        __int128 p = 1;
        bool over = false;
        for (int64_t d : s) {
          p *= d;
          if (p > kMaxElements) {
            over = true;
            break;
          }
        }
        if (!over)
          want = (int64_t)p;
      }
    }
    std::optional<int64_t> got = numElements(s);
    EXPECT_EQ(got, want) << "shape " << str(s);
    (want ? fit : overflowed)++;
  }
  EXPECT_GT(overflowed, 500);
  EXPECT_GT(fit, 500);
}

TEST(DitcShapes, NumElementsEdges) {
  EXPECT_EQ(numElements({}), 1);
  EXPECT_EQ(numElements({kMaxElements}), kMaxElements);
  EXPECT_EQ(numElements({kMaxElements + 1}), std::nullopt);
  EXPECT_EQ(numElements({int64_t(1) << 28, int64_t(1) << 28}), kMaxElements);
  EXPECT_EQ(numElements({(int64_t(1) << 28) + 1, int64_t(1) << 28}),
            std::nullopt);
  EXPECT_EQ(numElements({INT64_MAX, INT64_MAX}), std::nullopt);
  EXPECT_EQ(numElements({0, INT64_MAX}), 0);
  EXPECT_EQ(numElements({3, -1}), std::nullopt);
  EXPECT_EQ(shapeStr({}), "scalar");
  EXPECT_EQ(shapeStr({2, 16, 64}), "2x16x64");
  EXPECT_EQ(shapeStr({0}), "0");
}

// The element count of a shape does not depend on the order of its dims.
// DISABLED: numElements({huge, 0}) is nullopt but numElements({0, huge}) is 0
// (see the unit-test report).
TEST(DitcShapes, NumElementsZeroIsOrderIndependent) {
  EXPECT_EQ(numElements({INT64_MAX, 0}), numElements({0, INT64_MAX}));
  EXPECT_EQ(numElements({kMaxElements, 2, 0}), numElements({0, kMaxElements, 2}));
}

//===----------------------------------------------------------------------===//
// broadcastShapes / broadcastsTo
//===----------------------------------------------------------------------===//

TEST(DitcShapes, BroadcastRandomCompatible) {
  Rng r(202);
  for (int iter = 0; iter < 3000; ++iter) {
    Vec out = r.shape(r.range(0, 6), 0, 7);
    int n = r.range(1, 4);
    std::vector<Vec> ins;
    for (int k = 0; k < n; ++k)
      ins.push_back(broadcastableTo(r, out));
    std::optional<Vec> want = refBroadcast(ins);
    ASSERT_TRUE(want.has_value());
    std::string why;
    FailureOr<Shape> got = bcast(ins, why);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), *want);
    for (const Vec &in : ins)
      EXPECT_TRUE(broadcastsTo(in, *want)) << str(in) << " -> " << str(*want);
  }
}

TEST(DitcShapes, BroadcastRandomAny) {
  // Unconstrained small shapes: about half broadcast, half do not.
  Rng r(203);
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    int n = r.range(1, 3);
    std::vector<Vec> ins;
    for (int k = 0; k < n; ++k)
      ins.push_back(r.shape(r.range(0, 4), 0, 3));
    std::optional<Vec> want = refBroadcast(ins);
    std::string why;
    FailureOr<Shape> got = bcast(ins, why);
    if (want) {
      ++ok;
      ASSERT_TRUE(succeeded(got)) << why;
      EXPECT_EQ(toVec(*got), *want);
    } else {
      ++bad;
      ASSERT_TRUE(failed(got)) << "expected failure";
      // The message names every operand shape.
      for (const Vec &in : ins)
        EXPECT_NE(why.find(shapeStr(in)), std::string::npos) << why;
      EXPECT_NE(why.find("do not broadcast"), std::string::npos) << why;
    }
    // broadcastsTo agrees with the two-shape broadcast.
    if (n == 2) {
      std::optional<Vec> both = refBroadcast(ins);
      bool refTo = both && *both == ins[1];
      EXPECT_EQ(broadcastsTo(ins[0], ins[1]), refTo)
          << str(ins[0]) << " -> " << str(ins[1]);
    }
  }
  EXPECT_GT(ok, 1000);
  EXPECT_GT(bad, 1000);
}

TEST(DitcShapes, BroadcastMessages) {
  std::string why;
  EXPECT_TRUE(failed(bcast({{2, 3}, {4, 3}}, why)));
  EXPECT_EQ(why, "shapes 2x3, 4x3 do not broadcast");
  EXPECT_TRUE(failed(bcast({{}, {5}, {3, 1}, {2, 4}}, why)));
  EXPECT_EQ(why, "shapes scalar, 5, 3x1, 2x4 do not broadcast");
  EXPECT_TRUE(failed(bcast({{0}, {3}}, why))); // 0 only pairs with 1
  FailureOr<Shape> z = bcast({{0, 1}, {1, 5}}, why);
  ASSERT_TRUE(succeeded(z));
  EXPECT_EQ(toVec(*z), (Vec{0, 5}));
  FailureOr<Shape> s = bcast({}, why);
  ASSERT_TRUE(succeeded(s));
  EXPECT_TRUE(s->empty());
  EXPECT_FALSE(broadcastsTo({2, 3}, {3}));
  EXPECT_TRUE(broadcastsTo({}, {3}));
  EXPECT_FALSE(broadcastsTo({3, 1}, {1, 3}));
}

//===----------------------------------------------------------------------===//
// matmulShape / linearShape
//===----------------------------------------------------------------------===//

TEST(DitcShapes, MatmulRandom) {
  Rng r(303);
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Vec batch = r.shape(r.range(0, 3), 1, 4);
    Vec lb = broadcastableTo(r, batch), rb = broadcastableTo(r, batch);
    if (r.coin(0.2)) // sometimes clash the batch dims
      lb = r.shape(r.range(0, 3), 1, 4);
    int64_t m = r.range(1, 9), k = r.range(1, 9), n = r.range(1, 9);
    int64_t k2 = r.coin(0.15) ? r.range(1, 9) : k;
    Vec lhs = lb, rhs = rb;
    lhs.insert(lhs.end(), {m, k});
    rhs.insert(rhs.end(), {k2, n});
    std::optional<Vec> b = refBroadcast({lb, rb});
    std::string why;
    FailureOr<Shape> got = matmulShape(lhs, rhs, why);
    if (!b || k != k2) {
      ++bad;
      ASSERT_TRUE(failed(got)) << str(lhs) << " x " << str(rhs);
      if (k != k2)
        EXPECT_NE(why.find("contraction mismatch"), std::string::npos) << why;
      else
        EXPECT_NE(why.find("do not broadcast"), std::string::npos) << why;
      continue;
    }
    ++ok;
    ASSERT_TRUE(succeeded(got)) << why;
    Vec want = *b;
    want.insert(want.end(), {m, n});
    EXPECT_EQ(toVec(*got), want) << str(lhs) << " x " << str(rhs);
  }
  EXPECT_GT(ok, 1000);
  EXPECT_GT(bad, 300);
  std::string why;
  EXPECT_TRUE(failed(matmulShape({3}, {3, 4}, why)));
  EXPECT_EQ(why, "matmul operands need rank >= 2, got 3 and 3x4");
  EXPECT_TRUE(failed(matmulShape({2, 3}, {4, 5}, why)));
  EXPECT_EQ(why, "matmul contraction mismatch: 2x3 x 4x5");
}

TEST(DitcShapes, LinearRandom) {
  Rng r(304);
  for (int iter = 0; iter < 2000; ++iter) {
    Vec in = r.shape(r.range(1, 4), 1, 9);
    int64_t k = in.back(), n = r.range(1, 9);
    bool t = r.coin();
    bool clash = r.coin(0.2);
    int64_t wk = clash ? k + r.range(1, 3) : k;
    Vec w = t ? Vec{n, wk} : Vec{wk, n};
    std::string why;
    FailureOr<Shape> got = linearShape(in, w, t, why);
    if (clash) {
      ASSERT_TRUE(failed(got));
      EXPECT_NE(why.find("does not match weight"), std::string::npos) << why;
      EXPECT_EQ(why.find("(transposed)") != std::string::npos, t) << why;
      continue;
    }
    ASSERT_TRUE(succeeded(got)) << why;
    Vec want = in;
    want.back() = n;
    EXPECT_EQ(toVec(*got), want);
  }
  std::string why;
  EXPECT_TRUE(failed(linearShape({}, {3, 4}, false, why)));
  EXPECT_TRUE(failed(linearShape({2, 3}, {3, 4, 1}, false, why)));
  EXPECT_TRUE(failed(linearShape({2, 3}, {3}, false, why)));
}

//===----------------------------------------------------------------------===//
// reduce / transpose / concat / gather
//===----------------------------------------------------------------------===//

TEST(DitcShapes, ReduceRandom) {
  Rng r(404);
  for (int iter = 0; iter < 3000; ++iter) {
    Vec in = r.shape(r.range(0, 6), 1, 9);
    Vec axes;
    for (int64_t a = 0; a < (int64_t)in.size(); ++a)
      if (r.coin(0.4))
        axes.push_back(a);
    bool keep = r.coin();
    Vec want;
    for (int64_t a = 0; a < (int64_t)in.size(); ++a) {
      bool red = llvm::is_contained(axes, a);
      if (!red)
        want.push_back(in[a]);
      else if (keep)
        want.push_back(1);
    }
    std::string why;
    FailureOr<Shape> got = reduceShape(in, axes, keep, why);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), want) << str(in) << " axes " << str(axes);
    if (axes.size() >= 2) {
      // Unsorted or duplicated axes are rejected.
      Vec rev(axes.rbegin(), axes.rend());
      EXPECT_TRUE(failed(reduceShape(in, rev, keep, why)));
      EXPECT_EQ(why, "reduction axes must be sorted and unique");
      Vec dup = axes;
      dup.insert(dup.begin() + 1, axes[0]);
      EXPECT_TRUE(failed(reduceShape(in, dup, keep, why)));
    }
    int64_t badAxis = r.coin() ? -r.range(1, 3) : (int64_t)in.size() + r.range(0, 2);
    EXPECT_TRUE(failed(reduceShape(in, {badAxis}, keep, why)));
    EXPECT_EQ(why, "axis " + std::to_string(badAxis) + " out of range for rank " +
                       std::to_string(in.size()));
  }
}

TEST(DitcShapes, TransposeRandom) {
  Rng r(505);
  for (int iter = 0; iter < 3000; ++iter) {
    Vec in = r.shape(r.range(0, 6), 1, 9);
    Vec perm(in.size());
    for (size_t i = 0; i < perm.size(); ++i)
      perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), r.g);
    Vec want;
    for (int64_t p : perm)
      want.push_back(in[p]);
    std::string why;
    FailureOr<Shape> got = transposeShape(in, perm, why);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), want);
    if (!perm.empty()) {
      Vec bad = perm;
      switch (r.range(0, 3)) {
      case 0: // duplicate
        bad[r.range(0, bad.size() - 1)] = bad[r.range(0, bad.size() - 1)];
        if (bad == perm)
          bad.push_back(0);
        break;
      case 1:
        bad[r.range(0, bad.size() - 1)] = in.size();
        break;
      case 2:
        bad[r.range(0, bad.size() - 1)] = -1;
        break;
      default:
        bad.pop_back();
      }
      EXPECT_TRUE(failed(transposeShape(in, bad, why))) << str(bad);
    }
  }
  std::string why;
  EXPECT_TRUE(failed(transposeShape({2, 3}, {0}, why)));
  EXPECT_EQ(why, "permutation has 1 entries for rank 2");
}

TEST(DitcShapes, ConcatRandom) {
  Rng r(606);
  for (int iter = 0; iter < 3000; ++iter) {
    Vec base = r.shape(r.range(1, 5), 1, 9);
    int64_t axis = r.range(0, base.size() - 1);
    int n = r.range(1, 4);
    std::vector<Vec> ins;
    int64_t total = 0;
    for (int k = 0; k < n; ++k) {
      Vec s = base;
      s[axis] = r.range(0, 6);
      total += s[axis];
      ins.push_back(s);
    }
    SmallVector<ArrayRef<int64_t>> refs(ins.begin(), ins.end());
    std::string why;
    FailureOr<Shape> got = concatShape(refs, axis, why);
    ASSERT_TRUE(succeeded(got)) << why;
    Vec want = base;
    want[axis] = total;
    EXPECT_EQ(toVec(*got), want);
    if (n >= 2 && base.size() >= 2) {
      int64_t other = (axis + r.range(1, base.size() - 1)) % base.size();
      ins[1][other] += r.range(1, 3);
      refs.assign(ins.begin(), ins.end());
      EXPECT_TRUE(failed(concatShape(refs, axis, why)));
      EXPECT_NE(why.find("differ off axis " + std::to_string(axis)),
                std::string::npos)
          << why;
      ins[1].push_back(1);
      refs.assign(ins.begin(), ins.end());
      EXPECT_TRUE(failed(concatShape(refs, axis, why)));
      EXPECT_EQ(why, "concat inputs differ in rank");
    }
    EXPECT_TRUE(failed(concatShape(refs, base.size(), why)));
    EXPECT_TRUE(failed(concatShape(refs, -1, why)));
  }
  std::string why;
  EXPECT_TRUE(failed(concatShape({}, 0, why)));
  Vec scalar;
  EXPECT_TRUE(failed(concatShape({ArrayRef<int64_t>(scalar)}, 0, why)));
}

TEST(DitcShapes, GatherRandom) {
  Rng r(707);
  for (int iter = 0; iter < 3000; ++iter) {
    Vec data = r.shape(r.range(1, 5), 1, 9);
    Vec idx = r.shape(r.range(0, 3), 0, 5);
    int64_t axis = r.range(0, data.size() - 1);
    Vec want;
    for (int64_t a = 0; a < axis; ++a)
      want.push_back(data[a]);
    want.insert(want.end(), idx.begin(), idx.end());
    for (int64_t a = axis + 1; a < (int64_t)data.size(); ++a)
      want.push_back(data[a]);
    std::string why;
    FailureOr<Shape> got = gatherShape(data, idx, axis, why);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), want);
    EXPECT_EQ(got->size(), data.size() - 1 + idx.size());
    EXPECT_TRUE(failed(gatherShape(data, idx, data.size(), why)));
    EXPECT_TRUE(failed(gatherShape(data, idx, -1, why)));
  }
  std::string why;
  EXPECT_TRUE(failed(gatherShape({}, {2}, 0, why)));
}

//===----------------------------------------------------------------------===//
// convShape against a brute-force count of the output positions
//===----------------------------------------------------------------------===//

TEST(DitcShapes, ConvRandomAgainstBruteForce) {
  Rng r(808);
  int ok = 0, tooSmall = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    size_t sp = r.range(1, 3);
    int64_t g = r.range(1, 4), cpg = r.range(1, 3), mpg = r.range(1, 3);
    Vec in{r.range(1, 3), g * cpg};
    Vec w{g * mpg, cpg};
    Vec strides, dil, padsB, padsE;
    for (size_t i = 0; i < sp; ++i) {
      in.push_back(r.range(1, 12));
      w.push_back(r.range(1, 5));
      strides.push_back(r.range(1, 4));
      dil.push_back(r.range(1, 3));
      padsB.push_back(r.range(0, 3));
      padsE.push_back(r.range(0, 3));
    }
    Vec pads = padsB;
    pads.insert(pads.end(), padsE.begin(), padsE.end());
    // Reference: count the window starts o*stride (in the padded input)
    // whose last tap dil*(k-1) still lies inside it.
    Vec want{in[0], w[0]};
    bool fits = true;
    for (size_t i = 0; i < sp; ++i) {
      int64_t padded = in[2 + i] + padsB[i] + padsE[i];
      int64_t count = 0;
      for (int64_t start = 0; start + dil[i] * (w[2 + i] - 1) < padded;
           start += strides[i])
        ++count;
      if (count == 0)
        fits = false;
      want.push_back(count);
    }
    std::string why;
    FailureOr<Shape> got = convShape(in, w, strides, pads, dil, g, why);
    if (!fits) {
      ++tooSmall;
      ASSERT_TRUE(failed(got)) << str(in) << " " << str(w);
      EXPECT_EQ(why, "conv kernel larger than the padded input");
      continue;
    }
    ++ok;
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), want)
        << "in " << str(in) << " w " << str(w) << " s " << str(strides)
        << " p " << str(pads) << " d " << str(dil) << " g " << g;

    // Channel/group mismatches.
    if (g > 1) {
      EXPECT_TRUE(failed(convShape(in, w, strides, pads, dil, g + 1, why)));
      EXPECT_NE(why.find("conv channels"), std::string::npos) << why;
    }
    Vec w2 = w;
    w2[1] += 1;
    EXPECT_TRUE(failed(convShape(in, w2, strides, pads, dil, g, why)));
    EXPECT_TRUE(failed(convShape(in, w, strides, pads, dil, 0, why)));
    // Attribute arity and range.
    Vec bad = strides;
    bad.push_back(1);
    EXPECT_TRUE(failed(convShape(in, w, bad, pads, dil, g, why)));
    EXPECT_TRUE(failed(convShape(in, w, strides, padsB, dil, g, why)));
    bad = strides;
    bad[0] = 0;
    EXPECT_TRUE(failed(convShape(in, w, bad, pads, dil, g, why)));
    bad = pads;
    bad[r.range(0, bad.size() - 1)] = -1;
    EXPECT_TRUE(failed(convShape(in, w, strides, bad, dil, g, why)));
    bad = dil;
    bad[0] = 0;
    EXPECT_TRUE(failed(convShape(in, w, strides, pads, bad, g, why)));
  }
  EXPECT_GT(ok, 2000);
  EXPECT_GT(tooSmall, 50);
  std::string why;
  EXPECT_TRUE(failed(convShape({1, 3}, {4, 3}, {}, {}, {}, 1, why)));
  EXPECT_TRUE(failed(convShape({1, 3, 8}, {4, 3, 3, 3}, {1}, {0, 0}, {1}, 1, why)));
}

//===----------------------------------------------------------------------===//
// attentionShape
//===----------------------------------------------------------------------===//

TEST(DitcShapes, AttentionRandomGqaAndMask) {
  Rng r(909);
  for (int iter = 0; iter < 3000; ++iter) {
    int64_t b = r.range(1, 3), hkv = r.range(1, 4), grp = r.range(1, 4);
    int64_t hq = hkv * grp, sq = r.range(1, 9), skv = r.range(1, 9);
    int64_t d = r.range(1, 16), dv = r.range(1, 16);
    Vec q{b, hq, sq, d}, k{b, hkv, skv, d}, v{b, hkv, skv, dv};
    Vec full{b, hq, sq, skv};
    std::string why;
    Vec want{b, hq, sq, dv};

    FailureOr<Shape> got = attentionShape(q, k, v, std::nullopt, why);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), want);

    Vec mask = broadcastableTo(r, full);
    got = attentionShape(q, k, v, ArrayRef<int64_t>(mask), why);
    ASSERT_TRUE(succeeded(got)) << why << " mask " << str(mask);
    EXPECT_EQ(toVec(*got), want);

    // A mask dimension that is neither 1 nor the full size.
    Vec badMask = full;
    size_t at = r.range(0, 3);
    badMask[at] = full[at] + r.range(1, 3);
    EXPECT_TRUE(
        failed(attentionShape(q, k, v, ArrayRef<int64_t>(badMask), why)));
    EXPECT_NE(why.find("does not broadcast to " + shapeStr(full)),
              std::string::npos)
        << why;
    Vec tooLong = full;
    tooLong.insert(tooLong.begin(), 1);
    EXPECT_TRUE(
        failed(attentionShape(q, k, v, ArrayRef<int64_t>(tooLong), why)));

    // Query heads that are not a multiple of the kv heads.
    if (hkv > 1) {
      Vec q2 = q;
      q2[1] = hq + 1;
      if (q2[1] % hkv) {
        EXPECT_TRUE(failed(attentionShape(q2, k, v, std::nullopt, why)));
        EXPECT_NE(why.find("not a multiple"), std::string::npos) << why;
      }
    }
    // Each disagreement on its own.
    Vec k2 = k;
    k2[3] += 1; // head dim
    EXPECT_TRUE(failed(attentionShape(q, k2, v, std::nullopt, why)));
    Vec v2 = v;
    v2[2] += 1; // kv length
    EXPECT_TRUE(failed(attentionShape(q, k, v2, std::nullopt, why)));
    v2 = v;
    v2[1] += 1; // kv heads
    EXPECT_TRUE(failed(attentionShape(q, k, v2, std::nullopt, why)));
    k2 = k;
    k2[0] += 1; // batch
    EXPECT_TRUE(failed(attentionShape(q, k2, v, std::nullopt, why)));
    EXPECT_TRUE(failed(attentionShape({b, hq, sq}, k, v, std::nullopt, why)));
  }
  std::string why;
  Vec z{1, 0, 4, 8};
  EXPECT_TRUE(failed(attentionShape({1, 2, 4, 8}, z, z, std::nullopt, why)));
}

//===----------------------------------------------------------------------===//
// parseEinsum / einsumShape
//===----------------------------------------------------------------------===//

namespace {
FailureOr<Shape> einsum(StringRef eq, const std::vector<Vec> &shapes,
                        std::string &why, EinsumSpec *specOut = nullptr) {
  Vec ranks;
  for (const Vec &s : shapes)
    ranks.push_back(s.size());
  FailureOr<EinsumSpec> spec = parseEinsum(eq, ranks, why);
  if (failed(spec))
    return failure();
  if (specOut)
    *specOut = *spec;
  SmallVector<ArrayRef<int64_t>> refs(shapes.begin(), shapes.end());
  return einsumShape(*spec, refs, why);
}
} // namespace

TEST(DitcShapes, EinsumFixed) {
  std::string why;
  EinsumSpec spec;
  FailureOr<Shape> s = einsum("ij,jk->ik", {{2, 3}, {3, 4}}, why, &spec);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{2, 4}));
  EXPECT_EQ(einsumStr(spec), "ij,jk->ik");

  // Spaces are ignored; implicit output is the once-seen letters, sorted.
  s = einsum(" b a ", {{2, 3}}, why, &spec);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(spec.output, "ab");
  EXPECT_EQ(toVec(*s), (Vec{3, 2}));
  s = einsum("ii", {{3, 3}}, why, &spec); // trace
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(spec.output, "");
  EXPECT_TRUE(s->empty());
  s = einsum("ij,jk", {{2, 3}, {3, 4}}, why, &spec);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(spec.output, "ik");

  // Ellipsis: right-aligned batch dims that broadcast.
  s = einsum("...ij,...jk->...ik", {{2, 3, 4, 5}, {3, 5, 6}}, why, &spec);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{2, 3, 4, 6}));
  EXPECT_EQ(spec.inputs[0].size(), 4u);
  EXPECT_EQ(spec.inputs[1].size(), 3u);
  EXPECT_EQ(spec.output.size(), 4u);
  // The batch letter of the rank-3 operand is the last one of the rank-4's.
  EXPECT_EQ(spec.inputs[1][0], spec.inputs[0][1]);
  s = einsum("...ij,...jk->...ik", {{2, 1, 4, 5}, {3, 5, 6}}, why);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{2, 3, 4, 6}));
  // Implicit output with an ellipsis puts the ellipsis dims first.
  s = einsum("...ij,...jk", {{7, 4, 5}, {5, 6}}, why, &spec);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{7, 4, 6}));
  // Ellipsis covering zero dims.
  s = einsum("...i->i...", {{5}}, why);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{5}));
  s = einsum("i...->...i", {{5, 2, 3}}, why);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{2, 3, 5}));
  // Size-1 index broadcasts against a larger one.
  s = einsum("ij,ij->ij", {{1, 3}, {4, 3}}, why);
  ASSERT_TRUE(succeeded(s)) << why;
  EXPECT_EQ(toVec(*s), (Vec{4, 3}));

  // Errors.
  EXPECT_TRUE(failed(einsum("ij,jk->ik", {{2, 3}}, why)));
  EXPECT_EQ(why, "einsum 'ij,jk->ik' has 2 terms for 1 inputs");
  EXPECT_TRUE(failed(einsum("ij,jk->ik", {{2, 3}, {3, 4, 5}}, why)));
  EXPECT_EQ(why, "einsum term 'jk' does not match rank 3");
  EXPECT_TRUE(failed(einsum("i1,jk->ik", {{2, 3}, {3, 4}}, why)));
  EXPECT_NE(why.find("bad character '1'"), std::string::npos) << why;
  EXPECT_TRUE(failed(einsum("ij,jk->iz", {{2, 3}, {3, 4}}, why)));
  EXPECT_EQ(why, "einsum output index 'z' appears in no input");
  EXPECT_TRUE(failed(einsum("ij,jk->ik", {{2, 3}, {4, 5}}, why)));
  EXPECT_EQ(why, "einsum index 'j' has sizes 3 and 4");
  EXPECT_TRUE(failed(einsum("...ij,jk", {{3}, {3, 4}}, why))); // rank < named
  EXPECT_TRUE(failed(einsum("ij->i-j", {{2, 3}}, why)));
}

// Malformed ellipses: a lone '.' or two ellipses in one term are not valid
// einsum syntax and should be rejected, not read as an index letter.
// DISABLED: parseEinsum accepts them (see the unit-test report).
TEST(DitcShapes, EinsumRejectsMalformedEllipsis) {
  std::string why;
  EXPECT_TRUE(failed(einsum("i.j", {{2, 3, 4}}, why)));
  EXPECT_TRUE(failed(einsum("ij,jk->i.k", {{2, 3}, {3, 4}}, why)));
  EXPECT_TRUE(failed(einsum("...i...", {{2, 3, 4}}, why)));
  EXPECT_TRUE(failed(einsum("i....", {{2, 3}}, why)));
}

TEST(DitcShapes, EinsumRandomExplicitAndImplicit) {
  Rng r(1010);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  for (int iter = 0; iter < 2000; ++iter) {
    // Random letters with sizes; random terms over them.
    int nLetters = r.range(1, 6);
    std::string pool;
    std::map<char, int64_t> size;
    while ((int)pool.size() < nLetters) {
      char c = letters[r.range(0, 25)];
      if (pool.find(c) == std::string::npos) {
        pool += c;
        size[c] = r.range(2, 7);
      }
    }
    int nInputs = r.range(1, 3);
    std::vector<std::string> terms;
    std::vector<Vec> shapes;
    for (int i = 0; i < nInputs; ++i) {
      std::string t;
      Vec s;
      for (int k = r.range(0, 4); k > 0; --k) {
        char c = pool[r.range(0, pool.size() - 1)];
        t += c;
        s.push_back(size[c]);
      }
      terms.push_back(t);
      shapes.push_back(s);
    }
    std::string eq;
    for (int i = 0; i < nInputs; ++i)
      eq += (i ? "," : "") + terms[i];

    // Implicit: letters seen exactly once, alphabetically.
    std::map<char, int> count;
    for (const std::string &t : terms)
      for (char c : t)
        count[c]++;
    std::string implicitOut;
    for (auto [c, n] : count)
      if (n == 1)
        implicitOut += c;
    std::string why;
    EinsumSpec spec;
    FailureOr<Shape> got = einsum(eq, shapes, why, &spec);
    ASSERT_TRUE(succeeded(got)) << eq << ": " << why;
    EXPECT_EQ(spec.output, implicitOut) << eq;
    Vec want;
    for (char c : implicitOut)
      want.push_back(size[c]);
    EXPECT_EQ(toVec(*got), want) << eq;

    // Explicit: a random subset of the used letters in random order.
    std::string used;
    for (auto [c, n] : count)
      used += c;
    std::shuffle(used.begin(), used.end(), r.g);
    std::string out = used.substr(0, r.range(0, used.size()));
    got = einsum(eq + "->" + out, shapes, why, &spec);
    ASSERT_TRUE(succeeded(got)) << eq << "->" << out << ": " << why;
    EXPECT_EQ(einsumStr(spec), eq + "->" + out);
    want.clear();
    for (char c : out)
      want.push_back(size[c]);
    EXPECT_EQ(toVec(*got), want) << eq << "->" << out;

    // A size conflict on a repeated letter is an error.
    for (int i = 0; i < nInputs; ++i) {
      if (terms[i].empty() || count[terms[i][0]] < 2)
        continue;
      std::vector<Vec> bad = shapes;
      bad[i][0] = size[terms[i][0]] + 1;
      EXPECT_TRUE(failed(einsum(eq + "->" + out, bad, why))) << eq;
      EXPECT_NE(why.find("has sizes"), std::string::npos) << why;
      break;
    }
    // A rank that does not match its term is an error.
    std::vector<Vec> bad = shapes;
    bad[0].push_back(2);
    EXPECT_TRUE(failed(einsum(eq, bad, why))) << eq;
  }
}

TEST(DitcShapes, EinsumRandomEllipsisBatch) {
  // "...mk,...kn->...mn" with random broadcastable batch dims against the
  // matmul rule.
  Rng r(1111);
  for (int iter = 0; iter < 1000; ++iter) {
    Vec batch = r.shape(r.range(0, 4), 2, 5);
    Vec lb = broadcastableTo(r, batch), rb = broadcastableTo(r, batch);
    int64_t m = r.range(1, 6), k = r.range(1, 6), n = r.range(1, 6);
    Vec lhs = lb, rhs = rb;
    lhs.insert(lhs.end(), {m, k});
    rhs.insert(rhs.end(), {k, n});
    std::string why;
    FailureOr<Shape> want = matmulShape(lhs, rhs, why);
    ASSERT_TRUE(succeeded(want)) << why;
    EinsumSpec spec;
    FailureOr<Shape> got = einsum("...mk,...kn->...mn", {lhs, rhs}, why, &spec);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), toVec(*want)) << str(lhs) << " x " << str(rhs);
    got = einsum("...mk,...kn", {lhs, rhs}, why);
    ASSERT_TRUE(succeeded(got)) << why;
    EXPECT_EQ(toVec(*got), toVec(*want)) << "implicit";
    // Reference for refBroadcast on the batch.
    std::optional<Vec> b = refBroadcast({lb, rb});
    ASSERT_TRUE(b);
    EXPECT_EQ(Vec(got->begin(), got->end() - 2), *b);
  }
}
