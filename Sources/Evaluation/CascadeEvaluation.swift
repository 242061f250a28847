import Cascade
import Foundation
import KnowledgeBase
import Metering

/// Runs answerable and unanswerable questions through a real ``Resolver`` (with a throw-away
/// ledger) and measures what a customer would be billed for.
///
/// A resolution is *wrong* when an answerable question is resolved citing none of its relevant
/// documents, or an unanswerable one is resolved at all: the customer paid and got nothing.
public struct CascadeEvaluation: Sendable {
    public struct Item: Sendable, Codable, Hashable {
        public var queryID: String
        public var answerable: Bool
        public var tier: String
        public var confidence: Double?
        public var citedDocIDs: [String]
        public var correct: Bool?
        public var costMicros: Int64

        enum CodingKeys: String, CodingKey {
            case queryID = "query_id"
            case answerable, tier, confidence
            case citedDocIDs = "cited_doc_ids"
            case correct
            case costMicros = "cost_micros"
        }
    }

    public struct Summary: Sendable, Codable, Hashable {
        public var questions = 0
        public var answerable = 0
        public var unanswerable = 0
        /// Share of all questions resolved by each tier (rule, rag, llm).
        public var resolvedShareByTier: [String: Double] = [:]
        public var escalationRate = 0.0
        public var rejectedRate = 0.0
        public var resolutions = 0
        public var wrongResolutions = 0
        /// Wrong resolutions ÷ all resolutions.
        public var falseResolutionRate = 0.0
        /// Answerable questions resolved citing a relevant document ÷ answerable questions.
        public var correctAutoResolutionRate = 0.0
        /// Mean model cost per question, in micro-dollars (exact integer total ÷ questions).
        public var costMicrosPerQuery = 0.0
        public var totalCostMicros: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case questions, answerable, unanswerable
            case resolvedShareByTier = "resolved_share_by_tier"
            case escalationRate = "escalation_rate"
            case rejectedRate = "rejected_rate"
            case resolutions
            case wrongResolutions = "wrong_resolutions"
            case falseResolutionRate = "false_resolution_rate"
            case correctAutoResolutionRate = "correct_auto_resolution_rate"
            case costMicrosPerQuery = "cost_micros_per_query"
            case totalCostMicros = "total_cost_micros"
        }

        public init(items: [Item]) {
            questions = items.count
            answerable = items.filter(\.answerable).count
            unanswerable = questions - answerable
            let resolved = items.filter { ["rule", "rag", "llm"].contains($0.tier) }
            resolutions = resolved.count
            wrongResolutions = resolved.filter { $0.correct == false }.count
            for tier in ["rule", "rag", "llm"] {
                resolvedShareByTier[tier] =
                    Double(resolved.filter { $0.tier == tier }.count) / Double(max(questions, 1))
            }
            escalationRate = Double(items.filter { $0.tier == "escalated" }.count) / Double(max(questions, 1))
            rejectedRate = Double(items.filter { $0.tier == "rejected" }.count) / Double(max(questions, 1))
            falseResolutionRate = resolutions == 0 ? 0 : Double(wrongResolutions) / Double(resolutions)
            correctAutoResolutionRate =
                Double(resolved.filter { $0.answerable && $0.correct == true }.count) / Double(max(answerable, 1))
            totalCostMicros = items.reduce(0) { $0 + $1.costMicros }
            costMicrosPerQuery = Double(totalCostMicros) / Double(max(questions, 1))
        }
    }

    public var resolver: Resolver

    /// - Parameter resolver: its ledger should be a throw-away one; evaluation questions are not billable.
    public init(resolver: Resolver) {
        self.resolver = resolver
    }

    public func run(
        _ dataset: BEIRDataset, unanswerable: [BEIRDataset.Query], tenant: String,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> [Item] {
        let questions = dataset.judgedQueries.map { ($0, true) } + unanswerable.map { ($0, false) }
        var items: [Item] = []
        let runID = UUID().uuidString.prefix(8)
        for (i, (query, answerable)) in questions.enumerated() {
            let resolution = try await resolver.resolve(
                Question(queryID: "eval-\(runID)-\(query.id)", tenant: tenant, text: query.text))
            let cited = resolution.citations.map(\.docID)
            let resolved = ["rule", "rag", "llm"].contains(resolution.tier)
            var correct: Bool?
            if resolved {
                let relevant = dataset.qrels[query.id] ?? [:]
                correct = answerable && cited.contains { (relevant[$0] ?? 0) > 0 }
            }
            items.append(
                Item(
                    queryID: query.id, answerable: answerable, tier: resolution.tier, confidence: resolution.confidence,
                    citedDocIDs: cited, correct: correct, costMicros: resolution.costMicros))
            progress?(i + 1, questions.count)
        }
        return items
    }
}
