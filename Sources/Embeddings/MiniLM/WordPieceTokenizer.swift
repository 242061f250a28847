import Foundation

/// BERT's uncased WordPiece tokenizer, matching Hugging Face `tokenizers` (`BertNormalizer`,
/// `BertPreTokenizer`, `WordPiece`) as configured for all-MiniLM-L6-v2.
///
/// Steps, in the reference's order: drop control characters and map whitespace to spaces; put
/// spaces around CJK ideographs; strip accents (NFD, drop non-spacing marks); lower-case; split
/// on whitespace and around every punctuation character; then split each word greedily into the
/// longest vocabulary pieces (`##` marks a continuation). A word with no valid split, or longer
/// than 100 characters, becomes `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int32]
    public let unknownID: Int32
    public let classifierID: Int32
    public let separatorID: Int32
    public let maxInputCharactersPerWord = 100

    /// Loads `vocab.txt` (one token per line; the line number is the id).
    public init(vocabularyFile: URL) throws(EmbeddingError) {
        guard let text = try? String(contentsOf: vocabularyFile, encoding: .utf8) else {
            throw .modelUnavailable(model: vocabularyFile.path, reason: "cannot read the vocabulary file")
        }
        var vocabulary: [String: Int32] = [:]
        var id: Int32 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if !token.isEmpty, vocabulary[token] == nil { vocabulary[token] = id }
            id += 1
        }
        try self.init(vocabulary: vocabulary, path: vocabularyFile.path)
    }

    public init(vocabulary: [String: Int32], path: String = "vocabulary") throws(EmbeddingError) {
        guard let unk = vocabulary["[UNK]"], let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"] else {
            throw .invalidModelFile(path: path, reason: "vocabulary lacks [UNK], [CLS] or [SEP]")
        }
        self.vocabulary = vocabulary
        self.unknownID = unk
        self.classifierID = cls
        self.separatorID = sep
    }

    /// Word-piece ids of `text`, without special tokens and without truncation.
    public func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for word in words(of: text) { appendPieces(of: word, to: &ids) }
        return ids
    }

    /// `[CLS] pieces… [SEP]`, the pieces truncated so the whole is at most `maxLength` ids.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        var ids: [Int32] = [classifierID]
        let budget = max(0, maxLength - 2)
        for word in words(of: text) {
            guard ids.count - 1 < budget else { break }
            appendPieces(of: word, to: &ids)
        }
        if ids.count - 1 > budget { ids.removeLast(ids.count - 1 - budget) }
        ids.append(separatorID)
        return ids
    }

    /// Normalised, pre-tokenised words (each a run of non-space, non-punctuation characters, or
    /// a single punctuation character).
    public func words(of text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        func flush() {
            if !current.isEmpty { words.append(current) }
            current.removeAll(keepingCapacity: true)
        }
        for scalar in normalize(text) {
            if scalar == " " {
                flush()
            } else if Self.isPunctuation(scalar) {
                flush()
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }

    /// The `BertNormalizer` steps: clean text, pad CJK, strip accents, lower-case.
    func normalize(_ text: String) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if Self.isChineseCharacter(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(cleaned.count)
        let needsDecomposition = cleaned.contains { $0.value >= 0xC0 }
        let decomposed =
            needsDecomposition
            ? String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars : String(cleaned).unicodeScalars
        for scalar in decomposed where scalar.properties.generalCategory != .nonspacingMark {
            if scalar.isASCII {
                let v = scalar.value
                out.append((v >= 65 && v <= 90) ? Unicode.Scalar(v + 32)! : scalar)
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// Greedy longest-match-first split of one word into vocabulary pieces.
    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        guard word.count <= maxInputCharactersPerWord else {
            ids.append(unknownID)
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                var candidate = String(String.UnicodeScalarView(word[start..<end]))
                if start > 0 { candidate = "##" + candidate }
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unknownID)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
