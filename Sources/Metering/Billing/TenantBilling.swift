import Foundation
import GRDB

/// A tenant's billing choice: plan, billing mode, time zone, reopen window. Changes are appended
/// (never edited) with the month they take effect; a change applies from the next month, except
/// a tenant's very first choice, which applies at once.
public struct TenantBilling: Hashable, Sendable, Codable {
    public var tenant: String
    public var plan: String
    public var billing: BillingMode
    public var timeZone: String
    /// A resolution reopened within this many hours is voided.
    public var reopenWindowHours: Int
    /// First month this setting applies to.
    public var effectiveMonth: String
    /// When the change was recorded (an immediate change takes effect at this moment).
    public var recordedAt: Date

    public init(
        tenant: String, plan: String, billing: BillingMode, timeZone: String, reopenWindowHours: Int,
        effectiveMonth: String, recordedAt: Date
    ) {
        self.tenant = tenant
        self.plan = plan
        self.billing = billing
        self.timeZone = timeZone
        self.reopenWindowHours = reopenWindowHours
        self.effectiveMonth = effectiveMonth
        self.recordedAt = recordedAt
    }

    enum CodingKeys: String, CodingKey {
        case tenant, plan, billing
        case timeZone = "timezone"
        case reopenWindowHours = "reopen_window_hours"
        case effectiveMonth = "effective_month"
        case recordedAt = "recorded_at"
    }

    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }
}

extension TenantBilling {
    /// Checks a billing change before anything is written (every store applies the same rules):
    /// a known time zone, a billing mode the plan offers. Returns the time zone.
    public static func check(plan: Plan, billing: BillingMode, timeZone: String) throws -> TimeZone {
        guard let zone = TimeZone(identifier: timeZone) else { throw BillingError.invalidTimeZone(timeZone) }
        guard plan.billingModes.contains(billing) else {
            throw BillingError.modeNotOffered(plan: plan.id, mode: billing.rawValue)
        }
        return zone
    }

    /// The month a change recorded `now` takes effect: the current one for a tenant's first
    /// choice or an immediate change, else the next.
    public static func effectiveMonth(firstChoice: Bool, immediately: Bool, now: Date, zone: TimeZone)
        -> BillingMonth
    {
        let current = BillingMonth.containing(now, in: zone)
        return firstChoice || immediately ? current : current.next
    }

    /// The setting in force for `month` in a tenant's `history` (oldest first): the latest
    /// change effective at or before it.
    public static func inForce(_ history: [TenantBilling], month: BillingMonth) -> TenantBilling? {
        // Oldest first, so among changes with the same effective month the last recorded wins.
        history.enumerated().filter { $0.element.effectiveMonth <= month.description }
            .max { ($0.element.effectiveMonth, $0.offset) < ($1.element.effectiveMonth, $1.offset) }?.element
    }

    /// The base-fee periods of `month`: each plan in force during it and the moment it started
    /// (the month's start for a plan carried over; the recording time for a first plan or an
    /// immediate change), in order.
    public static func planPeriods(_ history: [TenantBilling], month: BillingMonth, timeZone: TimeZone) -> [(
        plan: String, from: Date
    )] {
        let start = month.interval(in: timeZone).start
        var periods: [(plan: String, from: Date)] = []
        if let carried = history.last(where: { $0.effectiveMonth < month.description }) {
            periods.append((carried.plan, start))
        }
        for change in history where change.effectiveMonth == month.description {
            // A next-month change recorded last month starts with the month; an immediate or
            // first one starts when it was recorded.
            let from = max(start, change.recordedAt)
            if let last = periods.last, last.from == from { periods.removeLast() }
            periods.append((change.plan, from))
        }
        return periods
    }
}

extension Ledger {
    /// Records a billing change for `tenant`; returns the stored setting with its effective month.
    /// - Parameter immediately: the change takes effect now instead of next month; the month's base
    ///   fee is then prorated by days between the old and the new plan.
    @discardableResult
    public func setBilling(
        tenant: String, plan: Plan, billing: BillingMode, timeZone: String, reopenWindowHours: Int = 72,
        immediately: Bool = false, now: Date = Date()
    ) throws -> TenantBilling {
        let zone = try TenantBilling.check(plan: plan, billing: billing, timeZone: timeZone)
        return try writer.write { db in
            let hasAny =
                try Bool.fetchOne(db, sql: "SELECT 1 FROM tenant_billing WHERE tenant = ? LIMIT 1", arguments: [tenant])
                ?? false
            let effective = TenantBilling.effectiveMonth(
                firstChoice: !hasAny, immediately: immediately, now: now, zone: zone)
            try IntegrityChain.billing.append(
                db,
                [
                    "tenant": tenant, "plan": plan.id, "billing": billing.rawValue, "timezone": timeZone,
                    "reopen_window_hours": reopenWindowHours, "effective_month": effective.description,
                    "recorded_at_ms": LedgerEntry.milliseconds(now),
                ])
            return TenantBilling(
                tenant: tenant, plan: plan.id, billing: billing, timeZone: timeZone,
                reopenWindowHours: reopenWindowHours, effectiveMonth: effective.description,
                recordedAt: Date(timeIntervalSince1970: Double(LedgerEntry.milliseconds(now)) / 1000))
        }
    }

    /// The setting in force for `month` (the latest change effective at or before it).
    public func billing(tenant: String, month: BillingMonth) throws -> TenantBilling? {
        TenantBilling.inForce(try billingHistory(tenant: tenant), month: month)
    }

    /// Every recorded change of `tenant`, oldest first.
    public func billingHistory(tenant: String) throws -> [TenantBilling] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tenant_billing WHERE tenant = ? ORDER BY seq", arguments: [tenant])
                .map { try Self.billing($0) }
        }
    }

    /// The base-fee periods of `month` (``TenantBilling/planPeriods(_:month:timeZone:)``).
    public func planPeriods(tenant: String, month: BillingMonth, timeZone: TimeZone) throws -> [(
        plan: String, from: Date
    )] {
        TenantBilling.planPeriods(try billingHistory(tenant: tenant), month: month, timeZone: timeZone)
    }

    static func billing(_ row: Row) throws -> TenantBilling {
        let mode: String = try row.decode(forColumn: "billing")
        guard let billing = BillingMode(rawValue: mode) else {
            throw BillingError.invalidCatalog(
                "a billing change names an unknown billing mode \(mode): the ledger is damaged")
        }
        return TenantBilling(
            tenant: try row.decode(forColumn: "tenant"), plan: try row.decode(forColumn: "plan"), billing: billing,
            timeZone: try row.decode(forColumn: "timezone"),
            reopenWindowHours: try row.decode(forColumn: "reopen_window_hours"),
            effectiveMonth: try row.decode(forColumn: "effective_month"),
            recordedAt: Date(
                timeIntervalSince1970: Double(try row.decode(Int64.self, forColumn: "recorded_at_ms")) / 1000))
    }
}
