import Embeddings
import Foundation
import KnowledgeBase
import Retrieval
import VectorSearch

/// Chooses *which sentences* of the retrieved passages a RAG answer quotes.
///
/// Retrieval ranks chunks by how much of the question's subject they share; the sentences that
/// answer are often in the second chunk, or in the middle of a chunk whose opening is about
/// something next to it ("make it wait instead of failing" retrieves the locking page's
/// RESERVED-lock paragraph first; `busy_timeout` is a few results further down). So every
/// sentence window (a sentence and what follows it, up to ``windowCharacters``) of the quotable
/// passages from the cited documents is a candidate, and the answer quotes the two best, the
/// way a search engine's snippet joins its two best fragments with "…".
///
/// A window is embedded with the last part of its section's heading in front ("Key-Based
/// Authentication: If the private key…"): a sentence out of its section ("It can then be
/// used…") says little of what it is about, and the heading says it, the way a reader sees it.
/// A window's score is the embedding model's similarity to the question, plus small bonuses for
/// sharing the question's subject words, for naming something a user can type (a function,
/// pragma, command or option: how-to answers name one — by its spelling, or because the page
/// marks it as code and the question does not name it, ``CodeTerms``) and for coming from a
/// passage retrieval ranked high (``retrievalWeight``). Embedding every window of five chunks
/// costs more than the search itself, so windows are first ranked by those cheap signals and
/// only the best ``maxEmbeddedWindows`` are embedded.
///
/// Measured (docs/evaluation.md): the share of RAG answers whose quote holds the answer rose from
/// 74% (the best-matching sentences of the top chunk) to 89% on the shipped set these rules were
/// designed on; on the held-out set written after them it is about 64%. The model's similarity
/// prefers sentences that restate the question to those that answer it; a reader model that
/// scores answers would be the next step.
public enum AnswerQuote {
    /// Longest fragment, in characters; two fragments are about the length of the old quote.
    public static let windowCharacters = 240
    /// Most windows taken from one passage: a passage imported whole (`import-vectors` stores
    /// each corpus line as one chunk, of any length) cannot make a question's work unbounded.
    public static let maxWindowsPerPassage = 64
    /// Most windows embedded per question.
    public static let maxEmbeddedWindows = 8
    /// Most windows embedded besides those, for naming a term their page marks as code
    /// (``CodeTerms``): the markup's candidates are compared with the closest sentences rather
    /// than replacing them.
    static let maxMarkedWindows = 4
    /// Bonus for a window that shares all of the question's subject words (scaled by the share).
    static let subjectWeight = 0.1
    /// Bonus for a window naming something a user can type.
    static let commandWeight = 0.1
    /// Bonus for a window of the passage retrieval ranked first, falling as 1/(1 + position):
    /// retrieval scored the whole passage, with its keywords and context, so between two windows
    /// the model finds about as close, the one from the better passage is likelier to answer
    /// ("how do I delete a trigger": the DROP TRIGGER page's first sentence over the trigger page's
    /// "DELETE, INSERT, UPDATE"). Half a subject bonus: it breaks near-ties, it never outweighs a
    /// clearly closer window. Any weight from 0.03 to 0.1 gives the same answers on the shipped
    /// set; 0.2 and more make them worse (docs/evaluation.md).
    static let retrievalWeight = 0.05
    /// Separator between two fragments.
    public static let separator = " … "

    /// What is quoted: one or two fragments and the results they come from, best first.
    public struct Quote: Sendable {
        public var text: String
        public var sources: [SearchResult]
        /// Model tokens embedded to choose the fragments (priced like the question's): the question
        /// and the windows not already in ``WindowVectorCache``.
        public var tokensEmbedded: Int
        /// How closely the closest sentences of the cited pages match the question: the best
        /// window's ``checkScore(similarity:of:)``. The resolver escalates an answer whose best
        /// fragment scores below ``quoteThreshold``.
        public var score: Double
    }

