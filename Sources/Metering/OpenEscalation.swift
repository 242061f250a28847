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
        return openEscalations(in: entries).map { query in
            guard query.tier != "escalated", let verdict = verdicts[query.tenant + "\u{0}" + query.queryID] else {
                return OpenEscalation(query: query, reason: "escalated", why: query.note)
            }
            let comment = verdict.note.flatMap { $0.isEmpty ? nil : $0 }
            return OpenEscalation(
                query: query, reason: Verdict.notHelpful.outcome,
                why: "the customer said the answer did not help" + (comment.map { ": \($0)" } ?? ""),
                rejectedAnswer: query.answer, customerComment: comment)
        }
    }
}

extension LedgerStore {
    /// Open escalations of `tenant` (all tenants when nil), oldest first, each with why it is open.
    public func escalationQueue(tenant: String?) async throws -> [OpenEscalation] {
        Ledger.escalationQueue(in: try await entries(tenant: tenant, since: nil))
    }
}
