import Foundation
import GRDB

extension Ledger {
    /// The outcome of ``verify(against:trustedPublicKey:)``.
    public struct Verification: Sendable, Codable, Hashable {
        /// Ledger rows checked.
        public var rows: Int
        public var ok: Bool
        /// The table the first problem is in (`ledger_entry`, `tenant_billing`, `final_invoice`,
        /// `checkpoint`), or null.
        public var table: String?
        /// On a ledger with one chain per tenant (PostgreSQL), the tenant whose chain the first
        /// problem is in; null on SQLite (one chain) and when intact.
        public var tenant: String?
        /// The first row that is missing, altered or out of order, and what is wrong with it.
        public var firstBrokenSequence: Int64?
        public var problem: String?
        /// Rows hashed with the legacy scheme 1 (written before schema v4): their encoding does not
        /// tell NULL from the text "∅"; a checkpoint anchors them.
        public var legacyHashRows: Int
        public var billingChanges: Int
        public var finalInvoices: Int
        /// Checkpoints stored in the ledger file, each checked against the chains.
        public var storedCheckpoints: Int
        /// The external checkpoint given to verify, when there was one and it held.
        public var checkpoint: Checkpoint?

        public init(
            rows: Int, table: String? = nil, tenant: String? = nil, firstBrokenSequence: Int64? = nil,
            problem: String? = nil, legacyHashRows: Int = 0, billingChanges: Int = 0, finalInvoices: Int = 0,
            storedCheckpoints: Int = 0, checkpoint: Checkpoint? = nil
        ) {
            self.rows = rows
            self.ok = problem == nil
            self.table = table
            self.tenant = tenant
            self.firstBrokenSequence = firstBrokenSequence
            self.problem = problem
            self.legacyHashRows = legacyHashRows
            self.billingChanges = billingChanges
            self.finalInvoices = finalInvoices
            self.storedCheckpoints = storedCheckpoints
            self.checkpoint = checkpoint
        }

        enum CodingKeys: String, CodingKey {
            case rows, ok, table, tenant
            case firstBrokenSequence = "first_broken_sequence"
            case problem
            case legacyHashRows = "legacy_hash_rows"
            case billingChanges = "billing_changes"
            case finalInvoices = "final_invoices"
            case storedCheckpoints = "stored_checkpoints"
            case checkpoint
        }

