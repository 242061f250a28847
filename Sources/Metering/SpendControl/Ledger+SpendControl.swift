import Foundation
import GRDB

/// The SQLite ledger's spend caps and alerts (``SpendControlStore``).
extension Ledger: SpendControlStore {
    public func setSpendCap(tenant: String, cap: SpendCap?) throws {
        try writer.write { db in
            if let cap {
                try db.execute(
                    sql: """
                        INSERT INTO spend_cap(tenant, cap_micros, mode, stops, updated_at_ms) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(tenant) DO UPDATE SET cap_micros = excluded.cap_micros, mode = excluded.mode,
                            stops = excluded.stops, updated_at_ms = excluded.updated_at_ms
                        """,
                    arguments: [
                        tenant, cap.capMicros, cap.mode.rawValue, cap.stops.rawValue,
                        LedgerEntry.milliseconds(cap.updatedAt),
                    ])
            } else {
                try db.execute(sql: "DELETE FROM spend_cap WHERE tenant = ?", arguments: [tenant])
            }
        }
    }

    public func spendCap(tenant: String) throws -> SpendCap? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM spend_cap WHERE tenant = ?", arguments: [tenant]).map(
                Self.spendCap)
        }
    }

    public func addAlert(tenant: String, metric: AlertMetric, threshold: AlertThreshold, name: String?, now: Date)
        throws -> SpendAlert
    {
        try SpendAlertEvents.checkName(name)
        let alert = SpendAlert(
            id: SpendAlert.newID(), tenant: tenant, metric: metric, threshold: threshold, name: name,
            createdAt: LedgerEntry.date(milliseconds: LedgerEntry.milliseconds(now)))
        return try writer.write { db in
            let count =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM spend_alert WHERE tenant = ? AND removed_at_ms IS NULL",
                    arguments: [tenant]) ?? 0
            guard count < SpendAlertEvents.maximumAlerts else {
                throw LedgerError.invalidInput(
                    "\(tenant) already has \(SpendAlertEvents.maximumAlerts) alerts; remove one first")
            }
            try db.execute(
                sql:
                    "INSERT INTO spend_alert(id, tenant, metric, threshold, name, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    alert.id, tenant, metric.rawValue, SpendAlertEvents.stored(threshold), name,
                    LedgerEntry.milliseconds(now),
                ])
            return alert
        }
    }

    public func alerts(tenant: String) throws -> [SpendAlert] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM spend_alert WHERE tenant = ? AND removed_at_ms IS NULL ORDER BY created_at_ms, id",
                arguments: [tenant]
            ).map(Self.alert)
        }
    }

    public func removeAlert(id: String, tenant: String, now: Date) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE spend_alert SET removed_at_ms = ? WHERE id = ? AND tenant = ? AND removed_at_ms IS NULL",
                arguments: [LedgerEntry.milliseconds(now), id, tenant])
            guard db.changesCount > 0 else { throw LedgerError.unknownAlert("\(tenant) has no alert \(id)") }
        }
    }

    public func alertStates(tenant: String) throws -> [AlertState] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.* FROM spend_alert_state s JOIN spend_alert a ON a.id = s.alert_id
                    WHERE a.tenant = ? ORDER BY s.period, s.alert_id
                    """, arguments: [tenant]
            ).map(Self.alertState)
        }
    }

    public func applyAlertObservations(tenant: String, _ observations: [AlertObservation], cap: SpendCap?, now: Date)
        throws -> [AlertTransition]
    {
        let ms = LedgerEntry.milliseconds(now)
        return try writer.write { db in
            var transitions: [AlertTransition] = []
            var events: [WebhookEvent] = []
            let alerts = Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(
                    db, sql: "SELECT * FROM spend_alert WHERE tenant = ? AND removed_at_ms IS NULL", arguments: [tenant]
                ).map { row -> (String, SpendAlert) in
                    let alert = try Self.alert(row); return (alert.id, alert)
                })
            for observation in observations where alerts[observation.alert.id] != nil {
                let alert = observation.alert
                // An alarm left from an earlier month resolves: that month is over.
                let stale = try Row.fetchAll(
                    db,
                    sql: "SELECT period FROM spend_alert_state WHERE alert_id = ? AND state = 'alarm' AND period <> ?",
                    arguments: [alert.id, observation.period])
                for row in stale {
                    let period: String = row["period"]
                    try db.execute(
                        sql: """
                            UPDATE spend_alert_state SET state = 'resolved', resolved_at_ms = ?
                            WHERE alert_id = ? AND period = ? AND state = 'alarm'
                            """, arguments: [ms, alert.id, period])
                    if db.changesCount > 0 {
                        transitions.append(AlertTransition(kind: .resolved, alertID: alert.id, period: period))
                        events.append(
                            try SpendAlertEvents.event(
                                .resolved, alert: alert, period: period, value: nil, thresholdValue: nil, cap: cap,
                                now: now))
                    }
                }
                if observation.reached {
                    try db.execute(
                        sql: """
                            INSERT INTO spend_alert_state(alert_id, period, state, triggered_at_ms, triggered_value)
                            VALUES (?, ?, 'alarm', ?, ?) ON CONFLICT(alert_id, period) DO NOTHING
                            """, arguments: [alert.id, observation.period, ms, alert.display(observation.value)])
                    if db.changesCount > 0 {
                        transitions.append(
                            AlertTransition(kind: .triggered, alertID: alert.id, period: observation.period))
                        events.append(
                            try SpendAlertEvents.event(
                                .triggered, alert: alert, period: observation.period, value: observation.value,
                                thresholdValue: observation.thresholdValue, cap: cap, now: now))
                    }
                } else {
                    try db.execute(
                        sql: """
                            UPDATE spend_alert_state SET state = 'resolved', resolved_at_ms = ?
                            WHERE alert_id = ? AND period = ? AND state = 'alarm'
                            """, arguments: [ms, alert.id, observation.period])
                    if db.changesCount > 0 {
                        transitions.append(
                            AlertTransition(kind: .resolved, alertID: alert.id, period: observation.period))
                        events.append(
                            try SpendAlertEvents.event(
                                .resolved, alert: alert, period: observation.period, value: observation.value,
                                thresholdValue: observation.thresholdValue, cap: cap, now: now))
                    }
                }
            }
            if !events.isEmpty { try Self.emit(db, tenant: tenant, now: now) { events } }
            return transitions
        }
    }

    static func spendCap(_ row: Row) throws -> SpendCap {
        let mode: String = try row.decode(forColumn: "mode")
        let stops: String = try row.decode(forColumn: "stops")
        guard let decodedMode = SpendCap.Mode(rawValue: mode), let decodedStops = SpendCap.Stops(rawValue: stops) else {
            throw LedgerError.invalidInput("a stored spend cap is damaged (mode \(mode), stops \(stops))")
        }
        return SpendCap(
            capMicros: try row.decode(forColumn: "cap_micros"), mode: decodedMode, stops: decodedStops,
            updatedAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "updated_at_ms")))
    }

    static func alert(_ row: Row) throws -> SpendAlert {
        let metric: String = try row.decode(forColumn: "metric")
        guard let decoded = AlertMetric(rawValue: metric) else {
            throw LedgerError.invalidInput("a stored alert has an unknown metric \(metric)")
        }
        return SpendAlert(
            id: try row.decode(forColumn: "id"), tenant: try row.decode(forColumn: "tenant"), metric: decoded,
            threshold: try SpendAlertEvents.threshold(stored: try row.decode(forColumn: "threshold")),
            name: try row.decode(forColumn: "name"),
            createdAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "created_at_ms")))
    }

    static func alertState(_ row: Row) throws -> AlertState {
        AlertState(
            alertID: try row.decode(forColumn: "alert_id"), period: try row.decode(forColumn: "period"),
            inAlarm: (try row.decode(String.self, forColumn: "state")) == "alarm",
            triggeredAt: LedgerEntry.date(milliseconds: try row.decode(forColumn: "triggered_at_ms")),
            triggeredValue: try row.decode(forColumn: "triggered_value"),
            resolvedAt: (try row.decode(Int64?.self, forColumn: "resolved_at_ms")).map(LedgerEntry.date(milliseconds:)))
    }
}
