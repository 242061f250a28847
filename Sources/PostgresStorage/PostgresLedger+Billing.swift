import Foundation
import Logging
import Metering
import PostgresNIO

/// Billing settings and final invoices on PostgreSQL: the same rules as on SQLite (Metering's
/// shared functions), each table one global hash chain (``IntegrityHash``), appended under an
/// advisory lock of its own. Both are rare writes, so one chain for all tenants costs nothing.
///
/// Lock order, everywhere: the tenant's lock first, then a chain's. A record takes only the
/// tenant's lock, so a billing change or a finalize for that tenant waits for an append in flight
/// and the append after it sees the change.
extension PostgresLedger {
    public func setBilling(
        tenant: String, plan: Plan, billing: BillingMode, timeZone: String, reopenWindowHours: Int,
        immediately: Bool, now: Date
    ) async throws -> TenantBilling {
        let zone = try TenantBilling.check(plan: plan, billing: billing, timeZone: timeZone)
        let logger = database.logger
        let recordedAtMs = LedgerEntry.milliseconds(now)
        return try await database.transaction { connection in
            try await Self.lock(tenant: tenant, on: connection, logger: logger)
            try await connection.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), \(Self.billingChainLockKey)))",
                logger: logger)
            let hasAny =
                try await connection.run(
                    "SELECT EXISTS (SELECT 1 FROM tenant_billing WHERE tenant = \(tenant))", logger: logger
                ).first?.decode(Bool.self) ?? false
            let effective = TenantBilling.effectiveMonth(
                firstChoice: !hasAny, immediately: immediately, now: now, zone: zone
            ).description
            let head = try await Self.chainHead(table: "tenant_billing", on: connection, logger: logger)
            let sequence = head.sequence + 1
            let hash = IntegrityHash.billing(
                sequence: sequence, tenant: tenant, plan: plan.id, billing: billing.rawValue, timeZone: timeZone,
                reopenWindowHours: Int64(reopenWindowHours), effectiveMonth: effective, recordedAtMs: recordedAtMs,
                previousHash: head.hash)
            try await connection.run(
                """
                INSERT INTO tenant_billing(seq, tenant, plan, billing, timezone, reopen_window_hours, effective_month,
                    recorded_at_ms, previous_hash, hash)
                VALUES (\(sequence), \(tenant), \(plan.id), \(billing.rawValue), \(timeZone), \(reopenWindowHours),
                    \(effective), \(recordedAtMs), \(head.hash), \(hash))
                """, logger: logger)
            return TenantBilling(
                tenant: tenant, plan: plan.id, billing: billing, timeZone: timeZone,
                reopenWindowHours: reopenWindowHours,
                effectiveMonth: effective, recordedAt: LedgerEntry.date(milliseconds: recordedAtMs))
        }
    }

    public func billingHistory(tenant: String) async throws -> [TenantBilling] {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run(
                """
                SELECT tenant, plan, billing, timezone, reopen_window_hours, effective_month, recorded_at_ms
                FROM tenant_billing WHERE tenant = \(tenant) ORDER BY seq
                """, logger: logger
            ).map { row in
                let (tenant, plan, mode, zone, window, effective, recordedAt) = try row.decode(
                    (String, String, String, String, Int, String, Int64).self)
                guard let billing = BillingMode(rawValue: mode) else {
                    throw BillingError.invalidCatalog(
                        "a billing change names an unknown billing mode \(mode): the table is damaged")
                }
                return TenantBilling(
                    tenant: tenant, plan: plan, billing: billing, timeZone: zone, reopenWindowHours: window,
                    effectiveMonth: effective, recordedAt: LedgerEntry.date(milliseconds: recordedAt))
            }
        }
    }

    public func billingEntries(tenant: String, from start: Date, to end: Date) async throws -> [LedgerEntry] {
        let logger = database.logger
        let (from, to) = (LedgerEntry.milliseconds(start), LedgerEntry.milliseconds(end))
        return try await database.connection { connection in
            try await connection.run(
                """
                SELECT * FROM ledger_entry
                WHERE tenant = \(tenant) AND ((occurred_at_ms >= \(from) AND occurred_at_ms < \(to)) OR kind = 'correction')
                ORDER BY seq
                """, logger: logger
            ).map(Self.entry)
        }
    }

    public func finalInvoices(tenant: String) async throws -> [Invoice] {
        let logger = database.logger
        return try await database.connection { connection in
            try await Self.finalInvoices(tenant: tenant, month: nil, on: connection, logger: logger)
        }
    }

    public func billingSequence(tenant: String) async throws -> Int64 {
        let logger = database.logger
        return try await database.connection { connection in
            try await connection.run(
                "SELECT COALESCE(MAX(seq), 0) FROM ledger_entry WHERE tenant = \(tenant)", logger: logger
            ).first?.decode(Int64.self) ?? 0
        }
    }

    public func finalize(
        _ invoice: Invoice, computedAt: (sequence: Int64, start: Date, end: Date)?,
        signingKey: CheckpointSigningKey?, now: Date
    ) async throws -> Invoice {
        let logger = database.logger
        let tenant = invoice.tenant
        return try await database.transaction { connection in
            try await Self.lock(tenant: tenant, on: connection, logger: logger)
            try await connection.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), \(Self.finalChainLockKey)))",
                logger: logger)
            if let stored = try await Self.finalInvoices(
                tenant: tenant, month: invoice.month, on: connection, logger: logger
            ).first {
                return stored
            }
            if let computedAt {
                let (from, to) = (
                    LedgerEntry.milliseconds(computedAt.start), LedgerEntry.milliseconds(computedAt.end)
                )
                let changed =
                    try await connection.run(
                        """
                        SELECT EXISTS (SELECT 1 FROM ledger_entry WHERE tenant = \(tenant) AND seq > \(computedAt.sequence)
                            AND ((occurred_at_ms >= \(from) AND occurred_at_ms < \(to)) OR kind = 'correction'))
                        """, logger: logger
                    ).first?.decode(Bool.self) ?? false
                if changed {
                    throw LedgerError.invalidInput(
                        "rows of \(tenant) for \(invoice.month) were recorded while the invoice was computed; run the command again"
                    )
                }
            }
            let ledgerHead =
                try await connection.run(
                    "SELECT seq, hash FROM ledger_entry WHERE tenant = \(tenant) ORDER BY seq DESC LIMIT 1",
                    logger: logger
                ).first.map { try $0.decode((Int64, String).self) } ?? (Int64(0), "")
            var final = invoice
            final.status = "final"
            final.ledgerHead = ChainHead(sequence: ledgerHead.0, hash: ledgerHead.1)
            if let signingKey {
                // The tenant's chain only: the invoice goes to the customer, who has no business
                // learning which other tenants are billed.
                final.ledgerCheckpoint = try await Self.checkpoint(
                    tenant: tenant, key: signingKey, now: now, on: connection, logger: logger)
            }
            let body = try final.storedBody()
            let head = try await Self.chainHead(table: "final_invoice", on: connection, logger: logger)
            let sequence = head.sequence + 1
            let finalizedAtMs = LedgerEntry.milliseconds(now)
            let hash = IntegrityHash.finalInvoice(
                sequence: sequence, tenant: tenant, month: invoice.month, body: body, finalizedAtMs: finalizedAtMs,
                ledgerSequence: ledgerHead.0, ledgerHeadHash: ledgerHead.1, previousHash: head.hash)
            try await connection.run(
                """
                INSERT INTO final_invoice(tenant, month, body, finalized_at_ms, seq, ledger_sequence, ledger_head_hash,
                    previous_hash, hash)
                VALUES (\(tenant), \(invoice.month), \(body), \(finalizedAtMs), \(sequence), \(ledgerHead.0),
                    \(ledgerHead.1), \(head.hash), \(hash))
                """, logger: logger)
            try await Self.emit(tenant: tenant, now: now, on: connection, logger: logger) {
                [try WebhookPayload.event(finalized: final, at: now)]
            }
            return final
        }
    }

    // MARK: - Statements

    static func finalInvoices(tenant: String, month: String?, on connection: PostgresConnection, logger: Logger)
        async throws -> [Invoice]
    {
        let rows: [PostgresRow]
        if let month {
            rows = try await connection.run(
                "SELECT month, body FROM final_invoice WHERE tenant = \(tenant) AND month = \(month)", logger: logger)
        } else {
            rows = try await connection.run(
                "SELECT month, body FROM final_invoice WHERE tenant = \(tenant) ORDER BY month", logger: logger)
        }
        return try await rows.map { row in
            let (month, body) = try row.decode((String, String).self)
            do {
                return try Invoice.decodeStored(body)
            } catch {
                throw LedgerError.corruptedFinalInvoice(tenant: tenant, month: month)
            }
        }
    }

    /// The last row of a global chain (`tenant_billing` or `final_invoice`): 0 and "" while empty.
    static func chainHead(table: String, on connection: PostgresConnection, logger: Logger) async throws -> ChainHead {
        let row = try await connection.run(
            PostgresQuery(unsafeSQL: "SELECT seq, hash FROM \(table) ORDER BY seq DESC LIMIT 1"), logger: logger
        ).first
        guard let row else { return ChainHead(sequence: 0, hash: "") }
        let (sequence, hash) = try row.decode((Int64, String).self)
        return ChainHead(sequence: sequence, hash: hash)
    }

    /// Seeds of the advisory lock keys of the two chains, per schema ("cascadeB", "cascadeF" in ASCII).
    static let billingChainLockKey: Int64 = 0x6361_7363_6164_6542
    static let finalChainLockKey: Int64 = 0x6361_7363_6164_6546
}

