/// What a document marks as code in its running text: the commands, options, files and names its
/// author set in `<code>`, `<kbd>` or `<tt>` (HTML, DocBook's `<code class="command">`, Sphinx's
/// literals), in backticks (Markdown, AsciiDoc) or in double backticks (reStructuredText).
///
/// Plain text loses that mark, and with it the one thing that tells "anacron is the daemon that
/// completes cron…" (the answer to "my laptop is off at night, will my cron jobs run?") from the
/// sentence after it, which restates the question: the answer names something a user types. A
/// spelling rule finds `sqlite3_busy_timeout()` or `PRAGMA`, never `anacron`, `visudo` or
/// `rsnapshot`; the author's markup does. Loaders collect the terms (``Collector``) into the
/// document's metadata under ``metadataKey``, which the store keeps and a knowledge base's log
/// carries; the RAG tier's quote choice reads them back (``CodeTermSet``).
public enum CodeTerms {
    /// The document metadata key holding the terms, one per line.
    public static let metadataKey = "code_terms"
    /// Most terms kept per document: a reference page marking thousands of identifiers keeps the
    /// first ones (a bound on the metadata's size and on the work of every question citing it).
    public static let maximumTerms = 2_000
    /// Shortest and longest term kept, in characters: one letter is a variable (`x`), a long
    /// run is a code sample set inline, not a name.
    public static let lengths = 2...80

    /// `raw` as a term, with its whitespace collapsed as the document's text has it, or nil when
    /// it is not one: outside ``lengths``, no letter (`0`, `--`), or holding a line break.
    public static func term(_ raw: String) -> String? {
        let collapsed = raw.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard lengths.contains(collapsed.count), collapsed.contains(where: \.isLetter) else { return nil }
        return collapsed
    }

    /// The terms as stored: one per line (a term never holds a line break).
    public static func encode(_ terms: [String]) -> String { terms.joined(separator: "\n") }

    /// The terms of stored metadata (empty when it has none).
    public static func decode(_ metadata: [String: String]) -> [String] {
        guard let value = metadata[metadataKey], !value.isEmpty else { return [] }
        return value.split(separator: "\n").map(String.init)
    }

    /// The lines that open and close a source's example blocks, whose code spans are examples,
    /// not terms.
    public enum Fences: Sendable {
        /// Markdown: ```` ``` ```` and `~~~` fences.
        case markdown
        /// AsciiDoc: `----` listing and `....` literal blocks (a line of four or more, after a
        /// blank line: under a title, dashes are its underline), and ```` ``` ```` fences.
        case asciidoc
        /// None (reStructuredText's literal blocks are indented, not fenced).
        case none

        func opens(_ line: Substring, afterBlank: Bool) -> Bool {
            switch self {
            case .markdown:
                return line.hasPrefix("```") || line.hasPrefix("~~~")
            case .asciidoc:
                if line.hasPrefix("```") { return true }
                guard afterBlank, line.count >= 4, let first = line.first, first == "-" || first == "." else {
                    return false
                }
                return line.allSatisfy { $0 == first }
            case .none:
                return false
            }
        }
    }

    /// Collects a document's terms while a loader reads it: each once, in reading order, at most
    /// ``maximumTerms``.
    public struct Collector: Sendable {
        public private(set) var terms: [String] = []
        private var seen = Set<String>()

        public init() {}

        public mutating func add(_ raw: String) {
            guard terms.count < CodeTerms.maximumTerms, let term = CodeTerms.term(raw), seen.insert(term).inserted
            else { return }
            terms.append(term)
        }

        /// Adds the code spans of a lightweight-markup source (Markdown, AsciiDoc,
        /// reStructuredText): text between two `delimiter`s on one line (`` `git push` `` with
        /// "`", ``` ``ls -l`` ``` with "``"), outside the source's example blocks (`fences`).
        /// Linear: each line is scanned once from left to right.
        public mutating func addSpans(of source: String, delimiter: String, fences: Fences = .none) {
            let mark = Array(delimiter)
            var fenced = false
            var previousBlank = true
            for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.drop { $0 == " " || $0 == "\t" }
                defer { previousBlank = trimmed.allSatisfy(\.isWhitespace) }
                if fences.opens(trimmed, afterBlank: previousBlank) {
                    fenced.toggle()
                    continue
                }
                guard !fenced, let first = mark.first, line.contains(first) else { continue }
                let characters = Array(line)
                var i = 0
                var open: Int?
                while i + mark.count <= characters.count {
                    guard characters[i..<(i + mark.count)].elementsEqual(mark) else {
                        i += 1
                        continue
                    }
                    // A longer run of the delimiter's character (``` in Markdown text) is not this delimiter.
                    var end = i + mark.count
                    while end < characters.count, characters[end] == first { end += 1 }
                    if end - i == mark.count {
                        if let start = open {
                            add(String(characters[start..<i]))
                            open = nil
                        } else {
                            open = end
                        }
                    }
                    i = end
                    if terms.count >= CodeTerms.maximumTerms { return }
                }
            }
        }

