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
        var e: CanonicalEncoding
        switch self {
        case .billing:
            e = CanonicalEncoding(domain: "cascade/tenant_billing/2")
            e.append(sequence)
            e.append(row["tenant"] as String?)
            e.append(row["plan"] as String?)
            e.append(row["billing"] as String?)
            e.append(row["timezone"] as String?)
            e.append(row["reopen_window_hours"] as Int64?)
            e.append(row["effective_month"] as String?)
            e.append(row["recorded_at_ms"] as Int64?)
        case .finalInvoice:
            e = CanonicalEncoding(domain: "cascade/final_invoice/2")
            e.append(sequence)
            e.append(row["tenant"] as String?)
            e.append(row["month"] as String?)
            e.append(row["body"] as String?)
            e.append(row["finalized_at_ms"] as Int64?)
            e.append(row["ledger_sequence"] as Int64?)
            e.append(row["ledger_head_hash"] as String?)
        }
        e.append(previousHash)
        return e.sha256Hex
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
