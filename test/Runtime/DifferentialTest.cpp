//===- DifferentialTest.cpp - Seeded random search over kernels and ISAs --===//
//
// Differential tests of the kernels compiled once per ISA (isa_entries.def).
// Each Differential.<Kernel> test draws random cases (ranks 0..6 and a few
// up to DITC_RT_MAX_RANK, size-0 / size-1 dims, lengths off the vector
// widths, permuted / negative / broadcast strides, source offsets, thread
// counts), runs every case on every ISA the build has and the CPU runs, and
// checks each result (a) against a naive reference in plain loops (double
// for float math) and (b) against the generic ISA's result. Data movement
// (strided_copy, gather, trilu, where, cast, is_nan, not_b8) and integer
// results must match exactly; float math within a per-kernel bound derived
// from how the kernel rounds (see each test). Every destination lies
// between guard bytes holding a canary, checked after each call; sources are
// exactly sized, followed by NaN / all-ones bytes.
//
// Environment:
//   DITC_DIFF_SEED     base seed (default kDefaultSeed). Case 0 of every
//                      kernel uses it, case i+1 the splitmix64 of case i's,
//                      so a failure's case seed, given here, is the first
//                      case run: DITC_DIFF_SEED=<case seed> with
//                      --gtest_filter=Differential.<Kernel> reproduces it.
//   DITC_DIFF_SECONDS  total search time (default 20), split evenly between
//                      the Differential.* tests that run (between all of
//                      them under gtest sharding, as lit runs it).
//   DITC_DIFF_CASES    at most this many cases per kernel (default 20000).
// Every kernel runs at least kMinCases cases, whatever the time, or fails;
// a kernel's search stops at its first failing case. The summary after the
// run gives the cases per kernel and the largest error / tolerance seen.
// DifferentialLarge.* are fixed full-size-model shapes (SD3), not random;
// DifferentialRegression*.* pin two kernel bugs the search found (fixed).
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtil.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>

using namespace ditc_test;

namespace {

//===--- Search settings -------------------------------------------------===//

constexpr uint64_t kDefaultSeed = 0xd17c0ffee5eedULL;
constexpr double kDefaultSeconds = 20;
constexpr int64_t kDefaultMaxCases = 20000;
constexpr int64_t kMinCases = 20;
constexpr const char *kSearchSuite = "Differential";

/// memcpy that takes empty (possibly null) ranges, which memcpy does not.
void copyBytes(void *dst, const void *src, size_t n) {
  if (n)
    std::memcpy(dst, src, n);
}

uint64_t envU64(const char *name, uint64_t def) {
  const char *s = std::getenv(name);
  if (!s || !*s)
    return def;
  char *end = nullptr;
  uint64_t v = std::strtoull(s, &end, 0);
  return end && *end == 0 ? v : def;
}

uint64_t baseSeed() { return envU64("DITC_DIFF_SEED", kDefaultSeed); }

double totalSeconds() {
  const char *s = std::getenv("DITC_DIFF_SECONDS");
  if (!s || !*s)
    return kDefaultSeconds;
  double v = std::atof(s);
  return v >= 0 ? v : kDefaultSeconds;
}

int64_t maxCases() {
  return (int64_t)envU64("DITC_DIFF_CASES", kDefaultMaxCases);
}

/// What DITC_DIFF_SECONDS is split by: the Differential.* tests this run
/// executes; all of them when gtest runs in shards (lit does), so that the
/// shards together take the total once.
int searchesSharingTime() {
  const char *shards = std::getenv("GTEST_TOTAL_SHARDS");
  const bool sharded = shards && std::atoi(shards) > 1;
  int n = 0;
  const ::testing::UnitTest *ut = ::testing::UnitTest::GetInstance();
  for (int s = 0; s < ut->total_test_suite_count(); ++s) {
    const ::testing::TestSuite *suite = ut->GetTestSuite(s);
    if (std::strcmp(suite->name(), kSearchSuite) != 0)
      continue;
    for (int t = 0; t < suite->total_test_count(); ++t)
      n += sharded || suite->GetTestInfo(t)->should_run();
  }
  return n > 0 ? n : 1;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
public:
  explicit Rng(uint64_t seed) : g_(splitmix64(seed)) {}
  /// Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g_);
  }
  double real(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(g_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(g_); }
  uint64_t bits() { return g_(); }
  uint32_t seed32() { return (uint32_t)g_(); }
  template <class T> T pick(std::initializer_list<T> l) {
    return *(l.begin() + range(0, (int64_t)l.size() - 1));
  }
  template <class T> T pick(const std::vector<T> &v) {
    return v[(size_t)range(0, (int64_t)v.size() - 1)];
  }
  /// Non-zero, in [lo, hi).
  float nonZero(float lo, float hi) {
    float x;
    do
      x = (float)real(lo, hi);
    while (x == 0.f);
    return x;
  }

private:
  std::mt19937_64 g_;
};

//===--- ISAs ------------------------------------------------------------===//

struct Isa {
  int code;
  std::string name;
};

/// The ISAs of this build that the CPU runs, generic first.
const std::vector<Isa> &isas() {
  static const std::vector<Isa> v = [] {
    std::vector<Isa> r;
    for (int code = DITC_RT_ISA_GENERIC; code < DITC_RT_ISA_COUNT; ++code)
      if (ditc_rt_set_isa(code))
        r.push_back({code, isaName(::testing::TestParamInfo<int>(code, 0))});
    ditc_rt_set_isa(DITC_RT_ISA_AUTO);
    return r;
  }();
  return v;
}

std::string isaList() {
  std::string s;
  for (const Isa &i : isas())
    s += (s.empty() ? "" : " ") + i.name;
  return s;
}

//===--- Guarded buffers -------------------------------------------------===//

constexpr size_t kGuard = 256; // bytes before and after

uint8_t canary(size_t i) { return (uint8_t)(0xa5 ^ (i * 29) ^ (i >> 8)); }

/// `bytes` bytes between two guard regions. Destinations: the guards hold a
/// canary that damage() checks. Sources: the guards are 0xff bytes (a
/// NaN in every float dtype, -1 in the integers), so that a kernel reading
/// past its input computes garbage instead of passing by chance. The data
/// starts `misalign` bytes after a 64-byte boundary.
class Guarded {
public:
  Guarded(size_t bytes, size_t misalign, bool source)
      : bytes_(bytes), source_(source) {
    raw_.resize(bytes + 2 * kGuard + 64 + misalign);
    uintptr_t p = (uintptr_t)raw_.data() + kGuard;
    begin_ = (size_t)((p + 63) / 64 * 64 - (uintptr_t)raw_.data()) + misalign;
    for (size_t i = 0; i < begin_; ++i)
      raw_[i] = source ? 0xff : canary(i);
    for (size_t i = begin_ + bytes; i < raw_.size(); ++i)
      raw_[i] = source ? 0xff : canary(i);
  }
  Guarded(const std::vector<uint8_t> &init, size_t misalign, bool source)
      : Guarded(init.size(), misalign, source) {
    if (!init.empty())
      copyBytes(data(), init.data(), init.size());
  }
  uint8_t *data() { return raw_.data() + begin_; }
  const uint8_t *data() const { return raw_.data() + begin_; }
  template <class T> T *as() { return reinterpret_cast<T *>(data()); }
  size_t size() const { return bytes_; }
  std::vector<uint8_t> bytes() const {
    return std::vector<uint8_t>(data(), data() + bytes_);
  }
  /// "" when both guards hold their canary, else where they do not.
  std::string damage() const {
    if (source_)
      return "";
    for (size_t i = 0; i < begin_; ++i)
      if (raw_[i] != canary(i)) {
        std::ostringstream os;
        os << "wrote " << (begin_ - i) << " bytes before the destination";
        return os.str();
      }
    for (size_t i = raw_.size(); i-- > begin_ + bytes_;)
      if (raw_[i] != canary(i)) {
        std::ostringstream os;
        os << "wrote " << (i - begin_ - bytes_ + 1)
           << " bytes past the end of the destination (" << bytes_ << " bytes)";
        return os.str();
      }
    return "";
  }

private:
  std::vector<uint8_t> raw_;
  size_t begin_ = 0, bytes_ = 0;
  bool source_;
};

/// A random offset from a 64-byte boundary that keeps elements of `es`
/// bytes at their natural alignment.
size_t randomMisalign(Rng &r, int64_t es) {
  int64_t a = (es & (es - 1)) == 0 ? std::min<int64_t>(es, 8) : 1;
  return (size_t)(r.range(0, 63) / a * a);
}

template <class T>
Guarded sourceOf(const std::vector<T> &v, Rng &r, int64_t es = sizeof(T)) {
  Guarded g(v.size() * sizeof(T), randomMisalign(r, es), /*source=*/true);
  if (!v.empty())
    copyBytes(g.data(), v.data(), v.size() * sizeof(T));
  return g;
}

//===--- Cases, checks and the search loop -------------------------------===//

std::string str(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

std::string hex(uint64_t x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, x);
  return buf;
}

/// One random case: what a failure message names.
struct Case {
  Case(const char *kernel, uint64_t seed) : kernel(kernel), seed(seed) {}

  const char *kernel;
  uint64_t seed;
  int threads = 0;
  std::string desc; // shapes, strides, parameters
  std::string isa;  // the ISA being checked
  bool failed = false;
  int64_t compared = 0; // elements compared (over ISAs)

  std::string header() const {
    std::ostringstream os;
    const ::testing::TestInfo *t =
        ::testing::UnitTest::GetInstance()->current_test_info();
    os << kernel << " case seed " << hex(seed)
       << " (DITC_DIFF_SEED=" << hex(seed)
       << " --gtest_filter=" << t->test_suite_name() << "." << t->name()
       << " runs it first), isa " << isa << ", threads " << threads << ": "
       << desc;
    return os.str();
  }
  void fail(const std::string &what) {
    failed = true;
    ADD_FAILURE() << header() << "\n  " << what;
  }
  void checkGuards(const Guarded &g, const char *what) {
    compared += 1; // (an empty case checks the guards only)
    std::string d = g.damage();
    if (!d.empty())
      fail(std::string(what) + ": " + d);
  }
};

struct Stats {
  int64_t cases = 0;
  double seconds = 0;
  double worst = 0; // largest error / tolerance against a reference
};
std::map<std::string, Stats> &allStats() {
  static std::map<std::string, Stats> m;
  return m;
}

/// Byte-exact comparison of n elements of `es` bytes.
void expectBytes(Case &c, const char *what, const uint8_t *got,
                 const uint8_t *want, int64_t n, int64_t es) {
  c.compared += n;
  if (n <= 0 || std::memcmp(got, want, (size_t)(n * es)) == 0)
    return;
  int64_t first = -1, bad = 0;
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(got + i * es, want + i * es, (size_t)es) != 0) {
      bad += 1;
      if (first < 0)
        first = i;
    }
  std::ostringstream os;
  os << what << ": " << bad << " of " << n << " elements differ; first at "
     << first << ": got";
  for (int64_t b = 0; b < es && b < 16; ++b)
    os << " " << std::hex << (int)got[first * es + b];
  os << ", want";
  for (int64_t b = 0; b < es && b < 16; ++b)
    os << " " << std::hex << (int)want[first * es + b];
  c.fail(os.str());
}

/// An exact kernel's output on ISA number k: equal to the reference, and to
/// the generic ISA's (k == 0 keeps that one in `generic`).
void expectExact(Case &c, size_t k, const std::vector<uint8_t> &got,
                 const uint8_t *want, std::vector<uint8_t> &generic, int64_t n,
                 int64_t es) {
  expectBytes(c, "vs reference", got.data(), want, n, es);
  if (k == 0)
    generic = got;
  else
    expectBytes(c, "vs generic", got.data(), generic.data(), n, es);
}

/// |got(i) - want(i)| <= tol(i) for i < n; NaN matches only NaN, an
/// infinity only itself.
template <class G, class W, class T>
void expectClose(Case &c, const char *what, int64_t n, G got, W want, T tol) {
  c.compared += n;
  int64_t bad = 0, first = -1;
  double fg = 0, fw = 0, ft = 0;
  double &worst = allStats()[c.kernel].worst;
  const bool vsReference = std::strstr(what, "reference") != nullptr;
  for (int64_t i = 0; i < n; ++i) {
    double g = got(i), w = want(i);
    bool ok;
    if (g == w)
      ok = true;
    else if (std::isnan(w) || std::isnan(g))
      ok = std::isnan(w) && std::isnan(g);
    else if (std::isinf(w) || std::isinf(g))
      ok = g == w;
    else {
      double t = tol(i), e = std::fabs(g - w);
      ok = e <= t;
      if (t > 0 && vsReference)
        worst = std::max(worst, e / t);
    }
    if (!ok) {
      if (first < 0) {
        first = i;
        fg = g;
        fw = w;
        ft = tol(i);
      }
      ++bad;
    }
  }
  if (bad == 0)
    return;
  std::ostringstream os;
  os.precision(9);
  os << what << ": " << bad << " of " << n << " elements off; first at "
     << first << ": got " << fg << ", want " << fw << " (tolerance " << ft
     << ")";
  c.fail(os.str());
}

/// Against another ISA's result: two results within tol of the exact one
/// are within 2 tol of each other.
template <class G, class W, class T>
void expectCloseToGeneric(Case &c, const char *what, int64_t n, G got,
                          W generic, T tol) {
  expectClose(c, what, n, got, generic, [&](int64_t i) { return 2 * tol(i); });
}

// Prints the case counts per kernel after the run.
class StatsReport : public ::testing::Environment {
public:
  void TearDown() override {
    if (allStats().empty())
      return;
    std::printf("\nDifferential search (seed %s, ISAs: %s):\n",
                hex(baseSeed()).c_str(), isaList().c_str());
    std::printf("  %-22s %7s %8s  %s\n", "kernel", "cases", "seconds",
                "largest error / tolerance");
    for (const auto &[name, s] : allStats()) {
      std::printf("  %-22s %7lld %8.2f", name.c_str(), (long long)s.cases,
                  s.seconds);
      if (s.worst > 0)
        std::printf("  %.3g", s.worst);
      std::printf("\n");
    }
  }
};
const auto *g_statsEnv = ::testing::AddGlobalTestEnvironment(new StatsReport);

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Runs cases of `kernel` until its share of DITC_DIFF_SECONDS or
/// DITC_DIFF_CASES is spent, and at least kMinCases. runCase fills the
/// Case (desc, threads) and calls forEachIsa.
void search(const char *kernel,
            const std::function<void(Case &, Rng &)> &runCase) {
  const double budget = totalSeconds() / searchesSharingTime();
  const int64_t limit = maxCases();
  uint64_t seed = baseSeed();
  const Clock::time_point t0 = Clock::now();
  int64_t ran = 0, tried = 0;
  bool failed = false;
  while (!failed && tried < 100 * kMinCases + limit) {
    if (ran >= kMinCases && (ran >= limit || since(t0) >= budget))
      break;
    Case c{kernel, seed};
    Rng rng(seed);
    c.threads = rng.pick({0, 1, 1, 2, 3, 4, 7});
    runCase(c, rng);
    ++tried;
    ran += c.compared > 0;
    failed = c.failed;
    seed = splitmix64(seed);
  }
  Stats &s = allStats()[kernel];
  s.cases += ran;
  s.seconds += since(t0);
  std::printf("[ diff     ] %s: %lld cases in %.2f s on %s\n", kernel,
              (long long)ran, since(t0), isaList().c_str());
  if (!failed) {
    EXPECT_GE(ran, kMinCases)
        << kernel << ": the search ran fewer cases than the minimum";
  }
}