    /// Least score of the best fragment for a RAG answer to resolve (see ``Quote/score``).
    ///
    /// Retrieval confidence says the cited *pages* are about the question; this says that one of
    /// their *sentences* is close to it. A wrong page found with confidence ("recover commits
    /// after a hard reset" → a passage about discarding them) or a near miss about something the
    /// pages do not cover usually has no sentence close to the question. Chosen without the
    /// labels of the set it is reported on: on each of the four development sets, the value
    /// picked on the other three (the one with the fewest false resolutions while correct
    /// auto-resolution stays ≥ 50% on each) lowered false resolutions on three sets and left the
    /// fourth unchanged (docs/evaluation.md, *The quote check*); 0.65 is what the same rule picks
    /// on all four. It is a similarity on all-MiniLM-L6-v2's scale (float32 or int8): another
    /// model's similarities run on another scale, so for it the check applies only when the
    /// tenant sets `quote_threshold` (``defaultQuoteThreshold(modelID:)``).
    public static let quoteThreshold = 0.65

    /// The quote check's default for answers chosen with `modelID`'s vectors: ``quoteThreshold``
    /// for MiniLM, nil (no default check) for a model it was not measured with.
    public static func defaultQuoteThreshold(modelID: String) -> Double? {
        modelID == MiniLMEmbedder.defaultModelID || modelID == MiniLMEmbedder.int8ModelID ? quoteThreshold : nil
    }

    /// A candidate fragment: a run of whole sentences of one result.
    struct Window {
        var resultIndex: Int
        var firstSentence: Int
        var lastSentence: Int
        /// What is quoted.
        var text: String
        /// What is compared with the question: the quote, after the passage's own question when
        /// the quote answers one.
        var scoredText: String
        /// Share of the question's subject words in the window.
        var subject: Double
        /// Names something a user can type, by its spelling (``AnswerCheck/namesCommand(_:)``).
        var command: Bool
        /// Names a term its page marks as code that the question does not (``CodeTerms``).
        var codeTerm = false
        var cheapScore: Double { subjectWeight * subject + commandWeight * (command || codeTerm ? 1 : 0) }
        /// The bonus only the page's markup gave: it ranks windows, it is not evidence that a
        /// sentence is close to the question (``checkScore(similarity:of:)``).
        var markupBonus: Double { codeTerm && !command ? commandWeight : 0 }
        var retrievalPrior: Double { retrievalWeight / Double(1 + resultIndex) }

        func overlaps(_ other: Window) -> Bool {
            resultIndex == other.resultIndex && firstSentence <= other.lastSentence
                && other.firstSentence <= lastSentence
        }
    }

    /// The quote for `question` from `results`: quotable passages of the cited documents, best
    /// first. Nil when they hold no sentence.
    /// - Parameter questionVector: the question's vector from the search, used when `embedder`
    ///   made it (else the question is embedded with the windows).
    /// - Parameter following: the chunk after a result's chunk, keyed by the result's chunk id
    ///   (``mayContinue(_:)``): where an example a quoted fragment introduces goes on.
    /// - Parameter codeTerms: what the results' documents mark as code (``KnowledgeBaseStore/codeTerms(of:)``).
    public static func choose(
        question: String, results: [SearchResult], embedder: any Embedder, questionVector: QueryVector? = nil,
        following: [Int64: StoredChunk] = [:], codeTerms: [DocumentKey: CodeTermSet] = [:]
    ) async throws -> Quote? {
        let candidates = windows(question: question, results: results, codeTerms: codeTerms)
        guard !candidates.isEmpty else { return nil }
        // Cheap signals first; ties keep retrieval order, then reading order.
        let shortlist = shortlist(candidates)
        // The windows not cached yet, and the question unless the search's vector is this model's,
        // in one call.
        let cache = WindowVectorCache.shared
        let model = embedder.modelID
        var windowVectors = shortlist.map { cache.vector(model: model, text: $0.scoredText) }
        let missing = windowVectors.indices.filter { windowVectors[$0] == nil }
        let known = questionVector.flatMap { $0.model == model ? $0.vector : nil }
        let texts = (known == nil ? [question] : []) + missing.map { shortlist[$0].scoredText }
        let fresh = texts.isEmpty ? [] : try await embedder.embed(texts)
        guard fresh.count == texts.count else { throw EmbeddingError.emptyResult(model: model) }
        let offset = known == nil ? 1 : 0
        for (i, index) in missing.enumerated() {
            windowVectors[index] = fresh[i + offset]
            cache.store(model: model, text: shortlist[index].scoredText, vector: fresh[i + offset])
        }
        guard let questionVectorUsed = known ?? fresh.first,
            windowVectors.allSatisfy({ $0?.count == questionVectorUsed.count })
        else {
            throw EmbeddingError.serviceFailed(reason: "\(model) returned vectors of different lengths")
        }
        let vectors = [questionVectorUsed] + windowVectors.map { $0 ?? [] }
        let scored = shortlist.enumerated().map { i, window in
            (window, score(similarity: Double(VectorMath.dot(vectors[0], vectors[i + 1])), of: window))
        }
        .sorted { $0.1 > $1.1 }
        let original = scored[0].0
        let best = finished(original, in: results, following: following)
        var chosen = [best]
        // Not the same sentences again, from this passage or another holding the same text.
        if let second = scored.dropFirst().first(where: {
            !$0.0.overlaps(best) && $0.0.text != original.text && !best.text.contains($0.0.text)
        })?.0 {
            chosen.append(finished(second, in: results, besides: best, following: following))
        }
        var sources: [SearchResult] = []
        for window in chosen
        where !sources.contains(where: { $0.chunk.chunkID == results[window.resultIndex].chunk.chunkID }) {
            sources.append(results[window.resultIndex])
        }
        let tokens = texts.reduce(0) { $0 + embedder.tokenCount(of: $1) + 2 }
        return Quote(
            text: chosen.map(\.text).joined(separator: separator), sources: sources, tokensEmbedded: tokens,
            score: scored.map { $0.1 - $0.0.markupBonus }.max() ?? scored[0].1)
    }

