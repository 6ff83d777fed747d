/*===- main.c - a plain C application that runs a ditc model library ------===*
 *
 * Shows everything an application needs to use a library made by
 * `ditc compile model.onnx -o model.so`: dlopen it, look the functions of
 * include/ditc/runtime/ditc_model.h up with dlsym, check the ABI version,
 * create a model (it maps model.safetensors from beside the library), run it
 * on caller-owned buffers.
 *
 *   cc -I include examples/app/main.c -ldl -o build/bin/ditc-example-app
 *   build/bin/ditc-example-app ./model.so [weights.safetensors]
 *
 * It prints the inputs and outputs, fills the inputs with a deterministic
 * pattern (floats (i % 17 - 8) / 8, integers i % 10, bools true), runs once
 * and prints the first values of every output and the arena size.
 *===----------------------------------------------------------------------===*/

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ditc/runtime/ditc_model.h"

/* The ABI, looked up with dlsym. */
static struct {
  uint32_t (*abi_version)(void);
  const char *(*status_string)(ditc_status);
  ditc_status (*create)(const char *, ditc_model **);
  void (*destroy)(ditc_model *);
  int32_t (*num_inputs)(const ditc_model *);
  int32_t (*num_outputs)(const ditc_model *);
  ditc_status (*input_info)(const ditc_model *, int32_t, ditc_tensor_info *);
  ditc_status (*output_info)(const ditc_model *, int32_t, ditc_tensor_info *);
  ditc_status (*run)(ditc_model *, const void *const *, void *const *);
  uint64_t (*arena_bytes)(const ditc_model *);
  const char *(*last_error)(const ditc_model *);
} api;

/* dlsym returns a data pointer; copy it into the function pointer. */
static int lookup(void *lib, const char *name, void *fn) {
  void *sym = dlsym(lib, name);
  if (!sym) {
    fprintf(stderr, "error: no symbol %s in the library\n", name);
    return 0;
  }
  memcpy(fn, &sym, sizeof sym);
  return 1;
}

static const char *dtype_name(int32_t dtype) {
  switch (dtype) {
  case DITC_DTYPE_F32: return "float32";
  case DITC_DTYPE_I64: return "int64";
  case DITC_DTYPE_I32: return "int32";
  case DITC_DTYPE_BOOL: return "bool";
  case DITC_DTYPE_F16: return "float16";
  case DITC_DTYPE_BF16: return "bfloat16";
  case DITC_DTYPE_F64: return "float64";
  case DITC_DTYPE_I8: return "int8";
  case DITC_DTYPE_U8: return "uint8";
  case DITC_DTYPE_I16: return "int16";
  case DITC_DTYPE_U16: return "uint16";
  case DITC_DTYPE_U32: return "uint32";
  case DITC_DTYPE_U64: return "uint64";
  }
  return "unknown";
}

static size_t dtype_size(int32_t dtype) {
  switch (dtype) {
  case DITC_DTYPE_F64:
  case DITC_DTYPE_I64:
  case DITC_DTYPE_U64: return 8;
  case DITC_DTYPE_F32:
  case DITC_DTYPE_I32:
  case DITC_DTYPE_U32: return 4;
  case DITC_DTYPE_F16:
  case DITC_DTYPE_BF16:
  case DITC_DTYPE_I16:
  case DITC_DTYPE_U16: return 2;
  default: return 1;
  }
}

static void print_info(const char *kind, int32_t i, const ditc_tensor_info *t) {
  printf("%s %d: %s %s [", kind, i, t->name, dtype_name(t->dtype));
  for (int32_t d = 0; d < t->rank; ++d)
    printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
  printf("] (%llu bytes)\n", (unsigned long long)t->bytes);
}

/* Half-precision bits of a float with at most 10 mantissa bits and a normal
 * half exponent (all the pattern needs), or of zero. */
static uint16_t half_bits(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) == 0)
    return (uint16_t)(x >> 16);
  return (uint16_t)(((x >> 16) & 0x8000) |
                    ((((x >> 23) & 0xff) - 127 + 15) << 10) |
                    ((x >> 13) & 0x3ff));
}

