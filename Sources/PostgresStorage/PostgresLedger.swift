import Foundation
import Logging
import Metering
import PostgresNIO

/// The metering ledger on PostgreSQL, shared by every node: the same rules as the SQLite
/// ``Ledger`` (the shared ones are Metering's own functions, called from both), one hash chain
/// per tenant.
///
/// Why no answered question is lost or recorded twice, whichever nodes write: every append for a
/// tenant first takes that tenant's transaction-scoped advisory lock, then reads the tenant's
/// rows for the query id and the chain's head, then inserts, then commits (which releases the
/// lock). Two nodes recording the same (tenant, query id) are therefore serialised: the second
/// sees the first's committed query row and returns it as a duplicate. The unique index on
/// (tenant, query id) for query rows backs this up in the database itself, and (tenant, seq) is
/// unique, so a chain can never fork. A transaction that fails (node killed, server restarted)
/// rolls back whole: no half-written query.
public struct PostgresLedger: LedgerStore {
    public let database: PostgresDatabase

    /// Opens the ledger of a migrated database (``PostgresDatabase/migrate()``).
    public init(database: PostgresDatabase) async throws {
        try await database.checkSchema()
        self.database = database
    }

    public func record(query: LedgerEntry, attempts: [LedgerEntry], now: Date) async throws -> Ledger.RecordResult {
        try Ledger.checkOccurredAt(query.occurredAt, now: now)
        for entry in attempts + [query] { try entry.validate() }
        let logger = database.logger
        return try await database.transaction { connection in
            try await Self.lock(tenant: query.tenant, on: connection, logger: logger)
            // One round trip for what the append needs to know (after the lock, so it sees every
            // append of this tenant committed before).
            let state = try await Self.appendState(
                tenant: query.tenant, queryID: query.queryID, on: connection, logger: logger)
            var head = state.head
            if state.existing.contains(where: { $0.kind == .query }) {
                var discarded: [LedgerEntry] = []
                for var attempt in attempts where attempt.costMicros > 0 || attempt.tokensIn + attempt.tokensOut > 0 {
                    attempt.recordedAt = now
                    attempt.note = [attempt.note, Ledger.discardedNote].compactMap { $0 }.joined(separator: "; ")
                    discarded.append(attempt)
                }
                _ = try await Self.append(discarded, after: &head, on: connection, logger: logger)
                return .duplicate(state.existing)
            }
            if state.mayHaveFinalizedMonths {
                try await Self.finalizedMonths(tenant: query.tenant, on: connection, logger: logger).check(
                    query.occurredAt)
            }
            let entries = (attempts + [query]).map { entry -> LedgerEntry in
                var entry = entry
                entry.recordedAt = now
                return entry
            }
            let written = try await Self.append(entries, after: &head, on: connection, logger: logger)
            try await Self.emitRecorded(written, now: now, on: connection, logger: logger)
            return .recorded(written)
        }
    }

    public func correct(
        tenant: String?, queryID: String, outcome: String, answer: String?, note: String?, now: Date
    ) async throws -> LedgerEntry {
        try Ledger.checkCorrectionText(answer: answer, note: note)
        let logger = database.logger
        // Which tenant's chain: the caller's, or the only tenant that has this query id.
        let owner: String
        if let tenant {
            owner = tenant
        } else {
            let tenants = Set(
                try await entries(tenant: nil, queryID: queryID).filter { $0.kind == .query }.map(\.tenant))
            guard let only = tenants.first else { throw LedgerError.unknownQuery(queryID) }
            guard tenants.count == 1 else {
                throw LedgerError.invalidInput(
                    "query id \(queryID) exists for tenants \(tenants.sorted().joined(separator: ", ")); "
                        + "say which with --tenant")
            }
            owner = only
        }
        return try await database.transaction { connection in
            try await Self.lock(tenant: owner, on: connection, logger: logger)
            let state = try await Self.appendState(tenant: owner, queryID: queryID, on: connection, logger: logger)
            let rows = state.existing
            guard let original = rows.first(where: { $0.kind == .query }) else {
                throw LedgerError.unknownQuery(queryID)
            }
            try Ledger.checkCorrection(
                outcome, of: original, corrections: rows.filter { $0.kind == .correction }, answer: answer)
            var head = state.head
            let entry = LedgerEntry(
                kind: .correction, queryID: queryID, tenant: owner, conversationID: original.conversationID,
                userID: original.userID, tier: original.tier, outcome: outcome,
                question: WorkflowRuns.endCarriesName(original) ? original.question : nil, answer: answer,
                occurredAt: now, recordedAt: now, note: note)
            let written = try await Self.append([entry], after: &head, on: connection, logger: logger)[0]
            try await Self.emitCorrection(written, original: original, now: now, on: connection, logger: logger)
            return written
        }
    }

