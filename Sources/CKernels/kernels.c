// Element-wise and attention kernels of the MiniLM encoder, written so the compiler vectorises
// them, and compiled for several instruction sets with runtime selection (target_clones): the
// same binary uses AVX-512 or AVX2 where the CPU has them and SSE2 elsewhere.
//
// Compiled without -ffast-math or -fassociative-math on purpose: the exp range reduction relies
// on the exact order of its operations. Reductions (max, sum) therefore keep sixteen explicit
// partial results, which vectorise without needing the compiler to reorder anything.
#include "ckernels.h"
#include "math_inline.h"

#include <math.h>
#include <stdint.h>
#include <string.h>


#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define CK_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define CK_CLONES
#endif

// 16 floats as one vector (one AVX-512 register, two AVX2 or four SSE registers), with the
// compilers' vector extension so that each target_clones copy gets its own instructions.
typedef float ck_v16 __attribute__((vector_size(64)));
typedef int32_t ck_i16 __attribute__((vector_size(64)));

// Unaligned 16-float load and store (macros, not functions: a 64-byte vector passed by value
// would change the calling convention between the clones).
#define CK_LOAD16(dst, p) memcpy(&(dst), (p), sizeof(ck_v16))
#define CK_STORE16(p, src)          \
    do {                            \
        ck_v16 ck_tmp_ = (src);     \
        memcpy((p), &ck_tmp_, sizeof ck_tmp_); \
    } while (0)

// Lane-wise x > m ? x : m, as bit masks (the vector extension has no ?: in C).
#define CK_MAX16(m, x)                                            \
    do {                                                          \
        ck_i16 ck_greater_ = (x) > (m);                           \
        (m) = (ck_v16)(((ck_i16)(x) & ck_greater_) | ((ck_i16)(m) & ~ck_greater_)); \
    } while (0)

// Maximum of a row: sixteen running maxima, one per lane of a vector (a single fmaxf
// accumulator would be a serial chain: NaN rules keep the compiler from reordering it).
static inline float ck_row_max(const float *row, size_t n) {
    ck_v16 acc;
    for (int l = 0; l < 16; l++) acc[l] = -3.0e38f;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        ck_v16 x;
        CK_LOAD16(x, row + j);
        CK_MAX16(acc, x);
    }
    float m = -3.0e38f;
    for (int l = 0; l < 16; l++) m = acc[l] > m ? acc[l] : m;
    for (; j < n; j++) m = row[j] > m ? row[j] : m;
    return m;
}

// Sum of a row, with sixteen partial sums, one per lane (see the note at the top of the file).
static inline float ck_row_sum(const float *row, size_t n) {
    ck_v16 acc = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        ck_v16 x;
        CK_LOAD16(x, row + j);
        acc += x;
    }
    float total = 0.0f;
    for (int l = 0; l < 16; l++) total += acc[l];
    for (; j < n; j++) total += row[j];
    return total;
}

// Maximum and sum of a vector's 16 lanes as a tree: 4 dependent steps instead of a chain of 16.
// By pointer, for the same reason as the macros above.
static inline __attribute__((always_inline)) float ck_lanes_max(const ck_v16 *in) {
    ck_v16 x = *in, y;
    y = __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    CK_MAX16(x, y);
    y = __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    CK_MAX16(x, y);
    y = __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    CK_MAX16(x, y);
    y = __builtin_shufflevector(x, x, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    CK_MAX16(x, y);
    return x[0];
}

static inline __attribute__((always_inline)) float ck_lanes_sum(const ck_v16 *in) {
    ck_v16 x = *in;
    x += __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    x += __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    x += __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    x += __builtin_shufflevector(x, x, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    return x[0];
}

// Maximum and sum of a row of whole vectors whose last vector (at `last`) holds padding in the
// lanes `valid` leaves out: the padding is masked in registers, never stored over (a store
// followed by the vector load of the same bytes stalls).
static inline __attribute__((always_inline)) float ck_padded_row_max(const float *row, size_t last,
                                                                     const ck_i16 *valid) {
    ck_v16 m, x;
    for (int l = 0; l < 16; l++) m[l] = -3.0e38f;
    for (size_t j = 0; j < last; j += 16) {
        CK_LOAD16(x, row + j);
        CK_MAX16(m, x);
    }
    CK_LOAD16(x, row + last);
    x = (ck_v16)(((ck_i16)x & *valid) | ((ck_i16)m & ~*valid));
    CK_MAX16(m, x);
    return ck_lanes_max(&m);
}

static inline __attribute__((always_inline)) float ck_padded_row_sum(const float *row, size_t last,
                                                                     const ck_i16 *valid) {
    ck_v16 total = {0}, x;
    for (size_t j = 0; j < last; j += 16) {
        CK_LOAD16(x, row + j);
        total += x;
    }
    CK_LOAD16(x, row + last);
    total += (ck_v16)((ck_i16)x & *valid);
    return ck_lanes_sum(&total);
}

// In place: row[j] = exp(row[j] - shift); returns the sum of the results.
static inline float ck_exp_shifted_sum(float *row, size_t n, float shift) {
    for (size_t j = 0; j < n; j++) row[j] = ck_exp(row[j] - shift);
    return ck_row_sum(row, n);
}

CK_CLONES
void ck_bias_gelu_rows(float *x, size_t rows, size_t width, const float *bias) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        for (size_t j = 0; j < width; j++) {
            row[j] = ck_gelu(row[j] + bias[j]);
        }
    }
}

