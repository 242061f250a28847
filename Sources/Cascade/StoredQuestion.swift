import Foundation
import KnowledgeBase

/// What the append-only ledger keeps of a question's text. A question the screen refuses as too
/// long is not kept whole (a 10 MB message would stay forever): its first
/// ``QueryScreen/maxCharacters`` characters are kept, followed by a marker with its size and
/// SHA-256, which is enough to recognise a retry of the same question.
public enum StoredQuestion {
    /// The text to store for `question`.
    public static func text(for question: String) -> String {
        guard question.count > QueryScreen.maxCharacters else { return question }
        return String(question.prefix(QueryScreen.maxCharacters)) + marker(for: question)
    }

    /// Whether `stored` (as ``text(for:)`` wrote it) records `question`.
    public static func matches(stored: String?, question: String) -> Bool {
        guard let stored else { return false }
        if stored == question { return true }
        return question.count > QueryScreen.maxCharacters && stored == text(for: question)
    }

    static func marker(for question: String) -> String {
        let bytes = Array(question.utf8)
        return " …[truncated: \(bytes.count) bytes, sha256 \(SHA256.hex(bytes))]"
    }
}
