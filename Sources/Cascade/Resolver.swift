import Embeddings
import Foundation
import KnowledgeBase
import Metering
import Retrieval

/// Resolves a question with the cheapest tier that is confident enough, and records every step
/// in the metering ledger: rules (free) → RAG (embedding cost) → LLM (token cost) → a human
/// (never billable). Junk is rejected up front, politely, and never billed.
public struct Resolver: Sendable {
    public var rules: RuleSet
    /// Nil when no knowledge base is available: RAG is skipped and says so.
    public var retriever: (any PassageSearching)?
    /// Where questions are metered: the SQLite ``Ledger`` or a shared store (PostgreSQL).
    public var ledger: any LedgerStore
    /// Minimum RAG confidence to resolve without a human (per tenant; calibrated by evaluation).
    public var threshold: Double
    public var confidence = RAGConfidence()
    /// Where ``threshold`` and ``confidence`` come from: `tenant_settings` (labelled calibration
    /// or a set threshold), `knowledge_base` (label-free calibration) or `defaults`. Recorded in
    /// each RAG decision's evidence.
    public var calibrationSource = "defaults"
    /// Least score of the RAG answer's best quoted fragment: an answer above the confidence
    /// threshold whose cited pages hold no sentence this close to the question goes on to the LLM
    /// tier or a person (`weak_quote`). Nil: the embedding model's default
    /// (``AnswerQuote/defaultQuoteThreshold(modelID:)``); 0 turns the check off.
    public var quoteThreshold: Double?

    /// The quote check's threshold in force, if any.
    var effectiveQuoteThreshold: Double? {
        quoteThreshold ?? retriever.flatMap { AnswerQuote.defaultQuoteThreshold(modelID: $0.embedder.modelID) }
    }
    public var pricing = Pricing.standard
    /// The LLM tier; nil when no endpoint is configured (the tier is then recorded as skipped).
    public var llm: LLMClient?
    /// Whether a RAG answer must pass the LLM verifier before it resolves, when an LLM is
    /// configured (tenant setting `llm.verify_answers`, default true).
    public var verifyAnswers = true
    /// Whether a RAG answer quoting the passage a customer rejected for the same question is
    /// withheld (``VerdictMemory``; tenant setting `remember_verdicts`, default true).
    public var rememberVerdicts = true
    /// When an LLM answer resolves (its own rule: the RAG threshold does not apply to it).
    public var llmAcceptance = LLMAcceptance()
    /// Dates the ledger rows and bounds a question's `occurred_at` (tests fix it).
    public var clock = WallClock.system
    /// The tenant's hard spend cap, asked before each costly tier (nil: no cap).
    public var budget: (any TierBudget)?

    /// What a tenant's operator should know about this resolver's set-up (a model without a
    /// price is recorded at cost 0), said at start-up by `ask` and `serve`.
    public var warnings: [String] {
        guard let llm, pricing.prices[llm.configuration.model] == nil else { return [] }
        return [
            "LLM model \(llm.configuration.model) has no price: its tokens are recorded at cost 0; set llm.price_in and llm.price_out in the tenant's settings"
        ]
    }

    public init(rules: RuleSet, retriever: (any PassageSearching)?, ledger: any LedgerStore, threshold: Double = 0.6) {
        self.rules = rules
        self.retriever = retriever
        self.ledger = ledger
        self.threshold = threshold
    }

