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
        /// For a RAG resolution of a question with an answer key: whether the quoted passage
        /// (not the "see also" citations) contains the answer. Nil otherwise.
        public var answerQuoted: Bool? = nil
        /// The answer given (nil when escalated or rejected), so a reader can see *why* an
        /// answer missed without re-asking.
        public var answer: String? = nil
        /// Each tier tried and how it ended, in order (`rule:no_match`, `rag:resolved`,
        /// `verify:refuted`, `llm:cannot_answer`): which check stopped an answer.
        public var attempts: [String]? = nil

        enum CodingKeys: String, CodingKey {
            case queryID = "query_id"
            case answerable, tier, confidence
            case citedDocIDs = "cited_doc_ids"
            case correct
            case costMicros = "cost_micros"
            case answerQuoted = "answer_quoted"
            case answer, attempts
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(queryID, forKey: .queryID)
            try c.encode(answerable, forKey: .answerable)
            try c.encode(tier, forKey: .tier)
            try c.encode(confidence, forKey: .confidence)
            try c.encode(citedDocIDs, forKey: .citedDocIDs)
            try c.encode(correct, forKey: .correct)
            try c.encode(costMicros, forKey: .costMicros)
            try c.encode(answerQuoted, forKey: .answerQuoted)
            try c.encode(answer, forKey: .answer)
            try c.encode(attempts, forKey: .attempts)
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
        /// Of the RAG resolutions of questions with an answer key, the share whose quoted passage
        /// contains the answer (nil without answer keys).
        public var answerPrecision: Double?
        /// How many RAG resolutions answer precision counts.
        public var answerPrecisionQuestions = 0

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
            case answerPrecision = "answer_precision"
            case answerPrecisionQuestions = "answer_precision_questions"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(questions, forKey: .questions)
            try c.encode(answerable, forKey: .answerable)
            try c.encode(unanswerable, forKey: .unanswerable)
            try c.encode(resolvedShareByTier, forKey: .resolvedShareByTier)
            try c.encode(escalationRate, forKey: .escalationRate)
            try c.encode(rejectedRate, forKey: .rejectedRate)
            try c.encode(resolutions, forKey: .resolutions)
            try c.encode(wrongResolutions, forKey: .wrongResolutions)
            try c.encode(falseResolutionRate, forKey: .falseResolutionRate)
            try c.encode(correctAutoResolutionRate, forKey: .correctAutoResolutionRate)
            try c.encode(costMicrosPerQuery, forKey: .costMicrosPerQuery)
            try c.encode(totalCostMicros, forKey: .totalCostMicros)
            try c.encode(answerPrecision, forKey: .answerPrecision)
            try c.encode(answerPrecisionQuestions, forKey: .answerPrecisionQuestions)
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
            let keyed = items.compactMap(\.answerQuoted)
            answerPrecisionQuestions = keyed.count
            answerPrecision = keyed.isEmpty ? nil : Double(keyed.filter { $0 }.count) / Double(keyed.count)
        }
    }

    public var resolver: Resolver

    /// Whether the quoted part of a RAG answer (before its "See also" citations) contains one of
    /// `keys`, compared case-insensitively with runs of whitespace as one space.
    public static func quotes(_ answer: String, anyOf keys: [String]) -> Bool {
        let quoted = answer.components(separatedBy: "\n\nSee also:").first ?? answer
        func normal(_ s: String) -> String {
            s.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        }
        let text = normal(quoted)
        return keys.contains { text.contains(normal($0)) }
    }

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
            var item = Item(
                queryID: query.id, answerable: answerable, tier: resolution.tier, confidence: resolution.confidence,
                citedDocIDs: cited, correct: correct, costMicros: resolution.costMicros)
            if resolved { item.answer = resolution.answer }
            item.attempts = resolution.attempts.map { "\($0.tier):\($0.outcome)" }
            if resolution.tier == "rag", answerable, let keys = dataset.answerKeys[query.id] {
                item.answerQuoted = Self.quotes(resolution.answer, anyOf: keys)
            }
            items.append(item)
            progress?(i + 1, questions.count)
        }
        return items
    }
}
