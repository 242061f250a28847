import Foundation

/// The shared, ordered log of every tenant's knowledge-base changes (PostgreSQL when several
/// nodes serve): the source of truth each node's local store and index are replayed from.
public protocol KnowledgeBaseLog: Sendable {
    /// Appends `record` as the tenant's next change; returns its version (1, 2, 3… per tenant).
    func append(tenant: String, record: KnowledgeBaseLogRecord, now: Date) async throws -> Int64
    /// The tenant's changes after `version`, oldest first, at most `limit`.
    func entries(tenant: String, after version: Int64, limit: Int) async throws -> [(
        version: Int64, record: KnowledgeBaseLogRecord
    )]
    /// Every tenant's latest version (tenants without changes are absent).
    func heads() async throws -> [String: Int64]
    /// The tenant's newest snapshot (``KnowledgeBaseLogRecord/snapshotFormat``) and its version.
    func latestSnapshot(tenant: String) async throws -> (version: Int64, record: KnowledgeBaseLogRecord)?
}