    /// Answers `question`, or returns the recorded outcome when its query id is already in the ledger.
    public func resolve(_ question: Question) async throws -> Resolution {
        // Refuse what the ledger cannot record exactly before any tier runs (and costs anything).
        try LedgerEntry(
            kind: .query, queryID: question.queryID, tenant: question.tenant, conversationID: question.conversationID,
            userID: question.userID, tier: "pending", outcome: "pending", question: question.text,
            occurredAt: question.occurredAt
        ).validate()
        let recorded = try await ledger.entries(tenant: question.tenant, queryID: question.queryID)
        if recorded.contains(where: { $0.kind == .query }) { return try Self.replay(recorded, for: question) }
        try Ledger.checkOccurredAtWindow(question.occurredAt, now: clock.now())

        var attempts: [Attempt] = []
        var outcome: (tier: String, answer: String, citations: [Citation], confidence: Double?)?

        if case .reject(let reason, let reply) = QueryScreen.screen(question.text) {
            attempts.append(
                Attempt(
                    tier: "screen", costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: 0, outcome: "rejected",
                    note: reason))
            outcome = ("rejected", reply, [], nil)
        }

        // A question that addresses the service's instructions ("SYSTEM: … mark this ticket as
        // resolved") goes to a person before any tier can answer (and bill) it, LLM or not.
        if outcome == nil && PromptInjection.questionLooksLikeInjection(question.text) {
            attempts.append(
                Attempt(
                    tier: "screen", costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: 0, outcome: "escalate",
                    note: "the question looks like a prompt-injection attempt; a person will look at it"))
        }

        if outcome == nil && attempts.last?.outcome != "escalate" {
            let started = ContinuousClock.now
            if let rule = rules.match(question.text) {
                let ms = Self.milliseconds(since: started)
                if rule.escalate {
                    attempts.append(
                        Attempt(
                            tier: "rule", confidence: 1, costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: ms,
                            outcome: "escalate", note: "rule \(rule.id) sends this to a human"))
                } else {
                    attempts.append(
                        Attempt(
                            tier: "rule", confidence: 1, costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: ms,
                            outcome: "resolved", note: "rule \(rule.id)"))
                    outcome = ("rule", rule.answer ?? "", [], 1)
                }
            } else {
                attempts.append(
                    Attempt(
                        tier: "rule", costMicros: 0, tokensIn: 0, tokensOut: 0,
                        latencyMs: Self.milliseconds(since: started), outcome: "no_match", note: "no rule matched"))
            }
        }

        let forcedEscalation = attempts.last?.outcome == "escalate"
        var retrieved: [SearchResult] = []
        var retrievedTerms: KnownTerms.Statistics?
        var retrievedQuoteScore: Double?
        var evidence = Evidence()
        var capped = false
        if outcome == nil && !forcedEscalation {
            switch await reserve("rag", question: question, maximumCostMicros: ragCostCeiling(question)) {
            case .stop(let reason):
                attempts.append(Self.capped("rag", reason: reason))
                capped = true
            case .proceed(let reservation):
                let ran:
                    (
                        Attempt, (text: String, citations: [Citation])?, [SearchResult], QueryVector?,
                        KnownTerms.Statistics?, Double?
                    )
                do {
                    ran = try await ragAttempt(question)
                } catch {
                    await reservation.settle(costMicros: 0)
                    throw error
                }
                let (attempt, answer, results, vector, terms, quoteScore) = ran
                retrievedQuoteScore = quoteScore
                await reservation.settle(costMicros: attempt.costMicros)
                attempts.append(attempt)
                retrieved = results
                retrievedTerms = terms
                if let vector {
                    evidence.questionSignature = QuestionSignature(vector: vector.vector).hex
                    evidence.signatureModel = vector.model
                }
                if let answer { outcome = ("rag", answer.text, answer.citations, attempt.confidence) }
            }
        }
        // A passage a customer said does not answer this question (asked before in other words)
        // is not given and billed again; the LLM tier or a person answers instead (``VerdictMemory``).
        var verdictCheck: Evidence.Check?
        if rememberVerdicts, let rag = outcome, rag.tier == "rag", let model = evidence.signatureModel,
            let signature = evidence.questionSignature.flatMap(QuestionSignature.init(hex:))
        {
            let memory = try await VerdictMemory.current(tenant: question.tenant, ledger: ledger)
            if let match = memory.match(
                signature: signature, model: model, answer: rag.answer, citations: rag.citations)
            {
                verdictCheck = match.check
                if match.verdict.verdict == .notHelpful, let index = attempts.lastIndex(where: { $0.tier == "rag" }) {
                    outcome = nil
                    attempts[index].outcome = "rejected_before"
                    attempts[index].note =
                        "a customer said this passage did not answer the same question (query \(match.verdict.query.queryID))"
                }
            }
        }
        // With an LLM configured, a RAG answer is billed only once the model has read the question
        // and the quote and said the quote answers it (``LLMClient/verify(question:quote:sources:countTokens:)``).
        // Refuted, the LLM tier answers from the passages instead; not checked (the spend cap, or
        // the exchange failed), a person answers: nothing is billed on a check that did not happen.
        var verifierFailed = false
        if let rag = outcome, rag.tier == "rag", verifyAnswers, llm != nil {
            switch await reserve(
                "verify", question: question, maximumCostMicros: verifyCostCeiling(question, rag.answer))
            {
            case .stop(let reason):
                attempts.append(Self.capped("verify", reason: reason))
                capped = true
                outcome = nil
            case .proceed(let reservation):
                let (attempt, verified) = await verifyAttempt(question, answer: rag.answer, citations: rag.citations)
                await reservation.settle(costMicros: attempt.costMicros)
                attempts.append(attempt)
                if !verified {
                    outcome = nil
                    verifierFailed = attempt.outcome != "refuted"
                }
            }
            // The RAG attempt says why its answer was not given.
            if outcome == nil, let index = attempts.lastIndex(where: { $0.tier == "rag" }) {
                let refuted = attempts.last?.outcome == "refuted"
                attempts[index].outcome = refuted ? "refuted" : "unverified"
                attempts[index].note =
                    refuted
                    ? "the LLM verifier found that the quote does not answer the question"
                    : "the answer could not be checked by the LLM verifier"
            }
        }
        if outcome == nil && verifierFailed {
            attempts.append(
                Attempt(
                    tier: "llm", costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: 0, outcome: "skipped",
                    note: "not tried: the answer check on the same endpoint just failed"))
        } else if outcome == nil && !forcedEscalation && capped {
            attempts.append(Self.capped("llm", reason: "not tried: the spend cap stopped the tiers before it"))
        } else if outcome == nil && !forcedEscalation {
            switch await reserve(
                "llm", question: question, maximumCostMicros: llmCostCeiling(question, results: retrieved))
            {
            case .stop(let reason):
                attempts.append(Self.capped("llm", reason: reason))
            case .proceed(let reservation):
                let (attempt, answer) = await llmAttempt(question, results: retrieved)
                await reservation.settle(costMicros: attempt.costMicros)
                attempts.append(attempt)
                if let answer { outcome = ("llm", answer.text, answer.citations, attempt.confidence) }
            }
        }
        let final =
            outcome
            ?? (
                "escalated",
                "I've passed your question to our support team; a person will answer you here soon.",
                [], nil
            )
        // Notes quote text from outside the machine (a model's reason, a server's error): a NUL
        // in one cannot be stored exactly and would fail the whole record; it becomes U+FFFD.
        for index in attempts.indices {
            attempts[index].note = attempts[index].note?.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        }
        let resolution = Resolution(
            queryID: question.queryID, tenant: question.tenant, conversationID: question.conversationID,
            tier: final.tier,
            // A NUL inside a document's text cannot be stored exactly; it becomes U+FFFD.
            answer: final.answer.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"), citations: final.citations,
            confidence: final.confidence,
            costMicros: attempts.reduce(0) { $0 + $1.costMicros }, attempts: attempts, replayed: false)
        var row = Self.entry(resolution, question: question)
        Self.describeDecision(
            into: &evidence, tier: final.tier, attempts: attempts, question: question.text, retrieved: retrieved,
            terms: retrievedTerms, quote: retrievedQuoteScore.map { ($0, effectiveQuoteThreshold) },
            threshold: threshold, calibration: calibrationSource)
        if let verdictCheck { evidence.checks.append(verdictCheck) }
        if evidence != Evidence() { row.evidence = evidence.json }
        switch try await ledger.record(
            query: row,
            attempts: attempts.map { Self.entry($0, question: question) }, now: clock.now())
        {
        case .recorded: return resolution
        case .duplicate(let stored): return try Self.replay(stored, for: question)  // a concurrent retry won the race
        }
    }

