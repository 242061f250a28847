import Foundation
import GRDB
import TestSupport
import Testing
import VectorSearch

@testable import Metering

/// Damage to the file itself: whatever byte is flipped, `ledger verify` either reports damage
/// (or the file no longer opens), or everything the ledger says is exactly what it said before.
@Suite("Ledger file byte flips")
struct ByteFlipTests {
    /// Everything that decides money, as read through the application.
    struct Contents: Equatable {
        var entries: [LedgerEntry]
        var billing: [TenantBilling]
        var finals: [Invoice]
    }

    func contents(_ ledger: Ledger) throws -> Contents {
        Contents(
            entries: try ledger.entries(), billing: try ledger.billingHistory(tenant: "acme"),
            finals: try ledger.finalInvoices(tenant: "acme"))
    }

    @Test("150 single-byte flips: none passes verify while changing what the ledger says")
    func flips() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        let original: Contents
        do {
            let ledger = try Ledger(path: path)
            try ledger.setBilling(
                tenant: "acme", plan: PlanCatalog.standard.plan("pro")!, billing: .resolution, timeZone: "UTC",
                now: BillingTests.nov(1).addingTimeInterval(-30 * 86_400))
            for i in 0..<40 {
                let at = BillingTests.nov(1 + i % 20).addingTimeInterval(-30 * 86_400)
                let attempt = LedgerEntry(
                    kind: .attempt, queryID: "q\(i)", tenant: "acme", tier: "rag", outcome: "resolved",
                    costMicros: Int64(10 + i), occurredAt: at)
                let row = LedgerEntry(
                    kind: .query, queryID: "q\(i)", tenant: "acme", conversationID: i % 3 == 0 ? nil : "c\(i)",
                    tier: "rag", outcome: "resolved", question: "question \(i)", answer: "answer \(i)",
                    costMicros: Int64(10 + i), occurredAt: at)
                _ = try ledger.record(query: row, attempts: [attempt], now: at.addingTimeInterval(60))
            }
            let october = BillingMonth(year: 2026, month: 10)
            let statement = try await BillingStatement.compute(
                ledger: ledger, catalog: .standard, tenant: "acme", month: october)
            _ = try ledger.finalize(statement.invoice, now: BillingTests.nov(2))
            original = try contents(ledger)
            try await ledger.writer.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        var generator = SplitMix64(seed: 13)
        var detected = 0
        var harmless = 0
        for trial in 0..<150 {
            var flipped = bytes
            let offset = Int.random(in: 100..<bytes.count, using: &generator)
            flipped[offset] ^= UInt8.random(in: 1...255, using: &generator)
            let copy = dir.path("flip\(trial).sqlite")
            try flipped.write(to: URL(fileURLWithPath: copy))
            var verdict = false
            var after: Contents?
            do {
                let ledger = try Ledger(path: copy)
                verdict = try ledger.verify().ok
                after = verdict ? try contents(ledger) : nil
            } catch {
                verdict = false
            }
            if verdict {
                #expect(after == original, "flip at byte \(offset) passed verify but changed the ledger")
                harmless += 1
            } else {
                detected += 1
            }
            try? FileManager.default.removeItem(atPath: copy)
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
        }
        #expect(detected > 0, "flips inside rows must be found")
        #expect(detected + harmless == 150)
    }
}
