/* ditc_comm.h must stay plain C: this file is compiled as C. */
#include "ditc/runtime/ditc_comm.h"

#include <stddef.h>

int ditc_test_comm_header_is_c(void) {
  ditc_rt_comm *c = NULL;
  return ditc_rt_comm_create("self", &c) == DITC_RT_COMM_OK &&
         (ditc_rt_comm_destroy(c), 1);
}
