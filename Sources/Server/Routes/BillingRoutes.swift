import Foundation
import Hummingbird
import Metering

/// Usage reports and invoices (admin).
struct BillingRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("usage", use: usage)
        group.get("invoices", use: invoices)
        group.get("invoices/{month}", use: invoice)
    }

    /// The month (`?month=YYYY-MM`, default the current month in the tenant's time zone).
    private func month(_ text: String?, tenant: String) async throws -> BillingMonth {
        if let text {
            do {
                return try BillingMonth(text)
            } catch {
                throw Problem.unprocessable("month must look like 2026-11 (got \(text.prefix(20)))")
            }
        }
        let zone =
            try await service.ledger.billingHistory(tenant: tenant).last?.zone ?? TimeZone(identifier: "UTC") ?? .gmt
        return BillingMonth.containing(service.configuration.clock.now(), in: zone)
    }

    private func statement(tenant: String, month: BillingMonth) async throws -> BillingStatement {
        do {
            return try await BillingStatement.compute(
                ledger: service.ledger, catalog: try service.planCatalog(), tenant: tenant,
                month: month)
        } catch let error as BillingError {
            throw Problem.conflict(error.description, code: "no-billing-settings")
        }
    }

    @Sendable func usage(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let chosen = try await month(request.uri.queryParameters.get("month"), tenant: key.tenant)
        let statement = try await statement(tenant: key.tenant, month: chosen)
        let report = UsageReport(usage: statement.usage, invoice: statement.invoice)
        guard case .object(var members) = Presenter.report(report, currency: statement.invoice.currency) else {
            throw Problem.internalError
        }
        // Where the month stands against the spend cap (null without one); the projection is
        // for the month in progress only.
        let zone = statement.setting.zone
        let current = BillingMonth.containing(service.configuration.clock.now(), in: zone) == chosen
        let status = try await service.spend.status(
            tenant: key.tenant,
            usage: SpendUsage(
                month: chosen.description, modelCostMicros: report.totalCostMicros, billedAmount: nil,
                billableResolutions: report.billableResolutions), current: current, zone: zone)
        members["spend_cap"] = try status.map { try JSONValue.fromJSONObject($0.json) } ?? .null
        let alerts = try await service.spendControls.alerts(tenant: key.tenant)
        let states = try await service.spendControls.alertStates(tenant: key.tenant)
        members["alerts_in_alarm"] = .array(
            alerts.filter { alert in states.contains { $0.alertID == alert.id && $0.inAlarm } }.map { .string($0.id) })
        return JSONResponse(.object(members))
    }

    @Sendable func invoice(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let chosen = try await month(context.parameters.get("month"), tenant: key.tenant)
        let invoice = try await statement(tenant: key.tenant, month: chosen).invoice
        guard invoice.status != BillingStatement.noPlanStatus else {
            // Usage is reported without a plan; an invoice needs one.
            throw Problem.conflict(
                "tenant \(key.tenant) has no plan in \(chosen): there is no invoice (set one with `cascade tenants set`)",
                code: "no-plan")
        }
        return JSONResponse(Presenter.invoice(invoice))
    }

    /// The tenant's finalized invoices, oldest first.
    @Sendable func invoices(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let finals = try await service.ledger.finalInvoices(tenant: key.tenant)
        return JSONResponse(["invoices": .array(finals.map(Presenter.invoice))])
    }
}
