import Foundation
import PostgresStorage
import Server
import TestSupport
import Testing

/// Where a test's control plane lives.
enum ControlBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }

    /// Runs `body` with an empty control store on this backend (PostgreSQL: a schema of its own,
    /// dropped afterwards).
    func with(_ body: @Sendable (any ControlStoring) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory()
            try await body(try ControlStore(path: directory.path("control.sqlite"), create: true))
        case .postgres:
            var url = try PostgresURL(sharedTestDatabaseURL)
            url.schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            try await PostgresDatabase.with(url, operationTimeout: .seconds(180)) { database in
                try await database.migrate()
                do {
                    try await body(try await PostgresControlStore(database: database))
                } catch {
                    try? await database.dropSchema()
                    throw error
                }
                try await database.dropSchema()
            }
        }
    }
}

/// Tenants and keys: the same rules on SQLite and on PostgreSQL.
@Suite("Control store, on every backend")
struct ControlStoreConformanceTests {
    @Test("tenants: valid names only, each once, listed by id", arguments: ControlBackend.allCases)
    func tenants(backend: ControlBackend) async throws {
        try await backend.with { store in
            _ = try await store.createTenant("beta", now: Date())
            let acme = try await store.createTenant("acme", now: Date(timeIntervalSince1970: 1_790_000_000.1239))
            #expect(acme.createdAt == Date(timeIntervalSince1970: 1_790_000_000.123), "milliseconds, rounded down")
            await #expect(throws: ControlError.tenantExists("acme")) {
                try await store.createTenant("acme", now: Date())
            }
            for bad in ["", "../etc", "a\u{0}b", String(repeating: "x", count: 200), "Acme Corp"] {
                await #expect(throws: (any Error).self, "\(bad.debugDescription)") {
                    try await store.createTenant(bad, now: Date())
                }
            }
            #expect(try await store.tenants().map(\.id) == ["acme", "beta"])
            #expect(try await store.tenant("acme") == acme)
            #expect(try await store.tenant("nobody") == nil)
        }
    }

    @Test(
        "keys: shown once, proved by their secret, revoked at once, and never reach another tenant",
        arguments: ControlBackend.allCases)
    func keys(backend: ControlBackend) async throws {
        try await backend.with { store in
            _ = try await store.createTenant("acme", now: Date())
            _ = try await store.createTenant("beta", now: Date())
            await #expect(throws: ControlError.unknownTenant("nobody")) {
                try await store.createKey(tenant: "nobody", scope: .admin, name: nil, now: Date())
            }
            await #expect(throws: ControlError.self) {
                try await store.createKey(tenant: "acme", scope: .admin, name: "bad\nname", now: Date())
            }
            let (admin, adminKey) = try await store.createKey(
                tenant: "acme", scope: .admin, name: "helpdesk", now: Date(timeIntervalSince1970: 1_790_000_000))
            let (query, queryKey) = try await store.createKey(
                tenant: "acme", scope: .query, name: nil, now: Date(timeIntervalSince1970: 1_790_000_100))
            #expect(try await store.authenticateKey(adminKey)?.scope == .admin)
            #expect(try await store.authenticateKey(queryKey) == query)
            // A wrong secret for a real key id, a malformed key, NUL: nothing.
            let wrongSecret = String(adminKey.dropLast()) + (adminKey.hasSuffix("A") ? "B" : "A")
            for bad in [wrongSecret, "csk_nothing", "", "csk_\u{0}", adminKey + "x"] {
                #expect(try await store.authenticateKey(bad) == nil, "\(bad.debugDescription)")
            }
            #expect(try await store.keys(tenant: "acme").map(\.keyID) == [query.keyID, admin.keyID], "newest first")
            #expect(try await store.keys(tenant: "beta").isEmpty)
            // beta cannot revoke acme's key; acme can, once; a second revocation returns it unchanged.
            await #expect(throws: ControlError.unknownKey(admin.keyID)) {
                try await store.revokeKey(admin.keyID, tenant: "beta", now: Date())
            }
            let revoked = try await store.revokeKey(
                admin.keyID, tenant: "acme", now: Date(timeIntervalSince1970: 1_790_001_000))
            #expect(revoked.revokedAt == Date(timeIntervalSince1970: 1_790_001_000))
            #expect(try await store.revokeKey(admin.keyID, tenant: nil, now: Date()) == revoked)
            #expect(try await store.authenticateKey(adminKey) == nil)
            #expect(try await store.liveKeyRecord(id: admin.keyID) == nil)
            #expect(try await store.liveKeyRecord(id: query.keyID) == query)
            await #expect(throws: ControlError.unknownKey("000000000000")) {
                try await store.revokeKey("000000000000", tenant: nil, now: Date())
            }
        }
    }

    @Test(
        "the dashboard's session secret: one for all nodes on PostgreSQL (first proposal wins), a file on SQLite",
        arguments: ControlBackend.allCases)
    func sessionSecret(backend: ControlBackend) async throws {
        try await backend.with { store in
            let first = Data(repeating: 1, count: 32)
            let second = Data(repeating: 2, count: 32)
            let a = try await store.sharedSessionSecret(proposing: first)
            let b = try await store.sharedSessionSecret(proposing: second)
            switch backend {
            case .sqlite: #expect(a == nil && b == nil)
            case .postgres: #expect(a == first && b == first)
            }
        }
    }

    @Test("signed-out dashboard sessions are remembered until they expire", arguments: ControlBackend.allCases)
    func revokedSessions(backend: ControlBackend) async throws {
        try await backend.with { store in
            let now = TestClock.now
            #expect(try await !store.isSessionRevoked("abc"))
            try await store.revokeSession("abc", expiresAt: now.addingTimeInterval(3600), now: now)
            try await store.revokeSession("abc", expiresAt: now.addingTimeInterval(3600), now: now)  // twice: no error
            #expect(try await store.isSessionRevoked("abc"))
            #expect(try await !store.isSessionRevoked("abd"))
            // Once it would have expired anyway, the record is dropped at the next sign-out.
            try await store.revokeSession(
                "xyz", expiresAt: now.addingTimeInterval(7200), now: now.addingTimeInterval(3601))
            #expect(try await !store.isSessionRevoked("abc"))
            #expect(try await store.isSessionRevoked("xyz"))
        }
    }
}
