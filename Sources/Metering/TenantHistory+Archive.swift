import Foundation

/// A tenant's history as files of JSON lines (one row per line, every value exact: times in
/// milliseconds, money in micro-dollars, the stored citations text), for `cascade export`.
extension TenantHistory {
    public static let ledgerFile = "ledger.jsonl"
    public static let billingFile = "billing.jsonl"
    public static let finalInvoicesFile = "final_invoices.jsonl"

    struct Row: Codable {
        var sequence: Int64
        var kind: String
        var query_id: String
        var tenant: String
        var conversation_id: String?
        var user_id: String?
        var tier: String
        var outcome: String
        var question: String?
        var answer: String?
        var citations: String?
        var confidence: Double?
        var cost_micros: Int64
        var tokens_in: Int
        var tokens_out: Int
        var latency_ms: Int
        var occurred_at_ms: Int64
        var recorded_at_ms: Int64
        var note: String?
        var previous_hash: String
        var hash: String
        var hash_scheme: Int
        /// Absent in archives written before ledger schema v5.
        var evidence: String?
    }

    struct Billing: Codable {
        var tenant: String
        var plan: String
        var billing: String
        var timezone: String
        var reopen_window_hours: Int
        var effective_month: String
        var recorded_at_ms: Int64
    }

    /// The three files' contents.
    public func archiveFiles() throws -> [String: Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func lines<T: Encodable>(_ items: [T]) throws -> Data {
            var data = Data()
            for item in items {
                data.append(try encoder.encode(item))
                data.append(0x0A)
            }
            return data
        }
        let rows = entries.map { e in
            Row(
                sequence: e.sequence, kind: e.kind.rawValue, query_id: e.queryID, tenant: e.tenant,
                conversation_id: e.conversationID, user_id: e.userID, tier: e.tier, outcome: e.outcome,
                question: e.question, answer: e.answer, citations: e.citations, confidence: e.confidence,
                cost_micros: e.costMicros, tokens_in: e.tokensIn, tokens_out: e.tokensOut, latency_ms: e.latencyMs,
                occurred_at_ms: LedgerEntry.milliseconds(e.occurredAt),
                recorded_at_ms: LedgerEntry.milliseconds(e.recordedAt), note: e.note, previous_hash: e.previousHash,
                hash: e.hash, hash_scheme: e.hashScheme.rawValue, evidence: e.evidence)
        }
        let changes = billing.map { b in
            Billing(
                tenant: b.tenant, plan: b.plan, billing: b.billing.rawValue, timezone: b.timeZone,
                reopen_window_hours: b.reopenWindowHours, effective_month: b.effectiveMonth,
                recorded_at_ms: LedgerEntry.milliseconds(b.recordedAt))
        }
        var finals = Data()
        for invoice in finalInvoices {
            finals.append(Data(try invoice.storedBody().utf8))
            finals.append(0x0A)
        }
        return [
            Self.ledgerFile: try lines(rows), Self.billingFile: try lines(changes), Self.finalInvoicesFile: finals,
        ]
    }

    /// Reads the three files back; any line that is not what it should be is an error naming the
    /// file and line (nothing is skipped). Call ``check()`` before writing it anywhere.
    public init(tenant: String, archiveFiles files: [String: Data]) throws {
        func lines(_ name: String) throws -> [(Int, Data)] {
            guard let data = files[name] else { throw LedgerError.invalidInput("the export has no \(name)") }
            return data.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated().map { ($0 + 1, Data($1)) }
        }
        func decode<T: Decodable>(_ type: T.Type, _ name: String, _ number: Int, _ line: Data) throws -> T {
            do {
                return try JSONDecoder().decode(type, from: line)
            } catch {
                let what = type == Row.self ? "ledger row" : "billing change"
                throw LedgerError.invalidInput("\(name) line \(number) is not a \(what)")
            }
        }
        var entries: [LedgerEntry] = []
        for (number, line) in try lines(Self.ledgerFile) {
            let r = try decode(Row.self, Self.ledgerFile, number, line)
            guard let kind = LedgerEntry.Kind(rawValue: r.kind), let scheme = HashScheme(rawValue: r.hash_scheme) else {
                throw LedgerError.invalidInput("\(Self.ledgerFile) line \(number) has an unknown kind or hash scheme")
            }
            var entry = LedgerEntry(
                sequence: r.sequence, kind: kind, queryID: r.query_id, tenant: r.tenant,
                conversationID: r.conversation_id, userID: r.user_id, tier: r.tier, outcome: r.outcome,
                question: r.question, answer: r.answer, citations: r.citations, confidence: r.confidence,
                costMicros: r.cost_micros, tokensIn: r.tokens_in, tokensOut: r.tokens_out, latencyMs: r.latency_ms,
                occurredAt: LedgerEntry.date(milliseconds: r.occurred_at_ms),
                recordedAt: LedgerEntry.date(milliseconds: r.recorded_at_ms), note: r.note,
                previousHash: r.previous_hash, hash: r.hash, evidence: r.evidence)
            entry.hashScheme = scheme
            entries.append(entry)
        }
        var billing: [TenantBilling] = []
        for (number, line) in try lines(Self.billingFile) {
            let b = try decode(Billing.self, Self.billingFile, number, line)
            guard let mode = BillingMode(rawValue: b.billing), TimeZone(identifier: b.timezone) != nil,
                (try? BillingMonth(b.effective_month)) != nil
            else {
                throw LedgerError.invalidInput("\(Self.billingFile) line \(number) is not a valid billing change")
            }
            billing.append(
                TenantBilling(
                    tenant: b.tenant, plan: b.plan, billing: mode, timeZone: b.timezone,
                    reopenWindowHours: b.reopen_window_hours, effectiveMonth: b.effective_month,
                    recordedAt: LedgerEntry.date(milliseconds: b.recorded_at_ms)))
        }
        var finals: [Invoice] = []
        for (number, line) in try lines(Self.finalInvoicesFile) {
            do {
                finals.append(try Invoice.decodeStored(String(decoding: line, as: UTF8.self)))
            } catch {
                throw LedgerError.invalidInput("\(Self.finalInvoicesFile) line \(number) is not a final invoice")
            }
        }
        self.init(tenant: tenant, entries: entries, billing: billing, finalInvoices: finals)
    }
}
