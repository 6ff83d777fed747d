//===- HostTensorTest.cpp - host folding of lib/Importer/Onnx/HostTensor.h ===//
//
// Every fold is compared with a naive reference computed here (multi-index
// arithmetic written independently of HostTensor.cpp) on random data with
// fixed seeds. Data is never all zeros.
//
//===----------------------------------------------------------------------===//

#include "lib/Importer/Onnx/HostTensor.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::ditc;
using namespace mlir::ditc::onnx_import;

namespace {

using Vec = std::vector<int64_t>;

std::string str(ArrayRef<int64_t> a) {
  std::string s = "[";
  for (size_t i = 0; i < a.size(); ++i)
    s += (i ? "," : "") + std::to_string(a[i]);
  return s + "]";
}

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int64_t range(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g);
  }
  double real(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(g);
  }
  bool coin(double p = 0.5) { return std::bernoulli_distribution(p)(g); }
  Vec shape(int64_t rank, int64_t lo, int64_t hi) {
    Vec s;
    for (int64_t i = 0; i < rank; ++i)
      s.push_back(range(lo, hi));
    return s;
  }
};

int64_t count(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Row-major multi-index of linear position `lin` (least significant last).
Vec unravel(int64_t lin, ArrayRef<int64_t> shape) {
  Vec idx(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = lin % shape[k];
    lin /= shape[k];
  }
  return idx;
}

int64_t ravel(ArrayRef<int64_t> idx, ArrayRef<int64_t> shape) {
  int64_t lin = 0;
  for (size_t k = 0; k < shape.size(); ++k)
    lin = lin * shape[k] + idx[k];
  return lin;
}

class HostTensorTest : public ::testing::Test {
protected:
  MLIRContext ctx;
  Type f32() { return Float32Type::get(&ctx); }
  Type f64() { return Float64Type::get(&ctx); }
  Type f16() { return Float16Type::get(&ctx); }
  Type bf16() { return BFloat16Type::get(&ctx); }
  Type i(unsigned w) { return IntegerType::get(&ctx, w); }
  Type ui(unsigned w) { return IntegerType::get(&ctx, w, IntegerType::Unsigned); }

  /// A random tensor: floats rounded to f32 in [-8, 8], integers in [-50, 50]
  /// (booleans 0/1), with at least one non-zero element.
  HostTensor random(Rng &r, Type et, ArrayRef<int64_t> shape) {
    HostTensor t(et, shape);
    bool nonZero = false;
    for (int64_t k = 0; k < t.size(); ++k) {
      if (t.isFloat())
        t.f[k] = (double)(float)r.real(-8, 8);
      else if (et.isInteger(1))
        t.i[k] = r.coin();
      else if (isa<IntegerType>(et) && cast<IntegerType>(et).isUnsigned())
        t.i[k] = r.range(0, 100);
      else
        t.i[k] = r.range(-50, 50);
      nonZero |= t.getF(k) != 0;
    }
    if (!nonZero && t.size()) {
      if (t.isFloat())
        t.f[0] = 1.5;
      else
        t.i[0] = 1;
    }
    return t;
  }
  Type randomType(Rng &r) {
    switch (r.range(0, 3)) {
    case 0:
      return f32();
    case 1:
      return i(64);
    case 2:
      return i(32);
    default:
      return f64();
    }
  }
};

void expectSameValues(const HostTensor &got, const HostTensor &want,
                      const std::string &what) {
  ASSERT_EQ(got.elementType, want.elementType) << what;
  ASSERT_EQ(Vec(got.shape.begin(), got.shape.end()),
            Vec(want.shape.begin(), want.shape.end()))
      << what;
  ASSERT_EQ(got.size(), want.size()) << what;
  ASSERT_EQ(got.f.size(), want.f.size()) << what;
  ASSERT_EQ(got.i.size(), want.i.size()) << what;
  for (size_t k = 0; k < want.f.size(); ++k)
    ASSERT_EQ(got.f[k], want.f[k]) << what << " at " << k;
  for (size_t k = 0; k < want.i.size(); ++k)
    ASSERT_EQ(got.i[k], want.i[k]) << what << " at " << k;
}

/// Round-to-nearest-even to a binary float with `mant` fraction bits,
/// minimum normal exponent `emin` and overflow at 2^(emax+1) (IEEE-style,
/// computed with scaling rather than APFloat).
double refRound(double x, int mant, int emin, int emax) {
  if (x == 0 || !std::isfinite(x))
    return x;
  int e;
  (void)std::frexp(x, &e); // x = m * 2^e, m in [0.5, 1)
  int lead = std::max(e - 1, emin);
  double quantum = std::ldexp(1.0, lead - mant);
  double r = std::nearbyint(x / quantum) * quantum;
  if (std::fabs(r) >= std::ldexp(1.0, emax + 1))
    return std::copysign(INFINITY, x);
  return r;
}
double refHalf(double x) { return refRound(x, 10, -14, 15); }
double refBf16(double x) { return refRound(x, 7, -126, 127); }
double refF32(double x) { return refRound(x, 23, -126, 127); }

} // namespace

