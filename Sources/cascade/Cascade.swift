import ArgumentParser

/// `cascade`: knowledge base, retrieval and resolution cascade for outcome-priced AI support.

struct Cascade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract: "Turn a knowledge base into an AI support service that is paid by outcome.",
        discussion: """
            Exit codes: 0 success; 1 finished, but some inputs failed (see the report); \
            2 the command failed (bad input, unreadable store, …); 64 invalid command-line usage.
            """,
        version: "cascade 0.11.0 (HTTP API v1)",
        subcommands: [
            IngestCommand.self, ImportVectorsCommand.self, SearchCommand.self, StatsCommand.self, EmbedCommand.self,
            ReindexCommand.self,
            AskCommand.self, EscalationsCommand.self, LedgerCommand.self, EvalCommand.self, CalibrateCommand.self,
            ReportCommand.self, InvoiceCommand.self, SimulateCommand.self,
            PlansCommand.self, TenantsCommand.self, KeysCommand.self, ServeCommand.self,
        ]
    )
}
