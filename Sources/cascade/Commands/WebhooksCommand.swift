import ArgumentParser
import Cascade
import Foundation
import Metering
import Server

/// `cascade webhooks`: a tenant's outbound webhook endpoints (Standard Webhooks signatures), their
/// delivery log and manual replay. `cascade serve` sends the deliveries.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Outbound webhooks of a tenant: endpoints, signing secrets, delivery log, replay.",
        discussion: """
            Event types: \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ")).
            Each delivery is a POST of {"type", "timestamp", "data"} with the headers webhook-id,
            webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">
            under the endpoint's whsec_ secret), retried for about three days; see the README.
            """,
        subcommands: [
            Add.self, List.self, Remove.self, RotateSecret.self, Enable.self, Disable.self, Deliveries.self,
            Replay.self,
        ])

    /// The options every subcommand shares: where the stores are, the tenant, JSON output.
    struct Common: ParsableArguments {
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Option(help: "Tenant.") var tenant: String
        @Flag(help: "Print JSON (snake_case keys, ISO-8601 UTC times).") var json = false

        /// Runs `body` with the tenant's webhook store (the ledger's database), after checking the
        /// tenant exists. `create` creates the SQLite ledger when missing (only `add` writes).
        func withStore<Result: Sendable>(
            create: Bool = false, _ body: @Sendable (any WebhookStore) async throws -> Result
        ) async throws -> Result {
            let tenant = self.tenant
            return try await databaseOption.withControlAndLedger(
                ledgerOption, createControl: false, createLedger: create
            ) { control, ledger in
                if let control, try await control.tenant(tenant) == nil { throw ControlError.unknownTenant(tenant) }
                guard let store = ledger as? any WebhookStore else {
                    throw ValidationError("this ledger keeps no webhooks")
                }
                return try await body(store)
            }
        }

        /// Whether there is nothing to read yet (a SQLite ledger not created): listing then says
        /// so without creating the file.
        var noLedgerYet: Bool {
            databaseOption.database == nil && !FileManager.default.fileExists(atPath: ledgerOption.ledger)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an endpoint; prints it with its whsec_ signing secret (shown now and on rotation only).")
        @OptionGroup var common: Common
        @Option(help: "Where to POST events (https://…).") var url: String
        @Option(help: "Comma-separated event types, or * for all.") var events: String
        @Option(help: "A label for the endpoint.") var description: String?
        @Option(
            name: .customLong("allow-network"),
            help: "Allow a network the address policy refuses (loopback, link-local), e.g. 127.0.0.1/32.")
        var allowNetworks: [String] = []

        func run() async throws {
            try await runReportingErrors {
                let types = try WebhookEventType.parseList(events)
                try WebhookEndpoint.check(url: url, description: description)
                do {
                    try WebhookAddressPolicy(extra: allowNetworks).checkConfigured(url)
                } catch let error as WebhookPolicyError {
                    throw ValidationError(error.message)
                }
                let (url, description) = (url, description)
                let now = try CommandClock.now()
                let endpoint = try await common.withStore(create: true) { store in
                    try await store.addEndpoint(
                        tenant: common.tenant, url: url, eventTypes: types, description: description, now: now)
                }
                let secret = endpoint.secrets.first?.secret ?? ""
                if common.json {
                    try Terminal.printJSON(EndpointWithSecret(endpoint: endpoint, secret: secret))
                } else {
                    print(
                        "\(endpoint.id)  \(endpoint.url)  \(endpoint.eventTypes.map(\.rawValue).joined(separator: ","))"
                    )
                    print("secret: \(secret)")
                    Terminal.note("verify each delivery's webhook-signature with this secret; it is shown only now")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tenant's endpoints (never their secrets).")
        @OptionGroup var common: Common

        func run() async throws {
            try await runReportingErrors {
                let endpoints =
                    common.noLedgerYet
                    ? [] : try await common.withStore { try await $0.endpoints(tenant: common.tenant) }
                if common.json {
                    try Terminal.printJSON(["webhooks": endpoints])
                    return
                }
                for endpoint in endpoints {
                    let state =
                        endpoint.disabledAt == nil
                        ? "enabled" : "disabled (\(endpoint.disabledReason ?? "by an admin"))"
                    print(
                        "\(endpoint.id)  \(endpoint.url)  \(endpoint.eventTypes.map(\.rawValue).joined(separator: ","))  \(state)"
                    )
                }
                if endpoints.isEmpty { print("no webhook endpoints for \(common.tenant)") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an endpoint: nothing more is sent to it; its pending deliveries fail.")
        @OptionGroup var common: Common
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String

        func run() async throws {
            try await runReportingErrors {
                let now = try CommandClock.now()
                try await common.withStore {
                    try await $0.removeEndpoint(id: endpointID, tenant: common.tenant, now: now)
                }
                if common.json {
                    try Terminal.printJSON(["id": endpointID, "removed": "true"])
                } else {
                    print("removed \(endpointID)")
                }
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Give an endpoint a new secret; the old one keeps signing (a second signature) for a while.")
        @OptionGroup var common: Common
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String
        @Option(help: "Hours the previous secret keeps signing (0 to 168).") var expirePreviousAfter: Int = 24

        func run() async throws {
            try await runReportingErrors {
                guard (0...168).contains(expirePreviousAfter) else {
                    throw ValidationError("--expire-previous-after is between 0 and 168 hours")
                }
                let now = try CommandClock.now()
                let expires = now.addingTimeInterval(Double(expirePreviousAfter) * 3600)
                let endpoint = try await common.withStore {
                    try await $0.rotateSecret(
                        id: endpointID, tenant: common.tenant, previousExpiresAt: expires, now: now)
                }
                let secret = endpoint.secrets.first?.secret ?? ""
                if common.json {
                    try Terminal.printJSON(EndpointWithSecret(endpoint: endpoint, secret: secret))
                } else {
                    print("secret: \(secret)")
                    Terminal.note(
                        "deliveries carry a signature with the new secret now, and with the previous one until \(JSONConvention.timestamp(expires))"
                    )
                }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable an endpoint (after a 410 Gone disabled it); deliveries still pending go out.")
        @OptionGroup var common: Common
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String

        func run() async throws {
            try await runReportingErrors { try await setEnabled(true, common: common, endpointID: endpointID) }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop sending to an endpoint (deliveries wait).")
        @OptionGroup var common: Common
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String

        func run() async throws {
            try await runReportingErrors { try await setEnabled(false, common: common, endpointID: endpointID) }
        }
    }

    static func setEnabled(_ enabled: Bool, common: Common, endpointID: String) async throws {
        let now = try CommandClock.now()
        let endpoint = try await common.withStore {
            try await $0.setEndpointEnabled(
                id: endpointID, tenant: common.tenant, enabled: enabled, reason: nil, now: now)
        }
        if common.json {
            try Terminal.printJSON(endpoint)
        } else {
            print("\(endpoint.id) \(enabled ? "enabled" : "disabled")")
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An endpoint's delivery log, newest first: state, attempts, last answer, next attempt.")
        @OptionGroup var common: Common
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String
        @Option(help: "How many deliveries (1 to 1000).") var limit: Int = 50

        func run() async throws {
            try await runReportingErrors {
                guard (1...1000).contains(limit) else { throw ValidationError("--limit is between 1 and 1000") }
                let records = try await common.withStore {
                    try await $0.deliveries(endpointID: endpointID, tenant: common.tenant, limit: limit)
                }
                if common.json {
                    try Terminal.printJSON(["deliveries": records])
                    return
                }
                for record in records {
                    let last = record.lastStatus.map(String.init) ?? record.lastError ?? "-"
                    let next = record.nextAttemptAt.map { "  next \(JSONConvention.timestamp($0))" } ?? ""
                    print(
                        "\(record.eventID)  \(record.eventType)  \(record.state)  attempts \(record.attempts)  last \(last)\(next)"
                    )
                }
                if records.isEmpty { print("no deliveries yet for \(endpointID)") }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an event to an endpoint again, now, from this command; prints the receiver's answer.")
        @OptionGroup var common: Common
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String
        @Argument(help: "The event id (msg_…, see `webhooks deliveries`).") var eventID: String
        @Option(
            name: .customLong("allow-network"),
            help: "Allow a network the address policy refuses (loopback, link-local), e.g. 127.0.0.1/32.")
        var allowNetworks: [String] = []

        func run() async throws {
            try await runReportingErrors {
                let policy: WebhookAddressPolicy
                do {
                    policy = try WebhookAddressPolicy(extra: allowNetworks)
                } catch let error as WebhookPolicyError {
                    throw ValidationError(error.message)
                }
                let result = try await common.withStore { store in
                    try await WebhookDispatcher.replayOnce(
                        store: store, policy: policy, eventID: eventID, endpointID: endpointID, tenant: common.tenant)
                }
                if common.json {
                    try Terminal.printJSON(ReplayLine(eventID: eventID, endpointID: endpointID, result: result))
                } else if result.delivered {
                    print("delivered \(eventID) to \(endpointID) (\(result.status ?? 0))")
                }
                if !result.delivered {
                    Terminal.error(
                        "not delivered: \(result.error ?? "unknown error"); it stays queued and is retried by cascade serve"
                    )
                    throw ExitStatus.failure
                }
            }
        }
    }

    struct EndpointWithSecret: Encodable {
        var endpoint: WebhookEndpoint
        var secret: String

        enum CodingKeys: String, CodingKey { case secret }

        func encode(to encoder: any Encoder) throws {
            try endpoint.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(secret, forKey: .secret)
        }
    }

    struct ReplayLine: Encodable {
        var eventID: String
        var endpointID: String
        var result: WebhookAttemptResult

        enum CodingKeys: String, CodingKey {
            case eventID = "event_id"
            case endpointID = "endpoint_id"
            case delivered, status, error
            case durationMs = "duration_ms"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(eventID, forKey: .eventID)
            try c.encode(endpointID, forKey: .endpointID)
            try c.encode(result.delivered, forKey: .delivered)
            try c.encode(result.status, forKey: .status)
            try c.encode(result.error, forKey: .error)
            try c.encode(result.durationMs, forKey: .durationMs)
        }
    }
}