    /// The windows worth embedding: the ``maxEmbeddedWindows`` best by the cheap signals without
    /// the page's markup, then up to ``maxMarkedWindows`` more naming a term it marks as code.
    /// The markup adds candidates, never takes one's place, so the quote check still sees every
    /// sentence it saw without it (``checkScore(similarity:of:)``). Ties keep retrieval order,
    /// then reading order.
    static func shortlist(_ candidates: [Window]) -> [Window] {
        func ranked(_ key: (Window) -> Double) -> [(offset: Int, element: Window)] {
            candidates.enumerated().sorted { a, b in
                key(a.element) != key(b.element) ? key(a.element) > key(b.element) : a.offset < b.offset
            }
        }
        let plain = ranked { $0.cheapScore - $0.markupBonus }.prefix(maxEmbeddedWindows)
        let taken = Set(plain.map(\.offset))
        let marked = ranked(\.cheapScore).filter { $0.element.markupBonus > 0 && !taken.contains($0.offset) }
            .prefix(maxMarkedWindows)
        return (plain + marked).map(\.element)
    }

    /// Whether a passage may end where an example it introduces has not ended: its last sentence
    /// introduces ("… reducing the code to this:"), or it was cut inside a code block (the
    /// chunker splits a long block into lines and keeps their breaks). Its next chunk holds the rest.
    public static func mayContinue(_ text: String) -> Bool {
        guard let last = text.last else { return false }
        return last.isNewline || text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(":")
    }

    /// `window` with what follows it when the window does not stand alone without it: the next
    /// sentence leans on the window's last ("It can be edited by running crontab -e"), or the
    /// window ends by introducing what follows ("… grow the logical volume then the filesystem:"
    /// before the commands that do it: the rest of that paragraph, the whole example, read on in
    /// the chunk `following` holds when the chunk ends before the example does). Only whole
    /// sentences and whole examples, within two windows' length: an example cut short would be
    /// quoted as if it were whole. Not a sentence `other` (the fragment quoted beside it) already
    /// quotes. A second fragment (`other` given) is finished only when it ends by introducing:
    /// lengthened by a leaning sentence too, ten answers of the development sets grew and none
    /// gained its fact (docs/evaluation.md).
    static func finished(
        _ window: Window, in results: [SearchResult], besides other: Window? = nil,
        following: [Int64: StoredChunk] = [:]
    ) -> Window {
        let chunk = results[window.resultIndex].chunk
        let sentences = PassageTrimmer.sentences(chunk.text)
        guard window.lastSentence < sentences.count, window.text.hasSuffix(sentences[window.lastSentence].text)
        else { return window }
        let added: String
        var last = window.lastSentence + 1
        if introduces(sentences[window.lastSentence].text) {
            while last < sentences.count, !sentences[last].endsParagraph { last += 1 }
            // The chunk ends before the example does: it ends with the introduction, or inside a
            // code block (with a line's break). The rest is in the next chunk, or nowhere known.
            if last >= sentences.count - 1, last == sentences.count || chunk.text.last?.isNewline == true {
                guard let next = following[chunk.chunkID],
                    let rest = continuation(
                        of: sentences[window.lastSentence].text,
                        startingWith: last < sentences.count ? sentences[window.lastSentence + 1].text : nil,
                        in: next.text, after: chunk.text)
                else { return window }
                added = rest
                last = sentences.count - 1
            } else {
                added = sentences[(window.lastSentence + 1)...last].map(\.text).joined(separator: " ")
            }
        } else if last < sentences.count, other == nil, dependsOnPrevious(sentences[last].text) {
            added = sentences[last].text
        } else {
            return window
        }
        guard !isCaption(added), !PassageTrimmer.split(added).contains(where: isCaption),
            window.text.count + 1 + added.count <= 2 * windowCharacters
        else { return window }
        var longer = window
        longer.text += " " + added
        longer.lastSentence = last
        if let other, longer.overlaps(other) || other.text.contains(added) { return window }
        return longer
    }

