import Embeddings
import Foundation
import KnowledgeBase
import Metering
import Retrieval
import TestSupport
import Testing

@testable import Cascade

/// Whether a request to the fake is the verifier's (its contract is named `answer_check`).
func isVerdictRequest(_ request: LoopbackHTTPServer.Request) -> Bool {
    let format = request.json()?["response_format"] as? [String: Any]
    let schema = format?["json_schema"] as? [String: Any]
    return schema?["name"] as? String == "answer_check"
}

/// The user message of a request.
func userMessage(_ request: LoopbackHTTPServer.Request) -> String {
    ((request.json()?["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
}

/// With an LLM configured, a RAG answer is billed only after the model has read the question and
/// the quote and said the quote answers it; refuted, the LLM tier answers instead; not checked, a
/// person does. The verifier is metered at the model's price as its own tier, `verify`.
@Suite("LLM verifier of RAG answers, against an OpenAI-compatible server on loopback", .serialized)
struct LLMVerifierTests {
    static let question = "what does the VACUUM command do to the database file"

    func resolver(_ server: LoopbackHTTPServer, dir: TemporaryDirectory, maxAttempts: Int = 2) async throws
        -> Resolver
    {
        try dir.write(
            "docs/vacuum.md",
            "# VACUUM\n\nThe VACUUM command rebuilds the database file, repacking it into a minimal amount of disk space."
        )
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("docs"))
        var resolver = Resolver(
            rules: .empty, retriever: try Retriever(store: store), ledger: try Ledger(path: dir.path("ledger.sqlite")),
            threshold: 0.6)
        resolver.confidence = RAGConfidence(bias: 20)  // RAG always confident: every answer reaches the verifier
        var configuration = LLMClient.Configuration(
            baseURL: server.baseURL.appendingPathComponent("v1"), model: "gpt-4o-mini", apiKey: "sk-test")
        configuration.backoffSeconds = 0.05
        configuration.maxAttempts = maxAttempts
        resolver.llm = LLMClient(configuration: configuration, formats: ResponseFormatMemory())
        return resolver
    }

    /// A fake that judges quotes with `verdict` and answers questions citing the first passage.
    func server(verdict: String) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            if isVerdictRequest(request) { return chatReply(verdict, promptTokens: 120, completionTokens: 20) }
            let ids = passageIDs(request)
            return chatReply(
                #"{"can_answer": true, "answer": "VACUUM repacks the file.", "citations": [\#(ids.first ?? 0)], "confidence": 0.9}"#
            )
        }
    }

    /// The model's reason is text from outside the machine: a NUL in it (which the ledger refuses,
    /// SQLite would store it cut short) must not make the customer's question fail.
    @Test("a verdict whose reason holds a NUL is recorded with U+FFFD in its place")
    func aNULInTheReasonIsRecorded() async throws {
        let server = try server(verdict: #"{"reason": "It says\u0000 what VACUUM does.", "answers": true}"#)
        let dir = try TemporaryDirectory()
        let resolution = try await resolver(server, dir: dir).resolve(
            Question(queryID: "q-nul", tenant: "acme", text: Self.question))
        #expect(resolution.tier == "rag")
        let verify = try #require(resolution.attempts.first { $0.tier == "verify" })
        #expect(verify.note?.contains("It says\u{FFFD} what VACUUM does.") == true, "\(verify.note ?? "")")
        let stored = try Ledger(path: dir.path("ledger.sqlite")).entries(tenant: "acme", queryID: "q-nul")
        #expect(stored.contains { $0.tier == "verify" && $0.note?.contains("\u{FFFD}") == true }, "\(stored)")
    }

    @Test("a quote the model says answers resolves at the RAG tier; the check is metered as tier verify")
    func verified() async throws {
        let server = try server(verdict: #"{"reason": "It says what VACUUM does.", "answers": true}"#)
        let dir = try TemporaryDirectory()
        let resolution = try await resolver(server, dir: dir).resolve(
            Question(queryID: "q-verified", tenant: "acme", text: Self.question))
        #expect(resolution.tier == "rag")
        let verify = try #require(resolution.attempts.first { $0.tier == "verify" })
        #expect(verify.outcome == "verified")
        #expect(verify.tokensIn == 120 && verify.tokensOut == 20)
        #expect(verify.costMicros == 30, "120 × 0.15 + 20 × 0.60 = 30 µ$ at gpt-4o-mini's price")
        #expect(verify.note?.contains("It says what VACUUM does.") == true)
        #expect(resolution.costMicros == resolution.attempts.reduce(0) { $0 + $1.costMicros })
        // The model read the question and the quote the customer gets, and was asked for the verdict only.
        let request = try #require(server.requests.first)
        #expect(isVerdictRequest(request))
        #expect(userMessage(request).contains(Self.question))
        #expect(userMessage(request).contains(resolution.answer))
        #expect((request.json()?["max_tokens"] as? NSNumber)?.intValue == LLMClient.verifierMaxTokens)
        #expect(server.requests.count == 1, "no answer was asked for")
        // The query row's evidence says so, and the attempt is in the ledger with its cost.
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let rows = try ledger.entries(tenant: "acme", queryID: "q-verified")
        let evidence = try #require(rows.first { $0.kind == .query }?.evidence.flatMap(Evidence.init(json:)))
        let check = try #require(evidence.checks.first { $0.name == "llm_verifier" })
        #expect(check.passed)
        #expect(evidence.verifierVersion == "cascade-verifier/4")
        #expect(rows.contains { $0.kind == .attempt && $0.tier == "verify" && $0.costMicros == 30 })
    }

    @Test("a quote the model refutes is not given: the LLM tier answers from the passages instead")
    func refuted() async throws {
        let server = try server(verdict: #"{"reason": "It does not say how.", "answers": false}"#)
        let dir = try TemporaryDirectory()
        let resolution = try await resolver(server, dir: dir).resolve(
            Question(queryID: "q-refuted", tenant: "acme", text: Self.question))
        #expect(resolution.tier == "llm")
        #expect(resolution.answer == "VACUUM repacks the file.")
        #expect(resolution.attempts.map(\.tier) == ["rule", "rag", "verify", "llm"])
        #expect(resolution.attempts.map(\.outcome) == ["no_match", "refuted", "refuted", "resolved"])
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let rows = try ledger.entries(tenant: "acme", queryID: "q-refuted")
        let evidence = try #require(rows.first { $0.kind == .query }?.evidence.flatMap(Evidence.init(json:)))
        #expect(evidence.checks.first { $0.name == "llm_verifier" }?.passed == false)
        #expect(evidence.checks.first { $0.name == "llm_verifier" }?.detail?.contains("It does not say how.") == true)
    }

    @Test(
        "an answer the verifier could not check goes to a person, and is never billed",
        arguments: [
            ("server error", 500, "oops"),
            ("not a verdict", 200, #"{"can_answer": true}"#),
        ])
    func unchecked(name: String, status: Int, content: String) async throws {
        let server = try LoopbackHTTPServer { _ in
            status == 200 ? chatReply(content, promptTokens: 90, completionTokens: 5) : .text(content, status: status)
        }
        let dir = try TemporaryDirectory()
        let resolution = try await resolver(server, dir: dir).resolve(
            Question(queryID: "q-unchecked", tenant: "acme", text: Self.question))
        #expect(resolution.tier == "escalated", "\(name)")
        #expect(resolution.attempts.first { $0.tier == "rag" }?.outcome == "unverified", "\(name)")
        #expect(resolution.attempts.first { $0.tier == "verify" }?.outcome == "failed", "\(name)")
        #expect(resolution.attempts.last?.tier == "llm" && resolution.attempts.last?.outcome == "skipped", "\(name)")
        #expect(server.requests.allSatisfy(isVerdictRequest), "\(name): the LLM tier was not tried after the failure")
        if status == 200 {
            #expect(resolution.attempts.first { $0.tier == "verify" }?.tokensIn == 90, "its tokens are still metered")
        }
    }

    /// A budget under a reached hard cap: it stops what ``SpendCap/stops(tier:)`` says a hard cap
    /// stops (the LLM tier and its verifier by default), and lets the rest run.
    struct ReachedCap: TierBudget {
        let cap = SpendCap(capMicros: 1, mode: .hard, updatedAt: Date(timeIntervalSince1970: 0))
        func reserve(tier: String, tenant: String, queryID: String, maximumCostMicros: Int64) async
            -> TierBudgetDecision
        {
            cap.stops(tier: tier) ? .stop(reason: "the hard spend cap is reached") : .proceed(TierReservation { _ in })
        }
    }

    @Test("a hard spend cap stops the verifier like the LLM tier: the unchecked answer goes to a person")
    func spendCap() async throws {
        let server = try server(verdict: #"{"reason": "yes", "answers": true}"#)
        let dir = try TemporaryDirectory()
        var resolver = try await resolver(server, dir: dir)
        resolver.budget = ReachedCap()
        let resolution = try await resolver.resolve(Question(tenant: "acme", text: Self.question))
        #expect(resolution.tier == "escalated")
        #expect(resolution.attempts.map(\.tier) == ["rule", "rag", "verify", "llm"])
        #expect(resolution.attempts.map(\.outcome) == ["no_match", "unverified", "spend_cap", "spend_cap"])
        #expect(server.requests.isEmpty)
    }

    @Test("verify_answers: false lets RAG answers resolve without the check")
    func turnedOff() async throws {
        let server = try server(verdict: #"{"reason": "no", "answers": false}"#)
        let dir = try TemporaryDirectory()
        var resolver = try await resolver(server, dir: dir)
        resolver.verifyAnswers = false
        let resolution = try await resolver.resolve(Question(tenant: "acme", text: Self.question))
        #expect(resolution.tier == "rag")
        #expect(!resolution.attempts.contains { $0.tier == "verify" })
        #expect(server.requests.isEmpty)
    }

    @Test("without an LLM there is no verifier and RAG answers as before")
    func noLLM() async throws {
        let server = try server(verdict: #"{"reason": "no", "answers": false}"#)
        let dir = try TemporaryDirectory()
        var resolver = try await resolver(server, dir: dir)
        resolver.llm = nil
        let resolution = try await resolver.resolve(Question(tenant: "acme", text: Self.question))
        #expect(resolution.tier == "rag")
        #expect(!resolution.attempts.contains { $0.tier == "verify" })
    }

    @Test("a verdict is a JSON object with a boolean `answers`; anything else is a failure, not a yes")
    func verdictParsing() {
        func reply(_ content: String, finish: String = "stop") -> Data {
            let object: [String: Any] = [
                "choices": [["message": ["role": "assistant", "content": content], "finish_reason": finish]],
                "usage": ["prompt_tokens": 10, "completion_tokens": 3],
            ]
            return (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        }
        guard
            case .judged(true, "ok", _) = LLMClient.parseVerdict(
                reply(#"{"reason": "ok", "answers": true}"#), maxTokens: 160)
        else {
            Issue.record("a yes was not read")
            return
        }
        guard
            case .judged(false, _, _) = LLMClient.parseVerdict(
                reply("```json\n{\"reason\": \"no\", \"answers\": false}\n```"), maxTokens: 160)
        else {
            Issue.record("a fenced no was not read")
            return
        }
        for bad in [#"{"reason": "yes"}"#, #"{"answers": "yes"}"#, "yes", ""] {
            guard case .failed = LLMClient.parseVerdict(reply(bad), maxTokens: 160) else {
                Issue.record("\(bad) was taken for a verdict")
                continue
            }
        }
        guard
            case .failed(let reason, _) = LLMClient.parseVerdict(
                reply(#"{"reason": "it goes on and on"#, finish: "length"), maxTokens: 160)
        else {
            Issue.record("a truncated verdict was taken")
            return
        }
        #expect(reason.contains("truncated"))
    }
}
