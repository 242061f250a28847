import CKernels
import Foundation
import Testing

/// The int8 product: every path this CPU has (AMX tiles, AVX-512 VNNI, the portable loop, which
/// runs everywhere) computes the same numbers, AMX and VNNI bit for bit, and all stay within
/// quantisation error of the f32 product, for row counts that exercise VNNI's 4-row tiles, AMX's
/// 16-row tiles and 32-row panels, and the leftover rows of each.
@Suite struct Int8GEMMTests {
    /// Packs `w` (outputs × inputs) and quantises `a` (rows × inputs), as the encoder does.
    static func quantize(_ a: [Float], rows: Int, _ w: [Float], outputs n: Int, inputs k: Int) -> (
        packed: [Int8], wscale: [Float], wsum: [Int32], codes: [UInt8], ascale: [Float], azero: [Int32]
    ) {
        var packed = [Int8](repeating: 0, count: n * k)
        var wscale = [Float](repeating: 0, count: n)
        var wsum = [Int32](repeating: 0, count: n)
        #expect(ck_pack_weights_s8(w, n, k, &packed, &wscale, &wsum) == 0)
        var codes = [UInt8](repeating: 0, count: rows * k)
        var ascale = [Float](repeating: 0, count: rows)
        var azero = [Int32](repeating: 0, count: rows)
        ck_quantize_rows_u8(a, rows, k, &codes, &ascale, &azero)
        return (packed, wscale, wsum, codes, ascale, azero)
    }

    /// Runs the product on `path`; nil when this CPU lacks it.
    static func product(
        on path: Int32,
        _ q: (packed: [Int8], wscale: [Float], wsum: [Int32], codes: [UInt8], ascale: [Float], azero: [Int32]),
        rows: Int, k: Int, n: Int
    ) -> [Float]? {
        var out = [Float](repeating: .nan, count: rows * n)
        let status = ck_gemm_u8s8_columns_on(
            path, q.codes, q.ascale, q.azero, rows, k, q.packed, q.wscale, q.wsum, n, 0, n / 16, &out)
        return status == 0 ? out : nil
    }

    static let amx = Int32(CK_INT8_AMX)
    static let vnni = Int32(CK_INT8_VNNI)
    static let portable = Int32(CK_INT8_PORTABLE)

