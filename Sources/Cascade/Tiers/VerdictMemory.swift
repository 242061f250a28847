import Foundation
import Metering

/// What a tenant's customers said of earlier RAG answers, applied to a new one.
///
/// Retrieval is deterministic: a question asked again in other words finds the same passage and
/// quotes it again at the same confidence. Without this memory, a passage a customer has said does
/// not answer a question would be billed every time that question comes back, and each customer
/// would have to reject it again. With it, the new answer is not given when it quotes the passage
/// a customer rejected for the same question (the LLM tier or a person answers instead); a
/// passage a customer confirmed for the same question is named in the new answer's evidence.
///
/// "The same question" is the question signature's near-duplicate test
/// (``QuestionSignature/nearDuplicateBits``, about cosine ≥ 0.62 under the same embedding model);
/// "the same passage" is the answer's first citation (the chunk quoted first), or a quoted
/// fragment the two answers share (a paraphrase often quotes a neighbouring window of the same
/// page whose fragments overlap the rejected answer's: the customer has already read those).
/// Only RAG resolutions count: an LLM answer is written afresh each time, so a rejected one says
/// nothing certain about the passages it cites.
public struct VerdictMemory: Sendable {
    /// How many of the tenant's latest verdicts are read before each RAG answer: a bound on the
    /// work one question costs (reading and decoding a thousand verdict rows takes milliseconds),
    /// whatever the tenant's history. Older verdicts no longer block a passage.
    public static let window = 1000

    public var verdicts: [CustomerVerdict]

    public init(verdicts: [CustomerVerdict]) { self.verdicts = verdicts }

    /// The latest verdict on the same passage for the same question, if any.
    public struct Match: Sendable {
        public var verdict: CustomerVerdict
        /// Bits between the two questions' signatures.
        public var distance: Int

        /// The evidence check a new answer records: failed when a customer rejected the passage.
        public var check: Evidence.Check {
            let query = verdict.query
            let when = JSONConvention.timestamp(verdict.recordedAt)
            let question = query.question.map { " (\"\(Self.shortened($0))\")" } ?? ""
            switch verdict.verdict {
            case .notHelpful:
                return Evidence.Check(
                    name: "customer_verdicts", passed: false,
                    detail: "a customer said this passage did not answer the same question on query \(query.queryID)"
                        + "\(question) at \(when)" + (verdict.comment.map { ": \(Self.shortened($0))" } ?? ""))
            case .helpful:
                return Evidence.Check(
                    name: "customer_verdicts", passed: true,
                    detail: "a customer confirmed this passage answers the same question on query \(query.queryID)"
                        + "\(question) at \(when)")
            }
        }

        static func shortened(_ text: String) -> String {
            text.count <= 120 ? text : String(text.prefix(119)) + "…"
        }
    }

    /// The latest verdict on a RAG resolution whose question is a near-duplicate of this one
    /// (same embedding model) and whose answer quoted the same page or said the same thing.
    /// - Parameters:
    ///   - signature: the new question's signature, under `model`.
    ///   - answer: the new answer's text.
    ///   - citations: the new answer's citations, the quoted page first.
    public func match(signature: QuestionSignature, model: String, answer: String, citations: [Citation]) -> Match? {
        var found: Match?
        for verdict in verdicts where verdict.query.tier == "rag" {
            guard let evidence = verdict.query.evidence.flatMap(Evidence.init(json:)),
                evidence.signatureModel == model,
                let other = evidence.questionSignature.flatMap(QuestionSignature.init(hex:))
            else { continue }
            let distance = signature.distance(to: other)
            guard distance <= QuestionSignature.nearDuplicateBits else { continue }
            let quoted = verdict.query.citations
                .flatMap { try? JSONDecoder().decode([Citation].self, from: Data($0.utf8)) }?.first?.chunkID
            guard
                (quoted != nil && quoted == citations.first?.chunkID)
                    || Self.sharesFragment(answer, verdict.query.answer ?? "")
            else { continue }
            // Oldest first: the latest verdict wins (the customers' most recent experience).
            found = Match(verdict: verdict, distance: distance)
        }
        return found
    }

    /// Quoted fragments shorter than this are not compared (a heading, "See also").
    static let minimumSharedFragment = 40

    /// Whether a fragment of one answer (fragments are joined by ``AnswerQuote/separator``) is
    /// part of the other: the same sentences quoted again, whatever else surrounds them.
    static func sharesFragment(_ a: String, _ b: String) -> Bool {
        guard !a.isEmpty, !b.isEmpty else { return false }
        if a == b { return true }
        func fragments(_ text: String) -> [String] {
            // The quote only: two answers citing the same other pages share a "See also" line.
            let quote = text.components(separatedBy: "\n\nSee also: ").first ?? text
            return quote.components(separatedBy: AnswerQuote.separator).map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }.filter { $0.count >= minimumSharedFragment }
        }
        return fragments(a).contains { b.contains($0) } || fragments(b).contains { a.contains($0) }
    }
}
