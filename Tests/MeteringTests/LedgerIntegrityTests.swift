import Foundation
import GRDB
import KnowledgeBase
import TestSupport
import Testing

@testable import Metering

/// What `ledger verify` must find when someone with write access to the file changes what decides
/// money, and what the ledger refuses so that nothing is silently never billed.
@Suite("Ledger integrity: hash scheme 2, side chains, checkpoints, finalized months, races")
struct LedgerIntegrityTests {
    static let utc = TimeZone(identifier: "UTC")!
    let now = BillingTests.nov(20)
    let october = BillingMonth(year: 2026, month: 10)

    func entry(_ id: String, tenant: String = "acme", cost: Int64 = 20, at: Date, conversation: String? = nil)
        -> (LedgerEntry, [LedgerEntry])
    {
        let attempt = LedgerEntry(
            kind: .attempt, queryID: id, tenant: tenant, conversationID: conversation, tier: "rag",
            outcome: "resolved", costMicros: cost, occurredAt: at)
        let row = LedgerEntry(
            kind: .query, queryID: id, tenant: tenant, conversationID: conversation, tier: "rag",
            outcome: "resolved", question: "How do I enable WAL?", costMicros: cost, occurredAt: at)
        return (row, [attempt])
    }

    /// A ledger with `count` October questions for acme on the Pro plan.
    func octoberLedger(_ dir: TemporaryDirectory, count: Int = 4) throws -> Ledger {
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        try ledger.setBilling(
            tenant: "acme", plan: PlanCatalog.standard.plan("pro")!, billing: .resolution, timeZone: "UTC",
            now: BillingTests.nov(1).addingTimeInterval(-30 * 86_400))
        for i in 0..<count {
            let (row, attempts) = entry("o\(i)", at: BillingTests.nov(1 + i).addingTimeInterval(-30 * 86_400))
            _ = try ledger.record(
                query: row, attempts: attempts, now: BillingTests.nov(1 + i).addingTimeInterval(-30 * 86_400 + 60))
        }
        return ledger
    }

    /// The file opened without the application: what an attacker with write access has.
    func raw(_ dir: TemporaryDirectory) throws -> DatabaseQueue { try DatabaseQueue(path: dir.path("ledger.sqlite")) }

    func finalizeOctober(_ ledger: Ledger, key: CheckpointSigningKey? = nil) async throws -> Invoice {
        let statement = try await BillingStatement.compute(
            ledger: ledger, catalog: .standard, tenant: "acme", month: october)
        return try ledger.finalize(statement.invoice, signingKey: key, now: BillingTests.nov(2))
    }

