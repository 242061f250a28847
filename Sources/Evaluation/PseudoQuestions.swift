import Foundation
import KnowledgeBase
import Retrieval

/// Questions a knowledge base writes about itself, for calibrating without labels.
///
/// A new tenant has no labelled questions, and a threshold fitted on another knowledge base's
/// questions does not carry over (the SQLite set's threshold let 16% false resolutions through on
/// fresh questions). What every knowledge base does have is structure: a section heading names
/// what its section answers, an FAQ heading *is* a question, a page title names its page, and a
/// sentence "X is a …" defines X. Those give answerable questions with the document that answers
/// each. Unanswerable ones come from outside: questions about other products and everyday
/// matters the knowledge base never mentions, and *near misses* — one of its own questions with
/// the subject swapped for something it never mentions ("… in Salesforce", "… of a spreadsheet"),
/// the kind of question that retrieves a passage on the right words about the wrong thing.
///
/// Everything is deterministic: the same knowledge base gives the same questions.
public struct PseudoQuestions: Sendable {
    /// One question and the document that answers it (nil: nothing in the knowledge base does).
    public struct Question: Sendable, Hashable {
        public var text: String
        /// `(collection, doc_id)` of the answering document; nil for an unanswerable question.
        public var answeredBy: String?
        /// heading, faq, title, definition (answerable); foreign, near_miss (unanswerable).
        public var kind: String
        /// The opening of the answering section (at most 400 characters), for recognising the
        /// same passage in another document (a page shipped as both HTML and its source text).
        public var passage: String = ""

        public var answerable: Bool { answeredBy != nil }
    }

    public var answerable: [Question]
    public var unanswerable: [Question]

    /// Most answerable questions kept (a deterministic sample beyond it): enough for a stable fit
    /// on two cores in seconds.
    public static let maxAnswerable = 160
    /// Most near misses (one per answerable question at most).
    public static let maxNearMisses = 80

    /// Headings that name a kind of section, not a subject: asked alone they are not questions.
    static let genericHeadings: Set<String> = [
        "introduction", "overview", "description", "summary", "synopsis", "options", "examples", "example",
        "notes", "note", "see also", "references", "limitations", "conclusion", "background", "details",
        "table of contents", "contents", "abstract", "preface", "appendix", "index", "usage", "syntax",
        "parameters", "arguments", "return value", "return values", "author", "authors", "copyright",
        "license", "bugs", "files", "environment", "history", "reporting bugs", "getting started", "faq",
        "frequently asked questions", "discussion", "configuration", "related", "footnotes", "glossary",
        "git", "name", "output", "exit status", "errors", "warnings", "caveats", "definitions", "terminology",
        "compatibility", "changes", "further reading", "resources", "next steps", "prerequisites",
    ]

