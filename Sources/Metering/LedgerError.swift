import Foundation

/// Why the ledger refused a write or a read, with what to do about it.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    case occurredTooLongAgo(Date, limitDays: Int)
    case occurredInFuture(Date)
    case unknownQuery(String)
    case cannotOpen(path: String, reason: String)
    case invalidInput(String)

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
        case .cannotOpen(let path, let reason):
            return "cannot open ledger \(path): \(reason)"
        case .invalidInput(let reason):
            return reason
        }
    }
}
