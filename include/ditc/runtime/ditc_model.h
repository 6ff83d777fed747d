/*===- ditc_model.h - the C ABI of a library made by `ditc compile` -------===*
 *
 * `ditc compile model.onnx -o model.so` writes model.so and, beside it, the
 * weights as model.safetensors. An application loads the library with
 * dlopen() and uses only the functions below (look them up with dlsym);
 * nothing else is needed to run the model:
 *
 *   void *lib = dlopen("./model.so", RTLD_NOW | RTLD_LOCAL);
 *   uint32_t (*abi)(void) = dlsym(lib, "ditc_model_abi_version");
 *   if (abi() != DITC_MODEL_ABI_VERSION) ... refuse;
 *   ditc_model *m; ditc_model_create(NULL, &m);   // maps model.safetensors
 *   ditc_model_run(m, inputs, outputs);           // caller-owned buffers
 *   ditc_model_destroy(m);
 *
 * Buffers are dense row-major tensors of the dtype and shape that
 * ditc_model_input_info / ditc_model_output_info describe. Every function
 * that can fail returns a ditc_status; ditc_model_last_error() then holds one
 * line saying what is wrong. A model instance is not thread-safe; create one
 * per thread (they share the read-only weight mapping only if created with
 * the same file, which the OS page cache does anyway).
 *
 * Multi-rank libraries (`ditc compile --devices N --plan ...`): one SPMD
 * program that every rank of a parallel run loads, e.g. under
 * `mpirun -np N`. ditc_model_create then joins the run: it creates the
 * world communicator (ditc_comm.h; backend from the environment variable
 * DITC_COMM, default "mpi"), refuses a run of another size than the
 * library was compiled for, makes the sub-communicators the program's
 * collectives use, and maps this rank's weight file (one per rank, next to
 * the library; a weights_path containing "{rank}" has it replaced by the
 * rank). Every rank passes the same inputs and gets the same outputs.
 * DITC_COMM_TIMEOUT_S (seconds, default 120) bounds every wait for another
 * rank: ditc_model_run then fails with DITC_ERROR_COMM instead of hanging.
 * ditc_model_rank / _world_size / _plan describe the rank; a single-device
 * library is rank 0 of 1 with plan "".
 *
 * GPU libraries (`ditc compile --target cuda`): the same functions, the
 * same host buffers. ditc_model_create finds the GPU (environment variable
 * DITC_CUDA_DEVICE, default 0), checks that its architecture is among the
 * library's and that its free memory holds the arena, the weights and the
 * constants, copies the weights to it once, and each run copies the inputs
 * to the GPU, runs the step on one stream and copies the outputs back. The
 * first run goes kernel by kernel (it also sets up cuBLASLt's plans); the
 * second captures the step into a CUDA graph, which later runs replay
 * (DITC_CUDA_GRAPH=0: never). ditc_model_target says "cuda"; where there is
 * no usable GPU, create fails with DITC_ERROR_DEVICE and says why.
 *===----------------------------------------------------------------------===*/

#ifndef DITC_RUNTIME_DITC_MODEL_H
#define DITC_RUNTIME_DITC_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever anything below changes incompatibly. New ditc_dtype
 * codes are added without a bump (existing codes keep their values); an
 * application refuses a model whose tensors have a code it does not know. */
#define DITC_MODEL_ABI_VERSION 2u

typedef struct ditc_model ditc_model;

typedef enum ditc_status {
  DITC_OK = 0,
  DITC_ERROR_ARGUMENT = 1, /* a null pointer, an index out of range */
  DITC_ERROR_IO = 2,       /* a file that cannot be opened, mapped or read */
  DITC_ERROR_FORMAT = 3,   /* a weight file that is not what the model needs */
  DITC_ERROR_CHECKSUM = 4, /* a weight file whose bytes changed */
  DITC_ERROR_MEMORY = 5,   /* the arena could not be allocated */
  DITC_ERROR_ABI = 6,      /* a library built for another ABI version */
  DITC_ERROR_COMM = 7,     /* multi-rank: a communicator could not be made,
                              or a collective failed or timed out (the
                              error names the peer or the timeout) */
  DITC_ERROR_DEVICE = 8    /* a GPU library: no GPU, one too old for its
                              kernels or with too little free memory, or a
                              CUDA call that failed */
} ditc_status;

/* ditc_model_create's weights_path that asks for generated weights instead
 * of a file: uniform in [-0.05, 0.05] for float tensors, zero for others,
 * the same on every run and under every plan of a model (each element a
 * function of the stored tensor's name and its index in it: a rank holding
 * a block of a weight the plan cuts generates that block) (benchmarks of
 * full-size graphs compiled with `ditc compile --no-weights`). */
#define DITC_RANDOM_WEIGHTS ":random:"

