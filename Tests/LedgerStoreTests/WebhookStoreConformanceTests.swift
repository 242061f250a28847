import Foundation
import Metering
import Testing

/// The webhook outbox's promises, on every backend: events are written with the ledger rows they
/// report (and only for endpoints that subscribe), a delivery is held by one node at a time, the
/// retry schedule and 410 decide what comes next, replay and rotation work, and one tenant never
/// sees or touches another's endpoints.
@Suite("Webhook outbox on every backend")
struct WebhookStoreConformanceTests {
    static func store(_ h: LedgerHarness) throws -> any WebhookStore {
        try #require(h.store as? any WebhookStore)
    }

    static func json(_ event: WebhookEvent) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: event.body) as? [String: Any])
    }

    @Test(
        "a ledger write puts its events in the outbox of subscribed endpoints only, in the same transaction",
        arguments: Backend.allCases)
    func eventsFollowLedgerRows(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let hooks = try Self.store(h)
            let now = Date()
            // Before any endpoint: nothing is queued.
            _ = try await h.store.record(query: query("q0"), attempts: [], now: now)
            #expect(try await hooks.claimDeliveries(owner: "a", limit: 10, lease: 60, now: now).isEmpty)

            let desk = try await hooks.addEndpoint(
                tenant: "acme", url: "https://desk.example.com/hooks",
                eventTypes: [.escalationCreated, .escalationResolved],
                description: "help desk", now: now)
            let all = try await hooks.addEndpoint(
                tenant: "acme", url: "https://audit.example.com/in", eventTypes: WebhookEventType.allCases,
                description: nil, now: now)
            _ = try await hooks.addEndpoint(
                tenant: "beta", url: "https://beta.example.com/in", eventTypes: WebhookEventType.allCases,
                description: nil, now: now)
            #expect(desk.secrets.count == 1 && desk.secrets[0].secret.hasPrefix("whsec_"))
            #expect(desk.secrets[0].keyBytes?.count == 32)

            var turn = query("q1", tier: "rag")
            turn.conversationID = "c1"
            _ = try await h.store.record(query: turn, attempts: [], now: now)
            var escalated = query("q2", tier: "escalated", question: "Can I pay by cheque?")
            escalated.conversationID = "c1"
            _ = try await h.store.record(query: escalated, attempts: [], now: now)
            // A repeat of a recorded id writes no row, so no event.
            _ = try await h.store.record(query: escalated, attempts: [], now: now)
            _ = try await h.store.correct(
                tenant: "acme", queryID: "q2", outcome: "agent_answer", answer: "Yes, within the EU.", note: nil,
                now: now)
            // A write that is refused (a correction of an unknown query) queues nothing.
            await #expect(throws: LedgerError.self) {
                try await h.store.correct(
                    tenant: "acme", queryID: "nope", outcome: "voided", answer: nil, note: nil, now: now)
            }

            let claimed = try await hooks.claimDeliveries(owner: "node-a", limit: 50, lease: 60, now: now)
            let byEndpoint = Dictionary(grouping: claimed, by: \.endpoint.id)
            #expect(byEndpoint[desk.id]?.map(\.event.type).sorted() == [.escalationCreated, .escalationResolved])
            #expect(
                byEndpoint[all.id]?.map(\.event.type).sorted() == [
                    .escalationCreated, .escalationResolved, .resolutionCreated,
                ])
            #expect(claimed.allSatisfy { $0.event.tenant == "acme" && $0.attempt == 1 })
            // Both endpoints get the same event (one id, one body).
            let escalations = claimed.filter { $0.event.type == .escalationCreated }
            #expect(Set(escalations.map(\.event.id)).count == 1 && Set(escalations.map(\.event.body)).count == 1)
            let body = try Self.json(try #require(escalations.first?.event))
            #expect(body["type"] as? String == "escalation.created")
            let data = try #require(body["data"] as? [String: Any])
            #expect(data["question"] as? String == "Can I pay by cheque?")
            #expect(data["query_id"] as? String == "q2")
            let conversation = try #require(data["conversation"] as? [[String: Any]])
            #expect(conversation.map { $0["query_id"] as? String } == ["q1"])
            #expect(data["user_id"] is NSNull)
        }
    }

    @Test(
        "a claimed delivery is held by one node until its lease ends; the schedule and 410 decide what is next",
        arguments: Backend.allCases)
    func leasesRetriesAndGone(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let hooks = try Self.store(h)
            let t0 = Date()
            let endpoint = try await hooks.addEndpoint(
                tenant: "acme", url: "https://desk.example.com/hooks", eventTypes: [.resolutionCreated],
                description: nil, now: t0)
            _ = try await h.store.record(query: query("r1"), attempts: [], now: t0)
            let first = try await hooks.claimDeliveries(owner: "node-a", limit: 10, lease: 60, now: t0)
            #expect(first.count == 1)
            // Another node polling meanwhile gets nothing; after the lease it gets the delivery.
            try await h.withNode { other in
                let otherHooks = try #require(other as? any WebhookStore)
                #expect(try await otherHooks.claimDeliveries(owner: "node-b", limit: 10, lease: 60, now: t0).isEmpty)
                let later = try await otherHooks.claimDeliveries(
                    owner: "node-b", limit: 10, lease: 60, now: t0.addingTimeInterval(61))
                #expect(later.map(\.event.id) == first.map(\.event.id))
                // node-b fails with 503; it is due again at the retry time, not before.
                let retryAt = t0.addingTimeInterval(120)
                try await otherHooks.finishDelivery(
                    later[0], owner: "node-b",
                    result: WebhookAttemptResult(status: 503, error: "the receiver answered 503", durationMs: 3),
                    retryAt: retryAt, now: t0.addingTimeInterval(62))
            }
            // node-a finishing late (its lease was lost) records its attempt but does not move the delivery.
            try await hooks.finishDelivery(
                first[0], owner: "node-a", result: WebhookAttemptResult(status: 200, error: nil, durationMs: 2),
                retryAt: nil, now: t0.addingTimeInterval(63))
            #expect(
                try await hooks.claimDeliveries(owner: "a", limit: 10, lease: 60, now: t0.addingTimeInterval(119))
                    .isEmpty)
            let again = try await hooks.claimDeliveries(
                owner: "a", limit: 10, lease: 60, now: t0.addingTimeInterval(121))
            #expect(again.count == 1 && again[0].attempt == 2)
            try await hooks.finishDelivery(
                again[0], owner: "a", result: WebhookAttemptResult(status: 204, error: nil, durationMs: 1),
                retryAt: nil,
                now: t0.addingTimeInterval(122))
            var log = try await hooks.deliveries(endpointID: endpoint.id, tenant: "acme", limit: 10)
            #expect(log.count == 1)
            #expect(log[0].state == "delivered" && log[0].attempts == 2 && log[0].lastStatus == 204)
            #expect(log[0].log.map(\.status) == [503, 200, 204])

            // 410 Gone: the delivery fails and the endpoint is disabled; nothing more is claimed.
            _ = try await h.store.record(query: query("r2"), attempts: [], now: t0.addingTimeInterval(130))
            let gone = try await hooks.claimDeliveries(
                owner: "a", limit: 10, lease: 60, now: t0.addingTimeInterval(131))
            try await hooks.finishDelivery(
                gone[0], owner: "a", result: WebhookAttemptResult(status: 410, error: "gone", durationMs: 1),
                retryAt: t0.addingTimeInterval(200), now: t0.addingTimeInterval(132))
            let disabled = try await hooks.endpoints(tenant: "acme")
            #expect(disabled[0].disabledAt != nil && disabled[0].disabledReason == WebhookAttemptResult.goneReason)
            _ = try await h.store.record(query: query("r3"), attempts: [], now: t0.addingTimeInterval(140))
            #expect(
                try await hooks.claimDeliveries(owner: "a", limit: 10, lease: 60, now: t0.addingTimeInterval(300))
                    .isEmpty)
            // Enabled again, a replay of the 410'd event is claimed at once.
            _ = try await hooks.setEndpointEnabled(id: endpoint.id, tenant: "acme", enabled: true, reason: nil, now: t0)
            let replayed = try await hooks.replay(
                eventID: gone[0].event.id, endpointID: endpoint.id, tenant: "acme", owner: "cli", lease: 60,
                now: t0.addingTimeInterval(301))
            #expect(replayed.attempt == 2 && replayed.event == gone[0].event)
            log = try await hooks.deliveries(endpointID: endpoint.id, tenant: "acme", limit: 10)
            #expect(log.first?.eventID == gone[0].event.id && log.first?.state == "pending")
        }
    }

    @Test(
        "rotation signs with the new and the previous secret until it expires; tenants cannot touch each other's endpoints",
        arguments: Backend.allCases)
    func rotationAndIsolation(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let hooks = try Self.store(h)
            let now = Date()
            let endpoint = try await hooks.addEndpoint(
                tenant: "acme", url: "https://desk.example.com/hooks", eventTypes: [.resolutionCreated],
                description: nil, now: now)
            let rotated = try await hooks.rotateSecret(
                id: endpoint.id, tenant: "acme", previousExpiresAt: now.addingTimeInterval(3600), now: now)
            #expect(rotated.secrets.count == 2 && rotated.secrets[1].secret == endpoint.secrets[0].secret)
            #expect(rotated.signingSecrets(at: now.addingTimeInterval(60)).count == 2)
            #expect(
                rotated.signingSecrets(at: now.addingTimeInterval(3601)).map(\.secret) == [rotated.secrets[0].secret])
            let stored = try #require(try await hooks.endpoints(tenant: "acme").first)
            #expect(stored.secrets == rotated.secrets)

            // beta cannot list, rotate, remove, read the log of or replay acme's endpoint.
            #expect(try await hooks.endpoints(tenant: "beta").isEmpty)
            await #expect(throws: LedgerError.unknownWebhook("beta has no webhook endpoint \(endpoint.id)")) {
                try await hooks.rotateSecret(id: endpoint.id, tenant: "beta", previousExpiresAt: now, now: now)
            }
            await #expect(throws: LedgerError.self) {
                try await hooks.removeEndpoint(id: endpoint.id, tenant: "beta", now: now)
            }
            await #expect(throws: LedgerError.self) {
                try await hooks.deliveries(endpointID: endpoint.id, tenant: "beta", limit: 5)
            }
            _ = try await h.store.record(query: query("x1"), attempts: [], now: now)
            let claimed = try await hooks.claimDeliveries(owner: "a", limit: 5, lease: 0, now: now)
            await #expect(throws: LedgerError.self) {
                try await hooks.replay(
                    eventID: claimed[0].event.id, endpointID: endpoint.id, tenant: "beta", owner: "b", lease: 0,
                    now: now)
            }
            // Bad URLs are refused before anything is stored.
            for url in [
                "ftp://x.example.com", "https://user:pw@x.example.com/", "not a url", "https:///path",
                "https://x.example.com/#frag",
            ] {
                await #expect(throws: LedgerError.self, "\(url)") {
                    try await hooks.addEndpoint(
                        tenant: "acme", url: url, eventTypes: [.resolutionCreated], description: nil, now: now)
                }
            }
            // Removed: gone from the list, its pending deliveries failed.
            try await hooks.removeEndpoint(id: endpoint.id, tenant: "acme", now: now)
            #expect(try await hooks.endpoints(tenant: "acme").isEmpty)
            let log = try await hooks.deliveries(endpointID: endpoint.id, tenant: "acme", limit: 5)
            #expect(log.allSatisfy { $0.state == "failed" && $0.lastError == "the endpoint was removed" })
        }
    }

    @Test("the invoice finalized event carries the final invoice", arguments: Backend.allCases)
    func invoiceFinalized(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let hooks = try Self.store(h)
            let now = Date()
            _ = try await hooks.addEndpoint(
                tenant: "acme", url: "https://finance.example.com/in", eventTypes: [.invoiceFinalized],
                description: nil, now: now)
            let pro = try #require(PlanCatalog.standard.plan("pro"))
            _ = try await h.store.setBilling(
                tenant: "acme", plan: pro, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
                immediately: true, now: now)
            let month = BillingMonth.containing(now, in: TimeZone(identifier: "UTC")!)
            let statement = try await BillingStatement.compute(
                ledger: h.store, catalog: .standard, tenant: "acme", month: month)
            let final = try await h.store.finalize(statement.invoice, computedAt: nil, signingKey: nil, now: now)
            let claimed = try await hooks.claimDeliveries(owner: "a", limit: 5, lease: 60, now: now)
            #expect(claimed.map(\.event.type) == [.invoiceFinalized])
            let data = try #require(try Self.json(claimed[0].event)["data"] as? [String: Any])
            #expect(data["month"] as? String == final.month && data["status"] as? String == "final")
            #expect(data["total"] as? String == Money.string(final.total))
        }
    }
}
