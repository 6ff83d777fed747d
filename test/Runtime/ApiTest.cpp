//===- ApiTest.cpp - The entry-point list, threads, ISA selection --------===//
#include "KernelTestUtil.h"

#include <cstring>
#include <set>
#include <string>
#include <type_traits>

using namespace ditc_test;

extern "C" size_t ditc_test_c_entry_count(void);

namespace {

// Every entry of ditc_kernels.def resolves to a symbol of the library, and
// its declared signature is the function's type.
struct Entry {
  const char *name;
  const void *addr;
};
#define DITC_RT_KERNEL(name, params)                                           \
  static_assert(std::is_same_v<decltype(&ditc_rt_##name), void(*) params>);   \
  Entry entry_##name{#name, reinterpret_cast<const void *>(&ditc_rt_##name)};
#define DITC_RT_FUNCTION(ret, name, params)                                    \
  static_assert(std::is_same_v<decltype(&ditc_rt_##name), ret(*) params>);    \
  Entry entry_##name{#name, reinterpret_cast<const void *>(&ditc_rt_##name)};
#include "ditc/runtime/ditc_kernels.def"

std::vector<Entry> allEntries() {
  std::vector<Entry> v;
#define DITC_RT_KERNEL(name, params) v.push_back(entry_##name);
#define DITC_RT_FUNCTION(ret, name, params) v.push_back(entry_##name);
#include "ditc/runtime/ditc_kernels.def"
  return v;
}

TEST(RuntimeApi, EveryEntryPointResolves) {
  std::set<std::string> names;
  for (const Entry &e : allEntries()) {
    EXPECT_NE(e.addr, nullptr) << e.name;
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate " << e.name;
  }
  EXPECT_EQ(names.size(), ditc_test_c_entry_count());
  EXPECT_GE(names.size(), 20u);
}

TEST(RuntimeApi, NumThreads) {
  int32_t def = ditc_rt_get_num_threads();
  EXPECT_GE(def, 1);
  ditc_rt_set_num_threads(3);
  EXPECT_EQ(ditc_rt_get_num_threads(), 3);
  ditc_rt_set_num_threads(0);
  EXPECT_EQ(ditc_rt_get_num_threads(), def);
  ditc_rt_set_num_threads(-5);
  EXPECT_EQ(ditc_rt_get_num_threads(), def);
}

TEST(RuntimeApi, IsaSelection) {
  int32_t best = ditc_rt_get_isa();
  EXPECT_GE(best, DITC_RT_ISA_GENERIC);
  EXPECT_NE(best, DITC_RT_ISA_AVX2_W16); // test-only, never automatic
  EXPECT_EQ(ditc_rt_set_isa(DITC_RT_ISA_GENERIC), 1);
  EXPECT_EQ(ditc_rt_get_isa(), DITC_RT_ISA_GENERIC);
  EXPECT_EQ(ditc_rt_set_isa(42), 0);
  EXPECT_EQ(ditc_rt_get_isa(), DITC_RT_ISA_GENERIC);
  EXPECT_EQ(ditc_rt_set_isa(DITC_RT_ISA_AUTO), 1);
  EXPECT_EQ(ditc_rt_get_isa(), best);
  const char *names[] = {"generic", "avx2", "avx512", "avx2_w16"};
  std::printf("CPU code paths available:");
  for (int isa = 0; isa < DITC_RT_ISA_COUNT; ++isa)
    if (ditc_rt_set_isa(isa))
      std::printf(" %s", names[isa]);
  std::printf("; automatic: %s\n", names[best]);
  ditc_rt_set_isa(DITC_RT_ISA_AUTO);
}

TEST(RuntimeApiDeathTest, BadArgumentsAbortWithOneLine) {
  float x = 1.f, y;
  EXPECT_DEATH(ditc_rt_unary_f32(99, &x, &y, 1),
               "ditc runtime: unary_f32: unknown op 99");
  int64_t shape = 1, st = 1;
  EXPECT_DEATH(ditc_rt_binary(DITC_RT_BINARY_ADD, DITC_RT_B8, &x, &st, &x, &st,
                              &y, &shape, 1),
               "binary: op 0 does not take dtype 3");
  EXPECT_DEATH(ditc_rt_binary(DITC_RT_BINARY_AND, DITC_RT_BF16, &x, &st, &x,
                              &st, &y, &shape, 1),
               "binary: op 13 does not take dtype 5");
  EXPECT_DEATH(ditc_rt_binary(DITC_RT_BINARY_ADD, 40, &x, &st, &x, &st, &y,
                              &shape, 1),
               "binary: op 0 does not take dtype 40");
  EXPECT_DEATH(ditc_rt_cast(DITC_RT_DTYPE_COUNT, DITC_RT_F32, &x, &y, 1),
               "cast: unknown source dtype 13");
  EXPECT_DEATH(ditc_rt_cast(DITC_RT_F32, -1, &x, &y, 1),
               "cast: unknown destination dtype -1");
  uint8_t b;
  EXPECT_DEATH(ditc_rt_is_nan(DITC_RT_I32, &x, &b, 1),
               "is_nan: dtype 2 is not a float dtype");
  EXPECT_DEATH(ditc_rt_attention_f32(&x, &x, &x, nullptr, 0, nullptr, &y, 1, 3,
                                     2, 1, 1, 1, 1, 1.f, 0),
               "must be a multiple of kv_heads");
}

} // namespace
