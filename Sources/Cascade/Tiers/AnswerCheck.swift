import Foundation
import KnowledgeBase
import Retrieval

/// Checks that a RAG answer answers: the quoted passage is prose (not labels, a syntax
/// diagram, a caption, a table of contents or a list of links), it covers what the question
/// asks, and it does not describe the opposite of the action asked about ("disable" answered
/// with how to enable).
///
/// Retrieval finds pages *about* the question's subject; a page about enabling WAL is about
/// the same subject as a question on disabling it, and a syntax diagram of CREATE INDEX is the
/// closest chunk to "how do I create an index". Those are fine to cite, wrong to quote.
public enum AnswerCheck {
    /// Function words: prose has many (a third to a half of its words), labels and diagrams few.
    static let functionWords: Set<String> = [
        "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "to", "of", "and", "or", "in", "on",
        "at", "by", "for", "with", "as", "that", "this", "these", "those", "it", "its", "if", "then", "than",
        "can", "will", "would", "should", "may", "might", "must", "not", "no", "do", "does", "did", "has", "have",
        "had", "which", "when", "where", "what", "who", "how", "from", "into", "there", "their", "they", "you",
        "your", "we", "our", "but", "so", "such", "all", "any", "each", "also", "only", "more", "most", "other",
        "some", "because", "after", "before", "until", "while", "about", "between", "over", "under", "up", "out",
    ]

    /// Why a passage must not be quoted as the whole answer, or nil when it is prose.
    public static func notQuotable(_ text: String) -> String? {
        let words = TextFolding.fold(text).split(separator: " ")
        guard words.count >= 4 else { return "too short to answer anything" }
        let function = words.filter { functionWords.contains(String($0)) }.count
        let functionShare = Double(function) / Double(words.count)
        // `create-index-stmt:`, `expr:`: tokens that end in a colon, one after another.
        let tokens = text.split { $0.isWhitespace }
        let labels = tokens.filter { $0.count > 1 && $0.hasSuffix(":") }.count
        if labels >= 3, Double(labels) / Double(tokens.count) >= 0.25 {
            return "a list of labels (a syntax diagram's rule names)"
        }
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shortLines = lines.filter { $0.split(separator: " ").count <= 4 && !$0.hasSuffix(".") }.count
        if lines.count >= 5, Double(shortLines) / Double(lines.count) >= 0.8 {
            return "a list of short entries (a table of contents, links or labels)"
        }
        // "See also lists of Objects, Constants, and Functions.": a pointer elsewhere, not an answer.
        if words.count <= 30, words.starts(with: ["see", "also"]) {
            return "a cross-reference (\"see also\"), not an answer"
        }
        // `git stash show [-u | --include-untracked] [<diff-options>] [<stash>]`: a man page's
        // SYNOPSIS, usage lines that say what can be typed, not what to type (and often cut
        // mid-command by the chunker).
        let usage = tokens.filter { token in
            token.contains("[") || token.contains("]") || token == "|" || token.hasPrefix("-")
                || (token.hasPrefix("<") && token.hasSuffix(">")) || token.contains("<") && token.contains(">")
        }.count
        if usage >= 6, Double(usage) / Double(tokens.count) >= 0.35 {
            return "a command synopsis (usage lines with options in brackets), not an answer"
        }
        if words.count >= 8, functionShare < 0.08 {
            return "no sentences (a list of names or a diagram, not prose)"
        }
        if words.count <= 14, lines.count == 1, let first = text.first, !text.contains(where: { ".!?".contains($0) }),
            text.lowercased().hasPrefix("figure") || text.lowercased().hasPrefix("fig.") || first == "("
        {
            return "a figure caption"
        }
        return nil
    }

