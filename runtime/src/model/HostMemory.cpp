//===- HostMemory.cpp - a --target cpu library's memory -------------------===//
//
// The arena is one 64-byte-aligned host allocation; weights are read where
// the weight file is mapped (or from a buffer of generated ones); constants
// are the generated code's own globals; a step runs on the caller's input
// and output buffers directly.
//
//===----------------------------------------------------------------------===//

#include "Memory.h"

#include "ditc/runtime/ditc_kernels.h"

#include <cstdlib>
#include <cstring>

namespace ditc_rt::model {
namespace {

class HostMemory final : public Memory {
public:
  ~HostMemory() override { std::free(arena); }
  const char *target() const override { return "cpu"; }

  ditc_status setUp(const Layout &layout, std::string &error) override {
    size_t bytes = (layout.arenaBytes + 63) / 64 * 64;
    arena = std::aligned_alloc(64, bytes ? bytes : 64);
    if (!arena) {
      error = "cannot allocate the " + std::to_string(layout.arenaBytes) +
              "-byte activation arena";
      return DITC_ERROR_MEMORY;
    }
    constants.assign(layout.constants.begin(), layout.constants.end());
    weightBytes = layout.weightBytes;
    return DITC_OK;
  }

  ditc_status placeWeights(const WeightSource &source, std::vector<void *> &table,
                           std::string &error) override {
    if (!source.mapped.empty()) {
      table.clear();
      for (const void *p : source.mapped)
        table.push_back(const_cast<void *>(p));
      generated.clear();
      return DITC_OK;
    }
    // Generated weights: one buffer, each tensor 64-byte aligned.
    std::vector<uint64_t> offsets;
    uint64_t total = 0;
    for (size_t i = 0; i < weightBytes.size(); ++i) {
      offsets.push_back(total);
      if (!source.has || source.has(i))
        total += (weightBytes[i] + 63) / 64 * 64;
    }
    std::vector<unsigned char> buffer;
    try {
      buffer.resize(total + 64);
    } catch (const std::bad_alloc &) {
      error = "cannot allocate " + std::to_string(total) +
              " bytes of generated weights";
      return DITC_ERROR_MEMORY;
    }
    unsigned char *base = buffer.data() + (64 - (uintptr_t)buffer.data() % 64) % 64;
    table.clear();
    for (size_t i = 0; i < weightBytes.size(); ++i) {
      if (source.has && !source.has(i)) {
        table.push_back(nullptr);
        continue;
      }
      source.generate(i, base + offsets[i]);
      table.push_back(base + offsets[i]);
    }
    generated = std::move(buffer);
    return DITC_OK;
  }

  ditc_status run(const StepFn &step, const void *const *inputs,
                  void *const *outputs, int32_t &rc, std::string &) override {
    rc = step(arena, const_cast<void *const *>(inputs), outputs,
              const_cast<void *const *>(constants.data()));
    return DITC_OK;
  }

  void setNumThreads(int32_t threads) override { ditc_rt_set_num_threads(threads); }
  void trace(double *seconds, int32_t steps) override {
    ditc_rt_trace_begin(seconds, steps);
  }
  ditc_status readArena(uint64_t offset, void *dst, uint64_t bytes,
                        std::string &) override {
    std::memcpy(dst, static_cast<char *>(arena) + offset, bytes);
    return DITC_OK;
  }
  ditc_status writeArena(uint64_t offset, const void *src, uint64_t bytes,
                         std::string &) override {
    std::memcpy(static_cast<char *>(arena) + offset, src, bytes);
    return DITC_OK;
  }

private:
  std::vector<uint64_t> weightBytes;
  void *arena = nullptr;
  std::vector<const void *> constants;
  std::vector<unsigned char> generated;
};

} // namespace

std::unique_ptr<Memory> makeMemory() { return std::make_unique<HostMemory>(); }

} // namespace ditc_rt::model
