import Embeddings
import Foundation
import Hummingbird

/// Unauthenticated routes for operators and clients: liveness, readiness, metrics, the API document.
struct OperationsRoutes {
    let service: CascadeService

    func register(on router: Router<APIRequestContext>) {
        router.get("healthz") { _, _ in JSONResponse(["status": "ok"]) }
        router.get("readyz") { _, _ in
            guard service.isReady else {
                throw Problem.unavailable("loading the tenants' knowledge bases; retry shortly")
            }
            let failures = service.knowledgeBaseFailures
            guard failures.isEmpty else {
                // Unauthenticated: the count only; the log names the tenants and the reasons.
                var problem = Problem.unavailable(
                    "\(failures.count) tenant knowledge base(s) failed to load, so their questions cannot be answered; "
                        + "the log names them and why (fix, then restart)",
                    retryAfter: 30)
                problem.code = "knowledge-base-failed"
                throw problem
            }
            return JSONResponse(["status": "ready", "model": .string(service.defaultEmbedder.modelID)])
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: service.metrics.text)))
        }
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml + "\n")))
        }
    }
}
