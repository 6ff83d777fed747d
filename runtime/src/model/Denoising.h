//===- Denoising.h - where a model call sits in a denoising run -*- C++ -*-===//
//
// A diffusion sampler calls the model once per denoising step. Plans that
// keep state across the denoising steps of one run (PipeFusion: the other
// patches' K/V from the previous denoising step) need to know where a call
// sits; the application says so through ditc_model_begin_denoising and
// ditc_model_set_denoising_step (ditc_model.h). This is the state machine
// behind them, shared by every library; header-only so that it is tested
// without a model.
//
// ("Denoising step" is one call of the model; "step" alone, in traces and
// profiles, is one op of the compiled schedule.)
//
//===----------------------------------------------------------------------===//

#ifndef DITC_RUNTIME_SRC_MODEL_DENOISING_H
#define DITC_RUNTIME_SRC_MODEL_DENOISING_H

#include <cstdint>
#include <string>

namespace ditc_rt::model {

class DenoisingRun {
public:
  /// A new run of `steps` denoising steps, the first `warmup` of them
  /// warm-up (synchronous, exact). Ends the previous run, if any.
  bool begin(int32_t steps, int32_t warmup, std::string &err) {
    if (steps < 1) {
      err = "a denoising run needs at least 1 step (got " + std::to_string(steps) + ")";
      return false;
    }
    if (warmup < 0 || warmup > steps) {
      err = "warm-up steps " + std::to_string(warmup) + " outside 0 .. " +
            std::to_string(steps) + " (the run's steps)";
      return false;
    }
    steps_ = steps;
    warmup_ = warmup;
    next_ = 0;
    pending_ = -1;
    return true;
  }

  /// The next call is denoising step `step` of the run.
  bool setStep(int32_t step, std::string &err) {
    if (steps_ == 0) {
      err = "denoising step " + std::to_string(step) +
            " set, but no denoising run has begun (call ditc_model_begin_denoising first)";
      return false;
    }
    if (pending_ >= 0) {
      err = "denoising step " + std::to_string(step) + " set while step " +
            std::to_string(pending_) + " has not run yet";
      return false;
    }
    if (next_ >= steps_) {
      err = "denoising step " + std::to_string(step) + " set after the run's last step (" +
            std::to_string(steps_ - 1) + "); begin a new denoising run";
      return false;
    }
    if (step != next_) {
      err = "denoising step " + std::to_string(step) + " out of order: the run expects step " +
            std::to_string(next_) + " next (steps 0 .. " + std::to_string(steps_ - 1) +
            " in order)";
      return false;
    }
    pending_ = step;
    return true;
  }

  /// Called by each model run: the denoising step it is (consumed), or -1
  /// for a call without step information (the synchronous schedule).
  int32_t take() {
    int32_t s = pending_;
    if (s >= 0) {
      pending_ = -1;
      next_ = s + 1;
    }
    last_ = s;
    return s;
  }

  /// Whether denoising step `step` may use state kept from the step before
  /// it: not a warm-up step and not the first.
  bool stale(int32_t step) const { return step > 0 && step >= warmup_; }
  /// The denoising step of the last call (-1: none, or without step information).
  int32_t last() const { return last_; }
  int32_t steps() const { return steps_; }
  int32_t warmup() const { return warmup_; }

private:
  int32_t steps_ = 0, warmup_ = 0, next_ = 0, pending_ = -1, last_ = -1;
};

} // namespace ditc_rt::model

#endif // DITC_RUNTIME_SRC_MODEL_DENOISING_H
