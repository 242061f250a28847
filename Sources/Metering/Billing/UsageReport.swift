import Foundation

/// The numbers finance reads for one tenant and month: volumes by tier, resolution rate, cost per
/// resolution, cost attribution and margin per tier.
public struct UsageReport: Sendable, Encodable, Hashable {
    public struct TierLine: Sendable, Encodable, Hashable {
        public var tier: String
        public var resolutions: Int
        public var costMicros: Int64
        /// This tier's share of all resolutions and of all model cost.
        public var resolutionShare: Double
        public var costShare: Double
        /// What this tier's resolutions and tokens were billed (resolution charges split by
        /// billable resolutions, token charges by cost), and billed minus cost.
        public var billed: Decimal
        public var margin: Decimal
        /// Every attempt at this tier and its tokens (resolved or not).
        public var attempts = 0
        public var tokensIn = 0
        public var tokensOut = 0

        enum CodingKeys: String, CodingKey {
            case tier, resolutions, attempts
            case tokensIn = "tokens_in"
            case tokensOut = "tokens_out"
            case costMicros = "cost_micros"
            case resolutionShare = "resolution_share"
            case costShare = "cost_share"
            case billed, margin
        }

        public init(
            tier: String, resolutions: Int, costMicros: Int64, resolutionShare: Double, costShare: Double,
            billed: Decimal, margin: Decimal, attempts: Int = 0, tokensIn: Int = 0, tokensOut: Int = 0
        ) {
            self.attempts = attempts
            self.tokensIn = tokensIn
            self.tokensOut = tokensOut
            self.tier = tier
            self.resolutions = resolutions
            self.costMicros = costMicros
            self.resolutionShare = resolutionShare
            self.costShare = costShare
            self.billed = billed
            self.margin = margin
        }

