import Foundation

/// What a query row's outcome was decided on, stored with the row (``LedgerEntry/evidence``) and
/// covered by its hash, so a disputed invoice line can be explained row by row.
///
/// Fields are added as the engine records more; rows keep what was known when they were written.
/// Absent values are written as `null`.
public struct Evidence: Codable, Hashable, Sendable {
    /// The question's meaning signature (see ``QuestionSignature``), 64 hex digits: near-duplicate
    /// questions (the same question with a few words changed) have close signatures.
    public var questionSignature: String?
    /// The embedding model the signature was taken from (signatures of different models are not
    /// compared).
    public var signatureModel: String?

    /// Which tier decided and how sure it was: the tier (`rule`, `rag`, `llm`), its confidence and
    /// the threshold it had to reach (null where the tier has none).
    public var tier: String?
    public var confidence: Double?
    public var threshold: Double?
    /// Where the threshold and the confidence weights came from: `tenant_settings` (labelled
    /// calibration or a threshold set by hand), `knowledge_base` (label-free calibration on the
    /// knowledge base's own questions) or `defaults`.
    public var calibration: String?
    /// The retrieval signals the RAG confidence was computed from.
    public var retrieval: RetrievalSignals?
    /// The passages the answer quotes or was given, best first.
    public var passages: [Passage]
    /// Each check the answer went through and whether it passed (`answer_check`,
    /// `prompt_injection_screen`, `confidence_threshold`, `llm_reply_valid`, …).
    public var checks: [Check]
    /// The version of the decision rules that produced this row, so a dispute is judged by the
    /// rules of its day.
    public var verifierVersion: String?

    /// The decision rules' version written into new rows. 2: a RAG answer must also pass the quote
    /// check (`quote_match`, `weak_quote` outcome). 3: with an LLM configured, a RAG answer is also
    /// read by it before it resolves (`llm_verifier`, the `verify` attempt). 4: a RAG answer that
    /// quotes the passage a customer rejected for the same question is not given
    /// (`customer_verdicts`, the `rejected_before` outcome; a confirmed one is named there).
    public static let currentVerifierVersion = "cascade-verifier/4"

    public struct RetrievalSignals: Codable, Hashable, Sendable {
        public var topSimilarity: Double
        public var margin: Double
        public var agreement: Bool
        public var coverage: Double

        public init(topSimilarity: Double, margin: Double, agreement: Bool, coverage: Double) {
            self.topSimilarity = topSimilarity
            self.margin = margin
            self.agreement = agreement
            self.coverage = coverage
        }

        enum CodingKeys: String, CodingKey {
            case topSimilarity = "top_similarity"
            case margin, agreement, coverage
        }
    }

    public struct Passage: Codable, Hashable, Sendable {
        public var chunkID: Int64
        public var source: String
        public var rank: Int
        public var score: Double
        public var vectorScore: Double?
        public var keywordScore: Double?

        public init(
            chunkID: Int64, source: String, rank: Int, score: Double, vectorScore: Double?, keywordScore: Double?
        ) {
            self.chunkID = chunkID
            self.source = source
            self.rank = rank
            self.score = score
            self.vectorScore = vectorScore
            self.keywordScore = keywordScore
        }

        enum CodingKeys: String, CodingKey {
            case chunkID = "chunk_id"
            case source, rank, score
            case vectorScore = "vector_score"
            case keywordScore = "keyword_score"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(chunkID, forKey: .chunkID)
            try c.encode(source, forKey: .source)
            try c.encode(rank, forKey: .rank)
            try c.encode(score, forKey: .score)
            try c.encode(vectorScore, forKey: .vectorScore)
            try c.encode(keywordScore, forKey: .keywordScore)
        }
    }

    public struct Check: Codable, Hashable, Sendable {
        public var name: String
        public var passed: Bool
        public var detail: String?

        public init(name: String, passed: Bool, detail: String? = nil) {
            self.name = name
            self.passed = passed
            self.detail = detail
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(passed, forKey: .passed)
            try c.encode(detail, forKey: .detail)
        }
    }

    /// Evidence rows are short; this bounds what one row can add to the append-only ledger.
    public static let maxBytes = 16 << 10

    public init(questionSignature: String? = nil, signatureModel: String? = nil) {
        self.questionSignature = questionSignature
        self.signatureModel = signatureModel
        passages = []
        checks = []
    }

    enum CodingKeys: String, CodingKey {
        case questionSignature = "question_signature"
        case signatureModel = "signature_model"
        case tier, confidence, threshold, calibration, retrieval, passages, checks
        case verifierVersion = "verifier_version"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        questionSignature = try c.decodeIfPresent(String.self, forKey: .questionSignature)
        signatureModel = try c.decodeIfPresent(String.self, forKey: .signatureModel)
        tier = try c.decodeIfPresent(String.self, forKey: .tier)
        confidence = try c.decodeIfPresent(Double.self, forKey: .confidence)
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        calibration = try c.decodeIfPresent(String.self, forKey: .calibration)
        retrieval = try c.decodeIfPresent(RetrievalSignals.self, forKey: .retrieval)
        passages = try c.decodeIfPresent([Passage].self, forKey: .passages) ?? []
        checks = try c.decodeIfPresent([Check].self, forKey: .checks) ?? []
        verifierVersion = try c.decodeIfPresent(String.self, forKey: .verifierVersion)
    }

    /// Parses stored evidence; nil when it is not a JSON object.
    public init?(json: String) {
        guard json.utf8.first == UInt8(ascii: "{"), !json.utf8.contains(0),
            let decoded = try? JSONDecoder().decode(Evidence.self, from: Data(json.utf8))
        else { return nil }
        self = decoded
    }

    /// The stored form: keys sorted, every field written.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(questionSignature, forKey: .questionSignature)
        try c.encode(signatureModel, forKey: .signatureModel)
        try c.encode(tier, forKey: .tier)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(calibration, forKey: .calibration)
        try c.encode(retrieval, forKey: .retrieval)
        try c.encode(passages, forKey: .passages)
        try c.encode(checks, forKey: .checks)
        try c.encode(verifierVersion, forKey: .verifierVersion)
    }
}
