import Metering

/// The ledger's tables on PostgreSQL: the same columns as the SQLite ledger, with one change the
/// multi-node design needs. Each tenant has its own hash chain (`seq` counts per tenant), so
/// nodes appending for different tenants never wait for each other; a global chain would make
/// every append in the cluster take one lock. `id` keeps the global insertion order.
enum PostgresLedgerSchema {
    static let v1: [String] = [
        """
        CREATE TABLE ledger_entry (
            id BIGSERIAL PRIMARY KEY,
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('query', 'attempt', 'correction')),
            query_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            conversation_id TEXT,
            user_id TEXT,
            tier TEXT NOT NULL,
            outcome TEXT NOT NULL,
            question TEXT,
            answer TEXT,
            citations TEXT,
            confidence DOUBLE PRECISION,
            cost_micros BIGINT NOT NULL CHECK (cost_micros >= 0),
            tokens_in BIGINT NOT NULL,
            tokens_out BIGINT NOT NULL,
            latency_ms BIGINT NOT NULL,
            occurred_at_ms BIGINT NOT NULL,
            recorded_at_ms BIGINT NOT NULL,
            note TEXT,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            hash_scheme INTEGER NOT NULL,
            UNIQUE (tenant, seq)
        )
        """,
        // A query id is recorded once per tenant, whichever node writes it.
        "CREATE UNIQUE INDEX ledger_query_once ON ledger_entry(tenant, query_id) WHERE kind = 'query'",
        "CREATE INDEX ledger_by_query ON ledger_entry(tenant, query_id)",
        "CREATE INDEX ledger_by_tenant_time ON ledger_entry(tenant, occurred_at_ms)",
        """
        CREATE FUNCTION cascade_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused (record a correction instead)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """,
        """
        CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger_entry
        FOR EACH ROW EXECUTE FUNCTION cascade_refuse_change()
        """,
        """
        CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_entry
        FOR EACH STATEMENT EXECUTE FUNCTION cascade_refuse_change()
        """,
        "REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entry FROM PUBLIC",
        // Billing settings and final invoices, as on SQLite (appended, never changed): the
        // ledger reads them to refuse rows dated in a month whose invoice is final.
        """
        CREATE TABLE tenant_billing (
            seq BIGSERIAL PRIMARY KEY,
            tenant TEXT NOT NULL,
            plan TEXT NOT NULL,
            billing TEXT NOT NULL,
            timezone TEXT NOT NULL,
            reopen_window_hours INTEGER NOT NULL,
            effective_month TEXT NOT NULL,
            recorded_at_ms BIGINT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )
        """,
        "CREATE INDEX tenant_billing_by_tenant ON tenant_billing(tenant, effective_month)",
        """
        CREATE TABLE final_invoice (
            tenant TEXT NOT NULL,
            month TEXT NOT NULL,
            body TEXT NOT NULL,
            finalized_at_ms BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            ledger_sequence BIGINT,
            ledger_head_hash TEXT,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (tenant, month)
        )
        """,
        """
        CREATE TRIGGER tenant_billing_append_only BEFORE UPDATE OR DELETE ON tenant_billing
        FOR EACH ROW EXECUTE FUNCTION cascade_refuse_change()
        """,
        """
        CREATE TRIGGER final_invoice_append_only BEFORE UPDATE OR DELETE ON final_invoice
        FOR EACH ROW EXECUTE FUNCTION cascade_refuse_change()
        """,
        "REVOKE UPDATE, DELETE, TRUNCATE ON tenant_billing, final_invoice FROM PUBLIC",
    ]

    /// Signed checkpoints (`ledger checkpoint`, and those final invoices carry), kept beside the
    /// chains as on SQLite and appended only: `ledger verify` checks each against the chains.
    static let v2: [String] = [
        """
        CREATE TABLE checkpoint (
            seq BIGSERIAL PRIMARY KEY,
            body TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL
        )
        """,
        """
        CREATE TRIGGER checkpoint_append_only BEFORE UPDATE OR DELETE ON checkpoint
        FOR EACH ROW EXECUTE FUNCTION cascade_refuse_change()
        """,
        """
        CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON checkpoint
        FOR EACH STATEMENT EXECUTE FUNCTION cascade_refuse_change()
        """,
        "REVOKE UPDATE, DELETE, TRUNCATE ON checkpoint FROM PUBLIC",
        // v1 refused TRUNCATE of the side tables by privilege only, which binds no owner.
        """
        CREATE TRIGGER tenant_billing_no_truncate BEFORE TRUNCATE ON tenant_billing
        FOR EACH STATEMENT EXECUTE FUNCTION cascade_refuse_change()
        """,
        """
        CREATE TRIGGER final_invoice_no_truncate BEFORE TRUNCATE ON final_invoice
        FOR EACH STATEMENT EXECUTE FUNCTION cascade_refuse_change()
        """,
    ]

    /// What each resolution was decided on (hash scheme 3 covers it).
    static let v3: [String] = [
        "ALTER TABLE ledger_entry ADD COLUMN evidence TEXT"
    ]

    /// Webhook endpoints and their outbox (the same tables as on SQLite).
    static let v4: [String] = WebhookSchema.statements

    /// Spend caps, alerts and each alert's state per month (the same tables as on SQLite).
    static let v5: [String] = SpendControlSchema.statements

    /// The customers' verdicts, read before each RAG answer is billed (as on SQLite).
    static let v6: [String] = [
        "CREATE INDEX ledger_verdicts ON ledger_entry(tenant, seq) WHERE \(Ledger.verdictRowsCondition)"
    ]
}