        /// Money as decimal strings.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tier, forKey: .tier)
            try c.encode(resolutions, forKey: .resolutions)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(tokensIn, forKey: .tokensIn)
            try c.encode(tokensOut, forKey: .tokensOut)
            try c.encode(costMicros, forKey: .costMicros)
            try c.encode(resolutionShare, forKey: .resolutionShare)
            try c.encode(costShare, forKey: .costShare)
            try c.encode(Money.string(billed), forKey: .billed)
            try c.encode(Money.string(margin), forKey: .margin)
        }
    }

    public var tenant: String
    public var month: String
    public var queries: Int
    public var resolutions: Int
    public var billableResolutions: Int
    public var flaggedResolutions: Int
    /// Billable resolutions the customer confirmed (`POST /v1/queries/{id}/feedback`), and those
    /// assumed (no verdict); the two add up to `billableResolutions`.
    public var confirmedResolutions: Int
    public var assumedResolutions: Int
    /// Resolutions the customer said did not help: never billed, handed to a person.
    public var rejectedByCustomer: Int
    public var escalated: Int
    public var rejected: Int
    public var duplicates: Int
    public var reopened: Int
    public var voided: Int
    /// Resolutions ÷ (queries − rejected junk); nil for a month with no questions to answer
    /// (shown as "no questions", never as a rate of 0%).
    public var resolutionRate: Double?
    public var totalCostMicros: Int64
    /// All model cost of the month (failed attempts and escalations included) ÷ billable resolutions.
    public var blendedCostPerResolution: Decimal?
    public var tiers: [TierLine]
    public var invoiceTotal: Decimal
    public var findings: [String]
    /// Workflow runs that ended this month, per workflow, beside the chat resolutions.
    public var workflows: [WorkflowSummary] = []
    /// What successful workflow runs are charged this month (included ones at 0).
    public var workflowCharge: Decimal = 0

    enum CodingKeys: String, CodingKey {
        case tenant, month, queries, resolutions
        case billableResolutions = "billable_resolutions"
        case flaggedResolutions = "flagged_resolutions"
        case confirmedResolutions = "confirmed_resolutions"
        case assumedResolutions = "assumed_resolutions"
        case rejectedByCustomer = "rejected_by_customer"
        case escalated, rejected, duplicates, reopened, voided
        case resolutionRate = "resolution_rate"
        case totalCostMicros = "total_cost_micros"
        case blendedCostPerResolution = "blended_cost_per_resolution"
        case tiers
        case invoiceTotal = "invoice_total"
        case findings
        case totalCost = "total_cost"
        case currency
        case workflows
        case workflowCharge = "workflow_charge"
    }

    /// Every field written (null where absent), money as decimal strings in USD.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(month, forKey: .month)
        try c.encode(queries, forKey: .queries)
        try c.encode(resolutions, forKey: .resolutions)
        try c.encode(billableResolutions, forKey: .billableResolutions)
        try c.encode(flaggedResolutions, forKey: .flaggedResolutions)
        try c.encode(confirmedResolutions, forKey: .confirmedResolutions)
        try c.encode(assumedResolutions, forKey: .assumedResolutions)
        try c.encode(rejectedByCustomer, forKey: .rejectedByCustomer)
        try c.encode(escalated, forKey: .escalated)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(duplicates, forKey: .duplicates)
        try c.encode(reopened, forKey: .reopened)
        try c.encode(voided, forKey: .voided)
        try c.encode(resolutionRate, forKey: .resolutionRate)
        try c.encode(totalCostMicros, forKey: .totalCostMicros)
        try c.encode(Money.string(Money.dollars(micros: totalCostMicros)), forKey: .totalCost)
        try c.encode(blendedCostPerResolution.map(Money.string), forKey: .blendedCostPerResolution)
        try c.encode("USD", forKey: .currency)
        try c.encode(tiers, forKey: .tiers)
        try c.encode(Money.string(invoiceTotal), forKey: .invoiceTotal)
        try c.encode(findings, forKey: .findings)
        try c.encode(workflows, forKey: .workflows)
        try c.encode(Money.string(workflowCharge), forKey: .workflowCharge)
    }

    public init(usage: MonthlyUsage, invoice: Invoice) {
        tenant = usage.tenant
        month = usage.month.description
        queries = usage.queries.count
        resolutions = usage.resolutions.count
        billableResolutions = usage.count(.billable)
        flaggedResolutions = usage.count(.flagged)
        confirmedResolutions = usage.confirmed.count
        assumedResolutions = usage.assumed.count
        rejectedByCustomer = usage.count(.rejectedByCustomer)
        escalated = usage.count(.escalated) + usage.count(.humanHandled)
        rejected = usage.count(.rejected)
        duplicates = usage.count(.duplicate)
        reopened = usage.count(.reopened)
        voided = usage.count(.voided)
        let asked = queries - rejected
        resolutionRate = asked > 0 ? Double(resolutions) / Double(asked) : nil
        totalCostMicros = usage.totalCostMicros
        // Per chat resolution: workflow steps' cost is the workflows' own.
        let chatCost = totalCostMicros - usage.workflowCostMicros.values.reduce(0, +)
        blendedCostPerResolution =
            billableResolutions > 0
            ? Money.dollars(micros: chatCost) / Decimal(billableResolutions) : nil
        workflows = usage.workflowSummaries
        workflowCharge = invoice.lines.filter { $0.kind == "workflow_runs" }.reduce(Decimal(0)) { $0 + $1.amount }
        invoiceTotal = invoice.total
        findings = usage.findings
        let resolutionCharge = invoice.lines.filter { ["resolutions", "minimum", "cap"].contains($0.kind) }
            .reduce(Decimal(0)) { $0 + $1.amount }
        let tokenCharge = invoice.lines.filter { $0.kind == "token_usage" }.reduce(Decimal(0)) { $0 + $1.amount }
        var lines: [TierLine] = []
        for tier in ["rule", "rag", "llm", "verify", "escalated", "screen"] {
            let resolved = usage.resolutions.filter { $0.tier == tier }.count
            let billable = usage.billable.filter { $0.tier == tier }.count
            let cost = usage.costMicrosByTier[tier] ?? 0
            let tried = usage.attemptsByTier[tier] ?? (0, 0, 0)
            // A tier appears when it resolved, cost or was tried at all (an unpriced LLM too).
            guard resolved > 0 || cost > 0 || (tried.attempts > 0 && ["llm", "verify"].contains(tier)) else {
                continue
            }
            var billed: Decimal = 0
            if billableResolutions > 0 { billed += resolutionCharge * Decimal(billable) / Decimal(billableResolutions) }
            if totalCostMicros > 0 { billed += tokenCharge * Decimal(cost) / Decimal(totalCostMicros) }
            let rounded = Money.cents(billed)
            lines.append(
                TierLine(
                    tier: tier, resolutions: resolved, costMicros: cost,
                    resolutionShare: resolutions > 0 ? Double(resolved) / Double(resolutions) : 0,
                    costShare: totalCostMicros > 0 ? Double(cost) / Double(totalCostMicros) : 0, billed: rounded,
                    margin: rounded - Money.dollars(micros: cost), attempts: tried.attempts, tokensIn: tried.tokensIn,
                    tokensOut: tried.tokensOut))
        }
        tiers = lines
    }
}
