import Foundation
import GRDB
import Metering
import PostgresNIO
import TestSupport
import Testing

@testable import PostgresStorage

/// The backends every ledger promise is checked on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// The PostgreSQL server the tests use: `$CASCADE_TEST_DATABASE_URL`, or the one `tools/postgres`
/// starts. Each test gets its own schema in it, dropped afterwards. There is no fallback: when the
/// server is missing the PostgreSQL half of the suite fails and says how to start it.
/// Operations' deadline in tests: generous, because the whole test run shares two cores and other
/// suites keep the cooperative threads busy; the deadline itself has its own test.
let testOperationTimeout = Duration.seconds(180)

/// Waits, once per test process, until the test server accepts connections: its own generous
/// limit (a busy machine can be slow to start PostgreSQL), then a message that says what to do,
/// instead of the first test's operation deadline failing with a connection error.
func waitForTestServer() async throws {
    try await testServerReady.value
}

private let testServerReady = Task {
    let limit = Duration.seconds(
        Int(ProcessInfo.processInfo.environment["CASCADE_PG_READY_SECONDS"] ?? "") ?? 180)
    let url = try PostgresURL(testDatabaseURL)
    let started = ContinuousClock.now
    var lastError: (any Error)?
    while ContinuousClock.now - started < limit {
        do {
            try await PostgresDatabase.with(url, operationTimeout: .seconds(10)) { database in
                try await database.unsafeExecute("SELECT 1")
            }
            return
        } catch {
            lastError = error
            try await Task.sleep(for: .seconds(1))
        }
    }
    throw PostgresNotReady(url: testDatabaseURL, limit: limit, lastError: lastError.map { "\($0)" } ?? "none")
}

struct PostgresNotReady: Error, CustomStringConvertible {
    var url: String
    var limit: Duration
    var lastError: String
    var description: String {
        "the test PostgreSQL server (\(url)) did not accept connections within \(limit) "
            + "(last error: \(lastError.prefix(200))); start it with tools/postgres, or raise CASCADE_PG_READY_SECONDS"
    }
}

let testDatabaseURL =
    ProcessInfo.processInfo.environment["CASCADE_TEST_DATABASE_URL"]
    ?? "postgres://cascade:cascade@127.0.0.1:5432/cascade_test"

/// One test's empty ledger on a backend, with what a test needs beyond the ledger's API:
/// a second "node" on the same data, raw SQL through the application's own connection (to show
/// the database itself refuses changes), and a way to alter a row behind the ledger's back the
/// way someone with the owner's rights could (to show verification catches it).
struct LedgerHarness: Sendable {
    var store: any LedgerStore
    /// Runs `body` with a second node's ledger on the same data (its own connection pool).
    var withNode: @Sendable (_ body: @Sendable (any LedgerStore) async throws -> Void) async throws -> Void
    var rawExecute: @Sendable (String) async throws -> Void
    var tamper: @Sendable (_ tenant: String, _ sequence: Int64) async throws -> Void
    /// Changes the second billing change's reopen window behind the store's back.
    var tamperBilling: @Sendable () async throws -> Void
    /// Removes `tenant`'s rows after its first `keep`, and every stored checkpoint, the way
    /// someone with the owner's rights could (triggers disabled); the chain that is left verifies.
    var truncate: @Sendable (_ tenant: String, _ keep: Int) async throws -> Void

    static func with(_ backend: Backend, _ body: @Sendable (LedgerHarness) async throws -> Void) async throws {
        switch backend {
        case .sqlite: try await withSQLite(body)
        case .postgres: try await withPostgres(body)
        }
    }

    static func withSQLite(_ body: @Sendable (LedgerHarness) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("ledger.sqlite")
        let ledger = try Ledger(path: path)
        try await body(
            LedgerHarness(
                store: ledger,
                withNode: { body in try await body(try Ledger(path: path)) },
                rawExecute: { sql in try ledger.writer.write { try $0.execute(sql: sql) } },
                tamper: { _, sequence in
                    try ledger.writer.write { db in
                        try db.execute(sql: "DROP TRIGGER ledger_no_update")
                        try db.execute(
                            sql: "UPDATE ledger_entry SET cost_micros = cost_micros + 1 WHERE seq = ?",
                            arguments: [sequence])
                    }
                },
                tamperBilling: {
                    try ledger.writer.write { db in
                        try db.execute(sql: "DROP TRIGGER tenant_billing_no_update")
                        try db.execute(sql: "UPDATE tenant_billing SET reopen_window_hours = 1 WHERE seq = 2")
                    }
                },
                truncate: { tenant, keep in
                    try ledger.writer.write { db in
                        try db.execute(sql: "DROP TRIGGER ledger_no_delete")
                        try db.execute(sql: "DROP TRIGGER checkpoint_no_delete")
                        try db.execute(
                            sql: """
                                DELETE FROM ledger_entry WHERE tenant = ? AND seq >
                                    (SELECT seq FROM ledger_entry WHERE tenant = ? ORDER BY seq LIMIT 1 OFFSET ?)
                                """, arguments: [tenant, tenant, keep - 1])
                        try db.execute(sql: "DELETE FROM checkpoint")
                    }
                }))
    }

