/* ditc_kernels.h must stay plain C: this file is compiled as C. It also
 * expands the entry-point list the way a C consumer (the code generator's
 * declarations) would. */
#include "ditc/runtime/ditc_kernels.h"

#include <stddef.h>

typedef void (*ditc_rt_any_fn)(void);

#define DITC_RT_KERNEL(name, params) (ditc_rt_any_fn) & ditc_rt_##name,
#define DITC_RT_FUNCTION(ret, name, params) (ditc_rt_any_fn) & ditc_rt_##name,
static const ditc_rt_any_fn kEntries[] = {
#include "ditc/runtime/ditc_kernels.def"
};

size_t ditc_test_c_entry_count(void) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof(kEntries) / sizeof(kEntries[0]); ++i)
    n += kEntries[i] != NULL;
  return n;
}
