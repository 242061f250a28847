/// What may still be spent on a tenant's costly tiers (its hard spend cap). The resolver asks
/// before each costly tier runs, with the most that tier can cost; a tier that is allowed holds
/// that amount until it reports what it really cost, so requests running at once cannot together
/// pass the cap by more than one request's cost.
public protocol TierBudget: Sendable {
    /// - Parameter queryID: the question's id (its reservations are counted together until its
    ///   ledger rows are recorded).
    func reserve(tier: String, tenant: String, queryID: String, maximumCostMicros: Int64) async -> TierBudgetDecision
}

/// The answer of a ``TierBudget``.
public enum TierBudgetDecision: Sendable {
    /// Run the tier, then ``TierReservation/settle(costMicros:)`` with its real cost.
    case proceed(TierReservation)
    /// Do not run the tier: the reason goes into the attempt's note and the evidence.
    case stop(reason: String)
}

/// An amount held against the budget until the tier's real cost is known.
public struct TierReservation: Sendable {
    private let settle: @Sendable (Int64) async -> Void

    public init(settle: @escaping @Sendable (Int64) async -> Void) {
        self.settle = settle
    }

    /// Replaces the held amount with what the tier really cost.
    public func settle(costMicros: Int64) async { await settle(costMicros) }
}

extension Attempt {
    /// The outcome of a tier a hard spend cap stopped.
    public static let spendCapOutcome = "spend_cap"
}
