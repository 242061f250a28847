import Foundation
import GRDB

extension KnowledgeBaseStore {
    /// Switches the knowledge base to `model` in one transaction: stores the vectors it lacks
    /// under `model`, records the model, frees the previous model's vectors, records `logVersion`,
    /// and builds the new index, handed to `publish` with the commit (as in
    /// ``apply(_:model:dimension:vectors:logVersion:publish:)``, so a server swaps index and model
    /// at one instant).
    ///
    /// Refused whole, before anything is written, when a chunk of the store has no vector under
    /// `model` (in `vectors` or already stored): a switch never leaves chunks unsearchable.
    @discardableResult
    public func applyModelSwitch(
        model: String, dimension: Int, vectors: [String: [Float]], logVersion: Int64? = nil,
        publish: (ChunkVectorIndex, () throws -> Void) throws -> Void = { _, commit in try commit() }
    ) throws -> AppliedChanges {
        try writer.writeWithoutTransaction { db in
            try db.beginTransaction(.immediate)
            do {
                let needed = Set(try String.fetchAll(db, sql: "SELECT DISTINCT text_hash FROM chunk"))
                let stored = Set(
                    try String.fetchAll(db, sql: "SELECT text_hash FROM embedding WHERE model = ?", arguments: [model]))
                let missing = needed.subtracting(stored).subtracting(vectors.keys)
                guard missing.isEmpty else {
                    throw StoreError.corrupted(
                        table: "kb_log", row: logVersion ?? 0,
                        reason: "the switch to \(model) has no vector for \(missing.count) chunk(s)")
                }
                for vector in vectors.values where vector.count != dimension {
                    throw StoreError.dimensionMismatch(expected: dimension, actual: vector.count)
                }
                let new = vectors.filter { needed.contains($0.key) && !stored.contains($0.key) }
                try VectorPacking.append(
                    db, model: model, vectors: new.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                try Self.setModel(db, id: model, dimension: dimension)
                // The previous model's vectors can no longer serve a query: free their space.
                try db.execute(sql: "DELETE FROM embedding WHERE model != ?", arguments: [model])
                try db.execute(sql: "DELETE FROM vector_pack WHERE model != ?", arguments: [model])
                try commit(db, model: model, dimension: dimension, logVersion: logVersion, publish: publish)
                return AppliedChanges(documentsWritten: 0, documentsRemoved: 0, chunksWritten: 0)
            } catch {
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
    }

    /// Every chunk text's vector under `model`, for a switch record: each must be stored already
    /// (``Reindexer/embedMissing(progress:)`` puts them there).
    public func switchVectors(model: String) throws -> [String: [Float]] {
        let hashes = try writer.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT text_hash FROM chunk")) }
        let vectors = try cachedVectors(model: model, textHashes: hashes)
        guard vectors.count == hashes.count else {
            throw StoreError.corrupted(
                table: "embedding", row: 0,
                reason: "\(hashes.count - vectors.count) chunk(s) have no \(model) vector yet")
        }
        return vectors
    }
}

/// A change in the shared log whose embedding model is not the one the replaying node uses: the
/// node must load that model (`model`, `dimension`) and replay again from `version`.
public struct KnowledgeBaseModelChange: Error, Equatable, Sendable, CustomStringConvertible {
    public var model: String
    public var dimension: Int
    public var version: Int64

    public var description: String {
        "the shared knowledge base uses embedding model \(model) (\(dimension) dimensions) from change \(version) on"
    }
}
