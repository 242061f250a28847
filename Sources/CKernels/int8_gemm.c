// int8 matrix products for the encoder: out (rows × n) = A (rows × k) · Wᵀ (W is n × k), with
// A quantised per row (unsigned bytes, asymmetric: each row's own scale and zero point, so the
// one-sided outputs of GELU use all 256 levels) and W per output channel (signed bytes),
// accumulated exactly in int32 and rescaled to float once.
//
// W is packed once at load: blocks of 16 output channels × 4 consecutive k, 64 bytes each, the
// order in which AVX-512 VNNI's vpdpbusd consumes it (each 32-bit lane sums four u8 × s8
// products for one output channel). The portable path reads the same layout.
#include "ckernels.h"
#include "math_inline.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#define CK_HAVE_VNNI 1
#define CK_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define CK_CLONES
#endif

// Vectorised per target (min/max, then a rounding conversion): this pass runs on every dense
// layer's input, so it must cost little next to the product itself. `column_scale` (may be NULL)
// multiplies column d by column_scale[d] first: the int8 encoder's smoothing, which divides the
// input's wide-ranging channels down (and multiplies the weights' matching columns up, at load)
// so that one row scale fits every channel; the product is unchanged in exact arithmetic.
static inline __attribute__((always_inline)) void ck_quantize_rows(const float *x, size_t rows, size_t k,
                                                                     const float *column_scale, uint8_t *out,
                                                                     float *scales, int32_t *zeros) {
    for (size_t i = 0; i < rows; i++) {
        const float *r = x + i * k;
#define CK_VALUE(d) (column_scale ? r[d] * column_scale[d] : r[d])
        // Sixty-four running minima and maxima, one per lane: a single running value is a serial
        // chain of scalar compares (the compiler may not reorder a float reduction); lanes are
        // independent and become four vector minima and maxima per 64 inputs, four chains so
        // that each compare's latency overlaps the next three instead of stalling the loop.
        float los[64] = {0}, his[64] = {0};  // the range always holds 0, so 0 is exact
        size_t d = 0;
        for (; d + 64 <= k; d += 64)
            for (int l = 0; l < 64; l++) {
                float v = CK_VALUE(d + l);
                los[l] = v < los[l] ? v : los[l];
                his[l] = v > his[l] ? v : his[l];
            }
        for (; d < k; d++) {
            float v = CK_VALUE(d);
            los[d % 64] = v < los[d % 64] ? v : los[d % 64];
            his[d % 64] = v > his[d % 64] ? v : his[d % 64];
        }
        for (int l = 0; l < 16; l++) {  // 64 lanes to 16, as vectors
            float a = los[l] < los[l + 16] ? los[l] : los[l + 16], b = los[l + 32] < los[l + 48] ? los[l + 32] : los[l + 48];
            los[l] = a < b ? a : b;
            float c = his[l] > his[l + 16] ? his[l] : his[l + 16], e = his[l + 32] > his[l + 48] ? his[l + 32] : his[l + 48];
            his[l] = c > e ? c : e;
        }
        float lo = 0, hi = 0;
        for (int l = 0; l < 16; l++) {
            lo = los[l] < lo ? los[l] : lo;
            hi = his[l] > hi ? his[l] : hi;
        }
        float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
        float inverse = 1.0f / scale;
        int32_t zero = (int32_t)nearbyintf(-lo * inverse);
        if (zero < 0) zero = 0;
        if (zero > 255) zero = 255;
        uint8_t *o = out + i * k;
        float z = (float)zero;
        for (size_t d = 0; d < k; d++) {
            // x/scale + zero lies in [0, 255] by construction; +0.5 and truncation round it.
            float q = CK_VALUE(d) * inverse + z + 0.5f;
            q = q < 0.0f ? 0.0f : (q > 255.0f ? 255.0f : q);
            o[d] = (uint8_t)(int32_t)q;
        }
#undef CK_VALUE
        scales[i] = scale;
        zeros[i] = zero;
    }
}

