import Foundation
import KnowledgeBase

/// One row of the metering ledger. Rows are never changed: a correction (reopened conversation,
/// voided resolution, an agent's answer) is a new row that references the original query.
public struct LedgerEntry: Hashable, Sendable, Codable {
    /// What a row records.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// The outcome of one query: which tier answered (or that it was escalated or rejected).
        case query
        /// One tier's try at a query, with its cost (charged to the query even when it failed).
        case attempt
        /// A later change to a query's outcome, referencing it.
        case correction
    }

    /// Position in the ledger (1, 2, 3…, never reused: a gap means a row was removed).
    public var sequence: Int64
    public var kind: Kind
    public var queryID: String
    public var tenant: String
    public var conversationID: String?
    public var userID: String?
    /// For queries: `rule`, `rag`, `llm`, `escalated` or `rejected`; for attempts: the tier tried.
    public var tier: String
    /// For attempts: `resolved`, `below_threshold`, `skipped`, `failed`, `escalate`, and the tiers'
    /// own refusals (`not_quotable`, `contradicts_question`, `weak_quote`, `cannot_answer`, `unsupported`); for
    /// queries: `resolved`, `escalated`, `rejected`; for corrections: `reopened`, `voided`,
    /// `agent_answer`.
    public var outcome: String
    public var question: String?
    public var answer: String?
    /// JSON list of citations (`[{"doc_id","source","heading","chunk_id"}]`), for query rows.
    public var citations: String?
    public var confidence: Double?
    /// Model cost in integer micro-dollars (1 USD = 1,000,000).
    public var costMicros: Int64
    public var tokensIn: Int
    public var tokensOut: Int
    public var latencyMs: Int
    /// When the event happened (UTC); may be up to 34 days before `recordedAt` for backfills.
    public var occurredAt: Date
    /// When the row was written (UTC).
    public var recordedAt: Date
    /// Free text: why a tier was not enough, a void reason…
    public var note: String?
    /// For query rows: what the outcome was decided on, as a JSON object (see ``Evidence``),
    /// e.g. the question's meaning signature that near-duplicate detection compares. Nil on rows
    /// written before ledger schema v5 and on rows with nothing to show.
    public var evidence: String?
    /// SHA-256 of the previous row (empty for the first row) and of this row's content.
    public var previousHash: String
    public var hash: String
    /// How `hash` was computed (rows written before hash scheme 2 keep scheme 1).
    public var hashScheme: HashScheme = .current

    public init(
        sequence: Int64 = 0, kind: Kind, queryID: String, tenant: String, conversationID: String? = nil,
        userID: String? = nil, tier: String, outcome: String, question: String? = nil, answer: String? = nil,
        citations: String? = nil, confidence: Double? = nil, costMicros: Int64 = 0, tokensIn: Int = 0,
        tokensOut: Int = 0,
        latencyMs: Int = 0, occurredAt: Date, recordedAt: Date = Date(), note: String? = nil, previousHash: String = "",
        hash: String = "", evidence: String? = nil
    ) {
        self.evidence = evidence
        self.sequence = sequence
        self.kind = kind
        self.queryID = queryID
        self.tenant = tenant
        self.conversationID = conversationID
        self.userID = userID
        self.tier = tier
        self.outcome = outcome
        self.question = question
        self.answer = answer
        self.citations = citations
        self.confidence = confidence
        self.costMicros = costMicros
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.latencyMs = latencyMs
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.note = note
        self.previousHash = previousHash
        self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case sequence, kind
        case queryID = "query_id"
        case tenant
        case conversationID = "conversation_id"
        case userID = "user_id"
        case tier, outcome, question, answer, citations, confidence
        case costMicros = "cost_micros"
        case tokensIn = "tokens_in"
        case tokensOut = "tokens_out"
        case latencyMs = "latency_ms"
        case occurredAt = "occurred_at"
        case recordedAt = "recorded_at"
        case note, evidence
        case previousHash = "previous_hash"
        case hash
        case hashScheme = "hash_scheme"
    }

    /// A citation as stored in a query row.
    struct StoredCitation: Codable {
        var doc_id: String?
        var source: String?
        var heading: String?
        var chunk_id: Int64?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(doc_id, forKey: .doc_id)
            try c.encode(source, forKey: .source)
            try c.encode(heading, forKey: .heading)
            try c.encode(chunk_id, forKey: .chunk_id)
        }
    }

    /// Every field written (absent values as null); citations as a nested list, not a string.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(kind, forKey: .kind)
        try c.encode(queryID, forKey: .queryID)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(conversationID, forKey: .conversationID)
        try c.encode(userID, forKey: .userID)
        try c.encode(tier, forKey: .tier)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(question, forKey: .question)
        try c.encode(answer, forKey: .answer)
        let nested = citations.flatMap { try? JSONDecoder().decode([StoredCitation].self, from: Data($0.utf8)) }
        try c.encode(nested, forKey: .citations)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(costMicros, forKey: .costMicros)
        try c.encode(tokensIn, forKey: .tokensIn)
        try c.encode(tokensOut, forKey: .tokensOut)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(occurredAt, forKey: .occurredAt)
        try c.encode(recordedAt, forKey: .recordedAt)
        try c.encode(note, forKey: .note)
        // A nested object, not a string (like citations).
        try c.encode(evidence.flatMap(Evidence.init(json:)), forKey: .evidence)
        try c.encode(previousHash, forKey: .previousHash)
        try c.encode(hash, forKey: .hash)
        try c.encode(hashScheme, forKey: .hashScheme)
    }

    /// The row's hash under its scheme.
    public var contentHash: String {
        switch hashScheme {
        case .legacy: SHA256.hex(canonicalContent)
        case .canonical: canonicalEncoding.sha256Hex
        case .evidence:
            {
                var e = canonicalEncoding(domain: "cascade/ledger_entry/3")
                e.append(evidence)
                return e.sha256Hex
            }()
        }
    }

    /// Hash scheme 2: every field but the hash, tagged and length-prefixed, times as whole
    /// milliseconds since 1970 and the confidence as whole millionths (what the database stores).
    var canonicalEncoding: CanonicalEncoding { canonicalEncoding(domain: "cascade/ledger_entry/2") }

    /// Scheme 3 is this under its own domain, followed by `evidence`.
    func canonicalEncoding(domain: String) -> CanonicalEncoding {
        var e = CanonicalEncoding(domain: domain)
        e.append(sequence)
        e.append(kind.rawValue)
        e.append(queryID)
        e.append(tenant)
        e.append(conversationID)
        e.append(userID)
        e.append(tier)
        e.append(outcome)
        e.append(question)
        e.append(answer)
        e.append(citations)
        e.append(confidence.map { Int64(($0 * 1_000_000).rounded()) })
        e.append(costMicros)
        e.append(tokensIn)
        e.append(tokensOut)
        e.append(latencyMs)
        e.append(Self.milliseconds(occurredAt))
        e.append(Self.milliseconds(recordedAt))
        e.append(note)
        e.append(previousHash)
        return e
    }

    /// Hash scheme 1 (legacy rows): every field but the hash itself, `|`-joined in a fixed
    /// order, with times as whole milliseconds since 1970 (what the database stores).
    var canonicalContent: String {
        func field(_ value: String?) -> String {
            guard let value else { return "∅" }
            return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\p")
        }
        let confidenceText = confidence.map { String(format: "%.6f", $0) }
        return [
            String(sequence), kind.rawValue, field(queryID), field(tenant), field(conversationID), field(userID),
            field(tier), field(outcome), field(question), field(answer), field(citations), field(confidenceText),
            String(costMicros), String(tokensIn), String(tokensOut), String(latencyMs),
            String(Self.milliseconds(occurredAt)), String(Self.milliseconds(recordedAt)), field(note), previousHash,
        ].joined(separator: "|")
    }

    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
