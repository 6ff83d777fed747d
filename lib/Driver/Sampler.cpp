//===- Sampler.cpp - the denoising loop of `ditc run --steps` -------------===//

#include "lib/Driver/Sampler.h"

#include "runtime/cuda/kernel_math.h"

#include "ditc/runtime/ditc_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

namespace mlir::ditc {

namespace {
constexpr int kTrainSteps = 1000;
constexpr double kFlowShift = 3.0;
constexpr double kBetaStart = 1e-4, kBetaEnd = 0.02;

double shifted(double s) { return kFlowShift * s / (1 + (kFlowShift - 1) * s); }

bool isFloat(int32_t dtype) {
  return dtype == DITC_DTYPE_F32 || dtype == DITC_DTYPE_F16 || dtype == DITC_DTYPE_BF16 ||
         dtype == DITC_DTYPE_F64;
}

double load(int32_t dtype, const uint8_t *p, uint64_t i) {
  namespace m = ditc_cu::math;
  switch (dtype) {
  case DITC_DTYPE_F32: {
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
  }
  case DITC_DTYPE_F64: {
    double d;
    std::memcpy(&d, p + 8 * i, 8);
    return d;
  }
  case DITC_DTYPE_F16: {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return m::f16_bits_to_f32(h);
  }
  default: { // bf16
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return m::bf16_bits_to_f32(h);
  }
  }
}

void store(int32_t dtype, uint8_t *p, uint64_t i, double v) {
  namespace m = ditc_cu::math;
  switch (dtype) {
  case DITC_DTYPE_F32: {
    float f = (float)v;
    std::memcpy(p + 4 * i, &f, 4);
    return;
  }
  case DITC_DTYPE_F64:
    std::memcpy(p + 8 * i, &v, 8);
    return;
  case DITC_DTYPE_F16: {
    uint16_t h = m::f32_to_f16_bits((float)v);
    std::memcpy(p + 2 * i, &h, 2);
    return;
  }
  default: {
    uint16_t h = m::f32_to_bf16_bits((float)v);
    std::memcpy(p + 2 * i, &h, 2);
    return;
  }
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string names(const std::vector<TensorDesc> &ts) {
  std::string s;
  for (const TensorDesc &t : ts)
    s += (s.empty() ? "'" : ", '") + t.name + "' " + describe(t.dtype, t.shape);
  return s.empty() ? "none" : s;
}

/// -1: `out` has the latent's shape; d: twice the latent along d; -2: neither.
int splitDimOf(const std::vector<int64_t> &latent, const std::vector<int64_t> &out) {
  if (latent.size() != out.size())
    return -2;
  if (latent == out)
    return -1;
  int dim = -2;
  for (size_t d = 0; d < latent.size(); ++d) {
    if (latent[d] == out[d])
      continue;
    if (out[d] != 2 * latent[d] || dim != -2)
      return -2;
    dim = (int)d;
  }
  return dim;
}
} // namespace

std::optional<Schedule> makeSchedule(const std::string &scheduler, int steps) {
  if (steps < 1)
    return std::nullopt;
  Schedule s;
  if (scheduler == "euler") {
    double hi = 1.0, lo = shifted(1.0 / kTrainSteps);
    std::vector<double> sigma;
    for (int i = 0; i < steps; ++i)
      sigma.push_back(shifted(steps == 1 ? hi : hi + (lo - hi) * i / (steps - 1)));
    sigma.push_back(0.0);
    for (int i = 0; i < steps; ++i) {
      s.timestep.push_back(sigma[i] * kTrainSteps);
      s.xScale.push_back(1.0);
      s.predScale.push_back(sigma[i + 1] - sigma[i]);
    }
    return s;
  }
  if (scheduler == "ddim") {
    std::vector<double> alphaBar(kTrainSteps);
    double prod = 1.0;
    for (int t = 0; t < kTrainSteps; ++t) {
      double beta = kBetaStart + (kBetaEnd - kBetaStart) * t / (kTrainSteps - 1);
      prod *= 1.0 - beta;
      alphaBar[t] = prod;
    }
    int ratio = kTrainSteps / steps;
    for (int i = 0; i < steps; ++i) {
      int t = (steps - 1 - i) * ratio, prev = t - ratio;
      double a = alphaBar[t], ap = prev >= 0 ? alphaBar[prev] : 1.0;
      s.timestep.push_back(t);
      // sqrt(ap) (x - sqrt(1 - a) eps) / sqrt(a) + sqrt(1 - ap) eps
      s.xScale.push_back(std::sqrt(ap / a));
      s.predScale.push_back(std::sqrt(1 - ap) - std::sqrt(ap) * std::sqrt(1 - a) / std::sqrt(a));
    }
    return s;
  }
  return std::nullopt;
}

bool findSamplerIO(const std::vector<TensorDesc> &inputs, const std::vector<TensorDesc> &outputs,
                   const std::string &latentName, const std::string &timestepName,
                   SamplerIO &io, std::string &error) {
  if (outputs.empty()) {
    error = "--steps needs a model with an output (the prediction)";
    return false;
  }
  const TensorDesc &out = outputs[0];
  auto byName = [&](const std::string &name, const char *flag) -> int {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].name == name)
        return (int)i;
    error = std::string(flag) + " '" + name + "' is not an input of the model (inputs: " +
            names(inputs) + ")";
    return -1;
  };
  // The latent.
  if (!latentName.empty()) {
    if ((io.latent = byName(latentName, "--latent-input")) < 0)
      return false;
  } else {
    std::vector<int> found;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (isFloat(inputs[i].dtype) && inputs[i].shape.size() >= 3 &&
          splitDimOf(inputs[i].shape, out.shape) != -2)
        found.push_back((int)i);
    if (found.size() != 1) {
      error = std::string(found.empty() ? "no" : "more than one") +
              " float input of rank >= 3 has the shape of the first output '" + out.name + "' " +
              describe(out.dtype, out.shape) + " (or half of it): cannot tell the latent among " +
              names(inputs) + "; name it with --latent-input NAME";
      return false;
    }
    io.latent = found[0];
  }
  const TensorDesc &latent = inputs[io.latent];
  if (!isFloat(latent.dtype)) {
    error = "the latent input '" + latent.name + "' is " + describe(latent.dtype, latent.shape) +
            ", not a float tensor";
    return false;
  }
  io.splitDim = splitDimOf(latent.shape, out.shape);
  if (io.splitDim == -2 || !isFloat(out.dtype)) {
    error = "the first output '" + out.name + "' " + describe(out.dtype, out.shape) +
            " is not a prediction for the latent '" + latent.name + "' " +
            describe(latent.dtype, latent.shape) +
            " (a float tensor of its shape, or twice it along one dimension)";
    return false;
  }
  // The timestep.
  if (!timestepName.empty()) {
    if ((io.timestep = byName(timestepName, "--timestep-input")) < 0)
      return false;
  } else {
    std::vector<int> small, named;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].shape.size() > 1 || (int)i == io.latent)
        continue;
      small.push_back((int)i);
      std::string n = lower(inputs[i].name);
      if (n.find("time") != std::string::npos || n == "t")
        named.push_back((int)i);
    }
    const std::vector<int> &pick = named.size() == 1 ? named : small;
    if (pick.size() != 1) {
      error = "cannot tell the timestep input among " + names(inputs) +
              " (an input of rank <= 1 named like 'timestep' or 't'); name it with "
              "--timestep-input NAME";
      return false;
    }
    io.timestep = pick[0];
  }
  const TensorDesc &ts = inputs[io.timestep];
  if (io.timestep == io.latent || ts.shape.size() > 1 || ts.dtype == DITC_DTYPE_BOOL) {
    error = "the timestep input '" + ts.name + "' is " + describe(ts.dtype, ts.shape) +
            ", not a number per sample (rank <= 1)";
    return false;
  }
  return true;
}

