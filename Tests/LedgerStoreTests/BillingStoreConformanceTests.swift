import Foundation
import Metering
import Synchronization
import Testing

/// Billing settings and final invoices, on every backend: the same rules, and to the cent the same
/// invoice from the same rows.
@Suite("Billing on every backend")
struct BillingStoreConformanceTests {
    static let utc = TimeZone(identifier: "UTC")!
    static func day(_ month: Int, _ day: Int, hour: Int = 12) -> Date {
        var components = DateComponents(year: 2026, month: month, day: day, hour: hour)
        components.timeZone = utc
        return Calendar(identifier: .gregorian).date(from: components)!
    }

    @Test("settings take effect as on SQLite; a final invoice is stored once, guards its month, and chains")
    func billingIsTheSameEverywhere() async throws {
        let finals = Mutex<[Backend: String]>([:])
        for backend in Backend.allCases {
            try await LedgerHarness.with(backend) { h in
                let store = h.store
                let pro = try #require(PlanCatalog.standard.plan("pro"))
                let team = try #require(PlanCatalog.standard.plan("team"))
                // A first choice applies at once; a later change from the next month.
                let first = try await store.setBilling(
                    tenant: "acme", plan: pro, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                    immediately: false, now: Self.day(10, 1))
                #expect(first.effectiveMonth == "2026-10")
                let change = try await store.setBilling(
                    tenant: "acme", plan: team, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                    immediately: false, now: Self.day(10, 15))
                #expect(change.effectiveMonth == "2026-11")
                await #expect(throws: BillingError.self) {
                    try await store.setBilling(
                        tenant: "acme", plan: pro, billing: .resolution, timeZone: "Mars/Olympus",
                        reopenWindowHours: 72,
                        immediately: false, now: Self.day(10, 15))
                }
                #expect(
                    try await store.billing(tenant: "acme", month: BillingMonth(year: 2026, month: 10))?.plan == "pro")
                #expect(
                    try await store.billing(tenant: "acme", month: BillingMonth(year: 2026, month: 11))?.plan == "team")
                #expect(try await store.billingHistory(tenant: "beta").isEmpty)

                // October: four resolutions (one through the LLM), one escalation, one resolution voided.
                for (i, tier) in ["rag", "rag", "rag", "llm", "escalated"].enumerated() {
                    let at = Self.day(10, 5 + i)
                    let attempts = tier == "llm" ? [attempt("o\(i)", cost: 1_234)] : []
                    _ = try await store.record(
                        query: query("o\(i)", tier: tier, cost: tier == "rag" ? 20 : 0, at: at), attempts: attempts,
                        now: at.addingTimeInterval(60))
                }
                _ = try await store.correct(
                    tenant: "acme", queryID: "o0", outcome: "voided", answer: nil, note: "test", now: Self.day(10, 20))
                let october = BillingMonth(year: 2026, month: 10)
                let (start, end) = october.interval(in: Self.utc)
                let sequence = try await store.billingSequence(tenant: "acme")
                let statement = try await BillingStatement.compute(
                    ledger: store, catalog: .standard, tenant: "acme", month: october)
                #expect(UsageReport(usage: statement.usage, invoice: statement.invoice).billableResolutions == 3)
                #expect(statement.invoice.total > 0)
                let final = try await store.finalize(
                    statement.invoice, computedAt: (sequence, start, end), signingKey: nil, now: Self.day(11, 2))
                #expect(final.status == "final")
                #expect(final.ledgerHead?.sequence == sequence)
                #expect(final.total == statement.invoice.total)
                // Finalizing again returns the stored invoice; the month is closed to new rows.
                #expect(
                    try await store.finalize(statement.invoice, computedAt: nil, signingKey: nil, now: Self.day(11, 3))
                        == final)
                await #expect(throws: LedgerError.self) {
                    try await store.record(
                        query: query("late", at: Self.day(10, 30)), attempts: [], now: Self.day(11, 3))
                }
                #expect(try await store.finalInvoices(tenant: "acme") == [final])
                #expect(try await store.finalInvoices(tenant: "beta").isEmpty)

                // An invoice computed before a row of its month arrived is refused, not finalized short.
                let november = BillingMonth(year: 2026, month: 11)
                let (novStart, novEnd) = november.interval(in: Self.utc)
                let before = try await store.billingSequence(tenant: "acme")
                let stale = try await BillingStatement.compute(
                    ledger: store, catalog: .standard, tenant: "acme", month: november)
                _ = try await store.record(
                    query: query("n1", at: Self.day(11, 20)), attempts: [], now: Self.day(11, 20))
                await #expect(throws: LedgerError.self) {
                    try await store.finalize(
                        stale.invoice, computedAt: (before, novStart, novEnd), signingKey: nil, now: Self.day(12, 2))
                }
                #expect(try await store.finalInvoices(tenant: "acme").count == 1)
                let verification = try await store.verifyChains(tenant: nil)
                #expect(verification.ok, "\(backend): \(verification.problem ?? "")")

                // The head's hash covers times the test does not fix (attempts are dated now).
                var compared = final
                compared.ledgerHead?.hash = ""
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let json = String(decoding: try encoder.encode(compared), as: UTF8.self)
                finals.withLock { $0[backend] = json }
            }
        }
        let stored = finals.withLock { $0 }
        #expect(stored.count == Backend.allCases.count)
        #expect(Set(stored.values).count == 1, "the same rows gave different final invoices: \(stored)")
    }

    @Test(
        "a billing change or final invoice altered behind the store's back fails verification",
        arguments: Backend.allCases)
    func billingChainsAreVerified(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let pro = try #require(PlanCatalog.standard.plan("pro"))
            for day in [1, 2] {
                _ = try await h.store.setBilling(
                    tenant: "acme", plan: pro, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                    immediately: true, now: Self.day(10, day))
            }
            #expect(try await h.store.verifyChains(tenant: nil).ok)
            try await h.tamperBilling()
            let verification = try await h.store.verifyChains(tenant: nil)
            #expect(!verification.ok)
            #expect(verification.problem?.contains("billing change") == true, "\(verification.problem ?? "")")
        }
    }
}

