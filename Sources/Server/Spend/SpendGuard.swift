import Cascade
import Foundation
import Logging
import Metering
import Synchronization

/// Enforces tenants' hard spend caps before their costly tiers run, and evaluates their alerts.
///
/// What a tenant has spent this month is the ledger's model cost (read at most every
/// `refreshInterval`, and when the month changes) plus what this node has spent since that read:
/// the cost of questions recorded after it, and what questions in progress hold (a tier about to
/// run holds its largest possible cost until it reports the real one). A tier is stopped when
/// that sum plus its own largest cost would pass the cap, so requests running at once on one
/// node cannot pass the cap by more than one request's cost. With several nodes, each sees the
/// others' spending at its next read of the ledger.
public final class SpendGuard: TierBudget, Sendable {
    let store: any SpendControlStore
    let ledger: any LedgerStore
    let catalog: @Sendable () throws -> PlanCatalog
    let clock: WallClock
    let refreshInterval: Duration
    let logger: Logger
    private let tenants = Mutex<[String: TenantSpend]>([:])
    /// Caps read for tenants whose spending was not read (no hard cap, nothing else needed).
    private let caps = Mutex<[String: (cap: SpendCap?, readAt: ContinuousClock.Instant)]>([:])
    /// Tenants with an alert evaluation running (and whether another is wanted after it).
    private let evaluations = Mutex<[String: Bool]>([:])

    struct Snapshot {
        var usage: SpendUsage
        var cap: SpendCap?
        var alerts: [SpendAlert]
        var zone: TimeZone
        var readStarted: ContinuousClock.Instant
    }

    struct TenantSpend {
        var snapshot: Snapshot?
        /// What questions in progress hold, by query id.
        var inFlight: [String: Int64] = [:]
        /// The cost of questions recorded since the snapshot's read began.
        var recorded: [(at: ContinuousClock.Instant, micros: Int64)] = []

        func spent(over usage: SpendUsage) -> Int64 {
            usage.modelCostMicros + recorded.reduce(0) { $0 + $1.micros } + inFlight.values.reduce(0, +)
        }
    }

    public init(
        store: any SpendControlStore, ledger: any LedgerStore, catalog: @escaping @Sendable () throws -> PlanCatalog,
        clock: WallClock, refreshInterval: Duration = .seconds(5), logger: Logger
    ) {
        self.store = store
        self.ledger = ledger
        self.catalog = catalog
        self.clock = clock
        self.refreshInterval = refreshInterval
        self.logger = logger
    }

    // MARK: - The cap, before each costly tier

    public func reserve(tier: String, tenant: String, queryID: String, maximumCostMicros: Int64) async
        -> TierBudgetDecision
    {
        let snapshot: Snapshot
        do {
            // Only a hard cap that stops this tier needs the month's spending (read from the
            // ledger at most every `refreshInterval`); a tenant without one pays one small read.
            guard let cap = try await cap(tenant), cap.stops(tier: tier) else {
                return .proceed(TierReservation { _ in })
            }
            snapshot = try await current(tenant)
        } catch {
            // Never silently uncapped: without a reading of the month's spending a hard cap
            // cannot be honoured, so the tier stops and says why.
            logger.error(
                "reading the month's spending failed", metadata: ["tenant": .string(tenant), "error": "\(error)"])
            return .stop(
                reason: "\(tier): not run: the month's spending could not be read to check the spend cap (\(error))")
        }
        guard let cap = snapshot.cap, cap.stops(tier: tier) else { return .proceed(TierReservation { _ in }) }
        let held: Int64? = tenants.withLock { all in
            var spend = all[tenant] ?? TenantSpend()
            let spent = spend.spent(over: snapshot.usage)
            guard spent + maximumCostMicros <= cap.capMicros else { return nil }
            spend.inFlight[queryID, default: 0] += maximumCostMicros
            all[tenant] = spend
            return maximumCostMicros
        }
        guard let held else {
            let spent = tenants.withLock { $0[tenant]?.spent(over: snapshot.usage) } ?? snapshot.usage.modelCostMicros
            let what = tier == "llm" ? "the LLM tier" : "the RAG tier"
            return .stop(
                reason:
                    "\(what) is not run: the tenant's hard spend cap is reached ($\(Money.string(Money.dollars(micros: spent))) of model cost this month, with questions in progress, against a cap of $\(Money.string(cap.amount))); the question goes to a person"
            )
        }
        return .proceed(
            TierReservation { [self] actual in
                self.tenants.withLock { all in all[tenant]?.inFlight[queryID, default: 0] += actual - held }
            })
    }

