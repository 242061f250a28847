import Foundation
import GRDB

/// A customer's verdict on a resolution, with the resolution it judged: what the cascade
/// remembers of its customers' answers ("helpful", "not helpful") when the same question comes
/// back.
///
/// The resolver reads a tenant's verdicts before it bills a RAG answer: a passage a customer said
/// did not answer a question is not given (and billed) again for the same question in other words
/// (see `Resolver`), and a passage a customer confirmed is named in the new answer's evidence.
public struct CustomerVerdict: Sendable, Hashable {
    /// The resolution judged (its query row: question, answer, citations, evidence).
    public var query: LedgerEntry
    public var verdict: Ledger.Verdict
    /// What the customer wrote with the verdict, if anything.
    public var comment: String?
    /// When the verdict was recorded.
    public var recordedAt: Date

    public init(query: LedgerEntry, verdict: Ledger.Verdict, comment: String?, recordedAt: Date) {
        self.query = query
        self.verdict = verdict
        self.comment = comment
        self.recordedAt = recordedAt
    }
}

extension Ledger {
    /// Pairs verdict rows with the query rows they judge (the rule every backend applies): the
    /// first verdict of each query counts (a store records one per query; a history imported from
    /// elsewhere might hold more), oldest verdict first; a verdict whose query row is missing is
    /// left out.
    /// - Parameters:
    ///   - queries: the tenant's query rows (others are ignored).
    ///   - corrections: the tenant's correction rows in ledger order (those that are not verdicts
    ///     are ignored).
    public static func customerVerdicts(queries: [LedgerEntry], corrections: [LedgerEntry]) -> [CustomerVerdict] {
        var byID: [String: LedgerEntry] = [:]
        for query in queries where query.kind == .query { byID[query.tenant + "\u{0}" + query.queryID] = query }
        var seen = Set<String>()
        var verdicts: [CustomerVerdict] = []
        for row in corrections where row.kind == .correction {
            let key = row.tenant + "\u{0}" + row.queryID
            guard let verdict = Verdict(outcome: row.outcome), let query = byID[key], seen.insert(key).inserted else {
                continue
            }
            let comment = row.note.flatMap { $0.isEmpty ? nil : $0 }
            verdicts.append(
                CustomerVerdict(query: query, verdict: verdict, comment: comment, recordedAt: row.recordedAt))
        }
        return verdicts
    }

    /// The verdict rows' filter, written out (not bound) so the partial index `ledger_verdicts`,
    /// whose condition it is, can serve it on SQLite and PostgreSQL alike.
    public static let verdictRowsCondition =
        "kind = 'correction' AND outcome IN ('confirmed', 'rejected_by_customer')"

    /// The position and hash of `tenant`'s latest verdict row.
    public func latestVerdict(tenant: String) throws -> (sequence: Int64, hash: String)? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT seq, hash FROM ledger_entry WHERE tenant = ? AND \(Self.verdictRowsCondition) "
                    + "ORDER BY seq DESC LIMIT 1",
                arguments: [tenant]
            ).map { (sequence: $0["seq"], hash: $0["hash"]) }
        }
    }

    /// The customers' verdicts on `tenant`'s resolutions, oldest first: the latest `limit` verdict
    /// rows when given (the resolver reads ``VerdictMemory/window`` before each RAG answer), all
    /// otherwise.
    public func customerVerdicts(tenant: String, latest limit: Int?) throws -> [CustomerVerdict] {
        let bound = limit.map { max(0, $0) } ?? -1  // SQLite: LIMIT -1 is no limit
        return try writer.read { db in
            let corrections = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM ledger_entry WHERE tenant = ? AND \(Self.verdictRowsCondition)
                    ORDER BY seq DESC LIMIT ?
                    """,
                arguments: [tenant, bound]
            ).map { try Self.entry($0) }.reversed()
            let ids = Array(Set(corrections.map(\.queryID)))
            var queries: [LedgerEntry] = []
            // In slices: SQLite binds at most 32,766 parameters per statement.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let slice = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ", ")
                queries += try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM ledger_entry WHERE tenant = ? AND kind = 'query' AND query_id IN (\(marks))",
                    arguments: StatementArguments([tenant] + slice)
                ).map { try Self.entry($0) }
            }
            return Self.customerVerdicts(queries: queries, corrections: Array(corrections))
        }
    }
}