//===----------------------------------------------------------------------===//
// Reference rounding sanity (guards the reference, not HostTensor)
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, ReferenceRoundingIsSane) {
  Rng r(1);
  for (int k = 0; k < 100000; ++k) {
    double x = r.real(-1, 1) * std::ldexp(1.0, r.range(-140, 130));
    ASSERT_EQ(refF32(x), (double)(float)x) << x;
  }
  EXPECT_EQ(refHalf(65504), 65504);
  EXPECT_EQ(refHalf(65519), 65504);
  EXPECT_EQ(refHalf(65520), INFINITY);
  EXPECT_EQ(refHalf(1.0 + std::ldexp(1.0, -11)), 1.0); // tie to even
  EXPECT_EQ(refHalf(std::ldexp(1.0, -25)), 0.0);        // tie to even (0)
  EXPECT_EQ(refHalf(std::ldexp(1.5, -25)), std::ldexp(1.0, -24));
}

//===----------------------------------------------------------------------===//
// normalize / set
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, NormalizeFloatRounding) {
  Rng r(2);
  HostTensor h16(f16(), {1}), hb(bf16(), {1}), h32(f32(), {1}), h64(f64(), {1});
  int changed16 = 0, changedB = 0;
  for (int k = 0; k < 20000; ++k) {
    double x = r.real(-1, 1) * std::ldexp(1.0, r.range(-30, 20));
    ASSERT_EQ(h16.normalize(x), refHalf(x)) << x;
    ASSERT_EQ(hb.normalize(x), refBf16(x)) << x;
    ASSERT_EQ(h32.normalize(x), (double)(float)x) << x;
    ASSERT_EQ(h64.normalize(x), x) << x;
    changed16 += h16.normalize(x) != x;
    changedB += hb.normalize(x) != x;
    h16.set(0, x);
    ASSERT_EQ(h16.f[0], refHalf(x));
  }
  EXPECT_GT(changed16, 10000);
  EXPECT_GT(changedB, 10000);
  EXPECT_EQ(h16.normalize(70000.0), INFINITY);
  EXPECT_EQ(h16.normalize(-70000.0), -INFINITY);
  EXPECT_TRUE(std::isnan(h16.normalize(NAN)));
}

TEST_F(HostTensorTest, NormalizeIntegerWrapping) {
  Rng r(3);
  for (int k = 0; k < 20000; ++k) {
    int64_t v = r.coin() ? r.range(-100000, 100000)
                         : (int64_t)r.g(); // full 64-bit pattern
    EXPECT_EQ(HostTensor(i(8), {1}).normalizeInt(v), (int64_t)(int8_t)v) << v;
    EXPECT_EQ(HostTensor(ui(8), {1}).normalizeInt(v), (int64_t)(uint8_t)v) << v;
    EXPECT_EQ(HostTensor(i(16), {1}).normalizeInt(v), (int64_t)(int16_t)v) << v;
    EXPECT_EQ(HostTensor(i(32), {1}).normalizeInt(v), (int64_t)(int32_t)v) << v;
    EXPECT_EQ(HostTensor(ui(32), {1}).normalizeInt(v), (int64_t)(uint32_t)v)
        << v;
    EXPECT_EQ(HostTensor(i(64), {1}).normalizeInt(v), v);
    EXPECT_EQ(HostTensor(i(1), {1}).normalizeInt(v), v != 0 ? 1 : 0) << v;
  }
  HostTensor t(i(32), {2});
  t.set(0, 3.9);
  t.set(1, -3.9);
  EXPECT_EQ(t.i[0], 3);
  EXPECT_EQ(t.i[1], -3);
  EXPECT_EQ(t.normalize(INFINITY), 0);
  EXPECT_EQ(t.normalize(NAN), 0);
  EXPECT_EQ(t.normalize(-7.5), -7);
}

