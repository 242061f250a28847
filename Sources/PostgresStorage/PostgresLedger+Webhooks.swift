import Foundation
import Logging
import Metering
import PostgresNIO

/// Webhook endpoints and the outbox on PostgreSQL (``WebhookStore``), shared by every node. An
/// event is written in the transaction of the ledger row it reports (under the tenant's append
/// lock); nodes take due deliveries with `FOR UPDATE SKIP LOCKED` and a lease, so each delivery is
/// sent by one node at a time, and by another when the first dies before finishing it.
extension PostgresLedger: WebhookStore {
    public func addEndpoint(
        tenant: String, url: String, eventTypes: [WebhookEventType], description: String?, now: Date
    ) async throws -> WebhookEndpoint {
        try WebhookEndpoint.check(url: url, description: description)
        guard !eventTypes.isEmpty else { throw LedgerError.invalidInput("name at least one event type") }
        let endpoint = WebhookEndpoint(
            id: WebhookEndpoint.newID(), tenant: tenant, url: url, eventTypes: eventTypes.sorted(),
            description: description, secrets: [WebhookSecret.generate()],
            createdAt: LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(now)))
        let logger = database.logger
        let types = endpoint.eventTypes.map(\.rawValue).joined(separator: ",")
        let secrets = try Self.storedSecrets(endpoint.secrets)
        let ms = LedgerEntry.milliseconds(now)
        return try await database.transaction { connection in
            try await Self.lock(tenant: tenant, on: connection, logger: logger)
            let live =
                try await connection.run(
                    "SELECT COUNT(*) FROM webhook_endpoint WHERE tenant = \(tenant) AND removed_at_ms IS NULL",
                    logger: logger
                ).first?.decode(Int.self) ?? 0
            guard live < Ledger.maximumWebhookEndpoints else {
                throw LedgerError.invalidInput(
                    "\(tenant) already has \(Ledger.maximumWebhookEndpoints) webhook endpoints; remove one first")
            }
            try await connection.run(
                """
                INSERT INTO webhook_endpoint(id, tenant, url, event_types, description, secrets, created_at_ms)
                VALUES (\(endpoint.id), \(tenant), \(url), \(types), \(description), \(secrets), \(ms))
                """, logger: logger)
            return endpoint
        }
    }

    public func endpoints(tenant: String) async throws -> [WebhookEndpoint] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run(
                """
                SELECT * FROM webhook_endpoint WHERE tenant = \(tenant) AND removed_at_ms IS NULL
                ORDER BY created_at_ms, id
                """, logger: logger
            ).map(Self.endpoint)
        }
    }

    public func removeEndpoint(id: String, tenant: String, now: Date) async throws {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        try await database.transaction { connection in
            _ = try await Self.liveEndpoint(id: id, tenant: tenant, on: connection, logger: logger)
            try await connection.run(
                "UPDATE webhook_endpoint SET removed_at_ms = \(ms) WHERE id = \(id)", logger: logger)
            try await connection.run(
                """
                UPDATE webhook_delivery SET state = 'failed', last_error = 'the endpoint was removed',
                    lease_owner = NULL, lease_until_ms = 0
                WHERE endpoint_id = \(id) AND state = 'pending'
                """, logger: logger)
        }
    }

    public func rotateSecret(id: String, tenant: String, previousExpiresAt: Date, now: Date) async throws
        -> WebhookEndpoint
    {
        let logger = database.logger
        return try await database.transaction { connection in
            var endpoint = try await Self.liveEndpoint(id: id, tenant: tenant, on: connection, logger: logger)
            endpoint.secrets = WebhookRotation.rotate(endpoint.secrets, previousExpiresAt: previousExpiresAt, now: now)
            let secrets = try Self.storedSecrets(endpoint.secrets)
            try await connection.run(
                "UPDATE webhook_endpoint SET secrets = \(secrets) WHERE id = \(id)", logger: logger)
            return endpoint
        }
    }

    public func setEndpointEnabled(id: String, tenant: String, enabled: Bool, reason: String?, now: Date) async throws
        -> WebhookEndpoint
    {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        let why = reason ?? "disabled by an admin"
        return try await database.transaction { connection in
            _ = try await Self.liveEndpoint(id: id, tenant: tenant, on: connection, logger: logger)
            if enabled {
                try await connection.run(
                    "UPDATE webhook_endpoint SET disabled_at_ms = NULL, disabled_reason = NULL WHERE id = \(id)",
                    logger: logger)
            } else {
                try await connection.run(
                    """
                    UPDATE webhook_endpoint SET disabled_at_ms = \(ms), disabled_reason = \(why)
                    WHERE id = \(id) AND disabled_at_ms IS NULL
                    """, logger: logger)
            }
            return try await Self.liveEndpoint(id: id, tenant: tenant, on: connection, logger: logger)
        }
    }

    public func enqueue(_ event: WebhookEvent, now: Date) async throws -> Int {
        let logger = database.logger
        return try await database.transaction { connection in
            try await Self.emit(tenant: event.tenant, now: now, on: connection, logger: logger) { [event] }
        }
    }

    public func claimDeliveries(owner: String, limit: Int, lease: TimeInterval, now: Date) async throws
        -> [ClaimedDelivery]
    {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        let until = LedgerEntry.milliseconds(now.addingTimeInterval(lease))
        return try await database.transaction { connection in
            // SKIP LOCKED: nodes polling at once each take different deliveries, none waits.
            let rows = try await connection.run(
                """
                UPDATE webhook_delivery d SET lease_owner = \(owner), lease_until_ms = \(until)
                FROM (
                    SELECT d2.event_id, d2.endpoint_id FROM webhook_delivery d2
                    JOIN webhook_endpoint e ON e.id = d2.endpoint_id
                    WHERE d2.state = 'pending' AND d2.next_attempt_at_ms <= \(ms) AND d2.lease_until_ms <= \(ms)
                        AND e.disabled_at_ms IS NULL AND e.removed_at_ms IS NULL
                    ORDER BY d2.next_attempt_at_ms LIMIT \(limit)
                    FOR UPDATE OF d2 SKIP LOCKED
                ) due
                WHERE d.event_id = due.event_id AND d.endpoint_id = due.endpoint_id
                RETURNING d.event_id, d.endpoint_id, d.attempts
                """, logger: logger)
            var claimed: [ClaimedDelivery] = []
            for row in rows {
                let (eventID, endpointID, attempts) = try row.decode((String, String, Int).self)
                claimed.append(
                    ClaimedDelivery(
                        event: try await Self.event(id: eventID, on: connection, logger: logger),
                        endpoint: try await Self.endpoint(id: endpointID, on: connection, logger: logger),
                        attempt: attempts + 1))
            }
            return claimed
        }
    }

    public func finishDelivery(
        _ delivery: ClaimedDelivery, owner: String, result: WebhookAttemptResult, retryAt: Date?, now: Date
    ) async throws {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        let (state, next) = WebhookAttemptResult.outcome(result, retryAt: retryAt)
        let nextMs = next.map(LedgerEntry.milliseconds) ?? ms
        let deliveredMs: Int64? = result.delivered ? ms : nil
        let (eventID, endpointID) = (delivery.event.id, delivery.endpoint.id)
        try await database.transaction { connection in
            try await connection.run(
                """
                INSERT INTO webhook_attempt(event_id, endpoint_id, attempted_at_ms, status, error, duration_ms, trigger)
                VALUES (\(eventID), \(endpointID), \(ms), \(result.status), \(result.error), \(result.durationMs),
                    \(result.trigger))
                """, logger: logger)
            try await connection.run(
                """
                UPDATE webhook_delivery SET state = \(state), attempts = attempts + 1, next_attempt_at_ms = \(nextMs),
                    last_status = \(result.status), last_error = \(result.error), delivered_at_ms = \(deliveredMs),
                    lease_owner = NULL, lease_until_ms = 0
                WHERE event_id = \(eventID) AND endpoint_id = \(endpointID) AND lease_owner = \(owner)
                    AND state = 'pending'
                """, logger: logger)
            if result.gone {
                let reason = WebhookAttemptResult.goneReason
                try await connection.run(
                    """
                    UPDATE webhook_endpoint SET disabled_at_ms = \(ms), disabled_reason = \(reason)
                    WHERE id = \(endpointID) AND disabled_at_ms IS NULL
                    """, logger: logger)
            }
        }
    }

    public func deliveries(endpointID: String, tenant: String, limit: Int) async throws -> [WebhookDeliveryRecord] {
        let logger = database.logger
        let limit = max(1, min(limit, 1000))
        return try await database.connection { connection in
            let owned =
                try await connection.run(
                    "SELECT EXISTS (SELECT 1 FROM webhook_endpoint WHERE id = \(endpointID) AND tenant = \(tenant))",
                    logger: logger
                ).first?.decode(Bool.self) ?? false
            guard owned else { throw LedgerError.unknownWebhook("\(tenant) has no webhook endpoint \(endpointID)") }
            let rows = try await connection.run(
                """
                SELECT d.event_id, v.type, d.state, d.attempts, d.next_attempt_at_ms, d.last_status, d.last_error,
                    d.delivered_at_ms, d.created_at_ms
                FROM webhook_delivery d JOIN webhook_event v ON v.id = d.event_id
                WHERE d.endpoint_id = \(endpointID) ORDER BY d.created_at_ms DESC, d.event_id DESC LIMIT \(limit)
                """, logger: logger)
            var records: [WebhookDeliveryRecord] = []
            for row in rows {
                let (eventID, type, state, attempts, nextMs, lastStatus, lastError, deliveredMs, createdMs) =
                    try row.decode((String, String, String, Int, Int64, Int?, String?, Int64?, Int64).self)
                let log = try await connection.run(
                    """
                    SELECT attempted_at_ms, status, error, duration_ms, trigger FROM webhook_attempt
                    WHERE event_id = \(eventID) AND endpoint_id = \(endpointID) ORDER BY attempted_at_ms
                    """, logger: logger
                ).map { a in
                    let (at, status, error, duration, trigger) = try a.decode((Int64, Int?, String?, Int, String).self)
                    return WebhookDeliveryRecord.Attempt(
                        attemptedAt: LedgerEntry.date(milliseconds: at), status: status, error: error,
                        durationMs: duration, trigger: trigger)
                }
                records.append(
                    WebhookDeliveryRecord(
                        eventID: eventID, endpointID: endpointID, eventType: type, state: state, attempts: attempts,
                        nextAttemptAt: WebhookDeliveryRecord.nextAttempt(state: state, milliseconds: nextMs),
                        lastStatus: lastStatus, lastError: lastError,
                        deliveredAt: deliveredMs.map(LedgerEntry.date(milliseconds:)),
                        createdAt: LedgerEntry.date(milliseconds: createdMs), log: log))
            }
            return records
        }
    }

    public func replay(
        eventID: String, endpointID: String, tenant: String, owner: String, lease: TimeInterval, now: Date
    ) async throws -> ClaimedDelivery {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        let until = LedgerEntry.milliseconds(now.addingTimeInterval(lease))
        return try await database.transaction { connection in
            let endpoint = try await Self.liveEndpoint(id: endpointID, tenant: tenant, on: connection, logger: logger)
            guard
                let attempts = try await connection.run(
                    """
                    SELECT attempts FROM webhook_delivery WHERE event_id = \(eventID) AND endpoint_id = \(endpointID)
                    FOR UPDATE
                    """, logger: logger
                ).first?.decode(Int.self)
            else {
                throw LedgerError.unknownWebhook("webhook endpoint \(endpointID) was never sent event \(eventID)")
            }
            try await connection.run(
                """
                UPDATE webhook_delivery SET state = 'pending', next_attempt_at_ms = \(ms), lease_owner = \(owner),
                    lease_until_ms = \(until)
                WHERE event_id = \(eventID) AND endpoint_id = \(endpointID)
                """, logger: logger)
            return ClaimedDelivery(
                event: try await Self.event(id: eventID, on: connection, logger: logger), endpoint: endpoint,
                attempt: attempts + 1)
        }
    }

    // MARK: - Inside the ledger's transactions

    /// Writes the events `make` builds into the outbox of every subscribed endpoint of `tenant`
    /// (`make` runs only when the tenant has an endpoint at all).
    @discardableResult
    static func emit(
        tenant: String, now: Date, on connection: PostgresConnection, logger: Logger,
        _ make: () async throws -> [WebhookEvent]
    ) async throws -> Int {
        let endpoints = try await connection.run(
            """
            SELECT id, event_types FROM webhook_endpoint
            WHERE tenant = \(tenant) AND removed_at_ms IS NULL AND disabled_at_ms IS NULL
            """, logger: logger
        ).map { try $0.decode((String, String).self) }
        guard !endpoints.isEmpty else { return 0 }
        let ms = LedgerEntry.milliseconds(now)
        var deliveries = 0
        for event in try await make() {
            let subscribers = endpoints.filter { $0.1.split(separator: ",").contains { $0 == event.type.rawValue } }
            guard !subscribers.isEmpty else { continue }
            let body = String(decoding: event.body, as: UTF8.self)
            try await connection.run(
                """
                INSERT INTO webhook_event(id, tenant, type, body, created_at_ms)
                VALUES (\(event.id), \(tenant), \(event.type.rawValue), \(body), \(ms))
                """, logger: logger)
            for (endpointID, _) in subscribers {
                try await connection.run(
                    """
                    INSERT INTO webhook_delivery(event_id, endpoint_id, tenant, state, next_attempt_at_ms, created_at_ms)
                    VALUES (\(event.id), \(endpointID), \(tenant), 'pending', 0, \(ms))
                    """, logger: logger)
                deliveries += 1
            }
        }
        return deliveries
    }

    static func emitRecorded(_ written: [LedgerEntry], now: Date, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard let query = written.first(where: { $0.kind == .query }) else { return }
        try await emit(tenant: query.tenant, now: now, on: connection, logger: logger) {
            try WebhookPayload.events(
                recorded: written,
                conversation: try await conversation(of: query, on: connection, logger: logger), at: now)
        }
    }

    static func emitCorrection(
        _ correction: LedgerEntry, original: LedgerEntry, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await emit(tenant: original.tenant, now: now, on: connection, logger: logger) {
            try WebhookPayload.events(
                correction: correction, original: original,
                conversation: try await conversation(of: original, on: connection, logger: logger), at: now)
        }
    }

    static func conversation(of query: LedgerEntry, on connection: PostgresConnection, logger: Logger) async throws
        -> [LedgerEntry]
    {
        guard let conversationID = query.conversationID else { return [] }
        return try await connection.run(
            """
            SELECT * FROM ledger_entry WHERE tenant = \(query.tenant) AND conversation_id = \(conversationID)
                AND kind = 'query' AND seq < \(query.sequence)
            ORDER BY seq DESC LIMIT 20
            """, logger: logger
        ).map(entry).reversed()
    }

    // MARK: - Rows

    static func storedSecrets(_ secrets: [WebhookSecret]) throws -> String {
        String(decoding: try JSONEncoder().encode(secrets), as: UTF8.self)
    }

    static func liveEndpoint(id: String, tenant: String, on connection: PostgresConnection, logger: Logger)
        async throws -> WebhookEndpoint
    {
        guard
            let row = try await connection.run(
                "SELECT * FROM webhook_endpoint WHERE id = \(id) AND tenant = \(tenant) AND removed_at_ms IS NULL",
                logger: logger
            ).first
        else { throw LedgerError.unknownWebhook("\(tenant) has no webhook endpoint \(id)") }
        return try endpoint(row)
    }

    static func endpoint(id: String, on connection: PostgresConnection, logger: Logger) async throws -> WebhookEndpoint
    {
        guard
            let row = try await connection.run("SELECT * FROM webhook_endpoint WHERE id = \(id)", logger: logger).first
        else { throw LedgerError.unknownWebhook("no webhook endpoint \(id)") }
        return try endpoint(row)
    }

    static func event(id: String, on connection: PostgresConnection, logger: Logger) async throws -> WebhookEvent {
        guard
            let row = try await connection.run(
                "SELECT tenant, type, body, created_at_ms FROM webhook_event WHERE id = \(id)", logger: logger
            ).first
        else { throw LedgerError.unknownWebhook("no webhook event \(id)") }
        let (tenant, type, body, createdMs) = try row.decode((String, String, String, Int64).self)
        guard let eventType = WebhookEventType(rawValue: type) else {
            throw LedgerError.invalidInput("webhook event \(id) has an unknown type \(type): the table is damaged")
        }
        return WebhookEvent(
            id: id, tenant: tenant, type: eventType, body: Data(body.utf8),
            createdAt: LedgerEntry.date(milliseconds: createdMs))
    }

    static func endpoint(_ row: PostgresRow) throws -> WebhookEndpoint {
        let r = row.makeRandomAccess()
        let types = try r["event_types"].decode(String.self)
        let secrets = try r["secrets"].decode(String.self)
        return WebhookEndpoint(
            id: try r["id"].decode(String.self), tenant: try r["tenant"].decode(String.self),
            url: try r["url"].decode(String.self),
            eventTypes: types.split(separator: ",").compactMap { WebhookEventType(rawValue: String($0)) },
            description: try r["description"].decode(String?.self),
            secrets: try WebhookSecret.decodeStored(secrets),
            createdAt: LedgerEntry.date(milliseconds: try r["created_at_ms"].decode(Int64.self)),
            disabledAt: try r["disabled_at_ms"].decode(Int64?.self).map(LedgerEntry.date(milliseconds:)),
            disabledReason: try r["disabled_reason"].decode(String?.self))
    }
}