extension PostgresLedger {
    public func importHistory(_ history: TenantHistory) async throws {
        try history.check()
        let logger = database.logger
        let tenant = history.tenant
        let now = LedgerEntry.milliseconds(Date())
        try await database.transaction { connection in
            try await Self.lock(tenant: tenant, on: connection, logger: logger)
            try await connection.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), \(Self.billingChainLockKey)))",
                logger: logger)
            try await connection.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), \(Self.finalChainLockKey)))",
                logger: logger)
            let present =
                try await connection.run(
                    """
                    SELECT EXISTS (SELECT 1 FROM ledger_entry WHERE tenant = \(tenant))
                        OR EXISTS (SELECT 1 FROM tenant_billing WHERE tenant = \(tenant))
                        OR EXISTS (SELECT 1 FROM final_invoice WHERE tenant = \(tenant))
                    """, logger: logger
                ).first?.decode(Bool.self) ?? true
            if present {
                throw LedgerError.invalidInput(
                    "this database already has ledger rows of \(tenant): an import never merges")
            }
            // The tenant's own chain, from its start; 500 rows per statement (bind limit).
            var head: (sequence: Int64, hash: String) = (0, "")
            var start = 0
            while start < history.entries.count {
                let batch = Array(history.entries[start..<min(start + 500, history.entries.count)])
                _ = try await Self.append(batch, after: &head, on: connection, logger: logger)
                start += batch.count
            }
            var billingHead = try await Self.chainHead(table: "tenant_billing", on: connection, logger: logger)
            for change in history.billing {
                let sequence = billingHead.sequence + 1
                let recordedAt = LedgerEntry.milliseconds(change.recordedAt)
                let hash = IntegrityHash.billing(
                    sequence: sequence, tenant: tenant, plan: change.plan, billing: change.billing.rawValue,
                    timeZone: change.timeZone, reopenWindowHours: Int64(change.reopenWindowHours),
                    effectiveMonth: change.effectiveMonth, recordedAtMs: recordedAt, previousHash: billingHead.hash)
                try await connection.run(
                    """
                    INSERT INTO tenant_billing(seq, tenant, plan, billing, timezone, reopen_window_hours, effective_month,
                        recorded_at_ms, previous_hash, hash)
                    VALUES (\(sequence), \(tenant), \(change.plan), \(change.billing.rawValue), \(change.timeZone),
                        \(change.reopenWindowHours), \(change.effectiveMonth), \(recordedAt), \(billingHead.hash), \(hash))
                    """, logger: logger)
                billingHead = ChainHead(sequence: sequence, hash: hash)
            }
            var finalHead = try await Self.chainHead(table: "final_invoice", on: connection, logger: logger)
            for invoice in history.finalInvoices {
                let sequence = finalHead.sequence + 1
                let body = try invoice.storedBody()
                let hash = IntegrityHash.finalInvoice(
                    sequence: sequence, tenant: tenant, month: invoice.month, body: body, finalizedAtMs: now,
                    ledgerSequence: head.sequence, ledgerHeadHash: head.hash, previousHash: finalHead.hash)
                try await connection.run(
                    """
                    INSERT INTO final_invoice(tenant, month, body, finalized_at_ms, seq, ledger_sequence, ledger_head_hash,
                        previous_hash, hash)
                    VALUES (\(tenant), \(invoice.month), \(body), \(now), \(sequence), \(head.sequence),
                        \(head.hash), \(finalHead.hash), \(hash))
                    """, logger: logger)
                finalHead = ChainHead(sequence: sequence, hash: hash)
            }
        }
    }
}