/// Calls f(isa index) with each ISA selected and the case's thread count;
/// index 0 is generic, whose result the others are compared with. Restores
/// the automatic ISA and the default thread count.
template <class F> void forEachIsa(Case &c, F f) {
  for (size_t k = 0; k < isas().size() && !c.failed; ++k) {
    ditc_rt_set_isa(isas()[k].code);
    ditc_rt_set_num_threads(c.threads);
    c.isa = isas()[k].name;
    f(k);
  }
  ditc_rt_set_isa(DITC_RT_ISA_AUTO);
  ditc_rt_set_num_threads(0);
}

//===--- Random shapes and strided views ---------------------------------===//

const std::vector<int64_t> kDims = {
    1,   1,   1,   1,   2,    2,    3,    3,    4,    5,   6,   7,
    7,   8,   9,   11,  13,   15,   16,   17,   17,   24,  31,  32,
    33,  33,  48,  63,  64,   65,   96,   97,   127,  128, 129, 255,
    256, 257, 333, 511, 1000, 1023, 1025, 4095, 4096, 4097};

/// At most `small` elements mostly, up to `medium` or `large` at times (the
/// latter spread over threads).
int64_t sizeClass(Rng &r, int64_t small, int64_t medium, int64_t large) {
  double p = r.real(0, 1);
  return p < 0.72 ? small : p < 0.95 ? medium : large;
}

/// A shape of `rank` dims and at most maxElems elements; a dim is 0 with
/// probability pZero.
std::vector<int64_t> randomShape(Rng &r, int rank, int64_t maxElems,
                                 double pZero = 0.04) {
  std::vector<int64_t> s(rank);
  for (int64_t &d : s)
    d = r.pick(kDims);
  auto fits = [&] {
    double p = 1;
    for (int64_t d : s)
      p *= (double)d;
    return p <= (double)maxElems;
  };
  // Shrink the largest dim until the product fits.
  while (!fits()) {
    auto it = std::max_element(s.begin(), s.end());
    *it = std::max<int64_t>(1, *it / r.range(2, 5) + r.range(-1, 1));
  }
  if (rank > 0 && r.chance(pZero))
    s[r.range(0, rank - 1)] = 0;
  return s;
}

/// Mostly 0..6, at times up to DITC_RT_MAX_RANK (randomShape's element
/// bound keeps most dims of those small).
int randomRank(Rng &r, int lo = 0) {
  if (r.chance(0.04))
    return (int)r.range(7, DITC_RT_MAX_RANK);
  return (int)r.range(lo, 6);
}

/// A strided view of `shape`: element idx lies at offset + idx . strides of
/// a buffer of `extent` elements (exactly what the view reaches).
struct View {
  std::vector<int64_t> strides;
  int64_t offset = 0, extent = 0;
  std::string str() const {
    return ::str(strides) + " offset " + std::to_string(offset);
  }
};

/// Contiguous sometimes; else dims laid out in a random order, with gaps,
/// steps, broadcast (0) and negative strides as allowed, and junk strides
/// on size-1 dims.
View randomView(Rng &r, const std::vector<int64_t> &shape, bool broadcast,
                bool negative) {
  const int rank = (int)shape.size();
  View v;
  v.strides.assign(rank, 0);
  std::vector<int> order(rank); // innermost first
  for (int d = 0; d < rank; ++d)
    order[d] = rank - 1 - d;
  const bool plain = r.chance(0.3);
  if (!plain && r.chance(0.6))
    std::shuffle(order.begin(), order.end(), std::mt19937(r.seed32()));
  int64_t acc = 1;
  for (int d : order) {
    if (!plain && broadcast && r.chance(0.25))
      continue; // stride 0
    if (!plain && shape[d] == 1 && r.chance(0.3)) {
      v.strides[d] = r.range(-1000, 1000); // never used
      continue;
    }
    int64_t step = !plain && r.chance(0.1) ? r.range(2, 3) : 1;
    v.strides[d] = acc * step;
    acc = v.strides[d] * std::max<int64_t>(shape[d], 1) +
          (!plain && r.chance(0.15) ? r.range(1, 5) : 0);
  }
  for (int d = 0; d < rank; ++d)
    if (!plain && negative && v.strides[d] != 0 && shape[d] > 1 &&
        r.chance(0.2))
      v.strides[d] = -v.strides[d];
  int64_t hi = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] <= 1)
      continue;
    if (v.strides[d] < 0)
      v.offset += (shape[d] - 1) * -v.strides[d];
    else
      hi += (shape[d] - 1) * v.strides[d];
  }
  v.extent = product(shape) == 0 ? 0 : v.offset + hi + 1;
  return v;
}

/// v.data(), or a valid pointer for an empty v (rank 0).
const int64_t *ptr(const std::vector<int64_t> &v) {
  static const int64_t dummy[DITC_RT_MAX_RANK] = {};
  return v.empty() ? dummy : v.data();
}

std::vector<uint8_t> randomBytes(Rng &r, size_t n, int lo = 0, int hi = 255) {
  std::vector<uint8_t> v(n);
  for (uint8_t &b : v)
    b = (uint8_t)r.range(lo, hi);
  return v;
}

/// NaN bytes: what float destinations hold before a kernel writes them.
std::vector<uint8_t> nanBytes(size_t n) {
  std::vector<uint8_t> v(n);
  const uint32_t nan = 0x7fc0dead;
  for (size_t i = 0; i < n; ++i)
    v[i] = (uint8_t)(nan >> (8 * (i % 4)));
  return v;
}

//===--- Dtypes ----------------------------------------------------------===//

struct DtypeInfo {
  int code;
  const char *name;
  int64_t size;
  bool isFloat, isSigned;
};
const DtypeInfo kDtypes[] = {
    {DITC_RT_F32, "f32", 4, true, true},
    {DITC_RT_I64, "i64", 8, false, true},
    {DITC_RT_I32, "i32", 4, false, true},
    {DITC_RT_B8, "b8", 1, false, false},
    {DITC_RT_F16, "f16", 2, true, true},
    {DITC_RT_BF16, "bf16", 2, true, true},
    {DITC_RT_F64, "f64", 8, true, true},
    {DITC_RT_I8, "i8", 1, false, true},
    {DITC_RT_U8, "u8", 1, false, false},
    {DITC_RT_I16, "i16", 2, false, true},
    {DITC_RT_U16, "u16", 2, false, false},
    {DITC_RT_U32, "u32", 4, false, false},
    {DITC_RT_U64, "u64", 8, false, false},
};
static_assert(sizeof(kDtypes) / sizeof(kDtypes[0]) == DITC_RT_DTYPE_COUNT,
              "a dtype is missing");

/// An element of a float dtype as a double.
double loadAsDouble(int dtype, const uint8_t *p) {
  switch (dtype) {
  case DITC_RT_F32: {
    float f;
    copyBytes(&f, p, 4);
    return f;
  }
  case DITC_RT_F64: {
    double d;
    copyBytes(&d, p, 8);
    return d;
  }
  case DITC_RT_F16:
  case DITC_RT_BF16: {
    uint16_t h;
    copyBytes(&h, p, 2);
    return dtype == DITC_RT_F16 ? refF16ToF64(h) : refBF16ToF64(h);
  }
  }
  ADD_FAILURE() << "not a float dtype " << dtype;
  return 0;
}

/// The bits of an integer element, sign-extended for signed dtypes.
uint64_t loadIntBits(int dtype, const uint8_t *p) {
  const DtypeInfo &t = kDtypes[dtype];
  uint64_t bits = 0;
  copyBytes(&bits, p, (size_t)t.size);
  if (t.isSigned && t.size < 8 && ((bits >> (8 * t.size - 1)) & 1))
    bits |= ~uint64_t(0) << (8 * t.size);
  return bits;
}

void storeBits(uint8_t *p, uint64_t bits, int64_t size) {
  copyBytes(p, &bits, (size_t)size); // little-endian
}

void storeFloat(int dtype, uint8_t *p, double v) {
  switch (dtype) {
  case DITC_RT_F32: {
    float f = (float)v;
    copyBytes(p, &f, 4);
    return;
  }
  case DITC_RT_F64:
    copyBytes(p, &v, 8);
    return;
  case DITC_RT_F16:
    storeBits(p, refToF16(v), 2);
    return;
  case DITC_RT_BF16:
    storeBits(p, refToBF16(v), 2);
    return;
  }
  ADD_FAILURE() << "not a float dtype " << dtype;
}

/// v rounded to nearest even in a float dtype.
double roundTo(int dtype, double v) {
  uint8_t b[8];
  storeFloat(dtype, b, v);
  return loadAsDouble(dtype, b);
}

/// One unit in the last place of v in a float dtype (the subnormal quantum
/// below the normal range).
double ulp(int dtype, double v) {
  int mant = 23, emin = -126;
  if (dtype == DITC_RT_F64) {
    mant = 52;
    emin = -1022;
  } else if (dtype == DITC_RT_F16) {
    mant = 10;
    emin = -14;
  } else if (dtype == DITC_RT_BF16) {
    mant = 7;
  }
  int e = v == 0 || !std::isfinite(v) ? emin : std::max(std::ilogb(v), emin);
  return std::ldexp(1.0, e - mant);
}

/// Random values of a float dtype: moderate values of scattered exponents,
/// ties of the narrower formats, raw bit patterns (NaNs, infinities,
/// subnormals) and specials; `pSpecial` is the share of the last two.
double randomFloatValue(Rng &r, int dtype, double pSpecial) {
  if (r.chance(pSpecial)) {
    if (r.chance(0.5)) {
      switch (dtype) {
      case DITC_RT_F32: {
        uint32_t u = (uint32_t)r.bits();
        float f;
        copyBytes(&f, &u, 4);
        return f;
      }
      case DITC_RT_F64: {
        uint64_t u = r.bits();
        double d;
        copyBytes(&d, &u, 8);
        return d;
      }
      case DITC_RT_F16:
        return refF16ToF64((uint16_t)r.bits());
      default:
        return refBF16ToF64((uint16_t)r.bits());
      }
    }
    // Zeros, infinities, NaN, f16 limits, integer limits, f16 / bf16 ties
    // alone and with a bit only f64 keeps (one rounding, not two).
    constexpr double t16 = 1 + 0x1p-11, tb16 = 1 + 0x1p-8;
    constexpr double t16x = t16 + 0x1p-40, tb16x = -(tb16 + 0x1p-40);
    static const double kSpecial[] = {
        0.0,    -0.0,         INFINITY,      -INFINITY, NAN,    0.5,    -1.5,
        2.5,    65504,        1e-8,          65519.99,  65520,  3e9,    -3e9,
        1e20,   -1e20,        1e300,         1e-40,     1e-300, 0x1p63, -0x1p63,
        0x1p64, 4294967295.5, -2147483648.7, t16,       tb16,   t16x,   tb16x};
    return kSpecial[r.range(0, sizeof(kSpecial) / sizeof(kSpecial[0]) - 1)];
  }
  double x = r.real(-1, 1) * std::ldexp(1.0, (int)r.range(-12, 12));
  if (r.chance(0.3))
    x = std::trunc(x * 100); // integral values
  return x;
}

//===--- Float math tolerances -------------------------------------------===//

constexpr double kU = 0x1p-24;      // f32 unit roundoff
constexpr double kTiny = 0x1p-120;  // absolute floor near underflow
constexpr int64_t kWidestW = 16;    // floats per vector, widest ISA
constexpr int64_t kNarrowestW = 4;  // and narrowest (generic)
constexpr int64_t kSumBlock = 4096; // sum_f / sum_sq_f blocks

/// Float additions one lane of sum_f / sum_sq_f makes over n elements: a
/// block of at most 4096 is spread over 4 vectors of W lanes, then the lanes
/// and the tail are added. The error of such a sum is at most this many
/// roundings of the sum of magnitudes.
double laneAdds(int64_t n) {
  return (double)std::min(n, kSumBlock) / (4 * kNarrowestW) + 4 * kWidestW + 8;
}

} // namespace

//===--- Data movement: strided_copy, gather, trilu ----------------------===//

namespace {

TEST(Differential, StridedCopy) {
  search("strided_copy", [](Case &c, Rng &r) {
    const int64_t es = r.pick<int64_t>({1, 2, 4, 8, 16, 3, 6, 5, 12});
    const int rank = randomRank(r);
    const std::vector<int64_t> shape = randomShape(
        r, rank,
        sizeClass(r, 3000, 60000, 700000) / std::max<int64_t>(1, es / 4));
    const View sv = randomView(r, shape, /*broadcast=*/true, true);
    const View dv = randomView(r, shape, /*broadcast=*/false, true);
    // The source's start: some leading elements, then split between the
    // pointer and src_offset.
    const int64_t lead = r.range(0, 5), off = lead + sv.offset;
    const int64_t inPtr = r.chance(0.4)   ? 0
                          : r.chance(0.5) ? off
                                          : r.range(0, off);
    const std::vector<uint8_t> src =
        randomBytes(r, (size_t)((lead + sv.extent) * es), 1, 255);
    const std::vector<uint8_t> init = randomBytes(r, (size_t)(dv.extent * es));
    const size_t dmis = randomMisalign(r, es);
    c.desc = "elem " + std::to_string(es) + " shape " + str(shape) +
             ", src strides " + sv.str() + " (+" + std::to_string(lead) + "; " +
             std::to_string(inPtr) + " in the pointer), dst strides " +
             dv.str();
    std::vector<uint8_t> want = init;
    forEachIndex(shape, [&](const std::vector<int64_t> &idx) {
      copyBytes(want.data() + (dv.offset + dot(idx, dv.strides)) * es,
                src.data() + (off + dot(idx, sv.strides)) * es, (size_t)es);
    });
    Guarded s = sourceOf(src, r, es);
    std::vector<uint8_t> generic;
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      ditc_rt_strided_copy(es, s.data() + inPtr * es, off - inPtr,
                           ptr(sv.strides), d.data() + dv.offset * es,
                           ptr(dv.strides), ptr(shape), rank);
      c.checkGuards(d, "destination");
      expectExact(c, k, d.bytes(), want.data(), generic, dv.extent, es);
    });
  });
}

