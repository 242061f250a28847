import Cascade
import Foundation
import HTTPTypes
import Metering

/// Workflow runs (`/v1/workflow-runs`, the MCP tool `record_workflow_run`): the one path both take,
/// so they record, replay and check alike. See ``WorkflowRuns`` for the rows.
extension CascadeService {
    /// A step as reported by the workflow's runner.
    struct WorkflowStep: Sendable {
        var stepID: String?
        var name: String
        var tier: String
        var model: String?
        var tokensIn: Int
        var tokensOut: Int
        /// Reported cost in dollars; nil prices the tokens by the model's price.
        var cost: Decimal?
        var latencyMs: Int
        var failed: Bool
    }

    static let stepTiers: Set<String> = ["rule", "rag", "llm", "tool", "human", "other"]

    /// Starts a run; a start with a recorded run id returns the recorded run (`replayed`), a
    /// start with the id of a question or of a run of another workflow is a 409.
    func startWorkflowRun(tenant: String, runID: String, workflow: String, userID: String?) async throws -> (
        rows: [LedgerEntry], replayed: Bool
    ) {
        guard let runID = try Identifier.validate(runID, field: "run_id") else {
            throw Problem.unprocessable("\"run_id\" is required")
        }
        let userID = try Identifier.validate(userID, field: "user_id")
        do {
            try WorkflowRuns.checkName(workflow)
        } catch let error as LedgerError {
            throw Problem.unprocessable("\"workflow\": \(error.description)")
        }
        let row = WorkflowRuns.startRow(
            tenant: tenant, runID: runID, workflow: workflow, userID: userID, at: configuration.clock.now())
        switch try await ledger.record(query: row, attempts: [], now: configuration.clock.now()) {
        case .recorded(let rows): return (rows, false)
        case .duplicate(let rows):
            guard let stored = rows.first(where: { $0.kind == .query }), stored.tier == WorkflowRuns.tier,
                stored.question == workflow
            else {
                throw Problem.conflict(
                    "id \(runID) is already used by \(rows.first?.tier == WorkflowRuns.tier ? "a run of another workflow" : "a question"); use a new run id",
                    code: "idempotency-conflict")
            }
            return (rows, true)
        }
    }

