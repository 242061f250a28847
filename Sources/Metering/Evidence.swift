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

    /// Evidence rows are short; this bounds what one row can add to the append-only ledger.
    public static let maxBytes = 16 << 10

    public init(questionSignature: String? = nil, signatureModel: String? = nil) {
        self.questionSignature = questionSignature
        self.signatureModel = signatureModel
    }

    enum CodingKeys: String, CodingKey {
        case questionSignature = "question_signature"
        case signatureModel = "signature_model"
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
    }
}
