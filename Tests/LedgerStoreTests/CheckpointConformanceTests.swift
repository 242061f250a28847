import Foundation
import Metering
import Synchronization
import Testing

/// Signed checkpoints on every backend: a checkpoint kept outside the store finds what a chain
/// alone cannot (rows removed from the end, an older copy restored), and a final invoice signed
/// at finalization is itself such a checkpoint. SQLite signs its one chain (format 1),
/// PostgreSQL each tenant's chain (format 2); neither accepts the other's.
@Suite("Signed checkpoints, on every backend")
struct CheckpointConformanceTests {
    static let key = CheckpointSigningKey.generate()

    @Test(
        "a checkpoint verifies, survives later rows, and finds rows removed behind the store's back",
        arguments: Backend.allCases)
    func checkpointFindsTruncation(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            _ = try await h.store.record(query: query("b1", tenant: "beta", cost: 5), attempts: [], now: Date())
            for id in ["q1", "q2", "q3", "q4"] {
                _ = try await h.store.record(query: query(id, cost: 10), attempts: [], now: Date())
            }
            let checkpoint = try await h.store.checkpoint(signingKey: Self.key, tenant: nil, now: Date())
            switch backend {
            case .sqlite:
                #expect(checkpoint.format == Checkpoint.currentFormat)
                #expect(checkpoint.ledger?.sequence == 5)
            case .postgres:
                #expect(checkpoint.format == Checkpoint.perTenantFormat)
                #expect(checkpoint.ledger == nil)
                #expect(checkpoint.tenantLedgers?.map(\.tenant) == ["acme", "beta"])
                #expect(checkpoint.tenantLedgers?.map(\.sequence) == [4, 1])
            }
            // Through JSON text, as it is kept outside the store.
            let kept = try Checkpoint.decode(try JSONConvention.encoder().encode(checkpoint), source: "test")
            var result = try await h.store.verify(against: kept, trustedPublicKey: Self.key.publicKeyBase64)
            #expect(result.ok, "\(result.problem ?? "")")
            #expect(result.storedCheckpoints == 1)
            #expect(result.rows == 5)

            _ = try await h.store.record(query: query("q5", cost: 10), attempts: [], now: Date())
            result = try await h.store.verify(against: kept, trustedPublicKey: Self.key.publicKeyBase64)
            #expect(result.ok, "rows after a checkpoint do not break it: \(result.problem ?? "")")

            // The last three of acme's rows go, and the stored checkpoint with them.
            try await h.truncate("acme", 2)
            #expect(try await h.store.verifyChains(tenant: nil).ok, "the chain alone cannot tell")
            #expect(try await h.store.verify(against: nil, trustedPublicKey: nil).ok)
            result = try await h.store.verify(against: kept, trustedPublicKey: Self.key.publicKeyBase64)
            #expect(!result.ok)
            #expect(result.problem?.contains("rows were removed or an older copy was restored") == true)
            if backend == .postgres {
                #expect(result.tenant == "acme")
                #expect(result.firstBrokenSequence == 4)
                #expect(result.problem?.contains("database has 2") == true, "\(result.problem ?? "")")
            }
        }
    }

    @Test(
        "an altered checkpoint, another key than the pinned one, and the other backend's format are refused",
        arguments: Backend.allCases)
    func forgedAndForeign(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            _ = try await h.store.record(query: query("q1", cost: 10), attempts: [], now: Date())
            let checkpoint = try await h.store.checkpoint(signingKey: Self.key, tenant: nil, now: Date())
            var altered = checkpoint
            altered.billing.sequence += 1
            await #expect(throws: CheckpointError.badSignature) {
                try await h.store.verify(against: altered, trustedPublicKey: nil)
            }
            let forger = CheckpointSigningKey.generate()
            let forged = try await h.store.checkpoint(signingKey: forger, tenant: nil, now: Date())
            await #expect(throws: CheckpointError.untrustedKey(keyID: forger.keyID)) {
                try await h.store.verify(against: forged, trustedPublicKey: Self.key.publicKeyBase64)
            }
            // A checkpoint of the other layout vouches for nothing here: one clear refusal.
            let foreign: Checkpoint
            switch backend {
            case .sqlite:
                foreign = try Checkpoint.sign(
                    tenantLedgers: [TenantChainHead(tenant: "acme", sequence: 1, hash: "x")],
                    billing: ChainHead(sequence: 0, hash: ""), finalInvoices: ChainHead(sequence: 0, hash: ""),
                    at: Date(), with: Self.key)
            case .postgres:
                foreign = try await withSQLiteCheckpoint()
            }
            let result = try await h.store.verify(against: foreign, trustedPublicKey: nil)
            #expect(!result.ok)
            #expect(result.table == "checkpoint")
            #expect(result.problem?.contains("cannot vouch for this") == true, "\(result.problem ?? "")")
        }
    }

    @Test("a tenant's checkpoint names only that tenant (PostgreSQL); SQLite's one chain refuses a tenant")
    func tenantCheckpoints() async throws {
        try await LedgerHarness.with(.postgres) { h in
            _ = try await h.store.record(query: query("b1", tenant: "beta"), attempts: [], now: Date())
            _ = try await h.store.record(query: query("q1"), attempts: [], now: Date())
            let acme = try await h.store.checkpoint(signingKey: Self.key, tenant: "acme", now: Date())
            #expect(acme.tenantLedgers == [try #require(acme.tenantLedgers?.first)])
            #expect(acme.tenantLedgers?.first?.tenant == "acme")
            let newcomer = try await h.store.checkpoint(signingKey: Self.key, tenant: "gamma", now: Date())
            #expect(newcomer.tenantLedgers == [TenantChainHead(tenant: "gamma", sequence: 0, hash: "")])
            #expect(try await h.store.verify(against: acme, trustedPublicKey: nil).storedCheckpoints == 2)
        }
        try await LedgerHarness.with(.sqlite) { h in
            await #expect(throws: LedgerError.self) {
                try await h.store.checkpoint(signingKey: Self.key, tenant: "acme", now: Date())
            }
        }
    }

    @Test(
        "a final invoice signed at finalization is a checkpoint verify accepts, naming only its tenant",
        arguments: Backend.allCases)
    func signedFinalInvoice(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let store = h.store
            let pro = try #require(PlanCatalog.standard.plan("pro"))
            let utc = try #require(TimeZone(identifier: "UTC"))
            let october = BillingMonth(year: 2026, month: 10)
            let (start, end) = october.interval(in: utc)
            for tenant in ["acme", "beta"] {
                _ = try await store.setBilling(
                    tenant: tenant, plan: pro, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                    immediately: false, now: start.addingTimeInterval(3600))
                _ = try await store.record(
                    query: query("\(tenant)-1", tenant: tenant, cost: 20, at: start.addingTimeInterval(7200)),
                    attempts: [], now: start.addingTimeInterval(7260))
            }
            let sequence = try await store.billingSequence(tenant: "acme")
            let statement = try await BillingStatement.compute(
                ledger: store, catalog: .standard, tenant: "acme", month: october)
            let final = try await store.finalize(
                statement.invoice, computedAt: (sequence, start, end), signingKey: Self.key,
                now: end.addingTimeInterval(3600))
            let checkpoint = try #require(final.ledgerCheckpoint)
            if backend == .postgres {
                #expect(checkpoint.tenantLedgers?.map(\.tenant) == ["acme"], "no other tenant's name on the invoice")
                #expect(checkpoint.tenantLedgers?.first?.sequence == final.ledgerHead?.sequence)
            } else {
                #expect(checkpoint.ledger == final.ledgerHead)
            }
            // Read back from the invoice's JSON, as the customer holds it.
            let read = try Checkpoint.decode(try JSONConvention.encoder().encode(final), source: "invoice")
            let result = try await store.verify(against: read, trustedPublicKey: Self.key.publicKeyBase64)
            #expect(result.ok, "\(result.problem ?? "")")
            #expect(result.finalInvoices == 1)
            #expect(result.storedCheckpoints == 1)
            // Finalizing again returns the stored invoice, checkpoint and all.
            #expect(
                try await store.finalize(statement.invoice, computedAt: nil, signingKey: Self.key, now: Date())
                    == final)
        }
    }

    /// A format-1 checkpoint from a SQLite ledger of its own.
    private func withSQLiteCheckpoint() async throws -> Checkpoint {
        let holder = Mutex<Checkpoint?>(nil)
        try await LedgerHarness.with(.sqlite) { h in
            _ = try await h.store.record(query: query("q1"), attempts: [], now: Date())
            let checkpoint = try await h.store.checkpoint(signingKey: Self.key, tenant: nil, now: Date())
            holder.withLock { $0 = checkpoint }
        }
        return try #require(holder.withLock { $0 })
    }
}
