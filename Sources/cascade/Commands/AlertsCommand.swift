import ArgumentParser
import Cascade
import Foundation
import Metering
import Server

/// `cascade alerts`: thresholds on a tenant's month-to-date spending. `cascade serve` evaluates
/// them after questions and every 30 seconds, and sends `alert.triggered` / `alert.resolved`
/// webhooks.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Spend and usage alerts of a tenant (fire once a month; resolve when usage falls below).",
        subcommands: [Add.self, List.self, Remove.self])

    struct Common: ParsableArguments {
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Option(help: "Tenant.") var tenant: String
        @Flag(help: "Print JSON (snake_case keys, ISO-8601 UTC times).") var json = false

        func withStore<Result: Sendable>(
            create: Bool = false, _ body: @Sendable (any SpendControlStore) async throws -> Result
        ) async throws -> Result {
            let tenant = self.tenant
            return try await databaseOption.withControlAndLedger(
                ledgerOption, createControl: false, createLedger: create
            ) { control, ledger in
                if let control, try await control.tenant(tenant) == nil { throw ControlError.unknownTenant(tenant) }
                guard let store = ledger as? any SpendControlStore else {
                    throw ValidationError("this ledger keeps no alerts")
                }
                return try await body(store)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an alert: --metric model_cost --threshold 80% (of the spend cap), or an absolute value.")
        @OptionGroup var common: Common
        @Option(help: "model_cost, billed_amount or billable_resolutions.") var metric: String
        @Option(help: "Dollars (150), a count of resolutions (1000), or a percentage of the spend cap (80%).")
        var threshold: String
        @Option(help: "A label shown in the alert's events.") var name: String?

        func run() async throws {
            try await runReportingErrors {
                guard let chosen = AlertMetric(rawValue: metric) else {
                    throw ValidationError("--metric must be model_cost, billed_amount or billable_resolutions")
                }
                let parsed = try AlertThreshold.parse(threshold, metric: chosen)
                let (name, now) = (name, try CommandClock.now())
                let alert = try await common.withStore(create: true) { store in
                    if case .percentOfCap = parsed, try await store.spendCap(tenant: common.tenant) == nil {
                        Terminal.note(
                            "note: \(common.tenant) has no spend cap yet; this alert waits for one (cascade tenants set \(common.tenant) --spend-cap AMOUNT)"
                        )
                    }
                    return try await store.addAlert(
                        tenant: common.tenant, metric: chosen, threshold: parsed, name: name, now: now)
                }
                if common.json {
                    try Terminal.printJSON(AlertLine(alert: alert, states: []))
                } else {
                    print("\(alert.id)  \(alert.metric.rawValue) ≥ \(alert.threshold.text(metric: alert.metric))")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tenant's alerts and whether each is in alarm.")
        @OptionGroup var common: Common

        func run() async throws {
            try await runReportingErrors {
                let noLedger =
                    common.databaseOption.database == nil
                    && !FileManager.default.fileExists(atPath: common.ledgerOption.ledger)
                let (alerts, states) =
                    noLedger
                    ? ([], [])
                    : try await common.withStore { store in
                        (
                            try await store.alerts(tenant: common.tenant),
                            try await store.alertStates(tenant: common.tenant)
                        )
                    }
                if common.json {
                    try Terminal.printJSON(["alerts": alerts.map { AlertLine(alert: $0, states: states) }])
                    return
                }
                for alert in alerts {
                    let line = AlertLine(alert: alert, states: states)
                    print(
                        "\(alert.id)  \(alert.metric.rawValue) ≥ \(alert.threshold.text(metric: alert.metric))  \(line.inAlarmSince.map { "IN ALARM since \(JSONConvention.timestamp($0))" } ?? "ok")  \(alert.name ?? "")"
                    )
                }
                if alerts.isEmpty { print("no alerts for \(common.tenant)") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alert.")
        @OptionGroup var common: Common
        @Argument(help: "The alert id (al_…).") var alertID: String

        func run() async throws {
            try await runReportingErrors {
                let now = try CommandClock.now()
                try await common.withStore { try await $0.removeAlert(id: alertID, tenant: common.tenant, now: now) }
                if common.json {
                    try Terminal.printJSON(["id": alertID, "removed": "true"])
                } else {
                    print("removed \(alertID)")
                }
            }
        }
    }

    /// An alert as listed: every field written.
    struct AlertLine: Encodable {
        var alert: SpendAlert
        var inAlarmSince: Date?
        var history: [AlertState]

        init(alert: SpendAlert, states: [AlertState]) {
            self.alert = alert
            history = states.filter { $0.alertID == alert.id }
            inAlarmSince = history.last { $0.inAlarm }?.triggeredAt
        }

        enum CodingKeys: String, CodingKey {
            case id, tenant, metric, threshold, name, history
            case createdAt = "created_at"
            case inAlarm = "in_alarm"
            case inAlarmSince = "in_alarm_since"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(alert.id, forKey: .id)
            try c.encode(alert.tenant, forKey: .tenant)
            try c.encode(alert.metric.rawValue, forKey: .metric)
            try c.encode(alert.threshold.text(metric: alert.metric), forKey: .threshold)
            try c.encode(alert.name, forKey: .name)
            try c.encode(JSONConvention.timestamp(alert.createdAt), forKey: .createdAt)
            try c.encode(inAlarmSince != nil, forKey: .inAlarm)
            try c.encode(inAlarmSince.map(JSONConvention.timestamp), forKey: .inAlarmSince)
            try c.encode(history, forKey: .history)
        }
    }
}