    /// Opposite actions: asking for one and being answered with the other is a wrong answer
    /// however close the subject is.
    static let opposites: [(String, String)] = [
        ("enable", "disable"), ("turn on", "turn off"), ("switch on", "switch off"), ("activate", "deactivate"),
        ("add", "remove"), ("add", "drop"), ("create", "drop"), ("create", "delete"), ("insert", "delete"),
        ("start", "stop"), ("open", "close"), ("lock", "unlock"), ("encrypt", "decrypt"),
        ("compress", "decompress"), ("attach", "detach"), ("increase", "decrease"), ("allow", "prevent"),
        ("allow", "disallow"), ("include", "exclude"), ("show", "hide"), ("install", "uninstall"),
        ("connect", "disconnect"), ("subscribe", "unsubscribe"), ("upgrade", "downgrade"), ("import", "export"),
        ("grant", "revoke"), ("begin", "end"), ("commit", "rollback"), ("enable", "turn off"),
        ("disable", "turn on"),
    ]

    /// Other words for the same action: a passage saying how a trigger is *removed* answers how
    /// to *delete* one, even though it also says the trigger was *created* first.
    static let sameAction: [String: [String]] = [
        "delete": ["remove", "drop", "erase"], "remove": ["delete", "drop", "erase"], "drop": ["delete", "remove"],
        "add": ["create"], "create": ["add"],
        "enable": ["turn on", "switch on", "activate"], "turn on": ["enable", "switch on", "activate"],
        "switch on": ["enable", "turn on", "activate"], "activate": ["enable", "turn on", "switch on"],
        "disable": ["turn off", "switch off", "deactivate"], "turn off": ["disable", "switch off", "deactivate"],
        "switch off": ["disable", "turn off", "deactivate"], "deactivate": ["disable", "turn off", "switch off"],
    ]

    /// Whether `folded` mentions `action` or another word for it.
    static func mentionsAction(_ folded: String, _ action: String) -> Bool {
        mentions(folded, action) || (sameAction[action] ?? []).contains { mentions(folded, $0) }
    }

    /// Word forms of an action ("enable" → enable, enables, enabled, enabling).
    static func forms(_ action: String) -> [String] {
        let parts = action.split(separator: " ").map(String.init)
        guard let verb = parts.first else { return [] }
        let rest = parts.dropFirst().joined(separator: " ")
        var stems = [verb, verb + "s", verb + "ed", verb + "ing", verb + "d"]
        if verb.hasSuffix("e") { stems += [String(verb.dropLast()) + "ing"] }
        if let last = verb.last, !"aeiouwy".contains(last), verb.count <= 4 {
            stems += [verb + String(last) + "ing", verb + String(last) + "ed"]
        }
        return stems.map { rest.isEmpty ? $0 : $0 + " " + rest }
    }

    static func mentions(_ folded: String, _ action: String) -> Bool {
        forms(action).contains { TextFolding.containsWords(folded, $0) }
    }

    /// The action the question asks for and the opposite the passage describes instead, when
    /// the question's action (or another word for it, ``sameAction``) is nowhere in the passage
    /// nor its heading, and its opposite is.
    public static func contradiction(question: String, passage: String, heading: String) -> (
        asked: String, found: String
    )? {
        contradiction(asked: askedActions(question), passage: passage, heading: heading)
    }

    /// The opposite pairs whose one side the question asks for and whose other it does not
    /// mention; computed once per question when many passages are checked.
    public static func askedActions(_ question: String) -> [(asked: String, opposite: String)] {
        let q = TextFolding.fold(question)
        var asked: [(asked: String, opposite: String)] = []
        for (a, b) in opposites {
            for (action, opposite) in [(a, b), (b, a)] where mentions(q, action) && !mentions(q, opposite) {
                asked.append((action, opposite))
            }
        }
        return asked
    }

    /// As ``contradiction(question:passage:heading:)`` with the question's ``askedActions(_:)``.
    public static func contradiction(asked: [(asked: String, opposite: String)], passage: String, heading: String)
        -> (asked: String, found: String)?
    {
        guard !asked.isEmpty else { return nil }
        let p = TextFolding.fold(heading + " " + passage)
        for (action, opposite) in asked where mentions(p, opposite) && !mentionsAction(p, action) {
            return (action, opposite)
        }
        return nil
    }

