import Foundation
import Logging
import Metering
import PostgresNIO

/// Spend caps and alerts on PostgreSQL (``SpendControlStore``). An alert's evaluation runs under
/// the tenant's append lock, so two nodes evaluating at once change its state once, and its event
/// is written in the same transaction.
extension PostgresLedger: SpendControlStore {
    public func setSpendCap(tenant: String, cap: SpendCap?) async throws {
        let logger = database.logger
        try await database.transaction { connection in
            if let cap {
                let updated = LedgerEntry.milliseconds(cap.updatedAt)
                try await connection.run(
                    """
                    INSERT INTO spend_cap(tenant, cap_micros, mode, stops, updated_at_ms)
                    VALUES (\(tenant), \(cap.capMicros), \(cap.mode.rawValue), \(cap.stops.rawValue), \(updated))
                    ON CONFLICT (tenant) DO UPDATE SET cap_micros = EXCLUDED.cap_micros, mode = EXCLUDED.mode,
                        stops = EXCLUDED.stops, updated_at_ms = EXCLUDED.updated_at_ms
                    """, logger: logger)
            } else {
                try await connection.run("DELETE FROM spend_cap WHERE tenant = \(tenant)", logger: logger)
            }
        }
    }

    public func spendCap(tenant: String) async throws -> SpendCap? {
        let logger = database.logger
        return try await database.connection { connection in
            guard
                let row = try await connection.run(
                    "SELECT cap_micros, mode, stops, updated_at_ms FROM spend_cap WHERE tenant = \(tenant)",
                    logger: logger
                ).first
            else { return nil }
            let (micros, mode, stops, updated) = try row.decode((Int64, String, String, Int64).self)
            guard let decodedMode = SpendCap.Mode(rawValue: mode), let decodedStops = SpendCap.Stops(rawValue: stops)
            else { throw LedgerError.invalidInput("a stored spend cap is damaged (mode \(mode), stops \(stops))") }
            return SpendCap(
                capMicros: micros, mode: decodedMode, stops: decodedStops,
                updatedAt: LedgerEntry.date(milliseconds: updated))
        }
    }

