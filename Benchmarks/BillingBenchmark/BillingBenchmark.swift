import Foundation
import Metering

/// `tools/bench/billing`: writes a synthetic month of ledger rows (default 1,000,000: 500,000
/// queries with one attempt each) for one tenant, then times what finance runs on it: reading
/// the month, classifying billable resolutions, the invoice and the report.
@main
struct BillingBenchmark {
    static func main() throws {
        var rows = 1_000_000
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--rows": rows = Int(arguments.next() ?? "") ?? rows
            case "-h", "--help":
                print("usage: tools/bench/billing [--rows 1000000]")
                return
            default:
                FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
                exit(64)
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cascade-bench-billing-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try Ledger(path: directory.appendingPathComponent("ledger.sqlite").path)
        let utc = TimeZone(identifier: "UTC")!
        let now = Date()
        let month = BillingMonth.containing(now, in: utc)
        let start = month.interval(in: utc).start
        let span = max(60, now.timeIntervalSince(start) - 60)
        let queries = rows / 2
        let tiers = ["rule", "rag", "rag", "rag", "llm", "escalated", "rejected"]
        let writeStart = ContinuousClock.now
        var batch: [(query: LedgerEntry, attempts: [LedgerEntry])] = []
        for i in 0..<queries {
            let tier = tiers[i % tiers.count]
            let at = start.addingTimeInterval(span * Double(i) / Double(queries))
            let cost: Int64 = tier == "llm" || tier == "escalated" ? 450 : (tier == "rag" ? 1 : 0)
            let attempt = LedgerEntry(
                kind: .attempt, queryID: "q\(i)", tenant: "bench", conversationID: "c\(i / 2)", userID: "u\(i % 5000)",
                tier: tier == "escalated" ? "llm" : (tier == "rejected" ? "screen" : tier), outcome: "resolved",
                costMicros: cost, occurredAt: at)
            let query = LedgerEntry(
                kind: .query, queryID: "q\(i)", tenant: "bench", conversationID: "c\(i / 2)", userID: "u\(i % 5000)",
                tier: tier, outcome: tier == "escalated" || tier == "rejected" ? tier : "resolved",
                question: "question \(i % 20000)", costMicros: cost, occurredAt: at)
            batch.append((query, [attempt]))
            if batch.count == 20_000 {
                try ledger.record(batch: batch, now: now)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try ledger.record(batch: batch, now: now)
        let written = seconds(ContinuousClock.now - writeStart)
        try ledger.setBilling(
            tenant: "bench", plan: PlanCatalog.standard.plan("team")!, billing: .both, timeZone: "UTC", now: start)

        let t0 = ContinuousClock.now
        let (monthStart, monthEnd) = month.interval(in: utc)
        let entries = try ledger.billingEntries(tenant: "bench", from: monthStart, to: monthEnd)
        let t1 = ContinuousClock.now
        let usage = MonthlyUsage(tenant: "bench", month: month, entries: entries, timeZone: utc)
        let t2 = ContinuousClock.now
        let invoice = Invoice.compute(
            usage: usage, plan: PlanCatalog.standard.plan("team")!, billing: .both, timeZone: utc)
        let report = UsageReport(usage: usage, invoice: invoice)
        let t3 = ContinuousClock.now
        print("ledger rows: \(entries.count) (\(queries) queries) written in \(String(format: "%.1f", written)) s")
        print(
            String(
                format:
                    "read the month: %.2f s; classify billable resolutions: %.2f s; invoice + report: %.2f s; total %.2f s",
                seconds(t1 - t0), seconds(t2 - t1), seconds(t3 - t2), seconds(t3 - t0)))
        print(
            "billable \(report.billableResolutions), duplicates \(report.duplicates), flagged \(report.flaggedResolutions), invoice \(Money.format(invoice.total)) in \(invoice.lines.count) lines"
        )
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
