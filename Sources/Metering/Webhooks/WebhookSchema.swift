import Foundation

/// The webhook tables, the same on SQLite and PostgreSQL (`BIGINT` is SQLite's INTEGER).
public enum WebhookSchema {
    /// One statement per element (PostgreSQL's extended protocol runs one at a time).
    public static let statements: [String] = [
        """
        CREATE TABLE webhook_endpoint (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            url TEXT NOT NULL,
            event_types TEXT NOT NULL,
            description TEXT,
            secrets TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            disabled_at_ms BIGINT,
            disabled_reason TEXT,
            removed_at_ms BIGINT
        )
        """,
        "CREATE INDEX webhook_endpoint_by_tenant ON webhook_endpoint(tenant)",
        """
        CREATE TABLE webhook_event (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            type TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE webhook_delivery (
            event_id TEXT NOT NULL REFERENCES webhook_event(id),
            endpoint_id TEXT NOT NULL REFERENCES webhook_endpoint(id),
            tenant TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at_ms BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until_ms BIGINT NOT NULL DEFAULT 0,
            last_status INTEGER,
            last_error TEXT,
            delivered_at_ms BIGINT,
            created_at_ms BIGINT NOT NULL,
            PRIMARY KEY (event_id, endpoint_id)
        )
        """,
        "CREATE INDEX webhook_delivery_due ON webhook_delivery(next_attempt_at_ms) WHERE state = 'pending'",
        "CREATE INDEX webhook_delivery_by_endpoint ON webhook_delivery(endpoint_id, created_at_ms)",
        """
        CREATE TABLE webhook_attempt (
            event_id TEXT NOT NULL,
            endpoint_id TEXT NOT NULL,
            attempted_at_ms BIGINT NOT NULL,
            status INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            trigger TEXT NOT NULL
        )
        """,
        "CREATE INDEX webhook_attempt_by_delivery ON webhook_attempt(event_id, endpoint_id)",
        // An escalation's event carries the conversation's earlier turns.
        "CREATE INDEX ledger_by_conversation ON ledger_entry(tenant, conversation_id)",
    ]

    static var sqlite: String { statements.joined(separator: ";\n") }
}
