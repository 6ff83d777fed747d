//===- Sampler.h - the denoising loop of `ditc run --steps` -----*- C++ -*-===//
//
// `ditc run OUT.so --steps S` runs a diffusion sampler around the model: at
// denoising step i it writes the scheduler's timestep into the timestep
// input, runs the model, and moves the latent input by the prediction. Two
// schedulers, with the constants of the reference pipelines (they match
// diffusers' schedulers of the same names and settings):
//
//   euler  flow matching (SD3, Flux): FlowMatchEulerDiscreteScheduler with
//          1000 training steps and shift 3. sigma_max = 1, sigma_min =
//          shift(1/1000); the S sigmas are linspace(sigma_max, sigma_min, S)
//          shifted once more (shift(s) = 3 s / (1 + 2 s)), then 0. The
//          model takes t = 1000 sigma_i and predicts the velocity v:
//          x <- x + (sigma_{i+1} - sigma_i) v.
//   ddim   DDIM, eta 0 (DiT, PixArt): linear betas 1e-4 .. 0.02 over 1000
//          training steps, alpha_bar = cumprod(1 - beta); timesteps
//          "leading": t_i = (S - 1 - i) * (1000 / S) (integer division);
//          the model predicts the noise eps: x0 = (x - sqrt(1 - a_t) eps) /
//          sqrt(a_t), x <- sqrt(a_prev) x0 + sqrt(1 - a_prev) eps, with
//          a_prev = alpha_bar[t_i - 1000 / S], 1 past the last step.
//
// Both updates are x <- xScale[i] x + predScale[i] pred. When the model's
// output has twice the latent's channels (learned sigma: DiT, PixArt) the
// first half is the prediction. Classifier-free guidance is the
// application's: a latent with a CFG batch moves each half by its own
// prediction.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_SAMPLER_H
#define DITC_LIB_DRIVER_SAMPLER_H

#include "lib/Driver/ModelLibrary.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::ditc {

/// One denoising run's schedule.
struct Schedule {
  std::vector<double> timestep;  // the model's timestep input at each step
  std::vector<double> xScale;    // x <- xScale[i] x + predScale[i] pred
  std::vector<double> predScale;
};

/// The schedule of `scheduler` ("euler" or "ddim") over `steps` >= 1
/// denoising steps; nullopt for another name.
std::optional<Schedule> makeSchedule(const std::string &scheduler, int steps);

/// Where the sampler reads and writes: the latent input, the timestep
/// input, the output that predicts, and where the prediction sits in it.
struct SamplerIO {
  int latent = -1, timestep = -1, output = 0;
  /// Learned sigma: the output is twice the latent along `splitDim`; the
  /// prediction is its first half. -1: the output is the latent's shape.
  int splitDim = -1;
};

/// Picks the latent and timestep inputs: the ones named (non-empty
/// `latentName` / `timestepName`) or guessed: the latent is the float input
/// of rank >= 3 that has the first output's shape (or half of it along one
/// dimension); the timestep the input of rank <= 1 whose name contains
/// "time" or is "t", else the only input of rank <= 1. On failure returns
/// false and sets `error` to one line naming the inputs.
bool findSamplerIO(const std::vector<TensorDesc> &inputs, const std::vector<TensorDesc> &outputs,
                   const std::string &latentName, const std::string &timestepName,
                   SamplerIO &io, std::string &error);

/// The scheduler named (non-empty), else the one for the model: ddim under
/// learned sigma (io.splitDim >= 0), else euler.
inline std::string schedulerFor(const std::string &named, const SamplerIO &io) {
  return !named.empty() ? named : io.splitDim >= 0 ? "ddim" : "euler";
}

/// Writes `t` into every element of a timestep input (floats as they are,
/// integers rounded). False for a dtype a timestep cannot have.
bool writeTimestep(const TensorDesc &t, double value, Buffer &buf);

/// x <- xScale x + predScale pred for latent `x` (f32, f16 or bf16, as
/// `latent` says) and the prediction in `out` (the output's dtype; its
/// first half along io.splitDim under learned sigma).
bool updateLatent(const TensorDesc &latent, Buffer &x, const TensorDesc &output,
                  const Buffer &out, const SamplerIO &io, double xScale, double predScale);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_SAMPLER_H
