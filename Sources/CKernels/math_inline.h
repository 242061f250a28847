// Scalar math shared by the encoder's kernels (kernels.c, int8_gemm.c), inlined into each
// caller so that it vectorises there. Not part of the public header.
#ifndef CK_MATH_INLINE_H
#define CK_MATH_INLINE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float ck_exp(float x) {
    x = fminf(fmaxf(x, -87.3f), 88.3f);
    const float n = rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440054690583e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int32_t scale_bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, 4);
    return e * scale;
}

static inline float ck_erf(float x) {
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = 1.061405429f;
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    float r = 1.0f - y * t * ck_exp(-a * a);
    return copysignf(r, x);
}

// GELU, x·Φ(x), with erf as BERT defines it (not the tanh approximation).
static inline float ck_gelu(float v) { return 0.5f * v * (1.0f + ck_erf(v * 0.70710678118654752f)); }

#endif
