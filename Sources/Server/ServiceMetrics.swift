import Foundation
import Hummingbird
import Logging
import Prometheus

/// The service's Prometheus metrics (`GET /metrics`), in a registry of its own (no global state,
/// so several services in one test process do not mix their numbers).
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    func recordRequest(method: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(
            name: "cascade_http_requests_total",
            labels: [("method", method), ("route", route), ("status", String(status))],
            help: "HTTP requests answered, by method, route and status."
        ).increment()
        registry.makeDurationHistogram(
            name: "cascade_http_request_duration_seconds", labels: [("route", route)],
            buckets: [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            ],
            help: "Time to answer an HTTP request, by route."
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    func recordResolution(tier: String, replayed: Bool) {
        registry.makeCounter(
            name: "cascade_questions_total", labels: [("tier", tier), ("replayed", replayed ? "true" : "false")],
            help: "Questions answered through the API, by the tier that settled them."
        ).increment()
    }

    func setGauge(_ name: String, _ value: Double, help: String) {
        registry.makeGauge(name: name, help: help).set(value)
    }

    var text: String { registry.emitToString() }
}

/// Counts and times every request by its route template (never by raw path: ids stay out of
/// labels), and writes one access-log line per request at info level: method, route template,
/// status and time, with the request id. Never the key, the question or the raw path.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(
            method: request.method.rawValue, route: route, status: Int(response.status.code), seconds: seconds)
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "route": .string(route),
                "status": .stringConvertible(response.status.code),
                "ms": .string(String(format: "%.2f", seconds * 1000)),
            ])
        return response
    }
}
