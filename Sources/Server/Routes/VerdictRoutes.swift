import Evaluation
import Foundation
import Hummingbird
import Metering

/// Customers' verdicts (admin): the list, and the RAG threshold they support
/// (``VerdictThreshold``), the same report as `cascade verdicts list|threshold`.
struct VerdictRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("verdicts", use: list)
        group.get("verdicts/threshold", use: threshold)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let limit = try DocumentRoutes.integer(
            request.uri.queryParameters.get("limit"), name: "limit", default: 100, range: 1...1000)
        let verdicts = try await service.ledger.customerVerdicts(tenant: key.tenant, latest: limit)
        return JSONResponse(["verdicts": .array(verdicts.map(Presenter.verdict)), "limit": .int(limit)])
    }

    @Sendable func threshold(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let parameters = request.uri.queryParameters
        var target = 0.05
        if let text = parameters.get("max_false_resolution") {
            guard let value = Double(text), (0.0..<1.0).contains(value) else {
                throw Problem.unprocessable("max_false_resolution must be a number in [0, 1), e.g. 0.05")
            }
            target = value
        }
        let minimum = try DocumentRoutes.integer(
            parameters.get("min_verdicts"), name: "min_verdicts", default: 30, range: 1...1_000_000)
        let verdicts = try await service.ledger.customerVerdicts(tenant: key.tenant)
        let r = VerdictThreshold.recommend(verdicts, target: target, minimumVerdicts: minimum)
        return JSONResponse(Presenter.verdictThreshold(r, tenant: key.tenant))
    }
}