bool writeTimestep(const TensorDesc &t, double value, Buffer &buf) {
  uint64_t n = 1;
  for (int64_t d : t.shape)
    n *= d;
  for (uint64_t i = 0; i < n; ++i) {
    if (isFloat(t.dtype)) {
      store(t.dtype, buf.data(), i, value);
      continue;
    }
    int64_t v = std::llround(value);
    switch (t.dtype) {
    case DITC_DTYPE_I64:
      std::memcpy(buf.data() + 8 * i, &v, 8);
      break;
    case DITC_DTYPE_I32: {
      int32_t w = (int32_t)v;
      std::memcpy(buf.data() + 4 * i, &w, 4);
      break;
    }
    default:
      return false;
    }
  }
  return true;
}

bool updateLatent(const TensorDesc &latent, Buffer &x, const TensorDesc &output,
                  const Buffer &out, const SamplerIO &io, double xScale, double predScale) {
  if (!isFloat(latent.dtype) || !isFloat(output.dtype))
    return false;
  // Element k of the latent is element (outer, j, inner) of the output with
  // j < latent.shape[splitDim] (the first half).
  uint64_t outer = 1, mid = 1, inner = 1;
  int split = io.splitDim;
  for (size_t d = 0; d < latent.shape.size(); ++d) {
    if (split < 0 || (int)d > split)
      inner *= latent.shape[d];
    else if ((int)d == split)
      mid = latent.shape[d];
    else
      outer *= latent.shape[d];
  }
  uint64_t outMid = split < 0 ? 1 : 2 * mid;
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t j = 0; j < mid; ++j)
      for (uint64_t k = 0; k < inner; ++k) {
        uint64_t xi = (o * mid + j) * inner + k, pi = (o * outMid + j) * inner + k;
        double v = xScale * load(latent.dtype, x.data(), xi) +
                   predScale * load(output.dtype, out.data(), pi);
        store(latent.dtype, x.data(), xi, v);
      }
  return true;
}

} // namespace mlir::ditc