TEST(Differential, Gather) {
  search("gather", [](Case &c, Rng &r) {
    const int64_t es = r.pick<int64_t>({1, 2, 4, 8, 16, 3, 6});
    const int64_t cap = sizeClass(r, 4000, 60000, 500000) / es + 1;
    std::vector<int64_t> dims = randomShape(r, 4, cap, 0.06);
    const int64_t outer = dims[0], inner = dims[2];
    const int64_t axis = dims[1], num = axis == 0 ? 0 : dims[3];
    const int idt = r.pick({DITC_RT_I64, DITC_RT_I32});
    std::vector<int64_t> idx(num);
    for (int64_t &i : idx)
      i = r.range(-axis, axis - 1);
    std::vector<int32_t> idx32(idx.begin(), idx.end());
    const std::vector<uint8_t> data =
        randomBytes(r, (size_t)(outer * axis * inner * es), 1, 255);
    const int64_t n = outer * num * inner;
    c.desc = "elem " + std::to_string(es) + " [outer " + std::to_string(outer) +
             ", axis " + std::to_string(axis) + ", inner " +
             std::to_string(inner) + "], " + std::to_string(num) + " " +
             (idt == DITC_RT_I64 ? "i64" : "i32") + " indices";
    std::vector<uint8_t> want((size_t)(n * es));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t t = 0; t < num; ++t) {
        int64_t i = idx[t] < 0 ? idx[t] + axis : idx[t];
        copyBytes(want.data() + (o * num + t) * inner * es,
                  data.data() + (o * axis + i) * inner * es,
                  (size_t)(inner * es));
      }
    Guarded d0 = sourceOf(data, r, es);
    Guarded i64 = sourceOf(idx, r), i32 = sourceOf(idx32, r);
    const std::vector<uint8_t> init = randomBytes(r, want.size());
    const size_t dmis = randomMisalign(r, es);
    std::vector<uint8_t> generic;
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      ditc_rt_gather(es, d0.data(), outer, axis, inner,
                     idt == DITC_RT_I64 ? i64.data() : i32.data(), idt, num,
                     d.data());
      c.checkGuards(d, "output");
      expectExact(c, k, d.bytes(), want.data(), generic, n, es);
    });
  });
}

TEST(Differential, Trilu) {
  search("trilu", [](Case &c, Rng &r) {
    const int64_t es = r.pick<int64_t>({1, 2, 4, 8, 16, 3, 6});
    std::vector<int64_t> dims =
        randomShape(r, 3, sizeClass(r, 4000, 60000, 500000) / es + 1, 0.05);
    const int64_t batch = dims[0], rows = dims[1], cols = dims[2];
    const int64_t k =
        r.chance(0.1) ? r.pick<int64_t>({-(int64_t(1) << 40), int64_t(1) << 40})
                      : r.range(-rows - 2, cols + 2);
    const int upper = (int)r.range(0, 1);
    const bool inPlace = r.chance(0.3);
    const int64_t n = batch * rows * cols;
    const std::vector<uint8_t> x = randomBytes(r, (size_t)(n * es), 1, 255);
    c.desc = "elem " + std::to_string(es) + " [" + std::to_string(batch) +
             ", " + std::to_string(rows) + ", " + std::to_string(cols) +
             "] k " + std::to_string(k) + (upper ? " upper" : " lower") +
             (inPlace ? ", in place" : "");
    std::vector<uint8_t> want(x.size());
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          bool keep = upper ? (j - i >= k) : (j - i <= k);
          int64_t at = ((b * rows + i) * cols + j) * es;
          for (int64_t e = 0; e < es; ++e)
            want[at + e] = keep ? x[at + e] : 0;
        }
    Guarded xs = sourceOf(x, r, es);
    const std::vector<uint8_t> init = inPlace ? x : randomBytes(r, x.size());
    const size_t dmis = randomMisalign(r, es);
    std::vector<uint8_t> generic;
    forEachIsa(c, [&](size_t kk) {
      Guarded d(init, dmis, false);
      ditc_rt_trilu(es, inPlace ? d.data() : xs.data(), d.data(), batch, rows,
                    cols, k, upper);
      c.checkGuards(d, "output");
      expectExact(c, kk, d.bytes(), want.data(), generic, n, es);
    });
  });
}

} // namespace

//===--- Elementwise: binary, where, cast, is_nan, not_b8 ----------------===//

namespace {

/// The float ops in double, before rounding to the dtype.
double refFloatBinary(int op, double a, double b) {
  switch (op) {
  case DITC_RT_BINARY_ADD:
    return a + b;
  case DITC_RT_BINARY_SUB:
    return a - b;
  case DITC_RT_BINARY_MUL:
    return a * b;
  case DITC_RT_BINARY_DIV:
    return a / b;
  case DITC_RT_BINARY_POW:
    return std::pow(a, b);
  case DITC_RT_BINARY_MAX:
    return std::isnan(a) ? a : std::isnan(b) ? b : a > b ? a : b;
  case DITC_RT_BINARY_MIN:
    return std::isnan(a) ? a : std::isnan(b) ? b : a < b ? a : b;
  case DITC_RT_BINARY_FMOD:
    return std::fmod(a, b);
  case DITC_RT_BINARY_MOD: {
    double r = std::fmod(a, b);
    return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
  }
  }
  ADD_FAILURE() << "not a float op " << op;
  return 0;
}

/// Ulps of the dtype a float binary result may be off: + - * / max min fmod
/// are exact (one rounding of the exact result: the double result rounds to
/// the same); pow is libm's (< 1 ulp; f16 rounds powf's f32 result again);
/// mod adds the divisor to fmod's exact remainder in the dtype (in f32 for
/// f16), which the double reference rounds once.
double binaryUlps(int op) {
  return op == DITC_RT_BINARY_POW || op == DITC_RT_BINARY_MOD ? 1 : 0;
}

/// Integer and bool ops on 64-bit two's complement values (sign-extended
/// for signed dtypes); the result's low bytes are the dtype's.
uint64_t refIntBinary(int op, const DtypeInfo &t, uint64_t a, uint64_t b) {
  const bool s = t.isSigned;
  const int64_t sa = (int64_t)a, sb = (int64_t)b;
  auto less = [&](uint64_t x, uint64_t y) {
    return s ? (int64_t)x < (int64_t)y : x < y;
  };
  if (t.code == DITC_RT_B8) {
    if (op >= DITC_RT_BINARY_AND && op <= DITC_RT_BINARY_XOR) {
      bool x = a != 0, y = b != 0; // logical
      return op == DITC_RT_BINARY_AND  ? x && y
             : op == DITC_RT_BINARY_OR ? x || y
                                       : x != y;
    }
    // Comparisons, max and min see bools as 0 / 1.
    a = a != 0;
    b = b != 0;
  }
  auto fmodI = [&]() -> uint64_t {
    if (b == 0 || (s && sb == -1))
      return 0;
    return s ? (uint64_t)(sa % sb) : a % b;
  };
  switch (op) {
  case DITC_RT_BINARY_ADD:
    return a + b;
  case DITC_RT_BINARY_SUB:
    return a - b;
  case DITC_RT_BINARY_MUL:
    return a * b;
  case DITC_RT_BINARY_DIV:
    if (b == 0)
      return 0;
    if (s && sb == -1)
      return 0 - a; // MIN / -1 wraps
    return s ? (uint64_t)(sa / sb) : a / b;
  case DITC_RT_BINARY_POW: {
    if (s && sb < 0) // truncates: 1, +-1 or 0
      return sa == 1 ? 1 : sa == -1 ? ((b & 1) ? ~uint64_t(0) : 1) : 0;
    uint64_t r = 1, base = a;
    for (uint64_t e = b; e; e >>= 1, base *= base)
      if (e & 1)
        r *= base;
    return r;
  }
  case DITC_RT_BINARY_MAX:
    return less(a, b) ? b : a;
  case DITC_RT_BINARY_MIN:
    return less(b, a) ? b : a;
  case DITC_RT_BINARY_AND:
    return a & b;
  case DITC_RT_BINARY_OR:
    return a | b;
  case DITC_RT_BINARY_XOR:
    return a ^ b;
  case DITC_RT_BINARY_FMOD:
    return fmodI();
  case DITC_RT_BINARY_MOD: {
    uint64_t r = fmodI();
    if (s && r != 0 && (((int64_t)r < 0) != (sb < 0)))
      r += b;
    return r;
  }
  }
  if (isComparison(op))
    return s ? refCompare(op, sa, sb) : refCompare(op, a, b);
  ADD_FAILURE() << "unknown op " << op;
  return 0;
}

/// A random integer of dtype t, sign-extended: small values, random bits or
/// the extremes.
uint64_t randomInt(Rng &r, const DtypeInfo &t) {
  const int bits = (int)(8 * t.size);
  const uint64_t mask = bits == 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
  uint64_t v;
  double p = r.real(0, 1);
  if (p < 0.45)
    v = t.isSigned ? (uint64_t)r.range(-20, 20) : (uint64_t)r.range(0, 40);
  else if (p < 0.85)
    v = r.bits();
  else
    v = r.pick<uint64_t>({0, 1, ~uint64_t(0), uint64_t(1) << (bits - 1),
                          (uint64_t(1) << (bits - 1)) - 1});
  v &= mask;
  if (t.isSigned && bits < 64 && ((v >> (bits - 1)) & 1))
    v |= ~mask;
  return v;
}

/// Elements of `dtype` for operand a (or b) of `op`.
std::vector<uint8_t> binaryOperand(Rng &r, int op, int dtype, bool isB,
                                   int64_t n) {
  const DtypeInfo &t = kDtypes[dtype];
  std::vector<uint8_t> v((size_t)(n * t.size));
  const double pSpecial = r.chance(0.3) ? 0.02 : 0;
  const double scale = r.pick({1.0, 100.0, 1e4});
  const bool powConst = isB && op == DITC_RT_BINARY_POW && r.chance(0.2);
  const double powC = r.pick({1.0, 2.0});
  for (int64_t i = 0; i < n; ++i) {
    uint8_t *p = v.data() + i * t.size;
    if (t.code == DITC_RT_B8) {
      // Any non-zero byte is true (also for comparisons, max and min).
      p[0] = r.pick<uint8_t>({0, 1, 1, 2, 255});
    } else if (t.isFloat) {
      double x;
      if (r.chance(pSpecial)) {
        x = r.pick<double>({0.0, -0.0, INFINITY, -INFINITY, NAN, 1e30});
      } else if (op == DITC_RT_BINARY_POW && !isB) {
        x = std::exp2(r.real(-2, 2)) * (r.chance(0.3) ? -1 : 1);
      } else if (op == DITC_RT_BINARY_POW) {
        x = powConst ? powC : r.real(-6, 6);
        if (r.chance(0.4))
          x = std::trunc(x); // negative bases need integral exponents
      } else {
        x = r.nonZero(-1, 1) * scale;
        if (r.chance(0.3))
          x = std::trunc(x) + (r.chance(0.5) ? 0 : 0.5);
        if (x == 0)
          x = 1;
      }
      storeFloat(dtype, p, x);
    } else if (isB && op == DITC_RT_BINARY_POW && r.chance(0.8)) {
      storeBits(
          p, t.isSigned ? (uint64_t)r.range(-3, 40) : (uint64_t)r.range(0, 70),
          t.size);
    } else {
      storeBits(p, randomInt(r, t), t.size);
    }
  }
  return v;
}

TEST(Differential, Binary) {
  search("binary", [](Case &c, Rng &r) {
    const int op = (int)r.range(0, DITC_RT_BINARY_COUNT - 1);
    std::vector<int> dts;
    for (int d = 0; d < DITC_RT_DTYPE_COUNT; ++d)
      if (ditc_rt_binary_dtypes(op) & (1u << d))
        dts.push_back(d);
    const int dtype = r.pick(dts);
    const DtypeInfo &t = kDtypes[dtype];
    const bool cmp = isComparison(op);
    const int64_t oes = cmp ? 1 : t.size;
    const int rank = randomRank(r);
    const std::vector<int64_t> shape =
        randomShape(r, rank, sizeClass(r, 3000, 40000, 300000));
    const View av = randomView(r, shape, true, true);
    const View bv = randomView(r, shape, true, true);
    const int64_t n = product(shape);
    const std::vector<uint8_t> a =
        binaryOperand(r, op, dtype, false, av.extent);
    const std::vector<uint8_t> b = binaryOperand(r, op, dtype, true, bv.extent);
    c.desc = "op " + std::to_string(op) + " " + t.name + " shape " +
             str(shape) + ", a strides " + av.str() + ", b strides " + bv.str();
    // Exact results as bytes; float arithmetic as doubles within ulps.
    const bool approx = t.isFloat && !cmp;
    std::vector<uint8_t> want((size_t)(n * oes));
    std::vector<double> wantF(approx ? n : 0);
    int64_t o = 0;
    forEachIndex(shape, [&](const std::vector<int64_t> &idx) {
      const uint8_t *pa =
          a.data() + (av.offset + dot(idx, av.strides)) * t.size;
      const uint8_t *pb =
          b.data() + (bv.offset + dot(idx, bv.strides)) * t.size;
      if (t.isFloat) {
        double x = loadAsDouble(dtype, pa), y = loadAsDouble(dtype, pb);
        if (cmp)
          want[o] = refCompare(op, x, y);
        else
          wantF[o] = roundTo(dtype, refFloatBinary(op, x, y));
      } else {
        storeBits(
            want.data() + o * oes,
            refIntBinary(op, t, loadIntBits(dtype, pa), loadIntBits(dtype, pb)),
            oes);
      }
      ++o;
    });
    const double ulps = binaryUlps(op);
    // Against generic: 2 ulps for 1 (both within 1 of the exact result).
    auto checkFloat = [&](const char *what, const uint8_t *got,
                          const std::vector<double> &w, double k) {
      expectClose(
          c, what, n,
          [&](int64_t i) { return loadAsDouble(dtype, got + i * oes); },
          [&](int64_t i) { return w[i]; },
          [&](int64_t i) { return k * ulps * ulp(dtype, w[i]); });
    };
    Guarded as = sourceOf(a, r, t.size), bs = sourceOf(b, r, t.size);
    const std::vector<uint8_t> init = randomBytes(r, want.size());
    const size_t dmis = randomMisalign(r, oes);
    std::vector<uint8_t> generic;
    std::vector<double> genericF(approx ? n : 0);
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      ditc_rt_binary(op, dtype, as.data() + av.offset * t.size, ptr(av.strides),
                     bs.data() + bv.offset * t.size, ptr(bv.strides), d.data(),
                     ptr(shape), rank);
      c.checkGuards(d, "output");
      if (approx) {
        checkFloat("vs reference", d.data(), wantF, 1);
        if (k == 0)
          for (int64_t i = 0; i < n; ++i)
            genericF[i] = loadAsDouble(dtype, d.data() + i * oes);
        else
          checkFloat("vs generic", d.data(), genericF, 2);
      } else {
        expectExact(c, k, d.bytes(), want.data(), generic, n, oes);
      }
    });
  });
}

