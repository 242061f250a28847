import ArgumentParser
import Server

/// `cascade`: knowledge base, retrieval and resolution cascade for outcome-priced AI support.

struct Cascade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract: "Turn a knowledge base into an AI support service that is paid by outcome.",
        discussion: """
            Exit codes: 0 success; 1 finished, but some inputs failed (see the report); \
            2 the command failed (bad input, unreadable store, …); 64 invalid command-line usage.

            Environment variables:
              CASCADE_MODEL_DIR           the MiniLM model folder; without it: models/all-MiniLM-L6-v2 in
                                          the working directory or a parent, then beside the executable
                                          or in a parent of its folder
              CASCADE_LLM_URL             OpenAI-compatible endpoint of the LLM tier (unset: tier skipped)
              CASCADE_LLM_MODEL           model name sent to it
              CASCADE_LLM_API_KEY         its key (else OPENAI_API_KEY)
              CASCADE_EMBEDDINGS_URL      OpenAI-compatible embeddings endpoint for --embedder http
              CASCADE_EMBEDDINGS_MODEL    model name sent to it
              CASCADE_EMBEDDINGS_API_KEY  its key (else OPENAI_API_KEY)
              CASCADE_SIGNING_KEY         Ed25519 key file that signs ledger checkpoints (else <data>/signing.key)
              CASCADE_BLAS_CORETYPE       force an OpenBLAS kernel set (else chosen from the CPU)
              LOG_LEVEL                   cascade serve's log level (trace, debug, info, notice, warning, error)
            """,
        version: "cascade \(ServiceVersion.number) (HTTP API v1)",
        subcommands: [
            IngestCommand.self, ImportVectorsCommand.self, SearchCommand.self, StatsCommand.self, EmbedCommand.self,
            ReindexCommand.self, CompactCommand.self,
            AskCommand.self, EscalationsCommand.self, VerdictsCommand.self, LedgerCommand.self, EvalCommand.self,
            CalibrateCommand.self,
            SelfCalibrateCommand.self,
            ReportCommand.self, InvoiceCommand.self, SimulateCommand.self,
            PlansCommand.self, TenantsCommand.self, KeysCommand.self, WebhooksCommand.self, AlertsCommand.self,
            ServeCommand.self,
            MCPCommand.self,
            MigrateCommand.self, ExportCommand.self, ImportCommand.self,
        ]
    )
}
