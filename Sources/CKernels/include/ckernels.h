#ifndef CASCADE_CKERNELS_H
#define CASCADE_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// In place, for each row of a rows × width matrix: x = GELU(x + bias), the exact (erf) GELU of
/// BERT. erf: Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7) with a polynomial exp
/// (relative error < 2e-7).
void ck_bias_gelu_rows(float *x, size_t rows, size_t width, const float *bias);

/// In place, for each row of a rows × width matrix: x = x + bias.
void ck_add_bias_rows(float *x, size_t rows, size_t width, const float *bias);

/// Softmax of each row of a row-major rows × width matrix, in place.
void ck_softmax_rows(float *m, size_t rows, size_t width);

/// For each row: x = LayerNorm(x + residual + bias)·gamma + beta (residual and bias may be NULL).
void ck_add_layernorm_rows(float *x, const float *residual, const float *bias, size_t rows, size_t width,
                           const float *gamma, const float *beta, float eps);

/// One attention head of one sequence: out[i] = Σ_j softmax_j(scale · q_i·k_j) · v_j.
/// q, k, v point at the head's first element in row-major matrices whose rows are `ld` floats
/// apart (the packed Q|K|V rows); out rows are `ld_out` apart. `scratch` must hold
/// (length + 16) · (head_size + 8) floats.
void ck_attention_head(const float *q, const float *k, const float *v, size_t ld, float *out, size_t ld_out,
                       size_t length, size_t head_size, float scale, float *scratch);

/// Vector search: out[i] = Σ_d codes[i·dim + d] · query[d] for rows [0, rows), in exact int32
/// arithmetic. `row_sums[i]` must be Σ_d codes[i·dim + d] (it lets the AVX-512 VNNI path use the
/// unsigned × signed byte dot product with the query shifted by +128).
void ck_int8_dot_rows(const int8_t *codes, size_t rows, size_t dim, const int8_t *query, const int32_t *row_sums,
                      int32_t *out);

/// Vector search: out[j] = matrix[rows[j]] · query for the `count` listed rows (f32, row-major,
/// `dim` floats per row). Scoring only the rows a filter allows reads only their bytes.
void ck_f32_dot_selected_rows(const float *matrix, size_t dim, const int32_t *rows, size_t count,
                              const float *query, float *out);

/// Encoder int8: each row of x (rows × k) quantised to unsigned bytes over its own range
/// (q = round(x / scale) + zero, scale = (max − min) / 255; `scales` and `zeros` per row).
void ck_quantize_rows_u8(const float *x, size_t rows, size_t k, uint8_t *out, float *scales, int32_t *zeros);

/// ck_quantize_rows_u8 of x with column d first multiplied by column_scale[d] (NULL: by 1), the
/// int8 encoder's per-channel smoothing of a layer's input.
void ck_quantize_rows_u8_scaled(const float *x, size_t rows, size_t k, const float *column_scale, uint8_t *out,
                                float *scales, int32_t *zeros);

/// Encoder int8: GELU(x + bias) of each row of x (rows × k), quantised as ck_quantize_rows_u8
/// does, without writing the GELU values anywhere. Returns -1 (and writes nothing) when k > 4096.
int ck_bias_gelu_quantize_rows_u8(const float *x, size_t rows, size_t k, const float *bias, uint8_t *out,
                                  float *scales, int32_t *zeros);

/// Encoder int8: quantises W (n × k, row-major, PyTorch's [out × in]) per output channel to
/// signed bytes and packs it for ck_gemm_u8s8 (n·k bytes); `scales[j]` and `sums[j]` (Σ_k q) per
/// channel. Returns -1 (and writes nothing) unless n % 16 == 0 and k % 4 == 0.
int ck_pack_weights_s8(const float *w, size_t n, size_t k, int8_t *packed, float *scales, int32_t *sums);

/// Encoder int8: out (rows × n) = dequantised A · Wᵀ, exact int32 accumulation, on the fastest
/// path this CPU has (ck_gemm_u8s8_path).
void ck_gemm_u8s8(const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k,
                  const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n, float *out);

/// ck_gemm_u8s8 restricted to the output columns of blocks [first_block, end_block) (16 columns
/// each); `out` is the whole rows × n matrix, of which only those columns are written. Lets
/// workers split one product by columns when there are too few rows to split by rows.
void ck_gemm_u8s8_columns(const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows, size_t k,
                          const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n,
                          size_t first_block, size_t end_block, float *out);

/// The int8 product's paths: AMX tiles (Sapphire Rapids and later, when the kernel grants the
/// tile registers), AVX-512 VNNI, or a portable loop. All accumulate exactly; AMX and VNNI give
/// identical numbers.
enum { CK_INT8_PORTABLE = 0, CK_INT8_VNNI = 1, CK_INT8_AMX = 2 };

/// The path ck_gemm_u8s8 takes on this CPU (for k a multiple of 64; other k skip AMX).
int ck_gemm_u8s8_path(void);

/// ck_gemm_u8s8_columns on the given path rather than the fastest one (tests compare the paths).
/// Returns -1 (and writes nothing) when this CPU lacks the path, or for AMX when k % 64 != 0.
int ck_gemm_u8s8_columns_on(int path, const uint8_t *a, const float *ascale, const int32_t *azero, size_t rows,
                            size_t k, const int8_t *packed, const float *wscale, const int32_t *wsum, size_t n,
                            size_t first_block, size_t end_block, float *out);

/// glibc: serve allocations up to `mmap_threshold` bytes from the heap and keep up to
/// `trim_threshold` free bytes at its top instead of returning them to the kernel (mallopt).
/// Returns 1 when both were applied, 0 otherwise (another C library, or a value glibc refuses).
int ck_keep_heap(int mmap_threshold, int trim_threshold);

/// XXH64 (seed 0) of `length` bytes: the checksum of stored vector packs. Detects damage (a
/// flipped bit, a torn copy), not tampering: whoever can write the file can write the checksum.
uint64_t ck_xxh64(const void *data, size_t length);

#endif
