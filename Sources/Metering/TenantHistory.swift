import Foundation

/// Everything a ledger store holds about one tenant, to move it between stores (SQLite ↔
/// PostgreSQL): its rows in chain order, its billing changes and its final invoices.
public struct TenantHistory: Sendable, Equatable {
    public var tenant: String
    public var entries: [LedgerEntry]
    public var billing: [TenantBilling]
    public var finalInvoices: [Invoice]

    public init(tenant: String, entries: [LedgerEntry], billing: [TenantBilling], finalInvoices: [Invoice]) {
        self.tenant = tenant
        self.entries = entries
        self.billing = billing
        self.finalInvoices = finalInvoices
    }

    /// Checks a history before anything of it is written: every row is the tenant's, valid, and
    /// still hashes to what it says (a row edited in transit is refused); query ids are unique;
    /// billing changes and final invoices are the tenant's.
    public func check() throws {
        var queries = Set<String>()
        for entry in entries {
            guard entry.tenant == tenant else {
                throw LedgerError.invalidInput("row \(entry.sequence) belongs to \(entry.tenant), not \(tenant)")
            }
            try entry.validate()
            guard entry.hash == entry.contentHash else {
                throw LedgerError.invalidInput(
                    "row \(entry.sequence) (query \(entry.queryID)) does not hash to its recorded hash: it was changed")
            }
            if entry.kind == .query && !queries.insert(entry.queryID).inserted {
                throw LedgerError.invalidInput("query \(entry.queryID) appears twice")
            }
        }
        for change in billing where change.tenant != tenant {
            throw LedgerError.invalidInput("a billing change belongs to \(change.tenant), not \(tenant)")
        }
        for invoice in finalInvoices where invoice.tenant != tenant || invoice.status != "final" {
            throw LedgerError.invalidInput("invoice \(invoice.month) is not a final invoice of \(tenant)")
        }
    }
}
