import Foundation

/// A price plan: a monthly base fee plus token billing (model cost × margin) and/or resolution
/// billing (a price per billable resolution, with included resolutions, volume tiers, a monthly
/// minimum and a cap). All amounts are exact `Decimal` dollars.
public struct Plan: Hashable, Sendable {
    /// One volume tier: resolutions up to `upTo` (cumulative, nil = the rest) cost `price` each.
    public struct Tier: Hashable, Sendable {
        public var upTo: Int?
        public var price: Decimal

        public init(upTo: Int?, price: Decimal) {
            self.upTo = upTo
            self.price = price
        }
    }

    public var id: String
    public var name: String
    public var baseFee: Decimal
    /// Token billing: model cost × this margin (2.70 = cost plus 170%).
    public var tokenMargin: Decimal?
    /// Resolution billing: tiers of per-resolution prices (a single tier for a flat price).
    public var resolutionTiers: [Tier]
    /// Billable resolutions each month that cost nothing beyond the base fee.
    public var includedResolutions: Int
    /// The resolution charge is at least this much (when resolution billing applies).
    public var monthlyMinimum: Decimal?
    /// The resolution charge is at most this much.
    public var monthlyCap: Decimal?
    /// Billing modes a tenant on this plan may choose.
    public var billingModes: Set<BillingMode>
    /// Negotiated plans (Enterprise): a tenant's contract overrides fee, margin and prices.
    public var negotiated: Bool
    /// Which resolutions are charged: those the customer confirmed and those assumed (no
    /// negative signal within the reopen window; the default, as the market does), or only
    /// confirmed ones (plans key `bill`).
    public var bill: ResolutionBasis = .confirmedAndAssumed
    /// Prices of successful workflow runs, by workflow name; `*` prices every workflow without
    /// its own entry. A workflow without a price is listed on the invoice at 0, never silently.
    public var workflowPrices: [String: WorkflowPrice] = [:]

    /// What a successful run of one workflow costs: volume tiers like resolutions' (a single tier
    /// for a flat `per_successful_run`), after the included runs.
    public struct WorkflowPrice: Hashable, Sendable {
        public var tiers: [Tier]
        public var includedRuns: Int

        public init(tiers: [Tier], includedRuns: Int = 0) {
            self.tiers = tiers
            self.includedRuns = includedRuns
        }
    }

    /// The price of `workflow`'s successful runs on this plan (its own, else `*`).
    public func workflowPrice(_ workflow: String) -> WorkflowPrice? {
        workflowPrices[workflow] ?? workflowPrices["*"]
    }

    public init(
        id: String, name: String, baseFee: Decimal, tokenMargin: Decimal? = nil, resolutionTiers: [Tier] = [],
        includedResolutions: Int = 0, monthlyMinimum: Decimal? = nil, monthlyCap: Decimal? = nil,
        billingModes: Set<BillingMode> = [.token, .resolution], negotiated: Bool = false
    ) {
        self.id = id
        self.name = name
        self.baseFee = baseFee
        self.tokenMargin = tokenMargin
        self.resolutionTiers = resolutionTiers
        self.includedResolutions = includedResolutions
        self.monthlyMinimum = monthlyMinimum
        self.monthlyCap = monthlyCap
        self.billingModes = billingModes
        self.negotiated = negotiated
    }
}

/// Which billable resolutions a plan charges for (plans key `bill`).
public enum ResolutionBasis: String, Hashable, Sendable, CaseIterable, Codable {
    case confirmedOnly = "confirmed_only"
    case confirmedAndAssumed = "confirmed_and_assumed"
}

/// What a tenant is charged for on top of the base fee.
public enum BillingMode: String, Hashable, Sendable, CaseIterable, Codable {
    /// Model cost × the plan's margin.
    case token
    /// A price per billable resolution.
    case resolution
    /// Both (where the contract says so).
    case both

    public var includesTokens: Bool { self == .token || self == .both }
    public var includesResolutions: Bool { self == .resolution || self == .both }
}