//===----------------------------------------------------------------------===//
// foldBroadcast
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, FoldBroadcastAgainstReference) {
  Rng r(10);
  for (int iter = 0; iter < 400; ++iter) {
    Vec out = r.shape(r.range(0, 4), 1, 5);
    int n = r.range(1, 3);
    bool ints = r.coin();
    std::vector<HostTensor> ins;
    for (int k = 0; k < n; ++k) {
      size_t rank = r.range(0, out.size());
      Vec s(out.end() - rank, out.end());
      for (int64_t &d : s)
        if (r.coin(0.4))
          d = 1;
      ins.push_back(random(r, ints ? i(64) : f32(), s));
    }
    // The result type: an integer result of a narrower type wraps.
    Type rt = ints ? (r.coin() ? i(8) : i(64)) : (r.coin() ? f32() : f64());
    SmallVector<const HostTensor *> ptrs;
    for (const HostTensor &t : ins)
      ptrs.push_back(&t);
    auto fn = [](ArrayRef<double> v) {
      double acc = 0.25;
      for (size_t k = 0; k < v.size(); ++k)
        acc = acc * 3 + v[k] * (k + 1);
      return acc;
    };
    auto intFn = [](ArrayRef<int64_t> v) {
      int64_t acc = 7;
      for (size_t k = 0; k < v.size(); ++k)
        acc = acc * 5 - v[k] * (int64_t)(k + 2);
      return acc;
    };
    HostTensor got = foldBroadcast(ptrs, out, rt, fn, intFn);

    HostTensor want(rt, out);
    for (int64_t lin = 0; lin < count(out); ++lin) {
      Vec idx = unravel(lin, out);
      std::vector<double> dv;
      std::vector<int64_t> iv;
      for (const HostTensor &t : ins) {
        Vec sub(t.shape.size());
        for (size_t k = 0; k < t.shape.size(); ++k) {
          size_t o = out.size() - t.shape.size() + k;
          sub[k] = t.shape[k] == 1 ? 0 : idx[o];
        }
        int64_t p = ravel(sub, t.shape);
        dv.push_back(t.getF(p));
        iv.push_back(t.getI(p));
      }
      if (ints) {
        int64_t v = intFn(iv);
        if (rt.isInteger(8))
          want.i[lin] = (int8_t)v;
        else
          want.i[lin] = v;
      } else {
        double v = fn(dv);
        want.f[lin] = rt.isF32() ? (double)(float)v : v;
      }
    }
    expectSameValues(got, want, "broadcast to " + str(out));
  }
}

TEST_F(HostTensorTest, FoldBroadcastMixedAndNoIntFn) {
  // Integer operands without intFn, and int+float operands, go through fn.
  Rng r(11);
  for (int iter = 0; iter < 100; ++iter) {
    Vec s = r.shape(r.range(1, 3), 1, 4);
    HostTensor a = random(r, i(64), s);
    HostTensor b = random(r, r.coin() ? f32() : i(32), s);
    bool useIntFn = r.coin();
    auto fn = [](ArrayRef<double> v) { return v[0] / 4.0 - v[1]; };
    std::function<int64_t(ArrayRef<int64_t>)> intFn;
    if (useIntFn)
      intFn = [](ArrayRef<int64_t> v) { return v[0] * 1000 + v[1]; };
    Type rt = r.coin() ? f32() : i(64);
    HostTensor got = foldBroadcast({&a, &b}, s, rt, fn, intFn);
    HostTensor want(rt, s);
    for (int64_t k = 0; k < count(s); ++k) {
      bool intPath = useIntFn && !b.isFloat();
      double v = intPath ? (double)(a.i[k] * 1000 + b.getI(k))
                         : a.i[k] / 4.0 - b.getF(k);
      if (rt.isF32())
        want.f[k] = (double)(float)v;
      else
        want.i[k] = (int64_t)v; // truncation toward zero
    }
    expectSameValues(got, want, "mixed");
  }
}

