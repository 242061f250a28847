import Foundation

/// Whether an LLM answer may resolve a question. The LLM tier has its own rule because the
/// model's self-reported confidence is not calibrated (the RAG threshold, fitted by
/// `cascade calibrate` on retrieval scores, says nothing about it):
/// - the answer is not a refusal dressed as an answer ("I don't know…"), nor a template's
///   placeholder copied from the prompt ("<response in at most 4 sentences>"), nor a word or two
///   ("IGNORE"): a small model does all three (SmolLM2-135M on SQLite heldout, docs/evaluation.md),
///   and each would pass the overlap test on a passage that happens to hold the word;
/// - it draws on what it cites: at least `minimumOverlap` of its content words appear in the cited
///   passages (a paraphrase keeps the key terms; an invented answer does not);
/// - the model's confidence reaches `threshold`.
public struct LLMAcceptance: Hashable, Sendable {
    public var threshold = 0.5
    public var minimumOverlap = 0.3
    /// Fewest content words (as ``overlap(answer:passages:)`` counts them) of an answer.
    public static let minimumContentWords = 2

    public init(threshold: Double = 0.5, minimumOverlap: Double = 0.3) {
        self.threshold = threshold
        self.minimumOverlap = minimumOverlap
    }

    public enum Verdict: Hashable, Sendable {
        case accept
        /// Refused with the attempt outcome to record and why.
        case refuse(outcome: String, note: String)
    }

    public func judge(answer: String, cited: [String], confidence: Double) -> Verdict {
        if Self.isRefusal(answer) {
            return .refuse(outcome: "cannot_answer", note: "the answer is a refusal, not an answer")
        }
        if Self.isPlaceholder(answer) {
            return .refuse(outcome: "cannot_answer", note: "the answer is a placeholder copied from the prompt")
        }
        let words = Self.contentWords(answer).count
        if words < Self.minimumContentWords {
            return .refuse(
                outcome: "cannot_answer",
                note:
                    "the answer is too short to answer anything (\(words) content words, \(Self.minimumContentWords) needed)"
            )
        }
        let overlap = Self.overlap(answer: answer, passages: cited)
        if overlap < minimumOverlap {
            return .refuse(
                outcome: "unsupported",
                note: String(
                    format:
                        "the answer does not draw on the passages it cites (%.0f%% of its words in them, %.0f%% needed)",
                    overlap * 100, minimumOverlap * 100))
        }
        if confidence < threshold {
            return .refuse(
                outcome: "below_threshold",
                note: String(format: "model confidence %.2f below the LLM threshold %.2f", confidence, threshold))
        }
        return .accept
    }

    static let refusalPhrases = [
        "i don't know", "i do not know", "i cannot answer", "i can't answer", "i'm not sure", "i am not sure",
        "not mentioned in the passages", "the passages do not", "no information", "unable to answer",
        "cannot be determined", "i'm sorry, but", "i am sorry, but",
    ]

    static func isRefusal(_ answer: String) -> Bool {
        let folded = answer.lowercased().replacingOccurrences(of: "’", with: "'")
        return refusalPhrases.contains { folded.contains($0) }
    }

    static let stopWords: Set<String> = [
        "the", "and", "for", "with", "that", "this", "you", "your", "are", "was", "can", "will", "use", "from", "into",
        "then", "than", "have", "has", "not", "but", "its", "it's", "they", "there", "which", "when", "what", "how",
        "also", "all", "any", "one", "more", "run", "set", "get", "may", "each", "only", "out", "our", "their",
    ]

    /// A whole answer in angle brackets ("<answer>"), or one holding the prompt's own wording.
    static func isPlaceholder(_ answer: String) -> Bool {
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        return (trimmed.hasPrefix("<") && trimmed.hasSuffix(">"))
            || trimmed.lowercased().contains("in at most 4 sentences")
    }

    /// Content words: three letters or more, not stop words, a plural's trailing s ignored.
    static func contentWords(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "_" }.map(String.init)
            .filter { $0.count >= 3 && !stopWords.contains($0) }
            .map { $0.count > 3 && $0.hasSuffix("s") ? String($0.dropLast()) : $0 }
    }

    /// Share of the answer's content words (``contentWords(_:)``) found in the passages.
    static func overlap(answer: String, passages: [String]) -> Double {
        let answerWords = contentWords(answer)
        guard !answerWords.isEmpty else { return 0 }
        let source = Set(passages.flatMap(contentWords))
        return Double(answerWords.filter(source.contains).count) / Double(answerWords.count)
    }
}