TEST(Differential, Where) {
  search("where", [](Case &c, Rng &r) {
    const int dtype = (int)r.range(0, DITC_RT_DTYPE_COUNT - 1);
    const int64_t es = kDtypes[dtype].size;
    const int rank = randomRank(r);
    const std::vector<int64_t> shape =
        randomShape(r, rank, sizeClass(r, 3000, 40000, 300000));
    const View cv = randomView(r, shape, true, true);
    const View xv = randomView(r, shape, true, true);
    const View yv = randomView(r, shape, true, true);
    const double pFalse = r.pick({0.1, 0.5, 0.9});
    std::vector<uint8_t> cond((size_t)cv.extent);
    for (uint8_t &b : cond)
      b = r.chance(pFalse) ? 0 : (uint8_t)r.range(1, 255); // any non-zero
    const std::vector<uint8_t> x = randomBytes(r, (size_t)(xv.extent * es));
    const std::vector<uint8_t> y = randomBytes(r, (size_t)(yv.extent * es));
    const int64_t n = product(shape);
    c.desc = std::string(kDtypes[dtype].name) + " shape " + str(shape) +
             ", cond strides " + cv.str() + ", x strides " + xv.str() +
             ", y strides " + yv.str();
    std::vector<uint8_t> want((size_t)(n * es));
    int64_t o = 0;
    forEachIndex(shape, [&](const std::vector<int64_t> &idx) {
      const uint8_t *p =
          cond[cv.offset + dot(idx, cv.strides)]
              ? x.data() + (xv.offset + dot(idx, xv.strides)) * es
              : y.data() + (yv.offset + dot(idx, yv.strides)) * es;
      copyBytes(want.data() + o++ * es, p, (size_t)es);
    });
    Guarded cs = sourceOf(cond, r), xs = sourceOf(x, r, es),
            ys = sourceOf(y, r, es);
    const std::vector<uint8_t> init = randomBytes(r, want.size());
    const size_t dmis = randomMisalign(r, es);
    std::vector<uint8_t> generic;
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      ditc_rt_where(dtype, cs.data() + cv.offset, ptr(cv.strides),
                    xs.data() + xv.offset * es, ptr(xv.strides),
                    ys.data() + yv.offset * es, ptr(yv.strides), d.data(),
                    ptr(shape), rank);
      c.checkGuards(d, "output");
      expectExact(c, k, d.bytes(), want.data(), generic, n, es);
    });
  });
}

/// A random element of `dtype` for cast / is_nan, as its bytes.
void randomElement(Rng &r, int dtype, uint8_t *p, double pSpecial) {
  const DtypeInfo &t = kDtypes[dtype];
  if (t.isFloat)
    storeFloat(dtype, p, randomFloatValue(r, dtype, pSpecial));
  else if (t.code == DITC_RT_B8)
    p[0] = r.chance(0.4) ? 0 : r.pick<uint8_t>({1, 2, 255});
  else
    storeBits(p, randomInt(r, t), t.size);
}

/// cast's result for one element: saturating truncation from floats (NaN
/// is 0), wrapping between integers, x != 0 to bool, one rounding to
/// nearest even between floats, integers to f16 / bf16 through f32.
void refCast(int src, int dst, const uint8_t *x, uint8_t *y) {
  const DtypeInfo &s = kDtypes[src], &d = kDtypes[dst];
  if (d.code == DITC_RT_B8) {
    y[0] = s.isFloat ? loadAsDouble(src, x) != 0 : loadIntBits(src, x) != 0;
    return;
  }
  if (s.isFloat) {
    double v = loadAsDouble(src, x);
    if (d.isFloat) {
      storeFloat(dst, y, v);
      return;
    }
    uint64_t bits;
    auto sat = [&](auto lo, auto hi) -> uint64_t {
      if (std::isnan(v))
        return 0;
      if (v <= (double)lo)
        return (uint64_t)lo;
      if (v >= (double)hi)
        return (uint64_t)hi;
      return v < 0 ? (uint64_t)(int64_t)v : (uint64_t)v;
    };
    switch (dst) {
    case DITC_RT_I64:
      bits = sat(INT64_MIN, INT64_MAX);
      break;
    case DITC_RT_I32:
      bits = sat(INT32_MIN, INT32_MAX);
      break;
    case DITC_RT_I16:
      bits = sat(INT16_MIN, INT16_MAX);
      break;
    case DITC_RT_I8:
      bits = sat(INT8_MIN, INT8_MAX);
      break;
    case DITC_RT_U64:
      bits = sat(uint64_t(0), UINT64_MAX);
      break;
    case DITC_RT_U32:
      bits = sat(0u, UINT32_MAX);
      break;
    case DITC_RT_U16:
      bits = sat(0u, (unsigned)UINT16_MAX);
      break;
    default:
      bits = sat(0u, (unsigned)UINT8_MAX);
    }
    storeBits(y, bits, d.size);
    return;
  }
  uint64_t bits = s.code == DITC_RT_B8 ? x[0] != 0 : loadIntBits(src, x);
  if (!d.isFloat) {
    storeBits(y, bits, d.size); // wraps
    return;
  }
  const bool neg = s.isSigned && (int64_t)bits < 0;
  if (dst == DITC_RT_F64) {
    storeFloat(dst, y, neg ? (double)(int64_t)bits : (double)bits);
    return;
  }
  float f = neg ? (float)(int64_t)bits : (float)bits;
  storeFloat(dst, y, (double)f);
}

TEST(Differential, Cast) {
  search("cast", [](Case &c, Rng &r) {
    const int src = (int)r.range(0, DITC_RT_DTYPE_COUNT - 1);
    const int dst = (int)r.range(0, DITC_RT_DTYPE_COUNT - 1);
    const int64_t ss = kDtypes[src].size, ds = kDtypes[dst].size;
    const int64_t n = product(randomShape(
        r, (int)r.range(1, 2), sizeClass(r, 3000, 40000, 300000), 0.03));
    const double pSpecial = r.pick({0.02, 0.2, 1.0});
    std::vector<uint8_t> x((size_t)(n * ss));
    for (int64_t i = 0; i < n; ++i)
      randomElement(r, src, x.data() + i * ss, pSpecial);
    c.desc = std::string(kDtypes[src].name) + " -> " + kDtypes[dst].name +
             ", " + std::to_string(n) + " elements";
    std::vector<uint8_t> want((size_t)(n * ds));
    for (int64_t i = 0; i < n; ++i)
      refCast(src, dst, x.data() + i * ss, want.data() + i * ds);
    // The reference's NaN payloads are its own: against it, a float
    // destination's NaNs compare as NaN, everything else bit for bit. The
    // ISAs must agree bit for bit, NaN payloads included.
    auto check = [&](const char *what, const uint8_t *got, const uint8_t *w) {
      if (!kDtypes[dst].isFloat)
        return expectBytes(c, what, got, w, n, ds);
      std::vector<uint8_t> g(got, got + n * ds);
      for (int64_t i = 0; i < n; ++i)
        if (std::isnan(loadAsDouble(dst, g.data() + i * ds)) &&
            std::isnan(loadAsDouble(dst, w + i * ds)))
          copyBytes(g.data() + i * ds, w + i * ds, (size_t)ds);
      expectBytes(c, what, g.data(), w, n, ds);
    };
    Guarded xs = sourceOf(x, r, ss);
    const bool inPlace = ss == ds && r.chance(0.2);
    const std::vector<uint8_t> init = inPlace ? x : randomBytes(r, want.size());
    const size_t dmis = randomMisalign(r, ds);
    std::vector<uint8_t> generic;
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      ditc_rt_cast(src, dst, inPlace ? d.data() : xs.data(), d.data(), n);
      c.checkGuards(d, "output");
      check("vs reference", d.data(), want.data());
      if (k == 0)
        generic = d.bytes();
      else
        expectBytes(c, "vs generic", d.data(), generic.data(), n, ds);
    });
  });
}

void isNanOrNotCase(Case &c, Rng &r, bool isNan) {
  const int dtype =
      isNan ? r.pick({DITC_RT_F32, DITC_RT_F64, DITC_RT_F16, DITC_RT_BF16})
            : (int)DITC_RT_B8;
  const int64_t es = kDtypes[dtype].size;
  const int64_t n = product(randomShape(
      r, (int)r.range(1, 2), sizeClass(r, 3000, 40000, 300000), 0.03));
  const double pSpecial = r.pick({0.1, 0.5, 1.0});
  std::vector<uint8_t> x((size_t)(n * es));
  for (int64_t i = 0; i < n; ++i)
    randomElement(r, dtype, x.data() + i * es, pSpecial);
  c.desc =
      std::string(kDtypes[dtype].name) + ", " + std::to_string(n) + " elements";
  std::vector<uint8_t> want((size_t)n);
  for (int64_t i = 0; i < n; ++i)
    want[i] =
        isNan ? std::isnan(loadAsDouble(dtype, x.data() + i * es)) : x[i] == 0;
  Guarded xs = sourceOf(x, r, es);
  const bool inPlace = !isNan && r.chance(0.3);
  const std::vector<uint8_t> init = inPlace ? x : randomBytes(r, want.size());
  const size_t dmis = randomMisalign(r, 1);
  std::vector<uint8_t> generic;
  forEachIsa(c, [&](size_t k) {
    Guarded d(init, dmis, false);
    if (isNan)
      ditc_rt_is_nan(dtype, xs.data(), d.data(), n);
    else
      ditc_rt_not_b8(inPlace ? d.data() : xs.data(), d.data(), n);
    c.checkGuards(d, "output");
    expectExact(c, k, d.bytes(), want.data(), generic, n, 1);
  });
}

TEST(Differential, IsNan) {
  search("is_nan", [](Case &c, Rng &r) { isNanOrNotCase(c, r, true); });
}

TEST(Differential, NotB8) {
  search("not_b8", [](Case &c, Rng &r) { isNanOrNotCase(c, r, false); });
}

} // namespace

//===--- unary_f32 -------------------------------------------------------===//

namespace {

double refSigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double geluTanhArg(double x) { // 2 * sqrt(2/pi) * (x + 0.044715 x^3)
  return 2 * std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
}

/// How a unary op's error scales (its tolerance is k times this).
enum class ErrForm {
  Exact,    // one IEEE operation, or exact
  Ulp,      // ulps of the result (libm)
  ExpArg,   // ulps, plus the f32 rounding of an exp argument a: |a| u |y|
  NearOne,  // ulps, plus u absolute (approaching +-1)
  OnePlusX, // ulps, plus |x| u absolute (x * (1 + erf), erf near -1)
};

struct UnaryOp {
  int op;
  const char *name;
  double lo, hi; // the input range (scaled by a random factor)
  bool infs;     // +-inf inputs have a defined result
  double (*ref)(double);
  ErrForm form;
  double k;
};

// neg, sqrt, reciprocal, relu, abs, floor, ceil, round are single IEEE
// operations or exact: the double reference rounds to the same f32.
// exp_v, tanh_v, erf_v, sigmoid, gelu, gelu_tanh, silu are the Cephes / XLA
// approximations of runtime/src/isa/isa.h, in f32 ("about 1 ulp", "a few
// ulp"); cos, sin and log are libm's (< 1 ulp from the exact result, so
// within 1 ulp of the correctly rounded reference). For the approximations
// k is about twice the largest error seen in 400,000 random cases (10^9
// inputs) on every ISA: exp 1, erf 4, tanh 0.5, sigmoid 2, silu 2,
// gelu 3.8, gelu_tanh 3 units of their ErrForm.
const UnaryOp kUnaryOps[] = {
    {DITC_RT_UNARY_NEG, "neg", -5, 5, true, [](double x) { return -x; },
     ErrForm::Exact, 0},
    {DITC_RT_UNARY_SQRT, "sqrt", 0, 100, true,
     [](double x) { return std::sqrt(x); }, ErrForm::Exact, 0},
    {DITC_RT_UNARY_RECIPROCAL, "reciprocal", -4, 4, true,
     [](double x) { return 1 / x; }, ErrForm::Exact, 0},
    {DITC_RT_UNARY_EXP, "exp", -20, 20, true,
     [](double x) { return std::exp(x); }, ErrForm::ExpArg, 2},
    {DITC_RT_UNARY_ERF, "erf", -5, 5, true,
     [](double x) { return std::erf(x); }, ErrForm::NearOne, 8},
    {DITC_RT_UNARY_COS, "cos", -10, 10, true,
     [](double x) { return std::cos(x); }, ErrForm::Ulp, 1},
    {DITC_RT_UNARY_SIN, "sin", -10, 10, true,
     [](double x) { return std::sin(x); }, ErrForm::Ulp, 1},
    {DITC_RT_UNARY_TANH, "tanh", -6, 6, true,
     [](double x) { return std::tanh(x); }, ErrForm::NearOne, 2},
    {DITC_RT_UNARY_SIGMOID, "sigmoid", -30, 30, true, refSigmoid,
     ErrForm::ExpArg, 4},
    {DITC_RT_UNARY_RELU, "relu", -3, 3, true,
     [](double x) { return x < 0 ? 0.0 : x; }, ErrForm::Exact, 0},
    {DITC_RT_UNARY_GELU, "gelu", -6, 6, false,
     [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); },
     ErrForm::OnePlusX, 8},
    {DITC_RT_UNARY_GELU_TANH, "gelu_tanh", -6, 6, false,
     [](double x) { return x * refSigmoid(geluTanhArg(x)); }, ErrForm::ExpArg,
     6},
    {DITC_RT_UNARY_SILU, "silu", -20, 20, false,
     [](double x) { return x * refSigmoid(x); }, ErrForm::ExpArg, 4},
    {DITC_RT_UNARY_ABS, "abs", -3, 3, true,
     [](double x) { return std::fabs(x); }, ErrForm::Exact, 0},
    {DITC_RT_UNARY_LOG, "log", 0, 1000, true,
     [](double x) { return std::log(x); }, ErrForm::Ulp, 1},
    {DITC_RT_UNARY_FLOOR, "floor", -50, 50, true,
     [](double x) { return std::floor(x); }, ErrForm::Exact, 0},
    {DITC_RT_UNARY_CEIL, "ceil", -50, 50, true,
     [](double x) { return std::ceil(x); }, ErrForm::Exact, 0},
    {DITC_RT_UNARY_ROUND, "round", -50, 50, true,
     [](double x) { return std::nearbyint(x); }, ErrForm::Exact, 0},
};
static_assert(sizeof(kUnaryOps) / sizeof(kUnaryOps[0]) == DITC_RT_UNARY_COUNT,
              "a unary op is missing");

