import Foundation
import HTTPTypes
import Server
import Synchronization
import TestSupport
import Testing

/// Limits that keep one client or tenant from hurting the others.
@Suite struct LimitsTests {
    /// Polls `condition` (a loaded CI machine can be slow to get a request to the model). The
    /// limit only ends a test whose behaviour is wrong; it is no speed requirement.
    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<4800 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw FixtureError("condition not reached in 120 s")
    }

    @Test func aKeyOverItsRateGets429WithRetryAfter() async throws {
        let fixture = try await ServiceFixture.make {
            $0.rateLimitPerSecond = 0.01  // one token per 100 s: none comes back during the test
            $0.rateLimitBurst = 3
        }
        try await fixture.run { api in
            var statuses: [HTTPResponse.Status] = []
            var last: API.Reply?
            for _ in 0..<5 {
                let reply = try await api.call(.post, "/v1/search", as: "acme.query", body: "{\"query\":\"refund\"}")
                statuses.append(reply.status)
                last = reply
            }
            #expect(statuses.prefix(3).allSatisfy { $0 == .ok })
            #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
            let refused = try #require(last)
            #expect(refused.problemCode == "rate-limited")
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            // Another key (another tenant's) is not affected.
            #expect(try await api.call(.post, "/v1/search", as: "beta.query", body: "{\"query\":\"x\"}").status == .ok)
        }
    }

    @Test func aTenantOverItsInFlightCapGets429AndOthersAreServed() async throws {
        // An LLM endpoint that holds acme's first question until the test releases it (however
        // slowly a loaded machine gets to the second question, the first is still in flight).
        let release = DispatchSemaphore(value: 0)
        let released = Mutex(false)
        let llm = try LoopbackHTTPServer { _ in
            // Only until released: the tier's retry of this unusable reply is answered at once.
            if !released.withLock({ $0 }) { _ = release.wait(timeout: .now() + 60) }
            return .init(body: Data("{\"choices\":[]}".utf8))
        }
        @Sendable func open() {
            released.withLock { $0 = true }
            release.signal()
        }
        defer {
            open()
            llm.stop()
        }
        let fixture = try await ServiceFixture.make { $0.maxInFlightPerTenant = 1 }
        try fixture.directory.write(
            "data/tenants/acme.yaml", "llm:\n  url: \"\(llm.baseURL.absoluteString)/v1\"\n  model: \"slow\"\n")
        try await fixture.run { api in
            // Passages to send to the model (without them the LLM tier is skipped).
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            async let slow = api.ask("Explain the warranty terms for refurbished items", as: "acme.query")
            try await waitUntil { llm.requests.count >= 1 }  // acme's question is at the model now
            let second = try await api.ask("And the refund window?", as: "acme.query")
            #expect(second.status == .tooManyRequests)
            #expect(second.problemCode == "too-many-in-flight")
            let other = try await api.ask("How long do refunds take?", as: "beta.query")
            #expect(other.status == .ok)
            // The tenant's admin keys have their own slots: widget traffic never locks them out.
            #expect(try await api.call(.get, "/v1/jobs", as: "acme.admin").status == .ok)
            open()
            #expect(try await slow.status == .ok)
            // The slot is free again once the slow request finished.
            #expect(try await api.ask("And the refund window?", as: "acme.query").status == .ok)
        }
    }

    @Test func aSlowModelEndpointNeverHoldsUpOtherQuestions() async throws {
        // The endpoint holds acme's question until the test releases it, and the test releases it
        // only after beta's question has been answered: beta's answer arriving at all proves it was
        // not queued behind acme's (queued, it would wait for a release that never comes before
        // it). Order, not a stopwatch, so a loaded machine cannot fail it.
        let gate = Gate()
        let llm = try LoopbackHTTPServer { _ in
            gate.wait()
            return .init(body: Data("{\"choices\":[]}".utf8))
        }
        defer {
            gate.open()
            llm.stop()
        }
        let fixture = try await ServiceFixture.make { $0.maxConcurrentRequestsPerLLMEndpoint = 1 }
        for tenant in ["acme", "beta"] {
            try fixture.directory.write(
                "data/tenants/\(tenant).yaml", "llm:\n  url: \"\(llm.baseURL.absoluteString)/v1\"\n  model: \"slow\"\n")
        }
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            _ = try await api.upload("refunds.md", refundGuide, as: "beta.admin")
            async let slow = api.ask("Explain the warranty terms for refurbished items", as: "acme.query")
            try await waitUntil { llm.requests.count >= 1 }  // acme's question holds the endpoint's one slot
            let other = try await api.ask("Explain the warranty terms for refurbished items", as: "beta.query")
            #expect(llm.requests.count == 1, "beta's question never reached the busy endpoint")
            #expect(other.status == .ok)
            #expect(other.json["tier"] as? String == "escalated")
            let attempts = try #require(other.json["attempts"] as? [[String: Any]])
            #expect((attempts.last?["note"] as? String)?.contains("concurrency cap") == true)
            gate.open()
            #expect(try await slow.status == .ok)
        }
    }
}
