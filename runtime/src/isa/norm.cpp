//===- norm.cpp - Layer / RMS / group normalisation, softmax -------------===//
#include "isa.h"

#include <math.h>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

constexpr int64_t kGrain = 16384; // elements per thread, at least
constexpr int64_t kBlock = 4096;  // float partial sums, then double

// sum((x - c)^2)
double sum_sq_f(const float *x, int64_t n, float c) {
  double total = 0.0;
  const vf cv = splat(c);
  for (int64_t b = 0; b < n; b += kBlock) {
    int64_t e = b + kBlock < n ? b + kBlock : n, i = b;
    vf a0 = vf{}, a1 = vf{}, a2 = vf{}, a3 = vf{};
    for (; i + 4 * W <= e; i += 4 * W) {
      vf d0 = loadu(x + i) - cv, d1 = loadu(x + i + W) - cv;
      vf d2 = loadu(x + i + 2 * W) - cv, d3 = loadu(x + i + 3 * W) - cv;
      a0 += d0 * d0;
      a1 += d1 * d1;
      a2 += d2 * d2;
      a3 += d3 * d3;
    }
    for (; i + W <= e; i += W) {
      vf d = loadu(x + i) - cv;
      a0 += d * d;
    }
    double s = hsum((a0 + a1) + (a2 + a3));
    for (; i < e; ++i)
      s += (double)(x[i] - c) * (x[i] - c);
    total += s;
  }
  return total;
}

// y = (x - mean) * rstd * scale + bias; scale / bias may be null.
void normalize_row(const float *x, const float *scale, const float *bias,
                   float *y, int64_t n, float mean, float rstd) {
  const vf mv = splat(mean), rv = splat(rstd);
  int64_t i = 0;
  if (scale && bias) {
    for (; i + W <= n; i += W)
      storeu(y + i, (loadu(x + i) - mv) * rv * loadu(scale + i) +
                        loadu(bias + i));
    for (; i < n; ++i)
      y[i] = (x[i] - mean) * rstd * scale[i] + bias[i];
  } else if (scale) {
    for (; i + W <= n; i += W)
      storeu(y + i, (loadu(x + i) - mv) * rv * loadu(scale + i));
    for (; i < n; ++i)
      y[i] = (x[i] - mean) * rstd * scale[i];
  } else if (bias) {
    for (; i + W <= n; i += W)
      storeu(y + i, (loadu(x + i) - mv) * rv + loadu(bias + i));
    for (; i < n; ++i)
      y[i] = (x[i] - mean) * rstd + bias[i];
  } else {
    for (; i + W <= n; i += W)
      storeu(y + i, (loadu(x + i) - mv) * rv);
    for (; i < n; ++i)
      y[i] = (x[i] - mean) * rstd;
  }
}

// y = y * s + t over n elements (adaLN modulation); s / t may be null.
void modulate_row(float *y, const float *s, const float *t, int64_t n, float off) {
  int64_t i = 0;
  const vf o = splat(off);
  if (s && t) {
    for (; i + W <= n; i += W)
      storeu(y + i, loadu(y + i) * (loadu(s + i) + o) + loadu(t + i));
    for (; i < n; ++i)
      y[i] = y[i] * (s[i] + off) + t[i];
  } else if (s) {
    for (; i + W <= n; i += W)
      storeu(y + i, loadu(y + i) * (loadu(s + i) + o));
    for (; i < n; ++i)
      y[i] = y[i] * (s[i] + off);
  } else if (t) {
    for (; i + W <= n; i += W)
      storeu(y + i, loadu(y + i) + loadu(t + i));
    for (; i < n; ++i)
      y[i] = y[i] + t[i];
  }
}

// y = (x - c) * a + b over n elements. (Not x * a + (b - c * a): with a
// large mean that cancels.)
void affine(const float *x, float *y, int64_t n, float c, float a, float b) {
  const vf cv = splat(c), av = splat(a), bv = splat(b);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    storeu(y + i, (loadu(x + i) - cv) * av + bv);
  for (; i < n; ++i)
    y[i] = (x[i] - c) * a + b;
}

int64_t rows_grain(int64_t cols) {
  return cols >= kGrain ? 1 : kGrain / (cols > 0 ? cols : 1);
}

void softmax_rows(const float *x, float *y, int64_t rows, int64_t len) {
  parallel_range(rows, rows_grain(len), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float *xr = x + r * len;
      float *yr = y + r * len;
      vf mv = splat(-kInf);
      int64_t i = 0;
      for (; i + W <= len; i += W)
        mv = vmax(mv, loadu(xr + i));
      float m = hmax(mv);
      for (; i < len; ++i)
        m = xr[i] > m ? xr[i] : m;
      const vf mm = splat(m);
      vf sv = vf{};
      for (i = 0; i + W <= len; i += W) {
        vf ev = exp_v(loadu(xr + i) - mm);
        storeu(yr + i, ev);
        sv += ev;
      }
      float s = hsum(sv);
      if (i < len) {
        vf ev = exp_v(load_part(xr + i, len - i, -kInf) - mm);
        store_part(yr + i, ev, len - i);
        s += hsum(ev);
      }
      const vf inv = splat(1.f / s);
      for (i = 0; i + W <= len; i += W)
        storeu(yr + i, loadu(yr + i) * inv);
      for (; i < len; ++i)
        yr[i] *= inv[0];
    }
  });
}

