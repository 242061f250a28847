import Foundation
import Hummingbird
import Metering

/// A tenant's spend cap and alerts (admin).
struct SpendRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("spend-cap", use: getCap)
        group.put("spend-cap", use: putCap)
        group.delete("spend-cap", use: deleteCap)
        group.get("alerts", use: listAlerts)
        group.post("alerts", use: addAlert)
        group.delete("alerts/{alert_id}", use: removeAlert)
    }

    @Sendable func getCap(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        return JSONResponse(Self.capJSON(try await service.spendControls.spendCap(tenant: key.tenant)))
    }

    /// `{"cap": "200", "mode": "hard", "stops": "llm"}`.
    @Sendable func putCap(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["cap", "mode", "stops"])
        guard let capText = try body.string("cap", required: true) else {
            throw Problem.unprocessable("\"cap\" is required")
        }
        let micros: Int64
        do {
            micros = try SpendCap.parseAmount(capText)
        } catch let error as LedgerError {
            throw Problem.unprocessable("\"cap\": \(error.description)")
        }
        let modeText = try body.string("mode") ?? "soft"
        guard let mode = SpendCap.Mode(rawValue: modeText) else {
            throw Problem.unprocessable("\"mode\" is soft or hard")
        }
        let stopsText = try body.string("stops") ?? "llm"
        guard let stops = SpendCap.Stops(rawValue: stopsText) else {
            throw Problem.unprocessable("\"stops\" is llm or llm_and_rag")
        }
        let cap = SpendCap(capMicros: micros, mode: mode, stops: stops, updatedAt: service.configuration.clock.now())
        try await service.spendControls.setSpendCap(tenant: key.tenant, cap: cap)
        service.spend.invalidate(key.tenant)
        service.spend.scheduleEvaluation(key.tenant)
        return JSONResponse(Self.capJSON(cap))
    }

    @Sendable func deleteCap(_ request: Request, context: APIRequestContext) async throws -> Response {
        let key = try context.require(.admin)
        try await service.spendControls.setSpendCap(tenant: key.tenant, cap: nil)
        service.spend.invalidate(key.tenant)
        return Response(status: .noContent)
    }

    @Sendable func listAlerts(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let alerts = try await service.spendControls.alerts(tenant: key.tenant)
        let states = try await service.spendControls.alertStates(tenant: key.tenant)
        return JSONResponse(["alerts": .array(try alerts.map { try Self.alertJSON($0, states: states) })])
    }

    /// `{"metric": "model_cost", "threshold": "80%", "name": …}`.
    @Sendable func addAlert(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["metric", "threshold", "name"])
        guard let metricText = try body.string("metric", required: true), let metric = AlertMetric(rawValue: metricText)
        else { throw Problem.unprocessable("\"metric\" is model_cost, billed_amount or billable_resolutions") }
        guard let thresholdText = try body.string("threshold", required: true) else {
            throw Problem.unprocessable("\"threshold\" is required")
        }
        let threshold: AlertThreshold
        do {
            threshold = try AlertThreshold.parse(thresholdText, metric: metric)
        } catch let error as LedgerError {
            throw Problem.unprocessable("\"threshold\": \(error.description)")
        }
        let alert = try await service.spendControls.addAlert(
            tenant: key.tenant, metric: metric, threshold: threshold, name: try body.string("name"),
            now: service.configuration.clock.now())
        service.spend.invalidate(key.tenant)
        service.spend.scheduleEvaluation(key.tenant)
        return JSONResponse(try Self.alertJSON(alert, states: []), status: .created)
    }

    @Sendable func removeAlert(_ request: Request, context: APIRequestContext) async throws -> Response {
        let key = try context.require(.admin)
        try await service.spendControls.removeAlert(
            id: try context.pathID("alert_id"), tenant: key.tenant, now: service.configuration.clock.now())
        service.spend.invalidate(key.tenant)
        return Response(status: .noContent)
    }

    static func capJSON(_ cap: SpendCap?) -> JSONValue {
        guard let cap else { return ["spend_cap": .null] }
        return [
            "spend_cap": [
                "cap": .string(Money.string(cap.amount)), "mode": .string(cap.mode.rawValue),
                "stops": .string(cap.stops.rawValue), "metric": "model_cost", "currency": "USD",
                "updated_at": .string(JSONConvention.timestamp(cap.updatedAt)),
            ]
        ]
    }

    static func alertJSON(_ alert: SpendAlert, states: [AlertState]) throws -> JSONValue {
        let mine = states.filter { $0.alertID == alert.id }
        let alarm = mine.last { $0.inAlarm }
        return [
            "id": .string(alert.id), "tenant": .string(alert.tenant), "metric": .string(alert.metric.rawValue),
            "threshold": .string(alert.threshold.text(metric: alert.metric)), "name": .string(alert.name),
            "created_at": .string(JSONConvention.timestamp(alert.createdAt)),
            "in_alarm": .bool(alarm != nil),
            "in_alarm_since": .string(alarm.map { JSONConvention.timestamp($0.triggeredAt) }),
            "history": .array(try mine.map { try JSONValue.encoding($0) }),
        ]
    }
}
