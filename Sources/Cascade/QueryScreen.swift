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
        if isKeywordStuffing(folded) {
            return .reject(
                reason: "keyword_stuffing",
                reply: "It looks like your message repeats the same words. Could you ask your question in a sentence?")
        }
        if isGibberish(trimmed, folded: folded) {
            return .reject(
                reason: "gibberish",
                reply: "Sorry, I couldn't understand that. Could you rephrase your question in words?")
        }
        return .accept
    }

    /// One word said over and over ("git git git git", "refund refund refund policy refund"):
    /// retrieval matches it strongly, but it asks nothing. At least 4 words, one of them making up
    /// half or more of them and repeated at least 3 times, or fewer than a third of the words
    /// distinct once there are 6 or more.
    static func isKeywordStuffing(_ folded: String) -> Bool {
        let words = folded.split(separator: " ")
        guard words.count >= 4 else { return false }
        var counts: [Substring: Int] = [:]
        for word in words { counts[word, default: 0] += 1 }
        let top = counts.values.max() ?? 0
        if top >= 3 && top * 2 >= words.count { return true }
        return words.count >= 6 && counts.count * 3 < words.count
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
        // Short tokens without vowels are usually acronyms ("dns", "https", "css").
        let wordLike = words.filter { word in
            let hasVowel = word.contains { vowels.contains($0) }
            return word.count >= 2 && word.count <= 30 && !word.allSatisfy { $0 == word.first }
                && (hasVowel ? longestConsonantRun(word, vowels: vowels) < 5 : word.count <= 5)
        }
        // Non-Latin scripts have no a/e/i/o/u: accept any alphabetic word there.
        let nonLatin = text.unicodeScalars.contains { $0.properties.isAlphabetic && $0.value > 0x24F }
        if nonLatin { return false }
        if wordLike.isEmpty { return true }
        let letterWords = words.map { $0.filter(\.isLetter) }.filter { $0.count >= 3 }
        return isFiller(letterWords) || isMashing(letterWords, vowels: vowels)
    }

    /// Placeholder text ("lorem ipsum dolor sit amet…"): most of its words are the filler's.
    static func isFiller(_ words: [String]) -> Bool {
        guard words.count >= 2 else { return false }
        let filler = words.filter { loremWords.contains($0) }.count
        return Double(filler) / Double(words.count) >= 0.6
    }

    /// Keyboard mashing of several "words" ("asdkjh qwpoeiru zxmcnv"): every word is unlike
    /// English (letter pairs English words never have, five consonants in a row, or six letters
    /// without a vowel) and none is a common word. One odd word alone ("kubectl", "Qwen") passes:
    /// product names and commands look like that.
    static func isMashing(_ words: [String], vowels: Set<Character>) -> Bool {
        guard words.count >= 2, !words.contains(where: { commonWords.contains($0) }) else { return false }
        return words.allSatisfy { word in
            let letters = Array(word)
            let rarePairs = zip(letters, letters.dropFirst()).filter { rareBigrams.contains(String([$0, $1])) }.count
            return rarePairs > 0 || longestConsonantRun(Substring(word), vowels: vowels) >= 5
                || (letters.count >= 6 && !letters.contains { vowels.contains($0) })
        }
    }

    /// Letter pairs that (almost) no English word contains.
    static let rareBigrams: Set<String> = [
        "bq", "bz", "cj", "cv", "cx", "dq", "dx", "fq", "fx", "fz", "gq", "gx", "hx", "hz", "jb", "jc", "jd", "jf",
        "jg", "jh", "jk", "jl", "jm", "jn", "jp", "jq", "jr", "js", "jt", "jv", "jw", "jx", "jz", "kj", "kq", "kx",
        "kz", "lq", "lx", "mq", "mx", "mz", "pq", "pv", "px", "qb", "qc", "qd", "qf", "qg", "qh", "qj", "qk", "ql",
        "qm", "qn", "qp", "qq", "qs", "qt", "qv", "qw", "qx", "qy", "qz", "sx", "sz", "tq", "tx", "vb", "vc", "vd",
        "vf", "vg", "vh", "vj", "vk", "vm", "vn", "vp", "vq", "vt", "vw", "vx", "wq", "wx", "xd", "xg", "xj", "xk",
        "xr", "xz", "yq", "zb", "zc", "zd", "zf", "zg", "zj", "zk", "zm", "zn", "zp", "zq", "zr", "zs", "zt", "zv",
        "zw", "zx",
    ]

    static let commonWords: Set<String> = [
        "the", "and", "how", "what", "why", "when", "where", "who", "which", "can", "does", "did", "not", "for",
        "you", "your", "with", "this", "that", "are", "was", "has", "have", "get", "use", "there", "help", "please",
        "need", "want", "error", "login", "account", "password",
    ]

    static let loremWords: Set<String> = [
        "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "adipisicing", "elit", "sed", "eiusmod",
        "tempor", "incididunt", "labore", "dolore", "magna", "aliqua", "enim", "minim", "veniam", "quis", "nostrud",
        "exercitation", "ullamco", "laboris", "nisi", "aliquip", "commodo", "consequat", "duis", "aute", "irure",
        "reprehenderit", "voluptate", "velit", "esse", "cillum", "fugiat", "nulla", "pariatur", "excepteur", "sint",
        "occaecat", "cupidatat", "proident", "sunt", "culpa", "qui", "officia", "deserunt", "mollit", "anim", "est",
        "laborum",
    ]
}
