/// Problems with a search request, worded for the person who sent it.
public enum RetrievalError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyQuery
    case queryTooLong(characters: Int, limit: Int)
    case invalidK(Int)

    public var description: String {
        switch self {
        case .emptyQuery:
            "the query is empty; type a question or some keywords"
        case .queryTooLong(let characters, let limit):
            "the query has \(characters) characters, over the \(limit)-character limit; shorten it"
        case .invalidK(let k):
            "k must be between 1 and 1000 (got \(k))"
        }
    }
}
