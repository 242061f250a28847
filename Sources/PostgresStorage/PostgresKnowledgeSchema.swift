/// The shared knowledge-base log on PostgreSQL: one row per change of a tenant's knowledge base
/// (documents with chunks and vectors, removals), numbered per tenant. Rows are appended, never
/// changed; nodes replay them in order into their local stores.
enum PostgresKnowledgeSchema {
    static let v1: [String] = [
        """
        CREATE TABLE kb_log (
            tenant TEXT NOT NULL,
            version BIGINT NOT NULL CHECK (version > 0),
            model TEXT NOT NULL,
            recorded_at_ms BIGINT NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (tenant, version)
        )
        """,
        """
        CREATE TRIGGER kb_log_append_only BEFORE UPDATE OR DELETE ON kb_log
        FOR EACH ROW EXECUTE FUNCTION cascade_refuse_change()
        """,
    ]

    /// What each record is (`changes`, `model_switch`, `snapshot`), so a node with nothing yet
    /// finds the newest snapshot without reading every record.
    static let v2: [String] = [
        "ALTER TABLE kb_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'changes'",
        "CREATE INDEX kb_log_snapshots ON kb_log(tenant, version) WHERE kind = 'snapshot'",
    ]
}
