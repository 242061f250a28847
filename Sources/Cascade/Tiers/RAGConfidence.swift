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

    public init(
        bias: Double = -5.0, similarityWeight: Double = 9.0, marginWeight: Double = 6.0, agreementWeight: Double = 0.8
    ) {
        self.bias = bias
        self.similarityWeight = similarityWeight
        self.marginWeight = marginWeight
        self.agreementWeight = agreementWeight
    }

    /// The signals of a result list.
    public struct Signals: Hashable, Sendable {
        public var topSimilarity: Double
        public var margin: Double
        public var agreement: Bool

        public init(topSimilarity: Double, margin: Double, agreement: Bool) {
            self.topSimilarity = topSimilarity
            self.margin = margin
            self.agreement = agreement
        }
    }

    public static func signals(_ results: [SearchResult]) -> Signals? {
        guard let top = results.first else { return nil }
        let similarity = top.vectorScore ?? 0
        let runnerUp = results.dropFirst().first { $0.chunk.docID != top.chunk.docID }?.vectorScore ?? 0
        let agreement = (top.vectorRank ?? 99) <= 3 && (top.keywordRank ?? 99) <= 3
        return Signals(topSimilarity: similarity, margin: max(0, similarity - runnerUp), agreement: agreement)
    }

    public func confidence(_ signals: Signals) -> Double {
        let z =
            bias + similarityWeight * signals.topSimilarity + marginWeight * signals.margin
            + (signals.agreement ? agreementWeight : 0)
        return 1 / (1 + exp(-z))
    }
}