//===----------------------------------------------------------------------===//
// foldTranspose / foldConcat / foldSlice / foldGather
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, FoldTransposeAgainstReference) {
  Rng r(20);
  for (int iter = 0; iter < 400; ++iter) {
    Vec in = r.shape(r.range(0, 5), 1, 5);
    Vec perm(in.size());
    for (size_t k = 0; k < perm.size(); ++k)
      perm[k] = k;
    std::shuffle(perm.begin(), perm.end(), r.g);
    Vec out;
    for (int64_t p : perm)
      out.push_back(in[p]);
    HostTensor t = random(r, randomType(r), in);
    HostTensor got = foldTranspose(t, perm, out);
    HostTensor want(t.elementType, out);
    for (int64_t lin = 0; lin < count(out); ++lin) {
      Vec oi = unravel(lin, out);
      Vec ii(in.size());
      for (size_t k = 0; k < perm.size(); ++k)
        ii[perm[k]] = oi[k];
      int64_t src = ravel(ii, in);
      if (t.isFloat())
        want.f[lin] = t.f[src];
      else
        want.i[lin] = t.i[src];
    }
    expectSameValues(got, want, "transpose " + str(in) + " perm " + str(perm));
  }
}

TEST_F(HostTensorTest, FoldConcatAgainstReference) {
  Rng r(21);
  for (int iter = 0; iter < 400; ++iter) {
    Vec base = r.shape(r.range(1, 4), 1, 4);
    int64_t axis = r.range(0, base.size() - 1);
    Type et = randomType(r);
    std::vector<HostTensor> ins;
    Vec out = base;
    out[axis] = 0;
    for (int k = r.range(1, 4); k > 0; --k) {
      Vec s = base;
      s[axis] = r.range(0, 3);
      out[axis] += s[axis];
      ins.push_back(random(r, et, s));
    }
    SmallVector<const HostTensor *> ptrs;
    for (const HostTensor &t : ins)
      ptrs.push_back(&t);
    HostTensor got = foldConcat(ptrs, axis, out);
    HostTensor want(et, out);
    for (int64_t lin = 0; lin < count(out); ++lin) {
      Vec idx = unravel(lin, out);
      int64_t a = idx[axis];
      size_t which = 0;
      while (a >= ins[which].shape[axis])
        a -= ins[which++].shape[axis];
      idx[axis] = a;
      const HostTensor &src = ins[which];
      int64_t p = ravel(idx, src.shape);
      if (src.isFloat())
        want.f[lin] = src.f[p];
      else
        want.i[lin] = src.i[p];
    }
    expectSameValues(got, want, "concat axis " + std::to_string(axis));
  }
}

TEST_F(HostTensorTest, FoldSliceNegativeStepsAgainstReference) {
  Rng r(22);
  int negative = 0;
  for (int iter = 0; iter < 500; ++iter) {
    Vec in = r.shape(r.range(1, 4), 1, 7);
    Vec offsets, steps, out;
    for (int64_t d : in) {
      int64_t step = r.range(1, 3) * (r.coin() ? -1 : 1);
      negative += step < 0;
      int64_t start = r.range(0, d - 1);
      // Elements start, start+step, ... that stay inside [0, d).
      int64_t avail = step > 0 ? (d - 1 - start) / step + 1 : start / -step + 1;
      offsets.push_back(start);
      steps.push_back(step);
      out.push_back(r.range(0, avail));
    }
    HostTensor t = random(r, randomType(r), in);
    HostTensor got = foldSlice(t, offsets, steps, out);
    HostTensor want(t.elementType, out);
    for (int64_t lin = 0; lin < count(out); ++lin) {
      Vec idx = unravel(lin, out);
      Vec src(in.size());
      for (size_t k = 0; k < in.size(); ++k) {
        src[k] = offsets[k] + idx[k] * steps[k];
        ASSERT_TRUE(src[k] >= 0 && src[k] < in[k]);
      }
      int64_t p = ravel(src, in);
      if (t.isFloat())
        want.f[lin] = t.f[p];
      else
        want.i[lin] = t.i[p];
    }
    expectSameValues(got, want,
                     "slice " + str(in) + " off " + str(offsets) + " steps " +
                         str(steps));
  }
  EXPECT_GT(negative, 200);
}

