import Foundation
import TestSupport
import Testing

@testable import Metering

/// The same question asked again in other words, each time by a "new user", must not become
/// many billable resolutions (issue 33: 25 of 25 were billed).
@Suite("Near-duplicate questions by meaning")
struct NearDuplicateBillingTests {
    /// Seeded Gaussian-ish vectors (sum of uniforms), so every run sees the same numbers.
    struct Vectors {
        var state: UInt64

        mutating func next() -> Float {
            var total: Float = 0
            for _ in 0..<4 { total += Float(QuestionSignature.next(&state) % 10_000) / 10_000 - 0.5 }
            return total
        }

        mutating func unit(_ dimension: Int = 384) -> [Float] {
            normalized((0..<dimension).map { _ in next() })
        }

        /// A vector at about cosine `similarity` from `base`.
        mutating func near(_ base: [Float], similarity: Float) -> [Float] {
            let noise = unit(base.count)
            let mix = (1 - similarity * similarity).squareRoot()
            return normalized(zip(base, noise).map { similarity * $0 + mix * $1 })
        }

        func normalized(_ v: [Float]) -> [Float] {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    @Test("signatures differ in about θ/π of their 256 bits, and round-trip through hex")
    func signaturesFollowTheAngle() {
        var vectors = Vectors(state: 42)
        let base = vectors.unit()
        for similarity: Float in [0.95, 0.8, 0.6, 0.0] {
            let other = vectors.near(base, similarity: similarity)
            let angle = acos(Double(Self.cosine(base, other)))
            let expected = 256 * angle / Double.pi
            let distance = QuestionSignature(vector: base).distance(to: QuestionSignature(vector: other))
            // Binomial spread: ± 4 standard deviations of 256 fair-ish bits is about ± 32.
            #expect(abs(Double(distance) - expected) < 32, "cos \(similarity): \(distance) bits, expected ~\(expected)")
        }
        let signature = QuestionSignature(vector: base)
        #expect(QuestionSignature(hex: signature.hex) == signature)
        #expect(signature.hex.count == 64)
        #expect(
            QuestionSignature(hex: "xyz") == nil && QuestionSignature(hex: String(repeating: "g", count: 64)) == nil)
        // 64 UTF-8 bytes but fewer characters (found by tools/fuzz FuzzEvidence: it crashed).
        #expect(QuestionSignature(hex: String(repeating: "é", count: 32)) == nil)
        #expect(QuestionSignature(hex: "+" + String(repeating: "0", count: 63)) == nil)
    }

    @Test("near-duplicates are grouped (chained), different questions are not")
    func grouping() {
        var vectors = Vectors(state: 7)
        let refund = vectors.unit()
        let password = vectors.unit()
        var signatures = (0..<10).map { _ in QuestionSignature(vector: vectors.near(refund, similarity: 0.85)) }
        signatures += (0..<10).map { _ in QuestionSignature(vector: vectors.near(password, similarity: 0.85)) }
        signatures += (0..<30).map { _ in QuestionSignature(vector: vectors.unit()) }
        let groups = QuestionSignature.groups(signatures)
        #expect(groups.contains(Array(0..<10)))
        #expect(groups.contains(Array(10..<20)))
        #expect(groups.filter { $0.count > 1 }.count == 2, "the 30 unrelated questions stay apart")
    }

    /// Records a RAG resolution with its question's signature as the resolver would.
    func resolve(_ ledger: Ledger, _ id: String, question: String, vector: [Float], user: String, at: Date) throws {
        let evidence = Evidence(questionSignature: QuestionSignature(vector: vector).hex, signatureModel: "m")
        let row = LedgerEntry(
            kind: .query, queryID: id, tenant: "acme", userID: user, tier: "rag", outcome: "resolved",
            question: question, costMicros: 20, occurredAt: at, evidence: evidence.json)
        _ = try ledger.record(query: row, attempts: [], now: at.addingTimeInterval(60))
    }

    @Test("25 rewordings of one question by 25 new users are flagged, not billed; 25 different questions are billed")
    func rewordingsAreFlagged() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let month = BillingMonth.containing(TestClock.now, in: .gmt)
        let start = month.interval(in: .gmt).start.addingTimeInterval(86_400)
        var vectors = Vectors(state: 99)
        let refund = vectors.unit()
        let noise = ["zebra piano", "orbit velvet", "canyon mango", "quartz lantern", "pepper glacier"]
        for i in 0..<25 {
            try resolve(
                ledger, "dup\(i)", question: "How long do refunds take? \(noise[i % 5]) \(i)",
                vector: vectors.near(refund, similarity: 0.78), user: "user-\(i)",
                at: start.addingTimeInterval(Double(i) * 60))
        }
        for i in 0..<25 {
            try resolve(
                ledger, "other\(i)", question: "Different question number \(i)", vector: vectors.unit(),
                user: "person-\(i)", at: start.addingTimeInterval(86_400 + Double(i) * 60))
        }
        let usage = MonthlyUsage(
            tenant: "acme", month: month, entries: try ledger.entries(tenant: "acme"), timeZone: .gmt)
        let flagged = Set(usage.flagged.map(\.queryID))
        #expect(flagged == Set((0..<25).map { "dup\($0)" }), "every rewording held for review")
        #expect(Set(usage.billable.map(\.queryID)) == Set((0..<25).map { "other\($0)" }))
        #expect(usage.flagged.allSatisfy { $0.flags.contains("similar_burst") })
        #expect(usage.findings.contains { $0.hasPrefix("similar_burst") }, "\(usage.findings)")
    }

