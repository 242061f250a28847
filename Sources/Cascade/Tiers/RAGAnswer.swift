import Embeddings
import KnowledgeBase
import Retrieval

/// What the RAG tier answers with: the best passage, cited, plus up to two further documents
/// from the same result list as "see also" citations.
///
/// A support answer that quotes one passage and links the next best pages is what users expect
/// from a help desk; it also means a question whose best page ranked second is still pointed at
/// it. Evaluation counts a resolution as correct when any cited document is relevant, so the
/// calibration labels use the same selection (``citedResults(_:)``).
public enum RAGAnswer {
    /// Most documents cited by one answer.
    public static let maxCitedDocuments = 3
    /// Chunks of a page's opening the answer may quote from when none of the page's retrieved
    /// chunks is quotable (``openingsWanted(selection:results:)``): enough to reach past an API
    /// page's signature, which the chunker may split over three chunks, to the prose after it.
    public static let openingChunksPerDocument = 4

    /// What the RAG tier would answer with, and why it may not.
    public struct Selection: Sendable {
        /// The passage quoted: the best-ranked result that is prose.
        public var quoted: SearchResult?
        /// Everything cited: the quoted passage's document first, then the next best documents.
        public var cited: [SearchResult]
        /// Signals of the quoted passage (nil when nothing was found).
        public var signals: RAGConfidence.Signals?
        /// Why the answer must not resolve whatever its confidence (`not_quotable`,
        /// `contradicts_question`), with a note for the ledger.
        public var refusal: (outcome: String, note: String)?
    }

    /// Picks the passage to quote and checks it answers (``AnswerCheck``): a syntax diagram, a
    /// list of links or labels is skipped for the next result that is prose (it stays cited); a
    /// passage describing the opposite action refuses the answer, and so does a question naming
    /// something the knowledge base never mentions (`terms`, see ``KnownTerms``; their
    /// specificity also weighs the coverage signal).
    public static func select(question: String, results: [SearchResult], terms: KnownTerms.Statistics? = nil)
        -> Selection
    {
        guard !results.isEmpty else { return Selection(quoted: nil, cited: [], signals: nil, refusal: nil) }
        let twins = TwinDocuments(results)
        if let unknownTerms = terms?.unknown, !unknownTerms.isEmpty {
            let quoted = unknownTerms.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            return Selection(
                quoted: nil, cited: citedResults(results, twins: twins),
                signals: RAGConfidence.signals(results, twins: twins),
                refusal: (
                    "unknown_term",
                    "the question names \(quoted), which no document of this knowledge base mentions: no passage can be about it"
                ))
        }
        guard let quoted = results.first(where: { AnswerCheck.notQuotable($0.chunk.text) == nil }) else {
            let reason = AnswerCheck.notQuotable(results[0].chunk.text) ?? "not prose"
            return Selection(
                quoted: nil, cited: citedResults(results, twins: twins),
                signals: RAGConfidence.signals(results, twins: twins),
                refusal: ("not_quotable", "no passage found is prose to quote: the best is \(reason)"))
        }
        let coverage = AnswerCheck.coverage(
            question: question, passage: quoted.chunk.text, heading: quoted.chunk.heading, title: quoted.chunk.title,
            specificity: terms?.specificity ?? [:])
        let signals = RAGConfidence.signals(of: quoted, in: results, coverage: coverage, twins: twins)
        let cited = citedResults(
            [quoted] + results.filter { $0.chunk.chunkID != quoted.chunk.chunkID }, twins: twins)
        let trimmed = PassageTrimmer.trim(quoted.chunk.text, question: question)
        if let clash = AnswerCheck.contradiction(question: question, passage: trimmed, heading: quoted.chunk.heading) {
            return Selection(
                quoted: quoted, cited: cited, signals: signals,
                refusal: (
                    "contradicts_question",
                    "the question asks to \(clash.asked); the best passage is about the opposite (\(clash.found))"
                ))
        }
        return Selection(quoted: quoted, cited: cited, signals: signals, refusal: nil)
    }

    /// The cited documents whose retrieved chunks are all unquotable: a page retrieved for its
    /// "See also" list or its function signature, whose opening prose ("These functions return
    /// the number of rows modified…") is what the question asks. The answer may quote from their
    /// openings (``answer(question:selection:results:embedder:questionVector:openings:)``).
    public static func openingsWanted(selection: Selection, results: [SearchResult]) -> [(
        collection: String, docID: String
    )] {
        let quotable = Set(results.filter { AnswerCheck.notQuotable($0.chunk.text) == nil }.map(\.chunk.docID))
        return selection.cited.filter { !quotable.contains($0.chunk.docID) }.map {
            ($0.chunk.collection, $0.chunk.docID)
        }
    }

