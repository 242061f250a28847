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
