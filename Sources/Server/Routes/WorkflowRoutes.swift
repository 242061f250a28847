import Foundation
import HTTPTypes
import Hummingbird
import Metering

/// Workflow runs (query or admin keys: the workflow's runner reports them): start, steps, end,
/// and the recorded run.
struct WorkflowRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("workflow-runs", use: start)
        group.get("workflow-runs/{run_id}", use: show)
        group.post("workflow-runs/{run_id}/steps", use: step)
        group.post("workflow-runs/{run_id}/end", use: end)
    }

    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    static func reply(_ rows: [LedgerEntry], replayed: Bool) -> JSONResponse {
        JSONResponse(
            CascadeService.workflowRunJSON(rows), status: replayed ? .ok : .created,
            headers: replayed ? [replayedHeader: "true"] : [:])
    }

    @Sendable func start(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let tenant = try context.tenant()
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["run_id", "workflow", "user_id"])
        guard let runID = try body.string("run_id", required: true),
            let workflow = try body.string("workflow", required: true)
        else { throw Problem.unprocessable("\"run_id\" and \"workflow\" are required") }
        let (rows, replayed) = try await service.startWorkflowRun(
            tenant: tenant, runID: runID, workflow: workflow, userID: try body.string("user_id"))
        return Self.reply(rows, replayed: replayed)
    }

    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let tenant = try context.tenant()
        let runID = try context.pathID("run_id")
        let rows = try await service.ledger.entries(tenant: tenant, queryID: runID)
        guard rows.first(where: { $0.kind == .query })?.tier == WorkflowRuns.tier else {
            throw Problem.notFound("no workflow run \(runID) for this tenant")
        }
        return JSONResponse(CascadeService.workflowRunJSON(rows))
    }

    @Sendable func step(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let tenant = try context.tenant()
        let runID = try context.pathID("run_id")
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes,
            allowed: ["step_id", "name", "tier", "model", "tokens_in", "tokens_out", "cost", "latency_ms", "status"])
        let step = try Self.step(body)
        do {
            let (row, replayed) = try await service.addWorkflowStep(tenant: tenant, runID: runID, step: step)
            let rows = try await service.ledger.entries(tenant: tenant, queryID: runID)
            var reply = Self.reply(rows, replayed: replayed)
            if case .object(var members) = reply.body {
                members["step_cost"] = .string(Money.string(Money.dollars(micros: row.costMicros)))
                reply.body = .object(members)
            }
            return reply
        } catch LedgerError.unknownQuery {
            throw Problem.notFound("no workflow run \(runID) for this tenant; start it with POST /v1/workflow-runs")
        } catch let error as LedgerError {
            throw Problem.conflict(error.description, code: "run-ended")
        }
    }

    static func step(_ body: JSONObject) throws -> CascadeService.WorkflowStep {
        guard let name = try body.string("name", required: true), let tier = try body.string("tier", required: true)
        else {
            throw Problem.unprocessable("\"name\" and \"tier\" are required")
        }
        var cost: Decimal?
        if let text = try body.string("cost") {
            guard let value = Money.parse(text) else {
                throw Problem.unprocessable("\"cost\" is a decimal string of dollars, like \"0.0042\"")
            }
            cost = value
        }
        let status = try body.string("status") ?? "completed"
        guard ["completed", "failed"].contains(status) else {
            throw Problem.unprocessable("a step's \"status\" is completed or failed")
        }
        return CascadeService.WorkflowStep(
            stepID: try body.string("step_id"), name: name, tier: tier, model: try body.string("model"),
            tokensIn: try body.int("tokens_in") ?? 0, tokensOut: try body.int("tokens_out") ?? 0, cost: cost,
            latencyMs: try body.int("latency_ms") ?? 0, failed: status == "failed")
    }

    @Sendable func end(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let tenant = try context.tenant()
        let runID = try context.pathID("run_id")
        let body = try await BodyReader.object(
            request, limit: WorkflowRuns.maximumOutputBytes + 64 << 10, allowed: ["status", "output", "reason"])
        guard let status = try body.string("status", required: true) else {
            throw Problem.unprocessable("\"status\" is required")
        }
        let (rows, replayed) = try await service.endWorkflowRun(
            tenant: tenant, runID: runID, status: status,
            output: body.members["output"].flatMap { $0 == .null ? nil : $0 },
            reason: try body.string("reason"))
        return Self.reply(rows, replayed: replayed)
    }
}