/// The error unit of op u at input x and result y (see ErrForm).
double unaryErrUnit(const UnaryOp &u, double x, double y) {
  double b = ulp(DITC_RT_F32, y);
  switch (u.form) {
  case ErrForm::Exact:
    return 0;
  case ErrForm::Ulp:
    return b;
  case ErrForm::ExpArg:
    return b +
           kU *
               std::fabs(u.op == DITC_RT_UNARY_GELU_TANH ? geluTanhArg(x) : x) *
               std::fabs(y);
  case ErrForm::NearOne:
    return b + kU;
  case ErrForm::OnePlusX:
    return b + kU * std::fabs(x);
  }
  return 0;
}

TEST(Differential, Unary) {
  search("unary_f32", [](Case &c, Rng &r) {
    const UnaryOp &u = kUnaryOps[r.range(0, DITC_RT_UNARY_COUNT - 1)];
    const int64_t n = product(randomShape(
        r, (int)r.range(1, 2), sizeClass(r, 3000, 40000, 300000), 0.03));
    const double f = r.pick({0.25, 1.0, 1.0, 4.0});
    const double pSpecial = r.chance(0.2) ? 0.01 : 0;
    std::vector<float> x((size_t)n);
    for (float &v : x) {
      if (r.chance(pSpecial)) {
        v = u.infs ? r.pick<float>({NAN, 0.f, -0.f, INFINITY, -INFINITY})
                   : r.pick<float>({NAN, 0.f, -0.f});
      } else {
        v = r.nonZero((float)(u.lo * f), (float)(u.hi * f));
        if (u.op == DITC_RT_UNARY_ROUND && r.chance(0.3))
          v = std::trunc(v) + 0.5f; // halves go to even
        if (u.op == DITC_RT_UNARY_LOG && r.chance(0.3))
          v = std::ldexp(1.f, (int)r.range(-40, 40)) * r.nonZero(0.5f, 1.f);
      }
    }
    const bool inPlace = r.chance(0.25);
    c.desc = std::string(u.name) + ", " + std::to_string(n) +
             " elements, inputs in " + std::to_string(u.lo * f) + ".." +
             std::to_string(u.hi * f) + (inPlace ? ", in place" : "");
    std::vector<double> want((size_t)n);
    for (int64_t i = 0; i < n; ++i)
      want[i] = (double)(float)u.ref(x[i]);
    auto tol = [&](const std::vector<double> &w) {
      return [&](int64_t i) {
        return u.form == ErrForm::Exact
                   ? 0.0
                   : u.k * unaryErrUnit(u, x[i], w[i]) + kTiny;
      };
    };
    Guarded xs = sourceOf(x, r);
    const std::vector<uint8_t> init =
        inPlace ? std::vector<uint8_t>((const uint8_t *)x.data(),
                                       (const uint8_t *)(x.data() + n))
                : nanBytes((size_t)n * 4);
    const size_t dmis = randomMisalign(r, 4);
    std::vector<double> generic((size_t)n);
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      const float *px = inPlace ? d.as<float>() : xs.as<float>();
      ditc_rt_unary_f32(u.op, px, d.as<float>(), n);
      c.checkGuards(d, "output");
      const float *y = d.as<float>();
      expectClose(
          c, "vs reference", n, [&](int64_t i) { return (double)y[i]; },
          [&](int64_t i) { return want[i]; }, tol(want));
      if (k == 0)
        for (int64_t i = 0; i < n; ++i)
          generic[i] = y[i];
      else
        expectCloseToGeneric(
            c, "vs generic", n, [&](int64_t i) { return (double)y[i]; },
            [&](int64_t i) { return generic[i]; }, tol(generic));
    });
  });
}

} // namespace

//===--- reduce ----------------------------------------------------------===//

namespace {

TEST(Differential, Reduce) {
  search("reduce", [](Case &c, Rng &r) {
    const int op = (int)r.range(0, DITC_RT_REDUCE_COUNT - 1);
    const int dtype = r.pick({DITC_RT_F32, DITC_RT_I64, DITC_RT_I32});
    const DtypeInfo &t = kDtypes[dtype];
    const int rank = randomRank(r);
    std::vector<int64_t> shape =
        randomShape(r, rank, sizeClass(r, 3000, 40000, 400000));
    int64_t mask = 0;
    const double pAxis = r.pick({0.0, 0.3, 0.6, 1.0});
    for (int d = 0; d < rank; ++d)
      if (r.chance(pAxis))
        mask |= int64_t(1) << d;
    std::vector<int64_t> oshape = shape;
    for (int d = 0; d < rank; ++d)
      if ((mask >> d) & 1)
        oshape[d] = 1;
    const int64_t n = product(shape), on = product(oshape);
    // f32: values around an offset (products near 1); some NaNs at times.
    const double off = op == DITC_RT_REDUCE_PROD ? 1 : r.pick({0.0, 0.0, 3.0});
    const double spread =
        op == DITC_RT_REDUCE_PROD ? r.pick({0.01, 0.5}) : r.pick({1.0, 100.0});
    const double pNan = r.chance(0.1) ? 0.01 : 0;
    std::vector<uint8_t> x((size_t)(n * t.size));
    for (int64_t i = 0; i < n; ++i) {
      uint8_t *p = x.data() + i * t.size;
      if (t.isFloat)
        storeFloat(dtype, p,
                   r.chance(pNan) ? NAN : off + spread * r.nonZero(-1, 1));
      else
        storeBits(
            p, r.chance(0.5) ? (uint64_t)r.range(-100, 100) : randomInt(r, t),
            t.size);
    }
    c.desc = "op " + std::to_string(op) + " " + t.name + " shape " +
             str(shape) + " axes mask " + hex((uint64_t)mask);
    // Per output: the double (f32) or wrapping 64-bit (integer) fold, the
    // count and, for f32 sums, the sum of magnitudes.
    std::vector<double> sum(on, 0.0), mag(on, 0.0), prod(on, 1.0);
    std::vector<double> mx(on, -INFINITY), mn(on, INFINITY);
    std::vector<uint64_t> isum(on, 0), iprod(on, 1);
    std::vector<int64_t> imax(on, t.size == 8 ? INT64_MIN : INT32_MIN);
    std::vector<int64_t> imin(on, t.size == 8 ? INT64_MAX : INT32_MAX);
    std::vector<char> nan(on, 0);
    const std::vector<int64_t> xs = contiguousStrides(shape),
                               os = contiguousStrides(oshape);
    forEachIndex(shape, [&](const std::vector<int64_t> &idx) {
      int64_t o = 0;
      for (int d = 0; d < rank; ++d)
        o += ((mask >> d) & 1) ? 0 : idx[d] * os[d];
      const uint8_t *p = x.data() + dot(idx, xs) * t.size;
      if (t.isFloat) {
        double v = loadAsDouble(dtype, p);
        nan[o] |= std::isnan(v);
        sum[o] += v;
        mag[o] += std::fabs(v);
        prod[o] *= v;
        mx[o] = std::max(mx[o], v);
        mn[o] = std::min(mn[o], v);
      } else {
        uint64_t v = loadIntBits(dtype, p);
        isum[o] += v;
        iprod[o] *= v;
        imax[o] = std::max(imax[o], (int64_t)v);
        imin[o] = std::min(imin[o], (int64_t)v);
      }
    });
    const int64_t count = on == 0 ? 0 : n / on;
    // f32 sums: float vector partial sums over blocks (laneAdds), in double
    // after that; the mean divides once more; products and max / min fold
    // in double / exactly and round once.
    std::vector<double> want(on), tol(on, 0.0);
    std::vector<uint8_t> wantI((size_t)(on * t.size));
    for (int64_t o = 0; o < on; ++o) {
      if (t.isFloat) {
        double w = 0;
        switch (op) {
        case DITC_RT_REDUCE_SUM:
          w = sum[o];
          tol[o] = laneAdds(count) * kU * mag[o];
          break;
        case DITC_RT_REDUCE_MEAN:
          w = sum[o] / (double)count;
          tol[o] = laneAdds(count) * kU * mag[o] / (double)count;
          break;
        case DITC_RT_REDUCE_MAX:
          w = nan[o] ? NAN : mx[o];
          break;
        case DITC_RT_REDUCE_MIN:
          w = nan[o] ? NAN : mn[o];
          break;
        case DITC_RT_REDUCE_PROD:
          w = prod[o];
          tol[o] = (count * 0x1p-52 + 1) * ulp(DITC_RT_F32, w);
          break;
        }
        want[o] = (double)(float)w;
        tol[o] += ulp(DITC_RT_F32, want[o]) * (tol[o] > 0);
      } else {
        uint64_t w = 0;
        switch (op) {
        case DITC_RT_REDUCE_SUM:
          w = isum[o];
          break;
        case DITC_RT_REDUCE_MEAN:
          w = count ? (uint64_t)((int64_t)isum[o] / count) : 0;
          break;
        case DITC_RT_REDUCE_MAX:
          w = (uint64_t)imax[o];
          break;
        case DITC_RT_REDUCE_MIN:
          w = (uint64_t)imin[o];
          break;
        case DITC_RT_REDUCE_PROD:
          w = iprod[o];
          break;
        }
        storeBits(wantI.data() + o * t.size, w, t.size);
      }
    }
    Guarded xg = sourceOf(x, r, t.size);
    const std::vector<uint8_t> init =
        t.isFloat ? nanBytes(wantI.size()) : randomBytes(r, wantI.size());
    const size_t dmis = randomMisalign(r, t.size);
    std::vector<uint8_t> generic;
    std::vector<double> genericF(on);
    forEachIsa(c, [&](size_t k) {
      Guarded d(init, dmis, false);
      ditc_rt_reduce(op, dtype, xg.data(), ptr(shape), rank, mask, d.data());
      c.checkGuards(d, "output");
      if (t.isFloat) {
        const float *y = d.as<float>();
        expectClose(
            c, "vs reference", on, [&](int64_t i) { return (double)y[i]; },
            [&](int64_t i) { return want[i]; },
            [&](int64_t i) { return tol[i]; });
        if (k == 0)
          std::copy(y, y + on, genericF.begin());
        else
          expectCloseToGeneric(
              c, "vs generic", on, [&](int64_t i) { return (double)y[i]; },
              [&](int64_t i) { return genericF[i]; },
              [&](int64_t i) { return tol[i]; });
      } else {
        expectExact(c, k, d.bytes(), wantI.data(), generic, on, t.size);
      }
    });
  });
}

} // namespace

//===--- Normalisation and softmax ---------------------------------------===//