TEST_F(HostTensorTest, FoldGatherNegativeIndicesAgainstReference) {
  Rng r(23);
  int negative = 0;
  for (int iter = 0; iter < 500; ++iter) {
    Vec data = r.shape(r.range(1, 4), 1, 5);
    int64_t axis = r.range(0, data.size() - 1);
    Vec ishape = r.shape(r.range(0, 2), 1, 4);
    HostTensor idx(r.coin() ? i(64) : i(32), ishape);
    for (int64_t &v : idx.i) {
      v = r.range(-data[axis], data[axis] - 1);
      negative += v < 0;
    }
    Vec out(data.begin(), data.begin() + axis);
    out.insert(out.end(), ishape.begin(), ishape.end());
    out.insert(out.end(), data.begin() + axis + 1, data.end());
    HostTensor t = random(r, randomType(r), data);
    HostTensor got = foldGather(t, idx, axis, out);
    HostTensor want(t.elementType, out);
    for (int64_t lin = 0; lin < count(out); ++lin) {
      Vec o = unravel(lin, out);
      Vec ii(o.begin() + axis, o.begin() + axis + ishape.size());
      int64_t g = idx.i[ravel(ii, ishape)];
      if (g < 0)
        g += data[axis];
      Vec src(o.begin(), o.begin() + axis);
      src.push_back(g);
      src.insert(src.end(), o.begin() + axis + ishape.size(), o.end());
      int64_t p = ravel(src, data);
      if (t.isFloat())
        want.f[lin] = t.f[p];
      else
        want.i[lin] = t.i[p];
    }
    expectSameValues(got, want,
                     "gather " + str(data) + " axis " + std::to_string(axis) +
                         " indices " + str(ishape));
  }
  EXPECT_GT(negative, 300);
}

TEST_F(HostTensorTest, FoldReshapeKeepsData) {
  Rng r(24);
  HostTensor t = random(r, f32(), {2, 3, 4});
  HostTensor got = foldReshape(t, {4, 6});
  EXPECT_EQ(Vec(got.shape.begin(), got.shape.end()), (Vec{4, 6}));
  EXPECT_EQ(got.f, t.f);
}

