//===- KernelTestUtil.cpp - Error bookkeeping, ISA names -----------------===//
#include "KernelTestUtil.h"

#include <cstdio>
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

} // namespace ditc_test
