import Foundation
import TestSupport
import Testing

@testable import Metering

/// Corrections follow one set of rules whoever asks: nothing is written when they are broken.
@Suite("Ledger corrections")
struct CorrectionRulesTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    func query(_ id: String, tenant: String, tier: String) -> LedgerEntry {
        LedgerEntry(
            kind: .query, queryID: id, tenant: tenant, tier: tier,
            outcome: tier == "escalated" ? "escalated" : "resolved", question: "q", answer: "a", occurredAt: now)
    }

    @Test("void and reopen only resolutions, once; agent answers only escalations, once, never empty")
    func rules() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        _ = try ledger.record(query: query("r1", tenant: "acme", tier: "rag"), attempts: [], now: now)
        _ = try ledger.record(query: query("e1", tenant: "acme", tier: "escalated"), attempts: [], now: now)
        _ = try ledger.record(query: query("shared", tenant: "acme", tier: "rag"), attempts: [], now: now)
        _ = try ledger.record(query: query("shared", tenant: "beta", tier: "rag"), attempts: [], now: now)
        let before = try ledger.entries().count

        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "e1", outcome: "voided", now: now)
        }
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "e1", outcome: "agent_answer", answer: "  ", now: now)
        }
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "r1", outcome: "agent_answer", answer: "x", now: now)
        }
        #expect {
            try ledger.correct(tenant: nil, queryID: "shared", outcome: "voided", note: "x", now: now)
        } throws: { "\($0)".contains("acme, beta") }
        #expect(try ledger.entries().count == before, "nothing written by refused corrections")

        _ = try ledger.correct(tenant: "acme", queryID: "r1", outcome: "voided", note: "spam", now: now)
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "r1", outcome: "voided", note: "again", now: now)
        }
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "r1", outcome: "reopened", now: now)
        }
        _ = try ledger.correct(tenant: "acme", queryID: "e1", outcome: "agent_answer", answer: "Done.", now: now)
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "e1", outcome: "agent_answer", answer: "Again.", now: now)
        }
        _ = try ledger.correct(tenant: "beta", queryID: "shared", outcome: "reopened", now: now)
        #expect(try ledger.entries().count == before + 3)
        #expect(try ledger.verify().ok)
    }
}