    /// Questions about other products and everyday matters. Written for this purpose; none is
    /// taken from an evaluation set. Any whose every subject word the knowledge base mentions is
    /// dropped (it might be answerable there).
    static let foreign: [String] = [
        "How do I reset the wifi password on my router?",
        "Can I change the date of my flight booking online?",
        "What is your return policy for shoes bought on sale?",
        "How do I export my contacts from an Android phone?",
        "Why is my dishwasher leaving white spots on glasses?",
        "How long does shipping to Canada take?",
        "How do I cancel my gym membership?",
        "What is the best way to store fresh basil?",
        "How do I connect my printer to a new laptop over bluetooth?",
        "Can I pay my electricity bill with a credit card?",
        "How do I change the language of my smart TV?",
        "What vaccines does my cat need every year?",
        "How do I set up two-factor authentication for my bank app?",
        "Why does my car's check engine light blink?",
        "How do I add a signature in Microsoft Outlook?",
        "How do I merge cells in Google Sheets?",
        "How do I remove the background of a photo in Photoshop?",
        "How can I transfer my phone number to another carrier?",
        "What are the opening hours of the downtown store on Sundays?",
        "How do I apply for a refund of my hotel deposit?",
        "How do I install a theme in WordPress?",
        "How do I schedule a meeting in Zoom?",
        "How do I reconcile a bank account in QuickBooks?",
        "How do I create a board in Trello?",
        "How do I track my parcel from the post office?",
        "What is the recommended tire pressure for a bicycle?",
        "How do I unclog a kitchen sink without chemicals?",
        "Can I bring a power bank in my checked luggage?",
        "How do I update the firmware of my smartwatch?",
        "How do I replace the battery in a TV remote?",
        "What documents do I need to renew my passport?",
        "How do I make sourdough bread rise faster?",
        "How do I mute a channel in Slack?",
        "How do I change my shipping address after ordering?",
        "Why is my laptop fan so loud when charging?",
        "How do I get a copy of last year's tax return?",
        "How do I enable dark mode on an iPhone?",
        "How do I calibrate the colours of my monitor?",
        "How often should I water a cactus in winter?",
        "How do I sync my calendar between Outlook and my phone?",
        "How do I report a lost credit card?",
        "How do I pair wireless earbuds with a Windows PC?",
        "What is the cancellation fee for a rental car?",
        "How do I clean a cast iron pan after cooking?",
        "How do I add a user to a Shopify store?",
        "How do I change the oil in a lawn mower?",
        "Can I upgrade my mobile data plan mid-month?",
        "How do I book a table for eight people on Friday?",
        "How do I stop my puppy from chewing furniture?",
        "How do I reset a forgotten Netflix password?",
    ]

    /// Products and places a near miss moves a question to.
    static let foreignProducts: [String] = [
        "Microsoft Excel", "Salesforce", "Jira", "Photoshop", "WordPress", "Shopify", "Zoom", "Outlook", "Slack",
        "QuickBooks", "Google Sheets", "Notion", "Trello", "an iPhone", "an Android phone", "Dropbox",
        "Adobe Acrobat", "PowerPoint", "Zendesk", "HubSpot", "Figma", "Mailchimp", "Squarespace", "Netflix",
    ]

    /// Builds the questions from `store`'s outline. Throws only when the store cannot be read.
    public static func make(from store: KnowledgeBaseStore) throws -> PseudoQuestions {
        let outline = try store.outline()
        var candidates: [Question] = []
        var seen = Set<String>()
        // A heading or title that names several documents does not say which one answers —
        // unless they are one page in several forms (its HTML and its source), whose sections
        // open with the same passage.
        var docsByText: [String: [String: String]] = [:]
        for entry in outline {
            let key = "\(entry.collection)\t\(entry.docID)"
            for text in [leaf(entry.heading), clean(entry.title)] where !text.isEmpty {
                if docsByText[fold(text)]?[key] == nil { docsByText[fold(text), default: [:]][key] = passage(entry) }
            }
        }
        func unambiguous(_ folded: String, _ key: String, _ passage: String) -> Bool {
            guard let documents = docsByText[folded], documents.count > 1 else { return true }
            return documents.allSatisfy { other, opening in
                other == key || holds(opening, passage: passage) || holds(passage, passage: opening)
            }
        }
        func add(_ text: String, _ key: String, _ kind: String, _ passage: String) {
            let folded = fold(text)
            guard !folded.isEmpty, unambiguous(folded, key, passage), seen.insert(folded).inserted
            else { return }
            candidates.append(Question(text: text, answeredBy: key, kind: kind, passage: passage))
        }
        for entry in outline {
            let key = "\(entry.collection)\t\(entry.docID)"
            let heading = leaf(entry.heading)
            if heading.hasSuffix("?"), (3...25).contains(wordCount(heading)) {
                add(heading, key, "faq", passage(entry))
            } else if isSubject(heading) {
                add(heading, key, "heading", passage(entry))
            }
            let title = clean(entry.title)
            if isSubject(title) {
                add(title, key, "title", passage(entry))
            }
            if let term = definedTerm(entry.opening) {
                add("What is \(term)?", key, "definition", passage(entry))
            }
        }
        let answerable = sample(candidates, max: maxAnswerable)

        var unanswerable: [Question] = []
        for text in foreign where try !mentionsAll(subjectWords(text), store) {
            unanswerable.append(Question(text: text, answeredBy: nil, kind: "foreign"))
        }
        // Near misses. Two kinds: moved to a product the knowledge base never mentions (the
        // `unknown_term` check refuses those), and — the hard ones — a subject word swapped for
        // one the knowledge base *does* use elsewhere, where no chunk holds the new combination:
        // every word is known, the question is about nothing it covers.
        let products = try foreignProducts.filter { try store.mentions(bare($0)) == 0 }
        let vocabulary = Array(Set(answerable.flatMap { subjectWords($0.text) })).sorted()
        for (i, question) in sample(answerable, max: maxNearMisses).enumerated() {
            let stable = Int(StableOrder.hash(question.text) % 1_000_003)
            if i % 3 == 0, !products.isEmpty {
                let product = products[stable % products.count]
                unanswerable.append(
                    Question(text: "\(trimQuestion(question.text)) in \(product)?", answeredBy: nil, kind: "near_miss"))
                continue
            }
            // Up to five candidate swaps of its most specific word (the one fewest chunks hold:
            // swapping a generic word leaves the question about the same thing), the first whose
            // words no chunk holds together.
            guard let target = try rarestWord(question.text, store: store) else { continue }
            for attempt in 0..<5 where !vocabulary.isEmpty {
                let word = vocabulary[(stable + attempt * 7919) % vocabulary.count]
                guard word != fold(target) else { continue }
                let swapped = replace(target, with: word, in: trimQuestion(question.text)) + "?"
                if try !store.mentionsTogether(subjectWords(swapped)) {
                    unanswerable.append(Question(text: swapped, answeredBy: nil, kind: "near_miss"))
                    break
                }
            }
        }
        return PseudoQuestions(answerable: answerable, unanswerable: unanswerable)
    }

