import Embeddings
import Foundation
import GRDB
import HTTPTypes
import Metering
import Server
import TestSupport
import Testing

@testable import KnowledgeBase

/// What an attacker or a careless integrator sends, against the live service: each gets one clear
/// 4xx problem and changes nothing (issue 33's second round).
@Suite struct HostileRequestTests {
    /// A resolved question recorded as the RAG tier would, dated by the fixture's clock.
    func recordResolution(_ fixture: ServiceFixture, id: String) throws {
        _ = try fixture.ledger.record(
            query: LedgerEntry(
                kind: .query, queryID: id, tenant: "acme", tier: "rag", outcome: "resolved", question: "Why?",
                answer: "Because.", costMicros: 20, occurredAt: TestClock.now),
            attempts: [], now: TestClock.now)
    }

    @Test("ids with a space, a slash or a non-ASCII letter work in URL paths (percent-decoded)")
    func idsInPathsArePercentDecoded() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            for (id, path) in [("e 1", "e%201"), ("é2", "%C3%A92"), ("a/b", "a%2Fb")] {
                let asked = try await api.ask("zorblax flux capacitor on Mars?", as: "acme.query", id: id)
                #expect(asked.json["tier"] as? String == "escalated", "\(asked.text)")
                let shown = try await api.call(.get, "/v1/queries/\(path)", as: "acme.query")
                #expect(shown.status == .ok, "\(id): \(shown.text)")
                let resolved = try await api.call(
                    .post, "/v1/escalations/\(path)/resolve", as: "acme.admin", body: #"{"answer":"Call us."}"#)
                #expect(resolved.status == .created, "\(id): \(resolved.text)")
                #expect(try fixture.ledgerKinds(tenant: "acme", queryID: id).contains("correction"))
            }
            // (A malformed escape such as %ZZ is a 400 `invalid-path`; HTTP clients re-encode it
            // before sending, so tools/test-attacks checks that one with a raw request.)
            let control = try await api.call(.get, "/v1/queries/a%00b", as: "acme.query")
            #expect(control.status == .notFound && control.isProblem, "an id no request could create names nothing")
        }
    }

    @Test("a NUL in an answer or a reason, and a reopen after a void, are 4xx problems that write nothing")
    func correctionsThatCannotBeStoredAre4xx() async throws {
        let fixture = try await ServiceFixture.make()
        try recordResolution(fixture, id: "r1")
        try await fixture.run { api in
            _ = try await api.ask("zorblax flux capacitor on Mars?", as: "acme.query", id: "esc")
            let nulAnswer = try await api.call(
                .post, "/v1/escalations/esc/resolve", as: "acme.admin", body: #"{"answer":"a\u0000b"}"#)
            #expect(nulAnswer.status == .unprocessableContent && nulAnswer.isProblem, "\(nulAnswer.text)")
            let nulReason = try await api.call(
                .post, "/v1/queries/r1/void", as: "acme.admin", body: #"{"reason":"dup\u0000licate"}"#)
            #expect(nulReason.status == .unprocessableContent && nulReason.isProblem, "\(nulReason.text)")
            #expect(try !fixture.ledgerKinds(tenant: "acme").contains("correction"), "nothing written")

            let voided = try await api.call(.post, "/v1/queries/r1/void", as: "acme.admin", body: #"{"reason":"test"}"#)
            #expect(voided.status == .created, "\(voided.text)")
            let reopened = try await api.call(
                .post, "/v1/queries/r1/reopen", as: "acme.admin", body: #"{"reason":"wrong"}"#)
            #expect(reopened.status == .conflict && reopened.problemCode == "already-voided", "\(reopened.text)")
            #expect(try fixture.ledgerKinds(tenant: "acme", queryID: "r1").filter { $0 == "correction" }.count == 1)
        }
    }

    @Test("a connection that sends nothing, or half a request, is closed by the server after the idle timeout")
    func idleConnectionsAreClosed() async throws {
        let fixture = try await ServiceFixture.make { $0.idleTimeoutSeconds = 1 }
        try await fixture.run { api in
            for partial in ["", "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n"] {
                let connection = try RawConnection(api.client.base)
                if !partial.isEmpty { connection.send(partial) }
                // The read ends when the server closes the socket; its 120 s limit only ends a test
                // whose server never does.
                #expect(
                    await connection.readToEnd().closed,
                    "the server closed the idle connection (\(partial.isEmpty ? "silent" : "half a request"))")
            }
        }
    }

    @Test("headers sent a byte at a time are cut off by the header timeout, though the connection is never idle")
    func slowHeadersAreCutOff() async throws {
        let fixture = try await ServiceFixture.make {
            $0.idleTimeoutSeconds = 600  // never reached: a byte arrives every 100 ms
            $0.headerTimeoutSeconds = 1
        }
        try await fixture.run { api in
            let connection = try RawConnection(api.client.base)
            var sent = 0
            // Endless headers, a byte at a time; the loop's bound only ends a test whose server
            // never closes (1,200 bytes = 120 s).
            let drip =
                Array("GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
                + Array(repeating: UInt8(ascii: "a"), count: 1200)
            for byte in drip {
                guard connection.send([byte]) else { break }
                sent += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(sent < drip.count, "the server closed the connection before the headers ended")
        }
    }

    @Test(
        "query keys sending their bodies slowly lock out nobody: their requests hold no slot, and get 408 at the body timeout"
    )
    func slowBodiesHoldNoSlots() async throws {
        let fixture = try await ServiceFixture.make {
            $0.maxInFlightPerTenant = 2
            $0.bodyTimeoutSeconds = 2
        }
        try await fixture.run { api in
            let token = try #require(api.keys["acme.query"])
            // Twice the tenant's slots: each sends its headers and one byte of a 100-byte body.
            let slow = try (0..<4).map { _ in
                let connection = try RawConnection(api.client.base)
                connection.send(
                    "POST /v1/ask HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
                return connection
            }
            // While those are still sending, the tenant's other requests are served: the query
            // key's own, and the admin's.
            let asked = try await api.ask("How long do refunds take?", as: "acme.query")
            #expect(asked.status == .ok, "\(asked.text)")
            #expect(try await api.call(.get, "/v1/jobs", as: "acme.admin").status == .ok)
            for connection in slow {
                let (text, closed) = await connection.readToEnd()
                #expect(text.hasPrefix("HTTP/1.1 408"), "\(text)")
                #expect(text.contains("application/problem+json") && text.contains("body-timeout"), "\(text)")
                #expect(closed)
            }
            // Nothing of those questions was recorded.
            #expect(try fixture.ledgerKinds(tenant: "acme").filter { $0 == "query" }.count == 1)
        }
    }

    @Test("past the connection cap a request gets a 503 problem, and a freed connection serves again")
    func connectionsPastTheCapGet503() async throws {
        let fixture = try await ServiceFixture.make { $0.maxConnections = 3 }
        try await fixture.run { api in
            var open: [RawConnection] = []
            var refusal: String?
            // Each connection completes a request before the next opens, so the server counted it.
            for _ in 0..<8 {
                let connection = try RawConnection(api.client.base)
                connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = await connection.readResponse()
                open.append(connection)
                if response.hasPrefix("HTTP/1.1 503") {
                    refusal = response
                    break
                }
                #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
            }
            let refused = try #require(refusal, "a connection past the cap was refused")
            #expect(refused.contains("too-many-connections") && refused.contains("Retry-After"), "\(refused)")
            #expect(open.count <= 4, "the cap (3) counts the test client's connections too, never more")
            open.removeAll()  // closes them
            // The server notices the closes on its own time: poll (the bound only ends a broken test).
            var served = false
            for _ in 0..<1200 where !served {
                let connection = try RawConnection(api.client.base)
                connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                served = await connection.readToEnd().text.hasPrefix("HTTP/1.1 200")
                if !served { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(served)
        }
    }

    @Test("a request with both Content-Length and Transfer-Encoding (request smuggling) is refused with 400")
    func smugglingIsRefused() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let token = try #require(api.keys["acme.query"])
            let connection = try RawConnection(api.client.base)
            let smuggled = "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n"
            connection.send(
                "POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\n" + smuggled)
            let (text, closed) = await connection.readToEnd()
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
            #expect(text.contains("malformed-http"), "\(text)")
            #expect(!text.contains("\"jobs\""), "the smuggled request was never answered")
            #expect(closed)
        }
    }

    @Test("a NUL in a header gets a 400 problem+json, not an empty 400")
    func malformedHeadersGetAProblem() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let connection = try RawConnection(api.client.base)
            connection.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a".utf8) + [0] + Array("b\r\n\r\n".utf8))
            let (text, closed) = await connection.readToEnd()
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
            #expect(text.contains("application/problem+json") && text.contains("malformed-http"), "\(text)")
            #expect(closed)
        }
    }

    @Test("/readyz is 503 while a tenant's knowledge base failed to load; the other tenants are still served")
    func readinessSaysWhenAKnowledgeBaseFailed() async throws {
        let fixture = try await ServiceFixture.make()
        _ = try fixture.directory.write("data/tenants/acme/kb.sqlite", String(repeating: "not a database\n", count: 64))
        try await fixture.run { api in
            let ready = try await api.call(.get, "/readyz", as: nil)
            #expect(
                ready.status == .serviceUnavailable && ready.problemCode == "knowledge-base-failed", "\(ready.text)")
            #expect(!ready.text.contains("acme"), "an unauthenticated route does not name tenants")
            #expect(try await api.ask("How long do refunds take?", as: "beta.query").status == .ok)
        }
    }

    @Test(
        "a stored vector damaged behind the checksum's back gets a 500 knowledge-base-damaged, never an answer billed at confidence 1"
    )
    func damagedVectorsAreNeverAnsweredFrom() async throws {
        let fixture = try await ServiceFixture.make()
        let question = "How long do refunds take?"
        do {
            // acme's knowledge base, built before the service starts, then damaged as a bad disk
            // or an outside program would: every vector of its first pack becomes 250 × the
            // question's own vector, with a checksum recomputed to match.
            let path = fixture.directory.path("data/tenants/acme/kb.sqlite")
            _ = try fixture.directory.write("docs/refunds.md", "# Refunds\n\nRefunds take five business days.\n")
            let store = try KnowledgeBaseStore(path: path)
            _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(fixture.directory.path("docs"))
            let query = try await HashingEmbedder().embed([question])[0]
            try await store.writer.write { db in
                let rows = try #require(try Int.fetchOne(db, sql: "SELECT row_count FROM vector_pack WHERE id = 1"))
                let blob = [Float]((0..<rows).flatMap { _ in query.map { $0 * 250 } }).withUnsafeBytes { Data($0) }
                try db.execute(
                    sql: "UPDATE vector_pack SET vectors = ?, checksum = ? WHERE id = 1",
                    arguments: [blob, VectorPacking.checksum(blob)])
            }
        }
        try await fixture.run { api in
            let asked = try await api.ask(question, as: "acme.query", id: "damaged")
            #expect(
                asked.status == .internalServerError && asked.problemCode == "knowledge-base-damaged", "\(asked.text)")
            #expect(try fixture.ledgerKinds(tenant: "acme", queryID: "damaged").isEmpty, "nothing recorded or billed")
        }
    }

    @Test(
        "one answerable question asked 25 times with two random words added and a new user id each time is flagged, not billed (real MiniLM)"
    )
    func rewordedQuestionsAreNotBilled() async throws {
        let fixture = try await ServiceFixture.make { $0.embedderName = "minilm" }
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let noise = [
                "zebra", "piano", "orbit", "velvet", "canyon", "mango", "quartz", "lantern", "pepper", "glacier",
                "tulip", "falcon", "ember", "cobalt", "saddle",
            ]
            var resolved = 0
            for i in 0..<25 {
                let question =
                    "How many days do I have to request a refund? \(noise[i % 15]) \(noise[(i * 7 + 3) % 15])"
                let body = #"{"question":"\#(question)","user_id":"visitor-\#(i)"}"#
                let asked = try await api.call(.post, "/v1/ask", as: "acme.query", body: body)
                #expect(asked.status == .ok, "\(asked.text)")
                if ["rag", "llm", "rule"].contains(asked.json["tier"] as? String) { resolved += 1 }
            }
            #expect(resolved >= 10, "the question is answerable: \(resolved) of 25 resolved")
            let usage = try await api.call(.get, "/v1/usage", as: "acme.admin").json
            #expect(usage["billable_resolutions"] as? Int == 0, "\(usage)")
            #expect(usage["flagged_resolutions"] as? Int == resolved, "\(usage)")
            let findings = usage["findings"] as? [String] ?? []
            #expect(findings.contains { $0.hasPrefix("similar_burst") }, "\(findings)")
        }
    }
}
