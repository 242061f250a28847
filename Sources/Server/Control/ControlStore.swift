import Cascade
import Foundation
import GRDB
import KnowledgeBase

/// Tenants and their API keys, in `<data>/control.sqlite`.
///
/// Keys are stored as SHA-256 hashes only: the key itself is shown once, when it is created.
/// Every request looks its key up here (one primary-key read), so a revocation made by
/// `cascade keys revoke` in another process takes effect on the next request.
public struct ControlStore: ControlStoring {
    public let writer: any DatabaseWriter
    public let path: String

    /// Opens the store, creating it only when `create` is true.
    /// - Throws: ``ControlError/notFound(path:)`` when the file does not exist and `create` is false.
    public init(path: String, create: Bool) throws {
        if !create, !FileManager.default.fileExists(atPath: path) { throw ControlError.notFound(path: path) }
        do {
            try DatabaseOpening.checkExistingFile(at: path, is: .control, migrator: Self.migrator)
            try self.init(writer: try DatabaseOpening.pool(path: path), path: path)
        } catch let error as ControlError {
            throw error
        } catch let error as StoreKindError {
            throw ControlError.cannotOpen(path: path, reason: error.message)
        } catch {
            throw ControlError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    public init(writer: any DatabaseWriter, path: String = ":memory:") throws {
        self.writer = writer
        self.path = path
        do {
            try DatabaseOpening.open(writer, as: .control, migrator: Self.migrator)
        } catch let error as StoreKindError {
            throw ControlError.cannotOpen(path: path, reason: error.message)
        } catch {
            throw ControlError.cannotOpen(path: path, reason: "not a cascade control store or damaged (\(error))")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tenant (
                        id TEXT PRIMARY KEY NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    ) STRICT;
                    CREATE TABLE api_key (
                        key_id TEXT PRIMARY KEY NOT NULL,
                        tenant TEXT NOT NULL REFERENCES tenant(id),
                        scope TEXT NOT NULL CHECK (scope IN ('query', 'admin')),
                        name TEXT,
                        secret_hash TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        revoked_at_ms INTEGER
                    ) STRICT;
                    CREATE INDEX api_key_tenant ON api_key(tenant);
                    """)
        }
        migrator.registerMigration("v2-revoked-sessions") { db in
            // Signed-out dashboard sessions, until they would have expired.
            try db.execute(
                sql: """
                    CREATE TABLE revoked_session (
                        session_id TEXT PRIMARY KEY NOT NULL,
                        expires_at_ms INTEGER NOT NULL
                    ) STRICT;
                    """)
        }
        return migrator
    }

    // MARK: - Tenants

    /// Creates `tenant`.
    /// - Throws: ``ControlError/tenantExists(_:)`` when it already exists.
    @discardableResult
    public func createTenant(_ tenant: String, now: Date = Date()) throws -> Tenant {
        let name = try TenantConfiguration.validatedName(tenant)
        return try writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM tenant WHERE id = ?", arguments: [name]) == true {
                throw ControlError.tenantExists(name)
            }
            try db.execute(
                sql: "INSERT INTO tenant(id, created_at_ms) VALUES (?, ?)", arguments: [name, Self.ms(now)])
            return Tenant(id: name, createdAt: Self.date(Self.ms(now)))
        }
    }

    public func tenant(_ id: String) throws -> Tenant? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT id, created_at_ms FROM tenant WHERE id = ?", arguments: [id]).map {
                Tenant(id: $0["id"], createdAt: Self.date($0["created_at_ms"]))
            }
        }
    }

    public func tenants() throws -> [Tenant] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, created_at_ms FROM tenant ORDER BY id").map {
                Tenant(id: $0["id"], createdAt: Self.date($0["created_at_ms"]))
            }
        }
    }

    // MARK: - Keys

    /// Creates a key for an existing tenant.
    /// - Returns: the stored record and the key itself, which is never stored or shown again.
    public func createKey(tenant: String, scope: KeyScope, name: String?, now: Date = Date()) throws -> (
        record: APIKeyRecord, key: String
    ) {
        try Self.checkKeyName(name)
        let (keyID, key) = APIKeyFormat.generate()
        let record = APIKeyRecord(
            keyID: keyID, tenant: tenant, scope: scope, name: name, createdAt: Self.date(Self.ms(now)), revokedAt: nil,
            secretHash: APIKeyFormat.hash(key))
        try writer.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM tenant WHERE id = ?", arguments: [tenant]) == true else {
                throw ControlError.unknownTenant(tenant)
            }
            try db.execute(
                sql: """
                    INSERT INTO api_key(key_id, tenant, scope, name, secret_hash, created_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [keyID, tenant, scope.rawValue, name, record.secretHash, Self.ms(now)])
        }
        return (record, key)
    }

    /// The tenant's keys, newest first (revoked ones included, marked).
    public func keys(tenant: String) throws -> [APIKeyRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM api_key WHERE tenant = ? ORDER BY created_at_ms DESC, key_id",
                arguments: [tenant]
            ).map(Self.record)
        }
    }

