import Foundation
import HTTPTypes
import Hummingbird

/// An error answered as `application/problem+json` (RFC 9457): a stable `type` URI a client can
/// switch on, a `title`, the `status`, a human `detail` saying what to do, and the request id.
public struct Problem: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    /// The last path segment of `type` (`https://cascade.dev/problems/<code>`).
    public var code: String
    public var title: String
    public var status: HTTPResponse.Status
    public var detail: String
    public var headers: HTTPFields = [:]
    /// More members, e.g. `retry_after_seconds` or the invalid fields.
    public var extra: [String: JSONValue] = [:]

    public init(
        _ status: HTTPResponse.Status, code: String, title: String, detail: String, headers: HTTPFields = [:],
        extra: [String: JSONValue] = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra
    }

    public static let typeBase = "https://cascade.dev/problems/"
    public var description: String { "\(status.code) \(code): \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = extra
        body["type"] = .string(Self.typeBase + code)
        body["title"] = .string(title)
        body["status"] = .int(status.code)
        body["detail"] = .string(detail)
        body["instance"] = .string(request.uri.path)
        body["request_id"] = .string(context.id)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: status, headers: fields,
            body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(body).serialized + "\n")))
    }
}

extension Problem {
    static func badRequest(_ detail: String, code: String = "invalid-request") -> Problem {
        Problem(.badRequest, code: code, title: "Invalid request", detail: detail)
    }
    static func unprocessable(_ detail: String, code: String = "invalid-field") -> Problem {
        Problem(.unprocessableContent, code: code, title: "Invalid field", detail: detail)
    }
    static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, code: "not-found", title: "Not found", detail: detail)
    }
    static func conflict(_ detail: String, code: String) -> Problem {
        Problem(.conflict, code: code, title: "Conflict", detail: detail)
    }
    static let unauthorized = Problem(
        .unauthorized, code: "unauthorized", title: "Unauthorized",
        detail: "send a valid API key as `Authorization: Bearer KEY` (create one with `cascade keys create`)",
        headers: [.wwwAuthenticate: "Bearer realm=\"cascade\""])
    static func forbidden(_ detail: String) -> Problem {
        Problem(.forbidden, code: "forbidden", title: "Forbidden", detail: detail)
    }
    static func tooLarge(_ detail: String) -> Problem {
        Problem(.contentTooLarge, code: "body-too-large", title: "Request body too large", detail: detail)
    }
    static func tooManyRequests(_ detail: String, retryAfter: Int, code: String = "rate-limited") -> Problem {
        Problem(
            .tooManyRequests, code: code, title: "Too many requests", detail: detail,
            headers: [.retryAfter: String(retryAfter)], extra: ["retry_after_seconds": .int(retryAfter)])
    }
    static func unavailable(_ detail: String, retryAfter: Int = 1) -> Problem {
        Problem(
            .serviceUnavailable, code: "unavailable", title: "Service unavailable", detail: detail,
            headers: [.retryAfter: String(retryAfter)])
    }
    static let internalError = Problem(
        .internalServerError, code: "internal", title: "Internal error",
        detail: "the server failed to answer; nothing was recorded for this request unless its id is in the ledger; "
            + "retry with the same Idempotency-Key")
}