CK_CLONES void ck_quantize_rows_u8(const float *x, size_t rows, size_t k, uint8_t *out, float *scales,
                                   int32_t *zeros) {
    ck_quantize_rows(x, rows, k, NULL, out, scales, zeros);
}

CK_CLONES void ck_quantize_rows_u8_scaled(const float *x, size_t rows, size_t k, const float *column_scale,
                                          uint8_t *out, float *scales, int32_t *zeros) {
    // Two inlined copies: with a constant NULL the compiler drops the per-element multiply.
    if (!column_scale) {
        ck_quantize_rows(x, rows, k, NULL, out, scales, zeros);
        return;
    }
    ck_quantize_rows(x, rows, k, column_scale, out, scales, zeros);
}

// Bias, GELU and quantising in one pass per row: the row is read once, its GELU values go to a
// stack buffer that stays in L1 while they are measured and quantised, and the f32 activations
// are never written back (they are only the next product's input).
CK_CLONES int ck_bias_gelu_quantize_rows_u8(const float *x, size_t rows, size_t k, const float *bias, uint8_t *out,
                                           float *scales, int32_t *zeros) {
    enum { widest = 4096 };
    if (k > widest) return -1;
    float buffer[widest];
    for (size_t i = 0; i < rows; i++) {
        const float *r = x + i * k;
        for (size_t d = 0; d < k; d++) buffer[d] = ck_gelu(r[d] + bias[d]);
        ck_quantize_rows(buffer, 1, k, NULL, out + i * k, scales + i, zeros + i);
    }
    return 0;
}

int ck_pack_weights_s8(const float *w, size_t n, size_t k, int8_t *packed, float *scales, int32_t *sums) {
    if (n % 16 != 0 || k % 4 != 0) return -1;
    for (size_t j = 0; j < n; j++) {
        const float *r = w + j * k;
        float m = 0;
        for (size_t d = 0; d < k; d++) {
            float a = fabsf(r[d]);
            if (a > m) m = a;
        }
        float scale = m > 0 ? m / 127.0f : 1.0f;
        float inverse = 1.0f / scale;
        int32_t sum = 0;
        size_t block = j / 16, lane = j % 16;
        for (size_t d = 0; d < k; d++) {
            float q = nearbyintf(r[d] * inverse);
            if (q > 127) q = 127;
            if (q < -127) q = -127;
            // [block][k/4][lane][4]
            packed[((block * (k / 4) + d / 4) * 16 + lane) * 4 + d % 4] = (int8_t)q;
            sum += (int32_t)q;
        }
        scales[j] = scale;
        sums[j] = sum;
    }
    return 0;
}

static void ck_gemm_u8s8_generic(const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k,
                                 const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n,
                                 float *out, size_t ldo) {
    size_t groups = k / 4;
    for (size_t i = 0; i < rows; i++) {
        const uint8_t *r = a + i * k;
        for (size_t block = 0; block < n / 16; block++) {
            int32_t acc[16] = {0};
            const int8_t *p = packed + block * groups * 64;
            for (size_t g = 0; g < groups; g++) {
                const uint8_t *x = r + g * 4;
                const int8_t *q = p + g * 64;
                for (int lane = 0; lane < 16; lane++) {
                    acc[lane] += (int32_t)x[0] * q[lane * 4] + (int32_t)x[1] * q[lane * 4 + 1] +
                                 (int32_t)x[2] * q[lane * 4 + 2] + (int32_t)x[3] * q[lane * 4 + 3];
                }
            }
            for (int lane = 0; lane < 16; lane++) {
                size_t j = block * 16 + lane;
                out[i * ldo + j] = (float)(acc[lane] - azero[i] * wsum[j]) * ascale[i] * wscale[j];
            }
        }
    }
}

#ifdef CK_HAVE_VNNI
// Tiles of 4 rows × 4 blocks of 16 channels: 16 independent accumulators hide vpdpbusd's
// latency, each packed weight vector is loaded once for four rows, and each row's four bytes
// are broadcast once for four blocks.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline void ck_store_block(
    __m512i acc, const int32_t *wsum, const float *wscale, int32_t zero, float ascale, float *out) {
    __m512i offset = _mm512_mullo_epi32(_mm512_loadu_si512(wsum), _mm512_set1_epi32(zero));
    __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, offset));
    v = _mm512_mul_ps(_mm512_mul_ps(v, _mm512_loadu_ps(wscale)), _mm512_set1_ps(ascale));
    _mm512_storeu_ps(out, v);
}