    public func addAlert(tenant: String, metric: AlertMetric, threshold: AlertThreshold, name: String?, now: Date)
        async throws -> SpendAlert
    {
        try SpendAlertEvents.checkName(name)
        let alert = SpendAlert(
            id: SpendAlert.newID(), tenant: tenant, metric: metric, threshold: threshold, name: name,
            createdAt: LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(now)))
        let logger = database.logger
        let stored = SpendAlertEvents.stored(threshold)
        let ms = LedgerEntry.milliseconds(now)
        return try await database.transaction { connection in
            try await Self.lock(tenant: tenant, on: connection, logger: logger)
            let count =
                try await connection.run(
                    "SELECT COUNT(*) FROM spend_alert WHERE tenant = \(tenant) AND removed_at_ms IS NULL",
                    logger: logger
                ).first?.decode(Int.self) ?? 0
            guard count < SpendAlertEvents.maximumAlerts else {
                throw LedgerError.invalidInput(
                    "\(tenant) already has \(SpendAlertEvents.maximumAlerts) alerts; remove one first")
            }
            try await connection.run(
                """
                INSERT INTO spend_alert(id, tenant, metric, threshold, name, created_at_ms)
                VALUES (\(alert.id), \(tenant), \(metric.rawValue), \(stored), \(name), \(ms))
                """, logger: logger)
            return alert
        }
    }

    public func alerts(tenant: String) async throws -> [SpendAlert] {
        let logger = database.logger
        return try await database.connection { connection in
            try await Self.alerts(tenant: tenant, on: connection, logger: logger)
        }
    }

    public func removeAlert(id: String, tenant: String, now: Date) async throws {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        try await database.transaction { connection in
            let removed = try await connection.run(
                """
                UPDATE spend_alert SET removed_at_ms = \(ms)
                WHERE id = \(id) AND tenant = \(tenant) AND removed_at_ms IS NULL RETURNING id
                """, logger: logger)
            guard !removed.isEmpty else { throw LedgerError.unknownAlert("\(tenant) has no alert \(id)") }
        }
    }

    public func alertStates(tenant: String) async throws -> [AlertState] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run(
                """
                SELECT s.alert_id, s.period, s.state, s.triggered_at_ms, s.triggered_value, s.resolved_at_ms
                FROM spend_alert_state s JOIN spend_alert a ON a.id = s.alert_id
                WHERE a.tenant = \(tenant) ORDER BY s.period, s.alert_id
                """, logger: logger
            ).map { row in
                let (alertID, period, state, triggered, value, resolved) = try row.decode(
                    (String, String, String, Int64, String, Int64?).self)
                return AlertState(
                    alertID: alertID, period: period, inAlarm: state == "alarm",
                    triggeredAt: LedgerEntry.date(milliseconds: triggered), triggeredValue: value,
                    resolvedAt: resolved.map(LedgerEntry.date(milliseconds:)))
            }
        }
    }

    public func applyAlertObservations(tenant: String, _ observations: [AlertObservation], cap: SpendCap?, now: Date)
        async throws -> [AlertTransition]
    {
        let logger = database.logger
        let ms = LedgerEntry.milliseconds(now)
        return try await database.transaction { connection in
            try await Self.lock(tenant: tenant, on: connection, logger: logger)
            let live = Set(try await Self.alerts(tenant: tenant, on: connection, logger: logger).map(\.id))
            var transitions: [AlertTransition] = []
            var events: [WebhookEvent] = []
            for observation in observations where live.contains(observation.alert.id) {
                let alert = observation.alert
                let stale = try await connection.run(
                    """
                    UPDATE spend_alert_state SET state = 'resolved', resolved_at_ms = \(ms)
                    WHERE alert_id = \(alert.id) AND state = 'alarm' AND period <> \(observation.period)
                    RETURNING period
                    """, logger: logger)
                for row in stale {
                    let period = try row.decode(String.self)
                    transitions.append(AlertTransition(kind: .resolved, alertID: alert.id, period: period))
                    events.append(
                        try SpendAlertEvents.event(
                            .resolved, alert: alert, period: period, value: nil, thresholdValue: nil, cap: cap, now: now
                        ))
                }
                if observation.reached {
                    let shown = alert.display(observation.value)
                    let inserted = try await connection.run(
                        """
                        INSERT INTO spend_alert_state(alert_id, period, state, triggered_at_ms, triggered_value)
                        VALUES (\(alert.id), \(observation.period), 'alarm', \(ms), \(shown))
                        ON CONFLICT (alert_id, period) DO NOTHING RETURNING alert_id
                        """, logger: logger)
                    if !inserted.isEmpty {
                        transitions.append(
                            AlertTransition(kind: .triggered, alertID: alert.id, period: observation.period))
                        events.append(
                            try SpendAlertEvents.event(
                                .triggered, alert: alert, period: observation.period, value: observation.value,
                                thresholdValue: observation.thresholdValue, cap: cap, now: now))
                    }
                } else {
                    let resolved = try await connection.run(
                        """
                        UPDATE spend_alert_state SET state = 'resolved', resolved_at_ms = \(ms)
                        WHERE alert_id = \(alert.id) AND period = \(observation.period) AND state = 'alarm'
                        RETURNING alert_id
                        """, logger: logger)
                    if !resolved.isEmpty {
                        transitions.append(
                            AlertTransition(kind: .resolved, alertID: alert.id, period: observation.period))
                        events.append(
                            try SpendAlertEvents.event(
                                .resolved, alert: alert, period: observation.period, value: observation.value,
                                thresholdValue: observation.thresholdValue, cap: cap, now: now))
                    }
                }
            }
            if !events.isEmpty {
                try await Self.emit(tenant: tenant, now: now, on: connection, logger: logger) { events }
            }
            return transitions
        }
    }

    static func alerts(tenant: String, on connection: PostgresConnection, logger: Logger) async throws -> [SpendAlert] {
        try await connection.run(
            """
            SELECT id, metric, threshold, name, created_at_ms FROM spend_alert
            WHERE tenant = \(tenant) AND removed_at_ms IS NULL ORDER BY created_at_ms, id
            """, logger: logger
        ).map { row in
            let (id, metric, threshold, name, created) = try row.decode((String, String, String, String?, Int64).self)
            guard let decoded = AlertMetric(rawValue: metric) else {
                throw LedgerError.invalidInput("a stored alert has an unknown metric \(metric)")
            }
            return SpendAlert(
                id: id, tenant: tenant, metric: decoded, threshold: try SpendAlertEvents.threshold(stored: threshold),
                name: name, createdAt: LedgerEntry.date(milliseconds: created))
        }
    }
}
