import Foundation

/// A tenant's month as finance sees it: the usage, the invoice (the stored final one once the
/// month is finalized, else a preview with any credits owed) and the billing settings in force.
/// The CLI's `report`/`invoice`/`simulate` and the service's usage and invoice routes share it.
public struct BillingStatement: Sendable {
    /// The status of the invoice of a month before the tenant's first plan (nothing to invoice,
    /// and nothing that can be finalized).
    public static let noPlanStatus = "no plan yet"

    public var usage: MonthlyUsage
    public var invoice: Invoice
    public var setting: TenantBilling

    /// Usage and invoice of `month`, on the tenant's plan or on `override`.
    public static func compute(
        ledger: any LedgerStore, catalog: PlanCatalog, tenant: String, month: BillingMonth,
        override: (plan: String, billing: BillingMode)? = nil
    ) async throws -> BillingStatement {
        // Usage is reported without a plan (the invoice needs one, usage does not): a tenant
        // with no billing settings yet is read in UTC with the default reopen window.
        let history = try await ledger.billingHistory(tenant: tenant)
        let inForce = TenantBilling.inForce(history, month: month)
        let stored = inForce ?? history.first
        let setting =
            stored
            ?? TenantBilling(
                tenant: tenant, plan: "", billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                effectiveMonth: "", recordedAt: .distantPast)
        if stored == nil && override == nil {
            let (start, end) = month.interval(in: setting.zone)
            let usage = MonthlyUsage(
                tenant: tenant, month: month,
                entries: try await ledger.billingEntries(tenant: tenant, from: start, to: end),
                timeZone: setting.zone, reopenWindowHours: setting.reopenWindowHours)
            let empty = Invoice(
                tenant: tenant, month: month.description, plan: "", billing: setting.billing, status: noPlanStatus,
                lines: [], total: 0)
            return BillingStatement(usage: usage, invoice: empty, setting: setting)
        }
        let planID = override?.plan ?? setting.plan
        guard let plan = catalog.plan(planID) else {
            throw BillingError.unknownPlan(planID, known: catalog.plans.map(\.id))
        }
        let billing = override?.billing ?? setting.billing
        let (start, end) = month.interval(in: setting.zone)
        let entries = try await ledger.billingEntries(tenant: tenant, from: start, to: end)
        let usage = MonthlyUsage(
            tenant: tenant, month: month, entries: entries, timeZone: setting.zone,
            reopenWindowHours: setting.reopenWindowHours)
        // Base-fee periods: a first plan or an immediate change inside the month is prorated by day.
        var periods: [(Plan, Date)] = []
        for period in TenantBilling.planPeriods(history, month: month, timeZone: setting.zone) {
            guard let periodPlan = catalog.plan(period.plan) else {
                throw BillingError.unknownPlan(period.plan, known: catalog.plans.map(\.id))
            }
            periods.append((override == nil ? periodPlan : plan, period.from))
        }
        let finals = try await ledger.finalInvoices(tenant: tenant)
        if override == nil, let final = finals.first(where: { $0.month == month.description }) {
            return BillingStatement(usage: usage, invoice: final, setting: setting)  // a final invoice never changes
        }
        if periods.isEmpty {
            guard override != nil || inForce != nil else {
                // Before the tenant's first plan: nothing to invoice.
                let empty = Invoice(
                    tenant: tenant, month: month.description, plan: setting.plan, billing: setting.billing,
                    status: noPlanStatus, lines: [], total: 0)
                return BillingStatement(usage: usage, invoice: empty, setting: setting)
            }
            periods = [(plan, start)]
        }
        var invoice = Invoice.compute(
            usage: usage, plan: plan, billing: billing, timeZone: setting.zone, basePeriods: periods)
        if !finals.isEmpty {
            invoice.apply(
                credits: Invoice.credits(
                    for: month, finals: finals, entries: try await ledger.entries(tenant: tenant, since: nil),
                    reopenWindowHours: setting.reopenWindowHours))
        }
        return BillingStatement(usage: usage, invoice: invoice, setting: setting)
    }
}