// One tile: rows i..i+3 × the four blocks from `block`.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline void ck_tile_4x4(
    const uint8_t *a, const float *ascale, const int32_t *azero, size_t i, size_t k, const int8_t *packed,
    const float *wscale, const int32_t *wsum, size_t block, float *out, size_t ldo) {
    size_t groups = k / 4;
    size_t stride = groups * 64;  // bytes of one packed block of 16 channels
    const uint8_t *r0 = a + i * k, *r1 = r0 + k, *r2 = r1 + k, *r3 = r2 + k;
    const int8_t *p = packed + block * stride;
    __m512i c[4][4];
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 4; y++) c[x][y] = _mm512_setzero_si512();
    for (size_t g = 0; g < groups; g++) {
        __m512i w0 = _mm512_loadu_si512(p + g * 64);
        __m512i w1 = _mm512_loadu_si512(p + stride + g * 64);
        __m512i w2 = _mm512_loadu_si512(p + 2 * stride + g * 64);
        __m512i w3 = _mm512_loadu_si512(p + 3 * stride + g * 64);
        int32_t x0, x1, x2, x3;
        memcpy(&x0, r0 + g * 4, 4);
        memcpy(&x1, r1 + g * 4, 4);
        memcpy(&x2, r2 + g * 4, 4);
        memcpy(&x3, r3 + g * 4, 4);
        __m512i b0 = _mm512_set1_epi32(x0), b1 = _mm512_set1_epi32(x1), b2 = _mm512_set1_epi32(x2),
                b3 = _mm512_set1_epi32(x3);
        c[0][0] = _mm512_dpbusd_epi32(c[0][0], b0, w0);
        c[0][1] = _mm512_dpbusd_epi32(c[0][1], b0, w1);
        c[0][2] = _mm512_dpbusd_epi32(c[0][2], b0, w2);
        c[0][3] = _mm512_dpbusd_epi32(c[0][3], b0, w3);
        c[1][0] = _mm512_dpbusd_epi32(c[1][0], b1, w0);
        c[1][1] = _mm512_dpbusd_epi32(c[1][1], b1, w1);
        c[1][2] = _mm512_dpbusd_epi32(c[1][2], b1, w2);
        c[1][3] = _mm512_dpbusd_epi32(c[1][3], b1, w3);
        c[2][0] = _mm512_dpbusd_epi32(c[2][0], b2, w0);
        c[2][1] = _mm512_dpbusd_epi32(c[2][1], b2, w1);
        c[2][2] = _mm512_dpbusd_epi32(c[2][2], b2, w2);
        c[2][3] = _mm512_dpbusd_epi32(c[2][3], b2, w3);
        c[3][0] = _mm512_dpbusd_epi32(c[3][0], b3, w0);
        c[3][1] = _mm512_dpbusd_epi32(c[3][1], b3, w1);
        c[3][2] = _mm512_dpbusd_epi32(c[3][2], b3, w2);
        c[3][3] = _mm512_dpbusd_epi32(c[3][3], b3, w3);
    }
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 4; y++) {
            size_t j = (block + (size_t)y) * 16;
            ck_store_block(c[x][y], wsum + j, wscale + j, azero[i + (size_t)x], ascale[i + (size_t)x],
                           out + (i + (size_t)x) * ldo + j);
        }
}