    /// The example `introduction` leads to, read in `next` (the following chunk, which usually
    /// starts with a few sentences of the one before): from `start` (the example's first part,
    /// already in the chunk before) or from after the introduction, to the end of that paragraph.
    /// A chunk cut at a paragraph break repeats nothing of `previous` (the chunk ending with the
    /// introduction): the example then starts `next` ("… entries in the /etc/apt/preferences
    /// file:" before "Package: * Pin: release a=stable Pin-Priority: 900" lost the example). Nil
    /// when neither is found or the paragraph runs past `next` too.
    static func continuation(
        of introduction: String, startingWith start: String?, in next: String, after previous: String = ""
    ) -> String? {
        let sentences = PassageTrimmer.sentences(next)
        let first: Int
        if let start {
            guard let index = sentences.firstIndex(where: { $0.text == start }) else { return nil }
            first = index
        } else if let index = sentences.firstIndex(where: { $0.text == introduction }) {
            guard index + 1 < sentences.count else { return nil }
            first = index + 1
        } else {
            // No overlap at all: neither the introduction nor `next`'s first sentence is in the
            // other chunk, and `previous` ends with the introduction.
            guard let opening = sentences.first?.text, !previous.isEmpty,
                previous.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(introduction),
                !previous.contains(opening), !next.contains(introduction)
            else { return nil }
            first = 0
        }
        var last = first
        while last < sentences.count - 1, !sentences[last].endsParagraph { last += 1 }
        if last == sentences.count - 1, next.last?.isNewline == true { return nil }
        return sentences[first...last].map(\.text).joined(separator: " ")
    }

    /// A window's score: the model's similarity to the question plus the bonuses.
    static func score(similarity: Double, of window: Window) -> Double {
        similarity + window.cheapScore + window.retrievalPrior
    }

    /// What the quote check compares with ``quoteThreshold``: the score without the bonus of the
    /// page's code markup. Whether some sentence is close enough to the question is for the model
    /// and the question's words to say; markup says which close sentence names the thing to type.
    /// With the markup in the check, the Debian handbook's development set resolved two
    /// questions it cannot answer (docs/evaluation.md). The markup only adds candidates
    /// (``shortlist(_:)``), so an answer that passed the check without it passes with it; one
    /// more can pass when a marked sentence, compared without its bonus, is the closest of all.
    static func checkScore(similarity: Double, of window: Window) -> Double {
        score(similarity: similarity, of: window) - window.markupBonus
    }

    /// Words that open a sentence leaning on the one before ("This…", "Once removed, …", "However, …").
    static let dependentOpenings: Set<String> = [
        "this", "these", "that", "those", "it", "its", "they", "them", "their", "such", "however", "but", "also",
        "once", "then", "otherwise", "thus", "so", "hence", "therefore", "furthermore", "moreover", "instead",
        "likewise", "similarly", "here", "there", "and", "or",
    ]

    /// A figure's or table's caption ("Figure 1: …", "Fig. 2 …", "Table 3: …").
    static func isCaption(_ sentence: String) -> Bool {
        let lower = sentence.lowercased()
        for prefix in ["figure ", "fig. ", "table "] where lower.hasPrefix(prefix) {
            return lower.dropFirst(prefix.count).first?.isNumber == true
        }
        return false
    }