    /// The tenant's cap, from the cached reading when it is fresh, else from the store (cached
    /// for `refreshInterval` too).
    func cap(_ tenant: String) async throws -> SpendCap? {
        if let snapshot = tenants.withLock({ $0[tenant]?.snapshot }),
            ContinuousClock.now - snapshot.readStarted < refreshInterval
        {
            return snapshot.cap
        }
        if let cached = caps.withLock({ $0[tenant] }), ContinuousClock.now - cached.readAt < refreshInterval {
            return cached.cap
        }
        let cap = try await store.spendCap(tenant: tenant)
        caps.withLock { $0[tenant] = (cap, ContinuousClock.now) }
        return cap
    }

    /// A question's ledger rows are recorded (or it failed): what it holds becomes spent.
    public func finished(tenant: String, queryID: String) {
        tenants.withLock { all in
            guard let held = all[tenant]?.inFlight.removeValue(forKey: queryID) else { return }
            all[tenant]?.recorded.append((ContinuousClock.now, held))
        }
    }

    /// The snapshot, read again when it is older than `refreshInterval` or of another month.
    func current(_ tenant: String, force: Bool = false) async throws -> Snapshot {
        let now = clock.now()
        if !force, let snapshot = tenants.withLock({ $0[tenant]?.snapshot }),
            ContinuousClock.now - snapshot.readStarted < refreshInterval,
            BillingMonth.containing(now, in: snapshot.zone).description == snapshot.usage.month
        {
            return snapshot
        }
        let started = ContinuousClock.now
        let cap = try await store.spendCap(tenant: tenant)
        let alerts = try await store.alerts(tenant: tenant)
        let (usage, zone) = try await Self.usage(ledger: ledger, catalog: try catalog(), tenant: tenant, at: now)
        let snapshot = Snapshot(usage: usage, cap: cap, alerts: alerts, zone: zone, readStarted: started)
        tenants.withLock { all in
            var spend = all[tenant] ?? TenantSpend()
            spend.snapshot = snapshot
            spend.recorded.removeAll { $0.at < started }
            all[tenant] = spend
        }
        return snapshot
    }

    /// The month so far, as `GET /v1/usage` counts it, in the tenant's billing time zone.
    static func usage(ledger: any LedgerStore, catalog: PlanCatalog, tenant: String, at now: Date) async throws
        -> (SpendUsage, TimeZone)
    {
        let zone = try await ledger.billingHistory(tenant: tenant).last?.zone ?? TimeZone(identifier: "UTC") ?? .gmt
        let month = BillingMonth.containing(now, in: zone)
        let statement = try await BillingStatement.compute(
            ledger: ledger, catalog: catalog, tenant: tenant, month: month)
        let report = UsageReport(usage: statement.usage, invoice: statement.invoice)
        let planned = statement.invoice.status != BillingStatement.noPlanStatus
        return (
            SpendUsage(
                month: month.description, modelCostMicros: report.totalCostMicros,
                billedAmount: planned ? statement.invoice.total : nil,
                billableResolutions: report.billableResolutions), zone
        )
    }

    /// Forgets the cached reading of `tenant` (its cap or alerts changed).
    public func invalidate(_ tenant: String) {
        tenants.withLock { $0[tenant]?.snapshot = nil }
        caps.withLock { $0[tenant] = nil }
    }

    // MARK: - Alerts

    /// Evaluates `tenant`'s alerts soon, off the request's path; calls made while one runs
    /// lead to one more run after it, not one per call.
    public func scheduleEvaluation(_ tenant: String) {
        let start = evaluations.withLock { running -> Bool in
            if running[tenant] != nil {
                running[tenant] = true
                return false
            }
            running[tenant] = false
            return true
        }
        guard start else { return }
        Task {
            while true {
                await evaluateLogging(tenant)
                let again = evaluations.withLock { running -> Bool in
                    if running[tenant] == true {
                        running[tenant] = false
                        return true
                    }
                    running[tenant] = nil
                    return false
                }
                if !again { return }
            }
        }
    }