// One tile: rows i..i+3 × one block.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline void ck_tile_4x1(
    const uint8_t *a, const float *ascale, const int32_t *azero, size_t i, size_t k, const int8_t *packed,
    const float *wscale, const int32_t *wsum, size_t block, float *out, size_t ldo) {
    size_t groups = k / 4;
    const uint8_t *r0 = a + i * k, *r1 = r0 + k, *r2 = r1 + k, *r3 = r2 + k;
    const int8_t *p = packed + block * groups * 64;
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
    for (size_t g = 0; g < groups; g++) {
        __m512i wv = _mm512_loadu_si512(p + g * 64);
        int32_t x0, x1, x2, x3;
        memcpy(&x0, r0 + g * 4, 4);
        memcpy(&x1, r1 + g * 4, 4);
        memcpy(&x2, r2 + g * 4, 4);
        memcpy(&x3, r3 + g * 4, 4);
        c0 = _mm512_dpbusd_epi32(c0, _mm512_set1_epi32(x0), wv);
        c1 = _mm512_dpbusd_epi32(c1, _mm512_set1_epi32(x1), wv);
        c2 = _mm512_dpbusd_epi32(c2, _mm512_set1_epi32(x2), wv);
        c3 = _mm512_dpbusd_epi32(c3, _mm512_set1_epi32(x3), wv);
    }
    __m512i cs[4] = {c0, c1, c2, c3};
    for (int t = 0; t < 4; t++)
        ck_store_block(cs[t], wsum + block * 16, wscale + block * 16, azero[i + (size_t)t], ascale[i + (size_t)t],
                       out + (i + (size_t)t) * ldo + block * 16);
}

// Rows are taken in panels of 16: within a panel, each group of four weight blocks (one tile
// column, k·64 bytes) is used by all four row tiles while it is still in L1, instead of the
// whole weight matrix streaming past once per four rows. A question (16–30 rows) is one or
// two panels, so its weights are read from memory once.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void ck_gemm_u8s8_vnni(
    const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k, const int8_t *packed,
    const float *wscale, const int32_t *wsum, size_t n, float *out, size_t ldo) {
    size_t groups = k / 4;
    size_t blocks = n / 16;
    size_t stride = groups * 64;  // bytes of one packed block of 16 channels
    size_t full = rows - rows % 4;
    for (size_t panel = 0; panel < full; panel += 16) {
        size_t end = panel + 16 < full ? panel + 16 : full;
        size_t block = 0;
        for (; block + 4 <= blocks; block += 4)
            for (size_t i = panel; i < end; i += 4)
                ck_tile_4x4(a, ascale, azero, i, k, packed, wscale, wsum, block, out, ldo);
        for (; block < blocks; block++)
            for (size_t i = panel; i < end; i += 4)
                ck_tile_4x1(a, ascale, azero, i, k, packed, wscale, wsum, block, out, ldo);
    }
    size_t i = full;
    // The last rows (fewer than four) one at a time, still on VNNI, four blocks per step.
    for (; i < rows; i++) {
        const uint8_t *r = a + i * k;
        size_t block = 0;
        for (; block + 4 <= blocks; block += 4) {
            const int8_t *p = packed + block * stride;
            __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
            for (size_t g = 0; g < groups; g++) {
                int32_t x;
                memcpy(&x, r + g * 4, 4);
                __m512i b = _mm512_set1_epi32(x);
                c0 = _mm512_dpbusd_epi32(c0, b, _mm512_loadu_si512(p + g * 64));
                c1 = _mm512_dpbusd_epi32(c1, b, _mm512_loadu_si512(p + stride + g * 64));
                c2 = _mm512_dpbusd_epi32(c2, b, _mm512_loadu_si512(p + 2 * stride + g * 64));
                c3 = _mm512_dpbusd_epi32(c3, b, _mm512_loadu_si512(p + 3 * stride + g * 64));
            }
            __m512i cs[4] = {c0, c1, c2, c3};
            for (int y = 0; y < 4; y++) {
                size_t j = (block + (size_t)y) * 16;
                ck_store_block(cs[y], wsum + j, wscale + j, azero[i], ascale[i], out + i * ldo + j);
            }
        }
        for (; block < blocks; block++) {
            const int8_t *p = packed + block * stride;
            __m512i c = _mm512_setzero_si512();
            for (size_t g = 0; g < groups; g++) {
                int32_t x;
                memcpy(&x, r + g * 4, 4);
                c = _mm512_dpbusd_epi32(c, _mm512_set1_epi32(x), _mm512_loadu_si512(p + g * 64));
            }
            ck_store_block(c, wsum + block * 16, wscale + block * 16, azero[i], ascale[i], out + i * ldo + block * 16);
        }
    }
}