/* Element types of inputs and outputs (the same codes as the kernels'). */
typedef enum ditc_dtype {
  DITC_DTYPE_F32 = 0,
  DITC_DTYPE_I64 = 1,
  DITC_DTYPE_I32 = 2,
  DITC_DTYPE_BOOL = 3, /* one byte, 0 or 1 */
  DITC_DTYPE_F16 = 4,
  DITC_DTYPE_BF16 = 5,
  DITC_DTYPE_F64 = 6,
  DITC_DTYPE_I8 = 7,
  DITC_DTYPE_U8 = 8,
  DITC_DTYPE_I16 = 9,
  DITC_DTYPE_U16 = 10,
  DITC_DTYPE_U32 = 11,
  DITC_DTYPE_U64 = 12
} ditc_dtype;

typedef struct ditc_tensor_info {
  const char *name;     /* the ONNX graph's input / output name */
  int32_t dtype;        /* a ditc_dtype */
  int32_t rank;
  const int64_t *shape; /* rank entries */
  uint64_t bytes;       /* the buffer size the caller provides */
} ditc_tensor_info;

/* DITC_MODEL_ABI_VERSION of the library. */
uint32_t ditc_model_abi_version(void);

/* One-line text for a status. */
const char *ditc_status_string(ditc_status status);

/* Creates an instance and maps its weights: `weights_path`, or when null the
 * file the library was compiled with, next to the library, or
 * DITC_RANDOM_WEIGHTS. The file's layout and checksum must match what the
 * library was compiled for. On failure *out is null and
 * ditc_model_last_error(NULL) says why. */
ditc_status ditc_model_create(const char *weights_path, ditc_model **out);
void ditc_model_destroy(ditc_model *model);

/* Maps another weight file (same names, shapes and checksum) in place of the
 * current one. */
ditc_status ditc_model_bind_weights(ditc_model *model, const char *path);

int32_t ditc_model_num_inputs(const ditc_model *model);
int32_t ditc_model_num_outputs(const ditc_model *model);
ditc_status ditc_model_input_info(const ditc_model *model, int32_t index,
                                  ditc_tensor_info *info);
ditc_status ditc_model_output_info(const ditc_model *model, int32_t index,
                                   ditc_tensor_info *info);

/* Runs the model once (one denoising step of a sampler, one forward pass):
 * inputs[i] / outputs[i] point to buffers of the sizes the infos give.
 * Outputs must not overlap inputs. */
ditc_status ditc_model_run(ditc_model *model, const void *const *inputs,
                           void *const *outputs);

/* Denoising runs. A diffusion sampler calls ditc_model_run once per
 * denoising step. Plans that keep state across the denoising steps of one
 * run (PipeFusion reuses the other patches' K/V of the previous denoising
 * step) need to know where a call sits in the run; an application says so:
 *
 *   ditc_model_begin_denoising(m, S, K);     a new run of S denoising steps,
 *                                            the first K of them warm-up
 *   for (i = 0; i < S; ++i) {
 *     ditc_model_set_denoising_step(m, i);   the next ditc_model_run is
 *     ditc_model_run(m, in, out);            denoising step i
 *     ... the sampler's update of the latent ...
 *   }
 *
 * Steps come in order from 0, each set once before its run; anything else
 * fails with DITC_ERROR_ARGUMENT and a message naming the step (and the
 * state is unchanged). Warm-up steps, the first step and every call without
 * a step set run the synchronous schedule (the exact result); a later step
 * may use state of the step before it (PipeFusion: the other patches' K/V),
 * when the call before it was that step. Every library accepts these calls;
 * a library without state across denoising steps checks them and otherwise
 * computes the same as without them. A failed run still uses up its step.
 * Multi-rank libraries: every rank makes the same calls. */
ditc_status ditc_model_begin_denoising(ditc_model *model, int32_t steps,
                                       int32_t warmup_steps);
ditc_status ditc_model_set_denoising_step(ditc_model *model, int32_t step);
/* The denoising step the last ditc_model_run was (-1: a run without a step
 * set, or none yet). */
int32_t ditc_model_denoising_step(const ditc_model *model);

/* Bytes of the K/V buffers that PipeFusion's stale schedule keeps from one
 * denoising step to the next (part of the arena); 0 for a library without a
 * stale schedule. */
uint64_t ditc_model_kv_cache_bytes(const ditc_model *model);

/* Redundancy probes (`ditc compile --probes redundancy`). At every run the
 * library records, per probe, the relative L1 change of one tensor since the
 * previous run: sum |x - x_prev| / sum |x_prev| (computed in double). The
 * probes sit at every attention layer (its K, V and output after the output
 * projection) and every transformer block (its residual, output minus
 * input); joint-attention models have `_text` probes for the text tokens.
 * `ditc redundancy` reads them over the denoising steps of a sampler.
 *
 *   n = ditc_model_num_probes(m);                  0 without probes
 *   ditc_model_probe_info(m, i, &info);            info.layer "block A.3"
 *                                                  or "block A.3.attn0",
 *                                                  info.quantity "k", "v",
 *                                                  "out", "residual",
 *                                                  "k_text", ...
 *   ditc_model_run(m, in, out);
 *   ditc_model_probe_values(m, values, n);         after each run
 *
 * The first run of an instance and the first after
 * ditc_model_begin_denoising have no previous value: their values are NaN.
 * A previous value of zeros gives +inf (or NaN for no change). The previous
 * values live in the arena (ditc_model_probe_bytes of it, counted in
 * ditc_model_arena_bytes). */
