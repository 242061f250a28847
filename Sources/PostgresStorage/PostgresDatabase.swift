import Foundation
import Logging
import Metering
import PostgresNIO

/// One PostgreSQL database shared by every cascade node: a bounded connection pool (postgres-nio
/// `PostgresClient`), the schema's versioned migrations, and error mapping so a caller sees
/// ``PostgresStoreError/unavailable(_:)`` (503 over HTTP) whenever the server is away. The pool
/// reconnects on its own when the server comes back.
public final class PostgresDatabase: Sendable {
    public let url: PostgresURL
    let client: PostgresClient
    public let logger: Logger
    /// How long one operation (a transaction, a read) may wait for the server, connecting
    /// included, before it fails as unavailable.
    public let operationTimeout: Duration

    init(url: PostgresURL, maximumConnections: Int, operationTimeout: Duration, logger: Logger) {
        self.url = url
        self.operationTimeout = operationTimeout
        self.logger = logger
        self.client = PostgresClient(configuration: url.clientConfiguration(maximumConnections: maximumConnections))
    }

    /// Runs `body` with a database whose pool runs for exactly that long.
    public static func with<Result: Sendable>(
        _ url: PostgresURL, maximumConnections: Int = 8, operationTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "cascade.postgres"), _ body: @Sendable (PostgresDatabase) async throws -> Result
    ) async throws -> Result {
        let database = PostgresDatabase(
            url: url, maximumConnections: maximumConnections, operationTimeout: operationTimeout, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws).
    ///
    /// Not postgres-nio's `withTransaction`: when the rollback itself fails, that would hand the
    /// connection back to the pool still inside the failed transaction, and the next request on
    /// it would get "current transaction is aborted" (SQLSTATE 25P02). Here such a connection is
    /// closed instead, and the pool opens a fresh one.
    public func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    )
        async throws -> Result
    {
        let client = self.client
        let logger = self.logger
        return try await mapErrors {
            try await client.withConnection { connection in
                do {
                    try await connection.run("BEGIN", logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                do {
                    let result = try await body(connection)
                    try await connection.run("COMMIT", logger: logger)
                    return result
                } catch {
                    // After a failed COMMIT the server has ended the transaction already; a
                    // ROLLBACK then only warns. A ROLLBACK that fails leaves the state unknown.
                    do {
                        try await connection.run("ROLLBACK", logger: logger)
                    } catch {
                        logger.warning("closing a connection whose rollback failed: \(error)")
                        try? await connection.close()
                    }
                    throw error
                }
            }
        }
    }

    /// Runs `body` on a pooled connection, outside any transaction.
    ///
    /// Should a pooled connection ever be found inside a failed transaction (25P02; a bug, logged
    /// as such), it is rolled back and `body` — a read or one autocommitted statement, so
    /// repeating it is safe — runs once more.
    public func connection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    )
        async throws -> Result
    {
        let client = self.client
        let logger = self.logger
        return try await mapErrors {
            try await client.withConnection { connection in
                do {
                    return try await body(connection)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "25P02" {
                    logger.error("a pooled connection was inside a failed transaction; rolling back and retrying")
                    try await connection.run("ROLLBACK", logger: logger)
                    return try await body(connection)
                }
            }
        }
    }

    /// Runs one statement of trusted SQL (schema statements; never built from input).
    func execute(_ sql: String, on connection: PostgresConnection) async throws {
        try await connection.run(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Runs one statement of trusted SQL on a pooled connection (tests and operators' tools).
    func unsafeExecute(_ sql: String) async throws {
        try await connection { connection in try await self.execute(sql, on: connection) }
    }

    /// Drops this database's schema with everything in it (benchmarks and tests use a schema of
    /// their own; refuses `public`).
    public func dropSchema() async throws {
        guard url.schema != "public" else {
            throw PostgresStoreError.invalidURL(url.description, reason: "refusing to drop the public schema")
        }
        try await unsafeExecute("DROP SCHEMA \"\(url.schema)\" CASCADE")
    }

    /// Runs `body` with a deadline, and turns PostgreSQL's errors into one
    /// ``PostgresStoreError/unavailable(_:)`` with the server's message; cascade's own errors
    /// (a refused write, an unknown query) pass unchanged, also from inside a transaction.
    ///
    /// The deadline is what makes a request fail fast when the server is away: the pool keeps
    /// retrying to connect in the background (and reconnects when the server is back), but a
    /// caller waits at most ``operationTimeout`` for it.
    func mapErrors<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let url = self.url
        do {
            return try await Deadline.run(operationTimeout, body) {
                PostgresStoreError.unavailable("no answer from \(url) within \(self.operationTimeout)")
            }
        } catch {
            throw Self.mapped(error, url: url)
        }
    }

    /// Where the driver's and the network's error types come from.
    static let driverModules: Set<String> = [
        "PostgresNIO", "_ConnectionPoolModule", "ConnectionPoolModule", "NIOCore", "NIOPosix", "NIOSSL",
    ]

    static func mapped(_ error: any Error, url: PostgresURL) -> any Error {
        switch error {
        case is PostgresStoreError, is LedgerError, is BillingError:
            return error
        case let error as PSQLError:
            if let message = error.serverInfo?[.message] {
                return PostgresStoreError.unavailable("\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))")
            }
            return PostgresStoreError.unavailable("\(error.code) talking to \(url)")
        case is CancellationError:
            return PostgresStoreError.unavailable("the request was cancelled while waiting for \(url)")
        default:
            // The connection pool's and the network's own errors (no connection could be made,
            // pool shut down) mean the server is away; any other error is the caller's own (an
            // unknown key, a refused write) and passes unchanged.
            let module = String(reflecting: type(of: error)).split(separator: ".").first.map(String.init) ?? ""
            guard Self.driverModules.contains(module) else { return error }
            return PostgresStoreError.unavailable("\(error) talking to \(url)")
        }
    }

    // MARK: - Schema

    /// The schema's migrations, in order; shipped ones are never edited. Each is a list of single
    /// statements (the extended protocol runs one at a time).
    static let migrations: [(component: String, statements: [String])] = [
        ("ledger", PostgresLedgerSchema.v1),
        ("control", PostgresControlSchema.v1),
        ("knowledge", PostgresKnowledgeSchema.v1),
        ("control", PostgresControlSchema.v2),
        ("ledger", PostgresLedgerSchema.v2),
        ("knowledge", PostgresKnowledgeSchema.v2),
        ("control", PostgresControlSchema.v3),
        ("ledger", PostgresLedgerSchema.v3),
        ("ledger", PostgresLedgerSchema.v4),
        ("ledger", PostgresLedgerSchema.v5),
        ("ledger", PostgresLedgerSchema.v6),
    ]

    /// The newest schema version this build knows.
    public static var knownVersion: Int { migrations.count }

    /// Creates or upgrades the schema to ``knownVersion``, in one transaction, serialised across
    /// nodes by an advisory lock (two nodes migrating at once is safe). Refuses a database whose
    /// schema is newer. Returns the versions before and after.
    @discardableResult
    public func migrate() async throws -> (from: Int, to: Int) {
        let schema = url.schema
        let known = Self.knownVersion
        // A node that finds another one migrating waits as long as its caller does (the
        // operation timeout), not only the connection's general 15 s lock timeout: on a busy
        // server a migration can hold the lock longer than that.
        let waitMilliseconds = max(1, Int(operationTimeout.components.seconds * 1000))
        return try await transaction { connection in
            try await connection.run(
                "SELECT set_config('lock_timeout', \("\(waitMilliseconds)ms"), true)", logger: self.logger)
            // The wait for the lock is one statement: the connection's 30 s statement timeout would
            // cancel it while another node's migration runs long on a busy server.
            try await connection.run(
                "SELECT set_config('statement_timeout', \("\(waitMilliseconds)ms"), true)", logger: self.logger)
            // One lock per schema: nodes migrating the same schema wait for each other, and
            // databases holding several schemas (tests) migrate them side by side.
            try await connection.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(schema), \(Self.migrationLockKey)))",
                logger: self.logger)
            try await self.execute("CREATE SCHEMA IF NOT EXISTS \"\(schema)\"", on: connection)
            try await self.execute(
                """
                CREATE TABLE IF NOT EXISTS cascade_schema (
                    component TEXT PRIMARY KEY,
                    version INTEGER NOT NULL,
                    migrated_at_ms BIGINT NOT NULL
                )
                """, on: connection)
            let found = try await Self.version(on: connection, logger: self.logger) ?? 0
            guard found <= known else {
                throw PostgresStoreError.schemaTooNew(component: "cascade", found: found, known: known)
            }
            for index in found..<known {
                for statement in Self.migrations[index].statements { try await self.execute(statement, on: connection) }
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            try await connection.run(
                """
                INSERT INTO cascade_schema(component, version, migrated_at_ms) VALUES ('cascade', \(known), \(now))
                ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, migrated_at_ms = EXCLUDED.migrated_at_ms
                """, logger: self.logger)
            return (found, known)
        }
    }

    /// Checks the schema before use: present, and not newer than this build.
    public func checkSchema() async throws {
        let known = Self.knownVersion
        let found = try await connection { connection in
            let exists =
                try await connection.run(
                    "SELECT to_regclass('cascade_schema') IS NOT NULL", logger: self.logger
                ).first?.decode(Bool.self) ?? false
            return exists ? try await Self.version(on: connection, logger: self.logger) : nil
        }
        guard let found, found > 0 else { throw PostgresStoreError.notMigrated(component: "cascade") }
        guard found <= known else {
            throw PostgresStoreError.schemaTooNew(component: "cascade", found: found, known: known)
        }
        guard found == known else {
            throw PostgresStoreError.unavailable(
                "the database's schema is version \(found), this cascade needs \(known): run cascade migrate")
        }
    }

    static func version(on connection: PostgresConnection, logger: Logger) async throws -> Int? {
        try await connection.run("SELECT version FROM cascade_schema WHERE component = 'cascade'", logger: logger)
            .first?.decode(Int.self)
    }

    /// The seed of the advisory lock key migrations take ("cascade1" in ASCII).
    static let migrationLockKey: Int64 = 0x6361_7363_6164_6531
}
