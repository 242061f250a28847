import Cascade
import Embeddings
import Foundation
import KnowledgeBase
import Logging
import Metering
import Synchronization

/// The state `cascade serve` shares across requests: the control store (tenants, keys), the
/// ledger, one loaded embedding model per model id, and one runtime per tenant.
public final class CascadeService: Sendable {
    public let configuration: ServerConfiguration
    let control: any ControlStoring
    /// The shared log of knowledge-base changes (several nodes), or nil (one node, local files).
    let knowledgeLog: (any KnowledgeBaseLog)?
    let ledger: any LedgerStore
    /// Webhook endpoints and the outbox, in the ledger's own database.
    let webhooks: any WebhookStore
    /// Spend caps and alerts, in the ledger's own database.
    let spendControls: any SpendControlStore
    /// Enforces hard spend caps before costly tiers; evaluates alerts.
    public let spend: SpendGuard
    let rateLimiter: RateLimiter
    let inFlight: InFlightLimiter
    /// Ingest jobs of all tenants that run at once (``ServerConfiguration/maxConcurrentIngestJobs``).
    let ingestSlots: AsyncSemaphore
    let logger: Logger
    let metrics = ServiceMetrics()
    /// Pooled connections to model endpoints (LLM and embeddings), with a cap per endpoint.
    let llmTransport: PooledHTTPTransport
    /// The model new knowledge bases are built with.
    let defaultEmbedder: any Embedder
    private let embedders: Mutex<[String: any Embedder]>
    private let batchers = Mutex<[String: EmbeddingBatcher]>([:])
    private let runtimes = Mutex<[String: TenantRuntime]>([:])
    /// Set-up warnings already logged, per tenant (each once per process).
    private let warned = Mutex<Set<String>>([])
    private let ready = Atomic<Bool>(false)
    private let loadFailures = Mutex<[String: String]>([:])
    /// Signs dashboard sessions (the secret is shared by every node on the same data folder).
    let sessions: DashboardSessions