    @Test("rewriting a NULL id to the text \"∅\" (equal under the old scheme) breaks the chain")
    func nullIsNotTheEmptySetSign() throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        #expect(try ledger.verify().ok)
        try raw(dir).write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update")
            try db.execute(sql: "UPDATE ledger_entry SET conversation_id = '∅' WHERE conversation_id IS NULL")
        }
        let result = try ledger.verify()
        #expect(!result.ok)
        #expect(result.table == "ledger_entry")
        #expect(result.firstBrokenSequence == 1)
    }

    @Test("a row cannot claim the legacy hash scheme after scheme 2 rows")
    func noDowngrade() throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        try raw(dir).write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update")
            // Re-hash row 3 under scheme 1 (whose encoding is ambiguous) and keep the chain linked.
            let row = try Row.fetchOne(db, sql: "SELECT * FROM ledger_entry WHERE seq = 3")!
            var entry = try Ledger.entry(row)
            entry.hashScheme = .legacy
            try db.execute(
                sql: "UPDATE ledger_entry SET hash_scheme = 1, hash = ? WHERE seq = 3", arguments: [entry.contentHash])
        }
        let result = try ledger.verify()
        #expect(!result.ok)
        #expect(result.firstBrokenSequence == 3)
        #expect(result.problem?.contains("legacy") == true)
    }

    @Test("billing changes are chained: swapping Pro for Free is found, deleting a change is refused")
    func billingChain() throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        #expect(try ledger.verify().billingChanges == 1)
        #expect(throws: DatabaseError.self) {
            try ledger.writer.write { try $0.execute(sql: "DELETE FROM tenant_billing") }
        }
        try raw(dir).write { db in
            try db.execute(sql: "DROP TRIGGER tenant_billing_no_update")
            try db.execute(sql: "UPDATE tenant_billing SET plan = 'free'")
        }
        let result = try ledger.verify()
        #expect(!result.ok)
        #expect(result.table == "tenant_billing")
        #expect(result.problem?.contains("billing change 1") == true)
    }

    @Test("a final invoice carries the ledger head; editing its body fails verify and every read of it")
    func finalInvoiceBody() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        let final = try await finalizeOctober(ledger)
        #expect(final.ledgerHead == ChainHead(sequence: 8, hash: try ledger.entries().last!.hash))
        #expect(try ledger.verify().finalInvoices == 1)
        try await raw(dir).write { db in
            try db.execute(sql: "DROP TRIGGER final_invoice_no_update")
            try db.execute(sql: "UPDATE final_invoice SET body = substr(body, 1, 40)")
        }
        let result = try ledger.verify()
        #expect(!result.ok)
        #expect(result.table == "final_invoice")
        #expect(throws: LedgerError.corruptedFinalInvoice(tenant: "acme", month: "2026-10")) {
            try ledger.finalInvoices(tenant: "acme")
        }
        // The month's invoice is not silently replaced by a recomputed preview.
        await #expect(throws: LedgerError.corruptedFinalInvoice(tenant: "acme", month: "2026-10")) {
            try await BillingStatement.compute(ledger: ledger, catalog: .standard, tenant: "acme", month: october)
        }
    }

    @Test("a late row dated in a finalized month is refused (it would never be billed); the open month takes it")
    func backfillIntoFinalizedMonth() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        _ = try await finalizeOctober(ledger)
        let before = try ledger.entries().count
        let lateOctober = BillingTests.nov(1).addingTimeInterval(-3 * 86_400)
        let (row, attempts) = entry("late", at: lateOctober)
        #expect(throws: LedgerError.monthFinalized(tenant: "acme", month: "2026-10", occurredAt: lateOctober)) {
            try ledger.record(query: row, attempts: attempts, now: now)
        }
        #expect(throws: LedgerError.self) { try ledger.record(batch: [(row, attempts)], now: now) }
        #expect(try ledger.entries().count == before, "a refused row writes nothing")
        // Another tenant's October is not finalized; acme's November is open.
        let (other, otherAttempts) = entry("late", tenant: "globex", at: lateOctober)
        #expect(throws: Never.self) { try ledger.record(query: other, attempts: otherAttempts, now: now) }
        let (open, openAttempts) = entry("late", at: BillingTests.nov(3))
        #expect(throws: Never.self) { try ledger.record(query: open, attempts: openAttempts, now: now) }
    }

    @Test("finalizing refuses an invoice computed before rows of its month arrived")
    func finalizeRace() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        let head = try ledger.heads().ledger
        let statement = try await BillingStatement.compute(
            ledger: ledger, catalog: .standard, tenant: "acme", month: october)
        let (row, attempts) = entry("meanwhile", at: BillingTests.nov(1).addingTimeInterval(-86_400))
        _ = try ledger.record(query: row, attempts: attempts, now: now)
        let (start, end) = october.interval(in: Self.utc)
        #expect(throws: LedgerError.self) {
            try ledger.finalize(statement.invoice, computedAt: (head.sequence, start, end), now: now)
        }
        #expect(try ledger.finalInvoices(tenant: "acme").isEmpty)
    }

    @Test("two requests racing on one query id: one resolution, both models' costs metered")
    func raceMetersTheLosersCost() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let (winner, winnerAttempts) = entry("q1", cost: 300, at: now)
        let (loser, loserAttempts) = entry("q1", cost: 250, at: now)
        _ = try ledger.record(query: winner, attempts: winnerAttempts, now: now)
        guard case .duplicate(let stored) = try ledger.record(query: loser, attempts: loserAttempts, now: now) else {
            Issue.record("the second record must be a duplicate")
            return
        }
        #expect(stored.filter { $0.kind == .query }.count == 1)
        let rows = try ledger.entries()
        #expect(rows.filter { $0.kind == .query }.count == 1)
        #expect(rows.filter { $0.kind == .attempt }.map(\.costMicros) == [300, 250])
        #expect(rows.last?.note == Ledger.discardedNote)
        let usage = MonthlyUsage(
            tenant: "acme", month: BillingMonth(year: 2026, month: 11), entries: rows, timeZone: Self.utc)
        #expect(usage.resolutions.count == 1)
        #expect(try ledger.verify().ok)
    }

    @Test("a checkpoint finds truncation, rollback to an older copy and a rewrite re-hashed to verify")
    func checkpointAnchors() throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir, count: 6)
        let key = CheckpointSigningKey.generate()
        let older = dir.path("older.sqlite")
        try ledger.writer.backup(to: try DatabaseQueue(path: older))
        let (late, lateAttempts) = entry("n1", at: now)
        _ = try ledger.record(query: late, attempts: lateAttempts, now: now)
        let checkpoint = try ledger.checkpoint(signingKey: key, now: now)
        #expect(checkpoint.ledger?.sequence == 14)
        #expect(try ledger.verify(against: checkpoint, trustedPublicKey: key.publicKeyBase64).ok)

        // Rollback: the older copy verifies on its own, not against the checkpoint.
        let rolledBack = try Ledger(path: older)
        #expect(try rolledBack.verify().ok)
        let rollback = try rolledBack.verify(against: checkpoint)
        #expect(!rollback.ok)
        #expect(rollback.problem?.contains("removed or an older copy") == true)

        // Rewrite with a valid chain: change a cost and re-hash every row after it.
        try raw(dir).write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update")
            try db.execute(sql: "UPDATE ledger_entry SET cost_micros = 1 WHERE seq = 2")
            var previous = ""
            for row in try Row.fetchAll(db, sql: "SELECT * FROM ledger_entry ORDER BY seq") {
                var entry = try Ledger.entry(row)
                entry.previousHash = previous
                let hash = entry.contentHash
                try db.execute(
                    sql: "UPDATE ledger_entry SET previous_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [previous, hash, entry.sequence])
                previous = hash
            }
            try db.execute(sql: "DROP TRIGGER checkpoint_no_delete")
            try db.execute(sql: "DELETE FROM checkpoint")  // the copy inside the file goes too
        }
        #expect(try ledger.verify().ok, "the chain alone cannot tell")
        let rewritten = try ledger.verify(against: checkpoint)
        #expect(!rewritten.ok)
        #expect(rewritten.problem?.contains("rewritten") == true)

        // Truncation: the last rows removed.
        try raw(dir).write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_delete")
            try db.execute(sql: "DELETE FROM ledger_entry WHERE seq > 12")
        }
        #expect(try ledger.verify(against: checkpoint).problem?.contains("file has 12") == true)
    }

    @Test("a checkpoint that was altered, or signed by another key than the pinned one, is refused")
    func forgedCheckpoints() throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        let key = CheckpointSigningKey.generate()
        // An odd millisecond: the signed time must survive the JSON text exactly.
        let checkpoint = try ledger.checkpoint(signingKey: key, now: now.addingTimeInterval(0.123))
        var altered = checkpoint
        altered.ledger?.sequence = 2
        #expect(throws: CheckpointError.badSignature) { try ledger.verify(against: altered) }
        let forger = CheckpointSigningKey.generate()
        let forged = try ledger.checkpoint(signingKey: forger, now: now)
        #expect(throws: CheckpointError.untrustedKey(keyID: forger.keyID)) {
            try ledger.verify(against: forged, trustedPublicKey: key.publicKeyBase64)
        }
        // Round trip through JSON keeps the signature valid.
        let data = try JSONConvention.encoder().encode(checkpoint)
        let read = try Checkpoint.decode(data, source: "test")
        #expect(read == checkpoint)
        #expect(throws: Never.self) { try read.checkSignature(trustedPublicKey: key.publicKeyBase64) }
    }

    @Test("a per-tenant checkpoint that names a tenant twice, out of order, or also a single head is refused")
    func malformedPerTenantCheckpoints() throws {
        let key = CheckpointSigningKey.generate()
        let empty = ChainHead(sequence: 0, hash: "")
        let heads = [
            TenantChainHead(tenant: "beta", sequence: 2, hash: "b"),
            TenantChainHead(tenant: "acme", sequence: 1, hash: "a"),
        ]
        let signed = try Checkpoint.sign(tenantLedgers: heads, billing: empty, finalInvoices: empty, at: now, with: key)
        #expect(signed.tenantLedgers?.map(\.tenant) == ["acme", "beta"], "signed sorted")
        #expect(throws: Never.self) { try signed.checkSignature(trustedPublicKey: key.publicKeyBase64) }
        var twice = signed
        twice.tenantLedgers = [heads[1], heads[1]]
        var unsorted = signed
        unsorted.tenantLedgers = heads
        var both = signed
        both.ledger = ChainHead(sequence: 1, hash: "a")
        var neither = signed
        neither.tenantLedgers = nil
        for (name, bad) in [("twice", twice), ("unsorted", unsorted), ("both", both), ("neither", neither)] {
            #expect(throws: CheckpointError.self, "\(name)") { try bad.checkSignature() }
            #expect((try? bad.checkSignature()) == nil)
        }
        // Each is refused for its shape, before any signature is looked at.
        #expect {
            try twice.checkSignature()
        } throws: { error in
            guard case .invalid(let reason) = error as? CheckpointError else { return false }
            return reason.contains("each tenant once")
        }
    }

    @Test("a final invoice signed at finalization is itself a checkpoint for verify")
    func invoiceCarriesCheckpoint() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try octoberLedger(dir)
        let key = CheckpointSigningKey.generate()
        let final = try await finalizeOctober(ledger, key: key)
        let checkpoint = try #require(final.ledgerCheckpoint)
        #expect(checkpoint.ledger == final.ledgerHead)
        let file = dir.path("invoice.json")
        try JSONConvention.encoder().encode(final).write(to: URL(fileURLWithPath: file))
        let read = try Checkpoint.read(path: file)
        let result = try ledger.verify(against: read, trustedPublicKey: key.publicKeyBase64)
        #expect(result.ok)
        #expect(result.storedCheckpoints == 1)
    }

    @Test("a ledger written before schema v4 keeps verifying: old rows keep scheme 1, side tables are sealed")
    func upgradeFromV3() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        let old = try DatabasePool(path: path)
        try old.write { db in
            try db.execute(sql: "PRAGMA application_id = \(StoreKind.ledger.applicationID)")
        }
        try LedgerSchema.migrator.migrate(old, upTo: "v3-invoices")
        try old.write { db in
            // One legacy row, hashed as v3 binaries did.
            var entry = LedgerEntry(
                sequence: 1, kind: .query, queryID: "old", tenant: "acme", tier: "rag", outcome: "resolved",
                costMicros: 5, occurredAt: now, recordedAt: now)
            entry.hashScheme = .legacy
            entry.hash = entry.contentHash
            try db.execute(
                sql: """
                    INSERT INTO ledger_entry(seq, kind, query_id, tenant, tier, outcome, cost_micros, tokens_in,
                        tokens_out, latency_ms, occurred_at_ms, recorded_at_ms, previous_hash, hash)
                    VALUES (1, 'query', 'old', 'acme', 'rag', 'resolved', 5, 0, 0, 0, ?, ?, '', ?)
                    """,
                arguments: [LedgerEntry.milliseconds(now), LedgerEntry.milliseconds(now), entry.hash])
            try db.execute(
                sql: """
                    INSERT INTO tenant_billing(tenant, plan, billing, timezone, reopen_window_hours, effective_month, recorded_at_ms)
                    VALUES ('acme', 'pro', 'resolution', 'UTC', 72, '2026-10', 0)
                    """)
            try db.execute(
                sql: """
                    INSERT INTO final_invoice(tenant, month, body, finalized_at_ms) VALUES ('acme', '2026-10', ?, 0)
                    """,
                arguments: [
                    #"{"tenant":"acme","month":"2026-10","plan":"pro","billing":"resolution","status":"final","lines":[],"total":79,"currency":"USD"}"#
                ])
        }
        try old.close()
        let ledger = try Ledger(path: path)
        let (row, attempts) = entry("new", at: now)
        _ = try ledger.record(query: row, attempts: attempts, now: now)
        let result = try ledger.verify()
        #expect(result.ok, "\(result.problem ?? "")")
        #expect(result.legacyHashRows == 1)
        #expect(result.billingChanges == 1 && result.finalInvoices == 1)
        #expect(try ledger.finalInvoices(tenant: "acme").first?.total == 79)
    }
}