//===----------------------------------------------------------------------===//
// foldReduce
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, FoldReduceAgainstReference) {
  Rng r(30);
  const char *kinds[] = {"sum", "mean", "max"};
  int seen[3] = {0, 0, 0};
  for (int iter = 0; iter < 900; ++iter) {
    Vec in = r.shape(r.range(1, 4), 1, 5);
    Vec axes;
    for (int64_t a = 0; a < (int64_t)in.size(); ++a)
      if (r.coin(0.5))
        axes.push_back(a);
    if (axes.empty())
      axes.push_back(r.range(0, in.size() - 1));
    bool keep = r.coin();
    int kindIdx = iter % 3;
    StringRef kind = kinds[kindIdx];
    seen[kindIdx]++;
    Type et = r.coin() ? f32() : i(r.coin() ? 64 : 32);
    HostTensor t = random(r, et, in);
    Vec out, outNoKeep;
    for (int64_t a = 0; a < (int64_t)in.size(); ++a) {
      bool red = llvm::is_contained(axes, a);
      if (!red)
        outNoKeep.push_back(in[a]);
      out.push_back(red ? 1 : in[a]);
    }
    Vec outShape = keep ? out : outNoKeep;
    HostTensor got = foldReduce(t, axes, outShape, kind);

    // Reference: for every output element, walk the reduced sub-box.
    HostTensor want(et, outShape);
    for (int64_t lin = 0; lin < count(out); ++lin) {
      Vec o = unravel(lin, out); // keepdims index, reduced axes at 0
      double acc = kind == "max" ? -INFINITY : 0;
      int64_t n = 0;
      for (int64_t src = 0; src < count(in); ++src) {
        Vec si = unravel(src, in);
        bool match = true;
        for (size_t k = 0; k < in.size(); ++k)
          if (!llvm::is_contained(axes, (int64_t)k) && si[k] != o[k])
            match = false;
        if (!match)
          continue;
        double v = t.getF(src);
        acc = kind == "max" ? std::max(acc, v) : acc + v;
        ++n;
      }
      if (kind == "mean")
        acc /= n;
      if (want.isFloat())
        want.f[lin] = (double)(float)acc;
      else
        want.i[lin] = (int64_t)acc; // mean of ints truncates
    }
    ASSERT_EQ(Vec(got.shape.begin(), got.shape.end()), outShape);
    ASSERT_EQ(got.elementType, et);
    ASSERT_EQ(got.size(), want.size());
    for (int64_t k = 0; k < want.size(); ++k) {
      if (want.isFloat())
        ASSERT_NEAR(got.f[k], want.f[k], 1e-5 * (1 + std::fabs(want.f[k])))
            << kind.str() << " " << str(in) << " axes " << str(axes) << " at "
            << k;
      else
        ASSERT_EQ(got.i[k], want.i[k])
            << kind.str() << " " << str(in) << " axes " << str(axes) << " at "
            << k;
    }
  }
  EXPECT_GT(seen[0] + seen[1] + seen[2], 800);
}

//===----------------------------------------------------------------------===//
// foldTrilu
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, FoldTriluAgainstReference) {
  Rng r(40);
  for (int iter = 0; iter < 500; ++iter) {
    Vec in = r.shape(r.range(2, 4), 1, 6);
    int64_t k = r.range(-7, 7);
    bool upper = r.coin();
    HostTensor t = random(r, randomType(r), in);
    HostTensor got = foldTrilu(t, k, upper);
    HostTensor want = t;
    for (int64_t lin = 0; lin < count(in); ++lin) {
      Vec idx = unravel(lin, in);
      int64_t row = idx[in.size() - 2], col = idx[in.size() - 1];
      bool keep = upper ? col >= row + k : col <= row + k;
      if (!keep) {
        if (t.isFloat())
          want.f[lin] = 0;
        else
          want.i[lin] = 0;
      }
    }
    expectSameValues(got, want,
                     "trilu " + str(in) + " k " + std::to_string(k) +
                         (upper ? " upper" : " lower"));
  }
}

//===----------------------------------------------------------------------===//
// foldCast
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, FoldCastFloatToIntTruncates) {
  Rng r(50);
  HostTensor in(f32(), {257});
  for (double &v : in.f)
    v = (double)(float)r.real(-120, 120);
  for (Type to : {i(64), i(32), i(8), i(16)}) {
    HostTensor got = foldCast(in, to);
    ASSERT_EQ(got.elementType, to);
    ASSERT_EQ(got.i.size(), in.f.size());
    EXPECT_TRUE(got.f.empty());
    for (size_t k = 0; k < in.f.size(); ++k)
      ASSERT_EQ(got.i[k], (int64_t)std::trunc(in.f[k])) << in.f[k];
  }
  // Out-of-range values of a narrow type wrap like the integer casts.
  HostTensor big(f64(), {3});
  big.f = {300.7, -129.2, 70000.5};
  HostTensor got = foldCast(big, i(8));
  EXPECT_EQ(got.i, (std::vector<int64_t>{(int8_t)300, (int8_t)-129,
                                         (int8_t)70000}));
  got = foldCast(big, ui(8));
  EXPECT_EQ(got.i[0], 300 - 256);
}

