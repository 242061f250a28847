import Cascade
import Embeddings
import Foundation
import KnowledgeBase
import Retrieval

/// Label-free calibration: fits the RAG confidence and picks the threshold on a knowledge base's
/// own ``PseudoQuestions``, so a tenant that has no labelled questions gets a threshold fitted to
/// its documents instead of one fitted to someone else's.
///
/// The fit is the one `cascade calibrate` does on labelled questions (``Calibration``): an
/// answerable pseudo-question is *right* when the answer would cite the document it came from,
/// or a document that holds the same passage anywhere (``PseudoQuestions/holds(_:passage:)``);
/// every unanswerable one is wrong if resolved. The result is stored in the knowledge base
/// (`kb_meta`, key ``metaKey``) with the content version it was fitted on, at ingest; a store
/// whose content changed is recalibrated at its next ingest, or in memory by a reader.
public enum SelfCalibration {
    public static let metaKey = "self_calibration"

    /// The false-resolution rate the threshold is chosen for on the pseudo-questions: 15%, three
    /// times the product's goal of 5%. Pseudo-labels are noisy in one direction: a near miss
    /// whose swapped word left its subject intact is still answered by the passage it retrieves,
    /// and a generic heading ("Performance Considerations") is answered by another page than
    /// its own; both count as wrong resolutions. On the shipped SQLite set (where this was
    /// chosen) the pseudo rate ran at three to five times the real one under every setting tried.
    public static let defaultTarget = 0.15

    /// Pull of the fit toward the hand-set weights (``RAGConfidence/init()``): 10 moves them a
    /// little toward what the pseudo-questions show; 1 let noisy labels move them far (more
    /// wrong resolutions on real questions), 100 hardly at all.
    static let ridge = 10.0

    /// The stored calibration when it was fitted on the store's current content by the current
    /// version of the fit; nil otherwise (or when none is stored).
    public static func cached(in store: KnowledgeBaseStore) throws -> KnowledgeBaseCalibration? {
        guard let text = try store.metaValue(metaKey),
            let stored = try? JSONDecoder().decode(KnowledgeBaseCalibration.self, from: Data(text.utf8)),
            stored.version == KnowledgeBaseCalibration.currentVersion,
            stored.contentVersion == (try store.contentVersion())
        else { return nil }
        return stored
    }

    /// Fewer answerable pseudo-questions than this say too little to fit anything: the
    /// defaults apply (a knowledge base of a few pages).
    public static let minimumQuestions = 30

    /// The stored calibration if current, else a new one; stored when `write` (ingest does; a
    /// reader such as `ask` or `eval` computes in memory and writes nothing). Nil when the
    /// knowledge base is too small to calibrate (``minimumQuestions``).
    public static func current(
        retriever: Retriever, write: Bool, target: Double = defaultTarget
    ) async throws -> KnowledgeBaseCalibration? {
        if let cached = try cached(in: retriever.store) { return cached }
        guard let fitted = try await compute(retriever: retriever, target: target)?.calibration else { return nil }
        if write { try store(fitted, in: retriever.store) }
        return fitted
    }

    public static func store(_ calibration: KnowledgeBaseCalibration, in store: KnowledgeBaseStore) throws {
        let data = try JSONEncoder().encode(calibration)
        try store.setMetaValue(metaKey, String(decoding: data, as: UTF8.self))
    }

    /// One pseudo-question's outcome, for reports.
    public struct Detail: Sendable, Encodable {
        public var question: String
        public var kind: String
        public var answerable: Bool
        public var confidence: Double
        public var correct: Bool
        public var refused: Bool
        public var topSimilarity: Double
        public var margin: Double
        public var agreement: Bool
        public var coverage: Double
        /// `collection<TAB>doc_id` of the document that answers it (nil: unanswerable).
        public var expectedDocument: String?
        /// The documents the answer would cite, same form.
        public var citedDocuments: [String]

        enum CodingKeys: String, CodingKey {
            case question, kind, answerable, confidence, correct, refused
            case topSimilarity = "top_similarity"
            case margin, agreement, coverage
            case expectedDocument = "expected_document"
            case citedDocuments = "cited_documents"
        }
    }

