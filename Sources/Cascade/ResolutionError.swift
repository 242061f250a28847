/// Why a question could not be resolved, worded for the caller.
public enum ResolutionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The query id (idempotency key) was already used for a different question.
    case idempotencyConflict(queryID: String)

    public var description: String {
        switch self {
        case .idempotencyConflict(let id):
            "query id \(id) was already used for a different question; a retry must send the same question, "
                + "a new question needs a new id"
        }
    }
}