namespace {

/// x: `n` floats around a random offset (a large mean against the spread
/// stresses the mean's cancellation), non-zero.
std::vector<float> normInput(Rng &r, int64_t n) {
  const float off = r.pick<float>({0.f, 0.f, 1.f, -4.f, 20.f});
  const float spread = r.pick<float>({0.01f, 1.f, 1.f, 30.f});
  std::vector<float> x((size_t)n);
  for (float &v : x) {
    do
      v = off + spread * r.nonZero(-1, 1);
    while (v == 0.f);
  }
  return x;
}

struct RowStats {
  double mean, rstd, mabs; // mabs: mean |x|
};

RowStats rowStats(const float *x, int64_t n, double eps, bool rms) {
  double s = 0, a = 0;
  for (int64_t i = 0; i < n; ++i) {
    s += x[i];
    a += std::fabs((double)x[i]);
  }
  double mean = rms ? 0 : s / n, v = 0;
  for (int64_t i = 0; i < n; ++i)
    v += ((double)x[i] - mean) * ((double)x[i] - mean);
  return {mean, 1 / std::sqrt(v / n + eps), a / n};
}

/// Layer / group norm of one element with its bound: the mean and the
/// variance are sum_f / sum_sq_f sums (laneAdds(n) roundings of their sums
/// of magnitudes), the rest a few f32 operations: the error is
///   (K + 16) u |x - mean| rstd |s|   (variance, products)
/// + (K + 2) u mean|x| rstd |s|       (the mean, subtracted from x)
/// + 4 u (|y| + |b|)                  (the bias, final roundings).
void normRef(const RowStats &st, int64_t n, double x, double s, double b,
             double *want, double *tol) {
  const double K = laneAdds(n);
  const double d = x - st.mean;
  *want = d * st.rstd * s + b;
  *tol = (K + 16) * kU * std::fabs(d) * st.rstd * std::fabs(s) +
         (K + 2) * kU * st.mabs * st.rstd * std::fabs(s) +
         4 * kU * (std::fabs(*want) + std::fabs(b)) + kTiny;
}

/// Runs a float kernel on every ISA into a guarded copy of `init` (n
/// floats), comparing with want / tol and with generic.
template <class Call>
void runFloatKernel(Case &c, Rng &r, const std::vector<uint8_t> &init,
                    int64_t n, const std::vector<double> &want,
                    const std::vector<double> &tol, Call call) {
  const size_t dmis = randomMisalign(r, 4);
  std::vector<double> generic((size_t)n);
  forEachIsa(c, [&](size_t k) {
    Guarded d(init, dmis, false);
    call(d.as<float>());
    c.checkGuards(d, "output");
    const float *y = d.as<float>();
    expectClose(
        c, "vs reference", n, [&](int64_t i) { return (double)y[i]; },
        [&](int64_t i) { return want[i]; }, [&](int64_t i) { return tol[i]; });
    if (k == 0)
      std::copy(y, y + n, generic.begin());
    else
      expectCloseToGeneric(
          c, "vs generic", n, [&](int64_t i) { return (double)y[i]; },
          [&](int64_t i) { return generic[i]; },
          [&](int64_t i) { return tol[i]; });
  });
}

std::vector<uint8_t> floatBytes(const std::vector<float> &v) {
  return std::vector<uint8_t>((const uint8_t *)v.data(),
                              (const uint8_t *)(v.data() + v.size()));
}

TEST(Differential, LayerNorm) {
  search("layer_norm_f32", [](Case &c, Rng &r) {
    std::vector<int64_t> d =
        randomShape(r, 2, sizeClass(r, 4000, 40000, 400000), 0.03);
    if (r.chance(0.2))
      d[1] = r.pick<int64_t>({1536, 2304, 3072, 4095, 4097, 8193});
    while (d[0] * d[1] > 400000)
      d[0] = std::max<int64_t>(1, d[0] / 2);
    const int64_t rows = d[0], cols = d[1], n = rows * cols;
    const std::vector<float> x = normInput(r, n);
    std::vector<float> sc = randomFloats(cols, r.seed32(), -2.f, 2.f);
    std::vector<float> bi = randomFloats(cols, r.seed32(), -1.f, 1.f);
    const bool hasS = r.chance(0.7), hasB = r.chance(0.7);
    const bool inPlace = r.chance(0.25);
    const float eps = r.pick<float>({1e-5f, 1e-6f, 1e-3f});
    c.desc = "[" + std::to_string(rows) + ", " + std::to_string(cols) +
             "] eps " + std::to_string(eps) + (hasS ? " scale" : "") +
             (hasB ? " bias" : "") + (inPlace ? ", in place" : "");
    std::vector<double> want((size_t)n), tol((size_t)n);
    for (int64_t i = 0; i < rows; ++i) {
      RowStats st = rowStats(x.data() + i * cols, cols, eps, false);
      for (int64_t j = 0; j < cols; ++j)
        normRef(st, cols, x[i * cols + j], hasS ? sc[j] : 1.0,
                hasB ? bi[j] : 0.0, &want[i * cols + j], &tol[i * cols + j]);
    }
    Guarded xs = sourceOf(x, r), ss = sourceOf(sc, r), bs = sourceOf(bi, r);
    runFloatKernel(c, r, inPlace ? floatBytes(x) : nanBytes(n * 4), n, want,
                   tol, [&](float *y) {
                     ditc_rt_layer_norm_f32(inPlace ? y : xs.as<float>(),
                                            hasS ? ss.as<float>() : nullptr,
                                            hasB ? bs.as<float>() : nullptr, y,
                                            rows, cols, eps);
                   });
  });
}

TEST(Differential, RmsNorm) {
  search("rms_norm_f32", [](Case &c, Rng &r) {
    std::vector<int64_t> d =
        randomShape(r, 2, sizeClass(r, 4000, 40000, 400000), 0.03);
    const int64_t rows = d[0], cols = d[1], n = rows * cols;
    const std::vector<float> x = normInput(r, n);
    std::vector<float> sc = randomFloats(cols, r.seed32(), -2.f, 2.f);
    const bool hasS = r.chance(0.7), inPlace = r.chance(0.25);
    const float eps = r.pick<float>({1e-5f, 1e-6f, 1e-3f});
    c.desc = "[" + std::to_string(rows) + ", " + std::to_string(cols) +
             "] eps " + std::to_string(eps) + (hasS ? " scale" : "") +
             (inPlace ? ", in place" : "");
    // The mean square is a sum_sq_f sum of positive terms (laneAdds
    // roundings, relative); then a square root, a division and two products.
    std::vector<double> want((size_t)n), tol((size_t)n);
    for (int64_t i = 0; i < rows; ++i) {
      RowStats st = rowStats(x.data() + i * cols, cols, eps, true);
      for (int64_t j = 0; j < cols; ++j) {
        double &w = want[i * cols + j];
        w = x[i * cols + j] * st.rstd * (hasS ? sc[j] : 1.0);
        tol[i * cols + j] =
            (laneAdds(cols) / 2 + 8) * kU * std::fabs(w) + kTiny;
      }
    }
    Guarded xs = sourceOf(x, r), ss = sourceOf(sc, r);
    runFloatKernel(c, r, inPlace ? floatBytes(x) : nanBytes(n * 4), n, want,
                   tol, [&](float *y) {
                     ditc_rt_rms_norm_f32(inPlace ? y : xs.as<float>(),
                                          hasS ? ss.as<float>() : nullptr, y,
                                          rows, cols, eps);
                   });
  });
}

TEST(Differential, GroupNorm) {
  search("group_norm_f32", [](Case &c, Rng &r) {
    const int64_t groups = r.pick<int64_t>({1, 2, 3, 4, 8, 32});
    std::vector<int64_t> d =
        randomShape(r, 3, sizeClass(r, 4000, 40000, 400000) / groups + 1, 0.03);
    const int64_t nb = d[0], cpg = d[1], sp = d[2], ch = cpg * groups;
    const int64_t n = nb * ch * sp;
    const std::vector<float> x = normInput(r, n);
    std::vector<float> sc = randomFloats(ch, r.seed32(), -2.f, 2.f);
    std::vector<float> bi = randomFloats(ch, r.seed32(), -1.f, 1.f);
    const bool hasS = r.chance(0.7), hasB = r.chance(0.7);
    const bool inPlace = r.chance(0.25);
    const float eps = r.pick<float>({1e-5f, 1e-6f});
    c.desc = "n " + std::to_string(nb) + " c " + std::to_string(ch) +
             " spatial " + std::to_string(sp) + " groups " +
             std::to_string(groups) + (hasS ? " scale" : "") +
             (hasB ? " bias" : "") + (inPlace ? ", in place" : "");
    const int64_t len = cpg * sp;
    std::vector<double> want((size_t)n), tol((size_t)n);
    for (int64_t g = 0; g < nb * groups; ++g) {
      RowStats st = rowStats(x.data() + g * len, len, eps, false);
      for (int64_t i = 0; i < len; ++i) {
        int64_t chn = (g % groups) * cpg + i / sp;
        normRef(st, len, x[g * len + i], hasS ? sc[chn] : 1.0,
                hasB ? bi[chn] : 0.0, &want[g * len + i], &tol[g * len + i]);
      }
    }
    Guarded xs = sourceOf(x, r), ss = sourceOf(sc, r), bs = sourceOf(bi, r);
    runFloatKernel(c, r, inPlace ? floatBytes(x) : nanBytes(n * 4), n, want,
                   tol, [&](float *y) {
                     ditc_rt_group_norm_f32(inPlace ? y : xs.as<float>(),
                                            hasS ? ss.as<float>() : nullptr,
                                            hasB ? bs.as<float>() : nullptr, y,
                                            nb, ch, sp, groups, eps);
                   });
  });
}

/// Softmax over the middle axis of [outer, len, inner] in double, with the
/// bound: the sum adds `adds` positive f32 terms in sequence (relative
/// error), each exp is exp_v (2 ulps) of x - max rounded to f32 (|x - max|
/// u), then a reciprocal and a product.
void softmaxRef(const std::vector<float> &x, int64_t outer, int64_t len,
                int64_t inner, std::vector<double> &want,
                std::vector<double> &tol) {
  const double adds =
      inner == 1 ? (double)len / kNarrowestW + 2 * kWidestW + 4 : (double)len;
  want.assign(x.size(), 0);
  tol.assign(x.size(), 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t l) { return (o * len + l) * inner + i; };
      double m = -INFINITY, s = 0, spread = 0;
      for (int64_t l = 0; l < len; ++l)
        m = std::max(m, (double)x[at(l)]);
      for (int64_t l = 0; l < len; ++l) {
        s += std::exp(x[at(l)] - m);
        if (x[at(l)] != -INFINITY)
          spread = std::max(spread, m - x[at(l)]);
      }
      for (int64_t l = 0; l < len; ++l) {
        double w = std::exp(x[at(l)] - m) / s;
        want[at(l)] = w;
        double e = x[at(l)] == -INFINITY ? 0 : m - x[at(l)];
        tol[at(l)] = kU * (adds + e + spread + 12) * w + kTiny;
      }
    }
}

TEST(Differential, Softmax) {
  search("softmax_f32", [](Case &c, Rng &r) {
    std::vector<int64_t> d =
        randomShape(r, 3, sizeClass(r, 4000, 40000, 400000), 0.03);
    if (r.chance(0.3))
      d[2] = 1; // rows
    const int64_t outer = d[0], len = d[1], inner = d[2];
    const int64_t n = outer * len * inner;
    const float spread = r.pick<float>({1.f, 8.f, 30.f});
    const float off = r.pick<float>({0.f, 0.f, 100.f, -1000.f});
    const double pInf = r.chance(0.2) ? 0.05 : 0;
    std::vector<float> x((size_t)n);
    for (int64_t i = 0; i < n; ++i)
      x[i] = r.chance(pInf) ? -INFINITY : off + spread * r.nonZero(-1, 1);
    // A row of -inf only is NaN: keep one finite element per row.
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        if (len > 0)
          x[(o * len + r.range(0, len - 1)) * inner + i] = off;
    const bool inPlace = r.chance(0.25);
    c.desc = "[" + std::to_string(outer) + ", " + std::to_string(len) + ", " +
             std::to_string(inner) + "], x in " + std::to_string(off) + " +- " +
             std::to_string(spread) + (pInf ? " with -inf" : "") +
             (inPlace ? ", in place" : "");
    std::vector<double> want, tol;
    softmaxRef(x, outer, len, inner, want, tol);
    Guarded xs = sourceOf(x, r);
    runFloatKernel(c, r, inPlace ? floatBytes(x) : nanBytes(n * 4), n, want,
                   tol, [&](float *y) {
                     ditc_rt_softmax_f32(inPlace ? y : xs.as<float>(), y, outer,
                                         len, inner);
                   });
  });
}

} // namespace

//===--- rope_f32 --------------------------------------------------------===//

namespace {

TEST(Differential, Rope) {
  search("rope_f32", [](Case &c, Rng &r) {
    std::vector<int64_t> d =
        randomShape(r, 3, sizeClass(r, 64, 1000, 8000), 0.04);
    const int64_t n0 = d[0], n1 = d[1], n2 = d[2];
    const int64_t dim = r.pick<int64_t>(
        {2, 4, 6, 8, 9, 16, 18, 24, 32, 34, 48, 64, 66, 72, 96, 128, 130, 256});
    const int64_t rot = r.chance(0.6) ? dim / 2 * 2 : 2 * r.range(0, dim / 2);
    const int inter = (int)r.range(0, 1);
    // Table rows (cos and sin alike): a view of [n0, n1, n2] rows of
    // `width` >= rot floats, broadcast (0), permuted or reversed.
    const View tv = randomView(r, {n0, n1, n2}, true, true);
    const int64_t width = rot + (r.chance(0.3) ? r.range(1, 3) : 0);
    int64_t ts[3];
    for (int k = 0; k < 3; ++k)
      ts[k] = tv.strides[k] * width;
    const int64_t tlen = tv.extent == 0 ? 0 : (tv.extent - 1) * width + rot;
    const int64_t rows = n0 * n1 * n2, n = rows * dim;
    const std::vector<float> x = randomFloats(n, r.seed32());
    // Asymmetric tables: cos[a] != cos[b], sin[a] != sin[b].
    const std::vector<float> cs = randomFloats(tlen, r.seed32());
    const std::vector<float> sn = randomFloats(tlen, r.seed32());
    const bool inPlace = r.chance(0.3);
    c.desc = "[" + std::to_string(n0) + ", " + std::to_string(n1) + ", " +
             std::to_string(n2) + ", " + std::to_string(dim) + "] rot " +
             std::to_string(rot) + (inter ? " interleaved" : " halves") +
             ", table rows " + tv.str() + " of " + std::to_string(width) +
             (inPlace ? ", in place" : "");
    // Each rotated output is a*c -/+ b*s in f32 (an FMA at most): within
    // 2 roundings of |a c| + |b s| (2u(1 + 3u), and the reference's own
    // double rounding: 2.0001 u). Passthrough features are exact.
    std::vector<double> want((size_t)n), tol((size_t)n, 0.0);
    int64_t row = 0;
    forEachIndex({n0, n1, n2}, [&](const std::vector<int64_t> &idx) {
      const int64_t t =
          tv.offset * width + idx[0] * ts[0] + idx[1] * ts[1] + idx[2] * ts[2];
      const float *xr = x.data() + row * dim;
      double *w = want.data() + row * dim, *e = tol.data() + row * dim;
      for (int64_t f = 0; f < dim; ++f)
        w[f] = xr[f];
      for (int64_t i = 0; i < rot / 2; ++i) {
        int64_t a = inter ? 2 * i : i, b = inter ? 2 * i + 1 : i + rot / 2;
        w[a] = (double)xr[a] * cs[t + a] - (double)xr[b] * sn[t + a];
        w[b] = (double)xr[b] * cs[t + b] + (double)xr[a] * sn[t + b];
        e[a] = 2.0001 * kU *
               (std::fabs((double)xr[a] * cs[t + a]) +
                std::fabs((double)xr[b] * sn[t + a]));
        e[b] = 2.0001 * kU *
               (std::fabs((double)xr[b] * cs[t + b]) +
                std::fabs((double)xr[a] * sn[t + b]));
      }
      ++row;
    });
    Guarded xs = sourceOf(x, r), cg = sourceOf(cs, r), sg = sourceOf(sn, r);
    runFloatKernel(c, r, inPlace ? floatBytes(x) : nanBytes(n * 4), n, want,
                   tol, [&](float *y) {
                     ditc_rt_rope_f32(inPlace ? y : xs.as<float>(),
                                      cg.as<float>() + tv.offset * width,
                                      sg.as<float>() + tv.offset * width, y, n0,
                                      n1, n2, dim, rot, ts, inter);
                   });
  });
}

} // namespace

//===--- Attention -------------------------------------------------------===//

namespace {

/// An attention problem (attention_f32, or attention_block_f32 with
/// offsets) and its data. The mask has kvTotal = kvOffset + Sk columns
/// (global keys) and any strides.
struct Attn {
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
  int64_t qOffset = 0, kvOffset = 0, kvValid = 0;
  bool causal;
  int maskKind;
  float scale;
  View mv; // mask view over [B, H, Sq, kvOffset + Sk]
  std::vector<float> q, k, v, addMask;
  std::vector<uint8_t> boolMask;