    /// The results an answer cites: the first chunk of each of the first few distinct pages. A
    /// document that is a twin of one already cited (the same page in another form, see
    /// ``TwinDocuments``; computed from `results` unless given) does not take a slot: the reader
    /// would open the same text twice instead of the next best page.
    public static func citedResults(_ results: [SearchResult], twins: TwinDocuments? = nil) -> [SearchResult] {
        let twins = twins ?? TwinDocuments(results)
        var seen = Set<String>()
        var cited: [SearchResult] = []
        for result in results where seen.insert(twins.group(of: result.chunk)).inserted {
            cited.append(result)
            if cited.count == maxCitedDocuments { break }
        }
        return cited
    }

    /// The documents whose code terms ``answer(question:selection:results:embedder:questionVector:openings:following:codeTerms:)``
    /// uses: the cited ones, whose passages it quotes.
    public static func codeTermsWanted(selection: Selection) -> [DocumentKey] {
        selection.cited.map { DocumentKey(collection: $0.chunk.collection, docID: $0.chunk.docID) }
    }

    /// The answer of a selection that resolves: the fragments ``AnswerQuote`` picks from the
    /// quotable passages of the cited documents, then the other cited pages; the citations,
    /// the quoted documents first; the tokens embedded to choose the fragments; and the best
    /// fragment's score (``AnswerQuote/Quote/score``, nil when no fragment could be chosen and the
    /// answer is the trimmed passage).
    /// - Parameter openings: opening chunks of the documents ``openingsWanted(selection:results:)``
    ///   names, candidates after the retrieved ones (others are ignored).
    /// - Parameter following: the chunk after each of those ``AnswerQuote/mayContinue(_:)`` names,
    ///   keyed by the chunk it follows: where a quoted introduction's example goes on.
    /// - Parameter codeTerms: what the cited documents mark as code (``codeTermsWanted(selection:)``).
    public static func answer(
        question: String, selection: Selection, results: [SearchResult], embedder: any Embedder,
        questionVector: QueryVector? = nil, openings: [StoredChunk] = [], following: [Int64: StoredChunk] = [:],
        codeTerms: [DocumentKey: CodeTermSet] = [:]
    ) async throws -> (text: String, cited: [SearchResult], tokensEmbedded: Int, quoteScore: Double?) {
        let citedDocuments = Set(selection.cited.map(\.chunk.docID))
        let retrieved = Set(results.map(\.chunk.chunkID))
        let wanted = Set(openingsWanted(selection: selection, results: results).map(\.docID))
        let extra = openings.filter { wanted.contains($0.docID) && !retrieved.contains($0.chunkID) }
            .enumerated().map { SearchResult(rank: results.count + $0.offset + 1, chunk: $0.element, score: 0) }
        let pool = (results + extra).filter {
            citedDocuments.contains($0.chunk.docID) && AnswerCheck.notQuotable($0.chunk.text) == nil
        }
        guard
            let quote = try await AnswerQuote.choose(
                question: question, results: pool, embedder: embedder, questionVector: questionVector,
                following: following, codeTerms: codeTerms)
        else {
            return (text(question: question, cited: selection.cited), selection.cited, 0, nil)
        }
        let quotedDocuments = quote.sources.map(\.chunk.docID)
        let cited = citedResults(quote.sources + selection.cited.filter { !quotedDocuments.contains($0.chunk.docID) })
        let others = cited.filter { !quotedDocuments.contains($0.chunk.docID) }
            .map { "\($0.chunk.title) (\($0.chunk.citation))" }
        let text = quote.text + (others.isEmpty ? "" : "\n\nSee also: " + others.joined(separator: "; "))
        return (text, cited, quote.tokensEmbedded, quote.score)
    }

    /// The answer text: the trimmed best passage, then the other cited pages.
    public static func text(question: String, cited: [SearchResult]) -> String {
        guard let top = cited.first else { return "" }
        var text = PassageTrimmer.trim(top.chunk.text, question: question)
        let others = cited.dropFirst().map { "\($0.chunk.title) (\($0.chunk.citation))" }
        if !others.isEmpty { text += "\n\nSee also: " + others.joined(separator: "; ") }
        return text
    }
}