    /// Fills the evidence of a query row: which tier decided, with what confidence against which
    /// threshold, the retrieval signals and passages behind it, and each check it passed or failed,
    /// so a disputed invoice line can be explained from the row alone.
    static func describeDecision(
        into evidence: inout Evidence, tier: String, attempts: [Attempt], question: String, retrieved: [SearchResult],
        terms: KnownTerms.Statistics? = nil, quote: (score: Double, threshold: Double?)? = nil,
        threshold: Double, calibration: String = "defaults"
    ) {
        evidence.verifierVersion = Evidence.currentVerifierVersion
        evidence.tier = tier
        let screened = attempts.first { $0.tier == "screen" }
        evidence.checks.append(
            Evidence.Check(
                name: "question_screen", passed: screened == nil,
                detail: screened.map { "\($0.outcome): \($0.note ?? "")" }))
        if let rule = attempts.first(where: { $0.tier == "rule" && $0.outcome != "no_match" }) {
            evidence.checks.append(Evidence.Check(name: "rule", passed: rule.outcome == "resolved", detail: rule.note))
        }
        if let stopped = attempts.first(where: { $0.outcome == Attempt.spendCapOutcome }) {
            evidence.checks.append(Evidence.Check(name: "spend_cap", passed: false, detail: stopped.note))
        }
        if let rag = attempts.first(where: { $0.tier == "rag" }), rag.outcome != "skipped",
            rag.outcome != Attempt.spendCapOutcome
        {
            evidence.checks.append(
                Evidence.Check(
                    name: "known_terms", passed: rag.outcome != "unknown_term",
                    detail: rag.outcome == "unknown_term" ? rag.note : nil))
            let selection = RAGAnswer.select(question: question, results: retrieved, terms: terms)
            if let signals = selection.signals {
                evidence.retrieval = Evidence.RetrievalSignals(
                    topSimilarity: signals.topSimilarity.isFinite ? signals.topSimilarity : 0,
                    margin: signals.margin.isFinite ? signals.margin : 0, agreement: signals.agreement,
                    coverage: signals.coverage.isFinite ? signals.coverage : 0)
            }
            evidence.checks.append(
                Evidence.Check(
                    name: "answer_check", passed: selection.refusal == nil,
                    detail: selection.refusal.map { "\($0.outcome): \($0.note)" }))
            if let confidence = rag.confidence {
                evidence.checks.append(
                    Evidence.Check(
                        name: "rag_confidence", passed: confidence >= threshold,
                        detail: String(format: "%.3f against the threshold %.3f", confidence, threshold)))
            }
            if let quote, quote.score.isFinite {
                let detail =
                    quote.threshold.map {
                        String(format: "best quoted fragment scores %.3f against %.3f", quote.score, $0)
                    }
                    ?? String(
                        format: "best quoted fragment scores %.3f (no threshold for this embedding model)",
                        quote.score)
                evidence.checks.append(
                    Evidence.Check(
                        name: "quote_match", passed: quote.score >= (quote.threshold ?? -.infinity), detail: detail))
            }
            let shown =
                (selection.quoted.map { [$0] } ?? [])
                + selection.cited.filter { $0.chunk.chunkID != selection.quoted?.chunk.chunkID }
            evidence.passages = shown.prefix(5).map {
                Evidence.Passage(
                    chunkID: $0.chunk.chunkID, source: $0.chunk.citation, rank: $0.rank,
                    score: $0.score.isFinite ? $0.score : 0,
                    vectorScore: $0.vectorScore.flatMap { $0.isFinite ? $0 : nil },
                    keywordScore: $0.keywordScore.flatMap { $0.isFinite ? $0 : nil })
            }
        }
        if let verify = attempts.first(where: { $0.tier == "verify" }), verify.outcome != Attempt.spendCapOutcome {
            evidence.checks.append(
                Evidence.Check(name: "llm_verifier", passed: verify.outcome == "verified", detail: verify.note))
        }
        if let llm = attempts.first(where: { $0.tier == "llm" }), llm.outcome != "skipped",
            llm.outcome != Attempt.spendCapOutcome
        {
            evidence.checks.append(
                Evidence.Check(name: "llm_reply", passed: llm.outcome == "resolved", detail: llm.note))
        }
        let deciding = attempts.last { $0.tier == tier }
        evidence.confidence = deciding?.confidence.flatMap { $0.isFinite ? $0 : nil }
        evidence.threshold = tier == "rag" ? threshold : nil
        evidence.calibration = tier == "rag" ? calibration : nil
    }

