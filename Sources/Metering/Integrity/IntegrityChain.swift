import GRDB

/// The hash chains beside the ledger's own. Billing changes and final invoices decide money as
/// much as ledger rows do, so each table chains its rows the same way: every row carries the
/// hash of its content (``CanonicalEncoding``) and of the row before it.
enum IntegrityChain: CaseIterable {
    case billing
    case finalInvoice

    var table: String {
        switch self {
        case .billing: "tenant_billing"
        case .finalInvoice: "final_invoice"
        }
    }

    /// What a break in this chain is called in `ledger verify`'s message.
    var rowName: String {
        switch self {
        case .billing: "billing change"
        case .finalInvoice: "final invoice"
        }
    }

    /// The hash of `row` at position `sequence` chained to `previousHash`.
    func hash(_ row: Row, sequence: Int64, previousHash: String) -> String {
        switch self {
        case .billing:
            IntegrityHash.billing(
                sequence: sequence, tenant: row["tenant"], plan: row["plan"], billing: row["billing"],
                timeZone: row["timezone"], reopenWindowHours: row["reopen_window_hours"],
                effectiveMonth: row["effective_month"], recordedAtMs: row["recorded_at_ms"], previousHash: previousHash)
        case .finalInvoice:
            IntegrityHash.finalInvoice(
                sequence: sequence, tenant: row["tenant"], month: row["month"], body: row["body"],
                finalizedAtMs: row["finalized_at_ms"], ledgerSequence: row["ledger_sequence"],
                ledgerHeadHash: row["ledger_head_hash"], previousHash: previousHash)
        }
    }

    /// The chain's last row: its sequence and hash (0 and "" while empty).
    func head(_ db: Database) throws -> ChainHead {
        let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM \(table) ORDER BY seq DESC LIMIT 1")
        return ChainHead(sequence: row?["seq"] ?? 0, hash: row?["hash"] ?? "")
    }

    /// Appends a row: fills in `seq`, `previous_hash` and `hash` and inserts it.
    func append(_ db: Database, _ values: [String: (any DatabaseValueConvertible)?]) throws {
        let head = try head(db)
        var values = values
        values["seq"] = head.sequence + 1
        values["previous_hash"] = head.hash
        values["hash"] = hash(Row(values), sequence: head.sequence + 1, previousHash: head.hash)
        let columns = values.keys.sorted()
        try db.execute(
            sql:
                "INSERT INTO \(table)(\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))",
            arguments: StatementArguments(columns.map { values[$0] ?? nil }))
    }
}

/// The end of a hash chain: how many rows it vouches for and the last one's hash.
public struct ChainHead: Sendable, Hashable, Codable {
    public var sequence: Int64
    public var hash: String

    public init(sequence: Int64, hash: String) {
        self.sequence = sequence
        self.hash = hash
    }
}

/// The hashes of the chains beside the ledger (billing changes, final invoices), one definition
/// for every store that keeps them (SQLite, PostgreSQL).
public enum IntegrityHash {
    public static func billing(
        sequence: Int64, tenant: String?, plan: String?, billing: String?, timeZone: String?,
        reopenWindowHours: Int64?, effectiveMonth: String?, recordedAtMs: Int64?, previousHash: String
    ) -> String {
        var e = CanonicalEncoding(domain: "cascade/tenant_billing/2")
        e.append(sequence)
        e.append(tenant)
        e.append(plan)
        e.append(billing)
        e.append(timeZone)
        e.append(reopenWindowHours)
        e.append(effectiveMonth)
        e.append(recordedAtMs)
        e.append(previousHash)
        return e.sha256Hex
    }

    public static func finalInvoice(
        sequence: Int64, tenant: String?, month: String?, body: String?, finalizedAtMs: Int64?,
        ledgerSequence: Int64?, ledgerHeadHash: String?, previousHash: String
    ) -> String {
        var e = CanonicalEncoding(domain: "cascade/final_invoice/2")
        e.append(sequence)
        e.append(tenant)
        e.append(month)
        e.append(body)
        e.append(finalizedAtMs)
        e.append(ledgerSequence)
        e.append(ledgerHeadHash)
        e.append(previousHash)
        return e.sha256Hex
    }
}
