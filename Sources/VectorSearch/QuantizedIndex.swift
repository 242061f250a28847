import CKernels
import Dispatch
import Foundation

/// An exact-scan index over int8 codes, used as the first stage of a two-stage search: it picks a
/// candidate set by approximate score, and the caller re-ranks the candidates with the float32
/// vectors (see ``FlatIndex/score(rows:query:)`` or a store that fetches them).
///
/// Approximate scores differ from exact ones by a small quantization error, so asking for a few
/// times `k` candidates and re-ranking them in float32 recovers the exact top-k almost always
/// (measured by `tools/bench/vector-search`) while streaming a quarter of the bytes.
public struct QuantizedIndex: Sendable {
    public let matrix: QuantizedMatrix
    /// Caller identifiers, parallel to the matrix rows.
    public let identifiers: [Int64]

    public var dimension: Int { matrix.dimension }
    public var count: Int { identifiers.count }

    public init(matrix: QuantizedMatrix, identifiers: [Int64]) throws(VectorSearchError) {
        guard matrix.rowCount == identifiers.count else {
            throw .identifierCountMismatch(rows: matrix.rowCount, identifiers: identifiers.count)
        }
        self.matrix = matrix
        self.identifiers = identifiers
    }

    /// Approximate scores of every row against `query`, in float.
    public func scores(for query: [Float]) throws(VectorSearchError) -> [Float] {
        guard query.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: query.count) }
        let n = count
        guard n > 0 else { return [] }
        let (codes, queryScale) = QuantizedMatrix.quantize(query)
        var raw = [Int32](repeating: 0, count: n)
        let dim = dimension
        matrix.codes.withUnsafeBufferPointer { c in
            matrix.rowSums.withUnsafeBufferPointer { sums in
                codes.withUnsafeBufferPointer { q in
                    raw.withUnsafeMutableBufferPointer { out in
                        let base = UInt(bitPattern: c.baseAddress), sumBase = UInt(bitPattern: sums.baseAddress)
                        let qBase = UInt(bitPattern: q.baseAddress), outBase = UInt(bitPattern: out.baseAddress)
                        // Large scans are split across cores, as OpenBLAS does for sgemv.
                        let workers = n >= 65_536 ? max(1, min(8, ProcessInfo.processInfo.activeProcessorCount)) : 1
                        DispatchQueue.concurrentPerform(iterations: workers) { w in
                            let lo = n * w / workers, hi = n * (w + 1) / workers
                            guard hi > lo else { return }
                            ck_int8_dot_rows(
                                UnsafePointer<Int8>(bitPattern: base)! + lo * dim, hi - lo, dim,
                                UnsafePointer<Int8>(bitPattern: qBase), UnsafePointer<Int32>(bitPattern: sumBase)! + lo,
                                UnsafeMutablePointer<Int32>(bitPattern: outBase)! + lo)
                        }
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = Float(raw[i]) * matrix.scales[i] * queryScale }
        return out
    }

    /// The `count` best rows by approximate score, best first; `ScoredRow.id` is the identifier.
    public func candidates(for query: [Float], count: Int, filter: RowFilter? = nil) throws(VectorSearchError)
        -> [ScoredRow]
    {
        let scores = try scores(for: query)
        return FlatIndex.select(scores: scores, k: count, filter: filter, identifiers: identifiers)
    }
}
