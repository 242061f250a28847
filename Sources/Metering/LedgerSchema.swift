import GRDB

/// The ledger schema. Shipped migrations are never edited.
enum LedgerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE ledger_entry (
                        seq INTEGER PRIMARY KEY,
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
                        confidence REAL,
                        cost_micros INTEGER NOT NULL CHECK (cost_micros >= 0),
                        tokens_in INTEGER NOT NULL,
                        tokens_out INTEGER NOT NULL,
                        latency_ms INTEGER NOT NULL,
                        occurred_at_ms INTEGER NOT NULL,
                        recorded_at_ms INTEGER NOT NULL,
                        note TEXT,
                        previous_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    -- A query id is recorded once per tenant: the idempotency key lives in the same
                    -- row (and transaction) as the outcome.
                    CREATE UNIQUE INDEX ledger_query_once ON ledger_entry(tenant, query_id) WHERE kind = 'query';
                    CREATE INDEX ledger_by_query ON ledger_entry(query_id);
                    CREATE INDEX ledger_by_tenant_time ON ledger_entry(tenant, occurred_at_ms);
                    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_entry BEGIN
                        SELECT RAISE(ABORT, 'the ledger is append-only: record a correction instead of updating');
                    END;
                    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_entry BEGIN
                        SELECT RAISE(ABORT, 'the ledger is append-only: rows cannot be deleted');
                    END;
                    """)
        }
        migrator.registerMigration("v2-billing") { db in
            // Billing choices per tenant, appended with the month they take effect.
            try db.execute(
                sql: """
                    CREATE TABLE tenant_billing (
                        seq INTEGER PRIMARY KEY,
                        tenant TEXT NOT NULL,
                        plan TEXT NOT NULL,
                        billing TEXT NOT NULL,
                        timezone TEXT NOT NULL,
                        reopen_window_hours INTEGER NOT NULL,
                        effective_month TEXT NOT NULL,
                        recorded_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX tenant_billing_by_tenant ON tenant_billing(tenant, effective_month);
                    CREATE TRIGGER tenant_billing_no_update BEFORE UPDATE ON tenant_billing BEGIN
                        SELECT RAISE(ABORT, 'billing settings are append-only: record a new change');
                    END;
                    """)
        }
        migrator.registerMigration("v3-invoices") { db in
            // Finalized invoices: written once, never changed (late corrections become credits on
            // a later invoice).
            try db.execute(
                sql: """
                    CREATE TABLE final_invoice (
                        tenant TEXT NOT NULL,
                        month TEXT NOT NULL,
                        body TEXT NOT NULL,
                        finalized_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (tenant, month)
                    );
                    CREATE TRIGGER final_invoice_no_update BEFORE UPDATE ON final_invoice BEGIN
                        SELECT RAISE(ABORT, 'a finalized invoice never changes');
                    END;
                    CREATE TRIGGER final_invoice_no_delete BEFORE DELETE ON final_invoice BEGIN
                        SELECT RAISE(ABORT, 'a finalized invoice never changes');
                    END;
                    """)
        }
        return migrator
    }
}
