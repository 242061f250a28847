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
}
