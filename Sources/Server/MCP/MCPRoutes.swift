import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore

/// `/mcp`: the Model Context Protocol over streamable HTTP, for the tenant of the request's key.
///
/// Stateless: every POST gets a fresh MCP server for the key's tenant and scope, answers with
/// one JSON response and keeps nothing, so any node behind a load balancer can answer any
/// request and a revoked key stops working at once. (No server-sent events: GET and DELETE are
/// 405, which MCP clients accept.) Keys are checked by the same middleware as `/v1`.
struct MCPRoutes {
    let service: CascadeService

    func register(on router: Router<APIRequestContext>) {
        let group = router.group("mcp").add(middleware: AuthMiddleware(service: service))
        group.post(use: handle)
        group.get(use: handle)
        group.delete(use: handle)
    }

    @Sendable func handle(_ request: Request, context: APIRequestContext) async throws -> Response {
        let key = try context.require(.query)
        var body: Data?
        if request.method == .post {
            let bytes = try await BodyReader.bytes(request, limit: service.configuration.maxBodyBytes)
            body = Data(bytes.readableBytesView)
            // JSON-RPC batches left MCP in its 2025-06-18 revision; one request carrying a thousand
            // `ask` calls would also pass the rate limit and the in-flight cap as one request.
            if body?.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "[") {
                return try await Self.response(
                    .error(
                        statusCode: 400,
                        .invalidRequest("JSON-RPC batches are not accepted: send one message per request")))
            }
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        let mcpRequest = MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: body, path: "/mcp")
        let transport = StatelessHTTPServerTransport()
        let server = await MCPToolbox(service: service, tenant: key.tenant, scope: key.scope)
            .makeServer(version: ServiceVersion.number)
        try await server.start(transport: transport)
        let answer = await transport.handleRequest(mcpRequest)
        await server.stop()
        return try await Self.response(answer)
    }

    static func response(_ answer: MCP.HTTPResponse) async throws -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        var data = answer.bodyData ?? Data()
        if case .stream(let stream, _) = answer {
            for try await chunk in stream { data.append(chunk) }
        }
        return Response(
            status: HTTPResponse.Status(code: answer.statusCode), headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
