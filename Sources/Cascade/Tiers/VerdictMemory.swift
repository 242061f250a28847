import Foundation
import Metering
import Synchronization

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
    /// How many of the tenant's latest verdicts the memory holds: a bound on the work of reading
    /// them again after each new verdict, whatever the tenant's history (``current(tenant:ledger:)``
    /// reads them only then). Older verdicts no longer withhold a passage.
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
            guard let judged = Self.signatures.of(verdict.query), judged.model == model else { continue }
            let other = judged.signature
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

    /// The memory of `tenant` in `ledger`: read again only when a verdict was recorded since the
    /// last read (its latest verdict row's hash says so: one indexed row per question). Reading
    /// the latest 1,000 verdicts before every RAG answer cost about 28 ms per question even with
    /// their signatures cached; read only after a new verdict, the memory costs about 3 ms per
    /// question at 1,000 verdicts (release build, the same questions with the memory off as the
    /// peer; docs/evaluation.md).
    public static func current(tenant: String, ledger: any LedgerStore) async throws -> VerdictMemory {
        guard let head = try await ledger.latestVerdict(tenant: tenant) else { return VerdictMemory(verdicts: []) }
        let key = tenant + "\u{0}" + head.hash
        if let known = memories.withLock({ $0[key] }) { return known }
        let memory = VerdictMemory(verdicts: try await ledger.customerVerdicts(tenant: tenant, latest: window))
        memories.withLock {
            if $0.count >= 256 { $0.removeAll(keepingCapacity: true) }
            $0[key] = memory
        }
        return memory
    }

    /// Memories read, by tenant and latest verdict row hash (a hash names one row of one ledger).
    static let memories = Mutex<[String: VerdictMemory]>([:])

    /// The signatures of judged resolutions, decoded once per stored row: every RAG answer reads
    /// the verdicts again after each new one, and decoding each row's evidence each time cost
    /// about 57 ms per question at 1,000 verdicts (release build, docs/evaluation.md). Keyed by
    /// the row's hash, which names its content; bounded.
    static let signatures = SignatureCache()

    final class SignatureCache: Sendable {
        struct Entry: Sendable {
            var model: String
            var signature: QuestionSignature
        }
        /// Rows kept at most; the cache starts again past it.
        static let capacity = 200_000
        private let entries = Mutex<[String: Entry?]>([:])

        /// The question signature and model of `row`'s evidence, nil without one.
        func of(_ row: LedgerEntry) -> Entry? {
            let decode = { () -> Entry? in
                guard let evidence = row.evidence.flatMap(Evidence.init(json:)), let model = evidence.signatureModel,
                    let signature = evidence.questionSignature.flatMap(QuestionSignature.init(hex:))
                else { return nil }
                return Entry(model: model, signature: signature)
            }
            guard !row.hash.isEmpty else { return decode() }
            if let known = entries.withLock({ $0[row.hash] }) { return known }
            let entry = decode()
            entries.withLock {
                if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
                $0[row.hash] = .some(entry)
            }
            return entry
        }
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
