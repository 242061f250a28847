import Foundation
import Metering
import PostgresNIO
import Testing

@testable import PostgresStorage

/// What only the PostgreSQL backend has: a schema several nodes migrate, URLs, and a server
/// that can be away.
@Suite("PostgreSQL schema and connection")
struct PostgresSchemaTests {
    func freshURL() async throws -> PostgresURL {
        try await waitForTestServer()
        var url = try PostgresURL(testDatabaseURL)
        url.schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        return url
    }

    @Test("migrate creates, is idempotent, is safe from two nodes at once, and refuses a newer schema")
    func migrations() async throws {
        let url = try await freshURL()
        try await PostgresDatabase.with(url, operationTimeout: testOperationTimeout) { database in
            await #expect(throws: PostgresStoreError.notMigrated(component: "cascade")) {
                try await database.checkSchema()
            }
            async let a = database.migrate()
            async let b = PostgresDatabase.with(url, operationTimeout: testOperationTimeout) { other in
                try await other.migrate()
            }
            let (first, second) = try await (a, b)
            #expect([first.from, second.from].sorted() == [0, PostgresDatabase.knownVersion])
            #expect(try await database.migrate() == (PostgresDatabase.knownVersion, PostgresDatabase.knownVersion))
            try await database.checkSchema()

            let newer = PostgresDatabase.knownVersion + 1
            try await database.unsafeExecute("UPDATE cascade_schema SET version = \(newer)")
            let tooNew = PostgresStoreError.schemaTooNew(
                component: "cascade", found: newer, known: PostgresDatabase.knownVersion)
            await #expect(throws: tooNew) { try await database.migrate() }
            await #expect(throws: tooNew) { try await PostgresLedger(database: database) }
            try await database.unsafeExecute("DROP SCHEMA \"\(url.schema)\" CASCADE")
        }
    }

    /// A node that finds another one migrating waits for it as long as its caller would, past the
    /// connection's general 15 s lock timeout (a busy server once held the lock longer than that).
    @Test("migrate waits for another node's migration longer than the 15 s lock timeout")
    func migrateOutwaitsTheLockTimeout() async throws {
        let url = try await freshURL()
        try await PostgresDatabase.with(url, operationTimeout: testOperationTimeout) { database in
            // The other node starts only once the lock is held (order, not a head start in seconds).
            let (locked, lockTaken) = AsyncStream.makeStream(of: Void.self)
            let holding = Task {
                try await database.transaction { connection in
                    try await connection.run(
                        "SELECT pg_advisory_xact_lock(hashtextextended(\(url.schema), \(PostgresDatabase.migrationLockKey)))",
                        logger: database.logger)
                    lockTaken.yield()
                    lockTaken.finish()
                    try await Task.sleep(for: .seconds(17))
                }
            }
            for await _ in locked { break }
            let migrated = try await PostgresDatabase.with(url, operationTimeout: testOperationTimeout) { other in
                try await other.migrate()
            }
            #expect(migrated == (0, PostgresDatabase.knownVersion))
            try await holding.value
            try await database.unsafeExecute("DROP SCHEMA \"\(url.schema)\" CASCADE")
        }
    }

    @Test("a failed transaction never reaches the next request on its pooled connection")
    func failedTransactionsStayContained() async throws {
        let url = try await freshURL()
        // One connection, so every request below shares it.
        try await PostgresDatabase.with(url, maximumConnections: 1, operationTimeout: testOperationTimeout) {
            database in
            try await database.migrate()
            let ledger = try await PostgresLedger(database: database)
            // A transaction whose statement fails is rolled back before the connection is reused.
            await #expect(throws: (any Error).self) {
                try await database.transaction { connection in
                    try await connection.query("SELECT 1 / 0", logger: database.logger)
                }
            }
            #expect(try await ledger.entries(tenant: "acme", since: nil).isEmpty)
            // A connection left inside a failed transaction by a raw caller is repaired, not served.
            try await database.connection { connection in
                try await connection.query("BEGIN", logger: database.logger)
                _ = try? await connection.query("SELECT 1 / 0", logger: database.logger)
            }
            #expect(try await ledger.entries(tenant: "acme", since: nil).isEmpty)
            try await database.dropSchema()
        }
    }

    @Test("a server that is not there is one clear 'unavailable' error at the deadline, not the pool's back-off")
    func unreachable() async throws {
        let url = try PostgresURL("postgres://cascade:cascade@127.0.0.1:1/cascade")
        await #expect {
            try await PostgresDatabase.with(url, operationTimeout: .seconds(2)) { database in
                try await database.checkSchema()
            }
        } throws: { error in
            // The deadline answered (the pool alone would retry for about a minute first).
            guard let error = error as? PostgresStoreError, case .unavailable(let reason) = error else { return false }
            return reason.contains("within 2")
        }
    }

    @Test(
        "database URLs: what is accepted, and one actionable error for the rest",
        arguments: [
            ("postgres://cascade@127.0.0.1/cascade", true),
            ("postgresql://u:p@db.internal:6543/kb?sslmode=disable&search_path=node_a", true),
            ("mysql://u@h/db", false),
            ("postgres://u@h", false),
            ("postgres://@h/db", false),
            ("postgres://u@h/db?sslmode=require", false),
            ("postgres://u@h/db?search_path=a;drop", false),
            ("postgres://u@h/db?timeout=3", false),
        ])
    func urls(text: String, valid: Bool) {
        #expect(((try? PostgresURL(text)) != nil) == valid, "\(text)")
    }

    @Test("the password never appears in messages")
    func passwordHidden() throws {
        let url = try PostgresURL("postgres://cascade:s3cret@127.0.0.1:5432/cascade")
        #expect(!url.description.contains("s3cret"))
        let error = PostgresStoreError.invalidURL("postgres://cascade:s3cret@h", reason: "no database")
        #expect(!error.description.contains("s3cret"))
    }
}