  std::string str() const {
    std::ostringstream os;
    os << "B " << B << " H " << H << " Hkv " << Hkv << " Sq " << Sq << " Sk "
       << Sk << " D " << D << " Dv " << Dv << " scale " << scale
       << (causal ? " causal" : "") << " mask "
       << (maskKind == DITC_RT_MASK_NONE   ? "none"
           : maskKind == DITC_RT_MASK_BOOL ? "bool"
                                           : "additive");
    if (maskKind != DITC_RT_MASK_NONE)
      os << " strides " << mv.str();
    if (qOffset || kvOffset || kvValid)
      os << " q_offset " << qOffset << " kv_offset " << kvOffset << " kv_valid "
         << kvValid;
    return os.str();
  }
};

const std::vector<int64_t> kSeq = {1,  2,   3,   5,   7,   8,   15, 16,
                                   17, 31,  33,  63,  64,  65,  95, 96,
                                   97, 100, 127, 129, 191, 193, 250};
const std::vector<int64_t> kHead = {1,  2,  3,  4,   7,   8,  15, 16,
                                    17, 31, 32, 33,  48,  63, 64, 65,
                                    72, 80, 96, 127, 128, 129};

Attn randomAttn(Rng &r, bool block) {
  Attn a;
  a.B = r.chance(0.02) ? 0 : r.range(1, 3);
  a.Hkv = r.range(1, 3);
  a.H = a.Hkv * r.range(1, 4);
  a.Sq = r.chance(0.02) ? 0 : r.pick(kSeq);
  a.Sk = r.chance(0.03) ? 0 : r.pick(kSeq);
  a.D = r.pick(kHead);
  a.Dv = r.chance(0.6) ? a.D : r.pick(kHead);
  // At most ~1.5 M multiply-adds per ISA.
  while (a.B * a.H * a.Sq * a.Sk * (a.D + a.Dv) > 1500000) {
    if (a.Sq > 16 && r.chance(0.5))
      a.Sq = a.Sq / 2 + 1;
    else if (a.Sk > 16)
      a.Sk = a.Sk / 2 + 1;
    else
      a.H = a.Hkv;
  }
  a.causal = r.chance(0.4);
  a.maskKind = (int)r.range(0, 2);
  if (block) {
    a.qOffset = r.chance(0.3) ? 0 : r.range(0, 300);
    a.kvOffset = r.chance(0.3) ? 0 : r.range(0, 300);
    a.kvValid = r.chance(0.5) ? 0 : r.range(-5, a.kvOffset + a.Sk + 5);
  }
  a.scale = (float)(1 / std::sqrt((double)a.D) *
                    (r.chance(0.7) ? 1 : r.real(0.1, 4)));
  const float qk = r.pick<float>({1.f, 1.f, 2.f, 4.f});
  a.q = randomFloats(a.B * a.H * a.Sq * a.D, r.seed32(), -qk, qk);
  a.k = randomFloats(a.B * a.Hkv * a.Sk * a.D, r.seed32(), -qk, qk);
  a.v = randomFloats(a.B * a.Hkv * a.Sk * a.Dv, r.seed32());
  if (a.maskKind != DITC_RT_MASK_NONE) {
    a.mv = randomView(r, {a.B, a.H, a.Sq, a.kvOffset + a.Sk}, true, true);
    const double pMasked = r.pick({0.05, 0.3, 0.8, 1.0});
    if (a.maskKind == DITC_RT_MASK_BOOL) {
      a.boolMask.resize((size_t)a.mv.extent);
      for (uint8_t &m : a.boolMask)
        m = r.chance(pMasked) ? 0 : (uint8_t)r.range(1, 255);
    } else {
      a.addMask = randomFloats(a.mv.extent, r.seed32(), -3.f, 3.f);
      for (float &m : a.addMask)
        if (r.chance(pMasked / 2))
          m = -INFINITY;
    }
  }
  return a;
}

/// Output row (b, h, i) of `a` in double into out[Dv]; returns its
/// log-sum-exp (-inf, zeros, when no key is attended) and the tolerance of
/// the row's outputs and its lse. The kernel's error: scores are f32 dot
/// products of D terms (D + 8 roundings of scale * sum |q k|, plus the
/// mask), exponentiated in base 2 (exp2_v, 2 ulps; the argument s - m
/// rounded: |s - m| u); the weights' sum and the output accumulate over
/// the attended keys in f32 (one rounding each); so the output, a convex
/// combination of rows of v, is off by at most
///   u max|v| (32 + 2 n + 4 (D + 8) S),  S = max_j |scale q.k_j| + |mask_j|
/// over the n keys attended; the lse by u (32 + 2 n + 4 (D + 8) S + 4|lse|).
double attnRefRow(const Attn &a, int64_t b, int64_t h, int64_t i, double *out,
                  double *tolOut, double *tolLse) {
  const int64_t g = h / (a.H / a.Hkv), qi = a.qOffset + i;
  const float *qr = a.q.data() + ((b * a.H + h) * a.Sq + i) * a.D;
  std::vector<double> s((size_t)a.Sk, -INFINITY);
  double m = -INFINITY, S = 0;
  int64_t att = 0;
  for (int64_t j = 0; j < a.Sk; ++j) {
    const int64_t kj = a.kvOffset + j;
    if ((a.causal && kj > qi) || (a.kvValid > 0 && kj >= a.kvValid))
      continue;
    double add = 0;
    if (a.maskKind != DITC_RT_MASK_NONE) {
      const int64_t at = a.mv.offset + b * a.mv.strides[0] +
                         h * a.mv.strides[1] + i * a.mv.strides[2] +
                         kj * a.mv.strides[3];
      if (a.maskKind == DITC_RT_MASK_BOOL && !a.boolMask[at])
        continue;
      if (a.maskKind == DITC_RT_MASK_ADDITIVE) {
        add = a.addMask[at];
        if (add == -INFINITY)
          continue;
      }
    }
    const float *kr = a.k.data() + ((b * a.Hkv + g) * a.Sk + j) * a.D;
    double dotq = 0, mag = 0;
    for (int64_t t = 0; t < a.D; ++t) {
      dotq += (double)qr[t] * kr[t];
      mag += std::fabs((double)qr[t] * kr[t]);
    }
    s[j] = dotq * a.scale + add;
    S = std::max(S, mag * std::fabs(a.scale) + std::fabs(add));
    m = std::max(m, s[j]);
    ++att;
  }
  double sum = 0, vmax = 0;
  std::fill(out, out + a.Dv, 0.0);
  for (int64_t j = 0; j < a.Sk; ++j) {
    if (s[j] == -INFINITY)
      continue;
    const double p = std::exp(s[j] - m);
    sum += p;
    const float *vr = a.v.data() + ((b * a.Hkv + g) * a.Sk + j) * a.Dv;
    for (int64_t t = 0; t < a.Dv; ++t) {
      out[t] += p * vr[t];
      vmax = std::max(vmax, std::fabs((double)vr[t]));
    }
  }
  const double base = 32 + 2.0 * att + 4.0 * (a.D + 8) * S;
  *tolOut = kU * vmax * base + kTiny;
  if (att == 0) {
    *tolLse = 0;
    return -INFINITY;
  }
  for (int64_t t = 0; t < a.Dv; ++t)
    out[t] /= sum;
  const double lse = m + std::log(sum);
  *tolLse = kU * (base + 4 * std::fabs(lse));
  return lse;
}

void attentionCase(Case &c, Rng &r, bool block) {
  Attn a = randomAttn(r, block);
  const bool inPlace = a.Dv == a.D && r.chance(0.2);
  const bool withLse = block && r.chance(0.8);
  c.desc = a.str() + (inPlace ? ", out = q" : "") +
           (block && !withLse ? ", no lse" : "");
  const int64_t rows = a.B * a.H * a.Sq, n = rows * a.Dv;
  std::vector<double> want((size_t)n), tol((size_t)n), lse((size_t)rows),
      lseTol((size_t)rows);
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t h = 0; h < a.H; ++h)
      for (int64_t i = 0; i < a.Sq; ++i) {
        const int64_t row = (b * a.H + h) * a.Sq + i;
        double t;
        lse[row] =
            attnRefRow(a, b, h, i, want.data() + row * a.Dv, &t, &lseTol[row]);
        std::fill(tol.begin() + row * a.Dv, tol.begin() + (row + 1) * a.Dv, t);
      }
  // Exactly sized sources; the mask buffer is the view's extent.
  Guarded qs = sourceOf(a.q, r), ks = sourceOf(a.k, r), vs = sourceOf(a.v, r);
  Guarded ms = a.maskKind == DITC_RT_MASK_BOOL ? sourceOf(a.boolMask, r)
                                               : sourceOf(a.addMask, r);
  const void *mask =
      a.maskKind == DITC_RT_MASK_NONE
          ? nullptr
          : ms.data() + a.mv.offset * (a.maskKind == DITC_RT_MASK_BOOL ? 1 : 4);
  const int64_t *mstr =
      a.maskKind == DITC_RT_MASK_NONE ? nullptr : a.mv.strides.data();
  const std::vector<uint8_t> init =
      inPlace ? floatBytes(a.q) : nanBytes((size_t)n * 4);
  const size_t dmis = randomMisalign(r, 4), lmis = randomMisalign(r, 4);
  std::vector<double> generic((size_t)n), genericLse((size_t)rows);
  forEachIsa(c, [&](size_t k) {
    Guarded d(init, dmis, false), l(nanBytes((size_t)rows * 4), lmis, false);
    const float *q = inPlace ? d.as<float>() : qs.as<float>();
    if (block)
      ditc_rt_attention_block_f32(q, ks.as<float>(), vs.as<float>(), mask,
                                  a.maskKind, mstr, d.as<float>(),
                                  withLse ? l.as<float>() : nullptr, a.B, a.H,
                                  a.Hkv, a.Sq, a.Sk, a.D, a.Dv, a.scale,
                                  a.causal, a.qOffset, a.kvOffset, a.kvValid);
    else
      ditc_rt_attention_f32(q, ks.as<float>(), vs.as<float>(), mask, a.maskKind,
                            mstr, d.as<float>(), a.B, a.H, a.Hkv, a.Sq, a.Sk,
                            a.D, a.Dv, a.scale, a.causal);
    c.checkGuards(d, "out");
    c.checkGuards(l, "lse");
    const float *y = d.as<float>(), *ly = l.as<float>();
    expectClose(
        c, "out vs reference", n, [&](int64_t i) { return (double)y[i]; },
        [&](int64_t i) { return want[i]; }, [&](int64_t i) { return tol[i]; });
    if (withLse)
      expectClose(
          c, "lse vs reference", rows, [&](int64_t i) { return (double)ly[i]; },
          [&](int64_t i) { return lse[i]; },
          [&](int64_t i) { return lseTol[i]; });
    if (k == 0) {
      std::copy(y, y + n, generic.begin());
      std::copy(ly, ly + rows, genericLse.begin());
    } else {
      expectCloseToGeneric(
          c, "out vs generic", n, [&](int64_t i) { return (double)y[i]; },
          [&](int64_t i) { return generic[i]; },
          [&](int64_t i) { return tol[i]; });
      if (withLse)
        expectCloseToGeneric(
            c, "lse vs generic", rows, [&](int64_t i) { return (double)ly[i]; },
            [&](int64_t i) { return genericLse[i]; },
            [&](int64_t i) { return lseTol[i]; });
    }
    // The scratch does not depend on the key length.
    const int64_t s1 =
        ditc_rt_attention_scratch_bytes(a.H, a.Hkv, a.Sq, a.Sk, a.D, a.Dv);
    const int64_t s2 = ditc_rt_attention_scratch_bytes(
        a.H, a.Hkv, a.Sq, a.Sk * 1000 + 1, a.D, a.Dv);
    if (s1 != s2 || s1 <= 0)
      c.fail("attention_scratch_bytes " + std::to_string(s1) + " for Sk " +
             std::to_string(a.Sk) + ", " + std::to_string(s2) +
             " for Sk * 1000 + 1");
  });
}

TEST(Differential, Attention) {
  search("attention_f32", [](Case &c, Rng &r) { attentionCase(c, r, false); });
}

TEST(Differential, AttentionBlock) {
  search("attention_block_f32",
         [](Case &c, Rng &r) { attentionCase(c, r, true); });
}

TEST(Differential, AttentionMerge) {
  search("attention_merge_f32", [](Case &c, Rng &r) {
    std::vector<int64_t> d =
        randomShape(r, 2, sizeClass(r, 4000, 40000, 400000), 0.03);
    const int64_t rows = d[0], dv = d[1];
    const std::vector<float> o = randomFloats(rows * dv, r.seed32());
    const std::vector<float> ob = randomFloats(rows * dv, r.seed32());
    const double pInf = r.pick({0.0, 0.2, 0.6});
    std::vector<float> la((size_t)rows), lb((size_t)rows);
    for (int64_t i = 0; i < rows; ++i) {
      la[i] = r.chance(pInf) ? -INFINITY : r.nonZero(-12, 12);
      lb[i] = r.chance(pInf) ? -INFINITY : r.nonZero(-12, 12);
    }
    c.desc = "rows " + std::to_string(rows) + " Dv " + std::to_string(dv);
    // The weights: exp(l - max) of an f32 difference (|la - lb| u), a
    // sum and two divisions; out a two-term f32 combination:
    //   (8 + 2|la - lb|) u (|out| + |block_out|); the lse m + log(s):
    //   (4 + 4|lse| + 2|la - lb|) u.
    std::vector<double> want((size_t)(rows * dv)), tol(want.size());
    std::vector<double> wl((size_t)rows), tl((size_t)rows);
    for (int64_t i = 0; i < rows; ++i) {
      const double a = la[i], b = lb[i], m = std::max(a, b);
      const double diff = std::isinf(a) || std::isinf(b) ? 0 : std::fabs(a - b);
      const double wa = m == -INFINITY ? 0 : std::exp(a - m),
                   wb = m == -INFINITY ? 0 : std::exp(b - m);
      const double s = wa + wb;
      wl[i] = m == -INFINITY ? -INFINITY : m + std::log(s);
      tl[i] = kU * (4 + 4 * std::fabs(wl[i]) + 2 * diff);
      for (int64_t t = 0; t < dv; ++t) {
        const int64_t at = i * dv + t;
        want[at] = m == -INFINITY ? 0 : (o[at] * wa + ob[at] * wb) / s;
        tol[at] = kU * (8 + 2 * diff) *
                      (std::fabs((double)o[at]) + std::fabs((double)ob[at])) +
                  kTiny;
      }
    }
    Guarded obs = sourceOf(ob, r), lbs = sourceOf(lb, r);
    const size_t omis = randomMisalign(r, 4), lmis = randomMisalign(r, 4);
    std::vector<double> generic(want.size()), genericL((size_t)rows);
    forEachIsa(c, [&](size_t k) {
      Guarded og(floatBytes(o), omis, false), lg(floatBytes(la), lmis, false);
      ditc_rt_attention_merge_f32(og.as<float>(), lg.as<float>(),
                                  obs.as<float>(), lbs.as<float>(), rows, dv);
      c.checkGuards(og, "out");
      c.checkGuards(lg, "lse");
      const float *y = og.as<float>(), *ly = lg.as<float>();
      const int64_t n = rows * dv;
      expectClose(
          c, "out vs reference", n, [&](int64_t i) { return (double)y[i]; },
          [&](int64_t i) { return want[i]; },
          [&](int64_t i) { return tol[i]; });
      expectClose(
          c, "lse vs reference", rows, [&](int64_t i) { return (double)ly[i]; },
          [&](int64_t i) { return wl[i]; }, [&](int64_t i) { return tl[i]; });
      if (k == 0) {
        std::copy(y, y + n, generic.begin());
        std::copy(ly, ly + rows, genericL.begin());
      } else {
        expectCloseToGeneric(
            c, "out vs generic", n, [&](int64_t i) { return (double)y[i]; },
            [&](int64_t i) { return generic[i]; },
            [&](int64_t i) { return tol[i]; });
        expectCloseToGeneric(
            c, "lse vs generic", rows, [&](int64_t i) { return (double)ly[i]; },
            [&](int64_t i) { return genericL[i]; },
            [&](int64_t i) { return tl[i]; });
      }
    });
  });
}

} // namespace

