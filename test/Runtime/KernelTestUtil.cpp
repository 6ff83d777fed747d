//===- KernelTestUtil.cpp - Error bookkeeping, ISA names -----------------===//
#include "KernelTestUtil.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

namespace ditc_test {
namespace {

std::mutex g_mutex;
std::map<std::string, double> &maxErrors() {
  static std::map<std::string, double> m;
  return m;
}

// Prints the largest relative L2 error of each test after the run.
class ErrorReport : public ::testing::Environment {
public:
  void TearDown() override {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (maxErrors().empty())
      return;
    std::printf("\nLargest relative L2 error per test (all ISAs):\n");
    for (const auto &[name, err] : maxErrors())
      std::printf("  %-40s %.3g\n", name.c_str(), err);
  }
};
const auto *g_env = ::testing::AddGlobalTestEnvironment(new ErrorReport);

} // namespace

void recordError(double err) {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string suite = info->test_suite_name(), name = info->name();
  if (suite.rfind("Isa/", 0) == 0)
    suite = suite.substr(4);
  std::string key = suite + "." + name.substr(0, name.find('/'));
  std::lock_guard<std::mutex> lock(g_mutex);
  double &slot = maxErrors()[key];
  if (err > slot)
    slot = err;
}

std::string isaName(const ::testing::TestParamInfo<int> &info) {
  switch (info.param) {
  case DITC_RT_ISA_GENERIC:
    return "generic";
  case DITC_RT_ISA_AVX2:
    return "avx2";
  case DITC_RT_ISA_AVX512:
    return "avx512";
  case DITC_RT_ISA_AVX2_W16:
    return "avx2_w16";
  }
  return "isa" + std::to_string(info.param);
}

//===--- Half and bfloat16 references -------------------------------------===//

// IEEE half from a double, round to nearest even (one rounding).
uint16_t refToF16(double f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isnan(f))
    return 0x7e00 | sign;
  double a = std::fabs(f);
  if (a >= 65520.0)
    return sign | 0x7c00;
  if (a < std::ldexp(1.0, -14)) { // subnormal (or zero)
    double m = std::nearbyint(a / std::ldexp(1.0, -24));
    return sign | (uint16_t)m; // m == 1024 is the smallest normal
  }
  int e = std::ilogb(a);
  double m = std::nearbyint(a / std::ldexp(1.0, e - 10));
  if (m == 2048) {
    m = 1024;
    ++e;
  }
  if (e > 15)
    return sign | 0x7c00;
  return sign | (uint16_t)((e + 15) << 10) | (uint16_t)(m - 1024);
}
double refF16ToF64(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double s = (h & 0x8000) ? -1 : 1;
  if (e == 0)
    return s * std::ldexp((double)m, -24);
  if (e == 31)
    return m ? std::nan("") : s * INFINITY;
  return s * std::ldexp((double)(1024 + m), e - 25);
}
// bfloat16 from a double, round to nearest even (one rounding).
uint16_t refToBF16(double f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isnan(f))
    return 0x7fc0 | sign;
  double a = std::fabs(f);
  if (a == 0)
    return sign;
  if (std::isinf(a))
    return sign | 0x7f80;
  int e = std::ilogb(a);
  if (e < -126)
    e = -126; // subnormal: fixed quantum 2^-133
  double m = std::nearbyint(a / std::ldexp(1.0, e - 7));
  double v = m * std::ldexp(1.0, e - 7);
  if (v >= std::ldexp(1.0, 128))
    return sign | 0x7f80;
  float r = (float)v; // exact: 8 significant bits
  uint32_t u;
  std::memcpy(&u, &r, 4);
  return sign | (uint16_t)((u >> 16) & 0x7fff);
}
double refBF16ToF64(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

} // namespace ditc_test