// Softmax over the middle axis, `inner` lanes at a time in chunks.
void softmax_strided(const float *x, float *y, int64_t outer, int64_t len,
                     int64_t inner) {
  constexpr int64_t kChunk = 512;
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  parallel_range(outer * chunks, kGrain / (len * kChunk) + 1,
                 [&](int64_t b, int64_t e) {
    float m[kChunk], s[kChunk];
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / chunks, c0 = (t % chunks) * kChunk;
      int64_t nc = inner - c0 < kChunk ? inner - c0 : kChunk;
      const float *xo = x + o * len * inner + c0;
      float *yo = y + o * len * inner + c0;
      for (int64_t c = 0; c < nc; ++c) {
        m[c] = -kInf;
        s[c] = 0.f;
      }
      for (int64_t l = 0; l < len; ++l) {
        const float *xl = xo + l * inner;
        for (int64_t c = 0; c < nc; ++c)
          m[c] = xl[c] > m[c] ? xl[c] : m[c];
      }
      for (int64_t l = 0; l < len; ++l) {
        const float *xl = xo + l * inner;
        float *yl = yo + l * inner;
        int64_t c = 0;
        for (; c + W <= nc; c += W) {
          vf ev = exp_v(loadu(xl + c) - loadu(m + c));
          storeu(yl + c, ev);
          storeu(s + c, loadu(s + c) + ev);
        }
        if (c < nc) {
          vf ev = exp_v(load_part(xl + c, nc - c, 0.f) -
                        load_part(m + c, nc - c, 0.f));
          store_part(yl + c, ev, nc - c);
          for (int64_t k = c; k < nc; ++k)
            s[k] += ev[k - c];
        }
      }
      for (int64_t c = 0; c < nc; ++c)
        s[c] = 1.f / s[c];
      for (int64_t l = 0; l < len; ++l) {
        float *yl = yo + l * inner;
        for (int64_t c = 0; c < nc; ++c)
          yl[c] *= s[c];
      }
    }
  });
}

} // namespace

void layer_norm_mod_f32(const float *x, const float *scale, const float *bias,
                        const float *mod_scale, const float *mod_shift,
                        float *y, int64_t rows, int64_t cols, int64_t groups,
                        int64_t scale_stride, int64_t shift_stride,
                        float scale_offset, float eps) {
  if (groups <= 0 || (rows > 0 && rows % groups != 0))
    fatal("layer_norm_mod_f32", "rows (%lld) must be a multiple of the "
          "modulation's groups (%lld)", (long long)rows, (long long)groups);
  if (scale_stride < 0 || shift_stride < 0)
    fatal("layer_norm_mod_f32", "negative modulation row stride (%lld, %lld)",
          (long long)scale_stride, (long long)shift_stride);
  if (rows <= 0 || cols <= 0)
    return;
  const int64_t per_group = rows / groups;
  parallel_range(rows, rows_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float *xr = x + r * cols;
      float mean = (float)(sum_f(xr, cols) / cols);
      double var = sum_sq_f(xr, cols, mean) / cols;
      float rstd = (float)(1.0 / sqrt(var + eps));
      normalize_row(xr, scale, bias, y + r * cols, cols, mean, rstd);
      const int64_t g = r / per_group;
      modulate_row(y + r * cols, mod_scale ? mod_scale + g * scale_stride : nullptr,
                   mod_shift ? mod_shift + g * shift_stride : nullptr, cols, scale_offset);
    }
  });
}

void rms_norm_f32(const float *x, const float *scale, float *y, int64_t rows,
                  int64_t cols, float eps) {
  if (rows <= 0 || cols <= 0)
    return;
  parallel_range(rows, rows_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float *xr = x + r * cols;
      double ms = sum_sq_f(xr, cols, 0.f) / cols;
      float rstd = (float)(1.0 / sqrt(ms + eps));
      normalize_row(xr, scale, nullptr, y + r * cols, cols, 0.f, rstd);
    }
  });
}

void group_norm_f32(const float *x, const float *scale, const float *bias,
                    float *y, int64_t n, int64_t c, int64_t spatial,
                    int64_t groups, float eps) {
  if (groups <= 0 || c % groups != 0)
    fatal("group_norm_f32", "channels (%lld) must be a multiple of groups "
          "(%lld)", (long long)c, (long long)groups);
  if (n <= 0 || c <= 0 || spatial <= 0)
    return;
  const int64_t cpg = c / groups, len = cpg * spatial;
  parallel_range(n * groups, rows_grain(len), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const float *xg = x + t * len;
      float *yg = y + t * len;
      float mean = (float)(sum_f(xg, len) / len);
      double var = sum_sq_f(xg, len, mean) / len;
      float rstd = (float)(1.0 / sqrt(var + eps));
      int64_t ch0 = (t % groups) * cpg;
      for (int64_t k = 0; k < cpg; ++k) {
        float a = rstd * (scale ? scale[ch0 + k] : 1.f);
        float bb = bias ? bias[ch0 + k] : 0.f;
        affine(xg + k * spatial, yg + k * spatial, spatial, mean, a, bb);
      }
    }
  });
}

void softmax_f32(const float *x, float *y, int64_t outer, int64_t len,
                 int64_t inner) {
  if (outer <= 0 || len <= 0 || inner <= 0)
    return;
  if (inner == 1)
    softmax_rows(x, y, outer, len);
  else
    softmax_strided(x, y, outer, len, inner);
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
