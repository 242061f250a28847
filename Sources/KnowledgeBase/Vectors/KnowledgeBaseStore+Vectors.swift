import Foundation
import GRDB
import VectorSearch

extension KnowledgeBaseStore {
    /// The encoding chosen for this knowledge base (`cascade ingest --vector-encoding`), if any.
    public func vectorEncoding() throws -> VectorEncoding? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'vector_encoding'")
                .flatMap(VectorEncoding.init(rawValue:))
        }
    }

    /// Records the in-memory encoding to use for this knowledge base; `nil` returns to automatic.
    public func setVectorEncoding(_ encoding: VectorEncoding?) throws {
        try writer.write { db in
            if let encoding {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO kb_meta(key, value) VALUES ('vector_encoding', ?)",
                    arguments: [encoding.rawValue])
            } else {
                try db.execute(sql: "DELETE FROM kb_meta WHERE key = 'vector_encoding'")
            }
        }
    }

    /// Loads every vector of `model` into memory for search, pack by pack.
    /// - Parameter encoding: overrides the knowledge base's setting (benchmarks compare both).
    public func loadVectorIndex(model: String, dimension: Int, encoding: VectorEncoding? = nil) throws
        -> ChunkVectorIndex
    {
        let chosen = try encoding ?? vectorEncoding()
        return try writer.read { db in
            let total =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COALESCE(SUM(row_count - dead_rows), 0) FROM vector_pack WHERE model = ? AND dimension = ?",
                    arguments: [model, dimension]) ?? 0
            let use = chosen ?? VectorEncoding.automatic(rowCount: total)
            var identifiers: [Int64] = []
            identifiers.reserveCapacity(total)
            switch use {
            case .f32:
                var filled = 0
                let storage = try [Float](unsafeUninitializedCapacity: total * dimension) { buffer, initialized in
                    try Self.forEachPackRow(db, model: model, dimension: dimension) { ref, bytes in
                        guard filled < total else { return }
                        memcpy(buffer.baseAddress! + filled * dimension, bytes, dimension * 4)
                        identifiers.append(ref.packed)
                        filled += 1
                    }
                    initialized = filled * dimension
                }
                let index = try FlatIndex(
                    matrix: VectorMatrix(dimension: dimension, storage: storage), identifiers: identifiers)
                return ChunkVectorIndex(model: model, dimension: dimension, exact: index)
            case .int8:
                var matrix = QuantizedMatrix(dimension: dimension)
                matrix.reserveCapacity(rows: total)
                var row = [Float](repeating: 0, count: dimension)
                try Self.forEachPackRow(db, model: model, dimension: dimension) { ref, bytes in
                    try row.withUnsafeMutableBytes { raw in
                        memcpy(raw.baseAddress!, bytes, dimension * 4)
                        try matrix.append(packed: UnsafeBufferPointer(raw.bindMemory(to: Float.self)))
                    }
                    identifiers.append(ref.packed)
                }
                let index = try QuantizedIndex(matrix: matrix, identifiers: identifiers)
                return ChunkVectorIndex(model: model, dimension: dimension, quantized: index)
            }
        }
    }

    /// Calls `body` with every live stored row of `model`, in ascending ``VectorRef`` order, with a
    /// pointer to its float32 bytes (valid only during the call; not necessarily aligned).
    private static func forEachPackRow(
        _ db: Database, model: String, dimension: Int, _ body: (VectorRef, UnsafeRawPointer) throws -> Void
    ) throws {
        let rowBytes = dimension * 4
        let packs = try Row.fetchCursor(
            db,
            sql: """
                SELECT id, row_count, dead_rows, vectors FROM vector_pack
                WHERE model = ? AND dimension = ? ORDER BY id
                """, arguments: [model, dimension])
        while let pack = try packs.next() {
            let id: Int64 = pack[0]
            let rowCount: Int = pack[1]
            let dead: Int = pack[2]
            let slots: [Int] =
                dead == 0
                ? Array(0..<rowCount)
                : try Int.fetchAll(
                    db, sql: "SELECT slot FROM embedding WHERE pack_id = ? ORDER BY slot", arguments: [id])
            try pack.withUnsafeData(atIndex: 3) { data in
                guard let data, data.count == rowCount * rowBytes else {
                    throw StoreError.cannotOpen(
                        path: "vector pack \(id)", reason: "blob size does not match \(rowCount) × \(dimension) floats")
                }
                try data.withUnsafeBytes { raw in
                    for slot in slots {
                        try body(VectorRef(pack: id, slot: slot), raw.baseAddress! + slot * rowBytes)
                    }
                }
            }
        }
    }

    /// The `k` chunks whose vectors best match `query` (unit-normalised), best first.
    ///
    /// A filter is applied before selection (k results whenever k chunks match). With int8 the
    /// best ``ChunkVectorIndex/candidateCount(k:)`` rows by approximate score are re-scored with
    /// their float32 vectors read from the store.
    public func vectorSearch(_ index: ChunkVectorIndex, query: [Float], k: Int, filter: SearchFilter? = nil) throws
        -> [(chunkID: Int64, score: Float)]
    {
        var allowedChunks: Set<Int64>?
        var rowFilter: RowFilter?
        if let filter, !filter.isEmpty {
            let condition = filter.sqlCondition()
            let matches = try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.id, e.pack_id, e.slot FROM chunk c JOIN document d ON d.id = c.document_id
                        JOIN embedding e ON e.model = ? AND e.text_hash = c.text_hash
                        WHERE \(condition.sql)
                        """, arguments: StatementArguments([index.model] + condition.arguments))
            }
            allowedChunks = Set(matches.map { $0[0] })
            let refs = matches.map { VectorRef(pack: $0[1], slot: $0[2]).packed }.sorted()
            rowFilter = RowFilter.sortedSubset(of: index.identifiers, allowed: refs)
        }
        var scored: [ScoredRow]
        if let exact = index.exact {
            scored = try exact.search(query, k: k, filter: rowFilter)
        } else if let quantized = index.quantized {
            let candidates = try quantized.candidates(
                for: query, count: ChunkVectorIndex.candidateCount(k: k), filter: rowFilter)
            let refs = candidates.map { VectorRef(packed: $0.id) }
            let order = refs.indices.sorted { refs[$0] < refs[$1] }
            let vectors = try writer.read { db in
                try VectorPacking.vectors(db, refs: order.map { refs[$0] }, dimension: index.dimension)
            }
            var rescored: [ScoredRow] = []
            for (position, i) in order.enumerated() {
                rescored.append(ScoredRow(id: candidates[i].id, score: VectorMath.dot(vectors[position], query)))
            }
            rescored.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
            scored = Array(rescored.prefix(k))
        } else {
            scored = []
        }
        // Map rows to chunks; chunks sharing a text share the row's score.
        let chunkIDs = try writer.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT c.id FROM embedding e JOIN chunk c ON c.text_hash = e.text_hash
                    WHERE e.model = ? AND e.pack_id = ? AND e.slot = ? ORDER BY c.id
                    """)
            return try scored.map { row in
                let ref = VectorRef(packed: row.id)
                return try Int64.fetchAll(statement, arguments: [index.model, ref.pack, ref.slot])
            }
        }
        var results: [(chunkID: Int64, score: Float)] = []
        for (row, ids) in zip(scored, chunkIDs) {
            for id in ids where allowedChunks?.contains(id) ?? true {
                results.append((id, row.score))
            }
        }
        return Array(results.prefix(k))
    }
}
