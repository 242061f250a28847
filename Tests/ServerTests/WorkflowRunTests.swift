import Foundation
import HTTPTypes
import Metering
import Server
import TestSupport
import Testing

/// Workflow runs over HTTP: start (idempotent by run id), steps, an end checked against the
/// workflow's output schema, and what usage and the invoice show.
@Suite("Workflow runs over HTTP")
struct WorkflowRunTests {
    static let settings = """
        workflows:
          refund-approval:
            description: Approves or declines a refund request
            output_schema:
              type: object
              required: [decision, amount]
              additionalProperties: false
              properties:
                decision: { enum: [approve, decline] }
                amount: { type: number, minimum: 0 }
        """

    static let plans = """
        plans:
          - id: flows
            name: Flows
            base_fee: "0"
            billing: [resolution]
            resolution_price: "1.00"
            workflows:
              refund-approval: { per_successful_run: "0.40", included_runs: 1 }
        """

    @Test("a run is started once, metered step by step, checked at its end, and billed only when its output passes")
    func runsOverHTTP() async throws {
        let fixture = try await ServiceFixture.make()
        try fixture.directory.write("data/tenants/acme.yaml", Self.settings)
        try fixture.directory.write("data/plans.yaml", Self.plans)
        try await fixture.run { api in
            let start = #"{"run_id": "run-1", "workflow": "refund-approval", "user_id": "agent-7"}"#
            let first = try await api.call(.post, "/v1/workflow-runs", as: "acme.query", body: start)
            #expect(first.status == .created && first.json["status"] as? String == "running")
            let retry = try await api.call(.post, "/v1/workflow-runs", as: "acme.query", body: start)
            #expect(retry.status == .ok && retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let other = try await api.call(
                .post, "/v1/workflow-runs", as: "acme.query", body: #"{"run_id": "run-1", "workflow": "kyc"}"#)
            #expect(other.status == .conflict)
            #expect(
                try await api.call(
                    .post, "/v1/workflow-runs", as: "acme.query", body: #"{"run_id": "x", "workflow": "a b"}"#
                )
                .status == .unprocessableContent)

            // Steps: priced by model (gpt-4o-mini: 1000 in + 200 out = 0.00015 + 0.00012), or as reported.
            let step = try await api.call(
                .post, "/v1/workflow-runs/run-1/steps", as: "acme.query",
                body:
                    #"{"step_id": "s1", "name": "classify", "tier": "llm", "model": "gpt-4o-mini", "tokens_in": 1000, "tokens_out": 200}"#
            )
            #expect(step.status == .created && step.json["step_cost"] as? String == "0.00027")
            let stepAgain = try await api.call(
                .post, "/v1/workflow-runs/run-1/steps", as: "acme.query",
                body:
                    #"{"step_id": "s1", "name": "classify", "tier": "llm", "model": "gpt-4o-mini", "tokens_in": 1000, "tokens_out": 200}"#
            )
            #expect(stepAgain.status == .ok, "a retried step is recorded once")
            _ = try await api.call(
                .post, "/v1/workflow-runs/run-1/steps", as: "acme.query",
                body: #"{"step_id": "s2", "name": "lookup order", "tier": "tool", "cost": "0.001"}"#)
            #expect(
                try await api.call(
                    .post, "/v1/workflow-runs/run-1/steps", as: "acme.query", body: #"{"name": "x", "tier": "magic"}"#
                ).status == .unprocessableContent)
            #expect(
                try await api.call(
                    .post, "/v1/workflow-runs/nope/steps", as: "acme.query", body: #"{"name": "x", "tier": "llm"}"#
                )
                .status == .notFound)

            // Succeeded, and the output passes the check: billable.
            let end = try await api.call(
                .post, "/v1/workflow-runs/run-1/end", as: "acme.query",
                body: #"{"status": "succeeded", "output": {"decision": "approve", "amount": 42.5}}"#)
            #expect(end.status == .created)
            #expect(end.json["status"] as? String == "succeeded" && end.json["billable"] as? Bool == true)
            #expect(end.json["check"] as? String == "output_schema check passed")
            #expect((end.json["steps"] as? [Any])?.count == 2 && end.json["cost"] as? String == "0.00127")
            let endAgain = try await api.call(
                .post, "/v1/workflow-runs/run-1/end", as: "acme.query",
                body: #"{"status": "succeeded", "output": {"decision": "approve", "amount": 42.5}}"#)
            #expect(endAgain.status == .ok)
            #expect(
                try await api.call(
                    .post, "/v1/workflow-runs/run-1/end", as: "acme.query", body: #"{"status": "failed"}"#
                )
                .status == .conflict)
            #expect(
                try await api.call(
                    .post, "/v1/workflow-runs/run-1/steps", as: "acme.query", body: #"{"name": "late", "tier": "llm"}"#
                ).status == .conflict)

