import Foundation
import HTTPTypes
import Metering
import Server
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

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
            let port = try #require(UInt16(api.client.base.split(separator: ":").last ?? ""))
            for partial in ["", "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n"] {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                #expect(fd >= 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                #expect(connected == 0)
                if !partial.isEmpty { _ = partial.withCString { send(fd, $0, strlen($0), 0) } }
                // The read ends when the server closes the socket (0 bytes: EOF); the 120 s receive
                // timeout only ends a test whose server never does (then recv returns -1).
                var limit = timeval(tv_sec: 120, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                var buffer = [UInt8](repeating: 0, count: 4096)
                var received = 0
                var last = 0
                repeat {
                    last = recv(fd, &buffer, buffer.count, 0)
                    if last > 0 { received += last }
                } while last > 0
                #expect(
                    last == 0,
                    "the server closed the idle connection (\(partial.isEmpty ? "silent" : "half a request"))")
            }
        }
    }
}
