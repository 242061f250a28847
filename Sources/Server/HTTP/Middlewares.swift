import Foundation
import HTTPTypes
import Hummingbird
import KnowledgeBase
import Logging
import Metering
import NIOHTTP1
import Synchronization

/// Turns every error into `application/problem+json` and stamps each response with its
/// request id (`X-Request-Id`), so a client's bug report can be matched with the server's log.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    /// The router's routes, to answer 405 (with `Allow`) for a known path and another method.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let problem as Problem {
            response = try problem.response(from: request, context: context)
        } catch let error as HTTPError {
            var problem = Self.problem(for: error)
            if error.status == .notFound, let allowed = routes.methods(for: request.uri.path) {
                problem = Problem(
                    .methodNotAllowed, code: "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.uri.path) accepts \(allowed.joined(separator: ", "))",
                    headers: [.allow: allowed.joined(separator: ", ")])
            }
            response = try problem.response(from: request, context: context)
        } catch let error as LedgerError {
            // A rule of the ledger the route did not check first: the caller's mistake, never a 500.
            response = try Self.problem(for: error).response(from: request, context: context)
        } catch let error as StoreError {
            if case .corrupted = error {
                // Damaged stored data: refused rather than answered (and billed) from it.
                context.logger.error("knowledge base damaged", metadata: ["error": "\(error)"])
                response = try Problem(
                    .internalServerError, code: "knowledge-base-damaged", title: "Knowledge base damaged",
                    detail: "\(error.description); nothing was answered or billed"
                ).response(from: request, context: context)
            } else {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
                response = try Problem.internalError.response(from: request, context: context)
            }
        } catch let error as HTTPParserError {
            // The client's connection broke mid-request (a body cut short): nothing was done with
            // it, and the answer most likely reaches no one.
            context.logger.debug("request body cut short", metadata: ["error": "\(error)"])
            response = try Problem.badRequest(
                "the request ended before its body did (\(error)); send it again", code: "incomplete-body"
            ).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try Self.problem(for: HTTPError(error.status)).response(from: request, context: context)
        } catch let error as any StoreUnavailableError where error.unavailableReason != nil {
            // The shared database is away: nothing of this request was written (its transaction
            // rolled back), so the client can retry with the same Idempotency-Key.
            context.logger.warning("store unavailable", metadata: ["error": "\(error)"])
            response = try Problem.unavailable(
                "\(error.unavailableReason ?? "the database is unavailable"); nothing was recorded for this request, retry with the same Idempotency-Key",
                retryAfter: 2
            ).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            response = try Problem.internalError.response(from: request, context: context)
        }
        response.headers[HTTPField.Name("X-Request-Id")!] = context.id
        return response
    }

    static func problem(for error: LedgerError) -> Problem {
        switch error {
        case .unknownQuery, .unknownWebhook, .unknownAlert: Problem.notFound(error.description)
        case .monthFinalized: Problem.conflict(error.description, code: "month-finalized")
        case .invalidInput, .occurredInFuture, .occurredTooLongAgo: Problem.unprocessable(error.description)
        case .cannotOpen, .corruptedFinalInvoice:
            Problem(
                .internalServerError, code: "ledger-unusable", title: "Ledger unusable",
                detail: "the ledger cannot be used (\(error.description)); an administrator must look at it")
        }
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
        guard let key = try await service.control.authenticateKey(token) else { throw Problem.unauthorized }
        if let wait = service.rateLimiter.acquire(key.keyID) {
            throw Problem.tooManyRequests(
                "this key is over its rate limit (\(service.configuration.rateLimitPerSecond) requests/s); retry after \(wait) s",
                retryAfter: wait)
        }
        // The body is read before the request takes one of its tenant's slots: a client sending
        // its body slowly (the query key is public) holds only its own connection, and only until
        // the body deadline, never the slots that answering needs.
        var request = request
        try await BodyReader.buffer(&request, limit: service.configuration.bodyLimit(for: request))
        // Admin and query keys have separate slots, so a flood of widget traffic cannot lock the
        // tenant's administrators out.
        let slot = "\(key.tenant)\u{0}\(key.scope.rawValue)"
        guard service.inFlight.enter(slot) else {
            throw Problem.tooManyRequests(
                "this tenant's \(key.scope.rawValue) keys already have \(service.inFlight.limit) requests in progress; retry shortly",
                retryAfter: 1, code: "too-many-in-flight")
        }
        defer { service.inFlight.leave(slot) }
        var context = context
        context.key = key
        context.logger[metadataKey: "tenant"] = .string(key.tenant)
        context.logger[metadataKey: "key_id"] = .string(key.keyID)
        return try await next(request, context)
    }
}

/// The method of each route template, filled once the routes are registered.
final class RouteTable: Sendable {
    private let entries = Mutex<[(segments: [Substring], method: String)]>([])

    func record(_ routes: [(path: String, method: String)]) {
        entries.withLock { $0 = routes.map { ($0.path.split(separator: "/"), $0.method) } }
    }

    /// The methods served at `path`, or nil when no route template matches it.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        let methods = entries.withLock { entries in
            entries.filter { entry in
                entry.segments.count == segments.count
                    && zip(entry.segments, segments).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
            }.map(\.method)
        }
        return methods.isEmpty ? nil : Array(Set(methods)).sorted()
    }
}
