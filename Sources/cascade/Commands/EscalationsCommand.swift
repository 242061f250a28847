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

        /// One open escalation (nulls written).
        struct Line: Encodable {
            struct Source: Encodable {
                var source: String
                var chunk_id: Int64
                var score: Double
            }
            var query_id: String
            var tenant: String
            var question: String
            var why: String
            var reason: String
            var rejected_answer: String?
            var customer_comment: String?
            var answered_before: [Earlier]
            var sources: [Source]

            struct Earlier: Encodable {
                var query_id: String
                var question: String?
                var answer: String

                func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(query_id, forKey: .query_id)
                    try c.encode(question, forKey: .question)
                    try c.encode(answer, forKey: .answer)
                }

                enum CodingKeys: String, CodingKey { case query_id, question, answer }
            }

            enum CodingKeys: String, CodingKey {
                case query_id, tenant, question, why, reason, rejected_answer, customer_comment, answered_before,
                    sources
            }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(query_id, forKey: .query_id)
                try c.encode(tenant, forKey: .tenant)
                try c.encode(question, forKey: .question)
                try c.encode(why, forKey: .why)
                try c.encode(reason, forKey: .reason)
                try c.encode(rejected_answer, forKey: .rejected_answer)
                try c.encode(customer_comment, forKey: .customer_comment)
                try c.encode(answered_before, forKey: .answered_before)
                try c.encode(sources, forKey: .sources)
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let open = try await databaseOption.withLedger(ledgerOption) {
                    try await $0.escalationQueue(tenant: tenant)
                }
                if json {
                    for item in open {
                        let e = item.query
                        try Terminal.printJSON(
                            Line(
                                query_id: e.queryID, tenant: e.tenant, question: e.question ?? "", why: item.why ?? "",
                                reason: item.reason, rejected_answer: item.rejectedAnswer,
                                customer_comment: item.customerComment,
                                answered_before: item.answeredBefore.map {
                                    Line.Earlier(query_id: $0.queryID, question: $0.question, answer: $0.answer)
                                },
                                sources: item.sources.map {
                                    Line.Source(source: $0.source, chunk_id: $0.chunkID, score: $0.score)
                                }))
                    }
                    return
                }
                if open.isEmpty { print("no open escalations") }
                for item in open {
                    let e = item.query
                    print("\(e.queryID)\t\(e.tenant)\t\(e.question ?? "")\n\twhy: \(item.why ?? "")")
                    if let rejected = item.rejectedAnswer { print("\trejected answer: \(rejected)") }
                    for earlier in item.answeredBefore {
                        print("\tanswered before (\(earlier.queryID): \(earlier.question ?? "")): \(earlier.answer)")
                    }
                    if !item.sources.isEmpty {
                        print("\tpassages found: \(item.sources.map(\.source).joined(separator: ", "))")
                    }
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
