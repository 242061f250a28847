import Foundation
import Logging
import Metering
import PostgresNIO

/// `ledger verify` and signed checkpoints on PostgreSQL: the same checks as on SQLite, for a
/// ledger with one chain per tenant (checkpoint format 2 pins each tenant's head).
///
/// Verification reads in pages (``verifyPageSize`` rows per statement, by the (tenant, seq)
/// index): memory stays flat however large the ledger grows, and every statement ends well
/// within the operation deadline. It needs no single snapshot, because rows are only ever
/// appended: a row read once stays as it was, and a chain read later only reaches further.
extension PostgresLedger {
    /// Rows read per statement while verifying.
    static let verifyPageSize = 5_000

    /// The first problem found while verifying.
    struct IntegrityBreak: Error {
        var table: String
        var tenant: String?
        var sequence: Int64?
        var problem: String
    }

    public func verify(against checkpoint: Checkpoint?, trustedPublicKey: String?) async throws -> Ledger.Verification {
        if let checkpoint { try checkpoint.checkSignature(trustedPublicKey: trustedPublicKey) }
        let logger = database.logger
        var total = 0
        do {
            for tenant in try await chainTenants() { total += try await verifyChain(tenant: tenant) }
            let billing = try await verifyBillingChain()
            let finals = try await verifyFinalInvoiceChain()
            let stored = try await verifyStoredCheckpoints()
            if let checkpoint {
                try await check(
                    checkpoint,
                    describedAs:
                        "the checkpoint of \(Checkpoint.timestamp(milliseconds: checkpoint.createdAtMilliseconds))"
                )
            }
            return Ledger.Verification(
                rows: total, billingChanges: billing, finalInvoices: finals, storedCheckpoints: stored,
                checkpoint: checkpoint)
        } catch let broken as IntegrityBreak {
            // The chains were not all walked: count the rows instead.
            total = try await database.connection { connection in
                try await connection.run("SELECT COUNT(*) FROM ledger_entry", logger: logger).first?.decode(Int.self)
                    ?? 0
            }
            return Ledger.Verification(
                rows: total, table: broken.table, tenant: broken.tenant, firstBrokenSequence: broken.sequence,
                problem: broken.problem)
        }
    }

    public func verifyChains(tenant: String?) async throws -> ChainVerification {
        var rows = 0
        do {
            let names = if let tenant { [tenant] } else { try await chainTenants() }
            for name in names {
                rows += try await verifyChain(tenant: name)
            }
            _ = try await verifyBillingChain()
            _ = try await verifyFinalInvoiceChain()
            return ChainVerification(rows: rows)
        } catch let broken as IntegrityBreak {
            return ChainVerification(
                rows: rows, tenant: broken.tenant, firstBrokenSequence: broken.sequence, problem: broken.problem)
        }
    }

    public func checkpoint(signingKey key: CheckpointSigningKey, tenant: String?, now: Date) async throws -> Checkpoint
    {
        let logger = database.logger
        return try await database.transaction { connection in
            try await Self.checkpoint(tenant: tenant, key: key, now: now, on: connection, logger: logger)
        }
    }