    // MARK: - Text helpers

    /// The passage that answers a section's question, as recognised in another document (the
    /// page's other form): the section's opening, with the start of its next chunk when the
    /// opening alone has fewer than ``minimumPassageTrigrams`` (a table of field names, a list of
    /// commands), which no other document could be recognised to hold.
    static func passage(_ entry: KnowledgeBaseStore.OutlineEntry) -> String {
        guard let continuation = entry.continuation, trigrams(entry.opening).count < minimumPassageTrigrams else {
            return entry.opening
        }
        return entry.opening + "\n" + continuation
    }

    /// Share of a passage's word trigrams that must appear in a cited document for it to count as
    /// the same text (``PassageOverlap/samePassageShare``).
    public static let samePassageShare = PassageOverlap.samePassageShare

    /// Whether `text` holds `passage` (``PassageOverlap/holds(_:passage:)``).
    public static func holds(_ text: String, passage: String) -> Bool {
        PassageOverlap.holds(text, passage: passage)
    }

    /// Fewest word trigrams of a passage looked for in whole other documents: a short opening
    /// ("See git-config(1).") is found in many pages that do not answer.
    public static let minimumPassageTrigrams = PassageOverlap.minimumTrigrams

    static func trigrams(_ text: String) -> Set<Int> { PassageOverlap.trigrams(text) }

    /// The last part of a heading path, without its section number ("2.1.", "(6154)", "A.3").
    static func leaf(_ heading: String) -> String {
        let last = heading.components(separatedBy: " › ").last ?? heading
        return clean(last)
    }

    /// Without a leading section number and surrounding spaces.
    static func clean(_ text: String) -> String {
        var t = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        // "2.1.", "4.3.4", "(6154)", "A.3.", "IV."
        if let first = t.split(separator: " ", maxSplits: 1).first, t.count > first.count,
            first.allSatisfy({ $0.isNumber || $0 == "." || $0 == "(" || $0 == ")" })
                || (first.count <= 4 && first.hasSuffix(".") && first.dropLast().allSatisfy { $0.isUppercase })
        {
            t = t.dropFirst(first.count)
        }
        return t.trimmingCharacters(in: .whitespaces)
    }

    static func fold(_ text: String) -> String { PassageOverlap.fold(text) }

    static func wordCount(_ text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }

