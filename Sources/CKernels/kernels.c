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

// Maximum of a row. Sixteen independent running maxima with plain comparisons vectorise into
// one register of lanes; a single fmaxf accumulator does not (NaN rules force a serial chain).
static inline float ck_row_max(const float *row, size_t n) {
    float acc[16];
    for (int l = 0; l < 16; l++) acc[l] = -3.0e38f;
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] = row[j + l] > acc[l] ? row[j + l] : acc[l];
    float m = -3.0e38f;
    for (int l = 0; l < 16; l++) m = acc[l] > m ? acc[l] : m;
    for (; j < n; j++) m = row[j] > m ? row[j] : m;
    return m;
}

// Sum of a row, with sixteen partial sums (see the note at the top of the file).
static inline float ck_row_sum(const float *row, size_t n) {
    float acc[16] = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += row[j + l];
    float total = 0.0f;
    for (int l = 0; l < 16; l++) total += acc[l];
    for (; j < n; j++) total += row[j];
    return total;
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

// Attention for head size 32, register-blocked with the compilers' vector extension (16 floats
// per vector: one AVX-512 register, two AVX2 or four SSE registers): blocks of 8 query rows × 16
// keys of scores, and 8 rows × 32 dims of output, stay in registers, so the inner loops are bound
// by FMAs rather than by loads and stores.
typedef float ck_v16 __attribute__((vector_size(64)));

// Unaligned 16-float load and store (macros, not functions: a 64-byte vector passed by value
// would change the calling convention between the clones).
#define CK_LOAD16(dst, p) memcpy(&(dst), (p), sizeof(ck_v16))
#define CK_STORE16(p, src)          \
    do {                            \
        ck_v16 ck_tmp_ = (src);     \
        memcpy((p), &ck_tmp_, sizeof ck_tmp_); \
    } while (0)

#define CK_ROWS 8
CK_CLONES
static void ck_attention_head32(const float *restrict q, const float *restrict k, const float *restrict v, size_t ld,
                                float *restrict out, size_t ld_out, size_t length, float scale,
                                float *restrict scratch) {
    const size_t padded = (length + 15) & ~(size_t)15;
    float *restrict kt = scratch;               // 32 × padded, zero beyond length
    float *restrict s = scratch + 32 * padded;  // CK_ROWS × padded score rows
    for (size_t j = 0; j < length; j++) {
        const float *kj = k + j * ld;
        for (size_t d = 0; d < 32; d++) kt[d * padded + j] = kj[d];
    }
    for (size_t d = 0; d < 32; d++)
        for (size_t j = length; j < padded; j++) kt[d * padded + j] = 0.0f;

    for (size_t i0 = 0; i0 < length; i0 += CK_ROWS) {
        const size_t rows = length - i0 < CK_ROWS ? length - i0 : CK_ROWS;
        float a[CK_ROWS][32];
        for (size_t r = 0; r < CK_ROWS; r++) {
            const float *qi = q + (i0 + (r < rows ? r : 0)) * ld;
            for (size_t d = 0; d < 32; d++) a[r][d] = qi[d] * scale;
        }
        for (size_t j0 = 0; j0 < padded; j0 += 16) {
            ck_v16 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0}, c6 = {0}, c7 = {0};
            for (size_t d = 0; d < 32; d++) {
                ck_v16 kv;
                CK_LOAD16(kv, kt + d * padded + j0);
                c0 += a[0][d] * kv;
                c1 += a[1][d] * kv;
                c2 += a[2][d] * kv;
                c3 += a[3][d] * kv;
                c4 += a[4][d] * kv;
                c5 += a[5][d] * kv;
                c6 += a[6][d] * kv;
                c7 += a[7][d] * kv;
            }
            CK_STORE16(s + 0 * padded + j0, c0);
            CK_STORE16(s + 1 * padded + j0, c1);
            CK_STORE16(s + 2 * padded + j0, c2);
            CK_STORE16(s + 3 * padded + j0, c3);
            CK_STORE16(s + 4 * padded + j0, c4);
            CK_STORE16(s + 5 * padded + j0, c5);
            CK_STORE16(s + 6 * padded + j0, c6);
            CK_STORE16(s + 7 * padded + j0, c7);
        }
        float inverse[CK_ROWS];
        for (size_t r = 0; r < rows; r++) {
            float *restrict sr = s + r * padded;
            // exp over the padded row, whole vectors with no scalar tail (a question's 10–30
            // keys would otherwise run mostly in the tail); the padding's values are finite
            // (its keys are zero) and neither summed nor used.
            const float maximum = ck_row_max(sr, length);
            for (size_t j = 0; j < padded; j++) sr[j] = ck_exp(sr[j] - maximum);
            inverse[r] = 1.0f / ck_row_sum(sr, length);
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
