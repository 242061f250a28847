import Foundation

/// The ledger's promises, whatever holds the rows: ``Ledger`` (one SQLite file, the embedded
/// default) and `PostgresLedger` (one PostgreSQL database shared by several service nodes).
/// One test suite (`LedgerStoreTests`) runs every promise against both.
///
/// - Append-only: the database itself refuses UPDATE, DELETE (and TRUNCATE where it exists);
///   corrections are new rows.
/// - Idempotent per (tenant, query id), also under concurrent writers on different nodes: the
///   first write wins, a repeat returns the stored rows and writes nothing about the query.
/// - Hash-chained: every row carries the SHA-256 of its content and of the row before it, so
///   ``verifyChains(tenant:)`` names the first row altered, removed or re-ordered.
/// - Exact money: costs are integer micro-dollars.
public protocol LedgerStore: Sendable {
    /// Appends a query and its attempts unless the tenant already has this query id (then the
    /// stored rows come back and only the attempts' real cost is appended, marked as discarded).
    func record(query: LedgerEntry, attempts: [LedgerEntry], now: Date) async throws -> Ledger.RecordResult

    /// Appends a step of a running workflow run (an `attempt` row carrying the workflow's name,
    /// see ``WorkflowRuns``). Refused for an unknown run, one that has ended, or a step id the run
    /// already has (a retried step is recorded once: the stored row comes back, `replayed`).
    func appendWorkflowStep(_ step: LedgerEntry, now: Date) async throws -> (row: LedgerEntry, replayed: Bool)

    /// Appends a correction (voided, reopened, agent_answer) of a recorded query.
    func correct(
        tenant: String?, queryID: String, outcome: String, answer: String?, note: String?, now: Date
    ) async throws -> LedgerEntry

    /// Every row in ledger order, optionally one tenant's and from a date on.
    func entries(tenant: String?, since: Date?) async throws -> [LedgerEntry]

    /// The rows of one query: its attempts, the query row, its corrections.
    func entries(tenant: String?, queryID: String) async throws -> [LedgerEntry]

    /// Escalations no agent has answered yet, oldest first.
    func openEscalations(tenant: String?) async throws -> [LedgerEntry]

    /// The customers' verdicts on `tenant`'s resolutions with the resolutions they judge, oldest
    /// first (``Ledger/customerVerdicts(queries:corrections:)`` pairs them on every backend): the
    /// latest `limit` verdict rows when given, all otherwise. Read before each RAG answer is
    /// billed, so it reads only verdict rows (a partial index of them), never the tenant's whole
    /// history.
    func customerVerdicts(tenant: String, latest limit: Int?) async throws -> [CustomerVerdict]

    /// The position and hash of `tenant`'s latest verdict row, nil before the first: one indexed
    /// row, read before each RAG answer to tell whether the verdicts read last time are still
    /// the latest (the hash names the row whatever the backend's numbering).
    func latestVerdict(tenant: String) async throws -> (sequence: Int64, hash: String)?

    /// Re-hashes the rows (one tenant's, or all) and checks each links to the one before it.
    func verifyChains(tenant: String?) async throws -> ChainVerification

    // MARK: Integrity: checkpoints kept outside the store pin the chains' heads.

    /// Everything `ledger verify` checks: every chain (ledger rows, billing changes, final
    /// invoices and the ledger heads they were computed from), every checkpoint stored beside
    /// them, and, given `checkpoint` (kept elsewhere), that the chains still reach its heads
    /// unchanged, so truncation, rollback and re-hashed rewrites are found too.
    /// - Parameter trustedPublicKey: the key `checkpoint` must be signed with (base64).
    func verify(against checkpoint: Checkpoint?, trustedPublicKey: String?) async throws -> Ledger.Verification

    /// Signs the chains' current heads with `key`, stores the checkpoint beside them and returns
    /// it. `tenant` limits a per-tenant-chain store's checkpoint to that tenant's chain (a store
    /// with one chain refuses it: its checkpoint always covers every tenant).
    func checkpoint(signingKey key: CheckpointSigningKey, tenant: String?, now: Date) async throws -> Checkpoint

    // MARK: Billing: the settings and final invoices that price the rows, kept beside them.

    /// Records a billing change (``TenantBilling/check(plan:billing:timeZone:)`` first; effective
    /// per ``TenantBilling/effectiveMonth(firstChoice:immediately:now:zone:)``).
    func setBilling(
        tenant: String, plan: Plan, billing: BillingMode, timeZone: String, reopenWindowHours: Int,
        immediately: Bool, now: Date
    ) async throws -> TenantBilling

    /// Every billing change of `tenant`, oldest first.
    func billingHistory(tenant: String) async throws -> [TenantBilling]

    /// The rows billing reads for `tenant` between `start` and `end`, plus every correction of the
    /// tenant (answers, citations and hashes left out).
    func billingEntries(tenant: String, from start: Date, to end: Date) async throws -> [LedgerEntry]

    /// The finalized invoices of `tenant`, oldest month first.
    func finalInvoices(tenant: String) async throws -> [Invoice]

