import CKernels
import Foundation
import GRDB
import GRDBSQLite

/// Stored vectors live in packs: one `vector_pack` row holds up to ``rowsPerPack`` float32 vectors
/// of one model back to back in a single blob, and the `embedding` table maps a chunk text hash
/// to its (pack, slot).
///
/// Why packs: loading an index then reads a few hundred large blobs instead of one row per
/// vector, which is what lets a million-vector knowledge base open about as fast as reading the
/// same bytes from a flat file. Vectors are shared by every chunk with the same text and are
/// deleted once no chunk uses them; a pack whose rows are at least half dead is rewritten.
enum VectorPacking {
    /// 128 rows of 384 float32 = 192 KB per blob: large enough that loading is a stream of big
    /// reads, small enough that reading one row (SQLite walks a blob's overflow pages from its
    /// start) stays cheap for the int8 re-rank.
    static let rowsPerPack = 128

    static let checksumMismatch =
        "its vectors do not match their checksum (the file was damaged or changed outside cascade)"

    /// The XXH64 of a pack's vectors blob, stored beside it (as SQLite's signed 64-bit integer)
    /// and checked when an index loads.
    static func checksum(_ blob: Data) -> Int64 {
        Int64(bitPattern: blob.withUnsafeBytes { ck_xxh64($0.baseAddress, $0.count) })
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        Int64(bitPattern: ck_xxh64(bytes.baseAddress, bytes.count))
    }

