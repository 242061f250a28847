import CKernels
import Foundation
import Testing

/// One attention head (`ck_attention_head`) against a plain double-precision softmax(Q·Kᵀ)·V,
/// for sequence lengths around the kernel's blocks (8 query rows, 16 and 32 keys) and for a head
/// size that takes the general loop. Memory past the sequence holds NaN: a kernel that read a
/// padding key, value or query from it would turn the output into NaN.
@Suite struct AttentionKernelTests {
    @Test(arguments: [(1, 32), (5, 32), (8, 32), (15, 32), (16, 32), (17, 32), (31, 32), (33, 32), (100, 32), (24, 24)])
    func matchesSoftmaxOfScaledScoresTimesValues(length: Int, headSize: Int) {
        let heads = 2
        let hidden = heads * headSize
        let ld = 3 * hidden  // packed Q|K|V rows, as the encoder lays them out
        var g = SeededFloats(state: UInt64(length * 131 + headSize))
        // The sequence's rows, then eight rows of NaN that belong to nobody.
        var qkv = (0..<(length * ld)).map { _ in g.next() * 3 }
        qkv += [Float](repeating: .nan, count: 8 * ld)
        let scale = 1 / Float(headSize).squareRoot()
        var out = [Float](repeating: .nan, count: length * hidden)
        var scratch = [Float](repeating: 0, count: (length + 16) * (headSize + 8))
        for head in 0..<heads {
            qkv.withUnsafeBufferPointer { qkv in
                out.withUnsafeMutableBufferPointer { out in
                    let base = qkv.baseAddress! + head * headSize
                    ck_attention_head(
                        base, base + hidden, base + 2 * hidden, ld, out.baseAddress! + head * headSize, hidden, length,
                        headSize, scale, &scratch)
                }
            }
        }
        var worst = 0.0
        for head in 0..<heads {
            for i in 0..<length {
                let q = head * headSize
                let k = hidden + head * headSize
                let v = 2 * hidden + head * headSize
                var scores = (0..<length).map { j in
                    (0..<headSize).reduce(0.0) { $0 + Double(qkv[i * ld + q + $1]) * Double(qkv[j * ld + k + $1]) }
                        * Double(scale)
                }
                let top = scores.max()!
                scores = scores.map { Foundation.exp($0 - top) }
                let total = scores.reduce(0, +)
                for d in 0..<headSize {
                    let expected = (0..<length).reduce(0.0) { $0 + scores[$1] * Double(qkv[$1 * ld + v + d]) } / total
                    worst = max(worst, abs(expected - Double(out[i * hidden + head * headSize + d])))
                }
            }
        }
        // Values reach ±3: 5e-6 is a few float ulps of the output, far below any real error.
        #expect(worst < 5e-6, "largest difference \(worst)")
    }
}
