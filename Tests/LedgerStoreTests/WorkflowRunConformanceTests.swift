import Foundation
import Metering
import Testing

/// Workflow runs on every backend: a start recorded once per run id, steps metered like attempts
/// (a retried step once), one end, on the tenant's hash chain; billing prices successful runs per
/// workflow and never charges failed checks, failures or hand-offs.
@Suite("Workflow runs on every backend")
struct WorkflowRunConformanceTests {
    static func step(_ runID: String, _ stepID: String, cost: Int64, tier: String = "llm") -> LedgerEntry {
        LedgerEntry(
            kind: .attempt, queryID: runID, tenant: "acme", conversationID: stepID, tier: tier, outcome: "completed",
            costMicros: cost, tokensIn: 100, tokensOut: 20, occurredAt: Date(), note: "step \(stepID)")
    }

    @Test(
        "a run is started once, its steps are metered once each, it ends once, and the chain holds",
        arguments: Backend.allCases)
    func runLifecycle(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let store = h.store
            let now = Date()
            let hooks = try #require(store as? any WebhookStore)
            _ = try await hooks.addEndpoint(
                tenant: "acme", url: "https://ops.example.com/in", eventTypes: [.workflowRunCompleted],
                description: nil,
                now: now)
            let start = WorkflowRuns.startRow(
                tenant: "acme", runID: "run-1", workflow: "refund-approval", userID: nil, at: now)
            guard case .recorded = try await store.record(query: start, attempts: [], now: now) else {
                Issue.record("the first start was not recorded")
                return
            }
            guard case .duplicate = try await store.record(query: start, attempts: [], now: now) else {
                Issue.record("a retried start was recorded twice")
                return
            }
            let first = try await store.appendWorkflowStep(Self.step("run-1", "s1", cost: 1_500), now: now)
            #expect(!first.replayed && first.row.question == "refund-approval")
            let again = try await store.appendWorkflowStep(Self.step("run-1", "s1", cost: 1_500), now: now)
            #expect(again.replayed && again.row.sequence == first.row.sequence)
            _ = try await store.appendWorkflowStep(Self.step("run-1", "s2", cost: 500, tier: "tool"), now: now)
            // Steps of a run that does not exist, or of a question, are refused.
            await #expect(throws: LedgerError.self) {
                try await store.appendWorkflowStep(Self.step("nope", "s1", cost: 1), now: now)
            }
            _ = try await store.record(query: query("q1"), attempts: [], now: now)
            await #expect(throws: LedgerError.self) {
                try await store.appendWorkflowStep(Self.step("q1", "s1", cost: 1), now: now)
            }
            // Chat corrections do not apply to runs, and run ends do not apply to questions.
            await #expect(throws: LedgerError.self) {
                try await store.correct(
                    tenant: "acme", queryID: "run-1", outcome: "voided", answer: nil, note: nil, now: now)
            }
            await #expect(throws: LedgerError.self) {
                try await store.correct(
                    tenant: "acme", queryID: "q1", outcome: "succeeded", answer: nil, note: nil, now: now)
            }
            let end = try await store.correct(
                tenant: "acme", queryID: "run-1", outcome: "succeeded", answer: #"{"decision":"approve"}"#,
                note: "output_schema check passed", now: now)
            #expect(end.question == "refund-approval" && end.tier == WorkflowRuns.tier)
            await #expect(throws: LedgerError.self) {
                try await store.correct(
                    tenant: "acme", queryID: "run-1", outcome: "failed", answer: nil, note: nil, now: now)
            }
            await #expect(throws: LedgerError.self) {
                try await store.appendWorkflowStep(Self.step("run-1", "s3", cost: 1), now: now)
            }
            let rows = try await store.entries(tenant: "acme", queryID: "run-1")
            #expect(rows.map(\.kind) == [.query, .attempt, .attempt, .correction])
            #expect(try await store.verifyChains(tenant: "acme").ok)
            // A run is not a question: not an escalation either.
            #expect(try await store.openEscalations(tenant: "acme").isEmpty)

            let claimed = try await hooks.claimDeliveries(owner: "a", limit: 10, lease: 60, now: now)
            #expect(claimed.map(\.event.type) == [.workflowRunCompleted])
            let body = try #require(try JSONSerialization.jsonObject(with: claimed[0].event.body) as? [String: Any])
            let data = try #require(body["data"] as? [String: Any])
            #expect(data["run_id"] as? String == "run-1" && data["workflow"] as? String == "refund-approval")
            #expect(data["status"] as? String == "succeeded" && data["billable"] as? Bool == true)
            #expect((data["output"] as? [String: Any])?["decision"] as? String == "approve")
        }
    }

    @Test(
        "successful runs are priced per workflow with included runs and tiers; failed checks, failures and hand-offs never",
        arguments: Backend.allCases)
    func billing(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let store = h.store
            let now = Date()
            let catalog = try PlanCatalog.parse(
                """
                plans:
                  - id: flows
                    name: Flows
                    base_fee: "10"
                    billing: [resolution]
                    resolution_price: "1.00"
                    workflows:
                      refund-approval:
                        included_runs: 2
                        run_tiers:
                          - { up_to: 4, price: "0.50" }
                          - { price: "0.25" }
                """, source: "test")
            let plan = try #require(catalog.plan("flows"))
            _ = try await store.setBilling(
                tenant: "acme", plan: plan, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                immediately: true, now: now)
            // 6 successful refund approvals (one started twice), 1 failing its check, 1 failed,
            // 1 handed off; 2 successful runs of a workflow the plan has no price for; 1 question.
            let outcomes: [(String, String, String)] =
                (1...6).map { ("r\($0)", "refund-approval", "succeeded") } + [
                    ("r7", "refund-approval", "failed_check"), ("r8", "refund-approval", "failed"),
                    ("r9", "refund-approval", "handed_off"), ("k1", "kyc", "succeeded"), ("k2", "kyc", "succeeded"),
                ]
            for (id, workflow, outcome) in outcomes {
                let start = WorkflowRuns.startRow(tenant: "acme", runID: id, workflow: workflow, userID: nil, at: now)
                _ = try await store.record(query: start, attempts: [], now: now)
                _ = try await store.record(query: start, attempts: [], now: now)
                _ = try await store.appendWorkflowStep(Self.step(id, "s1", cost: 1_000), now: now)
                _ = try await store.correct(
                    tenant: "acme", queryID: id, outcome: outcome, answer: "{}", note: nil, now: now)
            }
            _ = try await store.record(query: query("q1"), attempts: [], now: now)
            let month = BillingMonth.containing(now, in: TimeZone(identifier: "UTC")!)
            let statement = try await BillingStatement.compute(
                ledger: store, catalog: catalog, tenant: "acme", month: month)
            let lines = statement.invoice.lines
            func line(_ kind: String, _ workflow: String) -> Invoice.Line? {
                lines.first { $0.kind == kind && $0.description.contains(workflow) }
            }
            #expect(line("included_workflow_runs", "refund-approval")?.queryIDs == ["r1", "r2"])
            let tiered = lines.filter { $0.kind == "workflow_runs" }
            #expect(tiered.map(\.quantity) == [2, 2])
            #expect(tiered.map(\.unitPrice) == [Decimal(string: "0.50")!, Decimal(string: "0.25")!])
            #expect(line("workflow_runs_failed_check", "refund-approval")?.queryIDs == ["r7"])
            #expect(line("workflow_runs_failed", "refund-approval")?.amount == 0)
            #expect(line("workflow_runs_handed_off", "refund-approval")?.queryIDs == ["r9"])
            let unpriced = try #require(line("workflow_runs_unpriced", "kyc"))
            #expect(unpriced.quantity == 2 && unpriced.amount == 0)
            // The base fee (prorated from today) + the question's 1.00 + runs 2 × 0.50 + 2 × 0.25.
            let base = lines.filter { $0.kind == "base_fee" }.reduce(Decimal(0)) { $0 + $1.amount }
            #expect(statement.invoice.total == base + Decimal(string: "2.50")!)
            let report = UsageReport(usage: statement.usage, invoice: statement.invoice)
            #expect(report.queries == 1, "runs are not counted as questions")
            let refund = try #require(report.workflows.first { $0.workflow == "refund-approval" })
            #expect(refund.runs == 9 && refund.succeeded == 6 && refund.failedCheck == 1 && refund.handedOff == 1)
            #expect(refund.costMicros == 9_000)
            #expect(report.workflowCharge == Decimal(string: "1.50")!)
        }
    }
}
