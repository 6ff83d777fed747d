/* A hand-written library with the ditc_model.h ABI, so that `ditc run` can be
 * tested without `ditc compile`:
 *
 *   inputs   x  float32 (2, 3)
 *            t  int64   (2,)
 *            m  bool    (3,)
 *            h  float16 ()
 *   outputs  y  float32 (2, 3)   y[i][j] = m[j] ? x[i][j] + t[i] : 0
 *            z  int64   (2,)     z[i] = 2 * t[i]
 *
 * No weights. -DFAKE_ABI=N makes ditc_model_abi_version return N;
 * -DFAKE_ONLY_ABI leaves every other function out; -DFAKE_FAIL_CREATE makes
 * create fail with a message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ditc/runtime/ditc_model.h"

#ifndef FAKE_ABI
#define FAKE_ABI DITC_MODEL_ABI_VERSION
#endif

uint32_t ditc_model_abi_version(void) { return FAKE_ABI; }

#ifndef FAKE_ONLY_ABI
struct ditc_model {
  int runs;
  int32_t steps, next, pending, last; /* the denoising run */
};

static const int64_t xs[] = {2, 3}, ts[] = {2}, ms[] = {3};
static const ditc_tensor_info ins[] = {
    {"x", DITC_DTYPE_F32, 2, xs, 24},
    {"t", DITC_DTYPE_I64, 1, ts, 16},
    {"m", DITC_DTYPE_BOOL, 1, ms, 3},
    {"h", DITC_DTYPE_F16, 0, 0, 2},
};
static const ditc_tensor_info outs[] = {
    {"y", DITC_DTYPE_F32, 2, xs, 24},
    {"z", DITC_DTYPE_I64, 1, ts, 16},
};
static const char *error = "";
static int threads;

const char *ditc_status_string(ditc_status s) {
  return s == DITC_OK ? "ok" : s == DITC_ERROR_IO ? "I/O error" : "error";
}

ditc_status ditc_model_create(const char *weights, ditc_model **out) {
  *out = 0;
#ifdef FAKE_FAIL_CREATE
  (void)weights;
  error = "cannot open weight file 'fake.safetensors': No such file or directory";
  return DITC_ERROR_IO;
#else
  if (weights) {
    error = "the fake model has no weights";
    return DITC_ERROR_IO;
  }
  *out = calloc(1, sizeof(ditc_model));
  if (*out) {
    (*out)->pending = -1;
    (*out)->last = -1;
  }
  return DITC_OK;
#endif
}
void ditc_model_destroy(ditc_model *m) { free(m); }
ditc_status ditc_model_bind_weights(ditc_model *m, const char *p) {
  (void)m;
  (void)p;
  return DITC_ERROR_IO;
}
int32_t ditc_model_num_inputs(const ditc_model *m) { return m ? 4 : 0; }
int32_t ditc_model_num_outputs(const ditc_model *m) { return m ? 2 : 0; }
ditc_status ditc_model_input_info(const ditc_model *m, int32_t i,
                                  ditc_tensor_info *info) {
  if (!m || i < 0 || i >= 4)
    return DITC_ERROR_ARGUMENT;
  *info = ins[i];
  return DITC_OK;
}
ditc_status ditc_model_output_info(const ditc_model *m, int32_t i,
                                   ditc_tensor_info *info) {
  if (!m || i < 0 || i >= 2)
    return DITC_ERROR_ARGUMENT;
  *info = outs[i];
  return DITC_OK;
}
ditc_status ditc_model_run(ditc_model *m, const void *const *in,
                           void *const *out) {
  const float *x = in[0];
  const int64_t *t = in[1];
  const uint8_t *mask = in[2];
  float *y = out[0];
  int64_t *z = out[1];
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j)
      y[3 * i + j] = mask[j] ? x[3 * i + j] + (float)t[i] : 0.0f;
    z[i] = 2 * t[i];
  }
  m->runs++;
  m->last = m->pending;
  if (m->pending >= 0)
    m->next = m->pending + 1;
  m->pending = -1;
  return DITC_OK;
}
ditc_status ditc_model_begin_denoising(ditc_model *m, int32_t steps, int32_t warmup) {
  if (!m || steps < 1 || warmup < 0 || warmup > steps) {
    error = "bad denoising run";
    return DITC_ERROR_ARGUMENT;
  }
  m->steps = steps;
  m->next = 0;
  m->pending = -1;
  return DITC_OK;
}
ditc_status ditc_model_set_denoising_step(ditc_model *m, int32_t step) {
  if (!m || step != m->next || step >= m->steps || m->pending >= 0) {
    error = "denoising step out of order";
    return DITC_ERROR_ARGUMENT;
  }
  m->pending = step;
  return DITC_OK;
}
int32_t ditc_model_denoising_step(const ditc_model *m) { return m ? m->last : -1; }
uint64_t ditc_model_arena_bytes(const ditc_model *m) { return m ? 4096 : 0; }
uint64_t ditc_model_weight_bytes(const ditc_model *m) { return m ? 0 : 0; }
uint64_t ditc_model_peak_rss_bytes(void) { return 1 << 20; }
void ditc_model_set_num_threads(int32_t n) { threads = n; }
const char *ditc_model_last_error(const ditc_model *m) {
  (void)m;
  return error;
}
#endif
