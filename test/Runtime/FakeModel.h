//===- FakeModel.h - A stand-in for the generated half of a model library -===//
//
// A model library is generated code (ditc_generated_json / _run) plus
// runtime/src/model/Model.cpp. The model tests link Model.cpp (through the
// runtime archive) into the test binary itself and define the generated
// half here: the descriptor is whatever gJson holds, and a run calls gRun.
// Include it in one file per binary.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_RUNTIME_FAKEMODEL_H
#define DITC_TEST_RUNTIME_FAKEMODEL_H

#include "ditc/runtime/ditc_checksum.h"
#include "ditc/runtime/ditc_model.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

namespace fake {

/// The descriptor ditc_generated_json returns.
inline std::string gJson;

/// The body of ditc_generated_run; its result is the run's.
using RunFn = std::function<int32_t(void *const *inputs, void *const *outputs,
                                    void *const *weights, void *const *comms)>;
inline RunFn gRun;

/// A descriptor: one f32 input "x" and output "y" of `n` elements and, when
/// `weights` > 0, one f32 weight "w" of that many elements.
inline nlohmann::json descriptor(int64_t n, int64_t weights) {
  nlohmann::json j;
  j["abi"] = DITC_MODEL_ABI_VERSION;
  j["inputs"] = {{{"name", "x"}, {"dtype", "f32"}, {"shape", {n}}}};
  j["outputs"] = {{{"name", "y"}, {"dtype", "f32"}, {"shape", {n}}}};
  j["weights"] = nlohmann::json::array();
  if (weights > 0)
    j["weights"].push_back({{"name", "w"},
                            {"dtype", "f32"},
                            {"shape", {weights}},
                            {"file", "w.safetensors"},
                            {"offset", 0}});
  j["arena_bytes"] = 256;
  return j;
}

/// Writes a safetensors file holding "w" (f32 `values`), with
/// __metadata__ entries `metadata` (none when empty); returns the checksum
/// of its data section as the descriptor spells it.
inline std::string
writeWeights(const std::string &path, const std::vector<float> &values,
             const std::vector<std::pair<std::string, std::string>> &metadata) {
  nlohmann::json h;
  if (!metadata.empty()) {
    nlohmann::json md = nlohmann::json::object();
    for (const auto &[k, v] : metadata)
      md[k] = v;
    h["__metadata__"] = md;
  }
  uint64_t bytes = values.size() * 4;
  h["w"] = {{"dtype", "F32"},
            {"shape", {(int64_t)values.size()}},
            {"data_offsets", {0, bytes}}};
  std::string header = h.dump();
  while (header.size() % 8)
    header.push_back(' ');
  uint64_t len = header.size();
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return "";
  std::fwrite(&len, 8, 1, f);
  std::fwrite(header.data(), 1, header.size(), f);
  std::fwrite(values.data(), 4, values.size(), f);
  std::fclose(f);
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx",
                (unsigned long long)ditc_checksum_update(DITC_CHECKSUM_SEED,
                                                         values.data(), bytes));
  return hex;
}

/// The folder of this executable (where Model.cpp looks for weight files).
inline std::string exeDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return ".";
  std::string p(buf, (size_t)n);
  return p.substr(0, p.rfind('/'));
}

} // namespace fake

extern "C" const char *ditc_generated_json(void) { return fake::gJson.c_str(); }

extern "C" int32_t ditc_generated_run(void *, void *const *inputs,
                                      void *const *outputs,
                                      void *const *weights,
                                      void *const *comms,
                                      void *const * /*constants*/,
                                      int32_t /*schedule*/) {
  return fake::gRun ? fake::gRun(inputs, outputs, weights, comms) : 0;
}

#endif // DITC_TEST_RUNTIME_FAKEMODEL_H
