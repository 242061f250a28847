import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into `application/problem+json` and stamps each response with its
/// request id (`X-Request-Id`), so a client's bug report can be matched with the server's log.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let problem as Problem {
            response = try problem.response(from: request, context: context)
        } catch let error as HTTPError {
            response = try Self.problem(for: error).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try Self.problem(for: HTTPError(error.status)).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            response = try Problem.internalError.response(from: request, context: context)
        }
        response.headers[HTTPField.Name("X-Request-Id")!] = context.id
        return response
    }

    static func problem(for error: HTTPError) -> Problem {
        switch error.status {
        case .notFound:
            Problem.notFound("no such route; see /openapi.yaml for the API")
        case .methodNotAllowed:
            Problem(
                .methodNotAllowed, code: "method-not-allowed", title: "Method not allowed",
                detail: "this route does not accept that method; see /openapi.yaml")
        case .contentTooLarge:
            Problem.tooLarge(error.body ?? "the request body is over the limit")
        default:
            Problem(
                error.status, code: "http-\(error.status.code)", title: error.status.reasonPhrase,
                detail: error.body ?? error.status.reasonPhrase)
        }
    }
}

/// Authenticates `Authorization: Bearer KEY`, then applies the key's rate limit and its
/// tenant's in-flight cap. Keys are looked up on every request, so revocation is immediate.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let service: CascadeService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard let header = request.headers[.authorization], header.count < 512 else { throw Problem.unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw Problem.unauthorized }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard let key = try service.control.authenticate(token) else { throw Problem.unauthorized }
        if let wait = service.rateLimiter.acquire(key.keyID) {
            throw Problem.tooManyRequests(
                "this key is over its rate limit (\(service.configuration.rateLimitPerSecond) requests/s); retry after \(wait) s",
                retryAfter: wait)
        }
        guard service.inFlight.enter(key.tenant) else {
            throw Problem.tooManyRequests(
                "this tenant already has \(service.inFlight.limit) requests in progress; retry shortly",
                retryAfter: 1, code: "too-many-in-flight")
        }
        defer { service.inFlight.leave(key.tenant) }
        var context = context
        context.key = key
        context.logger[metadataKey: "tenant"] = .string(key.tenant)
        context.logger[metadataKey: "key_id"] = .string(key.keyID)
        return try await next(request, context)
    }
}
