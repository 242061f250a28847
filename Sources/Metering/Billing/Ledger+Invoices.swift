import Foundation
import GRDB

extension Ledger {
    /// The global chain's head: an invoice computed now saw every row up to it.
    public func billingSequence(tenant: String) throws -> Int64 { try heads().ledger.sequence }

    /// The finalized invoices of `tenant`, oldest month first. A stored body that does not read
    /// as an invoice is an error naming the month, never skipped.
    public func finalInvoices(tenant: String) throws -> [Invoice] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT month, body FROM final_invoice WHERE tenant = ? ORDER BY month", arguments: [tenant]
            )
            .map { row in
                let month: String = (try? row.decode(forColumn: "month")) ?? "?"
                do {
                    return try Invoice.decodeStored(try row.decode(forColumn: "body"))
                } catch {
                    throw LedgerError.corruptedFinalInvoice(tenant: tenant, month: month)
                }
            }
        }
    }

    /// Stores `invoice` as final, unless its month already has a final invoice; returns the one
    /// stored (so finalizing twice is harmless and gives the same invoice). The final invoice
    /// carries the ledger head it was computed from and, with `signingKey`, a signed checkpoint of
    /// that moment (also stored in the ledger's checkpoint table); the invoice joins the chain of
    /// final invoices.
    /// - Parameters:
    ///   - computedAt: the ledger's last sequence when the caller computed `invoice`, and the
    ///     month's interval: when a row of this tenant dated in the month (or a correction) was
    ///     appended since, the invoice is refused (compute it again) instead of missing it.
    public func finalize(
        _ invoice: Invoice, computedAt: (sequence: Int64, start: Date, end: Date)? = nil,
        signingKey: CheckpointSigningKey? = nil, now: Date = Date()
    ) throws -> Invoice {
        try writer.write { db in
            if let stored = try String.fetchOne(
                db, sql: "SELECT body FROM final_invoice WHERE tenant = ? AND month = ?",
                arguments: [invoice.tenant, invoice.month])
            {
                do { return try Invoice.decodeStored(stored) } catch {
                    throw LedgerError.corruptedFinalInvoice(tenant: invoice.tenant, month: invoice.month)
                }
            }
            let heads = try Self.heads(db)
            if let computedAt,
                try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT 1 FROM ledger_entry WHERE seq > ? AND tenant = ?
                        AND ((occurred_at_ms >= ? AND occurred_at_ms < ?) OR kind = 'correction') LIMIT 1
                        """,
                    arguments: [
                        computedAt.sequence, invoice.tenant, LedgerEntry.milliseconds(computedAt.start),
                        LedgerEntry.milliseconds(computedAt.end),
                    ]) == true
            {
                throw LedgerError.invalidInput(
                    "rows of \(invoice.tenant) for \(invoice.month) were recorded while the invoice was computed; run the command again"
                )
            }
            var final = invoice
            final.status = "final"
            final.ledgerHead = heads.ledger
            if let signingKey { final.ledgerCheckpoint = try Self.checkpoint(db, key: signingKey, now: now) }
            let body = try final.storedBody()
            try IntegrityChain.finalInvoice.append(
                db,
                [
                    "tenant": invoice.tenant, "month": invoice.month, "body": body,
                    "finalized_at_ms": LedgerEntry.milliseconds(now), "ledger_sequence": heads.ledger.sequence,
                    "ledger_head_hash": heads.ledger.hash,
                ])
            try Self.emit(db, tenant: invoice.tenant, now: now) {
                [try WebhookPayload.event(finalized: final, at: now)]
            }
            return final
        }
    }
}

extension Invoice {
    /// Credit lines for resolutions charged on earlier *final* invoices that were since voided or
    /// reopened within the window, and not yet credited by another final invoice.
    public static func credits(
        for month: BillingMonth, finals: [Invoice], entries: [LedgerEntry], reopenWindowHours: Int
    ) -> [Line] {
        let credited = Set(finals.flatMap { $0.lines.filter { $0.kind == "credit" }.flatMap(\.queryIDs) })
        var resolvedAt: [String: Date] = [:]
        for entry in entries where entry.kind == .query { resolvedAt[entry.queryID] = entry.occurredAt }
        var corrected = Set<String>()
        for entry in entries where entry.kind == .correction {
            // Voided, or rejected by the customer (whenever the verdict came): never billed, so a
            // resolution already on a final invoice is credited on the next one.
            if entry.outcome == "voided" || entry.outcome == Ledger.Verdict.notHelpful.outcome {
                corrected.insert(entry.queryID)
            } else if entry.outcome == "reopened", let at = resolvedAt[entry.queryID],
                entry.occurredAt.timeIntervalSince(at) <= Double(reopenWindowHours) * 3600
            {
                corrected.insert(entry.queryID)
            }
        }
        var lines: [Line] = []
        for final in finals where final.month < month.description {
            for line in final.lines where line.kind == "resolutions" {
                let ids = line.queryIDs.filter { corrected.contains($0) && !credited.contains($0) }
                guard !ids.isEmpty else { continue }
                let amount = Money.cents(-Decimal(ids.count) * line.unitPrice)
                lines.append(
                    Line(
                        kind: "credit",
                        description:
                            "Credit: \(ids.count) resolution(s) of \(final.month) voided, reopened or rejected by the customer",
                        quantity: Decimal(ids.count), unitPrice: -line.unitPrice, amount: amount, queryIDs: ids))
            }
        }
        return lines
    }

    /// Adds `credits` to this invoice and recomputes the total.
    public mutating func apply(credits: [Line]) {
        lines += credits
        total = lines.reduce(Decimal(0)) { $0 + $1.amount }
    }
}

extension Ledger {
    /// The rows billing needs for `tenant` between `start` and `end` (queries and attempts), plus
    /// every correction of the tenant; only the columns billing reads (no answers, citations or
    /// hashes; the evidence of queries, for near-duplicate detection), through a cursor, so a month
    /// of a million rows loads in a few seconds.
    public func billingEntries(tenant: String, from start: Date, to end: Date) throws -> [LedgerEntry] {
        try writer.read { db in
            var result: [LedgerEntry] = []
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT seq, kind, query_id, conversation_id, user_id, tier, outcome, question, cost_micros, occurred_at_ms,
                        tokens_in, tokens_out, CASE WHEN kind IN ('attempt', 'correction') THEN note END,
                        CASE WHEN kind = 'query' THEN evidence END
                    FROM ledger_entry
                    WHERE tenant = ? AND ((occurred_at_ms >= ? AND occurred_at_ms < ?) OR kind = 'correction')
                    ORDER BY seq
                    """,
                arguments: [tenant, LedgerEntry.milliseconds(start), LedgerEntry.milliseconds(end)])
            while let row = try cursor.next() {
                // Decoded with checks: a damaged value throws instead of stopping the process.
                let kind: String = try row.decode(atIndex: 1)
                guard let decodedKind = LedgerEntry.Kind(rawValue: kind) else {
                    throw LedgerError.invalidInput("ledger row has an unknown kind \(kind): the file is damaged")
                }
                let at: Int64 = try row.decode(atIndex: 9)
                result.append(
                    LedgerEntry(
                        sequence: try row.decode(atIndex: 0), kind: decodedKind, queryID: try row.decode(atIndex: 2),
                        tenant: tenant, conversationID: try row.decode(atIndex: 3), userID: try row.decode(atIndex: 4),
                        tier: try row.decode(atIndex: 5), outcome: try row.decode(atIndex: 6),
                        // Questions' text, and workflow steps' and ends' workflow name.
                        question: try row.decode(atIndex: 7),
                        costMicros: try row.decode(atIndex: 8), tokensIn: try row.decode(atIndex: 10),
                        tokensOut: try row.decode(atIndex: 11), occurredAt: LedgerEntry.date(milliseconds: at),
                        recordedAt: LedgerEntry.date(milliseconds: at), note: try row.decode(atIndex: 12),
                        evidence: try row.decode(atIndex: 13)))
            }
            return result
        }
    }
}
