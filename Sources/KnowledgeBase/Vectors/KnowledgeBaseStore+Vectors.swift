import Foundation
import GRDB
import VectorSearch

extension KnowledgeBaseStore {
    /// The encoding chosen for this knowledge base (`cascade ingest --vector-encoding`), if any.
    public func vectorEncoding() throws -> VectorEncoding? {
        try writer.read { db in try Self.vectorEncoding(db) }
    }

    static func vectorEncoding(_ db: Database) throws -> VectorEncoding? {
        try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'vector_encoding'")
            .flatMap(VectorEncoding.init(rawValue:))
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
        try writer.read { db in try Self.loadVectorIndex(db, model: model, dimension: dimension, encoding: encoding) }
    }

    /// Loads the index from `db`, inside the caller's transaction (which may hold uncommitted
    /// changes: ``apply(_:model:dimension:vectors:publish:)`` builds the next index this way).
    static func loadVectorIndex(_ db: Database, model: String, dimension: Int, encoding: VectorEncoding? = nil) throws
        -> ChunkVectorIndex
    {
        let chosen = try encoding ?? vectorEncoding(db)
        try checkPackCounts(db, model: model, dimension: dimension)
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
            var loaded = ChunkVectorIndex(model: model, dimension: dimension, exact: index)
            try Self.mapChunks(db, into: &loaded)
            return loaded
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
            var loaded = ChunkVectorIndex(model: model, dimension: dimension, quantized: index)
            try Self.mapChunks(db, into: &loaded)
            return loaded
        }
    }

    /// Reads which chunks use each row (one pass over the chunks, in the same read transaction
    /// as the vectors, so the mapping and the matrix describe the same snapshot).
    private static func mapChunks(_ db: Database, into index: inout ChunkVectorIndex) throws {
        let identifiers = index.identifiers
        var first = [Int64](repeating: -1, count: identifiers.count)
        var more: [Int32: [Int64]] = [:]
        var statement = RawStatement(
            try db.cachedStatement(
                sql: """
                    SELECT e.pack_id, e.slot, c.id FROM chunk c
                    JOIN embedding e ON e.model = ? AND e.text_hash = c.text_hash
                    ORDER BY c.id
                    """))
        statement.bind(index.model)
        try statement.rows(db) { column in
            let ref = VectorRef(pack: column(0), slot: Int(column(1))).packed
            guard let lo = index.row(of: ref) else { return }
            if first[lo] < 0 { first[lo] = column(2) } else { more[Int32(lo), default: []].append(column(2)) }
        }
        index.firstChunk = first
        index.moreChunks = more
    }

    /// Refuses packs whose counts cannot be right before any of them sizes a buffer.
    static func checkPackCounts(_ db: Database, model: String, dimension: Int) throws {
        if let bad = try Row.fetchOne(
            db,
            sql: """
                SELECT id, row_count, dead_rows FROM vector_pack WHERE model = ? AND dimension = ?
                AND (row_count < 0 OR dead_rows < 0 OR dead_rows > row_count OR row_count > ?) LIMIT 1
                """, arguments: [model, dimension, VectorRef.maxSlots])
        {
            throw StoreError.corrupted(
                table: "vector_pack", row: bad[0],
                reason: "row_count \(bad[1] as Int64) and dead_rows \(bad[2] as Int64) are not possible counts")
        }
    }

    /// The slots of a pack's live rows, checked: each inside the pack, none twice, as many as the
    /// pack's counts say.
    static func liveSlots(_ db: Database, pack id: Int64, rowCount: Int, dead: Int) throws -> [Int] {
        guard dead > 0 else { return Array(0..<rowCount) }
        let slots = try Int.fetchAll(
            db, sql: "SELECT slot FROM embedding WHERE pack_id = ? ORDER BY slot", arguments: [id])
        var previous = -1
        for slot in slots {
            guard slot > previous, slot < rowCount else {
                throw StoreError.corrupted(
                    table: "vector_pack", row: id,
                    reason: "an embedding points at slot \(slot), outside its \(rowCount) rows or used twice")
            }
            previous = slot
        }
        guard slots.count == rowCount - dead else {
            throw StoreError.corrupted(
                table: "vector_pack", row: id,
                reason: "\(slots.count) embeddings point into it, but its counts say \(rowCount - dead) live rows")
        }
        return slots
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
                SELECT id, row_count, dead_rows, vectors, checksum FROM vector_pack
                WHERE model = ? AND dimension = ? ORDER BY id
                """, arguments: [model, dimension])
        while let pack = try packs.next() {
            let id: Int64 = pack[0]
            let rowCount: Int = pack[1]
            let dead: Int = pack[2]
            let checksum: Int64? = pack[4]
            guard rowCount >= 0, dead >= 0, dead <= rowCount, rowCount <= VectorRef.maxSlots else {
                throw StoreError.corrupted(
                    table: "vector_pack", row: id,
                    reason: "row_count \(rowCount) and dead_rows \(dead) are not possible counts")
            }
            let slots = try liveSlots(db, pack: id, rowCount: rowCount, dead: dead)
            try pack.withUnsafeData(atIndex: 3) { data in
                guard let data, data.count == rowCount * rowBytes else {
                    throw StoreError.corrupted(
                        table: "vector_pack", row: id,
                        reason: "its vectors blob is not \(rowCount) × \(dimension) floats")
                }
                try data.withUnsafeBytes { raw in
                    guard checksum == VectorPacking.checksum(raw) else {
                        throw StoreError.corrupted(
                            table: "vector_pack", row: id, reason: VectorPacking.checksumMismatch)
                    }
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
            let entry = try index.filters.entry(for: filter) {
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
                let refs = matches.map { VectorRef(pack: $0[1], slot: $0[2]).packed }.sorted()
                return VectorFilterCache.Entry(
                    rows: RowFilter.sortedSubset(of: index.identifiers, allowed: refs),
                    chunks: Set(matches.map { $0[0] }))
            }
            allowedChunks = entry.chunks
            rowFilter = entry.rows
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
        try Self.checkScores(scored, query: query)
        return try chunks(for: scored, index: index, k: k, allowed: allowedChunks)
    }

    /// Stored vectors are unit-length, so a score is a cosine times the query's length: one
    /// beyond that (or NaN) means a damaged vector, and is refused rather than ranked first and
    /// billed at full confidence.
    static func checkScores(_ scored: [ScoredRow], query: [Float]) throws {
        let bound = VectorMath.dot(query, query).squareRoot() * 1.001 + 1e-4
        if let bad = scored.first(where: { !$0.score.isFinite || abs($0.score) > bound }) {
            throw StoreError.corrupted(
                table: "vector_pack", row: VectorRef(packed: bad.id).pack,
                reason: "a stored vector scores \(bad.score) against a query of length \(bound / 1.001), "
                    + "which a unit vector cannot: the vector is damaged")
        }
    }

    /// Many queries at once (no filter): float32 indexes score them with one `sgemm`, which
    /// reuses each block of the matrix across the whole batch.
    public func vectorSearch(_ index: ChunkVectorIndex, queries: [[Float]], k: Int) throws
        -> [[(chunkID: Int64, score: Float)]]
    {
        guard let exact = index.exact else {
            return try queries.map { try vectorSearch(index, query: $0, k: k) }
        }
        return try zip(exact.search(batch: queries, k: k), queries).map { scored, query in
            try Self.checkScores(scored, query: query)
            return try chunks(for: scored, index: index, k: k, allowed: nil)
        }
    }

    /// Maps index rows to chunks; chunks sharing a text share the row's score.
    private func chunks(for scored: [ScoredRow], index: ChunkVectorIndex, k: Int, allowed: Set<Int64>?) throws
        -> [(chunkID: Int64, score: Float)]
    {
        var results: [(chunkID: Int64, score: Float)] = []
        for row in scored {
            guard let lo = index.row(of: row.id) else { continue }
            for id in index.chunks(ofRow: lo) where allowed?.contains(id) ?? true {
                results.append((id, row.score))
            }
            if results.count >= k { break }
        }
        return Array(results.prefix(k))
    }

    /// Exact scores of the given chunks' vectors against `query` (chunks without a vector of the
    /// index's model are left out): how hybrid search scores keyword-only candidates.
    public func vectorScores(_ index: ChunkVectorIndex, query: [Float], chunkIDs: [Int64]) throws -> [Int64: Float] {
        guard !chunkIDs.isEmpty, query.count == index.dimension else { return [:] }
        return try writer.read { db in
            var lookup = RawStatement(
                try db.cachedStatement(
                    sql: """
                        SELECT e.pack_id, e.slot FROM chunk c JOIN embedding e ON e.model = ? AND e.text_hash = c.text_hash
                        WHERE c.id = ?
                        """))
            var found: [(chunk: Int64, ref: VectorRef)] = []
            for id in chunkIDs {
                lookup.bind(index.model)
                lookup.bind(id)
                try lookup.rows(db) { column in found.append((id, VectorRef(pack: column(0), slot: Int(column(1))))) }
            }
            found.sort { $0.ref < $1.ref }
            let vectors = try VectorPacking.vectors(db, refs: found.map(\.ref), dimension: index.dimension)
            var scores: [Int64: Float] = [:]
            for (item, vector) in zip(found, vectors) { scores[item.chunk] = VectorMath.dot(vector, query) }
            try Self.checkScores(
                zip(found, vectors).map { item, vector in
                    ScoredRow(id: item.ref.packed, score: scores[item.chunk] ?? 0)
                }, query: query)
            return scores
        }
    }
}