    /// The position an invoice computation starts from, passed back to ``finalize(_:computedAt:signingKey:now:)``
    /// so rows appended meanwhile are noticed (SQLite: the global chain's head; PostgreSQL: the
    /// tenant's chain's head).
    func billingSequence(tenant: String) async throws -> Int64

    /// Writes a tenant's whole history moved from another store (``TenantHistory``): its rows
    /// re-chained here in their order with their contents unchanged, its billing changes and
    /// final invoices as they were. Refused unless this store has nothing of the tenant yet, so
    /// an import never merges into or overwrites anything.
    func importHistory(_ history: TenantHistory) async throws

    /// Stores `invoice` as final unless its month has one (then returns the stored one); refuses
    /// when rows of the month were appended after `computedAt.sequence`.
    func finalize(
        _ invoice: Invoice, computedAt: (sequence: Int64, start: Date, end: Date)?,
        signingKey: CheckpointSigningKey?, now: Date
    ) async throws -> Invoice
}

extension LedgerStore {
    /// A tenant's whole history, to move it to another store.
    public func history(tenant: String) async throws -> TenantHistory {
        TenantHistory(
            tenant: tenant, entries: try await entries(tenant: tenant, since: nil),
            billing: try await billingHistory(tenant: tenant), finalInvoices: try await finalInvoices(tenant: tenant))
    }

    /// Every customer verdict of `tenant`, oldest first.
    public func customerVerdicts(tenant: String) async throws -> [CustomerVerdict] {
        try await customerVerdicts(tenant: tenant, latest: nil)
    }

    /// Appends a correction dated now.
    public func correct(
        tenant: String?, queryID: String, outcome: String, answer: String? = nil, note: String? = nil
    ) async throws -> LedgerEntry {
        try await correct(tenant: tenant, queryID: queryID, outcome: outcome, answer: answer, note: note, now: Date())
    }

    /// The setting in force for `month`.
    public func billing(tenant: String, month: BillingMonth) async throws -> TenantBilling? {
        TenantBilling.inForce(try await billingHistory(tenant: tenant), month: month)
    }
}

/// The outcome of ``LedgerStore/verifyChains(tenant:)``.
public struct ChainVerification: Sendable, Hashable, Codable {
    /// Rows checked.
    public var rows: Int
    public var ok: Bool
    /// Where the first problem is: the tenant whose chain it is in (null on a backend with one
    /// global chain), the row's position in that chain, and what is wrong.
    public var tenant: String?
    public var firstBrokenSequence: Int64?
    public var problem: String?

    public init(rows: Int, tenant: String? = nil, firstBrokenSequence: Int64? = nil, problem: String? = nil) {
        self.rows = rows
        self.ok = problem == nil
        self.tenant = tenant
        self.firstBrokenSequence = firstBrokenSequence
        self.problem = problem
    }

    enum CodingKeys: String, CodingKey {
        case rows, ok, tenant
        case firstBrokenSequence = "first_broken_sequence"
        case problem
    }

    /// Every field written (null when the chain holds).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rows, forKey: .rows)
        try c.encode(ok, forKey: .ok)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(firstBrokenSequence, forKey: .firstBrokenSequence)
        try c.encode(problem, forKey: .problem)
    }

    /// Checks one chain given in order: positions 1, 2, 3…, each row's `previousHash` equal to
    /// the hash before it, and each hash equal to the row's content hash.
    public static func check(_ chain: [LedgerEntry], tenant: String?) -> ChainVerification {
        var previous = ""
        for (index, entry) in chain.enumerated() {
            let expected = Int64(index + 1)
            if entry.sequence != expected {
                return ChainVerification(
                    rows: chain.count, tenant: tenant, firstBrokenSequence: expected,
                    problem: "row \(expected) is missing (found \(entry.sequence) in its place)")
            }
            if entry.previousHash != previous {
                return ChainVerification(
                    rows: chain.count, tenant: tenant, firstBrokenSequence: expected,
                    problem: "row \(expected) does not link to the row before it")
            }
            if entry.hash != entry.contentHash {
                return ChainVerification(
                    rows: chain.count, tenant: tenant, firstBrokenSequence: expected,
                    problem: "row \(expected) was altered after it was written")
            }
            previous = entry.hash
        }
        return ChainVerification(rows: chain.count, tenant: tenant)
    }
}

/// The SQLite ledger: one chain for the whole file (its writes are serialised by SQLite's lock
/// anyway, so a global chain costs nothing).
extension Ledger: LedgerStore {
    public func verifyChains(tenant: String?) async throws -> ChainVerification {
        // The chains are global: every row, billing change and final invoice is checked, whichever
        // tenant asked (``verify(against:trustedPublicKey:)``, also what `ledger verify` runs).
        let result = try verify()
        return ChainVerification(
            rows: result.rows, firstBrokenSequence: result.firstBrokenSequence, problem: result.problem)
    }
}

/// An error that means the shared store is away (not that the request was wrong): the service
/// answers 503 with `Retry-After`, and the client retries with the same idempotency key.
public protocol StoreUnavailableError: Error {
    /// Why, when this error is an outage; nil when it is some other failure of the store.
    var unavailableReason: String? { get }
}
