/// Problems with a search request, worded for the person who sent it.
public enum RetrievalError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyQuery
    case queryTooLong(characters: Int, limit: Int)
    case invalidK(Int)
    /// A search lacks the text or vector its mode needs.
    case missingInput(String)
    /// A caller's query vector cannot be searched with.
    case invalidVector(String)

    public var description: String {
        switch self {
        case .emptyQuery:
            "the query is empty; type a question or some keywords"
        case .queryTooLong(let characters, let limit):
            "the query has \(characters) characters, over the \(limit)-character limit; shorten it"
        case .invalidK(let k):
            "k must be between 1 and 1000 (got \(k))"
        case .missingInput(let what):
            "\(what)"
        case .invalidVector(let why):
            "\(why)"
        }
    }
}
