import Foundation
import Hummingbird
import Metering

/// The human queue (admin): open escalations, and closing one with an agent's answer.
struct EscalationRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("escalations", use: list)
        group.post("escalations/{query_id}/resolve", use: resolve)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let open = try await service.ledger.escalationQueue(tenant: key.tenant)
        return JSONResponse(["escalations": .array(open.map(Presenter.escalation))])
    }

    @Sendable func resolve(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let id = try context.pathID("query_id")
        let body = try await BodyReader.object(request, limit: service.configuration.maxBodyBytes, allowed: ["answer"])
        guard let answer = try body.string("answer", required: true),
            !answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { throw Problem.unprocessable("\"answer\" must not be empty") }
        guard answer.count <= 20_000 else { throw Problem.unprocessable("\"answer\" is over 20,000 characters") }
        guard !answer.unicodeScalars.contains("\u{0}") else {
            throw Problem.unprocessable("\"answer\" must not contain NUL characters")
        }
        let rows = try await service.ledger.entries(tenant: key.tenant, queryID: id)
        guard let query = rows.first(where: { $0.kind == .query }) else {
            throw Problem.notFound("no query \(id) for this tenant")
        }
        let rejectedByCustomer = rows.contains {
            $0.kind == .correction && $0.outcome == Ledger.Verdict.notHelpful.outcome
        }
        guard query.tier == "escalated" || rejectedByCustomer else {
            throw Problem.conflict("query \(id) was not escalated (tier \(query.tier))", code: "not-escalated")
        }
        guard !rows.contains(where: { $0.kind == .correction && $0.outcome == "agent_answer" }) else {
            throw Problem.conflict("escalation \(id) is already resolved", code: "already-resolved")
        }
        let row = try await service.ledger.correct(
            tenant: key.tenant, queryID: id, outcome: "agent_answer", answer: answer, note: nil,
            now: service.configuration.clock.now())
        return JSONResponse(try Presenter.entry(row), status: .created)
    }
}
