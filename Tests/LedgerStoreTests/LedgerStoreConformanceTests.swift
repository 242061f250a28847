import Foundation
import Metering
import Testing

/// Every promise of a ``LedgerStore``, checked on SQLite (the embedded default) and on
/// PostgreSQL (several nodes, one database) by the same tests.
@Suite("Ledger store, on every backend")
struct LedgerStoreConformanceTests {
    @Test("a query id is recorded once per tenant; a repeat returns the stored rows", arguments: Backend.allCases)
    func recordsOnce(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let first = try await h.store.record(query: query("q1", cost: 250), attempts: [], now: Date())
            guard case .recorded(let written) = first else {
                Issue.record("first write was not recorded")
                return
            }
            let again = try await h.store.record(query: query("q1", cost: 999), attempts: [], now: Date())
            guard case .duplicate(let stored) = again else {
                Issue.record("a repeated query id was recorded twice")
                return
            }
            #expect(stored == written)
            #expect(try await h.store.entries(tenant: "acme", since: nil).count == 1)
            #expect(try await h.store.entries(tenant: "acme", queryID: "q1").first?.costMicros == 250)
        }
    }

    @Test(
        "concurrent writers on two nodes with overlapping ids: each id once, every attempt's cost metered, chains hold",
        arguments: Backend.allCases)
    func concurrentNodes(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            try await h.withNode { other in
                let nodes: [any LedgerStore] = [h.store, other]
                let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for i in 0..<40 {
                        let id = "q\(i % 10)"
                        let tenant = i % 3 == 0 ? "beta" : "acme"
                        let node = nodes[i % 2]
                        group.addTask {
                            let result = try await node.record(
                                query: query(id, tenant: tenant), attempts: [attempt(id, tenant: tenant, cost: 100)],
                                now: Date())
                            if case .recorded = result { return true }
                            return false
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                let all = try await h.store.entries(tenant: nil, since: nil)
                let queries = all.filter { $0.kind == .query }
                let keys = queries.map { "\($0.tenant)/\($0.queryID)" }
                #expect(Set(keys).count == keys.count, "no (tenant, query id) recorded twice")
                #expect(results.filter { $0 }.count == queries.count, "each recorded answer is in the ledger")
                let attempts = all.filter { $0.kind == .attempt }
                #expect(attempts.count == 40, "every attempt's work is metered")
                #expect(attempts.reduce(0) { $0 + $1.costMicros } == 4_000)
                #expect(attempts.filter { $0.note?.contains("discarded") == true }.count == 40 - queries.count)
                let verification = try await h.store.verifyChains(tenant: nil)
                #expect(verification.ok, "\(verification.problem ?? "")")
                #expect(verification.rows == all.count)
            }
        }
    }

    @Test("the database itself refuses UPDATE, DELETE and TRUNCATE of ledger rows", arguments: Backend.allCases)
    func appendOnly(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            _ = try await h.store.record(query: query("q1", cost: 10), attempts: [], now: Date())
            var statements = ["UPDATE ledger_entry SET cost_micros = 0", "DELETE FROM ledger_entry"]
            if backend == .postgres { statements.append("TRUNCATE ledger_entry") }
            for sql in statements {
                await #expect(throws: (any Error).self, "\(sql)") { try await h.rawExecute(sql) }
            }
            let rows = try await h.store.entries(tenant: "acme", since: nil)
            #expect(rows.count == 1 && rows[0].costMicros == 10)
        }
    }

    @Test("verification names the row changed behind the ledger's back", arguments: Backend.allCases)
    func verificationFindsTampering(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            for id in ["q1", "q2", "q3"] {
                _ = try await h.store.record(query: query(id, cost: 10), attempts: [], now: Date())
            }
            #expect(try await h.store.verifyChains(tenant: "acme").ok)
            try await h.tamper("acme", 2)
            let verification = try await h.store.verifyChains(tenant: "acme")
            #expect(!verification.ok)
            #expect(verification.firstBrokenSequence == 2)
            #expect(verification.problem?.contains("altered") == true)
        }
    }

    @Test(
        "the queue says why each question is there: the tiers' notes, or the answer the customer rejected and their words",
        arguments: Backend.allCases)
    func escalationQueue(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let now = Date()
            var escalated = query("e1", tier: "escalated")
            escalated.note = "rule: no rule matched; rag: confidence 0.41 below the threshold 0.60"
            var resolved = query("r1")
            resolved.note = "rule: no rule matched"
            _ = try await h.store.record(query: escalated, attempts: [], now: now)
            _ = try await h.store.record(query: resolved, attempts: [], now: now)
            _ = try await h.store.record(query: query("r2"), attempts: [], now: now)
            _ = try await h.store.correct(
                tenant: "acme", queryID: "r1", outcome: Ledger.Verdict.notHelpful.outcome, answer: nil,
                note: "I asked about refunds", now: now)
            _ = try await h.store.correct(
                tenant: "acme", queryID: "r2", outcome: Ledger.Verdict.helpful.outcome, answer: nil, note: nil, now: now
            )

            let queue = try await h.store.escalationQueue(tenant: "acme")
            #expect(queue.map(\.query.queryID) == ["e1", "r1"])
            #expect(queue.map(\.query.queryID) == (try await h.store.openEscalations(tenant: "acme").map(\.queryID)))
            #expect(queue[0].reason == "escalated" && queue[0].why == escalated.note && queue[0].rejectedAnswer == nil)
            #expect(queue[1].reason == "rejected_by_customer")
            #expect(queue[1].why == "the customer said the answer did not help: I asked about refunds")
            #expect(queue[1].rejectedAnswer == "Like this." && queue[1].customerComment == "I asked about refunds")
            #expect(try await h.store.escalationQueue(tenant: "other").isEmpty)
        }
    }

    @Test(
        "customers' verdicts come back with the resolutions they judge, oldest first, the tenant's only",
        arguments: Backend.allCases)
    func customerVerdicts(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let now = Date()
            var judged = query("r1", question: "How do I export?")
            judged.evidence = #"{"question_signature":"ab","signature_model":"m"}"#
            for row in [judged, query("r2"), query("r3"), query("r1", tenant: "other")] {
                _ = try await h.store.record(query: row, attempts: [], now: now)
            }
            // r3 gets no verdict (only voided); the other tenant's verdict on its own r1 stays its own.
            _ = try await h.store.correct(
                tenant: "acme", queryID: "r2", outcome: Ledger.Verdict.helpful.outcome, answer: nil, note: nil, now: now
            )
            _ = try await h.store.correct(
                tenant: "acme", queryID: "r1", outcome: Ledger.Verdict.notHelpful.outcome, answer: nil,
                note: "that is the import page", now: now.addingTimeInterval(1))
            _ = try await h.store.correct(
                tenant: "acme", queryID: "r3", outcome: "voided", answer: nil, note: nil, now: now)
            _ = try await h.store.correct(
                tenant: "other", queryID: "r1", outcome: Ledger.Verdict.helpful.outcome, answer: nil, note: nil,
                now: now)

            let verdicts = try await h.store.customerVerdicts(tenant: "acme")
            #expect(verdicts.map(\.query.queryID) == ["r2", "r1"])
            #expect(verdicts.map(\.verdict) == [.helpful, .notHelpful])
            #expect(verdicts[1].query.question == "How do I export?" && verdicts[1].query.evidence == judged.evidence)
            #expect(verdicts[1].comment == "that is the import page" && verdicts[0].comment == nil)
            #expect(verdicts[1].query.kind == .query && verdicts[1].recordedAt >= verdicts[0].recordedAt)
            let other = try await h.store.customerVerdicts(tenant: "other")
            #expect(other.map(\.query.tenant) == ["other"] && other.map(\.verdict) == [.helpful])
            #expect(try await h.store.customerVerdicts(tenant: "nobody").isEmpty)
            // The latest ones only, still oldest first.
            #expect(try await h.store.customerVerdicts(tenant: "acme", latest: 1).map(\.query.queryID) == ["r1"])
            #expect(try await h.store.customerVerdicts(tenant: "acme", latest: 5).count == 2)
            #expect(try await h.store.customerVerdicts(tenant: "acme", latest: 0).isEmpty)
            // The latest verdict row: the resolver reads the verdicts again only when it changes.
            let head = try #require(try await h.store.latestVerdict(tenant: "acme"))
            let rows = try await h.store.entries(tenant: "acme", queryID: "r1")
            let verdictRow = try #require(rows.first { $0.outcome == Ledger.Verdict.notHelpful.outcome })
            #expect(head.hash == verdictRow.hash && head.sequence == verdictRow.sequence)
            #expect(try await h.store.latestVerdict(tenant: "nobody") == nil)
        }
    }

    @Test(
        "an open escalation shows the agent's answers to the same question asked before, closest first",
        arguments: Backend.allCases)
    func answeredBefore(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let now = Date()
            let base = QuestionSignature(vector: (0..<384).map { Float(sin(Double($0))) })
            var near = base
            near.words.0 ^= 0b1111  // four bits apart: the same question in other words
            let far = QuestionSignature(vector: (0..<384).map { Float(cos(Double($0) * 7)) })
            func escalated(_ id: String, _ signature: QuestionSignature, model: String = "m", tenant: String = "acme")
                -> LedgerEntry
            {
                var row = query(id, tenant: tenant, tier: "escalated", question: "Question \(id)?")
                var evidence = Evidence()
                evidence.questionSignature = signature.hex
                evidence.signatureModel = model
                row.evidence = evidence.json
                return row
            }
            for row in [
                escalated("old", base), escalated("new", near), escalated("far", far),
                escalated("other-model", base, model: "n"), escalated("beta-old", base, tenant: "beta"),
            ] {
                _ = try await h.store.record(query: row, attempts: [], now: now)
            }
            _ = try await h.store.correct(
                tenant: "acme", queryID: "old", outcome: "agent_answer", answer: "Do this.", note: nil, now: now)
            _ = try await h.store.correct(
                tenant: "beta", queryID: "beta-old", outcome: "agent_answer", answer: "Beta's way.", note: nil, now: now
            )

            let queue = try await h.store.escalationQueue(tenant: "acme")
            #expect(queue.map(\.query.queryID) == ["new", "far", "other-model"])
            let new = try #require(queue.first { $0.query.queryID == "new" })
            #expect(new.answeredBefore.map(\.queryID) == ["old"], "another tenant's answer never shows")
            #expect(new.answeredBefore.first?.answer == "Do this." && new.answeredBefore.first?.distance == 4)
            #expect(new.answeredBefore.first?.question == "Question old?")
            #expect(queue.first { $0.query.queryID == "far" }?.answeredBefore.isEmpty == true)
            #expect(queue.first { $0.query.queryID == "other-model" }?.answeredBefore.isEmpty == true)
        }
    }

    @Test("corrections follow the same rules; answered escalations leave the open list", arguments: Backend.allCases)
    func corrections(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let now = Date()
            _ = try await h.store.record(query: query("r1"), attempts: [], now: now)
            _ = try await h.store.record(query: query("e1", tier: "escalated"), attempts: [], now: now)
            _ = try await h.store.record(query: query("e2", tier: "escalated"), attempts: [], now: now)
            #expect(try await h.store.openEscalations(tenant: "acme").map(\.queryID) == ["e1", "e2"])

            let void = try await h.store.correct(
                tenant: "acme", queryID: "r1", outcome: "voided", answer: nil, note: "wrong", now: now)
            #expect(void.kind == .correction && void.tier == "rag")
            await #expect(throws: LedgerError.self) {
                try await h.store.correct(
                    tenant: "acme", queryID: "r1", outcome: "voided", answer: nil, note: nil, now: now)
            }
            await #expect(throws: LedgerError.self) {
                try await h.store.correct(
                    tenant: "acme", queryID: "e1", outcome: "voided", answer: nil, note: nil, now: now)
            }
            _ = try await h.store.correct(
                tenant: nil, queryID: "e1", outcome: "agent_answer", answer: "Restart it.", note: nil, now: now)
            #expect(try await h.store.openEscalations(tenant: "acme").map(\.queryID) == ["e2"])
            await #expect(throws: LedgerError.self) {
                try await h.store.correct(
                    tenant: "acme", queryID: "nope", outcome: "voided", answer: nil, note: nil, now: now)
            }
            #expect(try await h.store.entries(tenant: "acme", since: nil).count == 5)
        }
    }

    @Test("tenants are isolated: same ids, separate rows, no reach into another tenant", arguments: Backend.allCases)
    func tenantIsolation(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            _ = try await h.store.record(query: query("shared", tenant: "acme"), attempts: [], now: Date())
            let beta = try await h.store.record(query: query("shared", tenant: "beta"), attempts: [], now: Date())
            guard case .recorded = beta else {
                Issue.record("another tenant's query id blocked this tenant's")
                return
            }
            _ = try await h.store.record(query: query("only-acme", tenant: "acme"), attempts: [], now: Date())
            #expect(try await h.store.entries(tenant: "beta", since: nil).map(\.queryID) == ["shared"])
            await #expect(throws: LedgerError.self) {
                try await h.store.correct(
                    tenant: "beta", queryID: "only-acme", outcome: "voided", answer: nil, note: nil, now: Date())
            }
            #expect(try await h.store.verifyChains(tenant: nil).ok)
        }
    }

    @Test(
        "a row dated in a month whose invoice is final is refused, for a tenant with rows or without",
        arguments: Backend.allCases)
    func finalizedMonths(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let now = Date()
            let late = now.addingTimeInterval(-33 * 86_400)  // always in an earlier month
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM"
            formatter.timeZone = TimeZone(identifier: "UTC")
            let month = formatter.string(from: late)
            _ = try await h.store.record(query: query("before", tenant: "acme", at: late), attempts: [], now: now)
            for (seq, tenant) in [(1, "acme"), (2, "beta")] {
                try await h.rawExecute(
                    """
                    INSERT INTO final_invoice(tenant, month, body, finalized_at_ms, seq, previous_hash, hash)
                    VALUES ('\(tenant)', '\(month)', '{}', 0, \(seq), '', '')
                    """)
                await #expect(throws: LedgerError.self, "\(backend) \(tenant)") {
                    try await h.store.record(
                        query: query("late-\(tenant)", tenant: tenant, at: late), attempts: [], now: now)
                }
                let current = try await h.store.record(
                    query: query("now-\(tenant)", tenant: tenant), attempts: [], now: now)
                guard case .recorded = current else {
                    Issue.record("\(backend): a row in an open month was refused")
                    return
                }
            }
        }
    }

    @Test("refused input writes nothing; money comes back to the micro-dollar", arguments: Backend.allCases)
    func refusalsAndExactMoney(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            await #expect(throws: (any Error).self) {
                try await h.store.record(query: query("nul", question: "a\u{0}b"), attempts: [], now: Date())
            }
            await #expect(throws: LedgerError.self) {
                try await h.store.record(
                    query: query("old", at: Date().addingTimeInterval(-40 * 86_400)), attempts: [], now: Date())
            }
            #expect(try await h.store.entries(tenant: nil, since: nil).isEmpty)
            // 2^53 + 1 micro-dollars: a Double would round it.
            let big: Int64 = 9_007_199_254_740_993
            _ = try await h.store.record(query: query("big", cost: big), attempts: [], now: Date())
            #expect(try await h.store.entries(tenant: "acme", queryID: "big").first?.costMicros == big)
            #expect(try await h.store.verifyChains(tenant: "acme").ok)
        }
    }
}