    static func withPostgres(_ body: @Sendable (LedgerHarness) async throws -> Void) async throws {
        try await waitForTestServer()
        var url = try PostgresURL(testDatabaseURL)
        url.schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let schemaURL = url
        do {
            try await PostgresDatabase.with(schemaURL, operationTimeout: testOperationTimeout) { database in
                try await database.migrate()
                let ledger = try await PostgresLedger(database: database)
                let harness = LedgerHarness(
                    store: ledger,
                    withNode: { body in
                        try await PostgresDatabase.with(schemaURL, operationTimeout: testOperationTimeout) { other in
                            try await body(try await PostgresLedger(database: other))
                        }
                    },
                    rawExecute: { sql in try await database.unsafeExecute(sql) },
                    tamper: { tenant, sequence in
                        try await database.unsafeExecute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_append_only")
                        try await database.unsafeExecute(
                            "UPDATE ledger_entry SET cost_micros = cost_micros + 1 WHERE tenant = '\(tenant)' AND seq = \(sequence)"
                        )
                        try await database.unsafeExecute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_append_only")
                    },
                    tamperBilling: {
                        try await database.unsafeExecute(
                            "ALTER TABLE tenant_billing DISABLE TRIGGER tenant_billing_append_only")
                        try await database.unsafeExecute(
                            "UPDATE tenant_billing SET reopen_window_hours = 1 WHERE seq = 2")
                        try await database.unsafeExecute(
                            "ALTER TABLE tenant_billing ENABLE TRIGGER tenant_billing_append_only")
                    },
                    truncate: { tenant, keep in
                        for table in ["ledger_entry", "checkpoint"] {
                            try await database.unsafeExecute("ALTER TABLE \(table) DISABLE TRIGGER USER")
                        }
                        try await database.unsafeExecute(
                            "DELETE FROM ledger_entry WHERE tenant = '\(tenant)' AND seq > \(keep)")
                        try await database.unsafeExecute("DELETE FROM checkpoint")
                        for table in ["ledger_entry", "checkpoint"] {
                            try await database.unsafeExecute("ALTER TABLE \(table) ENABLE TRIGGER USER")
                        }
                    })
                do {
                    try await body(harness)
                } catch {
                    try? await database.unsafeExecute("DROP SCHEMA \"\(schemaURL.schema)\" CASCADE")
                    throw error
                }
                try await database.unsafeExecute("DROP SCHEMA \"\(schemaURL.schema)\" CASCADE")
            }
        } catch let error as PostgresStoreError {
            if case .unavailable = error {
                let message =
                    "PostgreSQL at \(url) is not reachable (\(error)): start it with tools/postgres, "
                    + "or set CASCADE_TEST_DATABASE_URL"
                Issue.record("\(message)")
            }
            throw error
        }
    }
}

/// A query row as the resolver writes it.
func query(
    _ id: String, tenant: String = "acme", tier: String = "rag", cost: Int64 = 0, question: String = "How do I?",
    at date: Date = Date()
) -> LedgerEntry {
    LedgerEntry(
        kind: .query, queryID: id, tenant: tenant, tier: tier, outcome: tier == "escalated" ? "escalated" : "resolved",
        question: question, answer: tier == "escalated" ? nil : "Like this.", confidence: 0.8123456789,
        costMicros: cost, occurredAt: date)
}

/// A tier attempt that cost something (an LLM call).
func attempt(_ id: String, tenant: String = "acme", cost: Int64) -> LedgerEntry {
    LedgerEntry(
        kind: .attempt, queryID: id, tenant: tenant, tier: "llm", outcome: "resolved", costMicros: cost, tokensIn: 120,
        tokensOut: 40, occurredAt: Date())
}
