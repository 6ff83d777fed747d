//===- SamplerTest.cpp - the schedules of `ditc run --steps` -------------===//
//
// The reference values come from diffusers 0.42.1 (float64 tensors):
//   DDIMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02,
//                 beta_schedule="linear", clip_sample=False,
//                 set_alpha_to_one=True, steps_offset=0,
//                 prediction_type="epsilon", timestep_spacing="leading")
//   FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0)
// stepping x = [0.5, -1.0] with the prediction [0.1 + 0.01 i, -0.2] at
// step i (set_timesteps(S), then scheduler.step per timestep).
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Sampler.h"

#include "ditc/runtime/ditc_model.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace mlir::ditc;

namespace {
std::vector<double> trajectory(const Schedule &s) {
  double x[2] = {0.5, -1.0};
  for (size_t i = 0; i < s.timestep.size(); ++i) {
    double pred[2] = {0.1 + 0.01 * (double)i, -0.2};
    for (int k = 0; k < 2; ++k)
      x[k] = s.xScale[i] * x[k] + s.predScale[i] * pred[k];
  }
  return {x[0], x[1]};
}
} // namespace

TEST(Sampler, DdimMatchesDiffusers) {
  std::optional<Schedule> s = makeSchedule("ddim", 7);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->timestep, (std::vector<double>{852, 710, 568, 426, 284, 142, 0}));
  std::vector<double> x = trajectory(*s);
  // diffusers computes alpha_bar in float32: 1e-6 relative.
  EXPECT_NEAR(x[0], 15.68632677, 1e-6 * 15.7);
  EXPECT_NEAR(x[1], -31.81210693, 1e-6 * 31.9);

  s = makeSchedule("ddim", 50);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->timestep[0], 980);
  EXPECT_EQ(s->timestep[1], 960);
  EXPECT_EQ(s->timestep[49], 0);
  x = trajectory(*s);
  EXPECT_NEAR(x[0], 45.18089246, 1e-6 * 45.2);
  EXPECT_NEAR(x[1], -104.1187957, 1e-6 * 104.2);
}

TEST(Sampler, FlowMatchEulerMatchesDiffusers) {
  std::optional<Schedule> s = makeSchedule("euler", 5);
  ASSERT_TRUE(s);
  // diffusers keeps its sigmas in float32: 1e-6 relative.
  const double ts[] = {1000, 900.35907, 751.121094, 502.985046, 8.9285717};
  for (int i = 0; i < 5; ++i)
    EXPECT_NEAR(s->timestep[i], ts[i], 1e-6 * ts[i]) << i;
  std::vector<double> x = trajectory(*s);
  EXPECT_NEAR(x[0], 0.3783660519, 1e-6);
  EXPECT_NEAR(x[1], -0.8000000527, 1e-6);
  // Euler moves by the whole velocity over sigma 1 -> 0.
  double total = 0;
  for (double d : s->predScale)
    total += d;
  EXPECT_NEAR(total, -1.0, 1e-12);

  s = makeSchedule("euler", 28);
  ASSERT_TRUE(s);
  EXPECT_NEAR(s->timestep[1], 987.380615, 1e-4);
  EXPECT_NEAR(s->timestep[2], 974.107727, 1e-4);
  x = trajectory(*s);
  EXPECT_NEAR(x[0], 0.2219607095, 1e-6);
}

TEST(Sampler, UnknownSchedulerOrSteps) {
  EXPECT_FALSE(makeSchedule("dpm", 10));
  EXPECT_FALSE(makeSchedule("euler", 0));
  std::optional<Schedule> s = makeSchedule("ddim", 1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->timestep, (std::vector<double>{0}));
}

