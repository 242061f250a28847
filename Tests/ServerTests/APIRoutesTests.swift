import Foundation
import HTTPTypes
import Metering
import Server
import Testing

/// The API's routes through a real HTTP client on loopback: what a help-desk integration sees.
@Suite struct APIRoutesTests {
    @Test func operationsRoutesNeedNoKey() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            #expect(try await api.call(.get, "/healthz").json["status"] as? String == "ok")
            let ready = try await api.call(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.json["model"] as? String == "hashing-v1-384")
            let spec = try await api.call(.get, "/openapi.yaml")
            #expect(spec.text.hasPrefix("openapi: 3.1"))
            _ = try await api.ask("How do refunds work?", as: "acme.query")
            let metrics = try await api.call(.get, "/metrics")
            #expect(
                metrics.text.contains("cascade_http_requests_total{method=\"POST\",route=\"/v1/ask\",status=\"200\"} 1")
            )
            #expect(metrics.text.contains("cascade_questions_total"))
        }
    }

    @Test func everyAPIRouteRefusesAMissingOrWrongKeyWithAProblem() async throws {
        let fixture = try await ServiceFixture.make()
        let routes: [(HTTPRequest.Method, String)] = [
            (.post, "/v1/ask"), (.post, "/v1/search"), (.get, "/v1/documents"), (.post, "/v1/documents"),
            (.delete, "/v1/documents/x"), (.get, "/v1/jobs"), (.get, "/v1/jobs/x"), (.get, "/v1/escalations"),
            (.post, "/v1/escalations/x/resolve"), (.get, "/v1/queries/x"), (.post, "/v1/queries/x/void"),
            (.post, "/v1/queries/x/reopen"), (.get, "/v1/usage"), (.get, "/v1/invoices"),
            (.get, "/v1/invoices/\(fixture.month())"),
        ]
        try await fixture.run { api in
            for (method, path) in routes {
                for who in [nil, "csk_000000000000_notavalidkeyatallnotavalidkeyatall00000", "Basic abc"] {
                    let reply = try await api.call(method, path, as: who, body: "{}")
                    #expect(reply.status == .unauthorized, "\(method) \(path)")
                    #expect(reply.isProblem)
                    #expect(reply.problemCode == "unauthorized")
                    #expect(reply.json["request_id"] is String)
                }
            }
            let unknown = try await api.call(.get, "/v2/nothing")
            #expect(unknown.status == .notFound)
            #expect(unknown.isProblem)
        }
    }

    @Test func aQueryKeyCannotUseAdminRoutes() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/documents"), (.get, "/v1/escalations"), (.get, "/v1/usage"),
                (.post, "/v1/queries/x/void"), (.get, "/v1/invoices"),
            ] {
                let reply = try await api.call(method, path, as: "acme.query", body: "{\"reason\":\"x\"}")
                #expect(reply.status == .forbidden, "\(path)")
                #expect(reply.problemCode == "forbidden")
            }
        }
    }

    @Test func askRecordsOnceAndARetryReplaysTheSameOutcome() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let first = try await api.ask("How long do refunds take?", as: "acme.query", id: "ticket-1")
            #expect(first.status == .ok)
            #expect(first.json["query_id"] as? String == "ticket-1")
            #expect(first.json["replayed"] as? Bool == false)
            #expect(first.json["conversation_id"] is NSNull)
            #expect(first.json["cost"] is String)
            #expect(first.json["currency"] as? String == "USD")
            let retry = try await api.ask("How long do refunds take?", as: "acme.query", id: "ticket-1")
            #expect(retry.json["replayed"] as? Bool == true)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(retry.json["answer"] as? String == first.json["answer"] as? String)
            let rows = try fixture.ledgerKinds(tenant: "acme", queryID: "ticket-1")
            #expect(rows.filter { $0 == "query" }.count == 1)
        }
    }

    @Test func reusingAnIdempotencyKeyForAnotherQuestionIsAConflict() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.ask("How long do refunds take?", as: "acme.query", id: "k1")
            let other = try await api.ask("How do I reset my password?", as: "acme.query", id: "k1")
            #expect(other.status == .conflict)
            #expect(other.problemCode == "idempotency-conflict")
            #expect(other.json["answer"] == nil)
            // query_id in the body counts as the key too; header and body must agree.
            let mismatch = try await api.call(
                .post, "/v1/ask", as: "acme.query", body: "{\"question\":\"hi there friend\",\"query_id\":\"a\"}",
                headers: [HTTPField.Name("Idempotency-Key")!: "b"])
            #expect(mismatch.status == .unprocessableContent)
            #expect(mismatch.problemCode == "idempotency-key-mismatch")
        }
    }

    @Test func badRequestsGetOneClearProblemAndRecordNothing() async throws {
        let fixture = try await ServiceFixture.make { $0.maxQuestionCharacters = 100 }
        try await fixture.run { api in
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("not json", .badRequest, "invalid-json"),
                ("[1,2]", .badRequest, "invalid-json"),
                (String(repeating: "[", count: 5000), .badRequest, "invalid-json"),
                ("{\"question\":\"a\",\"question\":\"b\"}", .badRequest, "invalid-json"),
                ("{}", .unprocessableContent, "invalid-field"),
                ("{\"question\":42}", .unprocessableContent, "invalid-field"),
                ("{\"question\":\"hello?\",\"qustion_id\":\"x\"}", .unprocessableContent, "unknown-field"),
                (
                    "{\"question\":\"\(String(repeating: "a", count: 101))\"}", .unprocessableContent,
                    "question-too-long"
                ),
                // One letter and 300,000 combining marks: one character, but not a short question.
                (
                    "{\"question\":\"a\(String(repeating: "\u{301}", count: 300_000))\"}", .unprocessableContent,
                    "question-too-long"
                ),
                // 240 scalars in 60 characters (three marks on an x, which has no precomposed form),
                // and 30 family emoji (one character, seven scalars each).
                (
                    "{\"question\":\"\(String(repeating: "x\u{300}\u{301}\u{302}", count: 60))\"}",
                    .unprocessableContent, "question-too-long"
                ),
                (
                    "{\"question\":\"\(String(repeating: "👩‍👩‍👧‍👦", count: 30))\"}", .unprocessableContent,
                    "question-too-long"
                ),
                ("{\"question\":\"why\",\"query_id\":\"a\\u0000b\"}", .unprocessableContent, "invalid-field"),
                ("{\"question\":\"why\\u0000\"}", .unprocessableContent, "invalid-field"),
            ]
            for (body, status, code) in cases {
                let reply = try await api.call(.post, "/v1/ask", as: "acme.query", body: body)
                #expect(reply.status == status, "\(body.prefix(40))")
                #expect(reply.problemCode == code, "\(body.prefix(40))")
                #expect(reply.isProblem)
            }
            #expect(try fixture.ledgerKinds(tenant: "acme").isEmpty)
        }
    }

    @Test func questionsAreStoredNormalisedAndAccentedTextPasses() async throws {
        let fixture = try await ServiceFixture.make { $0.maxQuestionCharacters = 100 }
        try await fixture.run { api in
            // "é" typed as e + combining acute: stored as the one precomposed letter.
            let reply = try await api.ask("Cafe\u{301} opening hours in Zürich — 营业时间?", as: "acme.query", id: "nfc")
            #expect(reply.status == .ok, "\(reply.text)")
            let stored = try fixture.ledger.entries(tenant: "acme", queryID: "nfc").first { $0.kind == .query }
            #expect(
                stored?.question?.unicodeScalars.elementsEqual("Café opening hours in Zürich — 营业时间?".unicodeScalars)
                    == true)
            // The same question typed precomposed is the same question (the id replays).
            let again = try await api.ask("Café opening hours in Zürich — 营业时间?", as: "acme.query", id: "nfc")
            #expect(again.json["replayed"] as? Bool == true, "\(again.text)")
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        let fixture = try await ServiceFixture.make {
            $0.maxBodyBytes = 1000
            $0.maxUploadBytes = 2000
        }
        try await fixture.run { api in
            let big = "{\"question\":\"" + String(repeating: "x", count: 5000) + "\"}"
            let reply = try await api.call(.post, "/v1/ask", as: "acme.query", body: big)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.problemCode == "body-too-large")
            let upload = try await api.call(
                .post, "/v1/documents?name=big.md", as: "acme.admin", body: String(repeating: "word ", count: 1000))
            #expect(upload.status == .contentTooLarge)
        }
    }

    @Test func searchByTextOrByOwnVector() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let byText = try await api.call(
                .post, "/v1/search", as: "acme.query", body: "{\"query\":\"refund of my order\",\"k\":2}")
            #expect(byText.status == .ok)
            let results = try #require(byText.json["results"] as? [[String: Any]])
            #expect(results.count == 2)
            #expect(results[0]["citation"] as? String == "uploads/refunds.md#refunds")
            for key in [
                "rank", "doc_id", "source", "chunk_id", "heading", "text", "score", "vector_score", "keyword_score",
            ] {
                #expect(results[0][key] != nil, "\(key)")
            }
            // The caller's own embedding (here: the service's own vector for the same text).
            let vector = try await fixture.embed("refund of my order")
            let byVector = try await api.call(
                .post, "/v1/search", as: "acme.query", body: api.json(["vector": vector, "k": 1]))
            #expect(byVector.status == .ok)
            #expect(byVector.json["mode"] as? String == "vector")
            let wrongSize = try await api.call(.post, "/v1/search", as: "acme.query", body: "{\"vector\":[1,2,3]}")
            #expect(wrongSize.status == .unprocessableContent)
            #expect(wrongSize.problemCode == "invalid-search")
            let zeros = try await api.call(
                .post, "/v1/search", as: "acme.query", body: api.json(["vector": [Double](repeating: 0, count: 384)]))
            #expect(zeros.status == .unprocessableContent)
            for body in [
                "{\"query\":\"x\",\"k\":0}", "{\"query\":\"x\",\"k\":101}", "{\"query\":\"x\",\"mode\":\"magic\"}",
                "{}",
            ] {
                let reply = try await api.call(.post, "/v1/search", as: "acme.query", body: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
            }
        }
    }

    @Test func documentsUploadListAndDelete() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let job = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            #expect(job["status"] as? String == "succeeded")
            #expect(job["chunks_written"] as? Int ?? 0 >= 3)
            let list = try await api.call(.get, "/v1/documents", as: "acme.admin")
            let documents = try #require(list.json["documents"] as? [[String: Any]])
            #expect(documents.map { $0["doc_id"] as? String } == ["refunds.md"])
            let bad = try await api.call(.post, "/v1/documents?name=../evil.md", as: "acme.admin", body: "# x\n\ny")
            #expect(bad.status == .unprocessableContent)
            let exe = try await api.call(.post, "/v1/documents?name=run.exe", as: "acme.admin", body: "MZ")
            #expect(exe.status == .unsupportedMediaType)
            let broken = try await api.upload("broken.html", "\u{FFFE}\u{0}\u{0}\u{1}", as: "acme.admin")
            #expect(broken["status"] as? String == "failed")
            #expect((broken["error"] as? String)?.isEmpty == false)
            let deleted = try await api.call(.delete, "/v1/documents/refunds.md", as: "acme.admin")
            #expect(deleted.json["removed"] as? Bool == true)
            let after = try await api.call(.post, "/v1/search", as: "acme.query", body: "{\"query\":\"refund\"}")
            #expect((after.json["results"] as? [Any])?.isEmpty == true)
            let again = try await api.call(.delete, "/v1/documents/refunds.md", as: "acme.admin")
            #expect(again.status == .notFound)
        }
    }

    @Test func escalationsAndCorrections() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let asked = try await api.ask("Where is my parcel from last week?", as: "acme.query", id: "e1")
            #expect(asked.json["tier"] as? String == "escalated")
            let open = try await api.call(.get, "/v1/escalations", as: "acme.admin")
            let items = try #require(open.json["escalations"] as? [[String: Any]])
            #expect(items.map { $0["query_id"] as? String } == ["e1"])
            #expect((items[0]["occurred_at"] as? String)?.hasSuffix("Z") == true)
            let empty = try await api.call(
                .post, "/v1/escalations/e1/resolve", as: "acme.admin", body: "{\"answer\":\"  \"}")
            #expect(empty.status == .unprocessableContent)
            let resolved = try await api.call(
                .post, "/v1/escalations/e1/resolve", as: "acme.admin", body: "{\"answer\":\"It ships Monday.\"}")
            #expect(resolved.status == .created)
            #expect(resolved.json["outcome"] as? String == "agent_answer")
            let twice = try await api.call(
                .post, "/v1/escalations/e1/resolve", as: "acme.admin", body: "{\"answer\":\"Again.\"}")
            #expect(twice.status == .conflict)
            #expect(try await api.call(.get, "/v1/escalations", as: "acme.admin").json["escalations"] as? [Any] != nil)
            // Voiding needs a resolution and a reason.
            let voidEscalated = try await api.call(
                .post, "/v1/queries/e1/void", as: "acme.admin", body: "{\"reason\":\"test\"}")
            #expect(voidEscalated.status == .conflict)
            let noReason = try await api.call(.post, "/v1/queries/e1/void", as: "acme.admin", body: "{}")
            #expect(noReason.status == .unprocessableContent)
            let query = try await api.call(.get, "/v1/queries/e1", as: "acme.query")
            #expect((query.json["ledger"] as? [Any])?.count ?? 0 >= 2)
        }
    }

    @Test func usageAndInvoicesWriteMoneyAsDecimalStrings() async throws {
        let fixture = try await ServiceFixture.make()
        try fixture.setPlan(tenant: "acme", plan: "pro")
        try await fixture.run { api in
            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin")
            #expect(usage.status == .ok)
            #expect(usage.json["invoice_total"] is String)
            #expect(usage.json["currency"] as? String == "USD")
            let invoice = try await api.call(.get, "/v1/invoices/\(fixture.month())", as: "acme.admin")
            #expect(invoice.status == .ok)
            #expect(invoice.json["total"] is String)
            let bad = try await api.call(.get, "/v1/invoices/November", as: "acme.admin")
            #expect(bad.status == .unprocessableContent)
            // Usage is reported without a plan (rate null for a month without questions); an invoice is not.
            let noPlan = try await api.call(.get, "/v1/usage", as: "beta.admin")
            #expect(noPlan.status == .ok)
            #expect(noPlan.json["resolution_rate"] is NSNull)
            let noInvoice = try await api.call(.get, "/v1/invoices/\(fixture.month())", as: "beta.admin")
            #expect(noInvoice.status == .conflict)
            #expect(noInvoice.isProblem)
        }
    }
}