    /// Every checkpoint stored beside the chains, oldest first.
    public func checkpoints() async throws -> [Checkpoint] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run("SELECT body FROM checkpoint ORDER BY seq", logger: logger).map { row in
                try Checkpoint.decode(Data(try row.decode(String.self).utf8), source: "the ledger's checkpoint table")
            }
        }
    }

    /// Signs the heads (`tenant`'s chain, or every tenant's) with the billing and final-invoice
    /// heads, read in one statement so they are one moment's, and stores the checkpoint.
    static func checkpoint(
        tenant: String?, key: CheckpointSigningKey, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Checkpoint {
        let rows = try await connection.run(
            """
            SELECT 'L', tenant, seq, hash FROM (
                SELECT DISTINCT ON (tenant) tenant, seq, hash FROM ledger_entry
                WHERE \(tenant)::text IS NULL OR tenant = \(tenant)::text ORDER BY tenant, seq DESC) AS l
            UNION ALL SELECT 'B', NULL, seq, hash FROM (SELECT seq, hash FROM tenant_billing ORDER BY seq DESC LIMIT 1) AS b
            UNION ALL SELECT 'F', NULL, seq, hash FROM (SELECT seq, hash FROM final_invoice ORDER BY seq DESC LIMIT 1) AS f
            """, logger: logger)
        var heads: [TenantChainHead] = []
        var billing = ChainHead(sequence: 0, hash: "")
        var finals = ChainHead(sequence: 0, hash: "")
        for row in rows {
            let (part, name, sequence, hash) = try row.decode((String, String?, Int64, String).self)
            switch part {
            case "L": heads.append(TenantChainHead(tenant: name ?? "", sequence: sequence, hash: hash))
            case "B": billing = ChainHead(sequence: sequence, hash: hash)
            default: finals = ChainHead(sequence: sequence, hash: hash)
            }
        }
        // A tenant without rows yet is named with an empty chain: the checkpoint then says so.
        if let tenant, heads.isEmpty { heads = [TenantChainHead(tenant: tenant, sequence: 0, hash: "")] }
        let checkpoint = try Checkpoint.sign(
            tenantLedgers: heads, billing: billing, finalInvoices: finals, at: now, with: key)
        let body = String(decoding: try JSONConvention.encoder().encode(checkpoint), as: UTF8.self)
        try await connection.run(
            "INSERT INTO checkpoint(body, created_at_ms) VALUES (\(body), \(LedgerEntry.milliseconds(now)))",
            logger: logger)
        return checkpoint
    }

    // MARK: - Chains

    /// The tenants that have ledger rows.
    func chainTenants() async throws -> [String] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run("SELECT DISTINCT tenant FROM ledger_entry ORDER BY tenant", logger: logger)
                .map { try $0.decode(String.self) }
        }
    }

    /// One tenant's chain, page by page: positions 1, 2, 3…, each row linked to the one before,
    /// hashed as written (only the canonical scheme: this ledger never wrote the legacy one).
    /// Returns its row count.
    func verifyChain(tenant: String) async throws -> Int {
        let logger = database.logger
        let pageSize = Self.verifyPageSize
        var previous = ""
        var newestScheme = HashScheme.canonical
        var expected: Int64 = 1
        func broken(_ sequence: Int64, _ problem: String) -> IntegrityBreak {
            IntegrityBreak(table: "ledger_entry", tenant: tenant, sequence: sequence, problem: problem)
        }
        while true {
            let from = expected
            let page = try await database.connection { connection in
                try await connection.run(
                    """
                    SELECT * FROM ledger_entry WHERE tenant = \(tenant) AND seq >= \(from)
                    ORDER BY seq LIMIT \(pageSize)
                    """, logger: logger)
            }
            for row in page {
                let entry: LedgerEntry
                do { entry = try Self.entry(row) } catch {
                    throw broken(expected, "row \(expected) holds a value of the wrong kind (the table is damaged)")
                }
                if entry.sequence != expected {
                    throw broken(expected, "row \(expected) is missing (found \(entry.sequence) in its place)")
                }
                // Scheme 2 from the start; scheme 3 (with evidence) once schema v7 is in; never back.
                if entry.hashScheme == .legacy || entry.hashScheme.rawValue < newestScheme.rawValue {
                    throw broken(
                        expected,
                        "row \(expected) claims hash scheme \(entry.hashScheme.rawValue), which this ledger never writes there"
                    )
                }
                newestScheme = entry.hashScheme
                if entry.previousHash != previous {
                    throw broken(expected, "row \(expected) does not link to the row before it")
                }
                if entry.hash != entry.contentHash {
                    throw broken(expected, "row \(expected) was altered after it was written")
                }
                previous = entry.hash
                expected += 1
            }
            if page.count < pageSize { return Int(expected - 1) }
        }
    }

    /// The billing changes' global chain; returns its length.
    func verifyBillingChain() async throws -> Int {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run(
                """
                SELECT seq, tenant, plan, billing, timezone, reopen_window_hours, effective_month, recorded_at_ms,
                    previous_hash, hash
                FROM tenant_billing ORDER BY seq
                """, logger: logger)
        }
        var previous = ""
        var expected: Int64 = 1
        for row in rows {
            let (seq, tenant, plan, billing, zone, window, effective, recordedAt, previousHash, hash) =
                try row.decode((Int64, String, String, String, String, Int64, String, Int64, String, String).self)
            let recomputed = IntegrityHash.billing(
                sequence: seq, tenant: tenant, plan: plan, billing: billing, timeZone: zone,
                reopenWindowHours: window, effectiveMonth: effective, recordedAtMs: recordedAt,
                previousHash: previousHash)
            if seq != expected || previousHash != previous || hash != recomputed {
                throw IntegrityBreak(
                    table: "tenant_billing", sequence: expected,
                    problem: "billing change \(expected) was altered, removed or re-ordered")
            }
            (previous, expected) = (hash, expected + 1)
        }
        return Int(expected - 1)
    }

    /// The final invoices' global chain, each body an invoice and each ledger head it was
    /// computed from still in its tenant's chain; returns its length.
    func verifyFinalInvoiceChain() async throws -> Int {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run(
                """
                SELECT f.seq, f.tenant, f.month, f.body, f.finalized_at_ms, f.ledger_sequence, f.ledger_head_hash,
                    f.previous_hash, f.hash, l.hash
                FROM final_invoice f LEFT JOIN ledger_entry l ON l.tenant = f.tenant AND l.seq = f.ledger_sequence
                ORDER BY f.seq
                """, logger: logger)
        }
        var previous = ""
        var expected: Int64 = 1
        for row in rows {
            let (seq, tenant, month, body, finalizedAt, ledgerSequence, ledgerHash, previousHash, hash, ledgerRowHash) =
                try row.decode((Int64, String, String, String, Int64, Int64?, String?, String, String, String?).self)
            let recomputed = IntegrityHash.finalInvoice(
                sequence: seq, tenant: tenant, month: month, body: body, finalizedAtMs: finalizedAt,
                ledgerSequence: ledgerSequence, ledgerHeadHash: ledgerHash, previousHash: previousHash)
            func broken(_ problem: String) -> IntegrityBreak {
                IntegrityBreak(table: "final_invoice", tenant: tenant, sequence: expected, problem: problem)
            }
            if seq != expected || previousHash != previous || hash != recomputed {
                throw broken("final invoice \(expected) was altered, removed or re-ordered")
            }
            if (try? Invoice.decodeStored(body)) == nil {
                throw broken("final invoice \(expected) (\(tenant) \(month)) has a body that is not an invoice")
            }
            if let ledgerSequence, ledgerSequence > 0, ledgerRowHash != ledgerHash {
                throw broken(
                    "final invoice \(expected) (\(tenant) \(month)) was computed from row \(ledgerSequence) of \(tenant)'s chain, which is no longer the row it saw: the ledger was rewritten"
                )
            }
            (previous, expected) = (hash, expected + 1)
        }
        return Int(expected - 1)
    }

    /// Every stored checkpoint: signed, and consistent with the chains; returns how many.
    func verifyStoredCheckpoints() async throws -> Int {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run("SELECT seq, body FROM checkpoint ORDER BY seq", logger: logger).map {
                try $0.decode((Int64, String).self)
            }
        }
        for (sequence, body) in rows {
            let checkpoint: Checkpoint
            do {
                checkpoint = try Checkpoint.decode(Data(body.utf8), source: "checkpoint")
                try checkpoint.checkSignature()
            } catch {
                throw IntegrityBreak(
                    table: "checkpoint", sequence: sequence, problem: "stored checkpoint \(sequence): \(error)")
            }
            try await check(checkpoint, describedAs: "stored checkpoint \(sequence)")
        }
        return rows.count
    }

    /// That the chains still reach `checkpoint`'s heads with the same hashes.
    func check(_ checkpoint: Checkpoint, describedAs name: String) async throws {
        guard let heads = checkpoint.tenantLedgers else {
            throw IntegrityBreak(
                table: "checkpoint", sequence: nil,
                problem:
                    "\(name) is of a ledger with one chain for all tenants (\(checkpoint.format), SQLite); it cannot vouch for this PostgreSQL ledger"
            )
        }
        let logger = database.logger
        let vouched = heads.filter { $0.sequence > 0 }
        let names = vouched.map(\.tenant)
        let sequences = vouched.map(\.sequence)
        // One statement for every tenant named: the row at each head and the chain's length.
        let found = try await database.connection { connection in
            try await connection.run(
                """
                SELECT t.tenant, t.seq, l.hash, (SELECT COALESCE(MAX(m.seq), 0) FROM ledger_entry m WHERE m.tenant = t.tenant)
                FROM unnest(\(names)::text[], \(sequences)::bigint[]) AS t(tenant, seq)
                LEFT JOIN ledger_entry l ON l.tenant = t.tenant AND l.seq = t.seq
                ORDER BY t.tenant
                """, logger: logger
            ).map { try $0.decode((String, Int64, String?, Int64).self) }
        }
        var stored: [String: (hash: String?, length: Int64)] = [:]
        for (tenant, _, hash, length) in found { stored[tenant] = (hash, length) }
        for head in vouched {
            let row = stored[head.tenant]
            guard let hash = row?.hash else {
                throw IntegrityBreak(
                    table: "ledger_entry", tenant: head.tenant, sequence: head.sequence,
                    problem:
                        "\(name) vouches for \(head.sequence) ledger rows of \(head.tenant) but the database has \(row?.length ?? 0): rows were removed or an older copy was restored"
                )
            }
            if hash != head.hash {
                throw IntegrityBreak(
                    table: "ledger_entry", tenant: head.tenant, sequence: head.sequence,
                    problem:
                        "\(name) does not match row \(head.sequence) of \(head.tenant)'s chain: the rows it vouches for were rewritten"
                )
            }
        }
        for (head, table, what) in [
            (checkpoint.billing, "tenant_billing", "billing changes"),
            (checkpoint.finalInvoices, "final_invoice", "final invoices"),
        ] where head.sequence > 0 {
            let (hash, count) = try await database.connection { connection in
                let hash = try await connection.run(
                    PostgresQuery(
                        unsafeSQL: "SELECT hash FROM \(table) WHERE seq = $1", binds: Self.binds(head.sequence)),
                    logger: logger
                ).first?.decode(String.self)
                let count =
                    try await connection.run(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger: logger)
                    .first?.decode(Int64.self) ?? 0
                return (hash, count)
            }
            guard let hash else {
                throw IntegrityBreak(
                    table: table, sequence: head.sequence,
                    problem:
                        "\(name) vouches for \(head.sequence) \(what) but the database has \(count): rows were removed or an older copy was restored"
                )
            }
            if hash != head.hash {
                throw IntegrityBreak(
                    table: table, sequence: head.sequence,
                    problem:
                        "\(name) does not match row \(head.sequence) of \(table): the rows it vouches for were rewritten"
                )
            }
        }
    }

    private static func binds(_ value: Int64) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }
}
