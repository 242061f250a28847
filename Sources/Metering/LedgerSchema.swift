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
        migrator.registerMigration("v4-integrity") { db in
            // Hash scheme 2 for new ledger rows; the tables that decide money (billing changes,
            // final invoices) get their own hash chains; signed checkpoints are kept.
            try db.execute(
                sql: """
                    ALTER TABLE ledger_entry ADD COLUMN hash_scheme INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE tenant_billing ADD COLUMN previous_hash TEXT NOT NULL DEFAULT '';
                    ALTER TABLE tenant_billing ADD COLUMN hash TEXT NOT NULL DEFAULT '';
                    ALTER TABLE final_invoice ADD COLUMN seq INTEGER;
                    ALTER TABLE final_invoice ADD COLUMN ledger_sequence INTEGER;
                    ALTER TABLE final_invoice ADD COLUMN ledger_head_hash TEXT;
                    ALTER TABLE final_invoice ADD COLUMN previous_hash TEXT NOT NULL DEFAULT '';
                    ALTER TABLE final_invoice ADD COLUMN hash TEXT NOT NULL DEFAULT '';
                    DROP TRIGGER tenant_billing_no_update;
                    DROP TRIGGER final_invoice_no_update;
                    """)
            // Seal the rows written before this version into their chains (once, here).
            var previous = ""
            for row in try Row.fetchAll(db, sql: "SELECT * FROM tenant_billing ORDER BY seq") {
                let hash = IntegrityChain.billing.hash(row, sequence: row["seq"], previousHash: previous)
                try db.execute(
                    sql: "UPDATE tenant_billing SET previous_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [previous, hash, row["seq"] as Int64])
                previous = hash
            }
            previous = ""
            let invoices = try Row.fetchAll(db, sql: "SELECT rowid AS rid, * FROM final_invoice ORDER BY rowid")
            for (i, row) in invoices.enumerated() {
                let hash = IntegrityChain.finalInvoice.hash(row, sequence: Int64(i + 1), previousHash: previous)
                try db.execute(
                    sql: "UPDATE final_invoice SET seq = ?, previous_hash = ?, hash = ? WHERE rowid = ?",
                    arguments: [i + 1, previous, hash, row["rid"] as Int64])
                previous = hash
            }
            try db.execute(
                sql: """
                    CREATE UNIQUE INDEX final_invoice_by_seq ON final_invoice(seq);
                    CREATE TRIGGER tenant_billing_no_update BEFORE UPDATE ON tenant_billing BEGIN
                        SELECT RAISE(ABORT, 'billing settings are append-only: record a new change');
                    END;
                    CREATE TRIGGER tenant_billing_no_delete BEFORE DELETE ON tenant_billing BEGIN
                        SELECT RAISE(ABORT, 'billing settings are append-only: record a new change');
                    END;
                    CREATE TRIGGER final_invoice_no_update BEFORE UPDATE ON final_invoice BEGIN
                        SELECT RAISE(ABORT, 'a finalized invoice never changes');
                    END;
                    -- Signed checkpoints (cascade ledger checkpoint, and one per finalized invoice).
                    CREATE TABLE checkpoint (
                        seq INTEGER PRIMARY KEY,
                        body TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    );
                    CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON checkpoint BEGIN
                        SELECT RAISE(ABORT, 'checkpoints are append-only');
                    END;
                    CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON checkpoint BEGIN
                        SELECT RAISE(ABORT, 'checkpoints are append-only');
                    END;
                    """)
        }
        migrator.registerMigration("v5-evidence") { db in
            // What each resolution was decided on (hash scheme 3 covers it).
            try db.execute(sql: "ALTER TABLE ledger_entry ADD COLUMN evidence TEXT")
        }
        migrator.registerMigration("v6-webhooks") { db in
            // Webhook endpoints and the outbox of their deliveries (see ``WebhookStore``): written
            // in the ledger's own transactions, so an event is stored exactly when its row is.
            // Not append-only: a delivery's state moves on; the attempts are its log.
            try db.execute(sql: WebhookSchema.sqlite)
        }
        migrator.registerMigration("v7-spend-controls") { db in
            // Spend caps, alerts and each alert's state per month (see ``SpendControlStore``).
            try db.execute(sql: SpendControlSchema.sqlite)
        }
        migrator.registerMigration("v8-verdicts") { db in
            // The resolver reads a tenant's verdicts before it bills each RAG answer
            // (``Ledger/customerVerdicts(tenant:)``): an index of those rows alone.
            try db.execute(
                sql: "CREATE INDEX ledger_verdicts ON ledger_entry(tenant, seq) WHERE \(Ledger.verdictRowsCondition)"
            )
        }
        return migrator
    }
}
