import Embeddings

/// Turns arbitrary user text into a safe FTS5 match expression.
///
/// User input is never passed to FTS5 as syntax: it is split into words, each word is quoted as
/// a string literal, and the words are OR-ed so BM25 ranks by how many and how rare the matched
/// terms are. Quotes, `NEAR`, `AND`, column filters, `*` and unbalanced parentheses in the input
/// therefore match as plain words and can never raise a syntax error.
public enum KeywordQuery {
    /// Very common English words that carry no topic; dropped unless nothing else remains.
    static let stopwords: Set<String> = [
        "a", "an", "the", "and", "or", "not", "but", "if", "then", "else", "of", "to", "in", "on", "at", "by",
        "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this",
        "that", "these", "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them",
        "do", "does", "did", "doing", "have", "has", "had", "can", "could", "should", "would", "will", "shall",
        "may", "might", "must", "how", "what", "which", "who", "whom", "why", "when", "where", "there", "here",
        "so", "than", "too", "very", "just", "about", "into", "over", "up", "down", "out", "any", "some", "all",
        "no", "yes", "there", "get", "use", "using", "want", "need", "please", "help", "s", "t",
    ]

    /// Longest expression built, in terms: bounds the work a hostile, huge query can cause.
    public static let maxTerms = 64

    /// The FTS5 MATCH expression for `text`, or nil when it contains no searchable word.
    public static func matchExpression(for text: String) -> String? {
        let words = TextSegmenter.words(text)
        var seen = Set<String>()
        var terms: [String] = []
        let content = words.filter { !stopwords.contains($0) }
        for word in (content.isEmpty ? words : content) where seen.insert(word).inserted {
            terms.append("\"" + word + "\"")  // words are alphanumeric: no quote to escape
            if terms.count == maxTerms { break }
        }
        return terms.isEmpty ? nil : terms.joined(separator: " OR ")
    }
}
