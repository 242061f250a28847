import Foundation

/// Why the ledger refused a write or a read, with what to do about it.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    case occurredTooLongAgo(Date, limitDays: Int)
    case occurredInFuture(Date)
    case unknownQuery(String)
    /// A webhook endpoint, or an event of it, that the tenant does not have.
    case unknownWebhook(String)
    /// A spend alert the tenant does not have.
    case unknownAlert(String)
    case cannotOpen(path: String, reason: String)
    case invalidInput(String)
    case corruptedFinalInvoice(tenant: String, month: String)
    case monthFinalized(tenant: String, month: String, occurredAt: Date)

    public var description: String {
        let formatter = ISO8601DateFormatter()
        switch self {
        case .occurredTooLongAgo(let date, let days):
            return "occurred_at \(formatter.string(from: date)) is more than \(days) days ago; "
                + "the ledger only accepts backfills of the last \(days) days"
        case .occurredInFuture(let date):
            return
                "occurred_at \(formatter.string(from: date)) is in the future; send UTC times (e.g. 2026-11-26T10:00:00Z)"
        case .unknownQuery(let id):
            return "no query with id \(id) in the ledger; check `cascade ledger show`"
        case .unknownAlert(let what):
            return "\(what); check `cascade alerts list`"
        case .unknownWebhook(let what):
            return "\(what); check `cascade webhooks list`"
        case .cannotOpen(let path, let reason):
            return "cannot open ledger \(path): \(reason)"
        case .invalidInput(let reason):
            return reason
        case .corruptedFinalInvoice(let tenant, let month):
            return "the stored final invoice of \(tenant) for \(month) is damaged (its body is not an invoice); "
                + "run `cascade ledger verify` and restore the ledger from a backup"
        case .monthFinalized(let tenant, let month, let date):
            return
                "occurred_at \(formatter.string(from: date)) falls in \(month), whose invoice for \(tenant) is final: "
                + "a late row would never be billed; record it with the current time (it then lands on the open month)"

        }
    }
}
