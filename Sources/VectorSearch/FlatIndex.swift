import CBLAS
import CKernels

/// An exact (brute-force) inner-product index over a ``VectorMatrix``, scored with BLAS.
///
/// Exact search over a contiguous matrix is memory-bandwidth bound: one `cblas_sgemv` streams the
/// matrix once per query, and `cblas_sgemm` amortises that stream over a batch of queries. The
/// index is immutable once built, so any number of tasks may search it concurrently; each search
/// allocates its own score buffer.
public struct FlatIndex: Sendable {
    /// The indexed vectors, one per identifier.
    public let matrix: VectorMatrix
    /// Caller identifiers, parallel to the matrix rows.
    public let identifiers: [Int64]

    public var dimension: Int { matrix.dimension }
    public var count: Int { identifiers.count }

    /// Creates an index; `identifiers[i]` names `matrix` row `i`.
    public init(matrix: VectorMatrix, identifiers: [Int64]) throws(VectorSearchError) {
        guard matrix.rowCount == identifiers.count else {
            throw .identifierCountMismatch(rows: matrix.rowCount, identifiers: identifiers.count)
        }
        self.matrix = matrix
        self.identifiers = identifiers
    }

    /// Scores every row against `query` (one `sgemv`).
    public func scores(for query: [Float]) throws(VectorSearchError) -> [Float] {
        guard query.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: query.count) }
        let n = count
        guard n > 0 else { return [] }
        var out = [Float](repeating: 0, count: n)
        matrix.storage.withUnsafeBufferPointer { a in
            query.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    BLASCallLimit.run {
                        cblas_sgemv(
                            CblasRowMajor, CblasNoTrans, Int32(n), Int32(dimension), 1.0,
                            a.baseAddress, Int32(dimension), x.baseAddress, 1, 0.0, y.baseAddress, 1)
                    }
                }
            }
        }
        return out
    }

    /// The `k` rows with the highest inner product with `query`, best first.
    /// - Parameters:
    ///   - query: a vector of the index's dimension (unit-normalised for cosine).
    ///   - k: how many results to return at most.
    ///   - filter: when given, only rows it allows are considered (before selection).
    public func search(_ query: [Float], k: Int, filter: RowFilter? = nil) throws(VectorSearchError) -> [ScoredRow] {
        if let filter, filter.allowedCount * 2 < count {
            return try searchSelected(query, k: k, filter: filter)
        }
        let scores = try scores(for: query)
        return Self.select(scores: scores, k: k, filter: filter, identifiers: identifiers)
    }

    /// A selective filter reads only the allowed rows: a filter matching 10% of the rows streams
    /// 10% of the bytes, so filtering never makes a search slower than the unfiltered scan.
    func searchSelected(_ query: [Float], k: Int, filter: RowFilter) throws(VectorSearchError) -> [ScoredRow] {
        let rows = filter.allowedRows
        let scores = try scores(rows: rows, query: query)
        var selector = TopKSelector(k: k)
        for (j, score) in scores.enumerated() where score >= selector.threshold {
            selector.offer(index: Int(rows[j]), score: score)
        }
        return selector.sortedDescending().map { ScoredRow(id: identifiers[$0.index], score: $0.score) }
    }

    /// Exact scores of the given rows (positions in the matrix) against `query`: the float32
    /// re-rank step after an approximate first stage.
    public func scores(rows: [Int32], query: [Float]) throws(VectorSearchError) -> [Float] {
        guard query.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: query.count) }
        var scores = [Float](repeating: 0, count: rows.count)
        matrix.storage.withUnsafeBufferPointer { a in
            query.withUnsafeBufferPointer { x in
                rows.withUnsafeBufferPointer { r in
                    scores.withUnsafeMutableBufferPointer { out in
                        ck_f32_dot_selected_rows(
                            a.baseAddress, dimension, r.baseAddress, rows.count, x.baseAddress, out.baseAddress)
                    }
                }
            }
        }
        return scores
    }

    /// Searches many queries at once with one `sgemm`, which reuses each block of the matrix
    /// across all queries while it is in cache.
    public func search(batch queries: [[Float]], k: Int, filter: RowFilter? = nil) throws(VectorSearchError)
        -> [[ScoredRow]]
    {
        guard !queries.isEmpty else { return [] }
        let q = try VectorMatrix(dimension: dimension, rows: queries)
        let n = count
        let m = queries.count
        guard n > 0 else { return Array(repeating: [], count: m) }
        // C (m × n) = Q (m × d) · Aᵀ (d × n)
        var out = [Float](repeating: 0, count: m * n)
        matrix.storage.withUnsafeBufferPointer { a in
            q.storage.withUnsafeBufferPointer { qp in
                out.withUnsafeMutableBufferPointer { c in
                    BLASCallLimit.run {
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(dimension), 1.0,
                            qp.baseAddress, Int32(dimension), a.baseAddress, Int32(dimension), 0.0,
                            c.baseAddress, Int32(n))
                    }
                }
            }
        }
        return (0..<m).map { row in
            out.withUnsafeBufferPointer { c in
                Self.select(
                    scores: UnsafeBufferPointer(rebasing: c[row * n..<(row + 1) * n]), k: k, filter: filter,
                    identifiers: identifiers)
            }
        }
    }

    static func select(
        scores: some RandomAccessCollection<Float>, k: Int, filter: RowFilter?, identifiers: [Int64]
    ) -> [ScoredRow] {
        var selector = TopKSelector(k: k)
        if let filter {
            for (i, score) in zip(scores.indices, scores).enumerated() where filter.allowed[i] {
                selector.offer(index: i, score: score.1)
            }
        } else {
            var i = 0
            for score in scores {
                // Cheap rejection first: most rows lose against the current k-th best.
                if score >= selector.threshold { selector.offer(index: i, score: score) }
                i += 1
            }
        }
        return selector.sortedDescending().map { ScoredRow(id: identifiers[$0.index], score: $0.score) }
    }
}
