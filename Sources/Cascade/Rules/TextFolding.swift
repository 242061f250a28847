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
    static func containsWords(_ text: String, _ phrase: String) -> Bool {
        guard !phrase.isEmpty else { return false }
        return " \(text) ".contains(" \(phrase) ")
    }
}
