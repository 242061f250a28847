import Foundation

/// Decides whether a question is worth answering at all. Junk — empty, gibberish, over-long,
/// greeting-only — is answered politely, recorded, and never billable.
public enum QueryScreen {
    /// Longest question accepted, in characters.
    public static let maxCharacters = 2_000

    public enum Verdict: Equatable, Sendable {
        case accept
        case reject(reason: String, reply: String)
    }

    static let greetings: Set<String> = [
        "hi", "hello", "hey", "hiya", "yo", "thanks", "thank you", "thank you very much", "thanks a lot", "thx", "ty",
        "good morning", "good afternoon", "good evening", "ok", "okay", "cool", "great", "bye", "goodbye", "test",
        "hello there", "hi there", "hey there", "cheers",
    ]

    public static func screen(_ question: String) -> Verdict {
        let trimmed = question.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            return .reject(reason: "empty", reply: "It looks like your message was empty. What can I help you with?")
        }
        if trimmed.count > maxCharacters {
            return .reject(
                reason: "too_long",
                reply: "Your message is too long for me to handle (over \(maxCharacters) characters). "
                    + "Please ask one question in a few sentences.")
        }
        let folded = TextFolding.fold(trimmed)
        if greetings.contains(folded) {
            return .reject(reason: "greeting", reply: "Hello! Ask me a question about the product and I'll look it up.")
        }
        if isGibberish(trimmed, folded: folded) {
            return .reject(
                reason: "gibberish",
                reply: "Sorry, I couldn't understand that. Could you rephrase your question in words?")
        }
        return .accept
    }

    /// Keyboard mashing ("asdfgh") has long runs of consonants that words of real languages lack.
    static func longestConsonantRun(_ word: Substring, vowels: Set<Character>) -> Int {
        var longest = 0
        var run = 0
        for c in word {
            if c.isLetter && !vowels.contains(c) {
                run += 1
                longest = max(longest, run)
            } else {
                run = 0
            }
        }
        return longest
    }

    /// No real word in it: no token of two or more letters with a vowel, mostly symbols, or one
    /// character repeated.
    static func isGibberish(_ text: String, folded: String) -> Bool {
        let letters = text.unicodeScalars.filter { $0.properties.isAlphabetic }.count
        let visible = text.unicodeScalars.filter { !$0.properties.isWhitespace }.count
        if visible > 0 && Double(letters) / Double(visible) < 0.4 { return true }
        let words = folded.split(separator: " ")
        let vowels = Set("aeiouy")
        let wordLike = words.filter { word in
            word.count >= 2 && word.count <= 30 && word.contains { vowels.contains($0) }
                && !word.allSatisfy { $0 == word.first } && longestConsonantRun(word, vowels: vowels) < 5
        }
        // Non-Latin scripts have no a/e/i/o/u: accept any alphabetic word there.
        let nonLatin = text.unicodeScalars.contains { $0.properties.isAlphabetic && $0.value > 0x24F }
        return wordLike.isEmpty && !nonLatin
    }
}