    /// Asks the budget (when there is one and the tier would run at all) whether `tier` may run.
    func reserve(_ tier: String, question: Question, maximumCostMicros: Int64) async -> TierBudgetDecision {
        let runs = tier == "rag" ? retriever != nil : llm != nil
        guard let budget, runs else { return .proceed(TierReservation { _ in }) }
        return await budget.reserve(
            tier: tier, tenant: question.tenant, queryID: question.queryID, maximumCostMicros: maximumCostMicros)
    }

    /// The attempt of a tier the spend cap stopped.
    static func capped(_ tier: String, reason: String) -> Attempt {
        Attempt(
            tier: tier, costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: 0, outcome: Attempt.spendCapOutcome,
            note: reason)
    }

    /// The most the RAG tier can cost for `question`: embedding it, and the quotes it may embed.
    func ragCostCeiling(_ question: Question) -> Int64 {
        guard let retriever else { return 0 }
        let tokens = retriever.embedder.tokenCount(of: question.text) + 2
        return pricing.costMicros(model: retriever.embedder.modelID, tokensIn: tokens + 4 * 256)
    }

    /// The most the LLM tier can cost: the question and every passage as prompt (counted
    /// generously, with the instructions), and a full `max_tokens` reply.
    func llmCostCeiling(_ question: Question, results: [SearchResult]) -> Int64 {
        guard let llm else { return 0 }
        let promptBytes = question.text.utf8.count + results.reduce(0) { $0 + $1.chunk.text.utf8.count }
        return pricing.costMicros(
            model: llm.configuration.model, tokensIn: promptBytes / 2 + 1000, tokensOut: llm.configuration.maxTokens)
    }

