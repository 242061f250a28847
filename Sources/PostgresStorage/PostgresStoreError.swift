import Foundation
import Metering

/// What can go wrong with the PostgreSQL backend, each with what to do about it.
public enum PostgresStoreError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidURL(String, reason: String)
    /// The database has a schema written by a newer cascade: this one would misread it.
    case schemaTooNew(component: String, found: Int, known: Int)
    /// The database has no cascade schema yet (run `cascade migrate`).
    case notMigrated(component: String)
    /// The server could not be reached or answered with an error.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            let shown = url.replacingOccurrences(of: #":[^:@/]*@"#, with: ":…@", options: .regularExpression)
            return "invalid database URL \(shown): \(reason)"
        case .schemaTooNew(let component, let found, let known):
            return "the database's \(component) schema is version \(found), newer than this cascade knows (\(known)); "
                + "upgrade cascade on this node"
        case .notMigrated(let component):
            return "the database has no cascade \(component) schema; run cascade migrate --database … first"
        case .unavailable(let reason):
            return "PostgreSQL is unavailable: \(reason)"
        }
    }
}

extension PostgresStoreError: StoreUnavailableError {
    public var unavailableReason: String? {
        if case .unavailable = self { return description }
        return nil
    }
}