typedef struct ditc_probe_info {
  const char *layer;
  const char *quantity;
  ditc_tensor_info tensor; /* the tensor probed, named "<layer>/<quantity>" */
} ditc_probe_info;
int32_t ditc_model_num_probes(const ditc_model *model);
ditc_status ditc_model_probe_info(const ditc_model *model, int32_t index,
                                  ditc_probe_info *info);
/* Writes min(n, capacity) values and returns n, the number of probes (-1
 * when they cannot be read: ditc_model_last_error says why). */
int32_t ditc_model_probe_values(ditc_model *model, double *values,
                                int32_t capacity);
uint64_t ditc_model_probe_bytes(const ditc_model *model);
/* Copies the tensor probe `index` saw at the last run (info.tensor.bytes
 * into `data`): what the next run's change is measured against. Fails with
 * DITC_ERROR_ARGUMENT before a run (since create or begin_denoising). */
ditc_status ditc_model_probe_tensor(ditc_model *model, int32_t index,
                                    void *data);

/* Step caches (`ditc compile --cache fbcache|teacache`). A denoising step
 * (ditc_model_set_denoising_step) may skip the transformer blocks after
 * measuring how much the first block changed since the steps before: the
 * values leaving the blocks are then those of the last computed step's
 * residuals added to this step's first-block output (fbcache) or
 * blocks' input (teacache). The first and the last step of a run and every
 * call without a step set compute; ditc_model_begin_denoising resets the
 * cache. Under pipeline stages (and --cache-stale) a step's measure decides
 * the next step; `change` is then the measure of this call on the stage
 * that measures (the first), 0 elsewhere. ditc_model_cache_kind:
 * "fbcache", "teacache" or "" (no cache). */
typedef struct ditc_cache_state {
  int32_t skipped;       /* the last run skipped the blocks (1) or not (0) */
  double change;         /* the relative L1 change it measured (NaN: none) */
  int32_t skipped_steps; /* steps of this denoising run that skipped */
  uint64_t bytes;        /* the cache's state in the arena */
} ditc_cache_state;
const char *ditc_model_cache_kind(const ditc_model *model);
ditc_status ditc_model_cache_state(ditc_model *model, ditc_cache_state *state);

/* Bytes of the activation arena (planned at compile time). */
uint64_t ditc_model_arena_bytes(const ditc_model *model);
/* Bytes of the weights mapped. */
uint64_t ditc_model_weight_bytes(const ditc_model *model);
/* The process's peak resident memory since it started (VmHWM), in bytes. */
uint64_t ditc_model_peak_rss_bytes(void);

/* Threads the kernels use (<= 0: the default). GPU libraries: no effect. */
void ditc_model_set_num_threads(int32_t threads);

/* "cpu" or "cuda": where the library's kernels run (ditc compile --target). */
const char *ditc_model_target(const ditc_model *model);

/* Step times of the last ditc_model_run, for libraries compiled with
 * `ditc compile --trace`: writes the end time of each step (seconds since
 * the run started; step i is the i-th op of the compiled schedule, as
 * `ditc profile` numbers them) into seconds[0 .. min(steps, capacity)) and
 * returns the number of steps. Steps this rank does not run (another
 * pipeline stage's) end when the step before them did. Returns -1 for a library compiled without
 * --trace, 0 before the first run. */
int32_t ditc_model_trace(const ditc_model *model, double *seconds,
                         int32_t capacity);

/* Multi-rank libraries: this process's rank in the run (0 .. world size -
 * 1), the number of ranks the library was compiled for, and its plan
 * ("cfg=2,ulysses=2"). A single-device library: 0, 1 and "". */
int32_t ditc_model_rank(const ditc_model *model);
int32_t ditc_model_world_size(const ditc_model *model);
const char *ditc_model_plan(const ditc_model *model);

/* Bytes this rank sent and calls made for one kind of operation (a
 * ditc_rt_comm_kind of ditc_comm.h: 0 all_reduce, 1 all_gather,
 * 2 reduce_scatter, 3 all_to_all, 4 broadcast, 5 send) over all the model's
 * communicators, since it was created or last reset; bytes / calls may be
 * null. All zero for a single-device library. */
ditc_status ditc_model_comm_stats(const ditc_model *model, int32_t kind,
                                  uint64_t *bytes, uint64_t *calls);
ditc_status ditc_model_reset_comm_stats(ditc_model *model);

/* The last error of `model` (or of the last failed create when null). */
const char *ditc_model_last_error(const ditc_model *model);

#ifdef __cplusplus
}
#endif

#endif /* DITC_RUNTIME_DITC_MODEL_H */
