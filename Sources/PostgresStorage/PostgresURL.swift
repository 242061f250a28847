import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database` URL (what `--database` takes), parsed into
/// a client configuration. TLS is not offered yet: `sslmode` other than `disable` is refused
/// rather than silently connecting in clear text.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// Tables live in this schema (`?search_path=`; default `public`): tests give each run its own.
    public var schema: String

    public init(_ text: String) throws(PostgresStoreError) {
        guard let components = URLComponents(string: text),
            ["postgres", "postgresql"].contains(components.scheme?.lowercased() ?? "")
        else {
            throw .invalidURL(text, reason: "expected postgres://user[:password]@host[:port]/database")
        }
        guard let host = components.host, !host.isEmpty else { throw .invalidURL(text, reason: "no host") }
        guard let user = components.user, !user.isEmpty else { throw .invalidURL(text, reason: "no user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidURL(text, reason: "no database name after the host (…/cascade)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        self.database = database
        self.schema = "public"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard item.value == "disable" else {
                    throw .invalidURL(
                        text,
                        reason: "sslmode=\(item.value ?? "") is not supported yet: connect over loopback or a tunnel "
                            + "(sslmode=disable)")
                }
            case "search_path":
                guard let value = item.value, Self.isIdentifier(value) else {
                    throw .invalidURL(text, reason: "search_path must be one plain schema name")
                }
                self.schema = value
            default:
                throw .invalidURL(text, reason: "unknown parameter \(item.name) (sslmode, search_path)")
            }
        }
    }

    /// The URL without its password (for messages and logs).
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)" + (schema == "public" ? "" : "?search_path=\(schema)")
    }

    /// Lower-case letters, digits and underscores, not starting with a digit: safe to splice into
    /// SQL as an identifier.
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !(48...57).contains(first.value), text.count <= 63 else {
            return false
        }
        return text.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
    }

    /// The pool's configuration: a bounded pool, connect and idle timeouts, and the schema as the
    /// connection's search path.
    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(3)
        // The server gives up on its own too, so a statement stuck behind a lock or a client that
        // vanished mid-transaction never holds a connection or a tenant's lock for long.
        configuration.options.additionalStartupParameters = [
            ("search_path", schema), ("statement_timeout", "30000"), ("lock_timeout", "15000"),
            ("idle_in_transaction_session_timeout", "30000"),
        ]
        return configuration
    }
}