// AMX (Sapphire Rapids and later): tdpbusd multiplies a 16 × 64-byte tile of A by a 16 × 64-byte
// tile of packed weights, 16 rows × 16 channels × 64 products in one instruction, about sixteen
// times the multiply-adds per cycle of vpdpbusd. The packed layout above is already the B tile's:
// rows of 64 bytes, one per four consecutive k, each holding 16 channels × 4 bytes. Accumulation
// is exact int32 as on VNNI, so both paths give identical numbers.
//
// Linux hands out the tile registers only on request (their 8 KB of state grows every context
// switch's save area): arch_prctl(ARCH_REQ_XCOMP_PERM) once per process. A kernel that refuses,
// or a CPU without AMX, leaves the VNNI path; `cascade stats` says which one runs.
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} ck_tile_config;

static int ck_amx_granted = 0;
static pthread_once_t ck_amx_once = PTHREAD_ONCE_INIT;

static void ck_amx_request(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("amx-int8") || !__builtin_cpu_supports("amx-tile")) return;
    if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512bw")) return;
    enum { arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18 };
    ck_amx_granted = syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}

// Tiles 0–3: accumulators for row tiles 0 and 1 × channel blocks 0 and 1 (rows0 and rows1
// rows; rows1 may be 0, then tiles 2, 3 and 5 stay unconfigured and unused). Tiles 4, 5: A's
// row tiles, 64 bytes of k each. Tiles 6, 7: the two blocks' weights for those 64 k.
__attribute__((target("amx-tile,amx-int8"))) static void ck_amx_configure(size_t rows0, size_t rows1) {
    ck_tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 2; t++) {
        config.rows[t] = (uint8_t)rows0;
        config.colsb[t] = 64;
        config.rows[2 + t] = (uint8_t)rows1;
        config.colsb[2 + t] = rows1 ? 64 : 0;
        config.rows[6 + t] = 16;
        config.colsb[6 + t] = 64;
    }
    config.rows[4] = (uint8_t)rows0;
    config.colsb[4] = 64;
    config.rows[5] = (uint8_t)rows1;
    config.colsb[5] = rows1 ? 64 : 0;
    _tile_loadconfig(&config);
}

// Rows in panels of 32 (two row tiles) × channel blocks in pairs: each k step loads two A tiles
// and two weight tiles and runs four tdpbusd. The accumulators go through a stack buffer to the
// same rescaling as the VNNI path. Requires k % 64 == 0.
__attribute__((target("avx512f,avx512bw,avx512vnni,amx-tile,amx-int8"))) static void ck_gemm_u8s8_amx(
    const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k, const int8_t *packed,
    const float *wscale, const int32_t *wsum, size_t n, float *out, size_t ldo) {
    size_t blocks = n / 16;
    size_t stride = (k / 4) * 64;  // bytes of one packed block of 16 channels
    int32_t acc[4][16][16];
    size_t configured0 = 0, configured1 = 0;
    for (size_t i = 0; i < rows; i += 32) {
        size_t rows0 = rows - i < 16 ? rows - i : 16;
        size_t rows1 = rows - i - rows0 < 16 ? rows - i - rows0 : 16;
        if (rows0 != configured0 || rows1 != configured1) {
            ck_amx_configure(rows0, rows1);
            configured0 = rows0;
            configured1 = rows1;
        }
        const uint8_t *a0 = a + i * k, *a1 = a0 + 16 * k;
        for (size_t block = 0; block < blocks; block += 2) {
            const int8_t *p0 = packed + block * stride;
            // An odd last block runs as a pair with itself, its second copy discarded.
            const int8_t *p1 = block + 1 < blocks ? p0 + stride : p0;
            _tile_zero(0);
            _tile_zero(1);
            if (rows1) {
                _tile_zero(2);
                _tile_zero(3);
            }
            for (size_t d = 0; d < k; d += 64) {
                _tile_loadd(4, a0 + d, (long)k);
                _tile_loadd(6, p0 + d * 16, 64);
                _tile_loadd(7, p1 + d * 16, 64);
                _tile_dpbusd(0, 4, 6);
                _tile_dpbusd(1, 4, 7);
                if (rows1) {
                    _tile_loadd(5, a1 + d, (long)k);
                    _tile_dpbusd(2, 5, 6);
                    _tile_dpbusd(3, 5, 7);
                }
            }
            _tile_stored(0, acc[0], 64);
            _tile_stored(1, acc[1], 64);
            if (rows1) {
                _tile_stored(2, acc[2], 64);
                _tile_stored(3, acc[3], 64);
            }
            size_t pair = block + 1 < blocks ? 2 : 1;
            for (size_t y = 0; y < pair; y++) {
                size_t j = (block + y) * 16;
                for (size_t r = 0; r < rows0; r++)
                    ck_store_block(_mm512_loadu_si512(acc[y][r]), wsum + j, wscale + j, azero[i + r],
                                   ascale[i + r], out + (i + r) * ldo + j);
                for (size_t r = 0; r < rows1; r++)
                    ck_store_block(_mm512_loadu_si512(acc[2 + y][r]), wsum + j, wscale + j, azero[i + 16 + r],
                                   ascale[i + 16 + r], out + (i + 16 + r) * ldo + j);
            }
        }
    }
    _tile_release();
}
#endif

