import Foundation
import Testing

@Suite("cascade billing commands", .serialized)
struct BillingCLITests {
    /// A ledger with three answered questions for tenant t (one escalated), via `ask --batch`.
    func ledgerWithQuestions(_ dir: TemporaryDirectory) async throws -> String {
        let ledger = dir.path("ledger.sqlite")
        try dir.write(
            "rules.yaml",
            Data(
                "rules:\n  - id: wal\n    match:\n      any: [wal]\n    answer: Run PRAGMA journal_mode=WAL.\n  - id: refund\n    match:\n      any: [refund]\n    escalate: true\n"
                    .utf8))
        try dir.write(
            "batch.jsonl",
            Data(
                """
                {"query_id": "q1", "text": "how do I enable wal", "conversation_id": "c1"}
                {"query_id": "q2", "text": "wal again please", "conversation_id": "c1"}
                {"query_id": "q3", "text": "I want a refund"}
                """.utf8))
        let asked = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("batch.jsonl"), "--rules", dir.path("rules.yaml"), "--ledger",
            ledger,
            "--no-kb",
        ])
        #expect(asked.status == 0, "\(asked.stderr)")
        return ledger
    }

    @Test("plans list, tenants set, report and invoice work together and trace lines to query ids")
    func endToEnd() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try await ledgerWithQuestions(dir)
        let plans = try await CLIProcess.run(["plans", "list", "--json"])
        #expect(plans.status == 0)
        #expect(plans.stdout.contains("\"id\":\"pro\""))

        // Without a plan there is no invoice, but usage is still reported.
        let noPlan = try await CLIProcess.run(["invoice", "--tenant", "t", "--ledger", ledger])
        #expect(noPlan.status == 0, "\(noPlan.stderr)")
        #expect(noPlan.stdout.contains("cascade tenants set t"))
        let usageOnly = try await CLIProcess.run(["report", "--tenant", "t", "--ledger", ledger, "--json"])
        #expect(usageOnly.status == 0, "\(usageOnly.stderr)")
        #expect(try usageOnly.json()["queries"] as? Int == 3)
        #expect(try usageOnly.json()["invoice_total"] as? String == "0")

        let set = try await CLIProcess.run([
            "tenants", "set", "t", "--plan", "pro", "--billing", "resolution", "--ledger", ledger, "--json",
        ])
        #expect(set.status == 0, "\(set.stderr)")

        let invoice = try await CLIProcess.run(["invoice", "--tenant", "t", "--ledger", ledger, "--json"])
        #expect(invoice.status == 0, "\(invoice.stderr)")
        let lines = try #require(try invoice.json()["lines"] as? [[String: Any]])
        let included = try #require(lines.first { $0["kind"] as? String == "included_resolutions" })
        // q2 is the same conversation as q1 (a duplicate), q3 escalated: one billable resolution.
        #expect(included["query_ids"] as? [String] == ["q1"])

        let report = try await CLIProcess.run([
            "report", "--tenant", "t", "--ledger", ledger, "--json", "--html", dir.path("r.html"),
        ])
        #expect(report.status == 0, "\(report.stderr)")
        let body = try report.json()
        #expect(body["billable_resolutions"] as? Int == 1)
        #expect(body["duplicates"] as? Int == 1)
        #expect(body["escalated"] as? Int == 1)
        let html = try String(contentsOfFile: dir.path("r.html"), encoding: .utf8)
        #expect(html.contains("<svg") && !html.contains("http://") && !html.contains("https://"))

        let csv = try await CLIProcess.run(["report", "--tenant", "t", "--ledger", ledger, "--csv"])
        #expect(csv.stdout.hasPrefix("tenant,month,tier,"))

        let simulate = try await CLIProcess.run([
            "simulate", "--tenant", "t", "--ledger", ledger, "--plan", "team", "--billing", "token", "--json",
        ])
        #expect(simulate.status == 0, "\(simulate.stderr)")
        #expect((try simulate.json()["simulated"] as? [String: Any])?["plan"] as? String == "team")

        let void = try await CLIProcess.run(["ledger", "void", "q1", "--reason", "test", "--ledger", ledger])
        #expect(void.status == 0, "\(void.stderr)")
        let after = try await CLIProcess.run(["report", "--tenant", "t", "--ledger", ledger, "--json"])
        // The voided resolution no longer holds its conversation's slot: q2, the later resolution
        // in the same conversation, becomes the billable one.
        #expect(try after.json()["billable_resolutions"] as? Int == 1)
        #expect(try after.json()["voided"] as? Int == 1)
        #expect(try after.json()["duplicates"] as? Int == 0)
    }

    @Test("ledger feedback records the customer's verdict once; the report splits confirmed from assumed")
    func feedback() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try await ledgerWithQuestions(dir)
        let first = try await CLIProcess.run([
            "ledger", "feedback", "q1", "--helpful", "--comment", "thanks", "--ledger", ledger, "--json",
        ])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try first.json()["outcome"] as? String == "confirmed")
        let again = try await CLIProcess.run(["ledger", "feedback", "q1", "--helpful", "--ledger", ledger])
        #expect(again.status == 0 && again.stdout.contains("already recorded"), "\(again.stdout)")
        let other = try await CLIProcess.run(["ledger", "feedback", "q1", "--not-helpful", "--ledger", ledger])
        #expect(other.status != 0 && other.stderr.contains("already confirmed"), "\(other.stderr)")
        let escalated = try await CLIProcess.run(["ledger", "feedback", "q3", "--helpful", "--ledger", ledger])
        #expect(escalated.status != 0 && escalated.stderr.contains("not resolved"), "\(escalated.stderr)")
        let neither = try await CLIProcess.run(["ledger", "feedback", "q1", "--ledger", ledger])
        #expect(neither.status == 64 || neither.status == 2, "one of --helpful or --not-helpful is required")
        let report = try await CLIProcess.run(["report", "--tenant", "t", "--ledger", ledger, "--json"])
        #expect(try report.json()["confirmed_resolutions"] as? Int == 1)
        #expect(try report.json()["assumed_resolutions"] as? Int == 0)
    }

    @Test("bad months, plans and time zones are clear errors")
    func errors() async throws {
        let dir = try TemporaryDirectory()
        let ledger = try await ledgerWithQuestions(dir)
        let zone = try await CLIProcess.run([
            "tenants", "set", "t", "--plan", "pro", "--timezone", "Mars/Base", "--ledger", ledger,
        ])
        #expect(zone.status == 2)
        #expect(zone.stderr.contains("IANA"))
        let plan = try await CLIProcess.run(["tenants", "set", "t", "--plan", "gold", "--ledger", ledger])
        #expect(plan.stderr.contains("plans: free, starter, pro, team, enterprise"))
        _ = try await CLIProcess.run(["tenants", "set", "t", "--plan", "pro", "--ledger", ledger])
        let month = try await CLIProcess.run(["report", "--tenant", "t", "--month", "2026-13", "--ledger", ledger])
        #expect(month.status == 2)
        #expect(month.stderr.contains("YYYY-MM"))
        let reopen = try await CLIProcess.run(["ledger", "reopen", "nope", "--ledger", ledger])
        #expect(reopen.status == 2)
    }
}

