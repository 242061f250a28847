import Cascade
import Foundation
import Hummingbird
import Metering

/// How `cascade serve` runs: where, on which data, and the limits that protect it.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (printed once listening).
    public var port = 8080
    public var data = DataDirectory()
    /// The embedding model for tenants whose knowledge base is new (`minilm`, `hashing`, `http`).
    public var embedderName = "minilm"

    /// Embed the queries of concurrent requests in one batch (see ``EmbeddingBatcher``).
    public var batchQueryEmbeddings = true

    // Limits. Each answers with a problem+json naming the limit.
    /// Largest JSON request body, in bytes.
    public var maxBodyBytes = 1 << 20
    /// Largest uploaded document, in bytes.
    public var maxUploadBytes = 16 << 20
    /// Longest question, in characters: longer ones are refused before anything is stored.
    public var maxQuestionCharacters = 2000
    /// Largest `k` of a search.
    public var maxK = 100
    /// Per-key token bucket: sustained requests per second, and burst.
    public var rateLimitPerSecond = 50.0
    public var rateLimitBurst = 100.0
    /// Requests one tenant may have in progress at once with keys of one scope (its admin keys
    /// and its query keys each have this many); more get 429 until one finishes. A request holds
    /// a slot only once its body has arrived.
    public var maxInFlightPerTenant = 32
    /// Requests to one LLM endpoint in progress at once (past that, questions escalate at once).
    public var maxConcurrentRequestsPerLLMEndpoint = 8
    /// A connection that sends nothing for this long is closed (idle keep-alive connections, and
    /// clients that open a socket and never finish a request): ~20,000 idle sockets once made a
    /// node unreachable.
    public var idleTimeoutSeconds = 60.0
    /// A request's header block must arrive within this long of its first byte.
    public var headerTimeoutSeconds = 10.0
    /// A request's body must arrive within this long of its headers (408 otherwise): a client
    /// sending a byte now and then is never idle, but cannot hold a connection past this.
    public var bodyTimeoutSeconds = 30.0
    /// Connections open at once; past it a request gets 503 and its connection is closed.
    public var maxConnections = 4096
    /// Ingest jobs one tenant may have queued or running.
    public var maxQueuedJobsPerTenant = 16
    /// Ingest jobs of all tenants that parse and embed at the same time (the others wait, queued):
    /// embedding already uses every core, so more at once only adds threads and memory.
    public var maxConcurrentIngestJobs = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Keep the dashboard's session secret in `<data>/session.secret` (created when missing) so
    /// sessions survive restarts and every node on the same data accepts them. `cascade mcp`,
    /// which serves no dashboard, turns this off and writes nothing.
    public var persistSessionSecret = true

    // Webhooks (see ``WebhookDispatcher``).
    /// Send webhook deliveries from this node (`serve --no-webhooks` turns it off: another node sends).
    public var sendWebhooks = true
    /// Which addresses deliveries may go to (link-local, loopback and metadata refused unless allowed).
    public var webhookAddressPolicy = WebhookAddressPolicy()
    /// When failed deliveries are tried again (about three days).
    public var webhookRetryPolicy = WebhookRetryPolicy.standard
    /// How often the outbox is checked for due deliveries.
    public var webhookPollInterval: Duration = .seconds(1)
    /// How long a receiver has to answer one delivery.
    public var webhookTimeoutSeconds = 15.0

    // Spend controls (see ``SpendGuard``).
    /// How long a reading of a tenant's month-to-date spending is used before the ledger is read
    /// again (this node's own spending since is counted on top of it).
    public var spendRefreshInterval: Duration = .seconds(5)
    /// How often every tenant's alerts are evaluated in the background (besides after questions).
    public var alertEvaluationInterval: Duration = .seconds(30)

    /// Where the service reads the date: ledger rows, the default report month, job and key times
    /// (tests fix it; `cascade serve` takes `CASCADE_NOW`, see ``WallClock``).
    public var clock = WallClock.system

    public init() {}

    /// The largest body a request to this path may send: an upload's, or a JSON body's.
    func bodyLimit(for request: Request) -> Int {
        request.method == .post && request.uri.path.hasSuffix("/documents") ? maxUploadBytes : maxBodyBytes
    }
}
