import Foundation

/// Case- and accent-insensitive comparison form of text: lower-cased, accents removed, every run
/// of non-alphanumeric characters turned into one space, trimmed. "Réfund  REQUEST!" → "refund request".
enum TextFolding {
    static func fold(_ text: String) -> String {
        let stripped = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var out = ""
        var pendingSpace = false
        for scalar in stripped.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                if pendingSpace && !out.isEmpty { out.append(" ") }
                pendingSpace = false
                out.unicodeScalars.append(scalar)
            } else {
                pendingSpace = true
            }
        }
        return out.lowercased()
    }

    /// Whether folded `phrase` occurs in folded `text` as whole words.
    /// Compares bytes at word starts only (folded text is words and single spaces): at most
    /// `phrase` bytes per word of `text`, without Foundation's locale-aware search, which the RAG
    /// tier's answer checks call thousands of times per question.
    static func containsWords(_ text: String, _ phrase: String) -> Bool {
        guard !phrase.isEmpty else { return false }
        var text = text
        var phrase = phrase
        // Compared in place (native strings already are contiguous UTF-8): no copy per call.
        return text.withUTF8 { t in phrase.withUTF8 { p in containsWords(t, p) } }
    }

    private static func containsWords(_ t: UnsafeBufferPointer<UInt8>, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let space = UInt8(ascii: " ")
        var start = 0
        while start + p.count <= t.count {
            let end = start + p.count
            if (end == t.count || t[end] == space) && t[start..<end].elementsEqual(p) { return true }
            // Next word.
            guard let next = t[start...].firstIndex(of: space) else { return false }
            start = next + 1
        }
        return false
    }

}
