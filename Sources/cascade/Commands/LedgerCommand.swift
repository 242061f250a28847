import ArgumentParser
import Foundation
import Metering

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Read and check the metering ledger.",
        subcommands: [Show.self, Verify.self, Reopen.self, Void.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ledger rows (queries, attempts, corrections).")

        @OptionGroup var ledgerOption: LedgerOption
        @Option(help: "Only this tenant.") var tenant: String?
        @Option(help: "Only events from this day on (YYYY-MM-DD, UTC).") var since: String?
        @Flag(help: "Print one JSON object per row.") var json = false

        func run() async throws {
            try await runReportingErrors {
                var sinceDate: Date?
                if let since {
                    let formatter = DateFormatter()
                    formatter.dateFormat = "yyyy-MM-dd"
                    formatter.timeZone = TimeZone(identifier: "UTC")
                    guard let date = formatter.date(from: since) else {
                        throw ValidationError("--since must be a date like 2026-11-01")
                    }
                    sinceDate = date
                }
                let entries = try ledgerOption.openExisting().entries(tenant: tenant, since: sinceDate)
                if json {
                    for entry in entries { try Terminal.printJSON(entry) }
                    return
                }
                let formatter = ISO8601DateFormatter()
                for e in entries {
                    let confidence = e.confidence.map { String(format: "%.2f", $0) } ?? "-"
                    print(
                        "\(e.sequence)\t\(formatter.string(from: e.occurredAt))\t\(e.tenant)\t\(e.queryID)\t\(e.kind.rawValue)\t\(e.tier)\t\(e.outcome)\t\(confidence)\t\(e.costMicros)µ$"
                    )
                }
                if entries.isEmpty { print("no ledger rows\(tenant.map { " for \($0)" } ?? "")") }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the ledger's hash chain; exit 1 and name the first broken or missing row.")

        @OptionGroup var ledgerOption: LedgerOption
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var ok = true
            try await runReportingErrors {
                guard FileManager.default.fileExists(atPath: ledgerOption.ledger) else {
                    throw LedgerError.cannotOpen(path: ledgerOption.ledger, reason: "no such file")
                }
                let result = try ledgerOption.openExisting().verify()
                ok = result.ok
                if json {
                    try Terminal.printJSON(result)
                } else if result.ok {
                    print("ledger OK: \(result.rows) rows, hash chain intact")
                } else {
                    print("ledger BROKEN at row \(result.firstBrokenSequence ?? 0): \(result.problem ?? "")")
                }
            }
            if !ok { throw ExitStatus.partialFailure }
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Record that a resolved question was reopened (voided if within the tenant's window, 72 h by default).")
        @Argument(help: "The query id.") var queryID: String
        @Option(help: "Tenant (needed when several tenants used the same query id).") var tenant: String?
        @Option(help: "Why, for the record.") var reason: String?
        @OptionGroup var ledgerOption: LedgerOption
        @Flag(help: "Print the appended row as JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let row = try ledgerOption.openExisting().correct(
                    tenant: tenant, queryID: queryID, outcome: "reopened", note: reason)
                if json {
                    try Terminal.printJSON(row)
                } else {
                    print("reopened \(queryID) (ledger row \(row.sequence))")
                }
            }
        }
    }

    struct Void: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Void a resolution: it is never billable (the reason is kept in the ledger).")
        @Argument(help: "The query id.") var queryID: String
        @Option(help: "Tenant (needed when several tenants used the same query id).") var tenant: String?
        @Option(help: "Why it is voided.") var reason: String
        @OptionGroup var ledgerOption: LedgerOption
        @Flag(help: "Print the appended row as JSON.") var json = false

        func validate() throws {
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why") }
        }

        func run() async throws {
            try await runReportingErrors {
                let row = try ledgerOption.openExisting().correct(
                    tenant: tenant, queryID: queryID, outcome: "voided", note: reason)
                if json { try Terminal.printJSON(row) } else { print("voided \(queryID) (ledger row \(row.sequence))") }
            }
        }
    }
}