    /// Words of a question that carry no subject.
    static let questionWords: Set<String> = functionWords.union([
        "i", "me", "my", "get", "make", "use", "using", "way", "want", "need", "please", "help", "possible",
        "why", "anyone", "know", "tell", "there", "thing", "something", "work", "works",
        // What folding leaves of a contraction ("aren't" → "aren t"): a negation, never a
        // subject, and absent from many knowledge bases ("why aren't my keys enforced?" was
        // refused as naming the unknown word "aren").
        "aren", "isn", "wasn", "weren", "doesn", "didn", "don", "hasn", "haven", "hadn", "won", "wouldn",
        "couldn", "shouldn", "mustn", "needn", "mightn", "shan", "ain", "cannot",
    ])

    /// The question's subject words (stemmed), without function and question words.
    static func subjectWords(_ question: String) -> Set<String> {
        Set(PassageTrimmer.words(question, excluding: questionWords))
    }

    /// Whether `text` names something a user can type: an identifier with an underscore
    /// (`busy_timeout`, `SQLITE_BUSY`), a call (`changes()`), a dot-command (`.import`), an option
    /// (`--csv`) or two upper-case keywords in a row (`CREATE TRIGGER`). How-to answers name one.
    /// One pass over the words, no regular expression.
    public static func namesCommand(_ text: String) -> Bool {
        func isUpperWord(_ word: Substring, minimum: Int) -> Bool {
            word.count >= minimum && word.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
                && word.contains(where: \.isLetter)
        }
        var previousUpper = false
        for raw in text.split(whereSeparator: \.isWhitespace) {
            let word = raw.trimmingPrefix { "\"'`(“‘[".contains($0) }
            var core = Substring(word)
            while let last = core.last, ",;:!?\"'`”’]".contains(last) || (last == "." && !core.hasSuffix("()")) {
                core = core.dropLast()
            }
            if core.hasSuffix("()"), core.count > 2,
                core.dropLast(2).allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            {
                return true
            }
            // `sqlite3_busy_timeout(db,`: the name before an argument list counts.
            let name = core.prefix { $0 != "(" }
            if let underscore = name.firstIndex(of: "_"), underscore != name.startIndex,
                name[name.index(after: underscore)...].contains(where: { $0.isLetter || $0.isNumber }),
                name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "=" })
            {
                return true
            }
            if core.count > 2, core.hasPrefix("."), core.dropFirst().allSatisfy({ $0.isASCII && $0.isLowercase }) {
                return true
            }
            if core.count > 3, core.hasPrefix("--"), core.dropFirst(2).first?.isLetter == true { return true }
            let upper = isUpperWord(core, minimum: 2)
            if upper && previousUpper { return true }
            previousUpper = isUpperWord(core, minimum: 3)
        }
        return false
    }

    /// Weight of a subject word whose specificity was not measured (an everyday word).
    static let unmeasuredWeight = 0.25

    /// Share of the question's subject words (stemmed) that the passage, its heading or its
    /// title contain: 1 when everything asked about is there.
    ///
    /// With `specificity` (``KnownTerms/Statistics/specificity``), each word counts by how
    /// specific it is in the knowledge base: a passage missing "photoshop" or "rebase" covers the
    /// question far less than one missing "file" or "work". A near miss — the knowledge base's
    /// words about something it does not cover — misses exactly its most specific word.
    public static func coverage(
        question: String, passage: String, heading: String, title: String, specificity: [String: Double] = [:]
    ) -> Double {
        let asked = subjectWords(question)
        guard !asked.isEmpty else { return 1 }
        let present = Set(PassageTrimmer.words(title + " " + heading + " " + passage))
        guard !specificity.isEmpty else {
            return Double(asked.intersection(present).count) / Double(asked.count)
        }
        var weightByStem: [String: Double] = [:]
        for (word, weight) in specificity {
            let stem = PassageTrimmer.stem(word)
            weightByStem[stem] = max(weightByStem[stem] ?? 0, weight)
        }
        var total = 0.0
        var covered = 0.0
        // In a fixed order: the same question and passage give the same bits on every run.
        for stem in asked.sorted() {
            let weight = max(weightByStem[stem] ?? unmeasuredWeight, 0.01)
            total += weight
            if present.contains(stem) { covered += weight }
        }
        return total > 0 ? covered / total : 1
    }
}
