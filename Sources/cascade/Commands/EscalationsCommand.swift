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
        @OptionGroup var databaseOption: DatabaseOption
        @Option(help: "Only this tenant.") var tenant: String?
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let open = try await databaseOption.withLedger(ledgerOption) {
                    try await $0.escalationQueue(tenant: tenant)
                }
                if json {
                    for item in open {
                        let e = item.query
                        let line: [String: String?] = [
                            "query_id": e.queryID, "tenant": e.tenant, "question": e.question ?? "",
                            "why": item.why ?? "", "reason": item.reason, "rejected_answer": item.rejectedAnswer,
                            "customer_comment": item.customerComment,
                        ]
                        try Terminal.printJSON(line)
                    }
                    return
                }
                if open.isEmpty { print("no open escalations") }
                for item in open {
                    let e = item.query
                    print("\(e.queryID)\t\(e.tenant)\t\(e.question ?? "")\n\twhy: \(item.why ?? "")")
                    if let rejected = item.rejectedAnswer { print("\trejected answer: \(rejected)") }
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
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                // The ledger checks the rest: escalated, not answered yet, answer not empty, id unambiguous.
                let entry = try await databaseOption.withLedger(ledgerOption) {
                    try await $0.correct(
                        tenant: tenant, queryID: id, outcome: "agent_answer", answer: answer, note: nil,
                        now: CommandClock.now())
                }
                if json {
                    try Terminal.printJSON(entry)
                } else {
                    print("resolved escalation \(id) (ledger row \(entry.sequence))")
                }
            }
        }
    }
}