        /// Every field written (null when the ledger is intact).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rows, forKey: .rows)
            try c.encode(ok, forKey: .ok)
            try c.encode(table, forKey: .table)
            try c.encode(tenant, forKey: .tenant)
            try c.encode(firstBrokenSequence, forKey: .firstBrokenSequence)
            try c.encode(problem, forKey: .problem)
            try c.encode(legacyHashRows, forKey: .legacyHashRows)
            try c.encode(billingChanges, forKey: .billingChanges)
            try c.encode(finalInvoices, forKey: .finalInvoices)
            try c.encode(storedCheckpoints, forKey: .storedCheckpoints)
            try c.encode(checkpoint, forKey: .checkpoint)
        }
    }

    /// A broken chain found while verifying.
    private struct Broken: Error {
        var table: String
        var sequence: Int64?
        var problem: String
    }

    /// Checks everything that decides money, streaming (memory does not grow with the ledger):
    /// SQLite's integrity check (a damaged index, such as the one that keeps query ids unique per
    /// tenant, is damage too); the ledger's hash chain row by row; the chains of billing changes
    /// and final invoices, and that every final invoice's body reads and its ledger head is in
    /// the ledger; every checkpoint stored in the file; and, given `checkpoint` (kept outside the
    /// file), that the chains still reach its heads unchanged: truncation, rollback to an older
    /// copy and any rewrite of the rows it vouches for are found.
    /// - Parameter trustedPublicKey: the key `checkpoint` must be signed with (base64).
    public func verify(against checkpoint: Checkpoint? = nil, trustedPublicKey: String? = nil) throws -> Verification {
        if let checkpoint { try checkpoint.checkSignature(trustedPublicKey: trustedPublicKey) }
        return try writer.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger_entry") ?? 0
            var result = Verification(rows: total)
            do {
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                if integrity != ["ok"] {
                    throw Broken(
                        table: "", sequence: nil,
                        problem:
                            "the file is damaged (SQLite integrity check: \(integrity.prefix(3).joined(separator: "; ")))"
                    )
                }
                result.legacyHashRows = try Self.verifyLedgerChain(db)
                result.billingChanges = try Self.verifySideChain(.billing, db)
                result.finalInvoices = try Self.verifySideChain(.finalInvoice, db)
                result.storedCheckpoints = try Self.verifyStoredCheckpoints(db)
                if let checkpoint {
                    try Self.check(
                        checkpoint, db,
                        describedAs:
                            "the checkpoint of \(Checkpoint.timestamp(milliseconds: checkpoint.createdAtMilliseconds))")
                    result.checkpoint = checkpoint
                }
            } catch let broken as Broken {
                result.ok = false
                result.table = broken.table.isEmpty ? nil : broken.table
                result.firstBrokenSequence = broken.sequence
                result.problem = broken.problem
            }
            return result
        }
    }

    /// The ledger's chain: consecutive sequences from 1, each row chained to the one before and
    /// hashed under its scheme, schemes never going back. Returns how many rows use scheme 1.
    private static func verifyLedgerChain(_ db: Database) throws -> Int {
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM ledger_entry ORDER BY seq")
        var previous = ""
        var expected: Int64 = 1
        var legacy = 0
        var newestScheme = HashScheme.legacy
        func broken(_ sequence: Int64, _ problem: String) -> Broken {
            Broken(table: "ledger_entry", sequence: sequence, problem: problem)
        }
        while let row = try rows.next() {
            let entry: LedgerEntry
            do { entry = try Self.entry(row) } catch {
                throw broken(expected, "row \(expected) holds a value of the wrong type (the file is damaged)")
            }
            if entry.sequence != expected {
                throw broken(expected, "row \(expected) is missing (next row is \(entry.sequence))")
            }
            guard let scheme = HashScheme(rawValue: row["hash_scheme"] ?? 0) else {
                throw broken(entry.sequence, "row \(entry.sequence) names an unknown hash scheme")
            }
            if scheme.rawValue < newestScheme.rawValue {
                throw broken(
                    entry.sequence,
                    "row \(entry.sequence) claims the legacy hash scheme after rows of scheme \(newestScheme.rawValue)")
            }
            newestScheme = scheme
            if scheme == .legacy { legacy += 1 }
            if entry.previousHash != previous {
                throw broken(entry.sequence, "row \(entry.sequence) does not chain to the row before it")
            }
            if entry.contentHash != entry.hash {
                throw broken(entry.sequence, "row \(entry.sequence) was altered after it was written (hash mismatch)")
            }
            previous = entry.hash
            expected += 1
        }
        return legacy
    }

    /// A side chain (billing changes, final invoices); returns its row count.
    private static func verifySideChain(_ chain: IntegrityChain, _ db: Database) throws -> Int {
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(chain.table) ORDER BY seq IS NULL, seq, rowid")
        var previous = ""
        var expected: Int64 = 1
        func broken(_ sequence: Int64, _ problem: String) -> Broken {
            Broken(table: chain.table, sequence: sequence, problem: "\(chain.rowName) \(sequence) \(problem)")
        }
        while let row = try rows.next() {
            guard let sequence = row["seq"] as Int64?, sequence == expected else {
                throw broken(expected, "is missing or out of order")
            }
            if row["previous_hash"] as String? != previous {
                throw broken(sequence, "does not chain to the one before it")
            }
            let hash: String? = row["hash"]
            if chain.hash(row, sequence: sequence, previousHash: previous) != hash {
                throw broken(sequence, "was altered after it was written (hash mismatch)")
            }
            if chain == .finalInvoice {
                let tenant: String = row["tenant"] ?? ""
                let month: String = row["month"] ?? ""
                if (try? Invoice.decodeStored(row["body"] ?? "")) == nil {
                    throw broken(sequence, "(\(tenant) \(month)) has a body that is not an invoice")
                }
                if let at = row["ledger_sequence"] as Int64?, at > 0 {
                    let stored = try String.fetchOne(
                        db, sql: "SELECT hash FROM ledger_entry WHERE seq = ?", arguments: [at])
                    if stored != row["ledger_head_hash"] as String? {
                        throw broken(
                            sequence,
                            "(\(tenant) \(month)) was computed from ledger row \(at), which is no longer the row it saw: the ledger was rewritten"
                        )
                    }
                }
            }
            previous = hash ?? ""
            expected += 1
        }
        return Int(expected - 1)
    }

    /// Every checkpoint stored in the file: signed, and consistent with the chains.
    private static func verifyStoredCheckpoints(_ db: Database) throws -> Int {
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, body FROM checkpoint ORDER BY seq")
        var count = 0
        while let row = try rows.next() {
            let sequence: Int64 = row["seq"]
            let checkpoint: Checkpoint
            do {
                checkpoint = try Checkpoint.decode(Data((row["body"] as String? ?? "").utf8), source: "checkpoint")
                try checkpoint.checkSignature()
            } catch {
                throw Broken(
                    table: "checkpoint", sequence: sequence, problem: "stored checkpoint \(sequence): \(error)")
            }
            try check(checkpoint, db, describedAs: "stored checkpoint \(sequence)")
            count += 1
        }
        return count
    }

    /// That the chains still reach `checkpoint`'s heads with the same hashes.
    private static func check(_ checkpoint: Checkpoint, _ db: Database, describedAs name: String) throws {
        guard let ledgerHead = checkpoint.ledger else {
            throw Broken(
                table: "checkpoint", sequence: nil,
                problem:
                    "\(name) is of a ledger with one chain per tenant (\(checkpoint.format), PostgreSQL); it cannot vouch for this SQLite ledger"
            )
        }
        let heads: [(ChainHead, String, String)] = [
            (ledgerHead, "ledger_entry", "ledger rows"),
            (checkpoint.billing, IntegrityChain.billing.table, "billing changes"),
            (checkpoint.finalInvoices, IntegrityChain.finalInvoice.table, "final invoices"),
        ]
        for (head, table, what) in heads where head.sequence > 0 {
            guard
                let stored = try String.fetchOne(
                    db, sql: "SELECT hash FROM \(table) WHERE seq = ?", arguments: [head.sequence])
            else {
                let count = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                throw Broken(
                    table: table, sequence: head.sequence,
                    problem:
                        "\(name) vouches for \(head.sequence) \(what) but the file has \(count): rows were removed or an older copy was restored"
                )
            }
            if stored != head.hash {
                throw Broken(
                    table: table, sequence: head.sequence,
                    problem:
                        "\(name) does not match row \(head.sequence) of \(table): the rows it vouches for were rewritten"
                )
            }
        }
    }

    /// The heads of the ledger, billing and final-invoice chains.
    public func heads() throws -> (ledger: ChainHead, billing: ChainHead, finalInvoices: ChainHead) {
        try writer.read { db in try Self.heads(db) }
    }

    static func heads(_ db: Database) throws -> (ledger: ChainHead, billing: ChainHead, finalInvoices: ChainHead) {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger_entry ORDER BY seq DESC LIMIT 1")
        return (
            ChainHead(sequence: last?["seq"] ?? 0, hash: last?["hash"] ?? ""), try IntegrityChain.billing.head(db),
            try IntegrityChain.finalInvoice.head(db)
        )
    }

    /// Signs the current heads with `key`, stores the checkpoint in the file and returns it (keep
    /// a copy elsewhere: a checkpoint only the file holds can be removed with the rows).
    public func checkpoint(signingKey key: CheckpointSigningKey, now: Date = Date()) throws -> Checkpoint {
        try writer.write { db in try Self.checkpoint(db, key: key, now: now) }
    }

    /// ``LedgerStore``'s checkpoint: this ledger has one chain for all tenants, so a checkpoint
    /// always covers all of them and `tenant` must be nil.
    public func checkpoint(signingKey key: CheckpointSigningKey, tenant: String?, now: Date) throws -> Checkpoint {
        if let tenant {
            throw LedgerError.invalidInput(
                "the SQLite ledger keeps one chain for all tenants: a checkpoint covers them all, not only \(tenant) (leave out --tenant)"
            )
        }
        return try checkpoint(signingKey: key, now: now)
    }

    static func checkpoint(_ db: Database, key: CheckpointSigningKey, now: Date) throws -> Checkpoint {
        let heads = try heads(db)
        let checkpoint = try Checkpoint.sign(
            ledger: heads.ledger, billing: heads.billing, finalInvoices: heads.finalInvoices, at: now, with: key)
        let body = String(decoding: try JSONConvention.encoder().encode(checkpoint), as: UTF8.self)
        try db.execute(
            sql: "INSERT INTO checkpoint(body, created_at_ms) VALUES (?, ?)",
            arguments: [body, LedgerEntry.milliseconds(now)])
        return checkpoint
    }

    /// The checkpoints stored in the file, oldest first.
    public func checkpoints() throws -> [Checkpoint] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM checkpoint ORDER BY seq").map {
                try Checkpoint.decode(Data($0.utf8), source: "the ledger's checkpoint table")
            }
        }
    }
}