    public func appendWorkflowStep(_ step: LedgerEntry, now: Date) async throws -> (row: LedgerEntry, replayed: Bool) {
        try step.validate()
        let logger = database.logger
        return try await database.transaction { connection in
            try await Self.lock(tenant: step.tenant, on: connection, logger: logger)
            let state = try await Self.appendState(
                tenant: step.tenant, queryID: step.queryID, on: connection, logger: logger)
            if let stored = try WorkflowRuns.checkStep(step, rows: state.existing) { return (stored, true) }
            var entry = step
            entry.recordedAt = now
            entry.question = state.existing.first { $0.kind == .query }?.question
            var head = state.head
            return (try await Self.append([entry], after: &head, on: connection, logger: logger)[0], false)
        }
    }

    public func entries(tenant: String?, since: Date?) async throws -> [LedgerEntry] {
        let logger = database.logger
        let from = since.map(LedgerEntry.milliseconds) ?? Int64.min
        return try await database.connection { connection in
            let rows: [PostgresRow]
            if let tenant {
                rows = try await connection.run(
                    "SELECT * FROM ledger_entry WHERE tenant = \(tenant) AND occurred_at_ms >= \(from) ORDER BY seq",
                    logger: logger)
            } else {
                rows = try await connection.run(
                    "SELECT * FROM ledger_entry WHERE occurred_at_ms >= \(from) ORDER BY id", logger: logger)
            }
            return try await rows.map(Self.entry)
        }
    }

    public func entries(tenant: String?, queryID: String) async throws -> [LedgerEntry] {
        let logger = database.logger
        return try await database.connection { connection in
            try await Self.entries(tenant: tenant, queryID: queryID, on: connection, logger: logger)
        }
    }

    public func openEscalations(tenant: String?) async throws -> [LedgerEntry] {
        Ledger.openEscalations(in: try await entries(tenant: tenant, since: nil))
    }

    public func latestVerdict(tenant: String) async throws -> (sequence: Int64, hash: String)? {
        let logger = database.logger
        var query = PostgresQuery(
            unsafeSQL: "SELECT seq, hash FROM ledger_entry WHERE tenant = $1 AND \(Ledger.verdictRowsCondition) "
                + "ORDER BY seq DESC LIMIT 1")
        query.binds.append(tenant)
        return try await database.connection { [query] connection in
            guard let row = try await connection.run(query, logger: logger).first else { return nil }
            let (sequence, hash) = try row.decode((Int64, String).self)
            return (sequence, hash)
        }
    }

    public func customerVerdicts(tenant: String, latest limit: Int?) async throws -> [CustomerVerdict] {
        let logger = database.logger
        let bound = Int64(max(0, limit ?? Int(Int32.max)))
        // The condition is written out (not bound) so the partial index `ledger_verdicts` serves it.
        var query = PostgresQuery(
            unsafeSQL: "SELECT * FROM ledger_entry WHERE tenant = $1 AND \(Ledger.verdictRowsCondition) "
                + "ORDER BY seq DESC LIMIT $2")
        query.binds.append(tenant)
        query.binds.append(bound)
        return try await database.connection { [query] connection in
            let corrections = try await connection.run(query, logger: logger).map(Self.entry).reversed()
            let ids = Array(Set(corrections.map(\.queryID)))
            let queries = try await connection.run(
                "SELECT * FROM ledger_entry WHERE tenant = \(tenant) AND kind = 'query' AND query_id = ANY(\(ids))",
                logger: logger
            ).map(Self.entry)
            return Ledger.customerVerdicts(queries: queries, corrections: Array(corrections))
        }
    }