static int ck_has_amx(void) {
#ifdef CK_HAVE_VNNI
    pthread_once(&ck_amx_once, ck_amx_request);
    return ck_amx_granted;
#else
    return 0;
#endif
}

static int ck_has_vnni(void) {
#ifdef CK_HAVE_VNNI
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

int ck_gemm_u8s8_path(void) {
    return ck_has_amx() ? CK_INT8_AMX : (ck_has_vnni() ? CK_INT8_VNNI : CK_INT8_PORTABLE);
}

int ck_gemm_u8s8_columns_on(int path, const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows,
                            size_t k, const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n,
                            size_t first_block, size_t end_block, float *out) {
    if (end_block > n / 16) end_block = n / 16;
    size_t stride = (k / 4) * 64;
    const int8_t *p = packed + first_block * stride;
    size_t j = first_block * 16, width = first_block < end_block ? (end_block - first_block) * 16 : 0;
    switch (path) {
    case CK_INT8_PORTABLE:
        if (width) ck_gemm_u8s8_generic(a, ascale, azero, rows, k, p, wscale + j, wsum + j, width, out + j, n);
        return 0;
#ifdef CK_HAVE_VNNI
    case CK_INT8_VNNI:
        if (!ck_has_vnni()) return -1;
        if (width) ck_gemm_u8s8_vnni(a, ascale, azero, rows, k, p, wscale + j, wsum + j, width, out + j, n);
        return 0;
    case CK_INT8_AMX:
        if (!ck_has_amx() || k % 64 != 0) return -1;
        if (width) ck_gemm_u8s8_amx(a, ascale, azero, rows, k, p, wscale + j, wsum + j, width, out + j, n);
        return 0;
#endif
    default:
        return -1;
    }
}

void ck_gemm_u8s8_columns(const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k,
                          const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n,
                          size_t first_block, size_t end_block, float *out) {
    // AMX takes k in steps of 64 (the encoder's 384 and 1536); any other k runs on the next path.
    int path = ck_gemm_u8s8_path();
    if (path == CK_INT8_AMX && k % 64 != 0) path = ck_has_vnni() ? CK_INT8_VNNI : CK_INT8_PORTABLE;
    ck_gemm_u8s8_columns_on(path, a, ascale, azero, rows, k, packed, wscale, wsum, n, first_block, end_block, out);
}

void ck_gemm_u8s8(const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k,
                  const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n, float *out) {
    ck_gemm_u8s8_columns(a, ascale, azero, rows, k, packed, wscale, wsum, n, 0, n / 16, out);
}