    /// Whether `sentence` introduces what follows it ("… would be something like this:"): an
    /// example or a list quoted without its introduction says nothing of what it shows.
    static func introduces(_ sentence: String) -> Bool {
        sentence.hasSuffix(":") && sentence.split(separator: " ").count >= 3
    }

    static func dependsOnPrevious(_ sentence: String) -> Bool {
        let first = sentence.prefix { $0.isLetter }.lowercased()
        return dependentOpenings.contains(first) || sentence.lowercased().hasPrefix("in that case")
            || sentence.lowercased().hasPrefix("in this case")
    }

    /// Every sentence of every result, each with the sentences after it that fit in
    /// ``windowCharacters``; a window about the opposite of the question's action is left out.
    static func windows(
        question: String, results: [SearchResult], codeTerms: [DocumentKey: CodeTermSet] = [:]
    ) -> [Window] {
        let subjectWords = AnswerCheck.subjectWords(question)
        let actions = AnswerCheck.askedActions(question)
        var windows: [Window] = []
        for (index, result) in results.enumerated() {
            let sentences = PassageTrimmer.split(result.chunk.text)
            let leaf = (result.chunk.heading.components(separatedBy: " › ").last ?? "")
                .trimmingCharacters(in: .whitespaces)
            let terms = codeTerms[DocumentKey(collection: result.chunk.collection, docID: result.chunk.docID)]
            var taken = 0
            for start in sentences.indices where taken < maxWindowsPerPassage {
                // A question in the passage (an FAQ's) identifies its answer but is not one: it
                // takes part in the score, and the quote starts after it.
                var first = start
                while first < sentences.count, sentences[first].hasSuffix("?") { first += 1 }
                guard first < sentences.count, start == first || start == 0 || !sentences[start - 1].hasSuffix("?")
                else { continue }
                // "Figure 1: A Two-Column Index" names a picture the answer cannot show.
                if isCaption(sentences[first]) { continue }
                let asked = sentences[start..<first].joined(separator: " ")
                // "Once removed, the trigger…" needs the sentence before it, and so does an example
                // after "… something like this:": the window starts there instead (the one that
                // already does covers it when both fit), even if the two are longer than a window.
                // The sentence it leans on comes first, and the window then runs on from `start` as
                // any other would: an introduction that itself leans back ("In this case we create
                // an index on both columns:") keeps the example it introduces.
                var limit = windowCharacters
                if start == first, start > 0, dependsOnPrevious(sentences[start]) || introduces(sentences[start - 1]),
                    !sentences[start - 1].hasSuffix("?"), !isCaption(sentences[start - 1])
                {
                    let both = sentences[start - 1].count + 1 + sentences[start].count
                    if both <= windowCharacters { continue }
                    first = start - 1
                    limit = min(max(both, sentences[start - 1].count + 1 + windowCharacters), 2 * windowCharacters)
                }
                var last = first
                var length = sentences[first].count
                // A figure's caption ends the window: the picture is not in the answer.
                while last + 1 < sentences.count, length + sentences[last + 1].count + 1 <= limit,
                    !isCaption(sentences[last + 1])
                {
                    last += 1
                    length += sentences[last].count + 1
                }
                var text = sentences[first...last].joined(separator: " ")
                if text.count > limit { text = PassageTrimmer.cut(text, to: limit) }
                if AnswerCheck.contradiction(asked: actions, passage: text, heading: result.chunk.heading) != nil {
                    continue
                }
                let present = Set(PassageTrimmer.words(asked + " " + text))
                let subject =
                    subjectWords.isEmpty
                    ? 0 : Double(subjectWords.intersection(present).count) / Double(subjectWords.count)
                taken += 1
                windows.append(
                    Window(
                        resultIndex: index, firstSentence: first, lastSentence: last, text: text,
                        scoredText: (leaf.isEmpty ? "" : leaf + ": ") + (asked.isEmpty ? text : asked + " " + text),
                        subject: subject,
                        command: AnswerCheck.namesCommand(text),
                        codeTerm: terms?.firstNamed(in: text, notIn: question) != nil))
            }
        }
        return windows
    }
}
