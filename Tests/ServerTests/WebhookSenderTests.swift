import AsyncHTTPClient
import Foundation
import Metering
import Server
import TestSupport
import Testing

/// What a node sends and where it refuses to send: the address policy against link-local,
/// metadata and loopback addresses, redirects not followed, the Standard Webhooks headers.
@Suite("Webhook sender")
struct WebhookSenderTests {
    static func delivery(url: String, secrets: [WebhookSecret] = [WebhookSecret.generate()]) throws -> ClaimedDelivery {
        let event = try WebhookEvent.make(
            tenant: "acme", type: .resolutionCreated, data: ["query_id": "q1"], at: Date(timeIntervalSince1970: 0))
        let endpoint = WebhookEndpoint(
            id: "ep_1", tenant: "acme", url: url, eventTypes: [.resolutionCreated], description: nil, secrets: secrets,
            createdAt: Date())
        return ClaimedDelivery(event: event, endpoint: endpoint, attempt: 1)
    }

    @Test(
        "link-local, metadata, loopback, unspecified and multicast addresses are refused unless an operator allows them"
    )
    func addressPolicy() throws {
        let policy = WebhookAddressPolicy()
        for refused in [
            "169.254.169.254", "127.0.0.1", "127.8.8.8", "0.0.0.0", "::1", "fe80::1", "224.0.0.1",
            "::ffff:169.254.169.254",
            "fd00:ec2::254", "100.100.100.200", "255.255.255.255",
        ] {
            let address = try #require(IPNetwork.parseAddress(refused))
            #expect(policy.refusal(for: address) != nil, "\(refused)")
        }
        for allowed in ["10.1.2.3", "192.168.1.10", "172.16.0.1", "93.184.216.34", "fd12::1", "2001:db8::1"] {
            let address = try #require(IPNetwork.parseAddress(allowed))
            #expect(policy.refusal(for: address) == nil, "\(allowed)")
        }
        #expect(policy.refusal(forHost: "metadata.google.internal.") != nil)
        #expect(throws: WebhookPolicyError.self) {
            try policy.checkConfigured("http://169.254.169.254/latest/meta-data")
        }
        #expect(throws: WebhookPolicyError.self) { try policy.checkConfigured("http://[::1]:8080/") }
        #expect(throws: WebhookPolicyError.self) { try policy.checkConfigured("http://metadata.google.internal/") }
        let loopback = WebhookAddressPolicy(allowed: [try #require(IPNetwork("127.0.0.1/32"))])
        #expect(throws: Never.self) { try loopback.checkConfigured("http://127.0.0.1:9/") }
        #expect(throws: WebhookPolicyError.self) { try loopback.checkConfigured("http://127.0.0.2:9/") }
        #expect(throws: WebhookPolicyError.self) {
            try WebhookAddressPolicy(environment: ["CASCADE_WEBHOOK_ALLOW_NETWORKS": "10.0.0.0/33"], extra: [])
        }
        #expect(
            try WebhookAddressPolicy(environment: ["CASCADE_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8, ::1"], extra: [])
                .allowed.count == 2)
    }

    @Test("a delivery is a signed POST of the exact body; a host resolving to a refused address gets nothing")
    func signedPostAndRefusedHosts() async throws {
        let server = try LoopbackHTTPServer { _ in .text("", status: 204) }
        defer { server.stop() }
        let client = WebhookSender.makeClient()
        let url = "http://127.0.0.1:\(server.port)/hooks?x=1"
        let secret = WebhookSecret.generate()
        let delivery = try Self.delivery(url: url, secrets: [secret])
        // Without the operator's allowance nothing is sent to loopback, not even by name.
        let refused = await WebhookSender(client: client, policy: WebhookAddressPolicy()).send(delivery, now: Date())
        #expect(!refused.delivered && refused.status == nil && refused.error?.contains("loopback") == true)
        let byName = await WebhookSender(client: client, policy: WebhookAddressPolicy())
            .send(try Self.delivery(url: "http://localhost:\(server.port)/"), now: Date())
        #expect(!byName.delivered && byName.error?.contains("loopback") == true)
        #expect(server.requests.isEmpty)

        let allowed = WebhookAddressPolicy(allowed: [try #require(IPNetwork("127.0.0.1/32"))])
        let now = Date(timeIntervalSince1970: 1_800_000_000.7)
        let result = await WebhookSender(client: client, policy: allowed).send(delivery, now: now)
        try await client.shutdown()
        #expect(result.delivered && result.status == 204)
        let request = try #require(server.requests.first)
        #expect(request.method == "POST" && request.path == "/hooks?x=1")
        #expect(request.body == delivery.event.body)
        let headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.key.lowercased(), $0.value) })
        #expect(headers["webhook-id"] == delivery.event.id)
        #expect(headers["webhook-timestamp"] == "1800000000")
        let signature = try #require(headers["webhook-signature"])
        #expect(
            WebhookSignature.verify(
                header: signature, id: delivery.event.id, timestamp: 1_800_000_000, body: request.body, secret: secret))
        #expect(headers["content-type"] == "application/json")
    }

    @Test("a redirect is not followed (it could lead anywhere): it is a failed attempt that names it")
    func redirectsAreNotFollowed() async throws {
        let target = try LoopbackHTTPServer { _ in .text("", status: 200) }
        defer { target.stop() }
        let server = try LoopbackHTTPServer { _ in
            LoopbackHTTPServer.Response(
                status: 307, headers: ["Location": "http://127.0.0.1:\(target.port)/metadata"], body: Data())
        }
        defer { server.stop() }
        let client = WebhookSender.makeClient()
        let allowed = WebhookAddressPolicy(allowed: [try #require(IPNetwork("127.0.0.1/32"))])
        let result = await WebhookSender(client: client, policy: allowed)
            .send(try Self.delivery(url: "http://127.0.0.1:\(server.port)/"), now: Date())
        try await client.shutdown()
        #expect(!result.delivered && result.status == 307 && result.error?.contains("redirect") == true)
        #expect(target.requests.isEmpty)
    }

    @Test("Retry-After is read in seconds or as an HTTP date")
    func retryAfterForms() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(WebhookSender.retryAfter("120", now: now) == 120)
        let date = WebhookSender.retryAfter(
            "Fri, 15 Jan 2027 08:00:30 GMT", now: Date(timeIntervalSince1970: 1_799_999_999))
        #expect(date != nil)
        #expect(WebhookSender.retryAfter("soon", now: now) == nil)
    }
}
