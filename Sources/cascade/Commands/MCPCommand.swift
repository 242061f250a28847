import ArgumentParser
import Cascade
import Foundation
import Logging
import PostgresStorage
import Server

struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve one tenant's knowledge base to an MCP client over stdio (Model Context Protocol).",
        discussion: """
            Tools: search_knowledge_base (query, k → passages with citations), ask (the full cascade, metered \
            in the ledger like any question), list_escalations; resources: the tenant's documents \
            (cascade://documents/<source>). An MCP client starts this command and speaks JSON-RPC on its \
            stdin and stdout; logs go to stderr. The same tools are served over HTTP at /mcp by `cascade serve`, \
            with the tenant's API key. Environment: LOG_LEVEL, CASCADE_MODEL_DIR, CASCADE_LLM_*.
            """
    )

    @OptionGroup var dataOption: DataOption
    @OptionGroup var databaseOption: DatabaseOption
    @Option(help: "The tenant whose knowledge base, cascade and ledger the tools use.") var tenant: String
    @Option(help: "Embedding model for a knowledge base that does not exist yet: minilm, hashing or http.")
    var embedder = "minilm"

    func run() async throws {
        try await runReportingErrors {
            var configuration = ServerConfiguration()
            configuration.data = dataOption.directory
            configuration.embedderName = embedder
            configuration.batchQueryEmbeddings = false
            configuration.persistSessionSecret = false
            configuration.clock = try CommandClock.clock()
            var logger = Logger(label: "cascade.mcp")
            logger.logLevel =
                ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            let (settings, mcpLogger, tenant) = (configuration, logger, self.tenant)
            if let url = try databaseOption.url() {
                // Tenants, ledger and knowledge bases from the shared database; <data> keeps this
                // machine's copy of the knowledge base.
                try await PostgresDatabase.with(url, logger: mcpLogger) { database in
                    let service = try await CascadeService(
                        configuration: settings, ledger: try await PostgresLedger(database: database),
                        control: try await PostgresControlStore(database: database),
                        knowledgeLog: try await PostgresKnowledgeLog(database: database), logger: mcpLogger)
                    try await MCPStdioServer.run(service: service, tenant: tenant)
                }
                return
            }
            // Opening the service creates its files; a data folder without tenants gets none.
            guard FileManager.default.fileExists(atPath: configuration.data.controlPath) else {
                throw MCPSetupError.unknownTenant(tenant, data: configuration.data.root)
            }
            let service = try await CascadeService(configuration: configuration, logger: logger)
            try await MCPStdioServer.run(service: service, tenant: tenant)
        }
    }
}
