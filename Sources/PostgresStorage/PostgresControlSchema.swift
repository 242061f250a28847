/// The control plane's tables on PostgreSQL (tenants and API keys), as on SQLite: keys are kept
/// as SHA-256 hashes only. Shared by every node, so a key revoked through one node is refused by
/// all of them at their next request.
enum PostgresControlSchema {
    static let v1: [String] = [
        """
        CREATE TABLE tenant (
            id TEXT PRIMARY KEY,
            created_at_ms BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE api_key (
            key_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL REFERENCES tenant(id),
            scope TEXT NOT NULL CHECK (scope IN ('query', 'admin')),
            name TEXT,
            secret_hash TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            revoked_at_ms BIGINT
        )
        """,
        "CREATE INDEX api_key_tenant ON api_key(tenant)",
    ]

    /// Secrets every node needs the same copy of (the dashboard's session-signing key).
    static let v2: [String] = [
        """
        CREATE TABLE service_secret (
            name TEXT PRIMARY KEY,
            value BYTEA NOT NULL
        )
        """
    ]

    /// Signed-out dashboard sessions, until they would have expired (every node refuses them).
    static let v3: [String] = [
        """
        CREATE TABLE revoked_session (
            session_id TEXT PRIMARY KEY,
            expires_at_ms BIGINT NOT NULL
        )
        """
    ]
}