    func evaluateLogging(_ tenant: String) async {
        do {
            _ = try await evaluate(tenant)
        } catch {
            logger.warning(
                "evaluating spend alerts failed", metadata: ["tenant": .string(tenant), "error": "\(error)"])
        }
    }

    /// Reads the month so far and applies it to `tenant`'s alerts; returns what changed.
    @discardableResult
    public func evaluate(_ tenant: String) async throws -> [AlertTransition] {
        let snapshot = try await current(tenant, force: true)
        guard !snapshot.alerts.isEmpty else { return [] }
        let observations = snapshot.alerts.compactMap {
            AlertObservation.observe($0, usage: snapshot.usage, cap: snapshot.cap)
        }
        let transitions = try await store.applyAlertObservations(
            tenant: tenant, observations, cap: snapshot.cap, now: clock.now())
        for transition in transitions {
            logger.notice(
                "spend alert \(transition.kind.rawValue)",
                metadata: [
                    "tenant": .string(tenant), "alert": .string(transition.alertID),
                    "period": .string(transition.period),
                ])
        }
        return transitions
    }

    /// Whether `tenant` may have alerts: the cached reading says so, or it is missing or older
    /// than `refreshInterval` (alerts added by `cascade alerts add` in another process are seen
    /// at the next evaluation after that).
    func hasAlerts(_ tenant: String) -> Bool {
        guard let snapshot = tenants.withLock({ $0[tenant]?.snapshot }),
            ContinuousClock.now - snapshot.readStarted < refreshInterval
        else { return true }
        return !snapshot.alerts.isEmpty
    }

    // MARK: - For usage reports

    /// The cap and where the month stands against it (nil without a cap).
    public func status(tenant: String, usage: SpendUsage, current: Bool, zone: TimeZone) async throws -> SpendStatus? {
        guard let cap = try await store.spendCap(tenant: tenant) else { return nil }
        // `usage` was read from the ledger just now; on top of it, what questions in progress hold.
        var spent = usage.modelCostMicros
        if current { spent += tenants.withLock { $0[tenant]?.inFlight.values.reduce(0, +) } ?? 0 }
        return SpendStatus(
            cap: cap, spentMicros: spent,
            projectedMicros: current
                ? SpendStatus.projection(spent: spent, month: usage.month, zone: zone, now: clock.now()) : nil)
    }
}

/// A tenant's month against its spend cap, as `GET /v1/usage` and the dashboard show it.
public struct SpendStatus: Sendable, Hashable {
    public var cap: SpendCap
    public var spentMicros: Int64
    /// The month-end model cost at the month's pace so far (current month only).
    public var projectedMicros: Int64?

    public var remainingMicros: Int64 { max(0, cap.capMicros - spentMicros) }
    public var reached: Bool { spentMicros >= cap.capMicros }

    /// Linear: what was spent, over the share of the month gone by.
    public static func projection(spent: Int64, month: String, zone: TimeZone, now: Date) -> Int64? {
        guard let billing = try? BillingMonth(month) else { return nil }
        let (start, end) = billing.interval(in: zone)
        let elapsed = now.timeIntervalSince(start)
        let total = end.timeIntervalSince(start)
        guard elapsed > 0, total > 0 else { return nil }
        return Int64((Double(spent) * total / min(elapsed, total)).rounded(.up))
    }

    public var json: [String: Any] {
        [
            "cap": Money.string(cap.amount), "mode": cap.mode.rawValue, "stops": cap.stops.rawValue,
            "metric": "model_cost", "spent": Money.string(Money.dollars(micros: spentMicros)),
            "remaining": Money.string(Money.dollars(micros: remainingMicros)), "reached": reached,
            "projected_month_end": projectedMicros.map { Money.string(Money.dollars(micros: $0)) } ?? NSNull(),
            "currency": "USD",
        ]
    }
}
