import Foundation

extension KnowledgeBaseStore {
    /// Applies the shared log's changes after the version this store holds, in order, each in one
    /// transaction that also records its version (a crash resumes after the last whole change).
    /// `publish` runs at each commit, as in ``apply(_:model:dimension:vectors:logVersion:publish:)``
    /// (a server swaps its index there).
    /// - Parameters:
    ///   - model: the embedding model the caller serves. At a change of another model (the first
    ///     change a new node sees, or a `reindex` switch) `adopt` is called with it before the
    ///     change is applied, and replay goes on with that model; without `adopt`, replay stops
    ///     before the change with ``KnowledgeBaseModelChange``.
    ///   - adopt: loads the model a change needs (the caller's next `publish` then serves it).
    /// - Returns: what each applied version did.
    @discardableResult
    public func replay(
        _ log: any KnowledgeBaseLog, tenant: String, model: (id: String, dimension: Int)? = nil,
        adopt: ((_ id: String, _ dimension: Int) throws -> Void)? = nil,
        publish: (ChunkVectorIndex, () throws -> Void) throws -> Void = { _, commit in try commit() }
    ) async throws -> [Int64: AppliedChanges] {
        var model = model
        var applied: [Int64: AppliedChanges] = [:]
        // A copy with nothing yet starts from the newest snapshot, not from the first change.
        if try logVersion() == 0, let (version, snapshot) = try await log.latestSnapshot(tenant: tenant) {
            try apply(snapshot, version: version, model: &model, adopt: adopt, publish: publish, into: &applied)
        }
        while true {
            let batch = try await log.entries(tenant: tenant, after: try logVersion(), limit: 16)
            if batch.isEmpty { return applied }
            for (version, record) in batch {
                try apply(record, version: version, model: &model, adopt: adopt, publish: publish, into: &applied)
            }
        }
    }

    private func apply(
        _ record: KnowledgeBaseLogRecord, version: Int64, model: inout (id: String, dimension: Int)?,
        adopt: ((_ id: String, _ dimension: Int) throws -> Void)?,
        publish: (ChunkVectorIndex, () throws -> Void) throws -> Void, into applied: inout [Int64: AppliedChanges]
    ) throws {
        if let current = model, record.model != current.id || record.dimension != current.dimension {
            guard let adopt else {
                throw KnowledgeBaseModelChange(model: record.model, dimension: record.dimension, version: version)
            }
            try adopt(record.model, record.dimension)
            model = (record.model, record.dimension)
        }
        var (changes, vectors) = try record.changes()
        if record.isModelSwitch {
            applied[version] = try applyModelSwitch(
                model: record.model, dimension: record.dimension, vectors: vectors, logVersion: version,
                publish: publish)
            return
        }
        if try record.isSnapshot && logVersion() > 0 {
            // A copy that replayed every change up to the snapshot already holds what it says.
            (changes, vectors) = (KnowledgeBaseChanges(), [:])
        }
        applied[version] = try apply(
            changes, model: record.model, dimension: record.dimension, vectors: vectors, logVersion: version,
            publish: publish)
    }
}
