import Foundation
import GRDB

/// The months of one tenant whose invoice is final, as intervals in the time zone each was billed
/// in: a late row (a backfill) dated inside one would change the month's report but not its
/// invoice, and no later invoice would bill it, so it is refused.
public struct FinalizedMonths: Sendable {
    public let tenant: String
    private var intervals: [(month: String, start: Date, end: Date)] = []

    init(_ db: Database, tenant: String) throws {
        var months: [(month: String, timezone: String?)] = []
        for month in try String.fetchAll(
            db, sql: "SELECT month FROM final_invoice WHERE tenant = ?", arguments: [tenant])
        {
            let zoneID =
                try String.fetchOne(
                    db,
                    sql: """
                        SELECT timezone FROM tenant_billing WHERE tenant = ? AND effective_month <= ?
                        ORDER BY effective_month DESC, seq DESC LIMIT 1
                        """, arguments: [tenant, month])
                ?? String.fetchOne(
                    db, sql: "SELECT timezone FROM tenant_billing WHERE tenant = ? ORDER BY seq LIMIT 1",
                    arguments: [tenant])
            months.append((month, zoneID))
        }
        self.init(tenant: tenant, months: months)
    }

    /// The finalized months of `tenant`, each with the time zone it was billed in (the tenant's
    /// setting in effect that month; UTC when none), as any backend reads them.
    public init(tenant: String, months: [(month: String, timezone: String?)]) {
        self.tenant = tenant
        for (month, zoneID) in months {
            guard let billingMonth = try? BillingMonth(month) else { continue }
            let zone = zoneID.flatMap { TimeZone(identifier: $0) } ?? TimeZone(identifier: "UTC")!
            let (start, end) = billingMonth.interval(in: zone)
            intervals.append((month, start, end))
        }
    }

    public func check(_ occurredAt: Date) throws {
        if let hit = intervals.first(where: { occurredAt >= $0.start && occurredAt < $0.end }) {
            throw LedgerError.monthFinalized(tenant: tenant, month: hit.month, occurredAt: occurredAt)
        }
    }
}
