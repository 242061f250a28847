import Foundation

/// A question waiting for a person, with what the person needs to pick it up: why it is there,
/// and, when the customer rejected an answer, that answer and the customer's words.
///
/// Two ways into the queue: the cascade escalated the question (no tier could answer it), or it
/// was resolved and the customer said the answer did not help (`rejected_by_customer`). The
/// query row's own note says why each tier passed, which for a rejected resolution is only the
/// tiers before the one that answered ("rule: no rule matched"); an agent reading that would not
/// know an answer was given and refused.
public struct OpenEscalation: Sendable {
    /// The query row (escalated, or the resolution the customer rejected).
    public var query: LedgerEntry
    /// `escalated` or `rejected_by_customer`.
    public var reason: String
    /// Why it is in the queue: the tiers' notes, or the customer's verdict and comment.
    public var why: String?
    /// The answer the customer rejected (nil for an escalation).
    public var rejectedAnswer: String?
    /// What the customer wrote with the verdict, if anything.
    public var customerComment: String?

    /// Questions an agent already answered that are this one in other words (the question
    /// signature's near-duplicate test, the same embedding model), closest first, at most three:
    /// the colleague's answer, to reuse or adapt rather than write again.
    public var answeredBefore: [AnsweredBefore] = []

    /// An earlier escalation of the tenant an agent answered.
    public struct AnsweredBefore: Sendable, Hashable {
        public var queryID: String
        public var question: String?
        /// The agent's answer.
        public var answer: String
        /// Bits between the two questions' signatures (0: the same question).
        public var distance: Int

        public init(queryID: String, question: String?, answer: String, distance: Int) {
            self.queryID = queryID
            self.question = question
            self.answer = answer
            self.distance = distance
        }
    }

    /// The passages the RAG tier found for the question, best first (the query row's evidence;
    /// empty when the tier did not run): where the agent can start reading.
    public var sources: [Evidence.Passage] { query.evidence.flatMap(Evidence.init(json:))?.passages ?? [] }

    public init(
        query: LedgerEntry, reason: String, why: String?, rejectedAnswer: String? = nil, customerComment: String? = nil
    ) {
        self.query = query
        self.reason = reason
        self.why = why
        self.rejectedAnswer = rejectedAnswer
        self.customerComment = customerComment
    }
}

extension Ledger {
    /// The open escalations among `entries` (``openEscalations(in:)``), each with why it is open.
    public static func escalationQueue(in entries: [LedgerEntry]) -> [OpenEscalation] {
        var verdicts: [String: LedgerEntry] = [:]
        for entry in entries where entry.kind == .correction && entry.outcome == Verdict.notHelpful.outcome {
            verdicts[entry.tenant + "\u{0}" + entry.queryID] = entry
        }
        let answered = answeredQuestions(in: entries)
        return openEscalations(in: entries).map { query in
            var item: OpenEscalation
            if query.tier != "escalated", let verdict = verdicts[query.tenant + "\u{0}" + query.queryID] {
                let comment = verdict.note.flatMap { $0.isEmpty ? nil : $0 }
                item = OpenEscalation(
                    query: query, reason: Verdict.notHelpful.outcome,
                    why: "the customer said the answer did not help" + (comment.map { ": \($0)" } ?? ""),
                    rejectedAnswer: query.answer, customerComment: comment)
            } else {
                item = OpenEscalation(query: query, reason: "escalated", why: query.note)
            }
            item.answeredBefore = Self.answeredBefore(query, among: answered)
            return item
        }
    }

    /// An agent's answer with its question's signature.
    struct AnsweredQuestion {
        var query: LedgerEntry
        var answer: String
        var model: String
        var signature: QuestionSignature
    }

    /// The questions among `entries` an agent answered (`agent_answer`), with a signature.
    static func answeredQuestions(in entries: [LedgerEntry]) -> [AnsweredQuestion] {
        var queries: [String: LedgerEntry] = [:]
        for entry in entries where entry.kind == .query { queries[entry.tenant + "\u{0}" + entry.queryID] = entry }
        return entries.compactMap { entry in
            guard entry.kind == .correction, entry.outcome == "agent_answer", let answer = entry.answer,
                let query = queries[entry.tenant + "\u{0}" + entry.queryID],
                let evidence = query.evidence.flatMap(Evidence.init(json:)), let model = evidence.signatureModel,
                let signature = evidence.questionSignature.flatMap(QuestionSignature.init(hex:))
            else { return nil }
            return AnsweredQuestion(query: query, answer: answer, model: model, signature: signature)
        }
    }

    /// The answered questions that are `query` in other words, closest first, at most three.
    static func answeredBefore(_ query: LedgerEntry, among answered: [AnsweredQuestion]) -> [OpenEscalation
        .AnsweredBefore]
    {
        guard let evidence = query.evidence.flatMap(Evidence.init(json:)), let model = evidence.signatureModel,
            let signature = evidence.questionSignature.flatMap(QuestionSignature.init(hex:))
        else { return [] }
        return answered.compactMap { earlier -> OpenEscalation.AnsweredBefore? in
            guard earlier.query.tenant == query.tenant, earlier.query.queryID != query.queryID,
                earlier.model == model
            else { return nil }
            let distance = signature.distance(to: earlier.signature)
            guard distance <= QuestionSignature.nearDuplicateBits else { return nil }
            return OpenEscalation.AnsweredBefore(
                queryID: earlier.query.queryID, question: earlier.query.question, answer: earlier.answer,
                distance: distance)
        }.sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.queryID < $1.queryID }
            .prefix(3).map { $0 }
    }
}

extension LedgerStore {
    /// Open escalations of `tenant` (all tenants when nil), oldest first, each with why it is open.
    public func escalationQueue(tenant: String?) async throws -> [OpenEscalation] {
        Ledger.escalationQueue(in: try await entries(tenant: tenant, since: nil))
    }
}