    /// Whether a heading or title names a subject someone would ask about: 2–12 words, mostly
    /// letters, not a generic section name, not a bare identifier or code.
    static func isSubject(_ text: String) -> Bool {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard (2...12).contains(words.count), !genericHeadings.contains(fold(text)) else { return false }
        let letters = text.filter(\.isLetter).count
        guard Double(letters) / Double(max(text.count, 1)) >= 0.7 else { return false }
        return !text.contains("(") && !text.contains("=") && !text.contains(";")
    }

    /// "X is a/an/the …" at the start of a passage: X (1–4 words), else nil.
    static func definedTerm(_ opening: String) -> String? {
        let sentence = opening.prefix { $0 != "." && $0 != "\n" }
        let words = sentence.split(separator: " ")
        guard let isIndex = words.firstIndex(where: { $0 == "is" || $0 == "are" }), (1...4).contains(isIndex),
            isIndex + 1 < words.count, ["a", "an", "the"].contains(words[isIndex + 1].lowercased())
        else { return nil }
        var termWords = Array(words[..<isIndex])
        if let first = termWords.first, ["the", "a", "an"].contains(first.lowercased()) { termWords.removeFirst() }
        guard !termWords.isEmpty else { return nil }
        let term = termWords.joined(separator: " ")
        guard term.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" || $0 == "_" }),
            !["it", "this", "that", "there", "which", "what", "here", "the result", "the default"].contains(
                term.lowercased())
        else { return nil }
        return term
    }

    /// Without a final question mark or full stop.
    static func trimQuestion(_ text: String) -> String {
        var t = text
        while let last = t.last, last == "?" || last == "." || last == " " { t.removeLast() }
        return t
    }

    static let stopWords: Set<String> = [
        "how", "do", "does", "i", "my", "the", "a", "an", "to", "of", "in", "on", "for", "with", "what", "is",
        "are", "can", "and", "or", "from", "by", "at", "it", "why", "when", "which", "your", "me", "after",
        "between", "without", "every", "get", "make", "use", "using", "set", "up", "last", "new", "best", "way",
        "year", "long", "often", "should", "many", "much", "into", "over", "via", "about", "this", "that",
    ]

    static func subjectWords(_ text: String) -> [String] {
        fold(text).split(separator: " ").map(String.init).filter { $0.count > 2 && !stopWords.contains($0) }
    }

    /// Whether the store mentions every one of `words`.
    static func mentionsAll(_ words: [String], _ store: KnowledgeBaseStore) throws -> Bool {
        for word in words where try store.mentions(word) == 0 { return false }
        return true
    }

    /// "an iPhone" → "iPhone": the product's name, for the "does the knowledge base mention it" check.
    static func bare(_ product: String) -> String {
        for article in ["an ", "a "] where product.hasPrefix(article) {
            return String(product.dropFirst(article.count))
        }
        return product
    }

    /// The subject word of `text` the fewest chunks hold (counted up to 200), as written.
    static func rarestWord(_ text: String, store: KnowledgeBaseStore) throws -> String? {
        var best: (word: String, count: Int)?
        for word in trimQuestion(text).split(separator: " ").map(String.init) {
            let folded = fold(word)
            guard folded.count > 2, !stopWords.contains(folded) else { continue }
            let count = try store.mentions(folded, limit: 200)
            if count > 0, count < (best?.count ?? Int.max) { best = (word, count) }
        }
        return best?.word
    }

    /// `text` with the word `old` (as written) replaced by `new`.
    static func replace(_ old: String, with new: String, in text: String) -> String {
        text.split(separator: " ").map { $0 == old ? new : String($0) }.joined(separator: " ")
    }

    /// At most `max` of `questions`, chosen by a stable hash of their text (not by position, so
    /// a long first document does not fill the sample), in that hash order.
    static func sample(_ questions: [Question], max: Int) -> [Question] {
        Array(questions.sorted { StableOrder.hash($0.text) < StableOrder.hash($1.text) }.prefix(max))
    }
}

/// FNV-1a over UTF-8: the same order on every machine and run (Swift's `hashValue` is seeded).
enum StableOrder {
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}
