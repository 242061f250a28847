import Testing

@testable import VectorSearch

@Suite("int8 index and selective filters")
struct QuantizedIndexTests {
    @Test("int8 codes reconstruct every component within half a quantization step")
    func quantizationError() {
        let rows = randomUnitVectors(count: 50, dimension: 384, seed: 3)
        let matrix = QuantizedMatrix(quantizing: try! VectorMatrix(dimension: 384, rows: rows))
        #expect(matrix.rowCount == 50)
        #expect(matrix.memoryBytes == 50 * (384 + 8))
        for (i, row) in rows.enumerated() {
            let scale = matrix.scales[i]
            var sum: Int32 = 0
            for d in 0..<384 {
                let code = matrix.codes[i * 384 + d]
                sum += Int32(code)
                #expect(abs(Float(code) * scale - row[d]) <= scale / 2 + 1e-7)
            }
            #expect(sum == matrix.rowSums[i])
        }
    }

    @Test("int8 scores equal the exact integer dot product times the scales, for every dimension and row tail")
    func int8ScoresAreExactIntegerDots() throws {
        // 3 rows past a multiple of 4 and a dimension past a multiple of 64 exercise every tail.
        for dimension in [384, 100, 16] {
            let rows = randomUnitVectors(count: 203, dimension: dimension, seed: UInt64(dimension))
            let index = try QuantizedIndex(
                matrix: QuantizedMatrix(quantizing: VectorMatrix(dimension: dimension, rows: rows)),
                identifiers: (0..<203).map(Int64.init))
            let query = randomUnitVectors(count: 1, dimension: dimension, seed: 5)[0]
            let (q, qScale) = QuantizedMatrix.quantize(query)
            let scores = try index.scores(for: query)
            for i in 0..<203 {
                var dot: Int32 = 0
                for d in 0..<dimension { dot += Int32(index.matrix.codes[i * dimension + d]) * Int32(q[d]) }
                #expect(scores[i] == Float(dot) * index.matrix.scales[i] * qScale)
            }
        }
    }

    @Test("int8 candidates re-ranked in float32 recover the exact top 10")
    func rerankRecall() throws {
        let rows = randomUnitVectors(count: 20_000, dimension: 384, seed: 11)
        let ids = (0..<Int64(rows.count)).map { $0 + 1000 }
        let exact = try FlatIndex(matrix: VectorMatrix(dimension: 384, rows: rows), identifiers: ids)
        let quantized = try QuantizedIndex(matrix: QuantizedMatrix(quantizing: exact.matrix), identifiers: ids)
        var found = 0
        let queries = randomUnitVectors(count: 30, dimension: 384, seed: 12)
        for query in queries {
            let truth = Set(try exact.search(query, k: 10).map(\.id))
            let candidates = try quantized.candidates(for: query, count: 80)
            let rows = candidates.map { Int32($0.id - 1000) }
            let rescored = zip(candidates, try exact.scores(rows: rows, query: query)).sorted { $0.1 > $1.1 }
            found += rescored.prefix(10).filter { truth.contains($0.0.id) }.count
        }
        // Random vectors are the hard case (no structure, tiny score gaps); real embeddings do better.
        #expect(Double(found) / Double(queries.count * 10) >= 0.99)
    }

    @Test("a selective filter reads only allowed rows and still returns the exact filtered top k")
    func selectiveFilterMatchesBruteForce() throws {
        let rows = randomUnitVectors(count: 3_000, dimension: 64, seed: 21)
        let ids = (0..<Int64(rows.count)).map { $0 * 2 }
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 64, rows: rows), identifiers: ids)
        let filter = RowFilter(identifiers: ids) { $0 % 20 == 0 }  // 10% of the rows
        #expect(filter.allowedCount == 300)
        for query in randomUnitVectors(count: 10, dimension: 64, seed: 22) {
            let got = try index.search(query, k: 25, filter: filter)
            let want = bruteForceTopK(rows, ids: ids, query: query, k: 25) { ids[$0] % 20 == 0 }
            #expect(got.count == 25)
            #expect(got.map(\.id) == want.map(\.id))
        }
    }

    @Test("a subset filter over sorted identifiers marks exactly the listed ones")
    func sortedSubset() {
        let filter = RowFilter.sortedSubset(of: [2, 4, 6, 8, 10], allowed: [1, 4, 8, 9, 12])
        #expect(filter.allowed == [false, true, false, true, false])
        #expect(filter.allowedRows == [1, 3])
    }

    @Test("many concurrent searches on one index return what a lone search returns")
    func concurrentSearches() async throws {
        let rows = randomUnitVectors(count: 5_000, dimension: 96, seed: 31)
        let ids = (0..<Int64(rows.count)).map { $0 }
        let index = try FlatIndex(matrix: VectorMatrix(dimension: 96, rows: rows), identifiers: ids)
        let quantized = try QuantizedIndex(matrix: QuantizedMatrix(quantizing: index.matrix), identifiers: ids)
        let queries = randomUnitVectors(count: 64, dimension: 96, seed: 32)
        let expected = try queries.map { try index.search($0, k: 10).map(\.id) }
        let expectedCandidates = try queries.map { try quantized.candidates(for: $0, count: 40).map(\.id) }
        try await withThrowingTaskGroup(of: (Int, [Int64], [Int64]).self) { group in
            for round in 0..<4 {
                for (i, query) in queries.enumerated() {
                    group.addTask {
                        _ = round
                        return (
                            i, try index.search(query, k: 10).map(\.id),
                            try quantized.candidates(for: query, count: 40).map(\.id)
                        )
                    }
                }
            }
            for try await (i, got, gotCandidates) in group {
                #expect(got == expected[i])
                #expect(gotCandidates == expectedCandidates[i])
            }
        }
    }
}