    /// Revokes a key at once; revoking a revoked key is a no-op that returns it.
    /// - Parameter tenant: when given, the key must belong to it.
    @discardableResult
    public func revokeKey(_ keyID: String, tenant: String? = nil, now: Date = Date()) throws -> APIKeyRecord {
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_key WHERE key_id = ?", arguments: [keyID]),
                tenant == nil || row["tenant"] == tenant
            else { throw ControlError.unknownKey(keyID) }
            var record = Self.record(row)
            if record.revokedAt == nil {
                try db.execute(
                    sql: "UPDATE api_key SET revoked_at_ms = ? WHERE key_id = ?", arguments: [Self.ms(now), keyID])
                record.revokedAt = Self.date(Self.ms(now))
            }
            return record
        }
    }

    /// The live key record that `key` proves, or nil for an unknown, malformed, wrong or revoked key.
    public func authenticate(_ key: String) throws -> APIKeyRecord? {
        guard let keyID = APIKeyFormat.keyID(of: key) else { return nil }
        return APIKeyFormat.verify(key, against: try keyRecord(id: keyID))
    }

    public func importTenant(_ tenant: Tenant, keys: [APIKeyRecord]) throws {
        let name = try TenantConfiguration.validatedName(tenant.id)
        try writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM tenant WHERE id = ?", arguments: [name]) == true {
                throw ControlError.tenantExists(name)
            }
            try db.execute(
                sql: "INSERT INTO tenant(id, created_at_ms) VALUES (?, ?)",
                arguments: [name, Self.ms(tenant.createdAt)])
            for key in keys {
                try db.execute(
                    sql: """
                        INSERT INTO api_key(key_id, tenant, scope, name, secret_hash, created_at_ms, revoked_at_ms)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        key.keyID, name, key.scope.rawValue, key.name, key.secretHash, Self.ms(key.createdAt),
                        key.revokedAt.map(Self.ms),
                    ])
            }
        }
    }

    public func revokeSession(_ sessionID: String, expiresAt: Date, now: Date) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM revoked_session WHERE expires_at_ms < ?", arguments: [Self.ms(now)])
            try db.execute(
                sql: "INSERT OR IGNORE INTO revoked_session(session_id, expires_at_ms) VALUES (?, ?)",
                arguments: [sessionID, Self.ms(expiresAt)])
        }
    }

    public func isSessionRevoked(_ sessionID: String) throws -> Bool {
        try writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM revoked_session WHERE session_id = ?", arguments: [sessionID])
                ?? false
        }
    }

    /// One node's store: the session secret is `<data>/session.secret`, not in here.
    public func sharedSessionSecret(proposing proposed: Data) throws -> Data? { nil }

    /// The stored record of a key id, revoked or not.
    public func keyRecord(id keyID: String) throws -> APIKeyRecord? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_key WHERE key_id = ?", arguments: [keyID]).map(Self.record)
        }
    }

    static func record(_ row: Row) -> APIKeyRecord {
        APIKeyRecord(
            keyID: row["key_id"], tenant: row["tenant"], scope: KeyScope(rawValue: row["scope"]) ?? .query,
            name: row["name"], createdAt: date(row["created_at_ms"]),
            revokedAt: (row["revoked_at_ms"] as Int64?).map(date), secretHash: row["secret_hash"])
    }

    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
}

/// A customer of the service.
public struct Tenant: Hashable, Sendable {
    public var id: String
    public var createdAt: Date

    public init(id: String, createdAt: Date) {
        self.id = id
        self.createdAt = createdAt
    }
}

/// Problems with tenants and keys, worded for the admin.
public enum ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case cannotOpen(path: String, reason: String)
    case tenantExists(String)
    case unknownTenant(String)
    case unknownKey(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let path):
            "no tenants yet at \(path): create one with `cascade tenants create NAME` (same --data)"
        case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
        case .tenantExists(let tenant): "tenant \(tenant) already exists"
        case .unknownTenant(let tenant):
            "no tenant \(tenant); create it with `cascade tenants create \(tenant)`"
        case .unknownKey(let keyID): "no key \(keyID) (see `cascade keys list --tenant …`)"
        case .invalid(let message): message
        }
    }
}