            // Reported successful, but the output fails the check: not billable, and says why.
            for (id, output) in [
                ("run-2", #"{"decision": "maybe", "amount": 1}"#), ("run-3", #"{"decision": "approve", "amount": 3}"#),
            ] {
                _ = try await api.call(
                    .post, "/v1/workflow-runs", as: "acme.query",
                    body: #"{"run_id": "\#(id)", "workflow": "refund-approval"}"#)
                let ended = try await api.call(
                    .post, "/v1/workflow-runs/\(id)/end", as: "acme.query",
                    body: #"{"status": "succeeded", "output": \#(output)}"#)
                #expect(ended.status == .created)
            }
            let failed = try await api.call(.get, "/v1/workflow-runs/run-2", as: "acme.query").json
            #expect(failed["status"] as? String == "failed_check" && failed["billable"] as? Bool == false)
            #expect((failed["check"] as? String)?.contains("$.decision") == true)
            // A person took over: never billable.
            _ = try await api.call(
                .post, "/v1/workflow-runs", as: "acme.query",
                body: #"{"run_id": "run-4", "workflow": "refund-approval"}"#)
            let handed = try await api.call(
                .post, "/v1/workflow-runs/run-4/end", as: "acme.query",
                body: #"{"status": "handed_off", "reason": "VIP customer"}"#)
            #expect(handed.json["billable"] as? Bool == false)

            // Another tenant sees none of it.
            #expect(try await api.call(.get, "/v1/workflow-runs/run-1", as: "beta.query").status == .notFound)
            #expect(
                try await api.call(
                    .post, "/v1/workflow-runs/run-1/end", as: "beta.query", body: #"{"status": "failed"}"#
                )
                .status == .notFound)

            // Usage and the invoice: runs by workflow beside the questions.
            _ = try await api.call(
                .post, "/v1/workflow-runs", as: "acme.query",
                body: #"{"run_id": "run-5", "workflow": "refund-approval"}"#)
            _ = try await api.call(
                .post, "/v1/workflow-runs/run-5/end", as: "acme.query",
                body: #"{"status": "succeeded", "output": {"decision": "decline", "amount": 0}}"#)
            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin").json
            let summary = try #require((usage["workflows"] as? [[String: Any]])?.first)
            #expect(summary["workflow"] as? String == "refund-approval")
            #expect(
                summary["runs"] as? Int == 5 && summary["succeeded"] as? Int == 3
                    && summary["failed_check"] as? Int == 1)
            #expect(summary["handed_off"] as? Int == 1 && summary["cost"] as? String == "0.00127")
            #expect(usage["queries"] as? Int == 0, "runs are not questions")

            // On a plan that prices the workflow: one included run, then $0.40 per successful run.
            let ledger = try Ledger(path: fixture.directory.path("data/ledger.sqlite"))
            let plan = try #require(try PlanCatalog.parse(Self.plans, source: "test").plan("flows"))
            _ = try ledger.setBilling(
                tenant: "acme", plan: plan, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                immediately: true, now: TestClock.now)
            let month = BillingMonth.containing(TestClock.now, in: TimeZone(identifier: "UTC")!)
            let invoice = try await api.call(.get, "/v1/invoices/\(month)", as: "acme.admin").json
            let lines = try #require(invoice["lines"] as? [[String: Any]])
            let charged = try #require(lines.first { $0["kind"] as? String == "workflow_runs" })
            #expect(charged["quantity"] as? String == "2" && charged["amount"] as? String == "0.8")
            #expect(lines.contains { $0["kind"] as? String == "included_workflow_runs" })
            #expect(lines.contains { $0["kind"] as? String == "workflow_runs_failed_check" })
            #expect(lines.contains { $0["kind"] as? String == "workflow_runs_handed_off" })
            #expect(invoice["total"] as? String == "0.8")
            let page = try await api.call(.get, "/dashboard", as: "acme.admin").text
            #expect(page.contains("id=\"workflows\"") && page.contains("<td>refund-approval</td><td>5</td><td>3</td>"))
            #expect(page.contains("id=\"workflow-charge\">$0.80<"))
        }
    }
}
