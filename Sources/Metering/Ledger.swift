import Foundation
import GRDB
import KnowledgeBase

/// The metering ledger: an append-only, hash-chained record of every query, every tier attempt
/// and every later correction, in its own SQLite file.
///
/// - Append-only: the schema refuses UPDATE and DELETE (triggers); corrections are new rows.
/// - Idempotent: a query id is recorded once per tenant; recording it again returns the stored
///   outcome and writes nothing. The id is checked and written in the same transaction as the
///   rows, so a failed write never marks an id as seen.
/// - Auditable: each row carries the SHA-256 of its content chained to the previous row;
///   ``verify()`` names the first row that was altered, removed or re-ordered.
/// - Safe for several processes: writes are serialised by SQLite's write lock (WAL, busy timeout).
public struct Ledger: Sendable {
    public let writer: any DatabaseWriter
    public let path: String
    /// How far back an event's occurred-at time may be (backfills from another system).
    public static let backfillLimitDays = 34
    /// Clock skew tolerated for "future" times.
    public static let futureToleranceSeconds: TimeInterval = 300

    public init(path: String) throws {
        do {
            try DatabaseOpening.checkExistingFile(at: path, is: .ledger, migrator: LedgerSchema.migrator)
            let pool = try DatabaseOpening.pool(path: path)
            try self.init(writer: pool, path: path)
        } catch let error as LedgerError {
            throw error
        } catch let error as StoreKindError {
            throw LedgerError.cannotOpen(path: path, reason: error.message)
        } catch {
            throw LedgerError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    public init(writer: any DatabaseWriter, path: String = ":memory:") throws {
        self.writer = writer
        self.path = path
        do {
            try DatabaseOpening.open(writer, as: .ledger, migrator: LedgerSchema.migrator)
        } catch let error as StoreKindError {
            throw LedgerError.cannotOpen(path: path, reason: error.message)
        } catch {
            throw LedgerError.cannotOpen(path: path, reason: "not a cascade ledger or damaged (\(error))")
        }
    }

    /// The result of recording a query.
    public enum RecordResult: Sendable {
        /// Written now.
        case recorded([LedgerEntry])
        /// The query id was already recorded: the stored rows, nothing written.
        case duplicate([LedgerEntry])

        public var entries: [LedgerEntry] {
            switch self {
            case .recorded(let e), .duplicate(let e): e
            }
        }
    }

    /// Appends a query row and its attempt rows in one transaction, unless the tenant already
    /// has this query id. A row dated in a month whose invoice is final is refused (it would never
    /// be billed).
    ///
    /// When the id is already recorded, nothing about the query changes; but attempts that cost
    /// something were real work (two requests with one id raced, both ran the tiers): they are
    /// appended as attempt rows, marked as discarded, so their model cost is metered without a
    /// second resolution.
    /// - Parameter now: the recording time (tests pass a fixed clock).
    public func record(query: LedgerEntry, attempts: [LedgerEntry], now: Date = Date()) throws -> RecordResult {
        try Self.checkOccurredAt(query.occurredAt, now: now)
        for entry in attempts + [query] { try entry.validate() }
        return try writer.write { db in
            let existing = try Self.entries(db, tenant: query.tenant, queryID: query.queryID)
            if existing.contains(where: { $0.kind == .query }) {
                for var attempt in attempts where attempt.costMicros > 0 || attempt.tokensIn + attempt.tokensOut > 0 {
                    attempt.recordedAt = now
                    attempt.note = [attempt.note, Self.discardedNote].compactMap { $0 }.joined(separator: "; ")
                    _ = try Self.append(db, &attempt)
                }
                return .duplicate(existing)
            }
            try FinalizedMonths(db, tenant: query.tenant).check(query.occurredAt)
            var written: [LedgerEntry] = []
            for var entry in attempts + [query] {
                entry.recordedAt = now
                written.append(try Self.append(db, &entry))
            }
            try Self.emitRecorded(db, written: written, now: now)
            return .recorded(written)
        }
    }

    /// The note on an attempt whose query id was recorded by a concurrent request first.
    public static let discardedNote =
        "discarded: a concurrent request with the same query id was recorded first; this work's cost is metered"

    /// Records many queries in one transaction (imports, backfills, benchmarks): the same rules as
    /// ``record(query:attempts:now:)`` for each (a row in a finalized month refuses the whole
    /// batch), duplicates skipped. Returns how many were new.
    @discardableResult
    public func record(batch: [(query: LedgerEntry, attempts: [LedgerEntry])], now: Date = Date()) throws -> Int {
        for item in batch {
            try Self.checkOccurredAt(item.query.occurredAt, now: now)
            for entry in item.attempts + [item.query] { try entry.validate() }
        }
        return try writer.write { db in
            var recorded = 0
            var finalized: [String: FinalizedMonths] = [:]
            let exists = try db.cachedStatement(
                sql: "SELECT 1 FROM ledger_entry WHERE tenant = ? AND query_id = ? AND kind = 'query'")
            for item in batch {
                if try Bool.fetchOne(exists, arguments: [item.query.tenant, item.query.queryID]) == true { continue }
                let tenant = item.query.tenant
                if finalized[tenant] == nil { finalized[tenant] = try FinalizedMonths(db, tenant: tenant) }
                try finalized[tenant]?.check(item.query.occurredAt)
                for var entry in item.attempts + [item.query] {
                    entry.recordedAt = now
                    _ = try Self.append(db, &entry)
                }
                recorded += 1
            }
            return recorded
        }
    }

    /// Appends a correction that references an existing query (reopen, void, agent answer).
    public func correct(
        tenant: String?, queryID: String, outcome: String, answer: String? = nil, note: String? = nil,
        now: Date = Date()
    ) throws -> LedgerEntry {
        try writer.write { db in
            let rows = try Self.entries(db, tenant: tenant, queryID: queryID)
            let queries = rows.filter { $0.kind == .query }
            guard let original = queries.first else { throw LedgerError.unknownQuery(queryID) }
            if tenant == nil, Set(queries.map(\.tenant)).count > 1 {
                throw LedgerError.invalidInput(
                    "query id \(queryID) exists for tenants \(Set(queries.map(\.tenant)).sorted().joined(separator: ", ")); "
                        + "say which with --tenant")
            }
            try Self.checkCorrection(
                outcome, of: original, corrections: rows.filter { $0.kind == .correction }, answer: answer)
            try Self.checkCorrectionText(answer: answer, note: note)
            var entry = LedgerEntry(
                kind: .correction, queryID: queryID, tenant: original.tenant, conversationID: original.conversationID,
                userID: original.userID, tier: original.tier, outcome: outcome,
                question: WorkflowRuns.endCarriesName(original) ? original.question : nil, answer: answer,
                occurredAt: now, recordedAt: now, note: note)
            let written = try Self.append(db, &entry)
            try Self.emitCorrection(db, correction: written, original: original, now: now)
            return written
        }
    }

    /// Appends a workflow run's step (see ``LedgerStore/appendWorkflowStep(_:now:)``).
    public func appendWorkflowStep(_ step: LedgerEntry, now: Date = Date()) throws -> (row: LedgerEntry, replayed: Bool)
    {
        try step.validate()
        return try writer.write { db in
            let rows = try Self.entries(db, tenant: step.tenant, queryID: step.queryID)
            let decision = try WorkflowRuns.checkStep(step, rows: rows)
            if let stored = decision { return (stored, true) }
            var entry = step
            entry.recordedAt = now
            entry.question = rows.first { $0.kind == .query }?.question
            return (try Self.append(db, &entry), false)
        }
    }

    /// Escalated queries no agent has answered yet, oldest first (one tenant's, or every tenant's).
    public func openEscalations(tenant: String?) throws -> [LedgerEntry] {
        Self.openEscalations(in: try self.entries(tenant: tenant))
    }

    /// The escalated queries among `entries` that no `agent_answer` correction answers, in the
    /// order given (the rule every backend applies to its rows).
    public static func openEscalations(in entries: [LedgerEntry]) -> [LedgerEntry] {
        struct Key: Hashable {
            var tenant: String
            var queryID: String
        }
        let answered = Set(
            entries.filter { $0.kind == .correction && $0.outcome == "agent_answer" }.map {
                Key(tenant: $0.tenant, queryID: $0.queryID)
            })
        // A resolution the customer said did not help goes to a person at once, like an escalation.
        let rejected = Set(
            entries.filter { $0.kind == .correction && $0.outcome == Verdict.notHelpful.outcome }.map {
                Key(tenant: $0.tenant, queryID: $0.queryID)
            })
        return entries.filter {
            let key = Key(tenant: $0.tenant, queryID: $0.queryID)
            return $0.kind == .query && ($0.tier == "escalated" || rejected.contains(key)) && !answered.contains(key)
        }
    }

    /// The customer's verdict on a resolution (`POST /v1/queries/{id}/feedback`, `cascade ledger
    /// feedback`): a correction row, once per query.
    public enum Verdict: String, Sendable, CaseIterable {
        case helpful, notHelpful

        /// The correction's outcome: `confirmed`, or `rejected_by_customer` (never billed; the
        /// question goes to a person at once).
        public var outcome: String {
            switch self {
            case .helpful: "confirmed"
            case .notHelpful: "rejected_by_customer"
            }
        }

        public init?(outcome: String) {
            guard let verdict = Self.allCases.first(where: { $0.outcome == outcome }) else { return nil }
            self = verdict
        }
    }

    /// Checks a correction's own fields (NUL characters cannot be stored exactly).
    public static func checkCorrectionText(answer: String?, note: String?) throws {
        for (name, value) in [("answer", answer), ("note", note)] where value?.utf8.contains(0) == true {
            throw LedgerError.invalidInput(
                "\(name) contains a NUL character, which the ledger cannot store exactly")
        }
    }

    /// The rules every correction follows, whoever asks for it (CLI or service): only resolutions
    /// are voided or reopened, once; only escalations get an agent's answer, once, and not an empty one.
    public static func checkCorrection(
        _ outcome: String, of query: LedgerEntry, corrections: [LedgerEntry], answer: String?
    )
        throws
    {
        let id = query.queryID
        switch outcome {
        case "voided", "reopened":
            guard ["rule", "rag", "llm"].contains(query.tier) else {
                throw LedgerError.invalidInput(
                    "query \(id) was \(query.tier), not resolved: only resolutions can be \(outcome); nothing written")
            }
            if let done = corrections.first(where: { $0.outcome == "voided" || $0.outcome == outcome }) {
                throw LedgerError.invalidInput("query \(id) is already \(done.outcome); nothing written")
            }
        case Verdict.helpful.outcome, Verdict.notHelpful.outcome:
            guard ["rule", "rag", "llm"].contains(query.tier) else {
                throw LedgerError.invalidInput(
                    "query \(id) was \(query.tier), not resolved: only a resolution gets the customer's verdict; nothing written"
                )
            }
            if let done = corrections.first(where: { Verdict(outcome: $0.outcome) != nil || $0.outcome == "voided" }) {
                throw LedgerError.invalidInput("query \(id) is already \(done.outcome); nothing written")
            }
        case _ where WorkflowOutcome(rawValue: outcome) != nil:
            guard query.tier == WorkflowRuns.tier else {
                throw LedgerError.invalidInput("\(id) is a question, not a workflow run; nothing written")
            }
            if let ended = corrections.first(where: { WorkflowOutcome(rawValue: $0.outcome) != nil }) {
                throw LedgerError.invalidInput("workflow run \(id) already ended (\(ended.outcome)); nothing written")
            }
        case "agent_answer":
            let rejectedByCustomer = corrections.contains { $0.outcome == Verdict.notHelpful.outcome }
            guard query.tier == "escalated" || rejectedByCustomer else {
                throw LedgerError.invalidInput("query \(id) was not escalated (tier \(query.tier)); nothing to resolve")
            }
            guard let answer, !answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw LedgerError.invalidInput("the agent's answer is empty; write what the customer is told")
            }
            if corrections.contains(where: { $0.outcome == "agent_answer" }) {
                throw LedgerError.invalidInput("escalation \(id) is already resolved")
            }
        default:
            throw LedgerError.invalidInput(
                "unknown correction \(outcome) (voided, reopened, agent_answer, confirmed, rejected_by_customer, or a workflow run's end: succeeded, failed_check, failed, handed_off)"
            )
        }
    }

    /// Every row, in ledger order, optionally for one tenant and from a date on.
    public func entries(tenant: String? = nil, since: Date? = nil) throws -> [LedgerEntry] {
        try writer.read { db in
            var sql = "SELECT * FROM ledger_entry WHERE 1"
            var arguments: [any DatabaseValueConvertible] = []
            if let tenant {
                sql += " AND tenant = ?"
                arguments.append(tenant)
            }
            if let since {
                sql += " AND occurred_at_ms >= ?"
                arguments.append(LedgerEntry.milliseconds(since))
            }
            sql += " ORDER BY seq"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { try Self.entry($0) }
        }
    }

    /// The rows of one query (its attempts, the query row, its corrections).
    public func entries(tenant: String?, queryID: String) throws -> [LedgerEntry] {
        try writer.read { db in try Self.entries(db, tenant: tenant, queryID: queryID) }
    }

    /// Refuses an event time outside the accepted window (34 days back, a few minutes ahead).
    public static func checkOccurredAtWindow(_ date: Date, now: Date = Date()) throws {
        try checkOccurredAt(date, now: now)
    }

    public static func checkOccurredAt(_ date: Date, now: Date) throws {
        if date.timeIntervalSince(now) > futureToleranceSeconds { throw LedgerError.occurredInFuture(date) }
        if now.timeIntervalSince(date) > Double(backfillLimitDays) * 86_400 {
            throw LedgerError.occurredTooLongAgo(date, limitDays: backfillLimitDays)
        }
    }

    static func append(_ db: Database, _ entry: inout LedgerEntry) throws -> LedgerEntry {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger_entry ORDER BY seq DESC LIMIT 1")
        entry.sequence = (last?["seq"] as Int64? ?? 0) + 1
        entry.previousHash = last?["hash"] ?? ""
        entry.hashScheme = .current
        // As stored and hashed (confidence in whole millionths, times in whole milliseconds), so the row
        // returned is the row read back.
        entry.confidence = entry.confidence.map { (($0 * 1_000_000).rounded()) / 1_000_000 }
        entry.occurredAt = LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(entry.occurredAt))
        entry.recordedAt = LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(entry.recordedAt))
        entry.hash = entry.contentHash
        try db.execute(
            sql: """
                INSERT INTO ledger_entry(seq, kind, query_id, tenant, conversation_id, user_id, tier, outcome, question,
                    answer, citations, confidence, cost_micros, tokens_in, tokens_out, latency_ms, occurred_at_ms,
                    recorded_at_ms, note, previous_hash, hash, hash_scheme, evidence)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                entry.sequence, entry.kind.rawValue, entry.queryID, entry.tenant, entry.conversationID, entry.userID,
                entry.tier, entry.outcome, entry.question, entry.answer, entry.citations,
                entry.confidence, entry.costMicros, entry.tokensIn,
                entry.tokensOut, entry.latencyMs, LedgerEntry.milliseconds(entry.occurredAt),
                LedgerEntry.milliseconds(entry.recordedAt), entry.note, entry.previousHash, entry.hash,
                entry.hashScheme.rawValue, entry.evidence,
            ])
        return entry
    }

    private static func entries(_ db: Database, tenant: String?, queryID: String) throws -> [LedgerEntry] {
        var sql = "SELECT * FROM ledger_entry WHERE query_id = ?"
        var arguments: [any DatabaseValueConvertible] = [queryID]
        if let tenant {
            sql += " AND tenant = ?"
            arguments.append(tenant)
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY seq", arguments: StatementArguments(arguments)).map {
            try entry($0)
        }
    }

    /// A ledger row read from the database; a value of the wrong type (a damaged file) throws
    /// instead of stopping the process.
    static func entry(_ row: Row) throws -> LedgerEntry {
        let kind: String = try row.decode(forColumn: "kind")
        guard let decodedKind = LedgerEntry.Kind(rawValue: kind) else {
            throw LedgerError.invalidInput("ledger row has an unknown kind \(kind): the file is damaged")
        }
        var entry = LedgerEntry(
            sequence: try row.decode(forColumn: "seq"), kind: decodedKind,
            queryID: try row.decode(forColumn: "query_id"),
            tenant: try row.decode(forColumn: "tenant"), conversationID: try row.decode(forColumn: "conversation_id"),
            userID: try row.decode(forColumn: "user_id"), tier: try row.decode(forColumn: "tier"),
            outcome: try row.decode(forColumn: "outcome"), question: try row.decode(forColumn: "question"),
            answer: try row.decode(forColumn: "answer"), citations: try row.decode(forColumn: "citations"),
            confidence: try row.decode(forColumn: "confidence"), costMicros: try row.decode(forColumn: "cost_micros"),
            tokensIn: try row.decode(forColumn: "tokens_in"), tokensOut: try row.decode(forColumn: "tokens_out"),
            latencyMs: try row.decode(forColumn: "latency_ms"),
            occurredAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "occurred_at_ms")),
            recordedAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "recorded_at_ms")),
            note: try row.decode(forColumn: "note"), previousHash: try row.decode(forColumn: "previous_hash"),
            hash: try row.decode(forColumn: "hash"),
            evidence: row.hasColumn("evidence") ? try row.decode(forColumn: "evidence") : nil)
        entry.hashScheme = HashScheme(rawValue: try row.decode(Int?.self, forColumn: "hash_scheme") ?? 1) ?? .legacy
        return entry
    }
}