    // MARK: - Statements

    /// The tenant's append lock, held until the transaction ends (commit or rollback).
    static func lock(tenant: String, on connection: PostgresConnection, logger: Logger) async throws {
        // Keyed by schema and tenant: one lock per tenant's chain, wherever the tables live.
        try await connection.run(
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || \(tenant), 0))", logger: logger)
    }

    /// Links `entries` to the chain after `head` and inserts them in one statement.
    static func append(
        _ entries: [LedgerEntry], after head: inout (sequence: Int64, hash: String), on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [LedgerEntry] {
        guard !entries.isEmpty else { return [] }
        var linked: [LedgerEntry] = []
        var bindings = PostgresBindings(capacity: entries.count * 23)
        var tuples: [String] = []
        for var entry in entries {
            entry.sequence = head.sequence + 1
            entry.previousHash = head.hash
            entry.hashScheme = .current
            // As stored and hashed (confidence in whole millionths, times in whole milliseconds), as on SQLite.
            entry.confidence = entry.confidence.map { (($0 * 1_000_000).rounded()) / 1_000_000 }
            entry.occurredAt = LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(entry.occurredAt))
            entry.recordedAt = LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(entry.recordedAt))
            entry.hash = entry.contentHash
            let first = bindings.count
            try bindings.append(entry.sequence)
            try bindings.append(entry.kind.rawValue)
            try bindings.append(entry.queryID)
            try bindings.append(entry.tenant)
            try bindings.append(entry.conversationID)
            try bindings.append(entry.userID)
            try bindings.append(entry.tier)
            try bindings.append(entry.outcome)
            try bindings.append(entry.question)
            try bindings.append(entry.answer)
            try bindings.append(entry.citations)
            try bindings.append(entry.confidence)
            try bindings.append(entry.costMicros)
            try bindings.append(Int64(entry.tokensIn))
            try bindings.append(Int64(entry.tokensOut))
            try bindings.append(Int64(entry.latencyMs))
            try bindings.append(LedgerEntry.milliseconds(entry.occurredAt))
            try bindings.append(LedgerEntry.milliseconds(entry.recordedAt))
            try bindings.append(entry.note)
            try bindings.append(entry.previousHash)
            try bindings.append(entry.hash)
            try bindings.append(entry.hashScheme.rawValue)
            try bindings.append(entry.evidence)
            tuples.append("(" + (first + 1...bindings.count).map { "$\($0)" }.joined(separator: ", ") + ")")
            head = (entry.sequence, entry.hash)
            linked.append(entry)
        }
        let sql = """
            INSERT INTO ledger_entry(seq, kind, query_id, tenant, conversation_id, user_id, tier, outcome, question,
                answer, citations, confidence, cost_micros, tokens_in, tokens_out, latency_ms, occurred_at_ms,
                recorded_at_ms, note, previous_hash, hash, hash_scheme, evidence)
            VALUES \(tuples.joined(separator: ", "))
            """
        try await connection.run(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        return linked
    }

    /// What an append needs, in one statement: the rows already recorded for the query id, the
    /// head of the tenant's chain, and whether the tenant has any final invoice.
    static func appendState(tenant: String, queryID: String, on connection: PostgresConnection, logger: Logger)
        async throws -> (existing: [LedgerEntry], head: (sequence: Int64, hash: String), mayHaveFinalizedMonths: Bool)
    {
        let rows = try await connection.run(
            """
            SELECT 0 AS part, e.*, EXISTS (SELECT 1 FROM final_invoice f WHERE f.tenant = \(tenant)) AS has_final
            FROM ledger_entry e WHERE e.tenant = \(tenant) AND e.query_id = \(queryID)
            UNION ALL
            (SELECT 1 AS part, e.*, EXISTS (SELECT 1 FROM final_invoice f WHERE f.tenant = \(tenant)) AS has_final
             FROM ledger_entry e WHERE e.tenant = \(tenant) ORDER BY e.seq DESC LIMIT 1)
            """, logger: logger
        )
        var existing: [LedgerEntry] = []
        var head: (sequence: Int64, hash: String) = (0, "")
        // A tenant without rows yet: no answer from this statement, so check its invoices.
        var mayHaveFinalizedMonths = rows.isEmpty
        for row in rows {
            let r = row.makeRandomAccess()
            let entry = try entry(row)
            if try r["has_final"].decode(Bool.self) { mayHaveFinalizedMonths = true }
            if try r["part"].decode(Int.self) == 0 {
                existing.append(entry)
            } else {
                head = (entry.sequence, entry.hash)
            }
        }
        return (existing.sorted { $0.sequence < $1.sequence }, head, mayHaveFinalizedMonths)
    }

    static func entries(tenant: String?, queryID: String, on connection: PostgresConnection, logger: Logger)
        async throws -> [LedgerEntry]
    {
        let rows: [PostgresRow]
        if let tenant {
            rows = try await connection.run(
                "SELECT * FROM ledger_entry WHERE tenant = \(tenant) AND query_id = \(queryID) ORDER BY seq",
                logger: logger)
        } else {
            rows = try await connection.run(
                "SELECT * FROM ledger_entry WHERE query_id = \(queryID) ORDER BY id", logger: logger)
        }
        return try await rows.map(entry)
    }

    /// The tenant's finalized months with the time zone each was billed in (as on SQLite).
    static func finalizedMonths(tenant: String, on connection: PostgresConnection, logger: Logger) async throws
        -> FinalizedMonths
    {
        let rows = try await connection.run(
            """
            SELECT f.month,
                COALESCE(
                    (SELECT b.timezone FROM tenant_billing b WHERE b.tenant = f.tenant AND b.effective_month <= f.month
                     ORDER BY b.effective_month DESC, b.seq DESC LIMIT 1),
                    (SELECT b.timezone FROM tenant_billing b WHERE b.tenant = f.tenant ORDER BY b.seq LIMIT 1))
            FROM final_invoice f WHERE f.tenant = \(tenant)
            """, logger: logger
        )
        let months = try rows.map { row -> (month: String, timezone: String?) in
            let (month, zone) = try row.decode((String, String?).self)
            return (month, zone)
        }
        return FinalizedMonths(tenant: tenant, months: months)
    }

    /// A stored row; a value of the wrong kind means the table was written by something else.
    static func entry(_ row: PostgresRow) throws -> LedgerEntry {
        let r = row.makeRandomAccess()
        let kind = try r["kind"].decode(String.self)
        guard let decodedKind = LedgerEntry.Kind(rawValue: kind) else {
            throw LedgerError.invalidInput("ledger row has an unknown kind \(kind): the table is damaged")
        }
        var entry = LedgerEntry(
            sequence: try r["seq"].decode(Int64.self), kind: decodedKind,
            queryID: try r["query_id"].decode(String.self),
            tenant: try r["tenant"].decode(String.self), conversationID: try r["conversation_id"].decode(String?.self),
            userID: try r["user_id"].decode(String?.self), tier: try r["tier"].decode(String.self),
            outcome: try r["outcome"].decode(String.self), question: try r["question"].decode(String?.self),
            answer: try r["answer"].decode(String?.self), citations: try r["citations"].decode(String?.self),
            confidence: try r["confidence"].decode(Double?.self), costMicros: try r["cost_micros"].decode(Int64.self),
            tokensIn: Int(try r["tokens_in"].decode(Int64.self)),
            tokensOut: Int(try r["tokens_out"].decode(Int64.self)),
            latencyMs: Int(try r["latency_ms"].decode(Int64.self)),
            occurredAt: LedgerEntry.date(milliseconds: try r["occurred_at_ms"].decode(Int64.self)),
            recordedAt: LedgerEntry.date(milliseconds: try r["recorded_at_ms"].decode(Int64.self)),
            note: try r["note"].decode(String?.self), previousHash: try r["previous_hash"].decode(String.self),
            hash: try r["hash"].decode(String.self), evidence: try r["evidence"].decode(String?.self))
        entry.hashScheme = HashScheme(rawValue: try r["hash_scheme"].decode(Int.self)) ?? .legacy
        return entry
    }
}
