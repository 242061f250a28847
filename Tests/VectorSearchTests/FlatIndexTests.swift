import CBLAS
import Testing

@testable import VectorSearch

func randomUnitVectors(count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        var v = (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) }
        VectorMath.normalize(&v)
        return v
    }
}

/// The obvious O(n·d) scan with a full sort: the reference the BLAS path must agree with.
func bruteForceTopK(_ rows: [[Float]], ids: [Int64], query: [Float], k: Int, allowed: ((Int) -> Bool)? = nil)
    -> [ScoredRow]
{
    var scored: [(Int, Float)] = []
    for (i, row) in rows.enumerated() where allowed?(i) ?? true {
        var s: Float = 0
        for j in 0..<row.count { s += row[j] * query[j] }
        scored.append((i, s))
    }
    scored.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    return scored.prefix(k).map { ScoredRow(id: ids[$0.0], score: $0.1) }
}

@Suite("Flat BLAS index")
struct FlatIndexTests {
    @Test("CBLAS links and computes a dot product")
    func cblasLinks() {
        let x: [Float] = [1, 2, 3]
        let y: [Float] = [4, 5, 6]
        #expect(cblas_sdot(3, x, 1, y, 1) == 32)
    }

    @Test("single-query top-k equals a brute-force scan", arguments: [1, 5, 10, 64])
    func singleQueryMatchesBruteForce(k: Int) throws {
        let rows = randomUnitVectors(count: 2_000, dimension: 48, seed: 7)
        let ids = (0..<Int64(rows.count)).map { $0 * 3 + 1 }
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 48, rows: rows), identifiers: ids)
        for query in randomUnitVectors(count: 20, dimension: 48, seed: 99) {
            let got = try index.search(query, k: k)
            let want = bruteForceTopK(rows, ids: ids, query: query, k: k)
            #expect(got.map(\.id) == want.map(\.id))
            for (g, w) in zip(got, want) { #expect(abs(g.score - w.score) < 1e-4) }
        }
    }

    @Test("batched search (sgemm) returns what single searches return")
    func batchMatchesSingle() throws {
        let rows = randomUnitVectors(count: 1_500, dimension: 384, seed: 3)
        let index = try FlatIndex(
            matrix: VectorMatrix(dimension: 384, rows: rows), identifiers: (0..<1_500).map(Int64.init))
        let queries = randomUnitVectors(count: 17, dimension: 384, seed: 4)
        let batched = try index.search(batch: queries, k: 10)
        #expect(batched.count == queries.count)
        for (query, result) in zip(queries, batched) {
            let single = try index.search(query, k: 10)
            #expect(result.map(\.id) == single.map(\.id))
            let want = bruteForceTopK(rows, ids: index.identifiers, query: query, k: 10)
            #expect(result.map(\.id) == want.map(\.id))
        }
    }

    @Test("k larger than the index returns every row, best first")
    func kLargerThanIndex() throws {
        let rows = randomUnitVectors(count: 5, dimension: 8, seed: 11)
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 8, rows: rows), identifiers: [10, 11, 12, 13, 14])
        let result = try index.search(rows[2], k: 50)
        #expect(result.count == 5)
        #expect(result.first?.id == 12)
        #expect(zip(result, result.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    @Test("a filter is applied before selection, so k results come back whenever k rows match")
    func filterBeforeTopK() throws {
        let rows = randomUnitVectors(count: 1_000, dimension: 16, seed: 5)
        let ids = (0..<Int64(1_000)).map { $0 }
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 16, rows: rows), identifiers: ids)
        let filter = RowFilter(identifiers: ids) { $0 % 10 == 0 }  // 10% of rows
        #expect(filter.allowedCount == 100)
        let query = rows[3]  // row 3 itself is filtered out
        let result = try index.search(query, k: 10, filter: filter)
        #expect(result.count == 10)
        #expect(result.allSatisfy { $0.id % 10 == 0 })
        let want = bruteForceTopK(rows, ids: ids, query: query, k: 10) { $0 % 10 == 0 }
        #expect(result.map(\.id) == want.map(\.id))
    }

    @Test("a query of the wrong dimension is refused with an actionable error")
    func wrongDimension() throws {
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 4, rows: [[1, 0, 0, 0]]), identifiers: [1])
        #expect(throws: VectorSearchError.dimensionMismatch(expected: 4, actual: 3)) {
            try index.search([1, 0, 0], k: 1)
        }
        let message = VectorSearchError.dimensionMismatch(expected: 4, actual: 3).description
        #expect(message.contains("same model"))
    }

    @Test("matrix construction validates shapes")
    func matrixValidation() {
        #expect(throws: VectorSearchError.self) { try VectorMatrix(dimension: 3, rows: [[1, 2, 3], [1, 2]]) }
        #expect(throws: VectorSearchError.self) { try VectorMatrix(dimension: 3, storage: [1, 2, 3, 4]) }
        #expect(throws: VectorSearchError.self) {
            try FlatIndex(matrix: VectorMatrix(dimension: 1, rows: [[1]]), identifiers: [1, 2])
        }
    }

    @Test("an empty index returns no results")
    func emptyIndex() throws {
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 4), identifiers: [])
        #expect(try index.search([1, 0, 0, 0], k: 3).isEmpty)
        #expect(try index.search(batch: [[1, 0, 0, 0]], k: 3) == [[]])
    }

    @Test("many concurrent searches on one index agree with a serial search")
    func concurrentSearches() async throws {
        let rows = randomUnitVectors(count: 3_000, dimension: 64, seed: 21)
        let index = try FlatIndex(
            matrix: VectorMatrix(dimension: 64, rows: rows), identifiers: (0..<3_000).map(Int64.init))
        let queries = randomUnitVectors(count: 64, dimension: 64, seed: 22)
        let expected = try queries.map { try index.search($0, k: 5).map(\.id) }
        let results = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for (i, q) in queries.enumerated() { group.addTask { (i, try index.search(q, k: 5).map(\.id)) } }
            var out = [[Int64]](repeating: [], count: queries.count)
            for try await (i, ids) in group { out[i] = ids }
            return out
        }
        #expect(results == expected)
    }

    @Test("the loaded BLAS library is reported")
    func blasLibraryIsNamed() throws {
        let path = try #require(BLASLibrary.loadedPath)
        #expect(path.contains("blas"))
        #expect(!BLASLibrary.summary.isEmpty)
    }

    @Test("a user's OPENBLAS_CORETYPE is never overridden")
    func coreSelectionRespectsEnvironment() {
        #expect(BLASCoreSelection.recommendedCoreType(environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        #expect(BLASCoreSelection.recommendedCoreType(environment: ["CASCADE_BLAS_CORETYPE": "off"]) == nil)
        #expect(BLASCoreSelection.recommendedCoreType(environment: ["CASCADE_BLAS_CORETYPE": "Haswell"]) == "Haswell")
    }
}
