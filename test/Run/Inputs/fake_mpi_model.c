/* The generated half of a model library compiled for 2 ranks (plan tp=2),
 * written by hand so that `ditc run` under mpirun is tested without the
 * compiler: linked with the runtime archive the way `ditc compile` links
 * (run-mpi.test). y = the sum over the 2 ranks of x [2, 6], by way of a
 * slice of x along dim 1, an all_gather of the slices (x again) and an
 * all_reduce: 2 * x. With FAKE_WAIT_FOR_NOTHING set, rank 1 first waits for
 * a message no rank sends (the run then fails after the timeout). */
#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"

#include <stdint.h>
#include <stdlib.h>

static const char kJson[] =
    "{\"abi\": 2,"
    " \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [2, 6]}],"
    " \"outputs\": [{\"name\": \"y\", \"dtype\": \"f32\", \"shape\": [2, 6]}],"
    " \"weights\": [], \"arena_bytes\": 4096,"
    " \"world_size\": 2, \"plan\": \"tp=2\","
    " \"mesh\": {\"axes\": [\"tp\"], \"shape\": [2]},"
    " \"comm_groups\": [[0]]}";

const char *ditc_generated_json(void) { return kJson; }

int32_t ditc_generated_run(void *arena, void *const *inputs,
                           void *const *outputs, void *const *weights,
                           void *const *comms, void *const *constants,
                           int32_t schedule) {
  (void)weights;
  (void)schedule;
  (void)constants;
  const float *x = (const float *)inputs[0];
  float *y = (float *)outputs[0];
  float *half = (float *)arena, *full = half + 6;
  const int64_t shape[2] = {2, 6}, halfShape[2] = {2, 3};
  int32_t s, rank = 0;
  ditc_rt_comm_rank((ditc_rt_comm *)comms[0], &rank);
  if (rank == 1 && getenv("FAKE_WAIT_FOR_NOTHING"))
    if ((s = ditc_rt_coll_recv(comms[0], half, 6, DITC_RT_F32, 0, 9)))
      return s;
  if ((s = ditc_rt_coll_slice(comms[0], x, half, DITC_RT_F32, 2, shape, 1)))
    return s;
  if ((s = ditc_rt_coll_all_gather(comms[0], half, full, DITC_RT_F32, 2,
                                   halfShape, 1)))
    return s;
  return ditc_rt_coll_all_reduce(comms[0], full, y, 12, DITC_RT_F32);
}
