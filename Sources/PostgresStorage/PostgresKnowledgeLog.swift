import Foundation
import KnowledgeBase
import Logging
import PostgresNIO

/// Every tenant's knowledge-base changes in the PostgreSQL database all nodes share
/// (``KnowledgeBaseLog``). An append takes the tenant's knowledge-base lock, so two nodes
/// ingesting for one tenant get versions n and n+1, never the same one.
public struct PostgresKnowledgeLog: KnowledgeBaseLog {
    public let database: PostgresDatabase

    public init(database: PostgresDatabase) async throws {
        try await database.checkSchema()
        self.database = database
    }

    public func append(tenant: String, record: KnowledgeBaseLogRecord, now: Date) async throws -> Int64 {
        let body = try record.encoded()
        let model = record.model
        let kind = record.kind
        let ms = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        let logger = database.logger
        return try await database.transaction { connection in
            try await connection.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/kb/' || \(tenant), 0))",
                logger: logger)
            // Under the lock: the change must fit the log as it is now.
            let head = try await connection.run(
                "SELECT version, model FROM kb_log WHERE tenant = \(tenant) ORDER BY version DESC LIMIT 1",
                logger: logger
            ).first.map { try $0.decode((Int64, String).self) }
            if record.isModelSwitch || record.isSnapshot {
                let (verb, done) = record.isSnapshot ? ("compact", "compacted") : ("reindex", "reindexed")
                guard let head else {
                    throw StoreError.conflict(
                        "the shared knowledge base of \(tenant) is empty: there is nothing to \(verb)")
                }
                guard record.baseVersion == head.0 else {
                    throw StoreError.changedMeanwhile(
                        "the shared knowledge base of \(tenant) changed while it was \(done) (now at change \(head.0)); "
                            + "run \(verb) again: nothing was written")
                }
            }
            if !record.isModelSwitch, let head, head.1 != model {
                throw StoreError.conflict(
                    "the shared knowledge base of \(tenant) uses embedding model \(head.1), not \(model): embed with its "
                        + "model (leave out --embedder), or switch it first with `cascade reindex --tenant \(tenant) --database …`"
                )
            }
            let rows = try await connection.run(
                """
                INSERT INTO kb_log(tenant, version, model, recorded_at_ms, body, kind)
                SELECT \(tenant), COALESCE(MAX(version), 0) + 1, \(model), \(ms), \(body), \(kind) FROM kb_log
                WHERE tenant = \(tenant)
                RETURNING version
                """, logger: logger)
            guard let version = try rows.first?.decode(Int64.self) else {
                throw PostgresStoreError.unavailable("the knowledge-base change was not stored")
            }
            return version
        }
    }

    public func entries(tenant: String, after version: Int64, limit: Int) async throws -> [(
        version: Int64, record: KnowledgeBaseLogRecord
    )] {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run(
                """
                SELECT version, body FROM kb_log WHERE tenant = \(tenant) AND version > \(version)
                ORDER BY version LIMIT \(limit)
                """, logger: logger)
        }
        return try rows.map { row in
            let (version, body) = try row.decode((Int64, Data).self)
            return (version, try KnowledgeBaseLogRecord.decode(body, version: version))
        }
    }

    public func latestSnapshot(tenant: String) async throws -> (version: Int64, record: KnowledgeBaseLogRecord)? {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run(
                """
                SELECT version, body FROM kb_log WHERE tenant = \(tenant) AND kind = 'snapshot'
                ORDER BY version DESC LIMIT 1
                """, logger: logger)
        }
        return try rows.first.map { row in
            let (version, body) = try row.decode((Int64, Data).self)
            return (version, try KnowledgeBaseLogRecord.decode(body, version: version))
        }
    }

    public func heads() async throws -> [String: Int64] {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run("SELECT tenant, MAX(version) FROM kb_log GROUP BY tenant", logger: logger)
        }
        var heads: [String: Int64] = [:]
        for row in rows {
            let (tenant, version) = try row.decode((String, Int64).self)
            heads[tenant] = version
        }
        return heads
    }
}