    /// Opens the service's data. The embedding model is loaded here, once, before any request.
    /// - Parameters:
    ///   - ledger: the shared ledger of several nodes (PostgreSQL); nil opens
    ///     `<data>/ledger.sqlite`, the embedded default.
    ///   - control: the shared tenants and keys (PostgreSQL); nil opens `<data>/control.sqlite`.
    ///   - knowledgeLog: the shared knowledge-base log (PostgreSQL); each tenant's local store
    ///     under `<data>` is then a replay of it. Nil: the local stores are the knowledge bases.
    /// - Throws: when the control store or ledger cannot be opened, or the model is unavailable.
    public init(
        configuration: ServerConfiguration, ledger: (any LedgerStore)? = nil, control: (any ControlStoring)? = nil,
        knowledgeLog: (any KnowledgeBaseLog)? = nil, logger: Logger = Logger(label: "cascade.serve")
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        let data = configuration.data
        // The service keeps files here (its knowledge bases, or their replays with a shared
        // database; uploads; the session secret).
        try FileManager.default.createDirectory(atPath: data.root, withIntermediateDirectories: true)
        self.control = try control ?? ControlStore(path: data.controlPath, create: true)
        self.knowledgeLog = knowledgeLog
        let ledgerStore = try ledger ?? Ledger(path: data.ledgerPath)
        self.ledger = ledgerStore
        guard let webhookStore = ledgerStore as? any WebhookStore else {
            throw LedgerError.cannotOpen(
                path: "\(type(of: ledgerStore))", reason: "this ledger keeps no webhook outbox")
        }
        self.webhooks = webhookStore
        guard let spendStore = ledgerStore as? any SpendControlStore else {
            throw LedgerError.cannotOpen(
                path: "\(type(of: ledgerStore))", reason: "this ledger keeps no spend controls")
        }
        self.spendControls = spendStore
        let plans = configuration.data.plansPath
        self.spend = SpendGuard(
            store: spendStore, ledger: ledgerStore,
            catalog: { try plans.map { try PlanCatalog.load(path: $0) } ?? PlanCatalog.standard },
            clock: configuration.clock, refreshInterval: configuration.spendRefreshInterval, logger: logger)
        let shared =
            configuration.persistSessionSecret
            ? try await self.control.sharedSessionSecret(proposing: DashboardSessions.randomSecret()) : nil
        sessions = DashboardSessions(
            secret: try shared
                ?? (configuration.persistSessionSecret
                    ? DashboardSessions.loadSecret(path: data.sessionSecretPath) : DashboardSessions.randomSecret()))
        rateLimiter = RateLimiter(rate: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
        inFlight = InFlightLimiter(limit: configuration.maxInFlightPerTenant)
        ingestSlots = AsyncSemaphore(limit: configuration.maxConcurrentIngestJobs)
        let transport = PooledHTTPTransport(maxPerEndpoint: configuration.maxConcurrentRequestsPerLLMEndpoint)
        llmTransport = transport
        defaultEmbedder = Self.pooled(
            try await EmbedderRegistry.embedder(named: configuration.embedderName), transport: transport)
        embedders = Mutex([defaultEmbedder.modelID: defaultEmbedder])
    }

    /// True once every tenant's knowledge base is loaded (`/readyz`).
    var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Loads every existing tenant's knowledge base (run at start-up, before `/readyz` says
    /// ready); with a shared log, first replays what this node does not hold yet.
    /// Also queues again the uploads a previous run accepted and did not finish.
    func warmUp() async {
        do {
            for tenant in try await control.tenants() {
                do {
                    let resumed = try await runtime(for: tenant.id).resumeStagedJobs()
                    if resumed > 0 {
                        logger.notice(
                            "resuming ingest jobs accepted before the restart",
                            metadata: ["tenant": .string(tenant.id), "jobs": .stringConvertible(resumed)])
                    }
                } catch {
                    logger.error(
                        "loading a tenant's knowledge base failed",
                        metadata: ["tenant": .string(tenant.id), "error": "\(error)"])
                    loadFailures.withLock { $0[tenant.id] = "\(error)" }
                }
            }
        } catch {
            logger.error("loading tenants failed", metadata: ["error": "\(error)"])
            loadFailures.withLock { $0["*"] = "listing the tenants failed: \(error)" }
        }
        await catchUpKnowledgeBases()
        ready.store(true, ordering: .releasing)
    }

    /// Tenants whose knowledge base could not be loaded at start-up, with the reason (`/readyz`
    /// says not ready while any is here; a later successful load removes it).
    var knowledgeBaseFailures: [String: String] { loadFailures.withLock { $0 } }

    /// Replays the shared log into every tenant whose local store is behind it (another node
    /// ingested or deleted). A failure is logged and retried at the next call; the tenant keeps
    /// serving the last whole change it has.
    public func catchUpKnowledgeBases() async {
        guard let knowledgeLog else { return }
        do {
            for (tenant, head) in try await knowledgeLog.heads() {
                let knowledgeBase = try runtime(for: tenant).knowledgeBase
                guard knowledgeBase.replayedVersion < head else { continue }
                let started = ContinuousClock.now
                let applied = try await knowledgeBase.catchUp()
                logger.info(
                    "knowledge base brought up to date",
                    metadata: [
                        "tenant": .string(tenant), "changes": .stringConvertible(applied.count),
                        "version": .stringConvertible(head), "took": .string("\(ContinuousClock.now - started)"),
                    ])
            }
        } catch {
            logger.warning("bringing knowledge bases up to date failed", metadata: ["error": "\(error)"])
        }
    }

    /// The tenant's runtime, loading its knowledge base on first use.
    func runtime(for tenant: String) throws -> TenantRuntime {
        if let existing = runtimes.withLock({ $0[tenant] }) { return existing }
        let data = configuration.data
        let path = try data.knowledgeBasePath(tenant: tenant)
        var embedder = defaultEmbedder
        if FileManager.default.fileExists(atPath: path),
            let model = try KnowledgeBaseStore(path: path).embeddingModel()
        {
            embedder = try self.embedder(forModelID: model.id, dimension: model.dimension)
        }
        let sharing = knowledgeLog.map { (log: $0, tenant: tenant) }
        // With a shared log, the log decides the model (its first change, a `reindex` switch).
        var loadModel: (@Sendable (String, Int) throws -> TenantKnowledgeBase.Model)?
        if sharing != nil {
            loadModel = { [self] id, dimension in
                let embedder = try self.embedder(forModelID: id, dimension: dimension)
                return TenantKnowledgeBase.Model(embedder: embedder, batcher: self.batcher(for: embedder))
            }
        }
        let runtime = TenantRuntime(
            tenant: tenant,
            knowledgeBase: try TenantKnowledgeBase(
                path: path, embedder: embedder, batcher: batcher(for: embedder), sharing: sharing,
                loadModel: loadModel, clock: configuration.clock),
            uploadsDirectory: try data.uploadsDirectory(tenant: tenant), clock: configuration.clock,
            ingestSlots: ingestSlots)
        loadFailures.withLock { _ = $0.removeValue(forKey: tenant) }
        return runtimes.withLock { runtimes in
            if let existing = runtimes[tenant] { return existing }
            runtimes[tenant] = runtime
            return runtime
        }
    }

    /// The batcher of `model`'s queries, one per model (nil when batching is off).
    private func batcher(for model: any Embedder) -> EmbeddingBatcher? {
        guard configuration.batchQueryEmbeddings else { return nil }
        return batchers.withLock { batchers in
            if let existing = batchers[model.modelID] { return existing }
            let created = EmbeddingBatcher(embedder: model)
            batchers[model.modelID] = created
            return created
        }
    }

    private func embedder(forModelID id: String, dimension: Int) throws -> any Embedder {
        if let loaded = embedders.withLock({ $0[id] }) { return loaded }
        let embedder = Self.pooled(
            try EmbedderRegistry.embedder(forModelID: id, dimension: dimension), transport: llmTransport)
        return embedders.withLock { embedders in
            if let loaded = embedders[id] { return loaded }
            embedders[id] = embedder
            return embedder
        }
    }

    /// `embedder` with the service's pooled connections when it calls an HTTP endpoint.
    static func pooled(_ embedder: any Embedder, transport: PooledHTTPTransport) -> any Embedder {
        guard var http = embedder as? HTTPEmbedder else { return embedder }
        http.transport = transport
        return http
    }

    /// The resolver for one of `tenant`'s questions: its settings read now (a change to
    /// `<data>/tenants/<tenant>.yaml` applies to the next question), its shared knowledge base.
    func resolver(for tenant: String) throws -> Resolver {
        let runtime = try runtime(for: tenant)
        let logger = self.logger
        let calibration = runtime.knowledgeBase.labelFreeCalibration { error in
            logger.error(
                "label-free calibration failed; the default threshold applies",
                metadata: ["tenant": .string(tenant), "error": .string("\(error)")])
        }
        var resolver = try Resolver.forTenant(
            tenant, settingsDirectory: configuration.data.tenantsDirectory, retriever: runtime.knowledgeBase,
            ledger: ledger, calibration: calibration)
        resolver.llm?.transport = llmTransport
        resolver.clock = configuration.clock
        resolver.budget = spend
        for warning in resolver.warnings where warned.withLock({ $0.insert("\(tenant)|\(warning)").inserted }) {
            logger.warning("\(warning)", metadata: ["tenant": .string(tenant)])
        }
        return resolver
    }

    /// `<data>/plans.yaml` when it exists, else the built-in catalog.
    func planCatalog() throws -> PlanCatalog {
        try configuration.data.plansPath.map { try PlanCatalog.load(path: $0) } ?? PlanCatalog.standard
    }

    /// Waits for every tenant's queued ingest jobs (graceful shutdown).
    func drainJobs() async {
        let all = runtimes.withLock { Array($0.values) }
        var pending = 0
        for runtime in all { pending += await runtime.jobs.pending }
        if pending > 0 {
            logger.notice(
                "stopping: waiting for queued ingest jobs to finish (a kill now loses none: they resume at the next start)",
                metadata: ["jobs": .stringConvertible(pending)])
        }
        for runtime in all { await runtime.jobs.drain() }
    }
}
