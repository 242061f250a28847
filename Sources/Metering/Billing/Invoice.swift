import Foundation

/// A month's invoice for one tenant: line items computed from ``MonthlyUsage`` and a ``Plan``.
///
/// Rounding: each line's amount is computed at full precision and rounded once, half-to-even,
/// to cents (``Money/cents(_:)``); the total is the sum of the rounded lines. Every line lists
/// the ledger query ids behind it, so finance can trace any amount back to ledger rows.
public struct Invoice: Sendable, Codable, Hashable {
    public struct Line: Sendable, Codable, Hashable {
        public var kind: String
        public var description: String
        public var quantity: Decimal
        public var unitPrice: Decimal
        public var amount: Decimal
        public var queryIDs: [String]

        enum CodingKeys: String, CodingKey {
            case kind, description, quantity
            case unitPrice = "unit_price"
            case amount
            case queryIDs = "query_ids"
        }

        public init(
            kind: String, description: String, quantity: Decimal, unitPrice: Decimal, amount: Decimal,
            queryIDs: [String]
        ) {
            self.kind = kind
            self.description = description
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.amount = amount
            self.queryIDs = queryIDs
        }

        /// Quantities and amounts as decimal strings.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(description, forKey: .description)
            try c.encode(Money.string(quantity), forKey: .quantity)
            try c.encode(Money.string(unitPrice), forKey: .unitPrice)
            try c.encode(Money.string(amount), forKey: .amount)
            try c.encode(queryIDs, forKey: .queryIDs)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decode(String.self, forKey: .kind)
            description = try c.decode(String.self, forKey: .description)
            quantity = try Money.decode(c, .quantity)
            unitPrice = try Money.decode(c, .unitPrice)
            amount = try Money.decode(c, .amount)
            queryIDs = try c.decode([String].self, forKey: .queryIDs)
        }
    }

    public var tenant: String
    public var month: String
    public var plan: String
    public var billing: BillingMode
    public var status: String
    public var lines: [Line]
    public var total: Decimal
    public var currency = "USD"
    /// For a final invoice: the ledger's last row when it was finalized (the invoice was
    /// computed from the rows up to it), and the signed checkpoint of that moment. Null for
    /// previews. A customer holding the invoice holds an anchor `ledger verify --checkpoint` checks.
    public var ledgerHead: ChainHead?
    public var ledgerCheckpoint: Checkpoint?
    /// The month's resolutions by the customer's verdict, and which the plan charges (null on
    /// invoices finalized before verdicts existed).
    public var verdicts: Verdicts?

    /// Billable resolutions split by the customer's verdict.
    public struct Verdicts: Sendable, Codable, Hashable {
        public var confirmed: Int
        public var assumed: Int
        /// Resolutions the customer said did not help (never charged).
        public var rejectedByCustomer: Int
        public var bill: ResolutionBasis

        enum CodingKeys: String, CodingKey {
            case confirmed, assumed
            case rejectedByCustomer = "rejected_by_customer"
            case bill
        }
    }

    enum CodingKeys: String, CodingKey {
        case tenant, month, plan, billing, status, lines, total, currency, verdicts
        case ledgerHead = "ledger_head"
        case ledgerCheckpoint = "ledger_checkpoint"
    }

    /// Every field written (null where absent).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(month, forKey: .month)
        try c.encode(plan, forKey: .plan)
        try c.encode(billing, forKey: .billing)
        try c.encode(status, forKey: .status)
        try c.encode(lines, forKey: .lines)
        try c.encode(Money.string(total), forKey: .total)
        try c.encode(currency, forKey: .currency)
        try c.encode(ledgerHead, forKey: .ledgerHead)
        try c.encode(ledgerCheckpoint, forKey: .ledgerCheckpoint)
        try c.encode(verdicts, forKey: .verdicts)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tenant = try c.decode(String.self, forKey: .tenant)
        month = try c.decode(String.self, forKey: .month)
        plan = try c.decode(String.self, forKey: .plan)
        billing = try c.decode(BillingMode.self, forKey: .billing)
        status = try c.decode(String.self, forKey: .status)
        lines = try c.decode([Line].self, forKey: .lines)
        total = try Money.decode(c, .total)
        currency = try c.decodeIfPresent(String.self, forKey: .currency) ?? "USD"
        ledgerHead = try c.decodeIfPresent(ChainHead.self, forKey: .ledgerHead)
        ledgerCheckpoint = try c.decodeIfPresent(Checkpoint.self, forKey: .ledgerCheckpoint)
        verdicts = try c.decodeIfPresent(Verdicts.self, forKey: .verdicts)
    }

    /// Reads a stored final invoice's body; throws when it is not one (a damaged or edited body
    /// must fail loudly, never be replaced by a recomputed preview).
    public static func decodeStored(_ body: String) throws -> Invoice {
        try JSONDecoder().decode(Invoice.self, from: Data(body.utf8))
    }

    public init(
        tenant: String, month: String, plan: String, billing: BillingMode, status: String, lines: [Line], total: Decimal
    ) {
        self.tenant = tenant
        self.month = month
        self.plan = plan
        self.billing = billing
        self.status = status
        self.lines = lines
        self.total = total
    }

    /// Computes the invoice of `usage` on `plan` with `billing`.
    /// - Parameters:
    ///   - activeFrom: when the tenant's first plan started inside this month, the base fee is
    ///     prorated by the days left (counted from that day, inclusive).
    public static func compute(
        usage: MonthlyUsage, plan: Plan, billing: BillingMode, timeZone: TimeZone, activeFrom: Date? = nil,
        status: String = "preview"
    ) -> Invoice {
        compute(
            usage: usage, plan: plan, billing: billing, timeZone: timeZone,
            basePeriods: [(plan, activeFrom ?? usage.month.interval(in: timeZone).start)], status: status)
    }

    /// Computes the invoice when the plan changed inside the month: one prorated base-fee line
    /// per period (days counted in the tenant's time zone, the change day going to the new
    /// plan); usage is priced on `plan`, the plan in force at the end of the month.
    public static func compute(
        usage: MonthlyUsage, plan: Plan, billing: BillingMode, timeZone: TimeZone, basePeriods: [(Plan, Date)],
        status: String = "preview"
    ) -> Invoice {
        var lines: [Line] = []
        let days = usage.month.dayCount
        let (monthStart, monthEnd) = usage.month.interval(in: timeZone)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        func dayIndex(_ date: Date) -> Int {
            date <= monthStart ? 1 : (date >= monthEnd ? days + 1 : calendar.component(.day, from: date))
        }
        for (i, period) in basePeriods.enumerated() {
            let (periodPlan, from) = period
            let first = dayIndex(from)
            let last = i + 1 < basePeriods.count ? dayIndex(basePeriods[i + 1].1) : days + 1
            let activeDays = max(0, last - first)
            guard periodPlan.baseFee > 0, activeDays > 0 else { continue }
            let fraction = Decimal(activeDays) / Decimal(days)
            lines.append(
                Line(
                    kind: "base_fee",
                    description: activeDays == days
                        ? "\(periodPlan.name) plan, \(usage.month)"
                        : "\(periodPlan.name) plan, \(usage.month), \(activeDays) of \(days) days",
                    quantity: fraction, unitPrice: periodPlan.baseFee,
                    amount: Money.cents(periodPlan.baseFee * fraction),
                    queryIDs: []))
        }
        if billing.includesTokens, let margin = plan.tokenMargin {
            let cost = Money.dollars(micros: usage.totalCostMicros)
            let ids = usage.queries.filter { $0.costMicros > 0 }.map(\.queryID)
            lines.append(
                Line(
                    kind: "token_usage", description: "Model usage at cost × \(margin) margin", quantity: cost,
                    unitPrice: margin, amount: Money.cents(cost * margin), queryIDs: ids))
        }
        if billing.includesResolutions, !plan.resolutionTiers.isEmpty {
            let charged = plan.bill == .confirmedOnly ? usage.confirmed : usage.billable
            let billable = charged.sorted { $0.occurredAt < $1.occurredAt }.map(\.queryID)
            let included = min(plan.includedResolutions, billable.count)
            if included > 0 {
                lines.append(
                    Line(
                        kind: "included_resolutions", description: "Resolutions included in the plan",
                        quantity: Decimal(included), unitPrice: 0, amount: 0, queryIDs: Array(billable.prefix(included))
                    ))
            }
            // Tier bounds count every billable resolution of the month: included ones fill the
            // first tier first ("the first 1,000 resolutions at $0.89" includes the free 100).
            var remaining = Array(billable.dropFirst(included))
            var counted = included
            var charge: Decimal = 0
            for tier in plan.resolutionTiers where !remaining.isEmpty {
                let room = tier.upTo.map { max(0, $0 - counted) } ?? remaining.count
                let take = min(room, remaining.count)
                guard take > 0 else { continue }
                let amount = Money.cents(Decimal(take) * tier.price)
                charge += amount
                lines.append(
                    Line(
                        kind: "resolutions",
                        description: tier.upTo.map { "Resolutions up to \($0) a month" } ?? "Resolutions",
                        quantity: Decimal(take), unitPrice: tier.price, amount: amount,
                        queryIDs: Array(remaining.prefix(take))))
                remaining.removeFirst(take)
                counted += take
            }
            if let minimum = plan.monthlyMinimum, charge < minimum {
                lines.append(
                    Line(
                        kind: "minimum", description: "Monthly resolution minimum \(Money.format(minimum))",
                        quantity: 1, unitPrice: minimum - charge, amount: Money.cents(minimum - charge), queryIDs: []))
            }
            if let cap = plan.monthlyCap, charge > cap {
                lines.append(
                    Line(
                        kind: "cap", description: "Monthly resolution cap \(Money.format(cap))", quantity: 1,
                        unitPrice: cap - charge, amount: Money.cents(cap - charge), queryIDs: []))
            }
            if plan.bill == .confirmedOnly, !usage.assumed.isEmpty {
                lines.append(
                    Line(
                        kind: "awaiting_confirmation",
                        description: "Resolutions the customer has not confirmed (this plan bills confirmed ones only)",
                        quantity: Decimal(usage.assumed.count), unitPrice: 0, amount: 0,
                        queryIDs: usage.assumed.map(\.queryID)))
            }
            let rejected = usage.queries.filter { $0.status == .rejectedByCustomer }.map(\.queryID)
            if !rejected.isEmpty {
                lines.append(
                    Line(
                        kind: "rejected_by_customer",
                        description: "Answers the customer said did not help (never charged; handed to a person)",
                        quantity: Decimal(rejected.count), unitPrice: 0, amount: 0, queryIDs: rejected))
            }
            let held = usage.flagged.map(\.queryID)
            if !held.isEmpty {
                lines.append(
                    Line(
                        kind: "held_for_review",
                        description: "Resolutions flagged for review (not charged until approved)",
                        quantity: Decimal(held.count), unitPrice: 0, amount: 0, queryIDs: held))
            }
        }
        if billing.includesResolutions { lines += workflowLines(usage: usage, plan: plan) }
        let total = lines.reduce(Decimal(0)) { $0 + $1.amount }
        var invoice = Invoice(
            tenant: usage.tenant, month: usage.month.description, plan: plan.id, billing: billing, status: status,
            lines: lines, total: total)
        invoice.verdicts = Verdicts(
            confirmed: usage.confirmed.count, assumed: usage.assumed.count,
            rejectedByCustomer: usage.count(.rejectedByCustomer), bill: plan.bill)
        return invoice
    }

    /// Lines for workflow runs that ended in the month, per workflow: included runs, then volume
    /// tiers (counted from the month's first successful run, included ones filling the first
    /// tier first, as for resolutions). Runs that failed their check, failed or were handed off
    /// are listed at 0; a workflow the plan has no price for is listed at 0 and named.
    static func workflowLines(usage: MonthlyUsage, plan: Plan) -> [Line] {
        var lines: [Line] = []
        let byWorkflow = Dictionary(grouping: usage.workflowRuns, by: \.workflow)
        for workflow in byWorkflow.keys.sorted() {
            let runs = byWorkflow[workflow] ?? []
            let succeeded = runs.filter { $0.outcome == .succeeded }.map(\.runID)
            if !succeeded.isEmpty {
                if let price = plan.workflowPrice(workflow) {
                    let included = min(price.includedRuns, succeeded.count)
                    if included > 0 {
                        lines.append(
                            Line(
                                kind: "included_workflow_runs",
                                description: "Workflow \(workflow): runs included in the plan",
                                quantity: Decimal(included), unitPrice: 0, amount: 0,
                                queryIDs: Array(succeeded.prefix(included))))
                    }
                    var remaining = Array(succeeded.dropFirst(included))
                    var counted = included
                    for tier in price.tiers where !remaining.isEmpty {
                        let room = tier.upTo.map { max(0, $0 - counted) } ?? remaining.count
                        let take = min(room, remaining.count)
                        guard take > 0 else { continue }
                        lines.append(
                            Line(
                                kind: "workflow_runs",
                                description: tier.upTo.map {
                                    "Workflow \(workflow): successful runs up to \($0) a month"
                                }
                                    ?? "Workflow \(workflow): successful runs",
                                quantity: Decimal(take), unitPrice: tier.price,
                                amount: Money.cents(Decimal(take) * tier.price),
                                queryIDs: Array(remaining.prefix(take))))
                        remaining.removeFirst(take)
                        counted += take
                    }
                } else {
                    lines.append(
                        Line(
                            kind: "workflow_runs_unpriced",
                            description:
                                "Workflow \(workflow): successful runs (plan \(plan.id) has no price for this workflow)",
                            quantity: Decimal(succeeded.count), unitPrice: 0, amount: 0, queryIDs: succeeded))
                }
            }
            for (outcome, text) in [
                (WorkflowOutcome.failedCheck, "runs whose output failed the workflow's check (not charged)"),
                (.failed, "failed runs (not charged)"), (.handedOff, "runs handed to a person (never charged)"),
            ] {
                let ids = runs.filter { $0.outcome == outcome }.map(\.runID)
                guard !ids.isEmpty else { continue }
                lines.append(
                    Line(
                        kind: "workflow_runs_\(outcome.rawValue)", description: "Workflow \(workflow): \(text)",
                        quantity: Decimal(ids.count), unitPrice: 0, amount: 0, queryIDs: ids))
            }
        }
        return lines
    }
}