@Suite("cascade invoice finalization", .serialized)
struct InvoiceFinalizationCLITests {
    @Test("an open month cannot be finalized; an immediate plan change prorates this month's base fee")
    func finalizeAndImmediateChange() async throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.path("ledger.sqlite")
        try dir.write("b.jsonl", Data(#"{"query_id": "q1", "text": "hello there, how do I vacuum"}"#.utf8))
        _ = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b.jsonl"), "--ledger", ledger, "--no-kb",
        ])
        _ = try await CLIProcess.run(["tenants", "set", "t", "--plan", "starter", "--ledger", ledger])
        let open = try await CLIProcess.run(["invoice", "--tenant", "t", "--ledger", ledger, "--finalize"])
        #expect(open.status == 2)
        #expect(open.stderr.contains("not over yet"))

        let change = try await CLIProcess.run([
            "tenants", "set", "t", "--plan", "team", "--immediately", "--ledger", ledger, "--json",
        ])
        #expect(change.status == 0, "\(change.stderr)")
        let invoice = try await CLIProcess.run(["invoice", "--tenant", "t", "--ledger", ledger, "--json"])
        let lines = try #require(try invoice.json()["lines"] as? [[String: Any]])
        let base = lines.filter { $0["kind"] as? String == "base_fee" }
        // Starter until today, Team from today: both plans' fees, each for part of the month
        // (or only Team's when today is the first day the tenant existed).
        #expect(base.contains { ($0["description"] as? String)?.hasPrefix("Team plan") == true })
        #expect(base.count <= 2)
    }
}
