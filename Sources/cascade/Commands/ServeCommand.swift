import ArgumentParser
import Cascade
import Foundation
import Hummingbird
import KnowledgeBase
import Logging
import Metering
import PostgresStorage
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service: ask, search, documents, escalations, usage and invoices for many tenants.",
        discussion: """
            Clients send `Authorization: Bearer KEY` (create keys with `cascade keys create`). The API is \
            described at /openapi.yaml; /healthz, /readyz and /metrics (Prometheus) need no key. SIGTERM or \
            Ctrl-C stops accepting connections, lets in-flight requests and queued ingest jobs finish, then exits. \
            Environment: LOG_LEVEL (trace, debug, info, notice, warning, error), CASCADE_MODEL_DIR, CASCADE_LLM_*.
            """
    )

    @OptionGroup var dataOption: DataOption
    @OptionGroup var databaseOption: DatabaseOption
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one; the port is printed once listening).") var port = 8080
    @Option(help: "Embedding model for new knowledge bases: minilm, hashing or http.") var embedder = "minilm"
    @Option(help: "Requests per second per key (token bucket), sustained.") var rateLimit = 50.0
    @Option(help: "Requests per key allowed in a burst.") var burst = 100.0
    @Option(help: "Requests one tenant may have in progress at once, per key scope (admin, query).")
    var maxInFlight = 32
    @Option(help: "Longest question, in characters.") var maxQuestionCharacters = 2000
    @Option(help: "Close a connection that sends nothing for this many seconds.") var idleTimeout = 60.0
    @Option(help: "Close a connection whose request headers take longer than this many seconds.")
    var headerTimeout = 10.0
    @Option(help: "Answer 408 and close when a request body takes longer than this many seconds after its headers.")
    var bodyTimeout = 30.0
    @Option(help: "Connections open at once; past it requests get 503.") var maxConnections = 4096
    @Option(help: "Largest uploaded document, in bytes.") var maxUploadBytes = 16 << 20
    @Option(
        help:
            "Requests in progress at once per LLM or embedding endpoint; past it, the tier fails fast instead of queueing (a self-hosted model serves one at a time)."
    )
    var maxEndpointRequests = 8
    @Flag(
        inversion: .prefixedNo,
        help: "Embed the queries of concurrent requests together (batches form only under load).")
    var batchEmbeddings = true
    @Flag(
        inversion: .prefixedNo,
        help:
            "Send webhook deliveries from this node (with several nodes, any number may: each delivery goes out once).")
    var webhooks = true
    @Option(
        name: .customLong("webhook-allow-network"),
        help:
            "Allow webhooks to a network the address policy refuses (loopback, link-local, metadata), e.g. 127.0.0.1/32; repeatable (also CASCADE_WEBHOOK_ALLOW_NETWORKS)."
    )
    var webhookAllowNetworks: [String] = []
    @Option(
        help:
            "Delays between webhook retries, e.g. 5s,5m,30m,2h (default about three days: 5s,5m,30m,2h,5h,10h,14h,20h,20h)."
    )
    var webhookRetrySchedule: String?
    @Option(help: "Seconds a webhook receiver has to answer.") var webhookTimeout = 15.0

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard rateLimit > 0, burst >= 1 else { throw ValidationError("--rate-limit must be > 0 and --burst ≥ 1") }
        guard maxInFlight >= 1, maxQuestionCharacters >= 1, maxUploadBytes >= 1, maxEndpointRequests >= 1 else {
            throw ValidationError("limits must be positive")
        }
        for (flag, seconds) in [
            ("--idle-timeout", idleTimeout), ("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout),
        ] {
            guard seconds > 0, seconds.isFinite, seconds <= 86_400 else {
                throw ValidationError("\(flag) must be > 0 and at most 86400 seconds")
            }
        }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard webhookTimeout > 0, webhookTimeout <= 300 else {
            throw ValidationError("--webhook-timeout must be > 0 and at most 300 seconds")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            var configuration = ServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.data = dataOption.directory
            configuration.embedderName = embedder
            configuration.rateLimitPerSecond = rateLimit
            configuration.rateLimitBurst = burst
            configuration.maxInFlightPerTenant = maxInFlight
            configuration.maxQuestionCharacters = maxQuestionCharacters
            configuration.idleTimeoutSeconds = idleTimeout
            configuration.headerTimeoutSeconds = headerTimeout
            configuration.bodyTimeoutSeconds = bodyTimeout
            configuration.maxConnections = maxConnections
            configuration.maxUploadBytes = maxUploadBytes
            configuration.batchQueryEmbeddings = batchEmbeddings
            configuration.maxConcurrentRequestsPerLLMEndpoint = maxEndpointRequests
            configuration.clock = try CommandClock.clock()
            configuration.sendWebhooks = webhooks
            configuration.webhookTimeoutSeconds = webhookTimeout
            do {
                configuration.webhookAddressPolicy = try WebhookAddressPolicy(extra: webhookAllowNetworks)
            } catch let error as WebhookPolicyError {
                throw ValidationError("--webhook-allow-network: \(error.message)")
            }
            if let webhookRetrySchedule {
                do {
                    configuration.webhookRetryPolicy = try WebhookRetryPolicy(parsing: webhookRetrySchedule)
                } catch let error as LedgerError {
                    throw ValidationError("--webhook-retry-schedule: \(error.description)")
                }
            }
            CommandClock.noteIfFixed()
            var logger = Logger(label: "cascade.serve")
            logger.logLevel =
                ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            let (settings, serveLogger) = (configuration, logger)
            guard let url = try databaseOption.url() else {
                try await Self.serve(
                    settings, ledger: nil, control: nil, knowledge: nil, shared: nil, logger: serveLogger)
                return
            }
            // Several nodes: the ledger (with billing settings and final invoices), tenants and
            // keys live in PostgreSQL; the pool runs exactly as long as the server.
            try await PostgresDatabase.with(url, maximumConnections: 16, logger: serveLogger) { database in
                let ledger = try await PostgresLedger(database: database)
                let control = try await PostgresControlStore(database: database)
                let knowledge = try await PostgresKnowledgeLog(database: database)
                try await Self.serve(
                    settings, ledger: ledger, control: control, knowledge: knowledge, shared: url.description,
                    logger: serveLogger)
            }
        }
    }

    static func serve(
        _ configuration: ServerConfiguration, ledger: (any LedgerStore)?, control: (any ControlStoring)?,
        knowledge: (any KnowledgeBaseLog)?, shared: String?, logger: Logger
    ) async throws {
        let service = try await CascadeService(
            configuration: configuration, ledger: ledger, control: control, knowledgeLog: knowledge, logger: logger)
        let host = configuration.host
        let where_ =
            "data \(configuration.data.root)"
            + (shared.map { ", ledger, tenants, keys and knowledge bases shared in \($0)" } ?? "")
        let app = CascadeServer.buildApplication(service: service) { port in
            // One line on stdout that scripts wait for (the port matters with --port 0).
            FileHandle.standardOutput.write(
                Data("cascade serve: listening on http://\(host):\(port) (\(where_))\n".utf8))
        }
        try await app.runService()
    }
}