TEST(Sampler, FindsLatentAndTimestep) {
  std::vector<TensorDesc> in = {
      {"x", DITC_DTYPE_F32, {2, 4, 8, 8}, 2048},
      {"t", DITC_DTYPE_I64, {2}, 16},
      {"y", DITC_DTYPE_I64, {2}, 16},
  };
  std::vector<TensorDesc> out = {{"out", DITC_DTYPE_F32, {2, 8, 8, 8}, 4096}};
  SamplerIO io;
  std::string err;
  // Learned sigma: the output has twice the latent's channels.
  ASSERT_TRUE(findSamplerIO(in, out, "", "", io, err)) << err;
  EXPECT_EQ(io.latent, 0);
  EXPECT_EQ(io.timestep, 1); // named "t"; "y" (class labels) is not
  EXPECT_EQ(io.splitDim, 1);

  // SD3-like: the latent has the output's shape, the timestep is a float.
  std::vector<TensorDesc> sd3 = {
      {"hidden_states", DITC_DTYPE_F32, {2, 16, 8, 8}, 8192},
      {"encoder_hidden_states", DITC_DTYPE_F32, {2, 77, 64}, 39424},
      {"pooled_projections", DITC_DTYPE_F32, {2, 64}, 512},
      {"timestep", DITC_DTYPE_F32, {2}, 8},
  };
  std::vector<TensorDesc> sd3out = {{"sample", DITC_DTYPE_F32, {2, 16, 8, 8}, 8192}};
  ASSERT_TRUE(findSamplerIO(sd3, sd3out, "", "", io, err)) << err;
  EXPECT_EQ(io.latent, 0);
  EXPECT_EQ(io.timestep, 3);
  EXPECT_EQ(io.splitDim, -1);

  // Errors name the inputs and the option to use.
  EXPECT_FALSE(findSamplerIO(sd3, sd3out, "latent", "", io, err));
  EXPECT_NE(err.find("--latent-input 'latent' is not an input"), std::string::npos) << err;
  EXPECT_FALSE(findSamplerIO(sd3, {{"o", DITC_DTYPE_F32, {3, 3}, 36}}, "", "", io, err));
  EXPECT_NE(err.find("cannot tell the latent"), std::string::npos) << err;
  std::vector<TensorDesc> twoSmall = {in[0], {"a", DITC_DTYPE_I64, {2}, 16},
                                      {"b", DITC_DTYPE_I64, {2}, 16}};
  EXPECT_FALSE(findSamplerIO(twoSmall, out, "", "", io, err));
  EXPECT_NE(err.find("--timestep-input NAME"), std::string::npos) << err;
  EXPECT_TRUE(findSamplerIO(twoSmall, out, "", "b", io, err)) << err;
  EXPECT_EQ(io.timestep, 2);
  EXPECT_FALSE(findSamplerIO(in, out, "", "x", io, err));
  EXPECT_NE(err.find("not a number per sample"), std::string::npos) << err;
}

TEST(Sampler, UpdateTakesTheFirstHalfUnderLearnedSigma) {
  // Latent [1, 2, 3] (channels 2), output [1, 4, 3]: channels 0-1 predict.
  TensorDesc lat{"x", DITC_DTYPE_F32, {1, 2, 3}, 24}, o{"o", DITC_DTYPE_F32, {1, 4, 3}, 48};
  Buffer x(24), out(48);
  float xv[6] = {1, 2, 3, 4, 5, 6}, ov[12];
  for (int i = 0; i < 12; ++i)
    ov[i] = 100.0f * (float)(i + 1);
  std::memcpy(x.data(), xv, 24);
  std::memcpy(out.data(), ov, 48);
  SamplerIO io;
  io.splitDim = 1;
  ASSERT_TRUE(updateLatent(lat, x, o, out, io, 2.0, 0.5));
  float got[6];
  std::memcpy(got, x.data(), 24);
  for (int i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(got[i], 2 * xv[i] + 0.5f * ov[i]) << i; // first 6 of 12
  // bf16 latents are rounded back to bf16.
  TensorDesc latb{"x", DITC_DTYPE_BF16, {1, 2, 3}, 12};
  Buffer xb(12);
  uint16_t one = 0x3f80; // 1.0
  for (int i = 0; i < 6; ++i)
    std::memcpy(xb.data() + 2 * i, &one, 2);
  ASSERT_TRUE(updateLatent(latb, xb, o, out, io, 1.0, 0.0));
  uint16_t h;
  std::memcpy(&h, xb.data(), 2);
  EXPECT_EQ(h, one);
}

TEST(Sampler, WritesTimestepsOfEveryDtype) {
  TensorDesc ti{"t", DITC_DTYPE_I64, {2}, 16}, tf{"t", DITC_DTYPE_F32, {}, 4};
  Buffer bi(16), bf(4);
  ASSERT_TRUE(writeTimestep(ti, 751.6, bi));
  int64_t v[2];
  std::memcpy(v, bi.data(), 16);
  EXPECT_EQ(v[0], 752);
  EXPECT_EQ(v[1], 752);
  ASSERT_TRUE(writeTimestep(tf, 8.9285717, bf));
  float f;
  std::memcpy(&f, bf.data(), 4);
  EXPECT_FLOAT_EQ(f, 8.9285717f);
  EXPECT_FALSE(writeTimestep({"t", DITC_DTYPE_U8, {2}, 2}, 1.0, bi));
}
