import Foundation

/// What an alert watches, month to date.
public enum AlertMetric: String, Sendable, CaseIterable, Codable {
    /// The model cost of running the tiers (what the spend cap limits).
    case modelCost = "model_cost"
    /// The month's invoice total so far.
    case billedAmount = "billed_amount"
    /// Resolutions billed this month.
    case billableResolutions = "billable_resolutions"
}

/// An alert's threshold: an absolute value (dollars, or a count of resolutions), or a percentage
/// of the tenant's spend cap (model cost only).
public enum AlertThreshold: Sendable, Hashable {
    /// Micro-dollars for money metrics, a count for resolutions.
    case absolute(Int64)
    /// Percent of the spend cap (80 means 80 %).
    case percentOfCap(Decimal)

    /// `150`, `149.50`, `80%`.
    public static func parse(_ text: String, metric: AlertMetric) throws -> AlertThreshold {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard metric == .modelCost else {
                throw LedgerError.invalidInput(
                    "a percentage threshold is a share of the spend cap, which limits model_cost; give \(metric.rawValue) an absolute threshold"
                )
            }
            guard let percent = Decimal(string: String(trimmed.dropLast()), locale: Locale(identifier: "en_US_POSIX")),
                percent > 0, percent <= 1000
            else {
                throw LedgerError.invalidInput(
                    "a percentage threshold is above 0 and at most 1000% (got \(trimmed.prefix(20)))")
            }
            return .percentOfCap(percent)
        }
        switch metric {
        case .billableResolutions:
            guard let count = Int64(trimmed), count > 0 else {
                throw LedgerError.invalidInput(
                    "a resolutions threshold is a whole number above 0 (got \(trimmed.prefix(20)))")
            }
            return .absolute(count)
        case .modelCost, .billedAmount:
            return .absolute(try SpendCap.parseAmount(trimmed))
        }
    }

    /// As stored and shown: `150.5` (dollars), `1000` (resolutions) or `80%`.
    public func text(metric: AlertMetric) -> String {
        switch self {
        case .percentOfCap(let percent): return "\(Money.string(percent))%"
        case .absolute(let value):
            return metric == .billableResolutions ? String(value) : Money.string(Money.dollars(micros: value))
        }
    }

    /// The value the metric is compared with, in the metric's unit (micro-dollars or a count);
    /// nil for a percentage when the tenant has no cap (the alert then waits).
    public func value(cap: SpendCap?) -> Int64? {
        switch self {
        case .absolute(let value): return value
        case .percentOfCap(let percent):
            guard let cap else { return nil }
            let micros = Decimal(cap.capMicros) * percent / 100
            return Int64(truncating: NSDecimalNumber(decimal: micros))
        }
    }
}

/// A threshold on one metric of one tenant. It fires once per month (`alert.triggered`) when the
/// metric reaches the threshold, and stays in alarm until the metric falls below it (a void, a
/// credit, or the month ending: `alert.resolved`); it does not fire again in the same month, so a
/// metric hovering at the threshold never floods the receiver.
public struct SpendAlert: Sendable, Hashable {
    /// `al_` and 24 hex digits.
    public var id: String
    public var tenant: String
    public var metric: AlertMetric
    public var threshold: AlertThreshold
    public var name: String?
    public var createdAt: Date

    public init(
        id: String, tenant: String, metric: AlertMetric, threshold: AlertThreshold, name: String?, createdAt: Date
    ) {
        self.id = id
        self.tenant = tenant
        self.metric = metric
        self.threshold = threshold
        self.name = name
        self.createdAt = createdAt
    }

    public static func newID() -> String { "al_" + WebhookRandom.hex(bytes: 12) }

    /// The metric's value in `usage`, in its unit (micro-dollars or a count); nil when unknown
    /// (a billed amount without a plan).
    public func observed(in usage: SpendUsage) -> Int64? {
        switch metric {
        case .modelCost: return usage.modelCostMicros
        case .billableResolutions: return Int64(usage.billableResolutions)
        case .billedAmount:
            return usage.billedAmount.map { Int64(truncating: NSDecimalNumber(decimal: $0 * 1_000_000)) }
        }
    }

    /// A value of this alert's metric as shown (`12.5` dollars, or a count).
    public func display(_ value: Int64) -> String {
        metric == .billableResolutions ? String(value) : Money.string(Money.dollars(micros: value))
    }
}

/// An alert's state in a month, and what changed when it was evaluated.
public struct AlertObservation: Sendable, Hashable {
    public var alert: SpendAlert
    /// The month (`2026-12`).
    public var period: String
    /// The metric's value and the threshold's, in the metric's unit.
    public var value: Int64
    public var thresholdValue: Int64

    public init(alert: SpendAlert, period: String, value: Int64, thresholdValue: Int64) {
        self.alert = alert
        self.period = period
        self.value = value
        self.thresholdValue = thresholdValue
    }

    public var reached: Bool { value >= thresholdValue }

    /// What `alert` observes in `usage` under `cap`; nil when it cannot be judged yet.
    public static func observe(_ alert: SpendAlert, usage: SpendUsage, cap: SpendCap?) -> AlertObservation? {
        guard let value = alert.observed(in: usage), let threshold = alert.threshold.value(cap: cap) else { return nil }
        return AlertObservation(alert: alert, period: usage.month, value: value, thresholdValue: threshold)
    }
}

/// An alert that changed state.
public struct AlertTransition: Sendable, Hashable {
    public enum Kind: String, Sendable { case triggered, resolved }
    public var kind: Kind
    public var alertID: String
    public var period: String

    public init(kind: Kind, alertID: String, period: String) {
        self.kind = kind
        self.alertID = alertID
        self.period = period
    }
}