//===--- Fixed large shapes from full-size models ------------------------===//
//
// SD3-medium at 1024x1024: 4096 image and 333 text tokens (4429 joint), 24
// heads of 64, hidden size 1536, batch 2 (classifier-free guidance). Each
// case runs on every ISA with the default thread count and checks every
// element against plain loops and the generic ISA's result.

namespace {

/// Fast non-zero floats in [-1, 1) (splitmix64; the big buffers would take
/// long through randomFloats).
void fillFloats(float *x, int64_t n, uint64_t seed) {
  for (int64_t i = 0; i < n; ++i) {
    seed = splitmix64(seed);
    float v = (float)((int64_t)(seed >> 40) - (int64_t(1) << 23)) * 0x1p-23f;
    x[i] = v == 0.f ? 0.5f : v;
  }
}

constexpr uint32_t kPoison = 0x7fc0dead; // an f32 NaN

/// ISA result k: exactly generic's (kept in `generic`, n words).
void expectWordsEqual(Case &c, size_t k, const uint32_t *y,
                      std::vector<uint32_t> &generic, int64_t n) {
  if (k == 0)
    generic.assign(y, y + n);
  else
    expectBytes(c, "vs generic", (const uint8_t *)y,
                (const uint8_t *)generic.data(), n, 4);
}

// The joint-attention concat: image K [2,24,4096,64] into rows 0..4095 of
// [2,24,4429,64], then the text part [2,24,333,64] at the 4096-row offset.
// After the first copy the text rows must still hold the poison.
TEST(DifferentialLarge, Sd3JointConcat) {
  const int64_t B = 2, H = 24, Si = 4096, St = 333, S = Si + St, D = 64;
  Case c{"strided_copy", baseSeed()};
  c.desc = "SD3 joint concat [2,24,4096,64] + [2,24,333,64] -> "
           "[2,24,4429,64]";
  Guarded img(B * H * Si * D * 4, 0, true), txt(B * H * St * D * 4, 4, true);
  fillFloats(img.as<float>(), B * H * Si * D, c.seed);
  fillFloats(txt.as<float>(), B * H * St * D, c.seed + 1);
  const int64_t n = B * H * S * D;
  const std::vector<int64_t> shapeI = {B, H, Si, D}, shapeT = {B, H, St, D};
  const std::vector<int64_t> dst = {H * S * D, S * D, D, 1};
  std::vector<uint32_t> generic;
  forEachIsa(c, [&](size_t k) {
    Guarded d(n * 4, 0, false);
    std::fill(d.as<uint32_t>(), d.as<uint32_t>() + n, kPoison);
    ditc_rt_strided_copy(4, img.data(), 0, contiguousStrides(shapeI).data(),
                         d.data(), dst.data(), shapeI.data(), 4);
    c.checkGuards(d, "destination");
    const uint32_t *y = d.as<uint32_t>(), *xi = img.as<uint32_t>(),
                   *xt = txt.as<uint32_t>();
    int64_t bad = 0;
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t r = Si; r < S; ++r)
        for (int64_t e = 0; e < D; ++e)
          bad += y[(bh * S + r) * D + e] != kPoison;
    if (bad)
      c.fail("the image copy wrote " + std::to_string(bad) +
             " elements of the text rows");
    ditc_rt_strided_copy(4, txt.data(), 0, contiguousStrides(shapeT).data(),
                         d.data() + Si * D * 4, dst.data(), shapeT.data(), 4);
    c.checkGuards(d, "destination");
    int64_t first = -1;
    bad = 0;
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t r = 0; r < S; ++r)
        for (int64_t e = 0; e < D; ++e) {
          const int64_t at = (bh * S + r) * D + e;
          const uint32_t w = r < Si ? xi[(bh * Si + r) * D + e]
                                    : xt[(bh * St + r - Si) * D + e];
          if (y[at] != w && bad++ == 0)
            first = at;
        }
    if (bad)
      c.fail("vs reference: " + std::to_string(bad) + " elements differ, " +
             "first at " + std::to_string(first));
    c.compared += n;
    expectWordsEqual(c, k, y, generic, n);
  });
}

// The head split: [2,4096,24,64] -> [2,24,4096,64] (a transpose of the two
// middle dims), and back.
TEST(DifferentialLarge, Sd3HeadTranspose) {
  const int64_t B = 2, S = 4096, H = 24, D = 64, n = B * S * H * D;
  Case c{"strided_copy", baseSeed()};
  c.desc = "SD3 transpose [2,4096,24,64] -> [2,24,4096,64] and back";
  Guarded x(n * 4, 0, true);
  fillFloats(x.as<float>(), n, c.seed + 2);
  const std::vector<int64_t> shape = {B, H, S, D};
  const std::vector<int64_t> src = {S * H * D, D, H * D, 1};
  const std::vector<int64_t> dst = contiguousStrides(shape);
  std::vector<uint32_t> generic;
  forEachIsa(c, [&](size_t k) {
    Guarded d(n * 4, 0, false);
    std::fill(d.as<uint32_t>(), d.as<uint32_t>() + n, kPoison);
    ditc_rt_strided_copy(4, x.data(), 0, src.data(), d.data(), dst.data(),
                         shape.data(), 4);
    c.checkGuards(d, "destination");
    const uint32_t *y = d.as<uint32_t>(), *xs = x.as<uint32_t>();
    int64_t bad = 0, first = -1;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s)
          for (int64_t e = 0; e < D; ++e) {
            const int64_t at = ((b * H + h) * S + s) * D + e;
            if (y[at] != xs[((b * S + s) * H + h) * D + e] && bad++ == 0)
              first = at;
          }
    if (bad)
      c.fail("vs reference: " + std::to_string(bad) + " elements differ, " +
             "first at " + std::to_string(first));
    c.compared += n;
    expectWordsEqual(c, k, y, generic, n);
    // Back: [2,24,4096,64] viewed as [2,4096,24,64] into a contiguous one.
    Guarded back(n * 4, 0, false);
    const std::vector<int64_t> bshape = {B, S, H, D};
    const std::vector<int64_t> bsrc = {H * S * D, D, S * D, 1};
    ditc_rt_strided_copy(4, d.data(), 0, bsrc.data(), back.data(),
                         contiguousStrides(bshape).data(), bshape.data(), 4);
    c.checkGuards(back, "destination of the way back");
    expectBytes(c, "back vs the input", back.data(), x.data(), n, 4);
  });
}

// layer_norm over the joint tokens of both batches: [2 * 4096, 1536].
TEST(DifferentialLarge, Sd3LayerNorm) {
  const int64_t rows = 2 * 4096, cols = 1536, n = rows * cols;
  Case c{"layer_norm_f32", baseSeed()};
  c.desc = "SD3 layer_norm [8192, 1536] with scale and bias";
  Guarded x(n * 4, 0, true), sc(cols * 4, 0, true), bi(cols * 4, 0, true);
  fillFloats(x.as<float>(), n, c.seed + 3);
  for (int64_t i = 0; i < n; ++i) // a mean of 2 against a spread of 1
    x.as<float>()[i] += 2.f;
  fillFloats(sc.as<float>(), cols, c.seed + 4);
  fillFloats(bi.as<float>(), cols, c.seed + 5);
  std::vector<RowStats> st((size_t)rows);
  for (int64_t r = 0; r < rows; ++r)
    st[r] = rowStats(x.as<float>() + r * cols, cols, 1e-6, false);
  std::vector<float> generic;
  std::vector<double> want((size_t)cols), tol((size_t)cols);
  forEachIsa(c, [&](size_t k) {
    Guarded d(n * 4, 0, false);
    std::fill(d.as<uint32_t>(), d.as<uint32_t>() + n, kPoison);
    ditc_rt_layer_norm_f32(x.as<float>(), sc.as<float>(), bi.as<float>(),
                           d.as<float>(), rows, cols, 1e-6f);
    c.checkGuards(d, "output");
    if (k == 0)
      generic.assign(d.as<float>(), d.as<float>() + n);
    for (int64_t r = 0; r < rows && !c.failed; ++r) {
      const float *xr = x.as<float>() + r * cols, *y = d.as<float>() + r * cols;
      const float *g = generic.data() + r * cols;
      for (int64_t j = 0; j < cols; ++j)
        normRef(st[r], cols, xr[j], sc.as<float>()[j], bi.as<float>()[j],
                &want[j], &tol[j]);
      const std::string row = " (row " + std::to_string(r) + ")";
      expectClose(
          c, ("vs reference" + row).c_str(), cols,
          [&](int64_t i) { return (double)y[i]; },
          [&](int64_t i) { return want[i]; },
          [&](int64_t i) { return tol[i]; });
      if (k > 0)
        expectCloseToGeneric(
            c, ("vs generic" + row).c_str(), cols,
            [&](int64_t i) { return (double)y[i]; },
            [&](int64_t i) { return (double)g[i]; },
            [&](int64_t i) { return tol[i]; });
    }
  });
}

// softmax over rows of the 4429 joint keys (24 rows of each of 48 heads).
TEST(DifferentialLarge, Sd3SoftmaxRows) {
  const int64_t rows = 48 * 24, len = 4429, n = rows * len;
  Case c{"softmax_f32", baseSeed()};
  c.desc = "SD3 softmax over [1152, 4429] rows";
  std::vector<float> x((size_t)n);
  fillFloats(x.data(), n, c.seed + 6);
  for (float &v : x)
    v *= 8.f;
  std::vector<double> want, tol;
  softmaxRef(x, rows, len, 1, want, tol);
  Rng r(c.seed);
  Guarded xs = sourceOf(x, r);
  std::vector<float> generic;
  forEachIsa(c, [&](size_t k) {
    Guarded d(n * 4, 0, false);
    std::fill(d.as<uint32_t>(), d.as<uint32_t>() + n, kPoison);
    ditc_rt_softmax_f32(xs.as<float>(), d.as<float>(), rows, len, 1);
    c.checkGuards(d, "output");
    const float *y = d.as<float>();
    expectClose(
        c, "vs reference", n, [&](int64_t i) { return (double)y[i]; },
        [&](int64_t i) { return want[i]; }, [&](int64_t i) { return tol[i]; });
    if (k == 0)
      generic.assign(y, y + n);
    else
      expectCloseToGeneric(
          c, "vs generic", n, [&](int64_t i) { return (double)y[i]; },
          [&](int64_t i) { return (double)generic[i]; },
          [&](int64_t i) { return tol[i]; });
  });
}

} // namespace

//===--- Regressions: bugs the search found -----------------------------===//

namespace {

// ditc_kernels.def: "bool tensors are uint8_t (DITC_RT_B8): 0 is false, any
// other value true; kernels write 0 or 1". binary's comparisons, MAX and
// MIN on B8 compared the bytes as numbers (EQUAL(2, 1) was 0, MAX(2, 1)
// wrote 2) on every ISA.
TEST(DifferentialRegression, BoolComparisonsTakeAnyNonZeroAsTrue) {
  const uint8_t a[] = {2, 2, 0, 255, 1, 7}, b[] = {1, 0, 3, 1, 255, 0};
  const int64_t n = 6, st = 1;
  for (const Isa &isa : isas()) {
    ASSERT_TRUE(ditc_rt_set_isa(isa.code));
    for (int op = DITC_RT_BINARY_MAX; op <= DITC_RT_BINARY_NOT_EQUAL; ++op) {
      uint8_t y[6], want[6];
      ditc_rt_binary(op, DITC_RT_B8, a, &st, b, &st, y, &n, 1);
      for (int i = 0; i < n; ++i) {
        const bool x = a[i] != 0, z = b[i] != 0;
        want[i] = op == DITC_RT_BINARY_MAX   ? x || z
                  : op == DITC_RT_BINARY_MIN ? x && z
                                             : refCompare<int>(op, x, z);
      }
      EXPECT_EQ(std::vector<uint8_t>(y, y + n),
                std::vector<uint8_t>(want, want + n))
          << isa.name << ", op " << op;
    }
  }
  ditc_rt_set_isa(DITC_RT_ISA_AUTO);
}

// reduce of an empty tensor to a single element (a reduced dim of size 0,
// every kept dim of size 1) gives sum 0, mean NaN (f32) or 0, max -inf or
// the dtype's minimum, ..., as it does when a kept dim has size 2 or more.
// It died of SIGFPE on every ISA: with no kept dim to split over threads,
// reduce.cpp divided by the first coalesced dim, the empty one.
/// Sums f32 `shape` over `mask` to one element; exits 0 when it is 0.
[[noreturn]] void sumEmptyAndExit(int isa, std::vector<int64_t> shape,
                                  int64_t mask) {
  ditc_rt_set_isa(isa);
  float x = 1.f, y = 7.f;
  ditc_rt_reduce(DITC_RT_REDUCE_SUM, DITC_RT_F32, &x, shape.data(),
                 (int32_t)shape.size(), mask, &y);
  std::exit(y == 0.f ? 0 : 1);
}

TEST(DifferentialRegressionDeathTest, ReduceEmptyToOneElement) {
  for (const Isa &isa : isas()) {
    EXPECT_EXIT(sumEmptyAndExit(isa.code, {0}, 1), ::testing::ExitedWithCode(0),
                "")
        << isa.name << ": sum of f32 [0] over axis 0";
    EXPECT_EXIT(sumEmptyAndExit(isa.code, {1, 0, 1}, 2),
                ::testing::ExitedWithCode(0), "")
        << isa.name << ": sum of f32 [1, 0, 1] over axis 1";
  }
}

} // namespace
