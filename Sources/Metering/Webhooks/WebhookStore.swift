import Foundation

/// A tenant's webhook endpoints and the outbox of their deliveries, kept in the same database as
/// the ledger (``Ledger`` on SQLite, `PostgresLedger` on PostgreSQL) so an event is written in the
/// same transaction as the ledger row it reports: a write that rolls back sends nothing, and a
/// node killed after the commit leaves the event in the outbox for the next node that runs.
/// One test suite runs every promise against both backends.
public protocol WebhookStore: Sendable {
    /// Stores a new endpoint with a new signing secret (returned in the endpoint).
    func addEndpoint(
        tenant: String, url: String, eventTypes: [WebhookEventType], description: String?, now: Date
    ) async throws -> WebhookEndpoint

    /// The tenant's endpoints (removed ones left out), oldest first.
    func endpoints(tenant: String) async throws -> [WebhookEndpoint]

    /// Removes an endpoint: nothing more is sent to it; its pending deliveries fail.
    func removeEndpoint(id: String, tenant: String, now: Date) async throws

    /// Puts a new secret first; the previous ones keep signing until `previousExpiresAt` (a
    /// receiver can switch without missing a delivery). Returns the endpoint with its secrets.
    func rotateSecret(id: String, tenant: String, previousExpiresAt: Date, now: Date) async throws -> WebhookEndpoint

    /// Enables a disabled endpoint (after a 410, or by hand) or disables one.
    func setEndpointEnabled(id: String, tenant: String, enabled: Bool, reason: String?, now: Date) async throws
        -> WebhookEndpoint

    /// Writes an event that no ledger row carries (alerts, workflow runs written elsewhere) to
    /// the outbox of every endpoint of its tenant that subscribes to its type. Returns how many
    /// deliveries it made.
    @discardableResult
    func enqueue(_ event: WebhookEvent, now: Date) async throws -> Int

    /// Takes up to `limit` deliveries due at `now` for `owner` (one node), each held for `lease`
    /// seconds: no other owner takes them meanwhile.
    func claimDeliveries(owner: String, limit: Int, lease: TimeInterval, now: Date) async throws -> [ClaimedDelivery]

    /// Records an attempt and decides what comes next: delivered; retried at `retryAt`; failed
    /// for good (`retryAt` nil); on 410 the endpoint is disabled.
    func finishDelivery(
        _ delivery: ClaimedDelivery, owner: String, result: WebhookAttemptResult, retryAt: Date?, now: Date
    ) async throws

    /// The endpoint's deliveries, newest first, with their attempts.
    func deliveries(endpointID: String, tenant: String, limit: Int) async throws -> [WebhookDeliveryRecord]

    /// Makes a delivery of an event due again now (an admin's replay), whatever its state, and
    /// returns it claimed for `owner` (so it can be sent at once). An event the endpoint never
    /// had is refused.
    func replay(eventID: String, endpointID: String, tenant: String, owner: String, lease: TimeInterval, now: Date)
        async throws -> ClaimedDelivery
}
