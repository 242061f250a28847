import Embeddings
import Foundation
import KnowledgeBase
import Metering
import Retrieval
import TestSupport
import Testing

@testable import Cascade

/// A passage a customer rejected is not billed again for the same question in other words; a
/// confirmed one is named in the evidence.
@Suite("Customers' verdicts on earlier answers")
struct VerdictMemoryTests {
    @Suite("on the demo corpus (MiniLM)", .enabled(if: miniLMAvailable, "run tools/fetch-model first"))
    struct Resolving {
        @Test("after a 'not helpful', the same question in other words goes to a person instead of the same quote")
        func rejectedPassageIsNotBilledAgain() async throws {
            let (resolver, directory) = try await Self.resolver()
            defer { withExtendedLifetime(directory) {} }
            let first = try await resolver.resolve(
                Question(queryID: "q1", tenant: "acme", text: "Why are my foreign keys not enforced?"))
            try #require(first.tier == "rag", "\(first.attempts)")
            _ = try await resolver.ledger.correct(
                tenant: "acme", queryID: "q1", outcome: Ledger.Verdict.notHelpful.outcome, answer: nil,
                note: "I had already turned them on", now: Date())

            let paraphrase = "Why aren't my foreign key constraints enforced?"
            // Another tenant with the same documents and no verdicts: the quote it would have got.
            let control = try await resolver.resolve(Question(queryID: "c1", tenant: "beta", text: paraphrase))
            try #require(control.tier == "rag", "\(control.attempts)")
            #expect(VerdictMemory.sharesFragment(control.answer, first.answer), "\(control.answer)")

            let again = try await resolver.resolve(Question(queryID: "q2", tenant: "acme", text: paraphrase))
            #expect(again.tier == "escalated", "\(again.attempts)")
            let rag = again.attempts.first { $0.tier == "rag" }
            #expect(rag?.outcome == "rejected_before")
            #expect(rag?.note?.contains("query q1") == true, "\(rag?.note ?? "")")
            let check = try Self.evidence(resolver, "acme", "q2").checks.first { $0.name == "customer_verdicts" }
            #expect(check?.passed == false)
            #expect(check?.detail?.contains("I had already turned them on") == true, "\(check?.detail ?? "")")
            #expect(try Self.evidence(resolver, "acme", "q2").verifierVersion == Evidence.currentVerifierVersion)

            // A tenant that turned the memory off (remember_verdicts: false) gets the quote again.
            var forgetful = resolver
            forgetful.rememberVerdicts = false
            let unguarded = try await forgetful.resolve(Question(queryID: "q4", tenant: "acme", text: paraphrase))
            #expect(unguarded.tier == "rag", "\(unguarded.attempts)")

            // Other questions of the tenant are answered as before.
            let other = try await resolver.resolve(
                Question(queryID: "q3", tenant: "acme", text: "What does a checkpoint do in WAL mode?"))
            #expect(other.tier == "rag", "\(other.attempts)")
            #expect(
                try Self.evidence(resolver, "acme", "q3").checks.contains { $0.name == "customer_verdicts" } == false)
        }

