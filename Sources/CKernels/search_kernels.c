// Scoring kernels of vector search that BLAS does not provide: int8 dot products (for scalar
// quantized indexes) and f32 dot products over a selected subset of rows (for filtered search).
#include "ckernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#include <immintrin.h>
#define CK_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#define CK_HAVE_VNNI 1
#else
#define CK_CLONES
#endif

// Portable int8 path: int16 products summed in int32; the compiler vectorises the inner loop.
CK_CLONES static void ck_int8_dot_rows_generic(const int8_t *codes, size_t rows, size_t dim, const int8_t *query,
                                               int32_t *out) {
    for (size_t i = 0; i < rows; i++) {
        const int8_t *r = codes + i * dim;
        int32_t s = 0;
        for (size_t d = 0; d < dim; d++) s += (int32_t)r[d] * (int32_t)query[d];
        out[i] = s;
    }
}

#ifdef CK_HAVE_VNNI
// AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes, so the query is shifted to
// unsigned (q + 128) and 128 · Σ codes is subtracted again; exact in int32 for dim < 2^16.
// Four rows per iteration share the query registers and hide the reduction latency.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void ck_int8_dot_rows_vnni(
    const int8_t *codes, size_t rows, size_t dim, const int8_t *query, const int32_t *row_sums, int32_t *out) {
    uint8_t shifted[dim];
    for (size_t d = 0; d < dim; d++) shifted[d] = (uint8_t)((int32_t)query[d] + 128);
    size_t blocks = dim / 64, tail = blocks * 64;
    size_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        const int8_t *r = codes + i * dim;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t b = 0; b < blocks; b++) {
            __m512i q = _mm512_loadu_si512(shifted + 64 * b);
            a0 = _mm512_dpbusd_epi32(a0, q, _mm512_loadu_si512(r + 64 * b));
            a1 = _mm512_dpbusd_epi32(a1, q, _mm512_loadu_si512(r + dim + 64 * b));
            a2 = _mm512_dpbusd_epi32(a2, q, _mm512_loadu_si512(r + 2 * dim + 64 * b));
            a3 = _mm512_dpbusd_epi32(a3, q, _mm512_loadu_si512(r + 3 * dim + 64 * b));
        }
        int32_t s[4] = {_mm512_reduce_add_epi32(a0), _mm512_reduce_add_epi32(a1), _mm512_reduce_add_epi32(a2),
                        _mm512_reduce_add_epi32(a3)};
        for (int j = 0; j < 4; j++) {
            for (size_t d = tail; d < dim; d++) s[j] += (int32_t)shifted[d] * (int32_t)r[j * dim + d];
            out[i + j] = s[j] - 128 * row_sums[i + j];
        }
    }
    for (; i < rows; i++) {
        const int8_t *r = codes + i * dim;
        __m512i a = _mm512_setzero_si512();
        for (size_t b = 0; b < blocks; b++)
            a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(shifted + 64 * b), _mm512_loadu_si512(r + 64 * b));
        int32_t s = _mm512_reduce_add_epi32(a);
        for (size_t d = tail; d < dim; d++) s += (int32_t)shifted[d] * (int32_t)r[d];
        out[i] = s - 128 * row_sums[i];
    }
}
#endif

void ck_int8_dot_rows(const int8_t *codes, size_t rows, size_t dim, const int8_t *query, const int32_t *row_sums,
                      int32_t *out) {
#ifdef CK_HAVE_VNNI
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && dim >= 64) {
        ck_int8_dot_rows_vnni(codes, rows, dim, query, row_sums, out);
        return;
    }
#endif
    (void)row_sums;
    ck_int8_dot_rows_generic(codes, rows, dim, query, out);
}

CK_CLONES void ck_f32_dot_selected_rows(const float *matrix, size_t dim, const int32_t *rows, size_t count,
                                        const float *query, float *out) {
    for (size_t j = 0; j < count; j++) {
        const float *r = matrix + (size_t)rows[j] * dim;
        float p[16] = {0};
        size_t d = 0;
        for (; d + 16 <= dim; d += 16)
            for (int l = 0; l < 16; l++) p[l] += r[d + l] * query[d + l];
        float s = 0;
        for (; d < dim; d++) s += r[d] * query[d];
        for (int l = 0; l < 16; l++) s += p[l];
        out[j] = s;
    }
}