        /// `metadata` with the terms added (unchanged when there are none).
        public func adding(to metadata: [String: String]) -> [String: String] {
            guard !terms.isEmpty else { return metadata }
            var metadata = metadata
            metadata[CodeTerms.metadataKey] = CodeTerms.encode(terms)
            return metadata
        }
    }
}

/// A document's code terms, ready to be looked for in its sentences.
///
/// Matching is by whole words and case-sensitive (`Delete` in prose is not the `delete` journal
/// mode; `-S` is found in "dpkg -S file" but not inside "--search"), and linear in the text: each
/// word of the text is looked up in a dictionary of the one-word terms, and each pair of words in
/// one of the longer terms by their first two words. A page that marks thousands of terms opening
/// with the same two words (a hostile one) costs at most ``maximumComparisons`` per text.
public struct CodeTermSet: Sendable, Hashable {
    struct Entry: Sendable, Hashable {
        var term: String
        var folded: String
        /// The term's words without surrounding punctuation (``CodeTermSet/bare(_:)``).
        var words: [String]
    }

    /// Most candidate terms compared for one text.
    public static let maximumComparisons = 256

    private let single: [String: [Entry]]
    /// Terms of two words or more, by their first two (bare, one space apart).
    private let multiple: [String: [Entry]]

    public init(_ terms: [String]) {
        var single: [String: [Entry]] = [:]
        var multiple: [String: [Entry]] = [:]
        for term in terms {
            let words = term.split(separator: " ").map { Self.bare($0) }
            guard let first = words.first, !first.isEmpty else { continue }
            let entry = Entry(term: term, folded: term.lowercased(), words: words)
            if words.count == 1 {
                single[first, default: []].append(entry)
            } else {
                multiple[first + " " + words[1], default: []].append(entry)
            }
        }
        self.single = single
        self.multiple = multiple
    }

    public var isEmpty: Bool { single.isEmpty && multiple.isEmpty }

    /// The first term `text` names that `question` does not hold (compared without case: a term
    /// the customer already typed is not news), or nil.
    public func firstNamed(in text: String, notIn question: String) -> String? {
        guard !isEmpty else { return nil }
        let folded = question.lowercased()
        let words = text.split(whereSeparator: \.isWhitespace).map { Self.bare($0) }
        var comparisons = 0
        for index in words.indices where !words[index].isEmpty {
            var candidates = single[words[index]] ?? []
            if index + 1 < words.count, let longer = multiple[words[index] + " " + words[index + 1]] {
                candidates += longer
            }
            for entry in candidates {
                comparisons += 1
                if comparisons > Self.maximumComparisons { return nil }
                // The following words of the text must be the term's.
                guard index + entry.words.count <= words.count,
                    words[index..<(index + entry.words.count)].elementsEqual(entry.words),
                    !folded.contains(entry.folded)
                else { continue }
                return entry.term
            }
        }
        return nil
    }

    /// A word without the punctuation prose puts around it: opening quotes and brackets before,
    /// closing ones and sentence punctuation after (`(dpkg -S)` → `-S`, `cron.` → `cron`), but
    /// not the parentheses of a call (`round(X)`, `f()`).
    static func bare<S: StringProtocol>(_ word: S) -> String {
        var core = Substring(word)
        while let first = core.first, "\"'`(“‘[«".contains(first) { core.removeFirst() }
        while let last = core.last {
            if ",;:!?\"'`”’]».".contains(last) {
                core.removeLast()
            } else if last == ")", !core.contains("(") {
                core.removeLast()
            } else {
                break
            }
        }
        return String(core)
    }
}
