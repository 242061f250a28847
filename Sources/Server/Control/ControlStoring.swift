import Foundation

/// Tenants and their API keys, wherever they are kept: ``ControlStore`` (`<data>/control.sqlite`,
/// the embedded default) or ``PostgresControlStore`` (one PostgreSQL database shared by several
/// nodes, so a key created or revoked through one node holds on every node at its next request).
/// One test suite runs both.
public protocol ControlStoring: Sendable {
    /// Creates `tenant` (a valid name, not taken).
    func createTenant(_ tenant: String, now: Date) async throws -> Tenant
    func tenant(_ id: String) async throws -> Tenant?
    /// Every tenant, by id.
    func tenants() async throws -> [Tenant]
    /// Creates a key for an existing tenant; the key itself is returned once and never stored.
    func createKey(tenant: String, scope: KeyScope, name: String?, now: Date) async throws -> (
        record: APIKeyRecord, key: String
    )
    /// The tenant's keys, newest first (revoked ones included, marked).
    func keys(tenant: String) async throws -> [APIKeyRecord]
    /// Revokes a key at once; revoking a revoked key returns it unchanged.
    func revokeKey(_ keyID: String, tenant: String?, now: Date) async throws -> APIKeyRecord
    /// The stored record of a key id, revoked or not.
    func keyRecord(id keyID: String) async throws -> APIKeyRecord?
    /// The secret that signs dashboard sessions when the store is shared by several nodes (so a
    /// session signed by one node is accepted by all): `proposed` is kept unless another node
    /// stored one first. Nil for a store of one node (the secret is then a file in its data folder).
    func sharedSessionSecret(proposing proposed: Data) async throws -> Data?
    /// Ends a dashboard session before it expires (sign-out), on every node: `sessionID` is the
    /// session's nonce, remembered until `expiresAt` (after that the session is invalid anyway).
    func revokeSession(_ sessionID: String, expiresAt: Date, now: Date) async throws
    /// Whether the session with this nonce was signed out.
    func isSessionRevoked(_ sessionID: String) async throws -> Bool
    /// Writes a tenant moved from another store with its keys (their hashes: the keys keep
    /// working); refused when the tenant exists here.
    func importTenant(_ tenant: Tenant, keys: [APIKeyRecord]) async throws
}

extension ControlStoring {
    /// The live key record that `key` proves, or nil for an unknown, malformed, wrong or revoked key.
    public func authenticateKey(_ key: String) async throws -> APIKeyRecord? {
        guard let keyID = APIKeyFormat.keyID(of: key) else { return nil }
        return APIKeyFormat.verify(key, against: try await keyRecord(id: keyID))
    }

    /// The key with this id when it exists and is not revoked (a dashboard session names its key).
    public func liveKeyRecord(id keyID: String) async throws -> APIKeyRecord? {
        guard let record = try await keyRecord(id: keyID), record.revokedAt == nil else { return nil }
        return record
    }
}

extension ControlStoring {
    /// A key name is at most 100 characters, without control characters (every store checks it).
    static func checkKeyName(_ name: String?) throws {
        if let name,
            name.count > 100 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        {
            throw ControlError.invalid("a key name is at most 100 characters, without control characters")
        }
    }
}
