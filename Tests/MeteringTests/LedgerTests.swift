import Foundation
import GRDB
import TestSupport
import Testing

@testable import Metering

@Suite("Metering ledger")
struct LedgerTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-19

    func query(_ id: String, tenant: String = "acme", tier: String = "rag", cost: Int64 = 12, at: Date? = nil)
        -> (LedgerEntry, [LedgerEntry])
    {
        let time = at ?? now
        let attempt = LedgerEntry(
            kind: .attempt, queryID: id, tenant: tenant, tier: tier, outcome: "resolved", confidence: 0.91,
            costMicros: cost, latencyMs: 4, occurredAt: time)
        let row = LedgerEntry(
            kind: .query, queryID: id, tenant: tenant, tier: tier, outcome: "resolved",
            question: "How do I enable WAL?",
            answer: "PRAGMA journal_mode=WAL;", citations: #"[{"doc_id":"wal.html"}]"#, confidence: 0.91,
            costMicros: cost,
            occurredAt: time)
        return (row, [attempt])
    }

    func makeLedger(_ dir: TemporaryDirectory) throws -> Ledger {
        try Ledger(path: dir.path("ledger.sqlite"))
    }

    @Test("a query is recorded with its attempts as a hash chain that verifies")
    func recordAndVerify() throws {
        let dir = try TemporaryDirectory()
        let ledger = try makeLedger(dir)
        for i in 1...5 {
            let (row, attempts) = query("q\(i)")
            guard case .recorded(let written) = try ledger.record(query: row, attempts: attempts, now: now) else {
                Issue.record("q\(i) was not recorded")
                return
            }
            #expect(written.map(\.kind) == [.attempt, .query])
        }
        let entries = try ledger.entries()
        #expect(entries.map(\.sequence) == Array(1...10))
        #expect(entries.first?.previousHash == "")
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $1.previousHash == $0.hash })
        let verification = try ledger.verify()
        #expect(verification.ok && verification.rows == 10 && verification.problem == nil)
        #expect(verification.legacyHashRows == 0, "new rows use hash scheme 2")
    }

    @Test("recording the same query id again returns the stored outcome and writes nothing")
    func idempotent() throws {
        let dir = try TemporaryDirectory()
        let ledger = try makeLedger(dir)
        let (row, attempts) = query("q1")
        _ = try ledger.record(query: row, attempts: attempts, now: now)
        var retried = row
        retried.answer = "something else"
        let free = attempts.map {
            var a = $0; a.costMicros = 0; return a
        }
        let again = try ledger.record(query: retried, attempts: free, now: now)
        guard case .duplicate(let stored) = again else {
            Issue.record("expected a duplicate")
            return
        }
        #expect(stored.first { $0.kind == .query }?.answer == "PRAGMA journal_mode=WAL;")
        #expect(try ledger.entries().count == 2)
        // The same id for another tenant is a different query.
        let (other, otherAttempts) = query("q1", tenant: "globex")
        guard case .recorded = try ledger.record(query: other, attempts: otherAttempts, now: now) else {
            Issue.record("another tenant's q1 must be recorded")
            return
        }
    }

    @Test("UPDATE and DELETE are refused by the schema")
    func appendOnly() throws {
        let dir = try TemporaryDirectory()
        let ledger = try makeLedger(dir)
        let (row, attempts) = query("q1")
        _ = try ledger.record(query: row, attempts: attempts, now: now)
        #expect(throws: DatabaseError.self) {
            try ledger.writer.write { try $0.execute(sql: "UPDATE ledger_entry SET cost_micros = 0") }
        }
        #expect(throws: DatabaseError.self) {
            try ledger.writer.write { try $0.execute(sql: "DELETE FROM ledger_entry") }
        }
        #expect(try ledger.entries().count == 2)
    }

    @Test("verify names the first row edited or removed behind the ledger's back")
    func tamperDetection() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        do {
            let ledger = try Ledger(path: path)
            for i in 1...4 {
                let (row, attempts) = query("q\(i)")
                _ = try ledger.record(query: row, attempts: attempts, now: now)
            }
        }
        // Someone with the file drops the guard and lowers a cost.
        let raw = try DatabaseQueue(path: path)
        try raw.write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update")
            try db.execute(sql: "UPDATE ledger_entry SET cost_micros = 1 WHERE seq = 5")
        }
        let edited = try Ledger(writer: raw, path: path).verify()
        #expect(edited.ok == false)
        #expect(edited.firstBrokenSequence == 5)
        #expect(edited.problem?.contains("altered") == true)

        try raw.write { db in
            try db.execute(sql: "UPDATE ledger_entry SET cost_micros = 12 WHERE seq = 5")
            try db.execute(sql: "DROP TRIGGER ledger_no_delete")
            try db.execute(sql: "DELETE FROM ledger_entry WHERE seq = 3")
        }
        let removed = try Ledger(writer: raw, path: path).verify()
        #expect(removed.firstBrokenSequence == 3)
        #expect(removed.problem?.contains("missing") == true)
    }

    @Test("late events are accepted up to 34 days back; older or future ones are refused")
    func backfillWindow() throws {
        let dir = try TemporaryDirectory()
        let ledger = try makeLedger(dir)
        let (recent, a1) = query("late", at: now.addingTimeInterval(-33 * 86_400))
        #expect(throws: Never.self) { try ledger.record(query: recent, attempts: a1, now: now) }
        let (old, a2) = query("old", at: now.addingTimeInterval(-35 * 86_400))
        #expect(throws: LedgerError.self) { try ledger.record(query: old, attempts: a2, now: now) }
        let (future, a3) = query("future", at: now.addingTimeInterval(3_600))
        #expect(throws: LedgerError.self) { try ledger.record(query: future, attempts: a3, now: now) }
        #expect(try ledger.entries().count == 2, "refused events write nothing")
    }

    @Test("corrections are new rows that reference the query")
    func corrections() throws {
        let dir = try TemporaryDirectory()
        let ledger = try makeLedger(dir)
        let (row, attempts) = query("q1")
        _ = try ledger.record(query: row, attempts: attempts, now: now)
        let void = try ledger.correct(
            tenant: "acme", queryID: "q1", outcome: "voided", note: "duplicate ticket", now: now)
        #expect(void.kind == .correction)
        #expect(void.sequence == 3)
        #expect(try ledger.entries(tenant: "acme", queryID: "q1").map(\.outcome) == ["resolved", "resolved", "voided"])
        #expect(throws: LedgerError.unknownQuery("nope")) {
            try ledger.correct(tenant: "acme", queryID: "nope", outcome: "voided")
        }
        #expect(try ledger.verify().ok)
    }

    @Test("concurrent writers on separate connections lose nothing and keep the chain intact")
    func concurrentWriters() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        _ = try Ledger(path: path)
        let now = self.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    let ledger = try Ledger(path: path)  // its own connection pool, as another process would
                    for i in 0..<25 {
                        let attempt = LedgerEntry(
                            kind: .attempt, queryID: "w\(writer)-\(i)", tenant: "acme", tier: "rag",
                            outcome: "resolved",
                            occurredAt: now)
                        let row = LedgerEntry(
                            kind: .query, queryID: "w\(writer)-\(i)", tenant: "acme", tier: "rag", outcome: "resolved",
                            occurredAt: now)
                        _ = try ledger.record(query: row, attempts: [attempt], now: now)
                    }
                }
            }
            try await group.waitForAll()
        }
        let ledger = try Ledger(path: path)
        #expect(try ledger.entries().filter { $0.kind == .query }.count == 100)
        #expect(try ledger.verify().ok)
    }
}