        @Test("a passage a customer confirmed is still answered, and the evidence names the verdict")
        func confirmedPassageIsNamed() async throws {
            let (resolver, directory) = try await Self.resolver()
            defer { withExtendedLifetime(directory) {} }
            let first = try await resolver.resolve(
                Question(queryID: "q1", tenant: "acme", text: "Why are my foreign keys not enforced?"))
            try #require(first.tier == "rag", "\(first.attempts)")
            _ = try await resolver.ledger.correct(
                tenant: "acme", queryID: "q1", outcome: Ledger.Verdict.helpful.outcome, answer: nil, note: nil,
                now: Date())
            let again = try await resolver.resolve(
                Question(queryID: "q2", tenant: "acme", text: "Why aren't my foreign key constraints enforced?"))
            #expect(again.tier == "rag", "\(again.attempts)")
            let check = try Self.evidence(resolver, "acme", "q2").checks.first { $0.name == "customer_verdicts" }
            #expect(
                check?.passed == true && check?.detail?.contains("query q1") == true, "\(String(describing: check))")
            // A later "not helpful" on the same passage wins, as soon as it is recorded.
            _ = try await resolver.ledger.correct(
                tenant: "acme", queryID: "q2", outcome: Ledger.Verdict.notHelpful.outcome, answer: nil, note: nil,
                now: Date())
            let third = try await resolver.resolve(
                Question(queryID: "q3", tenant: "acme", text: "Why aren't my foreign key constraints enforced?"))
            #expect(third.tier == "escalated", "\(third.attempts)")
            #expect(third.attempts.first { $0.tier == "rag" }?.note?.contains("query q2") == true)
        }

        static func resolver() async throws -> (Resolver, TemporaryDirectory) {
            let dir = try TemporaryDirectory()
            for page in ["foreignkeys.html", "lang_createindex.html", "wal.html"] {
                try dir.write(
                    "docs/\(page)",
                    try Data(contentsOf: repositoryRoot.appendingPathComponent("corpora/sqlite-docs/\(page)")))
            }
            let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
            _ = try await Ingestor(
                store: store, embedder: try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
            ).ingest(dir.path("docs"))
            let resolver = Resolver(
                rules: .empty, retriever: try Retriever(store: store),
                ledger: try Ledger(path: dir.path("ledger.sqlite")))
            return (resolver, dir)
        }

        static func evidence(_ resolver: Resolver, _ tenant: String, _ id: String) throws -> Evidence {
            let rows = try (resolver.ledger as! Ledger).entries(tenant: tenant, queryID: id)
            return try #require(rows.first { $0.kind == .query }?.evidence.flatMap(Evidence.init(json:)))
        }
    }

    @Test("the same question means a near-duplicate signature under the same model, and the same quoted page")
    func matching() throws {
        let base = QuestionSignature(vector: (0..<384).map { Float(sin(Double($0))) })
        let far = QuestionSignature(vector: (0..<384).map { Float(cos(Double($0) * 7)) })
        #expect(base.distance(to: far) > QuestionSignature.nearDuplicateBits)
        func verdict(
            _ id: String, _ verdict: Ledger.Verdict, signature: QuestionSignature = base, model: String = "m",
            tier: String = "rag", chunk: Int64 = 7, answer: String = "Quote."
        ) -> CustomerVerdict {
            var evidence = Evidence()
            evidence.questionSignature = signature.hex
            evidence.signatureModel = model
            let citations = [Citation(docID: "d", source: "s", heading: "h", chunkID: chunk)]
            let query = LedgerEntry(
                kind: .query, queryID: id, tenant: "acme", tier: tier, outcome: "resolved", question: "Q?",
                answer: answer, citations: String(decoding: try! JSONEncoder().encode(citations), as: UTF8.self),
                occurredAt: Date(timeIntervalSince1970: 0), evidence: evidence.json)
            return CustomerVerdict(
                query: query, verdict: verdict, comment: nil, recordedAt: Date(timeIntervalSince1970: 0))
        }
        let cited = [Citation(docID: "d", source: "s", heading: "h", chunkID: 7)]
        func match(_ verdicts: [CustomerVerdict], answer: String = "Other words.", citations: [Citation] = cited)
            -> String?
        {
            VerdictMemory(verdicts: verdicts).match(signature: base, model: "m", answer: answer, citations: citations)?
                .verdict.query.queryID
        }
        #expect(match([verdict("a", .notHelpful)]) == "a")
        #expect(match([verdict("a", .notHelpful, signature: far)]) == nil)
        #expect(match([verdict("a", .notHelpful, model: "other-model")]) == nil)
        #expect(match([verdict("a", .notHelpful, tier: "llm")]) == nil)
        #expect(match([verdict("a", .notHelpful, chunk: 8)]) == nil)
        // A quoted fragment already rejected counts as the same passage, whatever its chunk.
        let lead = "The PRAGMA foreign_keys command is a no-op in this configuration."
        #expect(
            match(
                [verdict("a", .notHelpful, chunk: 8, answer: lead)],
                answer: "Another sentence here." + AnswerQuote.separator + lead)
                == "a")
        #expect(match([verdict("a", .notHelpful, chunk: 8, answer: "Short.")], answer: "Short.") == "a")
        #expect(
            match(
                [verdict("a", .notHelpful, chunk: 8, answer: lead)],
                answer: "Another answer altogether, of other words.") == nil)
        // The latest verdict wins.
        #expect(match([verdict("a", .notHelpful), verdict("b", .helpful)]) == "b")
        #expect(match([verdict("b", .helpful), verdict("a", .notHelpful)]) == "a")
        #expect(match([]) == nil)
        // Sharing only the pages listed under "See also" is not the same passage.
        let seeAlso =
            "\n\nSee also: Pragma statements supported by SQLite (sqlite-docs/pragma.html#pragma_foreign_keys)"
        #expect(
            match(
                [verdict("a", .notHelpful, chunk: 8, answer: "One quote." + seeAlso)],
                answer: "Another quote." + seeAlso)
                == nil)
    }
}
