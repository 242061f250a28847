import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Server
import ServiceLifecycle

/// The service on a loopback port and a real HTTP client calling it, as `app.test(.ahc(.http))`
/// does, but with a client deadline that only ends a hung test.
///
/// HummingbirdTesting's client gives every request 15 s; on a loaded two-core CI machine a
/// correct request once took longer and the test failed on `deadlineExceeded` although nothing
/// was wrong. Here a request may take up to ``requestDeadline``: a limit on hanging, not a speed
/// requirement (speed is measured by the benchmarks).
enum LiveServer {
    static let requestDeadline = TimeAmount.seconds(300)

    /// Runs `body` with a client of `service` served on a free loopback port.
    static func run<Value: Sendable>(
        _ service: CascadeService, _ body: @Sendable (LiveClient) async throws -> Value
    ) async throws -> Value {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = CascadeServer.buildApplication(service: service) { port in
            portSink.yield(port)
            portSink.finish()
        }
        var logger = Logger(label: "cascade.test.live")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port: Int?
            for await bound in ports {
                port = bound
                break
            }
            guard let port else { throw FixtureError("the server stopped before it listened") }
            // As many connections as a test's concurrent requests (the default 8 made 200 concurrent
            // uploads wait in the pool past its timeout on a loaded machine), and a connect timeout
            // that only ends a hung test. Idle connections are dropped after 30 s, before the
            // server's 60 s idle timeout closes them: with both at 60 s, a connection idle while
            // 200 uploads were ingested on a loaded machine was reused for a POST just as the server
            // closed it (`remoteConnectionClosed`, and a POST is not retried).
            var settings = HTTPClient.Configuration(
                timeout: .init(connect: .seconds(120)),
                connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256))
            settings.httpVersion = .http1Only
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
            let client = LiveClient(http: http, base: "http://127.0.0.1:\(port)")
            let result: Result<Value, any Error>
            do { result = .success(try await body(client)) } catch { result = .failure(error) }
            await group.triggerGracefulShutdown()
            try await http.shutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}

/// A request and its response, over a real connection.
struct LiveClient: Sendable {
    struct Response: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer
    }

    let http: HTTPClient
    let base: String

    func execute(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws
        -> Response
    {
        var request = HTTPClientRequest(url: base + (uri.first == "/" ? "" : "/") + uri)
        request.method = HTTPMethod(rawValue: method.rawValue)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = body.map { .bytes($0) }
        let response = try await http.execute(request, deadline: .now() + LiveServer.requestDeadline)
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let key = HTTPField.Name(name) { fields.append(HTTPField(name: key, value: value)) }
        }
        let collected = try await response.body.collect(upTo: .max)
        return Response(status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields, body: collected)
    }
}
