/// Splits text into lower-cased word and punctuation pieces the way BERT's basic tokenizer does
/// before word-piece splitting: on whitespace, and around every punctuation character.
///
/// Used to estimate token counts for embedders without a vocabulary, and to extract features
/// for the hashing embedder.
public enum TextSegmenter {
    /// Lower-cased alphanumeric words of `text`, in order.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// An upper-bound-leaning estimate of how many word pieces a BERT-style tokenizer makes of
    /// `text`: one per punctuation mark, and one per word plus one per further six characters
    /// (long or rare words split into several pieces).
    public static func estimatedWordPieces(_ text: String) -> Int {
        var count = 0
        var wordLength = 0
        func flush() {
            if wordLength > 0 { count += 1 + (wordLength - 1) / 6 }
            wordLength = 0
        }
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                flush()
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                wordLength += 1
            } else {
                flush()
                count += 1
            }
        }
        flush()
        return count
    }
}
