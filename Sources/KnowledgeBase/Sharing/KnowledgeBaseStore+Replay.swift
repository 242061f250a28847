import Foundation

extension KnowledgeBaseStore {
    /// Applies the shared log's changes after the version this store holds, in order, each in one
    /// transaction that also records its version (a crash resumes after the last whole change).
    /// `publish` runs at each commit, as in ``apply(_:model:dimension:vectors:logVersion:publish:)``
    /// (a server swaps its index there).
    /// - Parameter model: the embedding model this copy serves; a change of another model is refused.
    /// - Returns: what each applied version did.
    @discardableResult
    public func replay(
        _ log: any KnowledgeBaseLog, tenant: String, model: (id: String, dimension: Int)? = nil,
        publish: (ChunkVectorIndex, () throws -> Void) throws -> Void = { _, commit in try commit() }
    ) async throws -> [Int64: AppliedChanges] {
        var applied: [Int64: AppliedChanges] = [:]
        while true {
            let batch = try await log.entries(tenant: tenant, after: try logVersion(), limit: 16)
            if batch.isEmpty { return applied }
            for (version, record) in batch {
                if let model, record.model != model.id || record.dimension != model.dimension {
                    throw StoreError.modelMismatch(stored: record.model, requested: model.id)
                }
                let (changes, vectors) = try record.changes()
                applied[version] = try apply(
                    changes, model: record.model, dimension: record.dimension, vectors: vectors, logVersion: version,
                    publish: publish)
            }
        }
    }
}
