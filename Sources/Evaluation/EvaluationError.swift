/// Problems with an evaluation set or run, each naming the file and what to fix.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingFile(path: String, hint: String)
    case malformed(path: String, line: Int, reason: String)
    case empty(path: String, what: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .missingFile(let path, let hint): "\(path) not found: \(hint)"
        case .malformed(let path, let line, let reason): "\(path), line \(line): \(reason)"
        case .empty(let path, let what): "\(path) has no \(what)"
        case .invalidArgument(let message): message
        }
    }
}
