//===- cache_rule.h - A step cache's decision, shared by CPU and CUDA ----===//
//
// ditc_rt_cache_decide (runtime/src/precision.cpp) and ditc_cu_cache_decide
// (redundancy.cu) measure d = sum |ref - x| / sum |ref| on their device and
// take the decision here, on the host, from the same slot (ditc_kernels.def:
// [0] step, [1] steps, [2] accumulator, [3] counter, [4] previous decision,
// [5] reference held, [6] d, [7] decision, [8] steps skipped, [9] the step
// a decision taken ahead skips, plus one, [10] the call may not skip).
// Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_CACHE_RULE_H
#define DITC_RUNTIME_CUDA_CACHE_RULE_H

#include <cmath>
#include <stdint.h>

namespace ditc_cache {

/// The doubles of the slot the rule keeps ([0] .. [10]); the CUDA kernel
/// puts its sums after them, at kSlotDoubles.
constexpr int kSlotDoubles = 11;

/// cache_decide's modes: decide this step from this step's measure; decide
/// the next step from this step's measure (pipeline stages: the decision
/// reaches every stage at the start of the next call); take the decision
/// taken ahead for this step.
enum Mode : int32_t { kNow = 0, kAhead = 1, kTake = 2 };

/// What the rule decided, and whether the reference takes this input.
struct Decision {
  bool skip = false, keepInput = false;
};

/// kind 0 fbcache, 1 teacache; params = [threshold, fraction computed
/// first, polynomial...]. `d` is NaN without a reference (slot[5] == 0).
/// Updates the slot; a call outside a denoising run (slot[0] < 0) computes
/// and leaves the state alone.
inline Decision decide(int32_t kind, double d, const double *params, int32_t num_params,
                       double *slot) {
  Decision out;
  double step = slot[0], steps = slot[1], threshold = params[0];
  if (step < 0) {
    slot[7] = 0;
    return out;
  }
  bool hasRef = slot[5] != 0;
  // The first and the last denoising step always compute, and the first
  // ceil(params[1] * steps), whatever the rule says; the rule's state
  // follows what the step did.
  bool forced = step == 0 || step == steps - 1 || step < std::ceil(params[1] * steps);
  if (kind == 0) {
    // First-Block-Cache (xDiT): similar to the reference; the reference
    // follows the input while the step before computed.
    out.skip = hasRef && d < threshold && !forced;
    out.keepInput = slot[4] == 0;
  } else {
    // TeaCache (xDiT): the rescaled change accumulates while skipping; its
    // counter starts at the first comparison and computes at 0 and S - 1.
    if (hasRef) {
      double poly = 0;
      for (int32_t i = 2; i < num_params; ++i)
        poly = poly * d + params[i];
      double accum = slot[2] + poly, cnt = slot[3];
      out.skip = accum < threshold && cnt != 0 && cnt != steps - 1 && !forced;
      slot[2] = out.skip ? accum : 0;
      slot[3] = cnt + 1 < steps ? cnt + 1 : 0;
    }
    out.keepInput = true;
  }
  if (out.keepInput)
    slot[5] = 1;
  slot[4] = out.skip;
  slot[6] = d;
  slot[7] = out.skip;
  slot[8] += out.skip;
  return out;
}

/// Mode kAhead: the rule of decide() for the step after this one, on this
/// step's measure `d`; the decision waits in slot[9] (the step it skips
/// plus one) for take(). The rule's state moves as in decide(); this call's
/// decision and the count of skipped steps are take()'s. After the run's
/// last step (or outside a run) nothing is decided.
inline Decision decideAhead(int32_t kind, double d, const double *params, int32_t num_params,
                            double *slot) {
  double step = slot[0];
  slot[9] = 0;
  if (step < 0)
    return {};
  if (step + 1 >= slot[1]) {
    slot[6] = d;
    return {};
  }
  double now = slot[7], skipped = slot[8];
  slot[0] = step + 1;
  Decision out = decide(kind, d, params, num_params, slot);
  slot[0] = step;
  slot[7] = now;
  slot[8] = skipped;
  slot[9] = out.skip ? step + 2 : 0;
  return out;
}

/// Mode kTake: whether this call skips, by the decision taken ahead for it
/// (slot[9]), unless the model says the call may not (slot[10]: it runs
/// another schedule than the call before, whose residuals it does not
/// hold); then it computes, and the rule's state says so. Every rank calls
/// it with the same slot[0], [9] and [10].
inline bool take(double *slot) {
  bool planned = slot[0] >= 0 && slot[9] == slot[0] + 1;
  bool skip = planned && slot[10] == 0;
  if (planned && !skip) {
    slot[2] = 0;
    slot[4] = 0;
  }
  slot[7] = skip;
  slot[8] += skip;
  return skip;
}

} // namespace ditc_cache

#endif // DITC_RUNTIME_CUDA_CACHE_RULE_H
