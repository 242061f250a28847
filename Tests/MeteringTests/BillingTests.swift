import Foundation
import TestSupport
import Testing

@testable import Metering

/// Invoices worked out by hand: each expected amount is written out in the test.
@Suite("Billing: plans, billable resolutions, invoices")
struct BillingTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    /// 2026-11-dd hh:00 UTC.
    static func nov(_ day: Int, _ hour: Int = 12) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.date(from: DateComponents(year: 2026, month: 11, day: day, hour: hour))!
    }

    let november = BillingMonth(year: 2026, month: 11)

    func ledger(_ dir: TemporaryDirectory) throws -> Ledger { try Ledger(path: dir.path("ledger.sqlite")) }

    /// Records one query with one attempt of `cost` micro-dollars in `tier`.
    func ask(
        _ ledger: Ledger, _ id: String, tier: String = "rag", cost: Int64 = 20, at: Date = nov(10),
        conversation: String? = nil, user: String? = nil, question: String = "How do I enable WAL?"
    ) throws {
        let attemptTier = tier == "escalated" ? "llm" : (tier == "rejected" ? "screen" : tier)
        let attempt = LedgerEntry(
            kind: .attempt, queryID: id, tenant: "acme", conversationID: conversation, userID: user, tier: attemptTier,
            outcome: tier == "escalated" ? "below_threshold" : "resolved", costMicros: cost, occurredAt: at)
        let row = LedgerEntry(
            kind: .query, queryID: id, tenant: "acme", conversationID: conversation, userID: user, tier: tier,
            outcome: tier == "escalated" || tier == "rejected" ? tier : "resolved", question: question,
            costMicros: cost,
            occurredAt: at)
        _ = try ledger.record(query: row, attempts: [attempt], now: at.addingTimeInterval(60))
    }

    /// 105 RAG resolutions at 20 µ$, 3 escalations whose LLM attempts cost 500 µ$, 1 rejected.
    func standardMonth(_ ledger: Ledger) throws {
        for i in 0..<105 {
            try ask(ledger, "r\(i)", at: Self.nov(1 + i % 28), conversation: "c\(i)", question: "question number \(i)")
        }
        for i in 0..<3 { try ask(ledger, "e\(i)", tier: "escalated", cost: 500, at: Self.nov(5)) }
        try ask(ledger, "junk", tier: "rejected", cost: 0, at: Self.nov(6))
    }

    func invoice(_ ledger: Ledger, plan: String, billing: BillingMode, zone: TimeZone = utc) throws -> Invoice {
        let usage = MonthlyUsage(
            tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: zone)
        return Invoice.compute(usage: usage, plan: PlanCatalog.standard.plan(plan)!, billing: billing, timeZone: zone)
    }

    @Test("rounding is half-to-even to cents, once per line")
    func rounding() {
        #expect(Money.cents(Decimal(string: "0.125")!) == Decimal(string: "0.12")!)
        #expect(Money.cents(Decimal(string: "0.135")!) == Decimal(string: "0.14")!)
        #expect(Money.cents(Decimal(string: "2.675")!) == Decimal(string: "2.68")!)
        #expect(Money.cents(Decimal(string: "0.00972")!) == Decimal(string: "0.01")!)
        #expect(Money.format(Decimal(string: "1234.5")!) == "$1,234.50")
        #expect(Money.format(Decimal(string: "-49.25")!) == "-$49.25")
    }

    @Test("the built-in catalog has self-serve plans from $0 to $149 and negotiated Enterprise")
    func catalog() {
        let plans = PlanCatalog.standard.plans
        #expect(plans.map(\.id) == ["free", "starter", "pro", "team", "enterprise"])
        #expect(plans.filter { !$0.negotiated }.map(\.baseFee).max() == 149)
        #expect(plans.filter { !$0.negotiated }.map(\.baseFee).min() == 0)
        #expect(PlanCatalog.standard.plan("pro")?.tokenMargin == Decimal(string: "2.70"))
        #expect(PlanCatalog.standard.plan("team")?.tokenMargin == Decimal(string: "2.70"))
        #expect(throws: BillingError.self) { try PlanCatalog.parse("plans:\n  - id: x\n", source: "bad.yaml") }
    }

    @Test("Pro, resolution billing: $79 + 5 resolutions beyond the 100 included at $0.89 = $83.45")
    func proResolution() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try standardMonth(ledger)
        let bill = try invoice(ledger, plan: "pro", billing: .resolution)
        #expect(bill.lines.map(\.kind) == ["base_fee", "included_resolutions", "resolutions"])
        #expect(bill.lines[0].amount == 79)
        #expect(bill.lines[1].quantity == 100 && bill.lines[1].amount == 0)
        #expect(bill.lines[2].quantity == 5 && bill.lines[2].unitPrice == Decimal(string: "0.89")!)
        #expect(bill.lines[2].amount == Decimal(string: "4.45")!)
        #expect(bill.total == Decimal(string: "83.45")!)
        // Traceable: the charged line names the five last resolutions of the month.
        #expect(bill.lines[2].queryIDs.count == 5)
        #expect(Set(bill.lines[1].queryIDs + bill.lines[2].queryIDs).count == 105)
    }

    @Test("Pro, token billing: model cost $0.0036 × 2.70 = $0.00972 → $0.01, plus $79 = $79.01")
    func proToken() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try standardMonth(ledger)
        let bill = try invoice(ledger, plan: "pro", billing: .token)
        // 105 × 20 µ$ + 3 × 500 µ$ = 3,600 µ$: failed attempts and escalations are model cost too.
        #expect(bill.lines.map(\.kind) == ["base_fee", "token_usage"])
        #expect(bill.lines[1].quantity == Decimal(string: "0.0036")!)
        #expect(bill.lines[1].amount == Decimal(string: "0.01")!)
        #expect(bill.total == Decimal(string: "79.01")!)
        let both = try invoice(ledger, plan: "pro", billing: .both)
        #expect(both.total == Decimal(string: "83.46")!)
    }

    @Test("Team, resolution billing: nothing beyond 300 included, so the $49 minimum applies: $198.00")
    func teamMinimum() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try standardMonth(ledger)
        let bill = try invoice(ledger, plan: "team", billing: .resolution)
        #expect(bill.lines.map(\.kind) == ["base_fee", "included_resolutions", "minimum"])
        #expect(bill.lines[2].amount == 49)
        #expect(bill.total == 198)
    }

    @Test("Free: 25 included, 80 × $0.99 = $79.20, capped at $25.00")
    func freeCap() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try standardMonth(ledger)
        let bill = try invoice(ledger, plan: "free", billing: .resolution)
        #expect(bill.lines.map(\.kind) == ["included_resolutions", "resolutions", "cap"])
        #expect(bill.lines[1].amount == Decimal(string: "79.20")!)
        #expect(bill.lines[2].amount == Decimal(string: "-54.20")!)
        #expect(bill.total == 25)
    }

    @Test("Pro tiers: 1,150 billable = 100 included + 900 × $0.89 (to 1,000) + 150 × $0.69 + $79 = $983.50")
    func proTiers() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        for i in 0..<1150 {
            try ask(
                ledger, "t\(i)", at: Self.nov(1 + i % 28, i % 24), conversation: "c\(i)", user: "u\(i % 40)",
                question: "q \(i)")
        }
        let bill = try invoice(ledger, plan: "pro", billing: .resolution)
        let charged = bill.lines.filter { $0.kind == "resolutions" }
        #expect(charged.map(\.quantity) == [900, 150])
        #expect(charged.map(\.amount) == [Decimal(string: "801.00")!, Decimal(string: "103.50")!])
        #expect(bill.total == Decimal(string: "983.50")!)
    }

    @Test("months are cut in the tenant's time zone: 23:30 UTC on 31 October is November in Berlin")
    func timeZoneBoundary() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Self.utc
        let late = calendar.date(from: DateComponents(year: 2026, month: 10, day: 31, hour: 23, minute: 30))!
        try ask(ledger, "edge", at: late)
        let entries = try ledger.entries(tenant: "acme")
        #expect(
            MonthlyUsage(tenant: "acme", month: november, entries: entries, timeZone: Self.berlin).billable.count == 1)
        #expect(MonthlyUsage(tenant: "acme", month: november, entries: entries, timeZone: Self.utc).billable.isEmpty)
        #expect(
            MonthlyUsage(tenant: "acme", month: november.previous, entries: entries, timeZone: Self.utc).billable.count
                == 1)
    }

    @Test("reopened within 72 hours: void; reopened later: still billable; voided: never billable")
    func reopenAndVoid() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try ask(ledger, "soon", at: Self.nov(10), conversation: "a")
        try ask(ledger, "late", at: Self.nov(10), conversation: "b")
        try ask(ledger, "void", at: Self.nov(10), conversation: "c")
        _ = try ledger.correct(tenant: "acme", queryID: "soon", outcome: "reopened", now: Self.nov(11))
        _ = try ledger.correct(tenant: "acme", queryID: "late", outcome: "reopened", now: Self.nov(15))
        _ = try ledger.correct(
            tenant: "acme", queryID: "void", outcome: "voided", note: "customer complaint", now: Self.nov(20))
        let usage = MonthlyUsage(
            tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc)
        let status = Dictionary(uniqueKeysWithValues: usage.queries.map { ($0.queryID, $0.status) })
        #expect(status == ["soon": .reopened, "late": .billable, "void": .voided])
        // A shorter window turns the 24-hour reopen into a billable one.
        let strict = MonthlyUsage(
            tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc,
            reopenWindowHours: 12)
        #expect(strict.queries.first { $0.queryID == "soon" }?.status == .billable)
    }

    @Test("one billable resolution per conversation per month; the same user's same question again is a duplicate")
    func duplicates() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try ask(ledger, "c1", at: Self.nov(3), conversation: "conv")
        try ask(ledger, "c2", at: Self.nov(4), conversation: "conv", question: "Another question")
        try ask(ledger, "u1", at: Self.nov(5), user: "bob", question: "How do I VACUUM?")
        try ask(ledger, "u2", at: Self.nov(6), user: "bob", question: "how do i vacuum")
        try ask(ledger, "u3", at: Self.nov(6), user: "ann", question: "how do i vacuum")
        let usage = MonthlyUsage(
            tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc)
        let status = Dictionary(uniqueKeysWithValues: usage.queries.map { ($0.queryID, $0.status) })
        #expect(status == ["c1": .billable, "c2": .duplicate, "u1": .billable, "u2": .duplicate, "u3": .billable])
    }

    @Test("a burst of one user's identical question is flagged and held out of the charge, not dropped")
    func flags() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        for i in 0..<30 {
            try ask(
                ledger, "n\(i)", at: Self.nov(1 + i % 28), conversation: "n\(i)", user: "u\(i)", question: "normal \(i)"
            )
        }
        for i in 0..<25 {
            try ask(
                ledger, "b\(i)", at: Self.nov(12).addingTimeInterval(Double(i) * 60), conversation: "b\(i)",
                user: "mallory", question: "free answer please \(i % 1)")
        }
        let usage = MonthlyUsage(
            tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc)
        // The burst's 25, plus the one ordinary resolution that fell on the spiking day: the whole
        // day is held for a person to look at.
        #expect(usage.flagged.count == 26)
        #expect(usage.billable.count == 29)
        #expect(usage.findings.contains { $0.hasPrefix("burst") })
        #expect(usage.findings.contains { $0.hasPrefix("day 2026-11-12") })
        let bill = Invoice.compute(
            usage: usage, plan: PlanCatalog.standard.plan("pro")!, billing: .resolution, timeZone: Self.utc)
        let held = try #require(bill.lines.first { $0.kind == "held_for_review" })
        #expect(held.quantity == 26 && held.amount == 0)
    }

    @Test("a plan change applies from the next month; a first plan starting mid-month prorates the base fee")
    func changesAndProration() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        let pro = PlanCatalog.standard.plan("pro")!
        let team = PlanCatalog.standard.plan("team")!
        let first = try ledger.setBilling(
            tenant: "acme", plan: pro, billing: .resolution, timeZone: "Europe/Berlin", now: Self.nov(16))
        #expect(first.effectiveMonth == "2026-11")
        let change = try ledger.setBilling(
            tenant: "acme", plan: team, billing: .token, timeZone: "Europe/Berlin", now: Self.nov(20))
        #expect(change.effectiveMonth == "2026-12")
        #expect(try ledger.billing(tenant: "acme", month: november)?.plan == "pro")
        #expect(try ledger.billing(tenant: "acme", month: november.next)?.plan == "team")
        #expect(throws: BillingError.self) {
            try ledger.setBilling(tenant: "acme", plan: pro, billing: .resolution, timeZone: "Mars/Olympus")
        }
        // Started on 16 November (Berlin): 15 of 30 days, $79 × 15/30 = $39.50.
        let usage = MonthlyUsage(tenant: "acme", month: november, entries: [], timeZone: Self.berlin)
        let bill = Invoice.compute(
            usage: usage, plan: pro, billing: .resolution, timeZone: Self.berlin,
            activeFrom: try ledger.billingHistory(tenant: "acme").first?.recordedAt)
        #expect(bill.lines.first?.amount == Decimal(string: "39.50")!)
        #expect(bill.total == Decimal(string: "39.50")!)
    }

    @Test("the report splits cost and resolutions per tier and computes the blended cost per billable resolution")
    func report() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try standardMonth(ledger)
        let usage = MonthlyUsage(
            tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc)
        let bill = Invoice.compute(
            usage: usage, plan: PlanCatalog.standard.plan("pro")!, billing: .both, timeZone: Self.utc)
        let report = UsageReport(usage: usage, invoice: bill)
        #expect(report.queries == 109)
        #expect(report.resolutions == 105 && report.billableResolutions == 105)
        #expect(report.escalated == 3 && report.rejected == 1)
        #expect(abs((report.resolutionRate ?? 0) - 105.0 / 108.0) < 1e-12)
        // 3,600 µ$ over 105 billable resolutions.
        #expect(report.blendedCostPerResolution == Decimal(string: "0.0036")! / 105)
        let rag = try #require(report.tiers.first { $0.tier == "rag" })
        let llm = try #require(report.tiers.first { $0.tier == "llm" })
        #expect(rag.costMicros == 2100 && llm.costMicros == 1500)
        #expect(rag.resolutionShare == 1 && llm.resolutionShare == 0)
        // Billed: all resolution charges ($4.45) and 2100/3600 of the token line ($0.01) → $4.46 for RAG.
        #expect(rag.billed == Decimal(string: "4.46")!)
        #expect(llm.billed == 0)
    }

    @Test("a charged resolution the customer later says did not help is credited on the next invoice")
    func rejectedAfterFinalIsCredited() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        let pro = PlanCatalog.standard.plan("pro")!
        for i in 0..<102 {
            try ask(
                ledger, "o\(i)", at: Self.nov(1 + i % 28).addingTimeInterval(-31 * 86400), conversation: "o\(i)",
                question: "q\(i)")
        }
        let usage = MonthlyUsage(
            tenant: "acme", month: november.previous, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc)
        let final = try ledger.finalize(
            Invoice.compute(usage: usage, plan: pro, billing: .resolution, timeZone: Self.utc), now: Self.nov(2))
        let charged = try #require(final.lines.first { $0.kind == "resolutions" }?.queryIDs.last)
        // A week after the month closed, well past the reopen window.
        _ = try ledger.correct(
            tenant: "acme", queryID: charged, outcome: "rejected_by_customer", note: "wrong product", now: Self.nov(8))
        let credits = Invoice.credits(
            for: november, finals: try ledger.finalInvoices(tenant: "acme"),
            entries: try ledger.entries(tenant: "acme"),
            reopenWindowHours: 72)
        #expect(credits.map(\.amount) == [Decimal(string: "-0.89")!])
        #expect(credits.first?.queryIDs == [charged])
    }

    @Test("a final invoice never changes; a charged resolution voided afterwards is credited once, on the next invoice")
    func finalizeAndCredit() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        let pro = PlanCatalog.standard.plan("pro")!
        for i in 0..<102 {
            try ask(
                ledger, "o\(i)", at: Self.nov(1 + i % 28).addingTimeInterval(-31 * 86400), conversation: "o\(i)",
                question: "q\(i)")
        }
        let october = november.previous
        let usage = MonthlyUsage(
            tenant: "acme", month: october, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc)
        let draft = Invoice.compute(usage: usage, plan: pro, billing: .resolution, timeZone: Self.utc)
        // $79 + 2 × $0.89.
        #expect(draft.total == Decimal(string: "80.78")!)
        let final = try ledger.finalize(draft, now: Self.nov(2))
        #expect(final.status == "final")
        let charged = try #require(final.lines.first { $0.kind == "resolutions" }?.queryIDs.last)
        _ = try ledger.correct(
            tenant: "acme", queryID: charged, outcome: "voided", note: "late complaint", now: Self.nov(3))

        // Finalizing again returns the stored invoice unchanged, whatever happened since.
        let recomputed = Invoice.compute(
            usage: MonthlyUsage(
                tenant: "acme", month: october, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc),
            plan: pro, billing: .resolution, timeZone: Self.utc)
        #expect(recomputed.total != final.total)
        #expect(try ledger.finalize(recomputed) == final)
        #expect(try ledger.finalInvoices(tenant: "acme") == [final])

        let credits = Invoice.credits(
            for: november, finals: try ledger.finalInvoices(tenant: "acme"),
            entries: try ledger.entries(tenant: "acme"),
            reopenWindowHours: 72)
        #expect(credits.count == 1)
        #expect(credits[0].amount == Decimal(string: "-0.89")!)
        #expect(credits[0].queryIDs == [charged])
        // Once a final invoice carries the credit, later invoices do not credit it again.
        var nov = Invoice.compute(
            usage: MonthlyUsage(
                tenant: "acme", month: november, entries: try ledger.entries(tenant: "acme"), timeZone: Self.utc),
            plan: pro, billing: .resolution, timeZone: Self.utc)
        nov.apply(credits: credits)
        #expect(nov.total == Decimal(string: "78.11")!)
        _ = try ledger.finalize(nov, now: Self.nov(30))
        let december = Invoice.credits(
            for: november.next, finals: try ledger.finalInvoices(tenant: "acme"),
            entries: try ledger.entries(tenant: "acme"),
            reopenWindowHours: 72)
        #expect(december.isEmpty)
    }

    @Test("an immediate plan change splits the base fee by day: Pro for 15 days + Team for 15 days = $114.00")
    func immediateChangeProration() throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        let pro = PlanCatalog.standard.plan("pro")!
        let team = PlanCatalog.standard.plan("team")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Self.utc
        let october = calendar.date(from: DateComponents(year: 2026, month: 10, day: 20))!
        try ledger.setBilling(tenant: "acme", plan: pro, billing: .resolution, timeZone: "UTC", now: october)
        try ledger.setBilling(
            tenant: "acme", plan: team, billing: .resolution, timeZone: "UTC", immediately: true, now: Self.nov(16))
        let periods = try ledger.planPeriods(tenant: "acme", month: november, timeZone: Self.utc)
        #expect(periods.map(\.plan) == ["pro", "team"])
        let usage = MonthlyUsage(tenant: "acme", month: november, entries: [], timeZone: Self.utc)
        let bill = Invoice.compute(
            usage: usage, plan: team, billing: .resolution, timeZone: Self.utc,
            basePeriods: [(pro, periods[0].from), (team, periods[1].from)])
        // Team's $49 resolution minimum applies too (no resolutions): $39.50 + $74.50 + $49.00.
        #expect(
            bill.lines.filter { $0.kind == "base_fee" }.map(\.amount) == [
                Decimal(string: "39.50")!, Decimal(string: "74.50")!,
            ])
        #expect(bill.total == Decimal(string: "163.00")!)
    }

    @Test(
        "every other plan and mode, by hand (105 billable resolutions, $0.0036 model cost)",
        arguments: [
            // Starter: $29 + (105 − 50 included) × $0.99 = $29 + $54.45.
            ("starter", BillingMode.resolution, "83.45"),
            // Starter: $29 + $0.0036 × 3.00 = $0.0108 → $0.01.
            ("starter", BillingMode.token, "29.01"),
            // Team: $149 + $0.0036 × 2.70 → $0.01 (the minimum only concerns resolution charges).
            ("team", BillingMode.token, "149.01"),
            // Team, both: $149 + $0.01 + $49 minimum (no resolution beyond the 300 included).
            ("team", BillingMode.both, "198.01"),
            // Enterprise (list terms): no base fee, 105 × $0.49 = $51.45.
            ("enterprise", BillingMode.resolution, "51.45"),
            ("enterprise", BillingMode.token, "0.01"),
        ])
    func otherPlans(plan: String, billing: BillingMode, total: String) throws {
        let dir = try TemporaryDirectory()
        let ledger = try ledger(dir)
        try standardMonth(ledger)
        #expect(try invoice(ledger, plan: plan, billing: billing).total == Decimal(string: total)!)
    }
}
