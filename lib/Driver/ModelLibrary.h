//===- ModelLibrary.h - a compiled model library, loaded -------*- C++ -*-===//
//
// Loads a library made by `ditc compile` the way an application does
// (dlopen + dlsym of the include/ditc/runtime/ditc_model.h ABI), creates a
// model instance and describes its inputs and outputs. `ditc run` and
// `ditc calibrate` use it.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_MODELLIBRARY_H
#define DITC_LIB_DRIVER_MODELLIBRARY_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

struct ditc_model;
struct ditc_cache_state;

namespace mlir::ditc {

/// A tensor as the library describes it.
struct TensorDesc {
  std::string name;
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

/// A 64-byte aligned buffer.
struct Buffer {
  struct Free {
    void operator()(void *p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> ptr;
  uint64_t bytes = 0;
  explicit Buffer(uint64_t n) : bytes(n) {
    size_t rounded = (n + 63) / 64 * 64;
    ptr.reset(std::aligned_alloc(64, rounded ? rounded : 64));
    if (ptr)
      std::memset(ptr.get(), 0, rounded ? rounded : 64);
  }
  uint8_t *data() const { return static_cast<uint8_t *>(ptr.get()); }
};

/// The numpy-style name and byte width of a ditc_dtype code ("unknown", 0
/// for codes this build does not know), and "float32 [2, 3]".
const char *dtypeName(int32_t code);
size_t dtypeSize(int32_t code);
std::string describe(int32_t dtype, llvm::ArrayRef<int64_t> shape);
float bf16ToFloat(uint16_t h);
/// float -> bfloat16 bits, rounded to nearest even (NaN stays NaN).
uint16_t floatToBf16(float f);

/// Fills `buf` with reproducible random values for input number `index`
/// (seed 0, one stream per input index):
///   float inputs (f32, f64, f16, bf16)  standard normal N(0, 1)
///   integer inputs of rank <= 1         uniform in [0, 1000) (timesteps,
///                                       class labels), [0, 100) for 8-bit
///   integer inputs of rank >= 2         uniform in [0, 100) (token ids)
///   bool inputs                         all true (masks that keep everything)
void fillRandom(const TensorDesc &t, int index, Buffer &buf);

/// A redundancy probe (ditc compile --probes): the layer, what of it, and
/// the tensor it measures.
struct ProbeDesc {
  std::string layer, quantity;
  TensorDesc tensor;
};

class ModelLibrary {
public:
  /// Loads `path`, checks its ABI version and symbols, sets the kernel
  /// threads (when > 0), creates a model instance mapping `weights` (empty:
  /// the file beside the library) and describes its tensors. On failure
  /// returns null and sets `error` to one line.
  static std::unique_ptr<ModelLibrary> load(const std::string &path,
                                            const std::string &weights,
                                            int threads, std::string &error);
  ~ModelLibrary();

  uint32_t abiVersion() const { return abi; }
  const std::vector<TensorDesc> &inputs() const { return inDescs; }
  const std::vector<TensorDesc> &outputs() const { return outDescs; }

  /// Denoising runs (ditc_model.h): a new run of `steps` denoising steps,
  /// the first `warmupSteps` warm-up; the next run is denoising step `step`;
  /// the denoising step the last run was (-1: none set). On failure `error`
  /// is the library's message.
  bool beginDenoising(int32_t steps, int32_t warmupSteps, std::string &error);
  bool setDenoisingStep(int32_t step, std::string &error);
  int32_t denoisingStep() const;

  /// One call of the model on buffers of the sizes inputs() / outputs() give.
  bool run(const std::vector<Buffer> &in, std::vector<Buffer> &out,
           std::string &error);

  uint64_t arenaBytes() const;
  uint64_t weightBytes() const;
  uint64_t peakRssBytes() const;
  /// Bytes of the K/V buffers PipeFusion's stale schedule keeps across
  /// denoising steps (inside the arena); 0 without a stale schedule.
  uint64_t kvCacheBytes() const;

  /// Redundancy probes (empty for a library compiled without them); the
  /// relative L1 change each recorded in the last run (NaN: none); the
  /// bytes of their state; the tensor probe `index` saw in the last run
  /// (into a buffer of its bytes). On failure `error` is the library's
  /// message.
  const std::vector<ProbeDesc> &probes() const { return probeDescs; }
  bool probeValues(std::vector<double> &values, std::string &error);
  uint64_t probeBytes() const;
  bool probeTensor(int32_t index, Buffer &data, std::string &error);

  /// The step cache (ditc compile --cache): "fbcache", "teacache" or "";
  /// what the last run measured and decided.
  std::string cacheKind() const;
  bool cacheState(ditc_cache_state &state, std::string &error);

  /// Multi-rank libraries (ditc compile --devices N): this process's rank,
  /// the ranks the library was compiled for, its plan; 0, 1 and "" for a
  /// single-device library.
  int32_t rank() const;
  int32_t worldSize() const;
  std::string plan() const;
  /// Traffic of one ditc_rt_comm_kind since the last reset, over the model's
  /// communicators; false (and zeros) when the library has none to report.
  bool commStats(int32_t kind, uint64_t &bytes, uint64_t &calls) const;
  void resetCommStats();

  /// The end time of each step of the last run (seconds from its start);
  /// empty when the library was compiled without --trace.
  std::vector<double> lastTrace() const;
  bool traced() const;

  struct Api;

private:
  ModelLibrary() = default;
  void *handle = nullptr;
  std::unique_ptr<Api> api;
  ditc_model *model = nullptr;
  uint32_t abi = 0;
  std::vector<TensorDesc> inDescs, outDescs;
  std::vector<ProbeDesc> probeDescs;
};

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_MODELLIBRARY_H
