import Foundation
import HTTPTypes
import Metering
import Server
import TestSupport
import Testing

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
            #expect(control.status == .unprocessableContent && control.isProblem, "\(control.text)")
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
}
