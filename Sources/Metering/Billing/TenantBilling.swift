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

    enum CodingKeys: String, CodingKey {
        case tenant, plan, billing
        case timeZone = "timezone"
        case reopenWindowHours = "reopen_window_hours"
        case effectiveMonth = "effective_month"
    }

    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }
}

extension Ledger {
    /// Records a billing change for `tenant`; returns the stored setting with its effective month.
    @discardableResult
    public func setBilling(
        tenant: String, plan: Plan, billing: BillingMode, timeZone: String, reopenWindowHours: Int = 72,
        now: Date = Date()
    ) throws -> TenantBilling {
        guard let zone = TimeZone(identifier: timeZone) else { throw BillingError.invalidTimeZone(timeZone) }
        guard plan.billingModes.contains(billing) else {
            throw BillingError.modeNotOffered(plan: plan.id, mode: billing.rawValue)
        }
        return try writer.write { db in
            let hasAny =
                try Bool.fetchOne(db, sql: "SELECT 1 FROM tenant_billing WHERE tenant = ? LIMIT 1", arguments: [tenant])
                ?? false
            let current = BillingMonth.containing(now, in: zone)
            let effective = hasAny ? current.next : current
            try db.execute(
                sql: """
                    INSERT INTO tenant_billing(tenant, plan, billing, timezone, reopen_window_hours, effective_month, recorded_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    tenant, plan.id, billing.rawValue, timeZone, reopenWindowHours, effective.description,
                    LedgerEntry.milliseconds(now),
                ])
            return TenantBilling(
                tenant: tenant, plan: plan.id, billing: billing, timeZone: timeZone,
                reopenWindowHours: reopenWindowHours,
                effectiveMonth: effective.description)
        }
    }

    /// The setting in force for `month` (the latest change effective at or before it).
    public func billing(tenant: String, month: BillingMonth) throws -> TenantBilling? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM tenant_billing WHERE tenant = ? AND effective_month <= ?
                    ORDER BY effective_month DESC, seq DESC LIMIT 1
                    """, arguments: [tenant, month.description]
            ).map(Self.billing)
        }
    }

    /// Every recorded change of `tenant`, oldest first.
    public func billingHistory(tenant: String) throws -> [TenantBilling] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tenant_billing WHERE tenant = ? ORDER BY seq", arguments: [tenant])
                .map(Self.billing)
        }
    }

    /// When the tenant's first billing choice was recorded (the start of its first, prorated month).
    public func firstBillingDate(tenant: String) throws -> Date? {
        try writer.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT recorded_at_ms FROM tenant_billing WHERE tenant = ? ORDER BY seq LIMIT 1",
                arguments: [tenant]
            ).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
    }

    static func billing(_ row: Row) -> TenantBilling {
        TenantBilling(
            tenant: row["tenant"], plan: row["plan"], billing: BillingMode(rawValue: row["billing"]) ?? .resolution,
            timeZone: row["timezone"], reopenWindowHours: row["reopen_window_hours"],
            effectiveMonth: row["effective_month"])
    }
}