static float half_value(uint16_t h) {
  int32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float v = e == 0 ? m / 16777216.0f
                   : (1.0f + m / 1024.0f) * (float)(e >= 15 ? (1 << (e - 15))
                                                          : 1.0 / (1 << (15 - e)));
  if (e == 31)
    v = m ? 0.0f / 0.0f : 1.0f / 0.0f;
  return h & 0x8000 ? -v : v;
}

/* The deterministic input pattern. */
static void fill(void *buf, const ditc_tensor_info *t) {
  uint64_t n = t->bytes / dtype_size(t->dtype);
  for (uint64_t i = 0; i < n; ++i) {
    float f = (float)((int)(i % 17) - 8) / 8.0f;
    int64_t k = (int64_t)(i % 10);
    switch (t->dtype) {
    case DITC_DTYPE_F32: ((float *)buf)[i] = f; break;
    case DITC_DTYPE_F64: ((double *)buf)[i] = f; break;
    case DITC_DTYPE_F16: ((uint16_t *)buf)[i] = half_bits(f); break;
    case DITC_DTYPE_BF16: {
      uint32_t x;
      memcpy(&x, &f, 4);
      ((uint16_t *)buf)[i] = (uint16_t)(x >> 16);
      break;
    }
    case DITC_DTYPE_I64: ((int64_t *)buf)[i] = k; break;
    case DITC_DTYPE_I32: ((int32_t *)buf)[i] = (int32_t)k; break;
    case DITC_DTYPE_I16: ((int16_t *)buf)[i] = (int16_t)k; break;
    case DITC_DTYPE_U64: ((uint64_t *)buf)[i] = (uint64_t)k; break;
    case DITC_DTYPE_U32: ((uint32_t *)buf)[i] = (uint32_t)k; break;
    case DITC_DTYPE_U16: ((uint16_t *)buf)[i] = (uint16_t)k; break;
    case DITC_DTYPE_I8: ((int8_t *)buf)[i] = (int8_t)k; break;
    case DITC_DTYPE_U8: ((uint8_t *)buf)[i] = (uint8_t)k; break;
    case DITC_DTYPE_BOOL: ((uint8_t *)buf)[i] = 1; break;
    }
  }
}

static double value_at(const void *buf, int32_t dtype, uint64_t i) {
  switch (dtype) {
  case DITC_DTYPE_F32: return ((const float *)buf)[i];
  case DITC_DTYPE_F64: return ((const double *)buf)[i];
  case DITC_DTYPE_F16: return half_value(((const uint16_t *)buf)[i]);
  case DITC_DTYPE_BF16: {
    uint32_t x = (uint32_t)((const uint16_t *)buf)[i] << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
  }
  case DITC_DTYPE_I64: return (double)((const int64_t *)buf)[i];
  case DITC_DTYPE_I32: return ((const int32_t *)buf)[i];
  case DITC_DTYPE_I16: return ((const int16_t *)buf)[i];
  case DITC_DTYPE_U64: return (double)((const uint64_t *)buf)[i];
  case DITC_DTYPE_U32: return ((const uint32_t *)buf)[i];
  case DITC_DTYPE_U16: return ((const uint16_t *)buf)[i];
  case DITC_DTYPE_I8: return ((const int8_t *)buf)[i];
  default: return ((const uint8_t *)buf)[i];
  }
}