CK_CLONES
void ck_add_bias_rows(float *x, size_t rows, size_t width, const float *bias) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        for (size_t j = 0; j < width; j++) row[j] += bias[j];
    }
}

CK_CLONES
void ck_softmax_rows(float *m, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        float *row = m + r * width;
        const float maximum = ck_row_max(row, width);
        const float inverse = 1.0f / ck_exp_shifted_sum(row, width, maximum);
        for (size_t j = 0; j < width; j++) row[j] *= inverse;
    }
}

CK_CLONES
void ck_add_layernorm_rows(float *x, const float *residual, const float *bias, size_t rows, size_t width,
                           const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        if (residual) {
            const float *res = residual + r * width;
            for (size_t j = 0; j < width; j++) row[j] += res[j];
        }
        if (bias)
            for (size_t j = 0; j < width; j++) row[j] += bias[j];
        const float mean = ck_row_sum(row, width) / (float)width;
        float acc[16] = {0};
        size_t j0 = 0;
        for (; j0 + 16 <= width; j0 += 16)
            for (int l = 0; l < 16; l++) {
                const float d = row[j0 + l] - mean;
                acc[l] += d * d;
            }
        float variance = 0.0f;
        for (int l = 0; l < 16; l++) variance += acc[l];
        for (; j0 < width; j0++) variance += (row[j0] - mean) * (row[j0] - mean);
        const float inverse = 1.0f / sqrtf(variance / (float)width + eps);
        for (size_t j = 0; j < width; j++) row[j] = (row[j] - mean) * inverse * gamma[j] + beta[j];
    }
}

// a0 b0 a1 b1 … a7 b7 and a8 b8 … a15 b15: the two halves of interleaving vectors a and b.
#define CK_INTERLEAVE_LOW(a, b) \
    __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define CK_INTERLEAVE_HIGH(a, b) \
    __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)

