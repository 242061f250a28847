import Foundation
import GRDB

/// The SQLite ledger's webhook endpoints and outbox (``WebhookStore``): the tables live in the
/// ledger file, and events are written inside the ledger's own write transactions.
extension Ledger: WebhookStore {
    /// The most live endpoints a tenant can have.
    public static let maximumWebhookEndpoints = 20

    public func addEndpoint(
        tenant: String, url: String, eventTypes: [WebhookEventType], description: String?, now: Date
    ) throws -> WebhookEndpoint {
        try WebhookEndpoint.check(url: url, description: description)
        guard !eventTypes.isEmpty else { throw LedgerError.invalidInput("name at least one event type") }
        let endpoint = WebhookEndpoint(
            id: WebhookEndpoint.newID(), tenant: tenant, url: url, eventTypes: eventTypes.sorted(),
            description: description, secrets: [WebhookSecret.generate()],
            createdAt: LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(now)))
        return try writer.write { db in
            let live =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM webhook_endpoint WHERE tenant = ? AND removed_at_ms IS NULL",
                    arguments: [tenant]) ?? 0
            guard live < Self.maximumWebhookEndpoints else {
                throw LedgerError.invalidInput(
                    "\(tenant) already has \(Self.maximumWebhookEndpoints) webhook endpoints; remove one first")
            }
            try db.execute(
                sql: """
                    INSERT INTO webhook_endpoint(id, tenant, url, event_types, description, secrets, created_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    endpoint.id, tenant, url, endpoint.eventTypes.map(\.rawValue).joined(separator: ","), description,
                    try WebhookSecret.stored(endpoint.secrets), LedgerEntry.milliseconds(now),
                ])
            return endpoint
        }
    }

    public func endpoints(tenant: String) throws -> [WebhookEndpoint] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM webhook_endpoint WHERE tenant = ? AND removed_at_ms IS NULL ORDER BY created_at_ms, id",
                arguments: [tenant]
            ).map(Self.endpoint)
        }
    }

    public func removeEndpoint(id: String, tenant: String, now: Date) throws {
        try writer.write { db in
            _ = try Self.liveEndpoint(db, id: id, tenant: tenant)
            let ms = LedgerEntry.milliseconds(now)
            try db.execute(sql: "UPDATE webhook_endpoint SET removed_at_ms = ? WHERE id = ?", arguments: [ms, id])
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = 'failed', last_error = 'the endpoint was removed',
                        lease_owner = NULL, lease_until_ms = 0
                    WHERE endpoint_id = ? AND state = 'pending'
                    """, arguments: [id])
        }
    }

    public func rotateSecret(id: String, tenant: String, previousExpiresAt: Date, now: Date) throws
        -> WebhookEndpoint
    {
        try writer.write { db in
            var endpoint = try Self.liveEndpoint(db, id: id, tenant: tenant)
            endpoint.secrets = WebhookRotation.rotate(endpoint.secrets, previousExpiresAt: previousExpiresAt, now: now)
            try db.execute(
                sql: "UPDATE webhook_endpoint SET secrets = ? WHERE id = ?",
                arguments: [try WebhookSecret.stored(endpoint.secrets), id])
            return endpoint
        }
    }

    public func setEndpointEnabled(id: String, tenant: String, enabled: Bool, reason: String?, now: Date) throws
        -> WebhookEndpoint
    {
        try writer.write { db in
            _ = try Self.liveEndpoint(db, id: id, tenant: tenant)
            if enabled {
                try db.execute(
                    sql: "UPDATE webhook_endpoint SET disabled_at_ms = NULL, disabled_reason = NULL WHERE id = ?",
                    arguments: [id])
            } else {
                try db.execute(
                    sql:
                        "UPDATE webhook_endpoint SET disabled_at_ms = ?, disabled_reason = ? WHERE id = ? AND disabled_at_ms IS NULL",
                    arguments: [LedgerEntry.milliseconds(now), reason ?? "disabled by an admin", id])
            }
            return try Self.liveEndpoint(db, id: id, tenant: tenant)
        }
    }

    public func enqueue(_ event: WebhookEvent, now: Date) throws -> Int {
        try writer.write { db in try Self.emit(db, tenant: event.tenant, now: now) { [event] } }
    }

    public func claimDeliveries(owner: String, limit: Int, lease: TimeInterval, now: Date) throws
        -> [ClaimedDelivery]
    {
        let ms = LedgerEntry.milliseconds(now)
        let until = LedgerEntry.milliseconds(now.addingTimeInterval(lease))
        return try writer.write { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.event_id, d.endpoint_id, d.attempts FROM webhook_delivery d
                    JOIN webhook_endpoint e ON e.id = d.endpoint_id
                    WHERE d.state = 'pending' AND d.next_attempt_at_ms <= ? AND d.lease_until_ms <= ?
                        AND e.disabled_at_ms IS NULL AND e.removed_at_ms IS NULL
                    ORDER BY d.next_attempt_at_ms LIMIT ?
                    """, arguments: [ms, ms, limit])
            var claimed: [ClaimedDelivery] = []
            for row in due {
                let eventID: String = row["event_id"]
                let endpointID: String = row["endpoint_id"]
                try db.execute(
                    sql:
                        "UPDATE webhook_delivery SET lease_owner = ?, lease_until_ms = ? WHERE event_id = ? AND endpoint_id = ?",
                    arguments: [owner, until, eventID, endpointID])
                claimed.append(
                    ClaimedDelivery(
                        event: try Self.event(db, id: eventID), endpoint: try Self.endpoint(db, id: endpointID),
                        attempt: (row["attempts"] as Int) + 1))
            }
            return claimed
        }
    }

    public func finishDelivery(
        _ delivery: ClaimedDelivery, owner: String, result: WebhookAttemptResult, retryAt: Date?, now: Date
    ) throws {
        let ms = LedgerEntry.milliseconds(now)
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_attempt(event_id, endpoint_id, attempted_at_ms, status, error, duration_ms, trigger)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    delivery.event.id, delivery.endpoint.id, ms, result.status, result.error, result.durationMs,
                    result.trigger,
                ])
            let next = WebhookAttemptResult.outcome(result, retryAt: retryAt)
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = ?, attempts = attempts + 1, next_attempt_at_ms = ?,
                        last_status = ?, last_error = ?, delivered_at_ms = ?, lease_owner = NULL, lease_until_ms = 0
                    WHERE event_id = ? AND endpoint_id = ? AND lease_owner = ? AND state = 'pending'
                    """,
                arguments: [
                    next.state, next.next.map(LedgerEntry.milliseconds) ?? ms, result.status, result.error,
                    result.delivered ? ms : nil, delivery.event.id, delivery.endpoint.id, owner,
                ])
            if result.gone {
                try db.execute(
                    sql:
                        "UPDATE webhook_endpoint SET disabled_at_ms = ?, disabled_reason = ? WHERE id = ? AND disabled_at_ms IS NULL",
                    arguments: [ms, WebhookAttemptResult.goneReason, delivery.endpoint.id])
            }
        }
    }

    public func deliveries(endpointID: String, tenant: String, limit: Int) throws -> [WebhookDeliveryRecord] {
        try writer.read { db in
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM webhook_endpoint WHERE id = ? AND tenant = ?",
                    arguments: [endpointID, tenant])
                    == true
            else { throw LedgerError.unknownWebhook("\(tenant) has no webhook endpoint \(endpointID)") }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, v.type FROM webhook_delivery d JOIN webhook_event v ON v.id = d.event_id
                    WHERE d.endpoint_id = ? ORDER BY d.created_at_ms DESC, d.rowid DESC LIMIT ?
                    """, arguments: [endpointID, max(1, min(limit, 1000))])
            return try rows.map { row in
                let eventID: String = row["event_id"]
                let log = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM webhook_attempt WHERE event_id = ? AND endpoint_id = ? ORDER BY rowid",
                    arguments: [eventID, endpointID]
                ).map { a in
                    WebhookDeliveryRecord.Attempt(
                        attemptedAt: LedgerEntry.date(milliseconds: a["attempted_at_ms"]), status: a["status"],
                        error: a["error"], durationMs: a["duration_ms"], trigger: a["trigger"])
                }
                let state: String = row["state"]
                return WebhookDeliveryRecord(
                    eventID: eventID, endpointID: endpointID, eventType: row["type"], state: state,
                    attempts: row["attempts"],
                    nextAttemptAt: WebhookDeliveryRecord.nextAttempt(
                        state: state, milliseconds: row["next_attempt_at_ms"]),
                    lastStatus: row["last_status"], lastError: row["last_error"],
                    deliveredAt: (row["delivered_at_ms"] as Int64?).map(LedgerEntry.date(milliseconds:)),
                    createdAt: LedgerEntry.date(milliseconds: row["created_at_ms"]), log: log)
            }
        }
    }

    public func replay(
        eventID: String, endpointID: String, tenant: String, owner: String, lease: TimeInterval, now: Date
    ) throws -> ClaimedDelivery {
        let ms = LedgerEntry.milliseconds(now)
        return try writer.write { db in
            let endpoint = try Self.liveEndpoint(db, id: endpointID, tenant: tenant)
            guard
                let attempts = try Int.fetchOne(
                    db, sql: "SELECT attempts FROM webhook_delivery WHERE event_id = ? AND endpoint_id = ?",
                    arguments: [eventID, endpointID])
            else {
                throw LedgerError.unknownWebhook("webhook endpoint \(endpointID) was never sent event \(eventID)")
            }
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = 'pending', next_attempt_at_ms = ?, lease_owner = ?, lease_until_ms = ?
                    WHERE event_id = ? AND endpoint_id = ?
                    """,
                arguments: [ms, owner, LedgerEntry.milliseconds(now.addingTimeInterval(lease)), eventID, endpointID])
            return ClaimedDelivery(event: try Self.event(db, id: eventID), endpoint: endpoint, attempt: attempts + 1)
        }
    }

    // MARK: - Inside the ledger's transactions

    /// Writes the events `make` builds into the outbox of every endpoint of `tenant` that
    /// subscribes to their types (`make` runs only when the tenant has an endpoint at all, so a
    /// tenant without webhooks pays one indexed lookup per write). Returns the deliveries made.
    @discardableResult
    static func emit(_ db: Database, tenant: String, now: Date, _ make: () throws -> [WebhookEvent]) throws -> Int {
        let endpoints = try Row.fetchAll(
            db,
            sql:
                "SELECT id, event_types FROM webhook_endpoint WHERE tenant = ? AND removed_at_ms IS NULL AND disabled_at_ms IS NULL",
            arguments: [tenant])
        guard !endpoints.isEmpty else { return 0 }
        let ms = LedgerEntry.milliseconds(now)
        var deliveries = 0
        for event in try make() {
            let subscribers = endpoints.filter { row in
                (row["event_types"] as String).split(separator: ",").contains { $0 == event.type.rawValue }
            }
            guard !subscribers.isEmpty else { continue }
            try db.execute(
                sql: "INSERT INTO webhook_event(id, tenant, type, body, created_at_ms) VALUES (?, ?, ?, ?, ?)",
                arguments: [event.id, tenant, event.type.rawValue, String(decoding: event.body, as: UTF8.self), ms])
            for row in subscribers {
                try db.execute(
                    sql: """
                        INSERT INTO webhook_delivery(event_id, endpoint_id, tenant, state, next_attempt_at_ms, created_at_ms)
                        VALUES (?, ?, ?, 'pending', 0, ?)
                        """, arguments: [event.id, row["id"] as String, tenant, ms])
                deliveries += 1
            }
        }
        return deliveries
    }

    /// The events of a `record` that wrote `written`.
    static func emitRecorded(_ db: Database, written: [LedgerEntry], now: Date) throws {
        guard let query = written.first(where: { $0.kind == .query }) else { return }
        try emit(db, tenant: query.tenant, now: now) {
            try WebhookPayload.events(
                recorded: written, conversation: try conversation(db, of: query), at: now)
        }
    }

    /// The events of a correction of `original`.
    static func emitCorrection(_ db: Database, correction: LedgerEntry, original: LedgerEntry, now: Date) throws {
        try emit(db, tenant: original.tenant, now: now) {
            try WebhookPayload.events(
                correction: correction, original: original, conversation: try conversation(db, of: original), at: now)
        }
    }

    /// The tenant's query rows of the same conversation before `query`, oldest first (at most 20).
    static func conversation(_ db: Database, of query: LedgerEntry) throws -> [LedgerEntry] {
        guard let conversationID = query.conversationID else { return [] }
        return try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM ledger_entry WHERE tenant = ? AND conversation_id = ? AND kind = 'query' AND seq < ?
                ORDER BY seq DESC LIMIT 20
                """, arguments: [query.tenant, conversationID, query.sequence]
        ).map(entry).reversed()
    }

    // MARK: - Rows

    static func liveEndpoint(_ db: Database, id: String, tenant: String) throws -> WebhookEndpoint {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM webhook_endpoint WHERE id = ? AND tenant = ? AND removed_at_ms IS NULL",
                arguments: [id, tenant])
        else { throw LedgerError.unknownWebhook("\(tenant) has no webhook endpoint \(id)") }
        return try endpoint(row)
    }

    static func endpoint(_ db: Database, id: String) throws -> WebhookEndpoint {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_endpoint WHERE id = ?", arguments: [id]) else {
            throw LedgerError.unknownWebhook("no webhook endpoint \(id)")
        }
        return try endpoint(row)
    }

    static func event(_ db: Database, id: String) throws -> WebhookEvent {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_event WHERE id = ?", arguments: [id]) else {
            throw LedgerError.unknownWebhook("no webhook event \(id)")
        }
        let type: String = try row.decode(forColumn: "type")
        guard let eventType = WebhookEventType(rawValue: type) else {
            throw LedgerError.invalidInput("webhook event \(id) has an unknown type \(type): the file is damaged")
        }
        return WebhookEvent(
            id: id, tenant: try row.decode(forColumn: "tenant"), type: eventType,
            body: Data((try row.decode(String.self, forColumn: "body")).utf8),
            createdAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "created_at_ms")))
    }

    static func endpoint(_ row: Row) throws -> WebhookEndpoint {
        let types: String = try row.decode(forColumn: "event_types")
        return WebhookEndpoint(
            id: try row.decode(forColumn: "id"), tenant: try row.decode(forColumn: "tenant"),
            url: try row.decode(forColumn: "url"),
            eventTypes: types.split(separator: ",").compactMap { WebhookEventType(rawValue: String($0)) },
            description: try row.decode(forColumn: "description"),
            secrets: try WebhookSecret.decodeStored(try row.decode(forColumn: "secrets")),
            createdAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "created_at_ms")),
            disabledAt: (try row.decode(Int64?.self, forColumn: "disabled_at_ms")).map(LedgerEntry.date(milliseconds:)),
            disabledReason: try row.decode(forColumn: "disabled_reason"))
    }
}

/// A secret rotation, the same on every backend: a new secret first; the previous ones that
/// have not expired keep signing until `previousExpiresAt` (at most two old ones are kept).
public enum WebhookRotation {
    public static func rotate(_ secrets: [WebhookSecret], previousExpiresAt: Date, now: Date) -> [WebhookSecret] {
        let expires = LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(previousExpiresAt))
        let kept = secrets.filter { $0.expiresAt.map { $0 > now } ?? true }.prefix(2).map { old in
            WebhookSecret(secret: old.secret, expiresAt: min(old.expiresAt ?? expires, expires))
        }.filter { $0.expiresAt.map { $0 > now } ?? true }
        return [WebhookSecret.generate()] + kept
    }
}

extension WebhookAttemptResult {
    /// Why an endpoint was disabled after a 410.
    public static let goneReason = "the receiver answered 410 Gone"

    /// The state a finished attempt leaves its delivery in, and when it is tried next (the same
    /// on every backend): `delivered`; `failed` after a 410 or when the schedule is used up;
    /// else `pending` until `retryAt`.
    public static func outcome(_ result: WebhookAttemptResult, retryAt: Date?) -> (state: String, next: Date?) {
        if result.delivered { return ("delivered", nil) }
        if result.gone { return ("failed", nil) }
        if let retryAt { return ("pending", retryAt) }
        return ("failed", nil)
    }
}