TEST_F(HostTensorTest, FoldCastToBool) {
  Rng r(51);
  HostTensor ints(i(64), {300});
  for (int64_t &v : ints.i)
    v = r.coin(0.3) ? 0 : r.range(-1000, 1000) | (int64_t(1) << r.range(0, 62));
  HostTensor floats(f32(), {300});
  for (double &v : floats.f)
    v = r.coin(0.3) ? (r.coin() ? 0.0 : -0.0) : (double)(float)r.real(-1, 1);
  HostTensor gi = foldCast(ints, i(1)), gf = foldCast(floats, i(1));
  int trues = 0;
  for (size_t k = 0; k < 300; ++k) {
    ASSERT_EQ(gi.i[k], ints.i[k] != 0 ? 1 : 0) << ints.i[k];
    ASSERT_EQ(gf.i[k], floats.f[k] != 0 ? 1 : 0) << floats.f[k];
    trues += gi.i[k] + gf.i[k];
  }
  EXPECT_GT(trues, 300);
  EXPECT_LT(trues, 600);
  // Values above 2^32 whose low bits are zero are still true.
  HostTensor hi(i(64), {1});
  hi.i[0] = int64_t(1) << 40;
  EXPECT_EQ(foldCast(hi, i(1)).i[0], 1);
  // And bool back to float/int.
  HostTensor back = foldCast(gi, f32());
  for (size_t k = 0; k < 300; ++k)
    ASSERT_EQ(back.f[k], (double)gi.i[k]);
}

TEST_F(HostTensorTest, FoldCastFloatRounding) {
  Rng r(52);
  HostTensor in(f64(), {2000});
  for (double &v : in.f)
    v = r.real(-1, 1) * std::ldexp(1.0, r.range(-28, 17));
  HostTensor h = foldCast(in, f16()), b = foldCast(in, bf16()),
             s = foldCast(in, f32());
  int infs = 0;
  for (size_t k = 0; k < in.f.size(); ++k) {
    ASSERT_EQ(h.f[k], refHalf(in.f[k])) << in.f[k];
    ASSERT_EQ(b.f[k], refBf16(in.f[k])) << in.f[k];
    ASSERT_EQ(s.f[k], (double)(float)in.f[k]) << in.f[k];
    infs += std::isinf(h.f[k]);
  }
  EXPECT_GT(infs, 0); // some values overflow f16
  // Integers to f16 round too (2049 is not representable).
  HostTensor iv(i(64), {3});
  iv.i = {2049, 2051, -65519};
  HostTensor hv = foldCast(iv, f16());
  EXPECT_EQ(hv.f, (std::vector<double>{2048, 2052, -65504}));
}

//===----------------------------------------------------------------------===//
// toAttr / fromAttr
//===----------------------------------------------------------------------===//

TEST_F(HostTensorTest, AttrRoundTripAllTypes) {
  Rng r(60);
  struct Case {
    Type et;
    const char *name;
  };
  std::vector<Case> cases = {{f32(), "f32"}, {f16(), "f16"},   {bf16(), "bf16"},
                             {i(64), "i64"}, {i(32), "i32"},   {i(1), "i1"},
                             {ui(8), "ui8"}, {f64(), "f64"},   {i(8), "i8"}};
  for (const Case &c : cases) {
    for (int iter = 0; iter < 30; ++iter) {
      Vec s = r.shape(r.range(0, 3), 1, 5);
      HostTensor t(c.et, s);
      for (int64_t k = 0; k < t.size(); ++k) {
        if (t.isFloat())
          t.f[k] = t.normalize(r.real(-1, 1) * std::ldexp(1.0, r.range(-10, 10)));
        else if (c.et.isInteger(1))
          t.i[k] = r.coin();
        else if (c.et.isUnsignedInteger(8))
          t.i[k] = r.range(0, 255);
        else if (c.et.isInteger(8))
          t.i[k] = r.range(-128, 127);
        else if (c.et.isInteger(32))
          t.i[k] = r.range(INT32_MIN, INT32_MAX);
        else
          t.i[k] = (int64_t)r.g();
      }
      if (t.size() && t.getF(0) == 0) {
        if (t.isFloat())
          t.f[0] = 0.5;
        else
          t.i[0] = 1;
      }
      DenseElementsAttr attr = t.toAttr();
      ASSERT_TRUE(attr) << c.name;
      EXPECT_EQ(attr.getType(), t.type()) << c.name;
      // The attribute holds the values (checked through its own accessors).
      int64_t k = 0;
      if (c.et.isF32()) {
        for (float v : attr.getValues<float>())
          ASSERT_EQ((double)v, t.f[k++]) << c.name;
      } else if (t.isFloat()) {
        for (APFloat v : attr.getValues<APFloat>())
          ASSERT_EQ(v.convertToDouble(), t.f[k++]) << c.name;
      } else if (c.et.isInteger(1)) {
        for (bool v : attr.getValues<bool>())
          ASSERT_EQ((int64_t)v, t.i[k++]) << c.name;
      } else if (c.et.isUnsignedInteger(8)) {
        for (uint8_t v : attr.getValues<uint8_t>())
          ASSERT_EQ((int64_t)v, t.i[k++]) << c.name;
      } else if (c.et.isInteger(32)) {
        for (int32_t v : attr.getValues<int32_t>())
          ASSERT_EQ((int64_t)v, t.i[k++]) << c.name;
      } else if (c.et.isInteger(8)) {
        for (int8_t v : attr.getValues<int8_t>())
          ASSERT_EQ((int64_t)v, t.i[k++]) << c.name;
      } else {
        for (int64_t v : attr.getValues<int64_t>())
          ASSERT_EQ(v, t.i[k++]) << c.name;
      }
      EXPECT_EQ(k, t.size()) << c.name;
      HostTensor back = HostTensor::fromAttr(attr);
      expectSameValues(back, t, std::string("round trip ") + c.name);
    }
  }
}