/// Moving a tenant between stores: SQLite → PostgreSQL → SQLite gives back the same rows,
/// billing, final invoices and invoice, re-chained in each store.
@Suite("Moving a tenant between backends")
struct TenantHistoryTests {
    /// Rows' contents without their position in a chain (which differs per store).
    static func contents(_ entries: [LedgerEntry]) -> [LedgerEntry] {
        entries.map { entry in
            var entry = entry
            entry.sequence = 0
            entry.previousHash = ""
            entry.hash = ""
            return entry
        }
    }

    @Test("a tenant's history moves between SQLite and PostgreSQL unchanged; never into a store that has it")
    func roundTrip() async throws {
        let day: @Sendable (Int, Int) -> Date = { BillingStoreConformanceTests.day($0, $1) }
        try await LedgerHarness.with(.sqlite) { source in
            let pro = try #require(PlanCatalog.standard.plan("pro"))
            _ = try await source.store.setBilling(
                tenant: "acme", plan: pro, billing: .resolution, timeZone: "Europe/Berlin", reopenWindowHours: 48,
                immediately: false, now: day(10, 1))
            for (i, tier) in ["rag", "llm", "escalated", "rag"].enumerated() {
                let at = day(10, 3 + i)
                _ = try await source.store.record(
                    query: query("m\(i)", tier: tier, cost: 17, at: at),
                    attempts: tier == "llm" ? [attempt("m\(i)", cost: 999)] : [], now: at.addingTimeInterval(5))
            }
            _ = try await source.store.record(query: query("other", tenant: "beta"), attempts: [], now: Date())
            _ = try await source.store.correct(
                tenant: "acme", queryID: "m3", outcome: "voided", answer: nil, note: "moved", now: day(10, 20))
            let october = BillingMonth(year: 2026, month: 10)
            let statement = try await BillingStatement.compute(
                ledger: source.store, catalog: .standard, tenant: "acme", month: october)
            _ = try await source.store.finalize(statement.invoice, computedAt: nil, signingKey: nil, now: day(11, 2))
            let history = try await source.store.history(tenant: "acme")
            #expect(history.entries.count == 6 && history.billing.count == 1 && history.finalInvoices.count == 1)

            try await LedgerHarness.with(.postgres) { target in
                try await target.store.importHistory(history)
                let moved = try await target.store.history(tenant: "acme")
                #expect(Self.contents(moved.entries) == Self.contents(history.entries))
                #expect(moved.entries.map(\.sequence) == Array(1...6), "re-chained from the tenant's first row")
                #expect(moved.billing == history.billing)
                #expect(moved.finalInvoices == history.finalInvoices)
                #expect(try await target.store.verifyChains(tenant: nil).ok)
                let again = try await BillingStatement.compute(
                    ledger: target.store, catalog: .standard, tenant: "acme", month: october)
                #expect(again.invoice == history.finalInvoices[0], "the stored final invoice, as moved")
                await #expect(throws: LedgerError.self, "an import never merges") {
                    try await target.store.importHistory(history)
                }
                // And back into an empty SQLite ledger.
                try await LedgerHarness.with(.sqlite) { back in
                    try await back.store.importHistory(moved)
                    #expect(
                        Self.contents(try await back.store.history(tenant: "acme").entries)
                            == Self.contents(history.entries))
                    let verification = try await back.store.verifyChains(tenant: nil)
                    #expect(verification.ok, "\(verification.problem ?? "")")
                }
            }
            // A row changed in transit is refused before anything is written.
            var changed = history
            changed.entries[1].costMicros += 1
            let forged = changed
            try await LedgerHarness.with(.postgres) { target in
                await #expect(throws: LedgerError.self) { try await target.store.importHistory(forged) }
                let written = try await target.store.entries(tenant: "acme", since: nil)
                #expect(written.isEmpty, "nothing of a refused import is written")
            }
        }
    }
}
