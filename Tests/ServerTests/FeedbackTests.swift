import Foundation
import HTTPTypes
import Metering
import TestSupport
import Testing

@testable import Server

/// The customer's verdict on an answer (issue 31): `POST /v1/queries/{id}/feedback` from the
/// widget's query key, against the live service.
@Suite struct FeedbackTests {
    func feedback(_ api: API, _ id: String, helpful: Bool, comment: String? = nil, as who: String = "acme.query")
        async throws -> API.Reply
    {
        var body = "{\"helpful\":\(helpful)"
        if let comment { body += ",\"comment\":\"\(comment)\"" }
        return try await api.call(.post, "/v1/queries/\(id)/feedback", as: who, body: body + "}")
    }

    @Test("helpful confirms once; the same verdict replays; the other is refused; usage splits confirmed and assumed")
    func helpfulConfirms() async throws {
        let fixture = try await ServiceFixture.make()
        try fixture.setPlan(tenant: "acme", plan: "pro")
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            for id in ["q1", "q2"] {
                let asked = try await api.ask("How many days do I have to request a refund?", as: "acme.query", id: id)
                #expect(asked.json["tier"] as? String == "rag", "\(asked.text)")
            }
            // The resolution's row explains itself: tier, confidence against the threshold, the
            // retrieval signals and passages, each check.
            let shown = try await api.call(.get, "/v1/queries/q1", as: "acme.admin").json
            let row = (shown["ledger"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "query" }
            let evidence = row?["evidence"] as? [String: Any] ?? [:]
            #expect(evidence["tier"] as? String == "rag" && evidence["verifier_version"] as? String != nil, "\(shown)")
            #expect((evidence["confidence"] as? Double ?? 0) >= (evidence["threshold"] as? Double ?? 1))
            #expect((evidence["retrieval"] as? [String: Any])?["top_similarity"] is Double)
            #expect(
                ((evidence["passages"] as? [[String: Any]])?.first?["source"] as? String)?.contains("refunds.md")
                    == true)
            let checks = evidence["checks"] as? [[String: Any]] ?? []
            #expect(checks.contains { $0["name"] as? String == "answer_check" && $0["passed"] as? Bool == true })
            #expect(checks.contains { $0["name"] as? String == "rag_confidence" && $0["passed"] as? Bool == true })
            #expect((evidence["question_signature"] as? String)?.count == 64)

            let first = try await feedback(api, "q1", helpful: true, comment: "spot on")
            #expect(first.status == .created, "\(first.text)")
            #expect(first.json["outcome"] as? String == "confirmed" && first.json["note"] as? String == "spot on")
            let again = try await feedback(api, "q1", helpful: true)
            #expect(again.status == .ok && again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let other = try await feedback(api, "q1", helpful: false)
            #expect(other.status == .conflict && other.problemCode == "verdict-recorded", "\(other.text)")
            #expect(try fixture.ledgerKinds(tenant: "acme", queryID: "q1").filter { $0 == "correction" }.count == 1)

            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin").json
            #expect(usage["billable_resolutions"] as? Int == 2, "\(usage)")
            #expect(usage["confirmed_resolutions"] as? Int == 1 && usage["assumed_resolutions"] as? Int == 1)
            let invoice = try await api.call(.get, "/v1/invoices/\(fixture.month())", as: "acme.admin").json
            let verdicts = invoice["verdicts"] as? [String: Any] ?? [:]
            #expect(verdicts["confirmed"] as? Int == 1 && verdicts["assumed"] as? Int == 1, "\(invoice)")
            #expect(verdicts["bill"] as? String == "confirmed_and_assumed")

            // The verdicts, and the threshold they support (one confirmed answer: too few by default).
            let listed = try await api.call(.get, "/v1/verdicts", as: "acme.admin").json
            let rows = listed["verdicts"] as? [[String: Any]] ?? []
            #expect(rows.count == 1 && rows[0]["query_id"] as? String == "q1", "\(listed)")
            #expect(rows[0]["verdict"] as? String == "confirmed" && rows[0]["comment"] as? String == "spot on")
            #expect(rows[0]["confidence"] is Double && rows[0]["tier"] as? String == "rag")
            let few = try await api.call(.get, "/v1/verdicts/threshold", as: "acme.admin").json
            #expect(few["recommended_threshold"] is NSNull && few["rag_verdicts_used"] as? Int == 1, "\(few)")
            let one = try await api.call(
                .get, "/v1/verdicts/threshold?min_verdicts=1&max_false_resolution=0", as: "acme.admin")
            #expect(one.status == .ok, "\(one.text)")
            // The one judged answer was confirmed: keep the threshold in force.
            #expect(one.json["recommended_threshold"] as? Double == one.json["current_threshold"] as? Double)
            #expect((one.json["table"] as? [[String: Any]])?.count == 1)
            let bad = try await api.call(.get, "/v1/verdicts/threshold?max_false_resolution=2", as: "acme.admin")
            #expect(bad.status == .unprocessableContent, "\(bad.text)")
            let latest = try await api.call(.get, "/v1/verdicts?limit=1", as: "acme.admin").json
            #expect((latest["verdicts"] as? [[String: Any]])?.count == 1 && latest["limit"] as? Int == 1)
            let tooMany = try await api.call(.get, "/v1/verdicts?limit=0", as: "acme.admin")
            #expect(tooMany.status == .unprocessableContent)
            let widget = try await api.call(.get, "/v1/verdicts", as: "acme.query")
            #expect(widget.status == .forbidden, "a query key does not read other customers' verdicts")
            let beta = try await api.call(.get, "/v1/verdicts", as: "beta.admin").json
            #expect((beta["verdicts"] as? [[String: Any]])?.isEmpty == true, "another tenant's verdicts stay its own")
        }
    }

    @Test("not helpful: never billed, the question is in the escalation queue at once, and an agent can answer it")
    func notHelpfulEscalates() async throws {
        let fixture = try await ServiceFixture.make()
        try fixture.setPlan(tenant: "acme", plan: "pro")
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            _ = try await api.ask("How many days do I have to request a refund?", as: "acme.query", id: "bad")
            let rejected = try await feedback(api, "bad", helpful: false, comment: "I bought it 20 days ago")
            #expect(rejected.status == .created && rejected.json["outcome"] as? String == "rejected_by_customer")
            let queue = try await api.call(.get, "/v1/escalations", as: "acme.admin").json
            let items = queue["escalations"] as? [[String: Any]] ?? []
            let item = try #require(items.first { $0["query_id"] as? String == "bad" }, "\(queue)")
            // The agent sees that an answer was given and refused, and what the customer said.
            #expect(item["reason"] as? String == "rejected_by_customer")
            #expect(item["customer_comment"] as? String == "I bought it 20 days ago")
            #expect((item["why"] as? String)?.contains("did not help: I bought it 20 days ago") == true, "\(item)")
            #expect((item["rejected_answer"] as? String)?.isEmpty == false, "\(item)")
            // The same question asked again is not answered (and billed) with the passage just
            // refused: it waits for a person, who is told why.
            let again = try await api.ask("How many days do I have to request a refund?", as: "acme.query", id: "again")
            #expect(again.json["tier"] as? String == "escalated", "\(again.text)")
            let waiting = try await api.call(.get, "/v1/escalations", as: "acme.admin").json
            let repeated = (waiting["escalations"] as? [[String: Any]] ?? []).first {
                $0["query_id"] as? String == "again"
            }
            #expect(
                (repeated?["why"] as? String)?.contains("did not answer the same question (query bad)") == true,
                "\(waiting)")
            // The agent is told where the engine looked.
            let sources = repeated?["sources"] as? [[String: Any]] ?? []
            #expect((sources.first?["source"] as? String)?.contains("refunds.md") == true, "\(sources)")
            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin").json
            #expect(usage["billable_resolutions"] as? Int == 0 && usage["rejected_by_customer"] as? Int == 1)
            let invoice = try await api.call(.get, "/v1/invoices/\(fixture.month())", as: "acme.admin").json
            let kinds = (invoice["lines"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds.contains("rejected_by_customer") && !kinds.contains("resolutions"), "\(kinds)")
            // The dashboard shows the split and the customer's words.
            let keyID = try #require(fixture.keys["acme.admin"].flatMap(APIKeyFormat.keyID(of:)))
            let cookie = fixture.service.sessions.issue(keyID: keyID, now: fixture.service.configuration.clock.now())
            let page = try await api.call(.get, "/dashboard", headers: [.cookie: "cascade_session=\(cookie)"])
            #expect(page.text.contains("id=\"rejected-by-customer\">1<"), "the tile counts the rejection")
            #expect(page.text.contains("I bought it 20 days ago"), "the comment is shown")
            // And what the verdicts say of the threshold: one rejected answer, too few to recommend.
            #expect(page.text.contains("id=\"verdict-threshold\"><p>1 judged RAG answers"), "the verdicts are counted")
            #expect(page.text.contains("No recommendation: 1 judged RAG answers"), "and too few to move the threshold")
            let queuePage = try await api.call(
                .get, "/dashboard/escalations", headers: [.cookie: "cascade_session=\(cookie)"])
            #expect(queuePage.text.contains("did not help: I bought it 20 days ago"), "the queue says why")
            #expect(queuePage.text.contains("class=\"rejected-answer\""), "and shows the answer refused")
            #expect(queuePage.text.contains("Passages found: uploads/refunds.md"), "and where the engine looked")
            let answered = try await api.call(
                .post, "/v1/escalations/bad/resolve", as: "acme.admin",
                body: #"{"answer":"Within 14 days; we made an exception."}"#)
            #expect(answered.status == .created, "\(answered.text)")
            let after = try await api.call(.get, "/v1/escalations", as: "acme.admin").json
            let still = after["escalations"] as? [[String: Any]] ?? []
            #expect(!still.contains { $0["query_id"] as? String == "bad" })
            // The same question, still waiting, now shows the colleague's answer to reuse.
            let waitingAgain = try #require(still.first { $0["query_id"] as? String == "again" }, "\(after)")
            let earlier = waitingAgain["answered_before"] as? [[String: Any]] ?? []
            #expect(earlier.first?["query_id"] as? String == "bad", "\(waitingAgain)")
            #expect(earlier.first?["answer"] as? String == "Within 14 days; we made an exception.")
            let pageAfter = try await api.call(
                .get, "/dashboard/escalations", headers: [.cookie: "cascade_session=\(cookie)"])
            #expect(pageAfter.text.contains("Answered before (bad"), "the dashboard shows it too")
            #expect(pageAfter.text.contains("value=\"Within 14 days; we made an exception.\""), "ready to send")
            #expect(pageAfter.text.contains(">Send this answer</button>"))
        }
    }

    @Test("only resolutions take a verdict; another tenant's id is unknown; a bad body is a 422")
    func verdictRules() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.ask("zorblax flux capacitor on Mars?", as: "acme.query", id: "esc")
            let escalated = try await feedback(api, "esc", helpful: true)
            #expect(escalated.status == .conflict && escalated.problemCode == "not-a-resolution", "\(escalated.text)")
            let foreign = try await feedback(api, "esc", helpful: true, as: "beta.query")
            #expect(foreign.status == .notFound)
            let missing = try await api.call(.post, "/v1/queries/esc/feedback", as: "acme.query", body: "{}")
            #expect(missing.status == .unprocessableContent)
            let wrongType = try await api.call(
                .post, "/v1/queries/esc/feedback", as: "acme.query", body: #"{"helpful":"yes"}"#)
            #expect(wrongType.status == .unprocessableContent)
            #expect(try fixture.ledgerKinds(tenant: "acme", queryID: "esc").filter { $0 == "correction" }.isEmpty)
        }
    }
}