TEST_F(HostTensorTest, ToAttrNormalizesOutOfRangeValues) {
  // Values a fold left unnormalized are stored as the element type holds them.
  HostTensor b(i(1), {3});
  b.i = {5, 0, -2};
  auto bv = b.toAttr().getValues<bool>();
  EXPECT_EQ(std::vector<bool>(bv.begin(), bv.end()),
            (std::vector<bool>{true, false, true}));
  HostTensor u(ui(8), {2});
  u.i = {300, -1};
  EXPECT_EQ(HostTensor::fromAttr(u.toAttr()).i,
            (std::vector<int64_t>{44, 255}));
  HostTensor h(f16(), {2});
  h.f = {2049.0, 1e6};
  EXPECT_EQ(HostTensor::fromAttr(h.toAttr()).f,
            (std::vector<double>{2048.0, INFINITY}));
}

TEST_F(HostTensorTest, FromSplatAttr) {
  auto t = RankedTensorType::get({3, 2}, f32());
  HostTensor h = HostTensor::fromAttr(DenseElementsAttr::get(t, 2.5f));
  EXPECT_EQ(h.f, std::vector<double>(6, 2.5));
  auto ti = RankedTensorType::get({4}, ui(8));
  HostTensor hi =
      HostTensor::fromAttr(DenseElementsAttr::get(ti, APInt(8, 200)));
  EXPECT_EQ(hi.i, std::vector<int64_t>(4, 200));
  auto tb = RankedTensorType::get({2, 2}, bf16());
  HostTensor hb = HostTensor::fromAttr(DenseElementsAttr::get(
      tb, APFloat(APFloat::BFloat(), "-3.5")));
  EXPECT_EQ(hb.f, std::vector<double>(4, -3.5));
}

TEST_F(HostTensorTest, StridesOf) {
  Shape st234 = stridesOf({2, 3, 4});
  EXPECT_EQ(Vec(st234.begin(), st234.end()), (Vec{12, 4, 1}));
  EXPECT_TRUE(stridesOf({}).empty());
  Rng r(70);
  for (int iter = 0; iter < 200; ++iter) {
    Vec s = r.shape(r.range(1, 5), 1, 6);
    Shape st = stridesOf(s);
    // A unit step along axis k moves the linear index by the stride.
    for (size_t k = 0; k < s.size(); ++k) {
      Vec idx(s.size(), 0);
      if (s[k] < 2)
        continue;
      int64_t a = ravel(idx, s);
      idx[k] = 1;
      EXPECT_EQ(ravel(idx, s) - a, st[k]);
    }
  }
}