    /// Records a step of a running run (metered like a tier's attempt).
    func addWorkflowStep(tenant: String, runID: String, step: WorkflowStep) async throws -> (
        row: LedgerEntry, replayed: Bool
    ) {
        guard Self.stepTiers.contains(step.tier) else {
            throw Problem.unprocessable("\"tier\" is one of \(Self.stepTiers.sorted().joined(separator: ", "))")
        }
        guard step.tokensIn >= 0, step.tokensOut >= 0, step.latencyMs >= 0, step.tokensIn <= 100_000_000,
            step.tokensOut <= 100_000_000
        else { throw Problem.unprocessable("tokens and latency are whole numbers ≥ 0") }
        let stepID = try Identifier.validate(step.stepID, field: "step_id")
        guard !step.name.isEmpty, step.name.count <= 200,
            !step.name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw Problem.unprocessable("\"name\" is 1 to 200 characters, without control characters") }
        let model = try Identifier.validate(step.model, field: "model")
        let costMicros: Int64
        var priced = true
        if let cost = step.cost {
            guard cost >= 0, cost <= 1_000_000 else {
                throw Problem.unprocessable("\"cost\" is between 0 and 1000000 dollars")
            }
            costMicros = Int64(truncating: NSDecimalNumber(decimal: (cost * 1_000_000).rounded(scale: 0, .up)))
        } else if let model {
            let pricing = try workflowPricing(tenant: tenant)
            priced = pricing.prices[model] != nil
            costMicros = pricing.costMicros(model: model, tokensIn: step.tokensIn, tokensOut: step.tokensOut)
        } else {
            costMicros = 0
        }
        var note = "step \(step.name)" + (model.map { " · model \($0)" } ?? "")
        if !priced, let model { note += "; model \(model) \(MonthlyUsage.unpricedModelNote)" }
        let row = LedgerEntry(
            kind: .attempt, queryID: runID, tenant: tenant, conversationID: stepID, tier: step.tier,
            outcome: step.failed ? "failed" : "completed", costMicros: costMicros, tokensIn: step.tokensIn,
            tokensOut: step.tokensOut, latencyMs: step.latencyMs, occurredAt: configuration.clock.now(), note: note)
        return try await ledger.appendWorkflowStep(row, now: configuration.clock.now())
    }

    /// Ends a run. `succeeded` is checked against the workflow's declared output schema: an
    /// output that fails it ends the run as `failed_check` (not billable). The same end again
    /// returns the recorded one (`replayed`); another end is a 409.
    func endWorkflowRun(tenant: String, runID: String, status: String, output: JSONValue?, reason: String?) async throws
        -> (rows: [LedgerEntry], replayed: Bool)
    {
        guard let requested = WorkflowOutcome(rawValue: status), requested != .failedCheck else {
            throw Problem.unprocessable("\"status\" is succeeded, failed or handed_off")
        }
        if let reason, reason.count > 2000 || reason.unicodeScalars.contains("\u{0}") {
            throw Problem.unprocessable("\"reason\" is at most 2,000 characters, without NUL characters")
        }
        let outputText = output.map(\.serialized)
        if let outputText, outputText.utf8.count > WorkflowRuns.maximumOutputBytes {
            throw Problem.unprocessable("\"output\" is larger than \(WorkflowRuns.maximumOutputBytes / 1024) KB")
        }
        let rows = try await ledger.entries(tenant: tenant, queryID: runID)
        guard let run = rows.first(where: { $0.kind == .query }), run.tier == WorkflowRuns.tier else {
            throw Problem.notFound("no workflow run \(runID) for this tenant")
        }
        var outcome = requested
        var note = reason
        if requested == .succeeded {
            let check: OutputSchema?
            do {
                check = try TenantConfiguration.load(tenant: tenant, directory: configuration.data.tenantsDirectory)
                    .workflows?[run.question ?? ""]?.check()
            } catch {
                throw Problem(
                    .serviceUnavailable, code: "tenant-misconfigured", title: "Tenant settings unusable",
                    detail: "the workflow's settings cannot be loaded, so the run's output cannot be checked: \(error)")
            }
            if let check {
                guard let output else {
                    throw Problem.unprocessable(
                        "a successful run of \(run.question ?? "") has an output to check: send \"output\"")
                }
                if let failure = check.failure(of: output.foundationValue) {
                    outcome = .failedCheck
                    note = "output_schema check failed: \(failure)"
                } else {
                    note = "output_schema check passed"
                }
            } else {
                note = "no output check declared for \(run.question ?? "")"
            }
        }
        if let ended = rows.first(where: { $0.kind == .correction && WorkflowOutcome(rawValue: $0.outcome) != nil }) {
            guard ended.outcome == outcome.rawValue, ended.answer == outputText else {
                throw Problem.conflict(
                    "workflow run \(runID) already ended (\(ended.outcome)); its end cannot change", code: "run-ended")
            }
            return (rows, true)
        }
        _ = try await ledger.correct(
            tenant: tenant, queryID: runID, outcome: outcome.rawValue, answer: outputText, note: note,
            now: configuration.clock.now())
        return (try await ledger.entries(tenant: tenant, queryID: runID), false)
    }

    /// The model prices steps are metered with: the built-in table and the tenant's own LLM price.
    func workflowPricing(tenant: String) throws -> Pricing {
        var pricing = Pricing.standard
        if let llm = try? TenantConfiguration.load(tenant: tenant, directory: configuration.data.tenantsDirectory).llm,
            let price = llm.price
        {
            pricing.prices[llm.model] = price
        }
        return pricing
    }

    /// A run as the API shows it.
    static func workflowRunJSON(_ rows: [LedgerEntry]) -> JSONValue {
        guard let run = rows.first(where: { $0.kind == .query }) else { return .null }
        let steps = rows.filter { $0.kind == .attempt }
        let end = rows.first { $0.kind == .correction && WorkflowOutcome(rawValue: $0.outcome) != nil }
        let outcome = end.flatMap { WorkflowOutcome(rawValue: $0.outcome) }
        let cost = steps.reduce(Int64(0)) { $0 + $1.costMicros }
        let output: JSONValue = end?.answer.flatMap { try? JSONValue.parse(Data($0.utf8)) } ?? .null
        return [
            "run_id": .string(run.queryID), "tenant": .string(run.tenant), "workflow": .string(run.question),
            "user_id": .string(run.userID), "status": .string(outcome?.rawValue ?? WorkflowRuns.running),
            "billable": .bool(outcome?.billable ?? false),
            "started_at": .string(JSONConvention.timestamp(run.occurredAt)),
            "ended_at": .string(end.map { JSONConvention.timestamp($0.occurredAt) }), "check": .string(end?.note),
            "output": output, "cost_micros": .int(Int(cost)),
            "cost": .string(Money.string(Money.dollars(micros: cost))),
            "currency": "USD",
            "steps": .array(
                steps.map { step in
                    [
                        "step_id": .string(step.conversationID), "tier": .string(step.tier),
                        "outcome": .string(step.outcome),
                        "note": .string(step.note), "tokens_in": .int(step.tokensIn),
                        "tokens_out": .int(step.tokensOut),
                        "latency_ms": .int(step.latencyMs), "cost_micros": .int(Int(step.costMicros)),
                        "cost": .string(Money.string(Money.dollars(micros: step.costMicros))),
                        "recorded_at": .string(JSONConvention.timestamp(step.recordedAt)),
                    ]
                }),
        ]
    }
}

extension Decimal {
    /// Rounded to `scale` decimal places.
    func rounded(scale: Int, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, scale, mode)
        return result
    }
}
