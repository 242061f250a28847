import Foundation
import HTTPTypes
import Metering
import Server
import TestSupport
import Testing

/// Hard spend caps against concurrent requests, through the real server and a model endpoint on
/// loopback that bills tokens: the cap holds within one request's cost, the stopped tier and the
/// reason are in the answer, the ledger row and its evidence, and usage shows what is left.
@Suite("Spend caps")
struct SpendCapTests {
    /// A model that always declines (each call still costs its tokens).
    static func decliningModel() throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { _ in
            .json([
                "id": "chatcmpl-test", "object": "chat.completion", "model": "priced",
                "choices": [
                    [
                        "index": 0, "finish_reason": "stop",
                        "message": [
                            "role": "assistant", "content": #"{"can_answer": false, "answer": "", "citations": []}"#,
                        ],
                    ]
                ],
                "usage": ["prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960],
            ])
        }
    }

    /// $1,000 per million tokens in and out: a call of 960 tokens costs $0.96.
    static func settings(_ llm: LoopbackHTTPServer) -> String {
        """
        llm:
          url: "\(llm.baseURL.absoluteString)/v1"
          model: "priced"
          price_in: "1000"
          price_out: "1000"
        """
    }

    @Test("concurrent questions cannot pass a hard cap by more than one request's cost; the stop is said everywhere")
    func hardCapHoldsUnderConcurrency() async throws {
        let llm = try Self.decliningModel()
        defer { llm.stop() }
        let fixture = try await ServiceFixture.make()
        try fixture.directory.write("data/tenants/acme.yaml", Self.settings(llm))
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let put = try await api.call(
                .put, "/v1/spend-cap", as: "acme.admin", body: #"{"cap": "10", "mode": "hard", "stops": "llm"}"#)
            #expect(put.status == .ok)
            #expect((put.json["spend_cap"] as? [String: Any])?["mode"] as? String == "hard")
            #expect(
                try await api.call(.put, "/v1/spend-cap", as: "acme.query", body: #"{"cap": "10"}"#).status
                    == .forbidden)
            #expect(
                try await api.call(.put, "/v1/spend-cap", as: "acme.admin", body: #"{"cap": "-1"}"#).status
                    == .unprocessableContent)

            // 24 questions the knowledge base cannot answer, all at once: each goes to the LLM tier
            // unless the cap stops it.
            let replies = try await withThrowingTaskGroup(of: API.Reply.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        try await api.ask(
                            "Explain the warranty terms for refurbished tablets, case \(i)", as: "acme.query")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }.map(\.json)
            let capped = replies.filter { $0["limited_by_spend_cap"] as? Bool == true }
            #expect(!capped.isEmpty, "the cap stopped some questions")
            #expect(capped.allSatisfy { $0["tier"] as? String == "escalated" })
            let stopped = try #require(
                (capped.first?["attempts"] as? [[String: Any]])?.first { $0["tier"] as? String == "llm" })
            #expect(stopped["outcome"] as? String == "spend_cap")
            #expect((stopped["note"] as? String)?.contains("hard spend cap") == true)

            // What the ledger says the LLM tier cost: never more than the cap.
            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin").json
            let cost = try #require(Decimal(string: usage["total_cost"] as? String ?? ""))
            #expect(cost <= 10, "model cost \(cost) passed the $10 cap")
            #expect(cost >= Decimal(string: "0.96")!, "the LLM tier ran before the cap")
            let status = try #require(usage["spend_cap"] as? [String: Any])
            #expect(status["cap"] as? String == "10" && status["mode"] as? String == "hard")
            #expect(Decimal(string: status["remaining"] as? String ?? "") == 10 - cost)
            #expect(status["projected_month_end"] is String)

            // The recorded row of a stopped question carries the check in its evidence.
            let queryID = try #require(capped.first?["query_id"] as? String)
            let recorded = try await api.call(.get, "/v1/queries/\(queryID)", as: "acme.admin").json
            #expect(recorded.description.contains("spend_cap"))

            // Another tenant is not capped by acme's cap.
            try fixture.directory.write("data/tenants/beta.yaml", Self.settings(llm))
            _ = try await api.upload("refunds.md", refundGuide, as: "beta.admin")
            let other = try await api.ask("Explain the warranty terms for refurbished tablets", as: "beta.query").json
            #expect(other["limited_by_spend_cap"] as? Bool == false)

            // Removing the cap lets the LLM tier run again.
            #expect(try await api.call(.delete, "/v1/spend-cap", as: "acme.admin").status == .noContent)
            let after = try await api.ask("Explain the warranty terms for refurbished phones", as: "acme.query").json
            #expect(after["limited_by_spend_cap"] as? Bool == false)
            #expect(try await api.call(.get, "/v1/usage", as: "acme.admin").json["spend_cap"] is NSNull)
        }
    }

    @Test("a soft cap stops nothing; an alert at 50% of it fires once while usage keeps rising")
    func softCapAndAlert() async throws {
        let llm = try Self.decliningModel()
        defer { llm.stop() }
        let fixture = try await ServiceFixture.make { $0.spendRefreshInterval = .zero }
        try fixture.directory.write("data/tenants/acme.yaml", Self.settings(llm))
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            #expect(
                try await api.call(.put, "/v1/spend-cap", as: "acme.admin", body: #"{"cap": "2", "mode": "soft"}"#)
                    .status
                    == .ok)
            let added = try await api.call(
                .post, "/v1/alerts", as: "acme.admin",
                body: #"{"metric": "model_cost", "threshold": "50%", "name": "half"}"#)
            #expect(added.status == .created)
            let alertID = try #require(added.json["id"] as? String)
            #expect(
                try await api.call(
                    .post, "/v1/alerts", as: "acme.admin", body: #"{"metric": "billed_amount", "threshold": "50%"}"#
                )
                .status == .unprocessableContent)
            for i in 0..<4 {
                let reply = try await api.ask(
                    "Explain the warranty terms for refurbished tablets, case \(i)", as: "acme.query")
                #expect(reply.json["limited_by_spend_cap"] as? Bool == false)
                // Evaluated after each question; the state only changes once.
                _ = try await fixture.service.spend.evaluate("acme")
            }
            let alerts = try await api.call(.get, "/v1/alerts", as: "acme.admin").json["alerts"] as? [[String: Any]]
            let alert = try #require(alerts?.first { $0["id"] as? String == alertID })
            #expect(alert["in_alarm"] as? Bool == true)
            #expect((alert["history"] as? [Any])?.count == 1, "fired once in the month, not once per question")
            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin").json
            #expect((usage["spend_cap"] as? [String: Any])?["reached"] as? Bool == true)
            #expect(usage["alerts_in_alarm"] as? [String] == [alertID])
            // The dashboard shows the cap, what was spent and what is left.
            let page = try await api.call(.get, "/dashboard", as: "acme.admin").text
            #expect(page.contains("id=\"spend-cap-amount\">$2.00<"))
            #expect(page.contains("id=\"spend-cap-reached\""))
            #expect(page.contains("id=\"spend-cap-remaining\">$0.00<"))
            #expect(try await api.call(.delete, "/v1/alerts/\(alertID)", as: "beta.admin").status == .notFound)
            #expect(try await api.call(.delete, "/v1/alerts/\(alertID)", as: "acme.admin").status == .noContent)
        }
    }
}
