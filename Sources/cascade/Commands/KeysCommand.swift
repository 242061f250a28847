import ArgumentParser
import Cascade
import Foundation
import Server

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "API keys of a tenant (stored as hashes; a key is shown once).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key: query (ask, search) or admin (also documents, corrections, usage, invoices).")
        @OptionGroup var dataOption: DataOption
        @OptionGroup var databaseOption: DatabaseOption
        @Option(help: "Tenant the key belongs to.") var tenant: String
        @Option(help: "query or admin.") var scope: String
        @Option(help: "A label, e.g. widget or helpdesk.") var name: String?
        @Flag(help: "Print JSON: {\"key_id\", \"key\", \"tenant\", \"scope\"}.") var json = false

        func run() async throws {
            try await runReportingErrors {
                guard let chosen = KeyScope(rawValue: scope) else {
                    throw ValidationError("--scope must be query or admin")
                }
                let (record, key) = try await databaseOption.withControl(data: dataOption.directory, create: false) {
                    try await $0.createKey(tenant: tenant, scope: chosen, name: name, now: CommandClock.now())
                }
                if json {
                    try Terminal.printJSON([
                        "key_id": record.keyID, "key": key, "tenant": record.tenant, "scope": record.scope.rawValue,
                    ])
                } else {
                    print(key)
                    Terminal.note(
                        "created \(record.scope.rawValue) key \(record.keyID) for \(record.tenant); it is shown only now"
                    )
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A tenant's keys (ids, scopes, never the keys).")
        @OptionGroup var dataOption: DataOption
        @OptionGroup var databaseOption: DatabaseOption
        @Option(help: "Tenant.") var tenant: String
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let keys = try await databaseOption.withControl(data: dataOption.directory, create: false) { store in
                    guard try await store.tenant(tenant) != nil else { throw ControlError.unknownTenant(tenant) }
                    return try await store.keys(tenant: tenant)
                }
                let stamp = ISO8601DateFormatter()
                for key in keys {
                    if json {
                        try Terminal.printJSON(KeyLine(key, stamp))
                    } else {
                        print(
                            "\(key.keyID)  \(key.scope.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))  created \(stamp.string(from: key.createdAt))\(key.revokedAt.map { "  revoked \(stamp.string(from: $0))" } ?? "")  \(key.name ?? "")"
                        )
                    }
                }
                if keys.isEmpty && !json { print("no keys for \(tenant)") }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; a running service refuses it at once.")
        @OptionGroup var dataOption: DataOption
        @OptionGroup var databaseOption: DatabaseOption
        @Argument(help: "The key id (see `cascade keys list`).") var keyID: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let record = try await databaseOption.withControl(data: dataOption.directory, create: false) {
                    try await $0.revokeKey(keyID, tenant: nil, now: CommandClock.now())
                }
                if json {
                    try Terminal.printJSON(KeyLine(record, ISO8601DateFormatter()))
                } else {
                    print("revoked \(record.keyID) (\(record.tenant), \(record.scope.rawValue))")
                }
            }
        }
    }

    /// A key as listed: every field written, null when absent.
    struct KeyLine: Encodable {
        var keyID: String
        var tenant: String
        var scope: String
        var name: String?
        var createdAt: String
        var revokedAt: String?

        init(_ record: APIKeyRecord, _ stamp: ISO8601DateFormatter) {
            keyID = record.keyID
            tenant = record.tenant
            scope = record.scope.rawValue
            name = record.name
            createdAt = stamp.string(from: record.createdAt)
            revokedAt = record.revokedAt.map(stamp.string(from:))
        }

        enum CodingKeys: String, CodingKey {
            case keyID = "key_id"
            case tenant, scope, name
            case createdAt = "created_at"
            case revokedAt = "revoked_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(keyID, forKey: .keyID)
            try c.encode(tenant, forKey: .tenant)
            try c.encode(scope, forKey: .scope)
            try c.encode(name, forKey: .name)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(revokedAt, forKey: .revokedAt)
        }
    }
}
