import Foundation
import KnowledgeBase
import Retrieval

/// Turns retrieval signals into a confidence in [0, 1] that the best passage answers the question.
///
/// Raw scores are impossible to threshold (a cosine of 0.55 is excellent for one query and
/// poor for another, and RRF scores barely vary), so confidence combines three signals through a
/// logistic function: how similar the best passage is to the question, how far it is ahead of
/// the best passage from another document, and whether the vector and keyword lists agree on it.
/// The weights are a starting point; `cascade calibrate` (evaluation issue) fits them on
/// labelled questions.
public struct RAGConfidence: Hashable, Sendable {
    public var bias: Double
    public var similarityWeight: Double
    public var marginWeight: Double
    public var agreementWeight: Double
    /// Weight of the share of the question's subject words the quoted passage covers (see
    /// ``AnswerCheck/coverage(question:passage:heading:title:)``). 0 unless fitted, so weights
    /// calibrated before it existed keep their meaning.
    public var coverageWeight: Double

    public init(
        bias: Double = -5.0, similarityWeight: Double = 9.0, marginWeight: Double = 6.0, agreementWeight: Double = 0.8,
        coverageWeight: Double = 0
    ) {
        self.bias = bias
        self.similarityWeight = similarityWeight
        self.marginWeight = marginWeight
        self.agreementWeight = agreementWeight
        self.coverageWeight = coverageWeight
    }

    /// The signals of a result list.
    public struct Signals: Hashable, Sendable {
        public var topSimilarity: Double
        public var margin: Double
        public var agreement: Bool
        /// Share of the question's subject words in the quoted passage (1 when not measured).
        public var coverage: Double

        public init(topSimilarity: Double, margin: Double, agreement: Bool, coverage: Double = 1) {
            self.topSimilarity = topSimilarity
            self.margin = margin
            self.agreement = agreement
            self.coverage = coverage
        }
    }

    public static func signals(_ results: [SearchResult], twins: TwinDocuments? = nil) -> Signals? {
        guard let top = results.first else { return nil }
        return signals(of: top, in: results, twins: twins)
    }

    /// The signals of `top` (the passage to be quoted) among `results`. The runner-up is the best
    /// passage of another page: a twin of `top`'s document (the same page in another form, see
    /// ``TwinDocuments``) is not a competitor.
    public static func signals(
        of top: SearchResult, in results: [SearchResult], coverage: Double = 1, twins: TwinDocuments? = nil
    ) -> Signals {
        let twins = twins ?? TwinDocuments(results)
        let similarity = top.vectorScore ?? 0
        let runnerUp = results.first { !twins.samePage($0.chunk, top.chunk) }?.vectorScore ?? 0
        let agreement = (top.vectorRank ?? 99) <= 3 && (top.keywordRank ?? 99) <= 3
        return Signals(
            topSimilarity: similarity, margin: max(0, similarity - runnerUp), agreement: agreement, coverage: coverage)
    }

    public func confidence(_ signals: Signals) -> Double {
        let z =
            bias + similarityWeight * signals.topSimilarity + marginWeight * signals.margin
            + (signals.agreement ? agreementWeight : 0) + coverageWeight * signals.coverage
        return 1 / (1 + exp(-z))
    }
}
