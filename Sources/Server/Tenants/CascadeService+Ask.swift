import Cascade
import Foundation
import HTTPTypes
import Logging
import Metering

extension CascadeService {
    /// One question through the tenant's cascade, metered in the ledger: the one path behind
    /// `POST /v1/ask` and the MCP `ask` tool, so both refuse, record and replay alike.
    ///
    /// - Parameter queryID: the idempotency key; a new id when nil (a repeat with the same id
    ///   replays the recorded outcome instead of billing twice).
    /// - Throws: ``Problem`` for anything the caller must fix (too long, NUL characters, invalid
    ///   ids, unusable tenant settings, an id reused for another question).
    func ask(
        tenant: String, question: String, queryID: String?, conversationID: String?, userID: String?
    ) async throws -> Resolution {
        let question = try QuestionText.checked(question, maxCharacters: configuration.maxQuestionCharacters)
        let queryID = try Identifier.validate(queryID, field: "query_id") ?? "q_" + UUID().uuidString.lowercased()
        let conversationID = try Identifier.validate(conversationID, field: "conversation_id")
        let userID = try Identifier.validate(userID, field: "user_id")
        let resolver: Resolver
        do {
            resolver = try self.resolver(for: tenant)
        } catch let error as RuleError {
            // Never answer with defaults when the tenant's rules or threshold cannot be read.
            logger.error("tenant settings unusable", metadata: ["tenant": .string(tenant), "error": "\(error)"])
            throw Problem(
                .serviceUnavailable, code: "tenant-misconfigured", title: "Tenant settings unusable",
                detail: "this tenant's settings or rules cannot be loaded, so nothing was answered or recorded; "
                    + "an administrator must fix them (the server log says what is wrong)")
        }
        // What the question's tiers held against the spend cap becomes spent once its rows are
        // recorded (or it failed); the tenant's alerts are then evaluated off this path.
        defer {
            spend.finished(tenant: tenant, queryID: queryID)
            if spend.hasAlerts(tenant) { spend.scheduleEvaluation(tenant) }
        }
        do {
            let resolution = try await resolver.resolve(
                Question(
                    queryID: queryID, tenant: tenant, conversationID: conversationID, userID: userID, text: question,
                    occurredAt: configuration.clock.now()))
            metrics.recordResolution(tier: resolution.tier, replayed: resolution.replayed)
            return resolution
        } catch let conflict as ResolutionError {
            throw Problem.conflict(conflict.description, code: "idempotency-conflict")
        }
    }
}

extension CascadeService {
    /// Records the customer's verdict on a resolution (the HTTP route and the MCP tool both call
    /// this): once per query; the same verdict again returns the recorded row (`replayed`), the
    /// other one is a 409. Not helpful: never billed, and the question joins the escalation queue.
    func recordFeedback(tenant: String, queryID id: String, helpful: Bool, comment: String?) async throws -> (
        row: LedgerEntry, replayed: Bool
    ) {
        if let comment, comment.count > 2000 || comment.unicodeScalars.contains("\u{0}") {
            throw Problem.unprocessable("\"comment\" must be at most 2,000 characters, without NUL characters")
        }
        let verdict: Ledger.Verdict = helpful ? .helpful : .notHelpful
        let rows = try await ledger.entries(tenant: tenant, queryID: id)
        guard let query = rows.first(where: { $0.kind == .query }) else {
            throw Problem.notFound("no query \(id) for this tenant")
        }
        guard ["rule", "rag", "llm"].contains(query.tier) else {
            throw Problem.conflict(
                "query \(id) was \(query.tier), not resolved: only an answer can be rated", code: "not-a-resolution")
        }
        if let recorded = rows.first(where: { $0.kind == .correction && Ledger.Verdict(outcome: $0.outcome) != nil }) {
            guard recorded.outcome == verdict.outcome else {
                throw Problem.conflict(
                    "query \(id) already has the customer's verdict (\(recorded.outcome)); it cannot change",
                    code: "verdict-recorded")
            }
            return (recorded, true)
        }
        if rows.contains(where: { $0.kind == .correction && $0.outcome == "voided" }) {
            throw Problem.conflict(
                "query \(id) is voided: it is not billed and takes no verdict", code: "already-voided")
        }
        let note = comment.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let row = try await ledger.correct(
            tenant: tenant, queryID: id, outcome: verdict.outcome, answer: nil, note: note,
            now: configuration.clock.now())
        return (row, false)
    }
}
