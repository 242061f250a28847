import Cascade
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metering

/// `POST /v1/ask` and the query routes: the cascade over HTTP, metered in the ledger.
struct AskRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("ask", use: ask)
        group.get("queries/{query_id}", use: query)
        group.post("queries/{query_id}/reopen", use: reopen)
        group.post("queries/{query_id}/feedback", use: feedback)
        group.post("queries/{query_id}/void", use: void)
    }

    @Sendable func ask(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.query)
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes,
            allowed: ["question", "conversation_id", "user_id", "query_id"])
        guard let question = try body.string("question", required: true) else { throw Problem.internalError }
        let header = try Identifier.validate(
            request.headers[HTTPField.Name("Idempotency-Key")!], field: "Idempotency-Key")
        let bodyID = try Identifier.validate(body.string("query_id"), field: "query_id")
        if let header, let bodyID, header != bodyID {
            throw Problem.unprocessable(
                "the Idempotency-Key header (\(header)) and \"query_id\" (\(bodyID)) differ; send one, or the same in both",
                code: "idempotency-key-mismatch")
        }
        let resolution = try await service.ask(
            tenant: key.tenant, question: question, queryID: header ?? bodyID,
            conversationID: try body.string("conversation_id"), userID: try body.string("user_id"))
        var headers: HTTPFields = [:]
        if resolution.replayed { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return JSONResponse(try Presenter.resolution(resolution), headers: headers)
    }

    /// The recorded outcome and every ledger row of one of the tenant's queries.
    @Sendable func query(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.query)
        let id = try context.pathID("query_id")
        let rows = try await service.ledger.entries(tenant: key.tenant, queryID: id)
        guard rows.contains(where: { $0.kind == .query }) else {
            throw Problem.notFound("no query \(id) for this tenant")
        }
        var outcome = try Presenter.resolution(Resolver.recordedResolution(from: rows))
        if case .object(var members) = outcome {
            members["ledger"] = .array(try rows.map(Presenter.entry))
            outcome = .object(members)
        }
        return JSONResponse(outcome)
    }

    /// `POST /v1/queries/{id}/feedback` `{"helpful": true|false, "comment": …}` (query keys: the
    /// widget calls it): the customer's verdict on a resolution, once. The same verdict again
    /// returns the recorded row (200); another one is a 409. Not helpful: never billed, and the
    /// question goes to the escalation queue at once.
    @Sendable func feedback(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.query)
        let id = try context.pathID("query_id")
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["helpful", "comment"])
        guard let helpful = try body.bool("helpful") else {
            throw Problem.unprocessable("\"helpful\" is required: true or false")
        }
        let comment = try body.string("comment")
        let (row, replayed) = try await service.recordFeedback(
            tenant: key.tenant, queryID: id, helpful: helpful, comment: comment)
        if replayed {
            return JSONResponse(
                try Presenter.entry(row), status: .ok, headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
        }
        return JSONResponse(try Presenter.entry(row), status: .created)
    }

    @Sendable func reopen(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        try await correct(request, context: context, outcome: "reopened", reasonRequired: false)
    }

    @Sendable func void(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        try await correct(request, context: context, outcome: "voided", reasonRequired: true)
    }

    private func correct(_ request: Request, context: APIRequestContext, outcome: String, reasonRequired: Bool)
        async throws -> JSONResponse
    {
        let key = try context.require(.admin)
        let id = try context.pathID("query_id")
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["reason"], optional: !reasonRequired)
        let reason = try body.string("reason", required: reasonRequired)
        if let reason, reason.trimmingCharacters(in: .whitespaces).isEmpty || reason.count > 2000 {
            throw Problem.unprocessable("\"reason\" must say why, in at most 2,000 characters")
        }
        if reason?.unicodeScalars.contains("\u{0}") == true {
            throw Problem.unprocessable("\"reason\" must not contain NUL characters")
        }
        let rows = try await service.ledger.entries(tenant: key.tenant, queryID: id)
        guard let query = rows.first(where: { $0.kind == .query }) else {
            throw Problem.notFound("no query \(id) for this tenant")
        }
        guard ["rule", "rag", "llm"].contains(query.tier) else {
            throw Problem.conflict(
                "query \(id) was \(query.tier), not resolved: only resolutions can be \(outcome)",
                code: "not-a-resolution")
        }
        // A voided resolution is final: it can be neither voided again nor reopened.
        if let done = rows.first(where: {
            $0.kind == .correction && ($0.outcome == outcome || $0.outcome == "voided")
        }) {
            throw Problem.conflict("query \(id) is already \(done.outcome)", code: "already-\(done.outcome)")
        }
        let row = try await service.ledger.correct(
            tenant: key.tenant, queryID: id, outcome: outcome, answer: nil, note: reason,
            now: service.configuration.clock.now())
        return JSONResponse(try Presenter.entry(row), status: .created)
    }
}
