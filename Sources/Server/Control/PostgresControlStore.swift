import Cascade
import Foundation
import Logging
import PostgresNIO
import PostgresStorage

/// Tenants and API keys in the PostgreSQL database every node shares (``ControlStoring``): the
/// same rules as ``ControlStore``. Each request's key lookup is one primary-key read, so a
/// revocation through any node holds on every node at its next request.
public struct PostgresControlStore: ControlStoring {
    public let database: PostgresStorage.PostgresDatabase

    /// Opens the control plane of a migrated database.
    public init(database: PostgresStorage.PostgresDatabase) async throws {
        try await database.checkSchema()
        self.database = database
    }

    public func createTenant(_ tenant: String, now: Date) async throws -> Tenant {
        let name = try TenantConfiguration.validatedName(tenant)
        let ms = ControlStore.ms(now)
        let logger = database.logger
        let inserted = try await database.connection { connection in
            try await connection.run(
                "INSERT INTO tenant(id, created_at_ms) VALUES (\(name), \(ms)) ON CONFLICT (id) DO NOTHING RETURNING id",
                logger: logger
            ).count
        }
        guard inserted == 1 else { throw ControlError.tenantExists(name) }
        return Tenant(id: name, createdAt: ControlStore.date(ms))
    }

    public func tenant(_ id: String) async throws -> Tenant? {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run("SELECT id, created_at_ms FROM tenant WHERE id = \(id)", logger: logger)
                .first.map { row in
                    let (id, ms) = try row.decode((String, Int64).self)
                    return Tenant(id: id, createdAt: ControlStore.date(ms))
                }
        }
    }

    public func tenants() async throws -> [Tenant] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run("SELECT id, created_at_ms FROM tenant ORDER BY id", logger: logger)
                .map { row in
                    let (id, ms) = try row.decode((String, Int64).self)
                    return Tenant(id: id, createdAt: ControlStore.date(ms))
                }
        }
    }

    public func createKey(tenant: String, scope: KeyScope, name: String?, now: Date) async throws -> (
        record: APIKeyRecord, key: String
    ) {
        try Self.checkKeyName(name)
        let (keyID, key) = APIKeyFormat.generate()
        let ms = ControlStore.ms(now)
        let record = APIKeyRecord(
            keyID: keyID, tenant: tenant, scope: scope, name: name, createdAt: ControlStore.date(ms), revokedAt: nil,
            secretHash: APIKeyFormat.hash(key))
        let logger = database.logger
        // One statement: the key is inserted only if the tenant exists.
        let inserted = try await database.connection { connection in
            try await connection.run(
                """
                INSERT INTO api_key(key_id, tenant, scope, name, secret_hash, created_at_ms)
                SELECT \(keyID), id, \(scope.rawValue), \(name), \(record.secretHash), \(ms) FROM tenant WHERE id = \(tenant)
                RETURNING key_id
                """, logger: logger
            ).count
        }
        guard inserted == 1 else { throw ControlError.unknownTenant(tenant) }
        return (record, key)
    }

    public func keys(tenant: String) async throws -> [APIKeyRecord] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run(
                "SELECT key_id, tenant, scope, name, secret_hash, created_at_ms, revoked_at_ms FROM api_key WHERE tenant = \(tenant) ORDER BY created_at_ms DESC, key_id",
                logger: logger
            ).map(Self.record)
        }
    }

    public func revokeKey(_ keyID: String, tenant: String?, now: Date) async throws -> APIKeyRecord {
        let ms = ControlStore.ms(now)
        let logger = database.logger
        return try await database.transaction { connection in
            guard
                let row = try await connection.run(
                    "SELECT key_id, tenant, scope, name, secret_hash, created_at_ms, revoked_at_ms FROM api_key WHERE key_id = \(keyID) FOR UPDATE",
                    logger: logger
                ).first
            else { throw ControlError.unknownKey(keyID) }
            var record = try Self.record(row)
            guard tenant == nil || record.tenant == tenant else { throw ControlError.unknownKey(keyID) }
            if record.revokedAt == nil {
                try await connection.run(
                    "UPDATE api_key SET revoked_at_ms = \(ms) WHERE key_id = \(keyID)", logger: logger)
                record.revokedAt = ControlStore.date(ms)
            }
            return record
        }
    }

    public func importTenant(_ tenant: Tenant, keys: [APIKeyRecord]) async throws {
        let name = try TenantConfiguration.validatedName(tenant.id)
        let created = ControlStore.ms(tenant.createdAt)
        let logger = database.logger
        try await database.transaction { connection in
            let inserted = try await connection.run(
                "INSERT INTO tenant(id, created_at_ms) VALUES (\(name), \(created)) ON CONFLICT (id) DO NOTHING RETURNING id",
                logger: logger
            ).count
            guard inserted == 1 else { throw ControlError.tenantExists(name) }
            for key in keys {
                try await connection.run(
                    """
                    INSERT INTO api_key(key_id, tenant, scope, name, secret_hash, created_at_ms, revoked_at_ms)
                    VALUES (\(key.keyID), \(name), \(key.scope.rawValue), \(key.name), \(key.secretHash),
                        \(ControlStore.ms(key.createdAt)), \(key.revokedAt.map(ControlStore.ms)))
                    """, logger: logger)
            }
        }
    }

    public func sharedSessionSecret(proposing proposed: Data) async throws -> Data? {
        let logger = database.logger
        let rows = try await database.connection { connection in
            try await connection.run(
                """
                WITH proposed AS (
                    INSERT INTO service_secret(name, value) VALUES ('dashboard_session', \(proposed))
                    ON CONFLICT (name) DO NOTHING RETURNING value
                )
                SELECT value FROM proposed UNION ALL SELECT value FROM service_secret WHERE name = 'dashboard_session'
                """, logger: logger)
        }
        guard let secret = try rows.first?.decode(Data.self), secret.count >= 32 else {
            throw ControlError.invalid("the shared dashboard session secret is missing or too short")
        }
        return secret
    }

    public func revokeSession(_ sessionID: String, expiresAt: Date, now: Date) async throws {
        let logger = database.logger
        try await database.connection { connection in
            try await connection.run(
                "DELETE FROM revoked_session WHERE expires_at_ms < \(ControlStore.ms(now))", logger: logger)
            try await connection.run(
                """
                INSERT INTO revoked_session(session_id, expires_at_ms) VALUES (\(sessionID), \(ControlStore.ms(expiresAt)))
                ON CONFLICT (session_id) DO NOTHING
                """, logger: logger)
        }
    }

    public func isSessionRevoked(_ sessionID: String) async throws -> Bool {
        let logger = database.logger
        return try await database.connection { connection in
            try await !connection.run(
                "SELECT 1 FROM revoked_session WHERE session_id = \(sessionID)", logger: logger
            ).isEmpty
        }
    }

    public func keyRecord(id keyID: String) async throws -> APIKeyRecord? {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run(
                "SELECT key_id, tenant, scope, name, secret_hash, created_at_ms, revoked_at_ms FROM api_key WHERE key_id = \(keyID)",
                logger: logger
            ).first.map(Self.record)
        }
    }

    static func record(_ row: PostgresRow) throws -> APIKeyRecord {
        let (keyID, tenant, scope, name, hash, created, revoked) = try row.decode(
            (String, String, String, String?, String, Int64, Int64?).self)
        guard let decodedScope = KeyScope(rawValue: scope) else {
            throw ControlError.invalid("key \(keyID) has an unknown scope \(scope): the table is damaged")
        }
        return APIKeyRecord(
            keyID: keyID, tenant: tenant, scope: decodedScope, name: name, createdAt: ControlStore.date(created),
            revokedAt: revoked.map(ControlStore.date), secretHash: hash)
    }
}
