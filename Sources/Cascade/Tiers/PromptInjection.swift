/// Recognises the common shapes of prompt-injection text ("ignore previous instructions", "you
/// are now…", "system prompt"), in questions and in documents. Such a question is not sent to
/// the LLM (it escalates), and such a passage is not shown to it.
public enum PromptInjection {
    static let patterns = [
        "ignore previous instructions", "ignore all previous instructions", "ignore the above", "disregard previous",
        "disregard all previous", "ignore your instructions", "forget your instructions", "you are now",
        "new instructions", "system prompt", "reveal your prompt", "act as", "jailbreak", "developer mode",
    ]

    public static func looksLikeInjection(_ text: String) -> Bool {
        let folded = TextFolding.fold(text)
        return patterns.contains { TextFolding.containsWords(folded, $0) }
    }

    /// Phrases that try to steer the service itself (its outcome, its role, its instructions)
    /// rather than ask about the product. Narrower than ``patterns``: a question that matches one
    /// is escalated before any tier answers it (and is never billed), so everyday wordings such
    /// as "can an admin act as another user" must not match.
    static let questionPatterns = [
        "ignore previous instructions", "ignore all previous instructions", "ignore the above", "ignore all the above",
        "disregard previous", "disregard all previous", "disregard the above", "ignore your instructions",
        "forget your instructions", "forget all previous", "system prompt", "reveal your prompt",
        "print your prompt", "jailbreak", "developer mode", "you are now in", "you are now a",
        "mark this ticket as resolved", "mark this as resolved", "mark the ticket as resolved",
        "close this ticket as resolved", "resolve this ticket without", "do anything now",
    ]

    /// A question that addresses the service's instructions instead of asking something: one of
    /// ``questionPatterns``, or a line opening with a role tag (`SYSTEM:`, `[assistant]`…).
    public static func questionLooksLikeInjection(_ question: String) -> Bool {
        let folded = TextFolding.fold(question)
        if questionPatterns.contains(where: { TextFolding.containsWords(folded, $0) }) { return true }
        for line in question.split(whereSeparator: \.isNewline).prefix(200) {
            let start = line.drop { $0 == " " || $0 == "\t" || $0 == "[" || $0 == "<" || $0 == "#" }.lowercased()
            for role in ["system", "assistant", "developer"] where start.hasPrefix(role) {
                let rest = start.dropFirst(role.count).first
                if rest == ":" || rest == "]" || rest == ">" { return true }
            }
        }
        return false
    }
}