    /// Stores `vectors` (text hash → vector) under `model`, skipping hashes that already have one.
    static func append(_ db: Database, model: String, vectors: some Sequence<(String, [Float])>) throws {
        var insertSlot = RawStatement(
            try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO embedding(model, text_hash, pack_id, slot) VALUES (?, ?, ?, ?)"))
        var iterator = vectors.makeIterator()
        var pendingFirst = iterator.next()
        while let first = pendingFirst {
            let dimension = first.1.count
            // Fill the model's last pack first, so ingesting document by document still makes full packs.
            // Only the model's newest pack is a candidate (an index seek, not a scan over every
            // full pack).
            let tail = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, row_count, dead_rows, vectors, checksum FROM vector_pack
                    WHERE model = ? AND dimension = ? ORDER BY id DESC LIMIT 1
                    """, arguments: [model, dimension]
            ).flatMap { row -> Row? in
                let count: Int = row["row_count"]
                let dead: Int = row["dead_rows"]
                return count < rowsPerPack && dead == 0 ? row : nil
            }
            let packID: Int64
            var used: Int
            var blob: Data
            if let tail {
                packID = tail["id"]
                used = tail["row_count"]
                blob = tail["vectors"]
                guard used >= 0, blob.count == used * dimension * 4 else {
                    throw StoreError.corrupted(
                        table: "vector_pack", row: packID,
                        reason: "row_count \(used) does not match its \(blob.count)-byte vectors blob")
                }
                // Extending a damaged pack would give the damage a fresh checksum.
                guard tail["checksum"] as Int64? == checksum(blob) else {
                    throw StoreError.corrupted(
                        table: "vector_pack", row: packID, reason: VectorPacking.checksumMismatch)
                }
            } else {
                // An empty pack row reserves the id the slots point at; filled below.
                try db.execute(
                    sql:
                        "INSERT INTO vector_pack(model, dimension, row_count, dead_rows, vectors) VALUES (?, ?, 0, 0, x'')",
                    arguments: [model, dimension])
                packID = db.lastInsertedRowID
                used = 0
                blob = Data()
            }
            let before = used
            blob.reserveCapacity(rowsPerPack * dimension * 4)
            // Claim a slot per new text hash; a hash that already has a vector is ignored (one statement).
            while used < rowsPerPack, let (hash, vector) = pendingFirst {
                guard vector.count == dimension else {
                    throw StoreError.dimensionMismatch(expected: dimension, actual: vector.count)
                }
                insertSlot.bind(model)
                insertSlot.bind(hash)
                insertSlot.bind(packID)
                insertSlot.bind(used)
                if try insertSlot.step(db) > 0 {
                    vector.withUnsafeBufferPointer { blob.append($0) }
                    used += 1
                }
                pendingFirst = iterator.next()
            }
            if used == 0 {
                try db.execute(sql: "DELETE FROM vector_pack WHERE id = ?", arguments: [packID])
            } else if used > before {
                try db.execute(
                    sql: "UPDATE vector_pack SET row_count = ?, vectors = ?, checksum = ? WHERE id = ?",
                    arguments: [used, blob, checksum(blob), packID])
            }
        }
    }

    /// Deletes the vectors (of every model) of those `textHashes` no chunk uses any more, and
    /// compacts packs left at least half dead.
    static func collectGarbage(_ db: Database, textHashes: some Sequence<String>) throws {
        let used = try db.cachedStatement(sql: "SELECT 1 FROM chunk WHERE text_hash = ? LIMIT 1")
        var touched = Set<Int64>()
        for hash in Set(textHashes) where try Bool.fetchOne(used, arguments: [hash]) != true {
            let packs = try Int64.fetchAll(
                db, sql: "SELECT pack_id FROM embedding WHERE text_hash = ?", arguments: [hash])
            guard !packs.isEmpty else { continue }
            try db.execute(sql: "DELETE FROM embedding WHERE text_hash = ?", arguments: [hash])
            for pack in packs {
                try db.execute(sql: "UPDATE vector_pack SET dead_rows = dead_rows + 1 WHERE id = ?", arguments: [pack])
                touched.insert(pack)
            }
        }
        for pack in touched.sorted() {
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT row_count, dead_rows FROM vector_pack WHERE id = ?", arguments: [pack])
            else { continue }
            let rowCount: Int = row["row_count"], dead: Int = row["dead_rows"]
            if dead * 2 >= rowCount { try compact(db, pack: pack) }
        }
    }

    /// Rewrites a pack with only its live rows (or deletes it when none is left).
    static func compact(_ db: Database, pack: Int64) throws {
        let live = try Row.fetchAll(
            db, sql: "SELECT model, text_hash, slot FROM embedding WHERE pack_id = ? ORDER BY slot", arguments: [pack])
        guard !live.isEmpty else {
            try db.execute(sql: "DELETE FROM vector_pack WHERE id = ?", arguments: [pack])
            return
        }
        guard
            let info = try Row.fetchOne(
                db, sql: "SELECT dimension, vectors FROM vector_pack WHERE id = ?", arguments: [pack])
        else { return }
        let dimension: Int = info["dimension"]
        let old: Data = info["vectors"]
        let rowBytes = dimension * 4
        guard rowBytes > 0, old.count % rowBytes == 0 else {
            throw StoreError.corrupted(
                table: "vector_pack", row: pack, reason: "its vectors blob is not whole rows of \(dimension) floats")
        }
        var blob = Data(capacity: live.count * rowBytes)
        for (newSlot, row) in live.enumerated() {
            let slot: Int = row["slot"]
            guard slot >= 0, (slot + 1) * rowBytes <= old.count else {
                throw StoreError.corrupted(
                    table: "vector_pack", row: pack, reason: "an embedding points at slot \(slot), outside the pack")
            }
            blob.append(old[old.startIndex + slot * rowBytes..<old.startIndex + (slot + 1) * rowBytes])
            try db.execute(
                sql: "UPDATE embedding SET slot = ? WHERE model = ? AND text_hash = ?",
                arguments: [newSlot, row["model"], row["text_hash"]])
        }
        try db.execute(
            sql: "UPDATE vector_pack SET row_count = ?, dead_rows = 0, vectors = ?, checksum = ? WHERE id = ?",
            arguments: [live.count, blob, checksum(blob), pack])
    }

    /// Reads the float32 vectors at `refs` straight from their blobs (SQLite incremental blob
    /// I/O: only the requested bytes are read, not the 1.5 MB pack).
    static func vectors(_ db: Database, refs: [VectorRef], dimension: Int) throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(refs.count)
        var handle: OpaquePointer?
        defer { if handle != nil { sqlite3_blob_close(handle) } }
        var openPack: Int64 = -1
        let rowBytes = Int32(dimension * 4)
        for ref in refs {
            if ref.pack != openPack {
                let rc: Int32
                if handle == nil {
                    rc = sqlite3_blob_open(db.sqliteConnection, "main", "vector_pack", "vectors", ref.pack, 0, &handle)
                } else {
                    rc = sqlite3_blob_reopen(handle, ref.pack)
                }
                guard rc == SQLITE_OK else {
                    throw StoreError.cannotOpen(path: "vector pack \(ref.pack)", reason: "missing (error \(rc))")
                }
                openPack = ref.pack
            }
            var vector = [Float](repeating: 0, count: dimension)
            let rc = vector.withUnsafeMutableBytes { buffer in
                sqlite3_blob_read(handle, buffer.baseAddress, rowBytes, Int32(ref.slot) * rowBytes)
            }
            guard rc == SQLITE_OK else {
                throw StoreError.cannotOpen(path: "vector pack \(ref.pack)", reason: "row \(ref.slot) unreadable")
            }
            out.append(vector)
        }
        return out
    }
}