    @Test("evidence is part of the row's hash: changing it breaks verification")
    func evidenceIsHashed() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        var vectors = Vectors(state: 5)
        try resolve(ledger, "q1", question: "Why?", vector: vectors.unit(), user: "u", at: TestClock.now)
        let row = try #require(try ledger.entries(tenant: "acme").first)
        #expect(row.hashScheme == .evidence && row.evidence != nil)
        var tampered = row
        tampered.evidence = Evidence(questionSignature: String(repeating: "0", count: 64), signatureModel: "m").json
        #expect(tampered.contentHash != row.hash)
        #expect(row.contentHash == row.hash)
    }
}

/// Billing by the customer's verdict: `bill: confirmed_only` charges confirmed resolutions only.
@Suite("Billing by the customer's verdict")
struct VerdictBillingTests {
    @Test("confirmed_only charges only confirmed resolutions and lists the rest as awaiting confirmation")
    func confirmedOnly() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let month = BillingMonth.containing(TestClock.now, in: .gmt)
        let start = month.interval(in: .gmt).start.addingTimeInterval(3600)
        for i in 0..<5 {
            let at = start.addingTimeInterval(Double(i) * 86_400)
            _ = try ledger.record(
                query: LedgerEntry(
                    kind: .query, queryID: "r\(i)", tenant: "acme", conversationID: "c\(i)", tier: "rag",
                    outcome: "resolved", question: "Question \(i)", costMicros: 20, occurredAt: at),
                attempts: [], now: at)
        }
        _ = try ledger.correct(tenant: "acme", queryID: "r0", outcome: "confirmed", now: start.addingTimeInterval(60))
        _ = try ledger.correct(tenant: "acme", queryID: "r1", outcome: "confirmed", now: start.addingTimeInterval(60))
        _ = try ledger.correct(
            tenant: "acme", queryID: "r2", outcome: "rejected_by_customer", note: "wrong",
            now: start.addingTimeInterval(60))
        #expect(throws: LedgerError.self) {
            try ledger.correct(tenant: "acme", queryID: "r0", outcome: "rejected_by_customer", now: start)
        }
        let usage = MonthlyUsage(
            tenant: "acme", month: month, entries: try ledger.entries(tenant: "acme"), timeZone: .gmt)
        #expect(usage.confirmed.map(\.queryID) == ["r0", "r1"])
        #expect(Set(usage.assumed.map(\.queryID)) == ["r3", "r4"])
        #expect(usage.queries.first { $0.queryID == "r2" }?.status == .rejectedByCustomer)
        var plan = Plan(
            id: "p", name: "P", baseFee: 0, resolutionTiers: [.init(upTo: nil, price: Decimal(string: "1.00")!)])
        let both = Invoice.compute(usage: usage, plan: plan, billing: .resolution, timeZone: .gmt)
        #expect(both.total == 4, "confirmed and assumed: 4 × $1.00")
        plan.bill = .confirmedOnly
        let confirmedOnly = Invoice.compute(usage: usage, plan: plan, billing: .resolution, timeZone: .gmt)
        #expect(confirmedOnly.total == 2, "confirmed only: 2 × $1.00")
        let waiting = confirmedOnly.lines.first { $0.kind == "awaiting_confirmation" }
        #expect(waiting?.amount == 0 && Set(waiting?.queryIDs ?? []) == ["r3", "r4"])
        #expect(confirmedOnly.lines.first { $0.kind == "rejected_by_customer" }?.queryIDs == ["r2"])
        #expect(confirmedOnly.verdicts?.bill == .confirmedOnly && confirmedOnly.verdicts?.rejectedByCustomer == 1)
        // The plans file takes the key.
        let catalog = try PlanCatalog.parse(
            "plans:\n  - { id: strict, base_fee: \"0\", resolution_price: \"1\", bill: confirmed_only }\n",
            source: "test")
        #expect(catalog.plan("strict")?.bill == .confirmedOnly)
        #expect(throws: BillingError.self) {
            try PlanCatalog.parse("plans:\n  - { id: x, base_fee: \"0\", bill: sometimes }\n", source: "test")
        }
    }
}
