import AsyncHTTPClient
import Foundation
import Logging
import Metering
import ServiceLifecycle

/// Sends what the outbox holds, on every node: takes due deliveries under a lease (so each is
/// sent by one node at a time), sends a few at once, records each attempt and schedules the next
/// by ``WebhookRetryPolicy``. Undelivered events survive any crash in the store; a node that
/// starts sends what is due, including what a killed node left.
public struct WebhookDispatcher: Sendable {
    public let store: any WebhookStore
    public let sender: WebhookSender
    public var policy: WebhookRetryPolicy
    public var clock: WallClock
    /// How often the outbox is checked for due deliveries.
    public var pollInterval: Duration
    /// Deliveries sent at once by this node.
    public var concurrency: Int
    public let owner: String
    public let logger: Logger

    public init(
        store: any WebhookStore, sender: WebhookSender, policy: WebhookRetryPolicy = .standard,
        clock: WallClock = .system, pollInterval: Duration = .seconds(1), concurrency: Int = 8,
        logger: Logger = Logger(label: "cascade.webhooks")
    ) {
        self.store = store
        self.sender = sender
        self.policy = policy
        self.clock = clock
        self.pollInterval = pollInterval
        self.concurrency = concurrency
        self.owner = "node-" + UUID().uuidString.prefix(8).lowercased()
        self.logger = logger
    }

    /// How long a node holds a delivery: longer than one attempt can take.
    var lease: TimeInterval { sender.timeoutSeconds * 2 + 30 }

    /// Sends every delivery due now; returns how many were attempted.
    @discardableResult
    public func runOnce() async -> Int {
        let claimed: [ClaimedDelivery]
        do {
            claimed = try await store.claimDeliveries(
                owner: owner, limit: concurrency * 4, lease: lease, now: clock.now())
        } catch {
            logger.warning("reading the webhook outbox failed", metadata: ["error": "\(error)"])
            return 0
        }
        guard !claimed.isEmpty else { return 0 }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for delivery in claimed {
                if running >= concurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.deliver(delivery) }
                running += 1
            }
        }
        return claimed.count
    }

    /// Sends one claimed delivery and records the attempt.
    func deliver(_ delivery: ClaimedDelivery, trigger: String = "scheduled") async {
        let result = await sender.send(delivery, now: clock.now(), trigger: trigger)
        let now = clock.now()
        let retryAt =
            result.delivered || result.gone
            ? nil
            : policy.nextAttempt(
                afterFailedAttempts: delivery.attempt, retryAfter: result.retryAfter, now: now,
                random: Double.random(in: 0..<1))
        if !result.delivered {
            logger.notice(
                "webhook delivery failed",
                metadata: [
                    "tenant": .string(delivery.endpoint.tenant), "endpoint": .string(delivery.endpoint.id),
                    "event": .string(delivery.event.id), "attempt": .stringConvertible(delivery.attempt),
                    "error": .string(result.error ?? ""),
                    "next_attempt_at": .string(retryAt.map(JSONConvention.timestamp) ?? "none (failed)"),
                ])
        }
        do {
            try await store.finishDelivery(delivery, owner: owner, result: result, retryAt: retryAt, now: now)
        } catch {
            // The lease runs out and the delivery is sent again (at-least-once).
            logger.warning("recording a webhook attempt failed", metadata: ["error": "\(error)"])
        }
    }

    /// Replays one event to one endpoint at once (an admin asked), and returns the attempt.
    public func replayNow(eventID: String, endpointID: String, tenant: String) async throws -> WebhookAttemptResult {
        let delivery = try await store.replay(
            eventID: eventID, endpointID: endpointID, tenant: tenant, owner: owner, lease: lease, now: clock.now())
        let result = await sender.send(delivery, now: clock.now(), trigger: "replay")
        let now = clock.now()
        let retryAt =
            result.delivered || result.gone
            ? nil
            : policy.nextAttempt(
                afterFailedAttempts: 1, retryAfter: result.retryAfter, now: now, random: Double.random(in: 0..<1))
        try await store.finishDelivery(delivery, owner: owner, result: result, retryAt: retryAt, now: now)
        return result
    }
}

extension WebhookDispatcher {
    /// Replays one event to one endpoint now with a client of its own (`cascade webhooks replay`).
    public static func replayOnce(
        store: any WebhookStore, policy: WebhookAddressPolicy, eventID: String, endpointID: String, tenant: String
    ) async throws -> WebhookAttemptResult {
        let client = WebhookSender.makeClient()
        do {
            let result = try await WebhookDispatcher(
                store: store, sender: WebhookSender(client: client, policy: policy)
            )
            .replayNow(eventID: eventID, endpointID: endpointID, tenant: tenant)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// Runs the dispatcher in `cascade serve` until shutdown.
struct WebhookDispatchService: Service {
    let dispatcher: WebhookDispatcher

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Drain what is due before sleeping (a burst of events goes out without waiting).
            while await dispatcher.runOnce() > 0, !Task.isShuttingDownGracefully {}
            let interval = dispatcher.pollInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
