import Foundation

/// A question put to the cascade.
public struct Question: Hashable, Sendable {
    public var queryID: String
    public var tenant: String
    public var conversationID: String?
    public var userID: String?
    public var text: String
    public var occurredAt: Date

    public init(
        queryID: String = UUID().uuidString.lowercased(), tenant: String, conversationID: String? = nil,
        userID: String? = nil, text: String, occurredAt: Date = Date()
    ) {
        self.queryID = queryID
        self.tenant = tenant
        self.conversationID = conversationID
        self.userID = userID
        self.text = text
        self.occurredAt = occurredAt
    }
}

/// Where an answer came from, for the customer to check.
public struct Citation: Hashable, Sendable, Codable {
    public var docID: String
    public var source: String
    public var heading: String
    public var chunkID: Int64

    enum CodingKeys: String, CodingKey {
        case docID = "doc_id"
        case source, heading
        case chunkID = "chunk_id"
    }
}

/// One tier's try at a question.
public struct Attempt: Hashable, Sendable, Codable {
    public var tier: String
    public var confidence: Double?
    public var costMicros: Int64
    public var tokensIn: Int
    public var tokensOut: Int
    public var latencyMs: Int
    /// `resolved`, `no_match`, `below_threshold`, `not_quotable`, `contradicts_question`, `unknown_term`, `weak_quote`, `skipped`,
    /// `failed` or `escalate` (the LLM tier adds its own: `cannot_answer`, `unsupported`…). With the
    /// LLM verifier (tier `verify`: `verified`, `refuted`, `failed`), a RAG answer it did not pass
    /// is `refuted` or `unverified`. A RAG answer quoting the passage a customer rejected for the
    /// same question is `rejected_before` (``VerdictMemory``).
    public var outcome: String
    /// Why the tier was not enough (or what it did), in words.
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case tier, confidence, outcome, note
        case costMicros = "cost_micros"
        case tokensIn = "tokens_in"
        case tokensOut = "tokens_out"
        case latencyMs = "latency_ms"
    }

    /// Every documented field is present; a missing confidence or note is `null`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tier, forKey: .tier)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(costMicros, forKey: .costMicros)
        try c.encode(tokensIn, forKey: .tokensIn)
        try c.encode(tokensOut, forKey: .tokensOut)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(note, forKey: .note)
    }
}

/// The outcome of a question: `ask --json` prints it as is.
public struct Resolution: Hashable, Sendable, Codable {
    public var queryID: String
    public var tenant: String
    public var conversationID: String?
    /// `rule`, `rag`, `llm`, `escalated` or `rejected`.
    public var tier: String
    public var answer: String
    public var citations: [Citation]
    public var confidence: Double?
    /// Total model cost of the query, failed attempts included, in micro-dollars.
    public var costMicros: Int64
    public var attempts: [Attempt]
    /// True when the query id was already in the ledger and this is the recorded outcome.
    public var replayed: Bool

    enum CodingKeys: String, CodingKey {
        case queryID = "query_id"
        case tenant
        case conversationID = "conversation_id"
        case tier, answer, citations, confidence
        case costMicros = "cost_micros"
        case attempts, replayed
    }

    /// Derived from the attempts, written for clients (not read back).
    enum DerivedKeys: String, CodingKey {
        case limitedBySpendCap = "limited_by_spend_cap"
    }

    /// True when the tenant's hard spend cap stopped a tier (the attempts say which, and why).
    public var limitedBySpendCap: Bool { attempts.contains { $0.outcome == Attempt.spendCapOutcome } }

    /// Written beside `cost_micros`: the same amount as an exact decimal string, and its currency.
    enum MoneyKeys: String, CodingKey {
        case cost, currency
    }

    /// Every documented field is present; a missing conversation or confidence is `null`.
    public func encode(to encoder: any Encoder) throws {
        var money = encoder.container(keyedBy: MoneyKeys.self)
        try money.encode(NSDecimalNumber(decimal: Decimal(costMicros) / 1_000_000).stringValue, forKey: .cost)
        try money.encode("USD", forKey: .currency)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(queryID, forKey: .queryID)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(conversationID, forKey: .conversationID)
        try c.encode(tier, forKey: .tier)
        try c.encode(answer, forKey: .answer)
        try c.encode(citations, forKey: .citations)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(costMicros, forKey: .costMicros)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(replayed, forKey: .replayed)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(limitedBySpendCap, forKey: .limitedBySpendCap)
    }
}
