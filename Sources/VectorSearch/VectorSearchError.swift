/// Errors raised by vector storage and search, each with a message that says what to fix.
public enum VectorSearchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A dimension of zero or less was requested.
    case invalidDimension(Int)
    /// A vector did not have the index's dimension.
    case dimensionMismatch(expected: Int, actual: Int)
    /// The number of identifiers differs from the number of rows.
    case identifierCountMismatch(rows: Int, identifiers: Int)
    /// A vector file (`.npy`) could not be used.
    case invalidFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidDimension(let value):
            "invalid vector dimension \(value): dimensions must be positive"
        case .dimensionMismatch(let expected, let actual):
            "vector has \(actual) components but the index holds \(expected)-dimensional vectors; "
                + "embed the query with the same model that built the index"
        case .identifierCountMismatch(let rows, let identifiers):
            "index has \(rows) vectors but \(identifiers) identifiers; rebuild the index"
        case .invalidFile(let path, let reason):
            "cannot use vector file \(path): \(reason); write it with numpy.save(path, array.astype('<f4'))"
        }
    }
}