/* 64-byte aligned, zeroed. */
static void *alloc_buffer(uint64_t bytes) {
  size_t n = (size_t)((bytes + 63) / 64 * 64);
  void *p = aligned_alloc(64, n ? n : 64);
  if (p)
    memset(p, 0, n ? n : 64);
  return p;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s MODEL.so [WEIGHTS.safetensors]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  /* A name without a slash would be searched for on the library path. */
  char local[4096];
  if (!strchr(path, '/')) {
    snprintf(local, sizeof local, "./%s", path);
    path = local;
  }
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "error: cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  if (!lookup(lib, "ditc_model_abi_version", &api.abi_version))
    return 1;
  uint32_t abi = api.abi_version();
  if (abi != DITC_MODEL_ABI_VERSION) {
    fprintf(stderr, "error: %s was built for ABI version %u, this program "
                    "expects %u\n", argv[1], abi, DITC_MODEL_ABI_VERSION);
    return 1;
  }
  if (!lookup(lib, "ditc_status_string", &api.status_string) ||
      !lookup(lib, "ditc_model_create", &api.create) ||
      !lookup(lib, "ditc_model_destroy", &api.destroy) ||
      !lookup(lib, "ditc_model_num_inputs", &api.num_inputs) ||
      !lookup(lib, "ditc_model_num_outputs", &api.num_outputs) ||
      !lookup(lib, "ditc_model_input_info", &api.input_info) ||
      !lookup(lib, "ditc_model_output_info", &api.output_info) ||
      !lookup(lib, "ditc_model_run", &api.run) ||
      !lookup(lib, "ditc_model_arena_bytes", &api.arena_bytes) ||
      !lookup(lib, "ditc_model_last_error", &api.last_error))
    return 1;
  printf("model: %s (ABI %u)\n", argv[1], abi);

  ditc_model *model = NULL;
  ditc_status st = api.create(argc > 2 ? argv[2] : NULL, &model);
  if (st != DITC_OK) {
    fprintf(stderr, "error: %s: %s\n", api.status_string(st),
            api.last_error(NULL));
    return 1;
  }

  int32_t nin = api.num_inputs(model), nout = api.num_outputs(model);
  const void **inputs = calloc(nin ? nin : 1, sizeof(void *));
  void **outputs = calloc(nout ? nout : 1, sizeof(void *));
  ditc_tensor_info *out_info = calloc(nout ? nout : 1, sizeof(ditc_tensor_info));
  if (!inputs || !outputs || !out_info) {
    fprintf(stderr, "error: out of memory\n");
    return 1;
  }
  for (int32_t i = 0; i < nin; ++i) {
    ditc_tensor_info info;
    if (api.input_info(model, i, &info) != DITC_OK) {
      fprintf(stderr, "error: input %d: %s\n", i, api.last_error(model));
      return 1;
    }
    print_info("input", i, &info);
    void *buf = alloc_buffer(info.bytes);
    if (!buf) {
      fprintf(stderr, "error: out of memory\n");
      return 1;
    }
    fill(buf, &info);
    inputs[i] = buf;
  }
  for (int32_t i = 0; i < nout; ++i) {
    if (api.output_info(model, i, &out_info[i]) != DITC_OK) {
      fprintf(stderr, "error: output %d: %s\n", i, api.last_error(model));
      return 1;
    }
    print_info("output", i, &out_info[i]);
    outputs[i] = alloc_buffer(out_info[i].bytes);
    if (!outputs[i]) {
      fprintf(stderr, "error: out of memory\n");
      return 1;
    }
  }

  st = api.run(model, inputs, outputs);
  if (st != DITC_OK) {
    fprintf(stderr, "error: run: %s: %s\n", api.status_string(st),
            api.last_error(model));
    return 1;
  }
  printf("ran once\n");
  for (int32_t i = 0; i < nout; ++i) {
    uint64_t n = out_info[i].bytes / dtype_size(out_info[i].dtype);
    printf("%s[0:%d]:", out_info[i].name, (int)(n < 6 ? n : 6));
    for (uint64_t k = 0; k < n && k < 6; ++k)
      printf(" %.6g", value_at(outputs[i], out_info[i].dtype, k));
    printf("\n");
  }
  printf("arena: %llu bytes\n", (unsigned long long)api.arena_bytes(model));

  for (int32_t i = 0; i < nin; ++i)
    free((void *)inputs[i]);
  for (int32_t i = 0; i < nout; ++i)
    free(outputs[i]);
  free(inputs);
  free(outputs);
  free(out_info);
  api.destroy(model);
  return 0;
}
