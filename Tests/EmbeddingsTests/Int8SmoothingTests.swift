import CKernels
import Testing

@testable import Embeddings

/// Smoothing an int8 layer's input (see ``BertEncoder/QuantizedWeight``): the product stays the
/// f32 product within quantisation error, on both ways the encoder shares a product between
/// cores, and an input channel far wider than the rest, which leaves every other channel few
/// levels when quantised as it is, costs much less once smoothed.
@Suite struct Int8SmoothingTests {
    /// Rows whose channel 0 spans ±40 while the others span ±1, like a transformer's hidden
    /// state, and a weight of `segments` stacked blocks that differ in scale.
    static func layer(rows: Int, inputs k: Int, outputs n: Int, segments: Int) -> (input: [Float], weight: [Float]) {
        var g = SeededFloats(state: UInt64(rows * 7 + n))
        let input = (0..<(rows * k)).map { i in g.next() * (i % k == 0 ? 40 : 1) }
        let weight = (0..<(n * k)).map { i in g.next() * 0.1 * Float(1 + (i / k) / (n / segments)) }
        return (input, weight)
    }

    static func exact(_ input: [Float], rows: Int, _ weight: [Float], inputs k: Int, outputs n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows {
            for j in 0..<n {
                var sum: Float = 0
                for d in 0..<k { sum += input[i * k + d] * weight[j * k + d] }
                out[i * n + j] = sum
            }
        }
        return out
    }

    static func relativeError(_ got: [Float], _ want: [Float]) -> Float {
        var error: Float = 0
        var norm: Float = 0
        for (x, y) in zip(got, want) {
            error += (x - y) * (x - y)
            norm += y * y
        }
        return (error / norm).squareRoot()
    }

    /// 5 rows take the question path (output columns split between cores), 300 the row path.
    @Test(arguments: [5, 300])
    func smoothedProductMatchesF32AndBeatsUnsmoothed(rows: Int) {
        let (k, n, segments) = (96, 576, 3)
        let (input, weight) = Self.layer(rows: rows, inputs: k, outputs: n, segments: segments)
        var maxima = [Float](repeating: 0, count: k)
        for i in 0..<rows { for d in 0..<k { maxima[d] = max(maxima[d], abs(input[i * k + d])) } }
        let want = Self.exact(input, rows: rows, weight, inputs: k, outputs: n)
        func product(_ quantized: BertEncoder.QuantizedWeight) -> [Float] {
            var out = [Float](repeating: .nan, count: rows * n)
            BertEncoder.linear(input, rows: rows, inputs: k, quantized: quantized, outputs: n, into: &out)
            return out
        }
        let plain = weight.withUnsafeBufferPointer { BertEncoder.QuantizedWeight($0, outputs: n, inputs: k) }
        let smoothed = weight.withUnsafeBufferPointer {
            BertEncoder.QuantizedWeight($0, outputs: n, inputs: k, inputMaxima: maxima, segments: segments)
        }
        #expect(smoothed.segments.map(\.blocks) == [0..<12, 12..<24, 24..<36])
        #expect(smoothed.inputScales.count == segments * k)
        let plainError = Self.relativeError(product(plain), want)
        let smoothedError = Self.relativeError(product(smoothed), want)
        #expect(smoothedError < 0.01, "smoothed relative error \(smoothedError)")
        #expect(smoothedError < plainError / 2, "smoothed \(smoothedError) vs plain \(plainError)")
    }

    @Test func aDeadChannelOrAnOddRangeIsLeftAlone() {
        #expect(BertEncoder.QuantizedWeight.smoothing(input: 0, weight: 0.3) == 1)
        #expect(BertEncoder.QuantizedWeight.smoothing(input: 2, weight: 0) == 1)
        #expect(BertEncoder.QuantizedWeight.smoothing(input: .nan, weight: 0.3) == 1)
        #expect(BertEncoder.QuantizedWeight.smoothing(input: .infinity, weight: 0.3) == 1)
        #expect(BertEncoder.QuantizedWeight.smoothing(input: 4, weight: 0.25) == 4)
    }

    /// The scaled quantiser is the plain one on the scaled input, and NULL scales are no scales.
    @Test func scaledQuantisingIsQuantisingTheScaledInput() {
        let (rows, k) = (3, 37)
        var g = SeededFloats(state: 5)
        let x = (0..<(rows * k)).map { _ in g.next() * 3 }
        let scale = (0..<k).map { d in Float(d % 5 + 1) / 4 }
        let scaled = (0..<(rows * k)).map { x[$0] * scale[$0 % k] }
        func quantize(_ input: [Float], _ columns: [Float]?) -> ([UInt8], [Float], [Int32]) {
            var codes = [UInt8](repeating: 0, count: rows * k)
            var scales = [Float](repeating: 0, count: rows)
            var zeros = [Int32](repeating: 0, count: rows)
            if let columns {
                ck_quantize_rows_u8_scaled(input, rows, k, columns, &codes, &scales, &zeros)
            } else {
                ck_quantize_rows_u8_scaled(input, rows, k, nil, &codes, &scales, &zeros)
            }
            return (codes, scales, zeros)
        }
        var codes = [UInt8](repeating: 0, count: rows * k)
        var scales = [Float](repeating: 0, count: rows)
        var zeros = [Int32](repeating: 0, count: rows)
        ck_quantize_rows_u8(scaled, rows, k, &codes, &scales, &zeros)
        let viaScales = quantize(x, scale)
        #expect(viaScales.0 == codes && viaScales.1 == scales && viaScales.2 == zeros)
        ck_quantize_rows_u8(x, rows, k, &codes, &scales, &zeros)
        let unscaled = quantize(x, nil)
        #expect(unscaled.0 == codes && unscaled.1 == scales && unscaled.2 == zeros)
    }
}
