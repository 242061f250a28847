import Foundation
import TestSupport
import Testing

@testable import Metering

/// What the ledger cannot store exactly is refused, so what is hashed is always what is stored.
@Suite("Ledger input validation")
struct LedgerInputTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    func row(id: String, question: String = "How do I enable WAL?", user: String? = nil) -> LedgerEntry {
        LedgerEntry(
            kind: .query, queryID: id, tenant: "acme", userID: user, tier: "rag", outcome: "resolved",
            question: question, answer: "PRAGMA journal_mode=WAL;", occurredAt: now)
    }

    @Test("NUL and other control characters in ids are refused, naming the field")
    func controlCharactersInIDs() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        for (entry, field) in [
            (row(id: "a\u{0}-1"), "query_id"), (row(id: "a\n"), "query_id"),
            (row(id: "ok", user: "u\u{0}x"), "user_id"),
        ] {
            #expect {
                try ledger.record(query: entry, attempts: [], now: now)
            } throws: { error in
                "\(error)".contains(field)
            }
        }
        #expect(try ledger.entries().isEmpty)
    }

    @Test("a NUL in a question is refused; everything stored verifies")
    func nulInText() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        #expect(throws: LedgerError.self) {
            try ledger.record(query: row(id: "q1", question: "why\u{0}hidden"), attempts: [], now: now)
        }
        _ = try ledger.record(query: row(id: "q2", question: "tabs\tand ünïcödé are fine"), attempts: [], now: now)
        let stored = try ledger.entries()
        #expect(stored.map(\.question) == ["tabs\tand ünïcödé are fine"])
        #expect(try ledger.verify().ok)
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "q2", outcome: "agent_answer", answer: "x\u{0}y", now: now)
        }
    }
}