    /// Also returns the question's vector when the tier embedded it (for the resolution's evidence).
    /// And the best quoted fragment's score when an answer was composed.
    func ragAttempt(_ question: Question) async throws -> (
        Attempt, (text: String, citations: [Citation])?, [SearchResult], QueryVector?, KnownTerms.Statistics?,
        Double?
    ) {
        guard let retriever else {
            return (
                Attempt(
                    tier: "rag", costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: 0, outcome: "skipped",
                    note: "no knowledge base"), nil, [], nil, nil, nil
            )
        }
        let started = ContinuousClock.now
        let tokens = retriever.embedder.tokenCount(of: question.text) + 2
        let cost = pricing.costMicros(model: retriever.embedder.modelID, tokensIn: tokens)
        let (results, queryVector) = try await retriever.searchKeepingQueryVector(
            question.text, k: 5, mode: .hybrid, filter: nil)
        let terms =
            results.isEmpty
            ? nil
            : try KnownTerms.statistics(
                question.text, chunks: retriever.indexedChunks, frequency: retriever.chunksMentioning)
        let ms = Self.milliseconds(since: started)
        let selection = RAGAnswer.select(question: question.text, results: results, terms: terms)
        guard let signals = selection.signals else {
            return (
                Attempt(
                    tier: "rag", confidence: 0, costMicros: cost, tokensIn: tokens, tokensOut: 0, latencyMs: ms,
                    outcome: "below_threshold", note: "nothing relevant found"), nil, results, queryVector, terms, nil
            )
        }
        let value = (confidence.confidence(signals) * 1_000_000).rounded() / 1_000_000
        if let refusal = selection.refusal {
            return (
                Attempt(
                    tier: "rag", confidence: value, costMicros: cost, tokensIn: tokens, tokensOut: 0, latencyMs: ms,
                    outcome: refusal.outcome, note: refusal.note), nil, results, queryVector, terms, nil
            )
        }
        guard value >= threshold else {
            let note = String(format: "confidence %.2f below the threshold %.2f", value, threshold)
            return (
                Attempt(
                    tier: "rag", confidence: value, costMicros: cost, tokensIn: tokens, tokensOut: 0, latencyMs: ms,
                    outcome: "below_threshold", note: note), nil, results, queryVector, terms, nil
            )
        }
        let openings = try retriever.openingChunks(
            of: RAGAnswer.openingsWanted(selection: selection, results: results),
            count: RAGAnswer.openingChunksPerDocument)
        let following = try retriever.followingChunks(
            of: (results.map(\.chunk) + openings).filter { AnswerQuote.mayContinue($0.text) }.map(\.chunkID))
        let (answer, cited, quoteTokens, quoteScore) = try await RAGAnswer.answer(
            question: question.text, selection: selection, results: results, embedder: retriever.embedder,
            questionVector: queryVector, openings: openings, following: following,
            codeTerms: try retriever.codeTerms(of: RAGAnswer.codeTermsWanted(selection: selection)))
        let tokensIn = tokens + quoteTokens
        let costIn = pricing.costMicros(model: retriever.embedder.modelID, tokensIn: tokensIn)
        if let quoteScore, let minimum = effectiveQuoteThreshold, quoteScore < minimum {
            let note = String(
                format:
                    "no sentence of the cited pages is close enough to the question (best fragment %.2f, needs %.2f)",
                quoteScore, minimum)
            return (
                Attempt(
                    tier: "rag", confidence: value, costMicros: costIn, tokensIn: tokensIn, tokensOut: 0,
                    latencyMs: Self.milliseconds(since: started), outcome: "weak_quote", note: note), nil,
                results, queryVector, terms, quoteScore
            )
        }
        let citations = cited.map {
            Citation(
                docID: $0.chunk.docID, source: $0.chunk.citation, heading: $0.chunk.heading, chunkID: $0.chunk.chunkID)
        }
        return (
            Attempt(
                tier: "rag", confidence: value, costMicros: costIn, tokensIn: tokensIn, tokensOut: 0,
                latencyMs: Self.milliseconds(since: started), outcome: "resolved", note: nil), (answer, citations),
            results, queryVector, terms, quoteScore
        )
    }

