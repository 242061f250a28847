import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the HTTP application of `cascade serve`.
public enum CascadeServer {
    /// Every route of the API on one router (tests call this directly).
    public static func buildRouter(service: CascadeService) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        let routes = RouteTable()
        router.middlewares.add(MetricsMiddleware(metrics: service.metrics))
        router.middlewares.add(ProblemMiddleware(routes: routes))
        OperationsRoutes(service: service).register(on: router)
        let api = router.group("v1").add(middleware: AuthMiddleware(service: service))
        AskRoutes(service: service).register(on: api)
        SearchRoutes(service: service).register(on: api)
        DocumentRoutes(service: service).register(on: api)
        EscalationRoutes(service: service).register(on: api)
        VerdictRoutes(service: service).register(on: api)
        BillingRoutes(service: service).register(on: api)
        WebhookRoutes(service: service).register(on: api)
        SpendRoutes(service: service).register(on: api)
        WorkflowRoutes(service: service).register(on: api)
        MCPRoutes(service: service).register(on: router)
        DashboardRoutes(service: service).register(on: router)
        routes.record(router.routes.map { ("\($0.path)", $0.method.rawValue) })
        return router
    }

    /// The application: the router on `host:port`; SIGTERM and SIGINT stop it gracefully (no new
    /// connections, in-flight requests finish, queued ingest jobs finish).
    /// - Parameter onRunning: called with the bound port once the server accepts connections.
    public static func buildApplication(
        service: CascadeService, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let configuration = service.configuration
        let limits = ConnectionLimits(
            maxConnections: configuration.maxConnections, headerTimeoutSeconds: configuration.headerTimeoutSeconds,
            bodyTimeoutSeconds: configuration.bodyTimeoutSeconds)
        var app = Application(
            router: buildRouter(service: service),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ConnectionGuard(limits: limits)],
                    idleTimeout: .milliseconds(Int64(configuration.idleTimeoutSeconds * 1000)))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "cascade"),
            onServerRunning: { channel in
                await onRunning(channel.localAddress?.port ?? configuration.port)
            },
            logger: service.logger)
        app.addServices(JobDrainService(service: service))
        if service.knowledgeLog != nil { app.addServices(KnowledgeSyncService(service: service)) }
        if configuration.sendWebhooks { app.addServices(WebhookDispatchService(dispatcher: service.webhookDispatcher)) }
        app.addServices(SpendAlertService(service: service))
        app.beforeServerStarts { await service.warmUp() }
        return app
    }
}

/// Keeps ingest jobs running until shutdown, then lets the queued ones finish.
struct JobDrainService: Service {
    let service: CascadeService

    func run() async throws {
        try? await gracefulShutdown()
        await service.drainJobs()
    }
}

/// With several nodes: checks the shared log's versions every `interval` and replays what
/// another node ingested, so an upload through any node is searchable through all of them
/// within about that long (plus the time to apply it).
struct KnowledgeSyncService: Service {
    let service: CascadeService
    var interval: Duration = .milliseconds(500)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await service.catchUpKnowledgeBases()
            try? await Task.sleep(for: interval)
        }
    }
}

/// Evaluates every tenant's spend alerts every ``ServerConfiguration/alertEvaluationInterval``:
/// what changed without a question on this node (another node's questions, a void, the month
/// ending) fires or resolves alerts too.
struct SpendAlertService: Service {
    let service: CascadeService

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Cut short by a graceful shutdown: stopping never waits out the interval.
            let interval = service.configuration.alertEvaluationInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully, let tenants = try? await service.control.tenants() else { continue }
            for tenant in tenants where service.spend.hasAlerts(tenant.id) {
                await service.spend.evaluateLogging(tenant.id)
            }
        }
    }
}