// Attention for head size 32, register-blocked: blocks of 8 query rows × 32 keys of scores, and
// 8 rows × 32 dims of output, stay in registers, so the inner loops are bound by FMAs rather
// than by loads and stores.
#define CK_ROWS 8
CK_CLONES
static void ck_attention_head32(const float *restrict q, const float *restrict k, const float *restrict v, size_t ld,
                                float *restrict out, size_t ld_out, size_t length, float scale,
                                float *restrict scratch) {
    const size_t padded = (length + 15) & ~(size_t)15;
    float *restrict kt = scratch;               // 32 × padded, zero beyond length
    float *restrict s = scratch + 32 * padded;  // CK_ROWS × padded score rows
    // kt = Kᵀ, 16 keys × 16 dims at a time transposed in registers: four rounds of
    // interleaving row i with row i + 8 transpose a 16 × 16 block. Keys past `length` (the
    // padding) are zero, and are never read from k.
    for (size_t j0 = 0; j0 < padded; j0 += 16) {
        for (size_t d0 = 0; d0 < 32; d0 += 16) {
            ck_v16 t[16], u[16];
            for (size_t l = 0; l < 16; l++) {
                if (j0 + l < length) CK_LOAD16(t[l], k + (j0 + l) * ld + d0);
                else t[l] = (ck_v16){0};
            }
            for (int round = 0; round < 2; round++) {
                for (int l = 0; l < 8; l++) {
                    u[2 * l] = CK_INTERLEAVE_LOW(t[l], t[l + 8]);
                    u[2 * l + 1] = CK_INTERLEAVE_HIGH(t[l], t[l + 8]);
                }
                for (int l = 0; l < 8; l++) {
                    t[2 * l] = CK_INTERLEAVE_LOW(u[l], u[l + 8]);
                    t[2 * l + 1] = CK_INTERLEAVE_HIGH(u[l], u[l + 8]);
                }
            }
            for (size_t l = 0; l < 16; l++) CK_STORE16(kt + (d0 + l) * padded + j0, t[l]);
        }
    }

    const size_t last = padded - 16;  // the last block of 16 keys
    ck_i16 valid;                     // its lanes that hold keys (the rest is padding)
    for (int l = 0; l < 16; l++) valid[l] = last + (size_t)l < length ? -1 : 0;

    for (size_t i0 = 0; i0 < length; i0 += CK_ROWS) {
        const size_t rows = length - i0 < CK_ROWS ? length - i0 : CK_ROWS;
        float a[CK_ROWS][32] __attribute__((aligned(64)));  // the block's queries, scaled
        for (size_t r = 0; r < CK_ROWS; r++) {
            const float *qi = q + (i0 + (r < rows ? r : 0)) * ld;
            ck_v16 x0, x1;
            CK_LOAD16(x0, qi);
            CK_LOAD16(x1, qi + 16);
            CK_STORE16(a[r], x0 * scale);
            CK_STORE16(a[r] + 16, x1 * scale);
        }
        size_t j0 = 0;
        for (; j0 + 32 <= padded; j0 += 32) {
            ck_v16 c[CK_ROWS][2];
            for (int r = 0; r < CK_ROWS; r++) c[r][0] = c[r][1] = (ck_v16){0};
            for (size_t d = 0; d < 32; d++) {
                ck_v16 k0, k1;
                CK_LOAD16(k0, kt + d * padded + j0);
                CK_LOAD16(k1, kt + d * padded + j0 + 16);
                for (int r = 0; r < CK_ROWS; r++) {
                    const float x = a[r][d];
                    c[r][0] += x * k0;
                    c[r][1] += x * k1;
                }
            }
            for (int r = 0; r < CK_ROWS; r++) {
                CK_STORE16(s + r * padded + j0, c[r][0]);
                CK_STORE16(s + r * padded + j0 + 16, c[r][1]);
            }
        }
        for (; j0 < padded; j0 += 16) {
            ck_v16 c[CK_ROWS];
            for (int r = 0; r < CK_ROWS; r++) c[r] = (ck_v16){0};
            for (size_t d = 0; d < 32; d++) {
                ck_v16 kv;
                CK_LOAD16(kv, kt + d * padded + j0);
                for (int r = 0; r < CK_ROWS; r++) c[r] += a[r][d] * kv;
            }
            for (int r = 0; r < CK_ROWS; r++) CK_STORE16(s + r * padded + j0, c[r]);
        }
        // Softmax of each score row. The padding's scores (its keys are zero) count in neither
        // the maximum nor the sum, both of which run over whole vectors and end in a 4-step tree
        // rather than a chain through 16 lanes.
        float inverse[CK_ROWS];
        for (size_t r = 0; r < rows; r++) {
            float *restrict sr = s + r * padded;
            const float maximum = ck_padded_row_max(sr, last, &valid);
            for (size_t j = 0; j < padded; j++) sr[j] = ck_exp(sr[j] - maximum);
            inverse[r] = 1.0f / ck_padded_row_sum(sr, last, &valid);
        }
        for (size_t r = rows; r < CK_ROWS; r++) {
            inverse[r] = 0.0f;
            for (size_t j = 0; j < length; j++) s[r * padded + j] = 0.0f;
        }
        ck_v16 o[CK_ROWS][2];
        for (size_t r = 0; r < CK_ROWS; r++) o[r][0] = o[r][1] = (ck_v16){0};
        for (size_t j = 0; j < length; j++) {
            ck_v16 v0, v1;
            CK_LOAD16(v0, v + j * ld);
            CK_LOAD16(v1, v + j * ld + 16);
            for (size_t r = 0; r < CK_ROWS; r++) {
                const float p = s[r * padded + j];
                o[r][0] += p * v0;
                o[r][1] += p * v1;
            }
        }
        for (size_t r = 0; r < rows; r++) {
            float *oi = out + (i0 + r) * ld_out;
            CK_STORE16(oi, o[r][0] * inverse[r]);
            CK_STORE16(oi + 16, o[r][1] * inverse[r]);
        }
    }
}

CK_CLONES
void ck_attention_head(const float *q, const float *k, const float *v, size_t ld, float *out, size_t ld_out,
                       size_t length, size_t head_size, float scale, float *scratch) {
    if (head_size == 32) {
        ck_attention_head32(q, k, v, ld, out, ld_out, length, scale, scratch);
        return;
    }
    // General head size: straightforward loops (one query row at a time).
    float *kt = scratch;
    float *s = scratch + head_size * length;
    for (size_t j = 0; j < length; j++)
        for (size_t d = 0; d < head_size; d++) kt[d * length + j] = k[j * ld + d];
    for (size_t i = 0; i < length; i++) {
        const float *qi = q + i * ld;
        for (size_t j = 0; j < length; j++) s[j] = 0.0f;
        for (size_t d = 0; d < head_size; d++) {
            const float qd = qi[d] * scale;
            const float *row = kt + d * length;
            for (size_t j = 0; j < length; j++) s[j] += qd * row[j];
        }
        const float inverse = 1.0f / ck_exp_shifted_sum(s, length, ck_row_max(s, length));
        float *oi = out + i * ld_out;
        for (size_t d = 0; d < head_size; d++) oi[d] = 0.0f;
        for (size_t j = 0; j < length; j++) {
            const float p = s[j] * inverse;
            const float *vj = v + j * ld;
            for (size_t d = 0; d < head_size; d++) oi[d] += p * vj[d];
        }
    }
}
