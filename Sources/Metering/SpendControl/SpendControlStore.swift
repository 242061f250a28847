import Foundation

/// A tenant's spend cap and alerts, and each alert's state per month, kept in the ledger's
/// database (``Ledger`` on SQLite, `PostgresLedger` on PostgreSQL) so that an alert's change of
/// state and its webhook event are written in one transaction, and two nodes evaluating the same
/// alert at once produce one event.
public protocol SpendControlStore: Sendable {
    /// Sets (or with nil removes) the tenant's spend cap.
    func setSpendCap(tenant: String, cap: SpendCap?) async throws
    func spendCap(tenant: String) async throws -> SpendCap?

    func addAlert(tenant: String, metric: AlertMetric, threshold: AlertThreshold, name: String?, now: Date)
        async throws -> SpendAlert
    /// The tenant's alerts, oldest first.
    func alerts(tenant: String) async throws -> [SpendAlert]
    func removeAlert(id: String, tenant: String, now: Date) async throws
    /// The months each alert is or was in alarm: (alert id, period, in alarm now).
    func alertStates(tenant: String) async throws -> [AlertState]

    /// Applies what was observed: an alert that reached its threshold in a month it has not fired
    /// in fires (`alert.triggered`); one in alarm whose metric fell below resolves
    /// (`alert.resolved`), as does one still in alarm from an earlier month. Returns what changed;
    /// each change's webhook event is written in the same transaction.
    func applyAlertObservations(tenant: String, _ observations: [AlertObservation], cap: SpendCap?, now: Date)
        async throws -> [AlertTransition]
}

/// An alert's state in one month.
public struct AlertState: Sendable, Hashable, Encodable {
    public var alertID: String
    public var period: String
    public var inAlarm: Bool
    public var triggeredAt: Date
    public var triggeredValue: String
    public var resolvedAt: Date?

    public init(
        alertID: String, period: String, inAlarm: Bool, triggeredAt: Date, triggeredValue: String, resolvedAt: Date?
    ) {
        self.alertID = alertID
        self.period = period
        self.inAlarm = inAlarm
        self.triggeredAt = triggeredAt
        self.triggeredValue = triggeredValue
        self.resolvedAt = resolvedAt
    }

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id"
        case period
        case inAlarm = "in_alarm"
        case triggeredAt = "triggered_at"
        case triggeredValue = "triggered_value"
        case resolvedAt = "resolved_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(alertID, forKey: .alertID)
        try c.encode(period, forKey: .period)
        try c.encode(inAlarm, forKey: .inAlarm)
        try c.encode(JSONConvention.timestamp(triggeredAt), forKey: .triggeredAt)
        try c.encode(triggeredValue, forKey: .triggeredValue)
        try c.encode(resolvedAt.map(JSONConvention.timestamp), forKey: .resolvedAt)
    }
}

/// The shared parts of every backend's alert logic.
public enum SpendAlertEvents {
    /// The `alert.triggered` / `alert.resolved` event of a transition.
    public static func event(
        _ kind: AlertTransition.Kind, alert: SpendAlert, period: String, value: Int64?, thresholdValue: Int64?,
        cap: SpendCap?, now: Date
    ) throws -> WebhookEvent {
        var data: [String: Any] = [
            "tenant": alert.tenant, "alert_id": alert.id, "name": alert.name ?? NSNull(),
            "metric": alert.metric.rawValue, "threshold": alert.threshold.text(metric: alert.metric),
            "threshold_value": thresholdValue.map { alert.display($0) } ?? NSNull(),
            "value": value.map { alert.display($0) } ?? NSNull(), "period": period,
            "currency": "USD",
        ]
        data[kind == .triggered ? "triggered_at" : "resolved_at"] = JSONConvention.timestamp(now)
        if let cap {
            data["spend_cap"] = [
                "cap": Money.string(cap.amount), "mode": cap.mode.rawValue, "stops": cap.stops.rawValue,
            ]
        } else {
            data["spend_cap"] = NSNull()
        }
        return try WebhookEvent.make(
            tenant: alert.tenant, type: kind == .triggered ? .alertTriggered : .alertResolved, data: data, at: now)
    }

    /// Checks an alert's name: at most 100 characters, no control characters.
    public static func checkName(_ name: String?) throws {
        if let name,
            name.count > 100 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        {
            throw LedgerError.invalidInput("an alert name is at most 100 characters, without control characters")
        }
    }

    /// The stored form of a threshold: `abs:<value>` or `pct:<percent>`.
    public static func stored(_ threshold: AlertThreshold) -> String {
        switch threshold {
        case .absolute(let value): "abs:\(value)"
        case .percentOfCap(let percent): "pct:\(Money.string(percent))"
        }
    }

    public static func threshold(stored text: String) throws -> AlertThreshold {
        if text.hasPrefix("abs:"), let value = Int64(text.dropFirst(4)) { return .absolute(value) }
        if text.hasPrefix("pct:"),
            let value = Decimal(string: String(text.dropFirst(4)), locale: Locale(identifier: "en_US_POSIX"))
        {
            return .percentOfCap(value)
        }
        throw LedgerError.invalidInput("a stored alert threshold is damaged: \(text.prefix(40))")
    }

    /// The most alerts a tenant can have.
    public static let maximumAlerts = 50
}

/// The spend-control tables, the same on SQLite and PostgreSQL.
public enum SpendControlSchema {
    public static let statements: [String] = [
        """
        CREATE TABLE spend_cap (
            tenant TEXT PRIMARY KEY,
            cap_micros BIGINT NOT NULL CHECK (cap_micros > 0),
            mode TEXT NOT NULL CHECK (mode IN ('soft', 'hard')),
            stops TEXT NOT NULL CHECK (stops IN ('llm', 'llm_and_rag')),
            updated_at_ms BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE spend_alert (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            metric TEXT NOT NULL,
            threshold TEXT NOT NULL,
            name TEXT,
            created_at_ms BIGINT NOT NULL,
            removed_at_ms BIGINT
        )
        """,
        "CREATE INDEX spend_alert_by_tenant ON spend_alert(tenant)",
        // One row per alert and month it fired in: it fires at most once a month.
        """
        CREATE TABLE spend_alert_state (
            alert_id TEXT NOT NULL REFERENCES spend_alert(id),
            period TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('alarm', 'resolved')),
            triggered_at_ms BIGINT NOT NULL,
            triggered_value TEXT NOT NULL,
            resolved_at_ms BIGINT,
            PRIMARY KEY (alert_id, period)
        )
        """,
    ]

    static var sqlite: String { statements.joined(separator: ";\n") }
}