    /// Whether the resolver's quote check (``AnswerQuote/defaultQuoteThreshold(modelID:)``, the
    /// embedding model's default) would refuse the answer: the threshold is fitted on the
    /// questions that could resolve, as the tier decides them, so a question the quote check
    /// escalates is no false resolution whatever its confidence.
    static func quoteIsWeak(
        question: String, selection: RAGAnswer.Selection, results: [SearchResult], retriever: Retriever,
        questionVector: QueryVector?
    ) async throws -> Bool {
        guard !results.isEmpty, let minimum = AnswerQuote.defaultQuoteThreshold(modelID: retriever.embedder.modelID)
        else { return false }
        let openings = try retriever.openingChunks(
            of: RAGAnswer.openingsWanted(selection: selection, results: results),
            count: RAGAnswer.openingChunksPerDocument)
        let answer = try await RAGAnswer.answer(
            question: question, selection: selection, results: results, embedder: retriever.embedder,
            questionVector: questionVector, openings: openings,
            codeTerms: try retriever.codeTerms(of: RAGAnswer.codeTermsWanted(selection: selection)))
        return answer.quoteScore.map { $0 < minimum } ?? false
    }

    /// Generates the pseudo-questions, runs each through retrieval and the RAG tier's answer
    /// selection and quote check, fits the weights and picks the threshold. Nil when the knowledge base gives
    /// fewer than ``minimumQuestions`` answerable questions.
    public static func compute(
        retriever: Retriever, target: Double = defaultTarget
    ) async throws -> (calibration: KnowledgeBaseCalibration, details: [Detail])? {
        let questions = try PseudoQuestions.make(from: retriever.store)
        guard questions.answerable.count >= minimumQuestions else { return nil }
        var samples: [Calibration.Sample] = []
        var answerableIDs = Set<String>()
        var meta: [String: PseudoQuestions.Question] = [:]
        var citedByID: [String: [String]] = [:]
        // Text of the cited documents, read once each.
        var documentText: [String: String] = [:]
        for (i, question) in (questions.answerable + questions.unanswerable).enumerated() {
            let id = "\(i)"
            meta[id] = question
            if question.answerable { answerableIDs.insert(id) }
            let (results, queryVector) = try await retriever.searchKeepingQueryVector(
                question.text, k: 5, mode: .hybrid, filter: nil)
            let selection = RAGAnswer.select(
                question: question.text, results: results,
                terms: results.isEmpty
                    ? nil
                    : try KnownTerms.statistics(
                        question.text, chunks: retriever.indexedChunks, frequency: retriever.chunksMentioning))
            let signals = selection.signals ?? .init(topSimilarity: 0, margin: 0, agreement: false)
            let citedList = selection.cited.map { "\($0.chunk.collection)\t\($0.chunk.docID)" }
            citedByID[id] = citedList
            let cited = Set(citedList)
            // Right when it cites the answering document, or another that holds the same passage
            // (a page in two forms, a section included in several pages): a reader of it finds
            // the same text.
            var correct = false
            if let expected = question.answeredBy {
                correct = cited.contains(expected)
                if !correct, PseudoQuestions.trigrams(question.passage).count >= PseudoQuestions.minimumPassageTrigrams
                {
                    for result in selection.cited where !correct {
                        if documentText[result.chunk.source] == nil {
                            documentText[result.chunk.source] = try retriever.store.chunks(source: result.chunk.source)
                                .map(\.text).joined(separator: "\n")
                        }
                        correct = PseudoQuestions.holds(
                            documentText[result.chunk.source] ?? "", passage: question.passage)
                    }
                }
            }
            let weakQuote =
                selection.refusal == nil
                ? try await quoteIsWeak(
                    question: question.text, selection: selection, results: results,
                    retriever: retriever, questionVector: queryVector)
                : false
            samples.append(
                Calibration.Sample(
                    queryID: id, signals: signals, correct: correct, refused: selection.refusal != nil || weakQuote))
        }
        // Refused questions are never resolved whatever their confidence: they say nothing
        // about the weights.
        let model = Calibration.fit(samples.filter { !$0.refused }, ridge: ridge, prior: RAGConfidence())
        let threshold = Calibration.threshold(samples, model: model, target: target, answerable: answerableIDs)
        let point = Calibration.operating(samples, model: model, threshold: threshold, answerable: answerableIDs)
        let calibration = KnowledgeBaseCalibration(
            contentVersion: try retriever.store.contentVersion(), threshold: threshold,
            confidence: TenantConfiguration.Confidence(model), target: target,
            answerableQuestions: questions.answerable.count, unanswerableQuestions: questions.unanswerable.count,
            falseResolutionRate: point.falseResolutionRate, correctAutoResolutionRate: point.correctAutoResolutionRate)
        let details = samples.map { sample in
            let question = meta[sample.queryID]!
            return Detail(
                question: question.text, kind: question.kind, answerable: question.answerable,
                confidence: model.confidence(sample.signals), correct: sample.correct, refused: sample.refused,
                topSimilarity: sample.signals.topSimilarity, margin: sample.signals.margin,
                agreement: sample.signals.agreement, coverage: sample.signals.coverage,
                expectedDocument: question.answeredBy, citedDocuments: citedByID[sample.queryID] ?? [])
        }
        return (calibration, details)
    }
}
