import Foundation
import GRDB

extension Ledger {
    /// Writes a tenant's history moved from another store, in one transaction (``LedgerStore/importHistory(_:)``).
    /// Rows are appended to this file's chain in their order, contents unchanged; a final invoice
    /// keeps its body (with the ledger head it was issued at, in the store it came from) and is
    /// anchored to this file's head after the rows.
    public func importHistory(_ history: TenantHistory) throws {
        try history.check()
        let now = Date()
        try writer.write { db in
            let tenant = history.tenant
            for table in ["ledger_entry", "tenant_billing", "final_invoice"] {
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE tenant = ? LIMIT 1", arguments: [tenant])
                    == true
                {
                    throw LedgerError.invalidInput(
                        "this ledger already has \(table.replacingOccurrences(of: "_", with: " ")) rows of \(tenant): an import never merges"
                    )
                }
            }
            for var entry in history.entries { _ = try Self.append(db, &entry) }
            // A moved final invoice rests on the rows just written: its columns name this file's
            // head (what `verify` checks); its body keeps the head it was issued with.
            let head = try Self.heads(db).ledger
            for change in history.billing {
                try IntegrityChain.billing.append(
                    db,
                    [
                        "tenant": tenant, "plan": change.plan, "billing": change.billing.rawValue,
                        "timezone": change.timeZone, "reopen_window_hours": change.reopenWindowHours,
                        "effective_month": change.effectiveMonth,
                        "recorded_at_ms": LedgerEntry.milliseconds(change.recordedAt),
                    ])
            }
            for invoice in history.finalInvoices {
                try IntegrityChain.finalInvoice.append(
                    db,
                    [
                        "tenant": tenant, "month": invoice.month, "body": try invoice.storedBody(),
                        "finalized_at_ms": LedgerEntry.milliseconds(now),
                        "ledger_sequence": head.sequence, "ledger_head_hash": head.hash,
                    ])
            }
        }
    }
}

extension Invoice {
    /// The invoice as a final invoice's stored body (sorted keys, as `finalize` writes it).
    public func storedBody() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