    @Test(arguments: [1, 3, 4, 5, 16, 17, 31, 32, 33, 37, 64, 70])
    func everyPathAgreesAndApproximatesF32(rows: Int) throws {
        let k = 384
        let n = 80  // five blocks of 16: four in a VNNI tile and one left over; two AMX pairs and one
        var g = SeededFloats(state: UInt64(rows) &* 977)
        // Activations like GELU outputs (mostly small, one-sided) and weights like a dense layer's.
        let a = (0..<(rows * k)).map { _ in max(-0.17, g.next() * 2) }
        let w = (0..<(n * k)).map { _ in g.next() * 0.1 }
        let q = Self.quantize(a, rows: rows, w, outputs: n, inputs: k)
        let portable = try #require(Self.product(on: Self.portable, q, rows: rows, k: k, n: n))
        let vnni = Self.product(on: Self.vnni, q, rows: rows, k: k, n: n)
        let amx = Self.product(on: Self.amx, q, rows: rows, k: k, n: n)
        if let vnni {
            for (x, y) in zip(vnni, portable) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y))) }
        }
        if let amx {
            #expect(amx == vnni, "AMX and VNNI accumulate the same int32 sums and rescale them alike")
        }
        // What the encoder runs on this CPU is one of them.
        var fast = [Float](repeating: 0, count: rows * n)
        ck_gemm_u8s8(q.codes, q.ascale, q.azero, rows, k, q.packed, q.wscale, q.wsum, n, &fast)
        #expect(fast == amx ?? vnni ?? portable)
        var error: Float = 0
        var norm: Float = 0
        for i in 0..<rows {
            for j in 0..<n {
                var exact: Float = 0
                for d in 0..<k { exact += a[i * k + d] * w[j * k + d] }
                error += (fast[i * n + j] - exact) * (fast[i * n + j] - exact)
                norm += exact * exact
            }
        }
        #expect((error / norm).squareRoot() < 0.02, "relative error \((error / norm).squareRoot())")
    }

    /// Workers that split a question's product by output columns together write exactly the full
    /// product, including a share of an odd number of blocks; k = 100 also exercises the
    /// quantiser's leftover (non-multiple-of-16) inputs and the products' k that AMX cannot take.
    @Test(arguments: [(1, 100), (6, 100), (21, 100), (21, 128), (40, 128)])
    func columnSharesComposeTheFullProduct(rows: Int, k: Int) {
        let n = 80
        var g = SeededFloats(state: UInt64(rows) &* 31)
        let a = (0..<(rows * k)).map { _ in g.next() }
        let w = (0..<(n * k)).map { _ in g.next() * 0.1 }
        let (packed, wscale, wsum, codes, ascale, azero) = Self.quantize(a, rows: rows, w, outputs: n, inputs: k)
        for i in 0..<rows {
            for d in 0..<k {
                let decoded = (Float(codes[i * k + d]) - Float(azero[i])) * ascale[i]
                #expect(abs(decoded - a[i * k + d]) <= ascale[i] * 0.5 + 1e-6)
            }
        }
        var whole = [Float](repeating: 0, count: rows * n)
        var shared = [Float](repeating: .nan, count: rows * n)
        ck_gemm_u8s8(codes, ascale, azero, rows, k, packed, wscale, wsum, n, &whole)
        ck_gemm_u8s8_columns(codes, ascale, azero, rows, k, packed, wscale, wsum, n, 0, 2, &shared)
        ck_gemm_u8s8_columns(codes, ascale, azero, rows, k, packed, wscale, wsum, n, 2, 5, &shared)
        #expect(shared == whole)
    }

    /// The feed-forward block's fused pass quantises exactly what the separate passes would:
    /// GELU(x + bias) in f32, then the row quantiser; rows wider than its buffer are refused.
    @Test(arguments: [1, 5, 70])
    func fusedGELUQuantisingEqualsTheSeparatePasses(rows: Int) {
        let k = 1536
        var g = SeededFloats(state: UInt64(rows) &* 101)
        let x = (0..<(rows * k)).map { _ in g.next() * 4 }
        let bias = (0..<k).map { _ in g.next() * 0.5 }
        var activated = x
        ck_bias_gelu_rows(&activated, rows, k, bias)
        var codes = [UInt8](repeating: 0, count: rows * k)
        var scales = [Float](repeating: 0, count: rows)
        var zeros = [Int32](repeating: 0, count: rows)
        ck_quantize_rows_u8(activated, rows, k, &codes, &scales, &zeros)
        var fusedCodes = [UInt8](repeating: 0, count: rows * k)
        var fusedScales = [Float](repeating: 0, count: rows)
        var fusedZeros = [Int32](repeating: 0, count: rows)
        #expect(ck_bias_gelu_quantize_rows_u8(x, rows, k, bias, &fusedCodes, &fusedScales, &fusedZeros) == 0)
        #expect(fusedCodes == codes)
        #expect(fusedScales == scales)
        #expect(fusedZeros == zeros)
        let wide = [Float](repeating: 1, count: 4097)
        var wideCodes = [UInt8](repeating: 7, count: 4097)
        #expect(ck_bias_gelu_quantize_rows_u8(wide, 1, 4097, wide, &wideCodes, &fusedScales, &fusedZeros) == -1)
        #expect(wideCodes.allSatisfy { $0 == 7 })
    }

    /// AMX takes k in steps of 64: asked for any other k, it refuses and writes nothing, and the
    /// default product runs on the next path instead. An unknown path is refused too.
    @Test func amxRefusesAKItCannotTileAndTheProductFallsBack() throws {
        let rows = 5
        let k = 100
        let n = 32
        var g = SeededFloats(state: 7)
        let q = Self.quantize(
            (0..<(rows * k)).map { _ in g.next() }, rows: rows, (0..<(n * k)).map { _ in g.next() }, outputs: n,
            inputs: k)
        #expect(Self.product(on: Self.amx, q, rows: rows, k: k, n: n) == nil)
        #expect(Self.product(on: 7, q, rows: rows, k: k, n: n) == nil)
        var untouched = [Float](repeating: .nan, count: rows * n)
        _ = ck_gemm_u8s8_columns_on(
            Self.amx, q.codes, q.ascale, q.azero, rows, k, q.packed, q.wscale, q.wsum, n, 0, 2, &untouched)
        #expect(untouched.allSatisfy { $0.isNaN })
        var fast = [Float](repeating: .nan, count: rows * n)
        ck_gemm_u8s8(q.codes, q.ascale, q.azero, rows, k, q.packed, q.wscale, q.wsum, n, &fast)
        let expected = try #require(
            Self.product(on: Self.vnni, q, rows: rows, k: k, n: n)
                ?? Self.product(on: Self.portable, q, rows: rows, k: k, n: n))
        #expect(fast == expected)
    }

    @Test func packingRefusesShapesItCannotTile() {
        var packed = [Int8](repeating: 0, count: 15 * 8)
        var scales = [Float](repeating: 0, count: 15)
        var sums = [Int32](repeating: 0, count: 15)
        let w = [Float](repeating: 1, count: 15 * 8)
        #expect(ck_pack_weights_s8(w, 15, 8, &packed, &scales, &sums) == -1)
    }
}
