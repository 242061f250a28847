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