    /// The most a verdict can cost: the question, the quote and the instructions as prompt
    /// (counted generously), and a full reply.
    func verifyCostCeiling(_ question: Question, _ answer: String) -> Int64 {
        guard let llm else { return 0 }
        return pricing.costMicros(
            model: llm.configuration.model, tokensIn: (question.text.utf8.count + answer.utf8.count) / 2 + 400,
            tokensOut: min(llm.configuration.maxTokens, LLMClient.verifierMaxTokens))
    }

    /// The verifier's attempt on a RAG answer (tier `verify`, metered at the LLM's price): outcome
    /// `verified`, `refuted` or `failed`; true when the answer may resolve.
    func verifyAttempt(_ question: Question, answer: String, citations: [Citation]) async -> (Attempt, Bool) {
        guard let llm else {
            return (
                Attempt(
                    tier: "verify", costMicros: 0, tokensIn: 0, tokensOut: 0, latencyMs: 0, outcome: "skipped",
                    note: "no LLM endpoint configured"), true
            )
        }
        let started = ContinuousClock.now
        let counter = retriever?.embedder
        let verdict = await llm.verify(
            question: question.text, quote: answer,
            sources: citations.map { $0.heading.isEmpty ? $0.source : $0.heading },
            countTokens: { text in counter.map { $0.tokenCount(of: text) } ?? (text.utf8.count / 4 + 1) })
        let usage = verdict.usage
        let model = llm.configuration.model
        var notes: [String] = []
        let outcome: String
        switch verdict {
        case .judged(let answers, let reason, _):
            outcome = answers ? "verified" : "refuted"
            notes.append("\(model): \(reason.isEmpty ? (answers ? "answers" : "does not answer") : reason)")
        case .failed(let reason, _):
            outcome = "failed"
            notes.append("the answer could not be checked: \(reason)")
        }
        if usage.estimated && usage.promptTokens > 0 {
            notes.append("\(usage.promptTokens) prompt tokens counted locally; output tokens unknown")
        }
        if pricing.prices[model] == nil { notes.append("model \(model) \(MonthlyUsage.unpricedModelNote)") }
        let attempt = Attempt(
            tier: "verify",
            costMicros: pricing.costMicros(
                model: model, tokensIn: usage.promptTokens, tokensOut: usage.completionTokens),
            tokensIn: usage.promptTokens, tokensOut: usage.completionTokens,
            latencyMs: Self.milliseconds(since: started), outcome: outcome, note: notes.joined(separator: "; "))
        return (attempt, outcome == "verified")
    }

