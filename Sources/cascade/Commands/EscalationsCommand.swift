import ArgumentParser
import Foundation
import Metering

struct EscalationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalations",
        abstract: "The human queue: questions the cascade escalated.",
        subcommands: [List.self, Resolve.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open escalations, oldest first.")
        @OptionGroup var ledgerOption: LedgerOption
        @Option(help: "Only this tenant.") var tenant: String?
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let entries = try ledgerOption.openExisting().entries(tenant: tenant)
                let closed = Set(
                    entries.filter { $0.kind == .correction && $0.outcome == "agent_answer" }.map(\.queryID))
                let open = entries.filter {
                    $0.kind == .query && $0.tier == "escalated" && !closed.contains($0.queryID)
                }
                if json {
                    for e in open {
                        try Terminal.printJSON([
                            "query_id": e.queryID, "tenant": e.tenant, "question": e.question ?? "",
                            "why": e.note ?? "",
                        ])
                    }
                    return
                }
                if open.isEmpty { print("no open escalations") }
                for e in open {
                    print("\(e.queryID)\t\(e.tenant)\t\(e.question ?? "")\n\twhy: \(e.note ?? "")")
                }
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an escalation with an agent's answer.")
        @Argument(help: "The escalated query id.") var id: String
        @Option(help: "The agent's answer.") var answer: String
        @Option(help: "Tenant of the query (when ids repeat across tenants).") var tenant: String?
        @OptionGroup var ledgerOption: LedgerOption
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let ledger = try ledgerOption.openExisting()
                let rows = try ledger.entries(tenant: tenant, queryID: id)
                guard let query = rows.first(where: { $0.kind == .query }) else { throw LedgerError.unknownQuery(id) }
                guard query.tier == "escalated" else {
                    throw LedgerError.invalidInput(
                        "query \(id) was not escalated (tier \(query.tier)); nothing to resolve")
                }
                guard !rows.contains(where: { $0.kind == .correction && $0.outcome == "agent_answer" }) else {
                    throw LedgerError.invalidInput("escalation \(id) is already resolved")
                }
                let entry = try ledger.correct(
                    tenant: query.tenant, queryID: id, outcome: "agent_answer", answer: answer)
                if json {
                    try Terminal.printJSON(entry)
                } else {
                    print("resolved escalation \(id) (ledger row \(entry.sequence))")
                }
            }
        }
    }
}