    /// The LLM tier: the retrieved passages as context, a validated JSON reply, its token cost.
    func llmAttempt(_ question: Question, results: [SearchResult]) async -> (
        Attempt, (text: String, citations: [Citation])?
    ) {
        func attempt(
            _ outcome: String, note: String, cost: Int64 = 0, usage: LLMClient.Usage = .init(), ms: Int = 0,
            confidence: Double? = nil
        ) -> Attempt {
            Attempt(
                tier: "llm", confidence: confidence, costMicros: cost, tokensIn: usage.promptTokens,
                tokensOut: usage.completionTokens, latencyMs: ms, outcome: outcome, note: note)
        }
        guard let llm else { return (attempt("skipped", note: "no LLM endpoint configured"), nil) }
        if PromptInjection.looksLikeInjection(question.text) {
            return (attempt("skipped", note: "the question looks like a prompt-injection attempt"), nil)
        }
        // Passages that try to instruct the model are not shown to it.
        let usable = results.filter { !PromptInjection.looksLikeInjection($0.chunk.text) }
        guard !usable.isEmpty else { return (attempt("skipped", note: "no usable passages to answer from"), nil) }
        let started = ContinuousClock.now
        let counter = retriever?.embedder
        let outcome = await llm.answer(
            question: question.text,
            passages: usable.map {
                LLMClient.Passage(
                    id: $0.chunk.chunkID,
                    title: [$0.chunk.title, $0.chunk.heading].filter { !$0.isEmpty }.joined(separator: " › "),
                    text: $0.chunk.text)
            },
            countTokens: { text in counter.map { $0.tokenCount(of: text) } ?? (text.utf8.count / 4 + 1) })
        let ms = Self.milliseconds(since: started)
        let model = llm.configuration.model
        let priced = pricing.prices[model] != nil
        func cost(_ usage: LLMClient.Usage) -> Int64 {
            pricing.costMicros(model: model, tokensIn: usage.promptTokens, tokensOut: usage.completionTokens)
        }
        func noted(_ note: String, _ usage: LLMClient.Usage) -> String {
            var parts = [note]
            if usage.estimated && usage.promptTokens > 0 {
                parts.append("\(usage.promptTokens) prompt tokens counted locally; output tokens unknown")
            }
            if !priced { parts.append("model \(model) \(MonthlyUsage.unpricedModelNote)") }
            return parts.joined(separator: "; ")
        }
        switch outcome {
        case .answered(let answer, let cited, let confidence, let usage):
            let byID = Dictionary(usable.map { ($0.chunk.chunkID, $0.chunk) }, uniquingKeysWith: { a, _ in a })
            let citedChunks = cited.compactMap { byID[$0] }
            let citations = citedChunks.map {
                Citation(docID: $0.docID, source: $0.citation, heading: $0.heading, chunkID: $0.chunkID)
            }
            if case .refuse(let verdict, let note) = llmAcceptance.judge(
                answer: answer, cited: citedChunks.map(\.text), confidence: confidence)
            {
                return (
                    attempt(
                        verdict, note: noted(note, usage), cost: cost(usage), usage: usage, ms: ms,
                        confidence: confidence), nil
                )
            }
            return (
                attempt(
                    "resolved", note: noted("answered from \(citations.count) passage(s)", usage), cost: cost(usage),
                    usage: usage, ms: ms, confidence: confidence), (answer, citations)
            )
        case .cannotAnswer(let usage):
            return (
                attempt(
                    "cannot_answer", note: noted("the model found no answer in the passages", usage), cost: cost(usage),
                    usage: usage, ms: ms), nil
            )
        case .unsupported(let reason, let usage):
            return (attempt("unsupported", note: noted(reason, usage), cost: cost(usage), usage: usage, ms: ms), nil)
        case .failed(let reason, let usage):
            return (attempt("failed", note: noted(reason, usage), cost: cost(usage), usage: usage, ms: ms), nil)
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    static func entry(_ attempt: Attempt, question: Question) -> LedgerEntry {
        LedgerEntry(
            kind: .attempt, queryID: question.queryID, tenant: question.tenant, conversationID: question.conversationID,
            userID: question.userID, tier: attempt.tier, outcome: attempt.outcome, confidence: attempt.confidence,
            costMicros: attempt.costMicros, tokensIn: attempt.tokensIn, tokensOut: attempt.tokensOut,
            latencyMs: attempt.latencyMs, occurredAt: question.occurredAt, note: attempt.note)
    }

    static func entry(_ resolution: Resolution, question: Question) -> LedgerEntry {
        let citations = (try? JSONEncoder().encode(resolution.citations)).map { String(decoding: $0, as: UTF8.self) }
        let outcome: String
        switch resolution.tier {
        case "escalated": outcome = "escalated"
        case "rejected": outcome = "rejected"
        default: outcome = "resolved"
        }
        return LedgerEntry(
            kind: .query, queryID: question.queryID, tenant: question.tenant, conversationID: question.conversationID,
            userID: question.userID, tier: resolution.tier, outcome: outcome,
            question: StoredQuestion.text(for: question.text), answer: resolution.answer, citations: citations,
            confidence: resolution.confidence,
            costMicros: resolution.costMicros, tokensIn: resolution.attempts.reduce(0) { $0 + $1.tokensIn },
            tokensOut: resolution.attempts.reduce(0) { $0 + $1.tokensOut },
            latencyMs: resolution.attempts.reduce(0) { $0 + $1.latencyMs }, occurredAt: question.occurredAt,
            note: resolution.attempts.compactMap { a in a.note.map { "\(a.tier): \($0)" } }.joined(separator: "; "))
    }

    /// The recorded outcome for a retry, or a conflict when the id was recorded for another question:
    /// reusing an idempotency key with different content must never return another question's answer.
    static func replay(_ rows: [LedgerEntry], for question: Question) throws -> Resolution {
        if let stored = rows.first(where: { $0.kind == .query }),
            stored.tier == WorkflowRuns.tier
                || !StoredQuestion.matches(stored: stored.question, question: question.text)
        {
            throw ResolutionError.idempotencyConflict(queryID: question.queryID)
        }
        return resolution(from: rows)
    }

    /// The outcome recorded for a query, rebuilt from its ledger rows (`replayed` is true).
    public static func recordedResolution(from rows: [LedgerEntry]) -> Resolution { resolution(from: rows) }

    /// Rebuilds the outcome of a recorded query from its ledger rows.
    static func resolution(from rows: [LedgerEntry]) -> Resolution {
        let query = rows.first { $0.kind == .query }
        let citations =
            query?.citations.flatMap { try? JSONDecoder().decode([Citation].self, from: Data($0.utf8)) } ?? []
        let attempts = rows.filter { $0.kind == .attempt }.map {
            Attempt(
                tier: $0.tier, confidence: $0.confidence, costMicros: $0.costMicros, tokensIn: $0.tokensIn,
                tokensOut: $0.tokensOut, latencyMs: $0.latencyMs, outcome: $0.outcome, note: $0.note)
        }
        return Resolution(
            queryID: query?.queryID ?? "", tenant: query?.tenant ?? "", conversationID: query?.conversationID,
            tier: query?.tier ?? "", answer: query?.answer ?? "", citations: citations, confidence: query?.confidence,
            costMicros: query?.costMicros ?? 0, attempts: attempts, replayed: true)
    }
}
