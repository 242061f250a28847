import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// The connection limits of ``ConnectionGuard``, shared by every connection of one server.
final class ConnectionLimits: Sendable {
    /// Connections open at once; past it a request gets 503 and its connection is closed.
    let maxConnections: Int
    /// From a request's first byte to the end of its header block.
    let headerTimeout: TimeAmount
    /// From the end of a request's headers to the end of its body.
    let bodyTimeout: TimeAmount
    private let open = Atomic<Int>(0)

    init(maxConnections: Int, headerTimeoutSeconds: Double, bodyTimeoutSeconds: Double) {
        self.maxConnections = maxConnections
        headerTimeout = .milliseconds(Int64(headerTimeoutSeconds * 1000))
        bodyTimeout = .milliseconds(Int64(bodyTimeoutSeconds * 1000))
    }

    /// Counts a new connection; false when that makes more than `maxConnections`.
    func enter() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        return now <= maxConnections
    }

    func leave() { open.subtract(1, ordering: .relaxed) }

    var openConnections: Int { open.load(ordering: .relaxed) }
}

/// What one connection's two handlers share (both run on the connection's event loop).
private final class ConnectionTimers {
    var awaitingHead = true
    var headerDeadline: Scheduled<Void>?
    var bodyDeadline: Scheduled<Void>?

    func cancelAll() {
        headerDeadline?.cancel()
        headerDeadline = nil
        bodyDeadline?.cancel()
        bodyDeadline = nil
    }
}

/// Guards each connection against clients that hold it without finishing a request, which an
/// idle timeout alone does not catch (a byte every 50 s is never idle):
/// - a request's headers must arrive within `headerTimeout` of its first byte, else the
///   connection is closed;
/// - its body must arrive within `bodyTimeout` of its headers, else the client gets a 408
///   problem and the connection is closed (the request's handler sees the body fail, never a
///   shortened body);
/// - past `maxConnections` open connections, a request gets a 503 problem and is closed;
/// - a request the HTTP parser refuses (a NUL in a header, say) gets a 400 problem+json rather
///   than an empty 400.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let timers = ConnectionTimers()
    private var counted = false
    private var overCapacity = false
    private var responseStarted = false
    private var closing = false
    private var path = "/"

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        overCapacity = !limits.enter()
        // The header deadline needs the raw bytes (a header block arrives here only once whole).
        try? context.pipeline.syncOperations.addHandler(
            RequestStartWatcher(timers: timers, timeout: limits.headerTimeout), position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        timers.cancelAll()
        if counted {
            counted = false
            limits.leave()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            timers.headerDeadline?.cancel()
            timers.headerDeadline = nil
            timers.awaitingHead = false
            responseStarted = false
            path = String((head.path ?? "/").prefix(200).split(separator: "?").first ?? "/")
            if overCapacity {
                refuse(
                    context: context, status: .serviceUnavailable, code: "too-many-connections",
                    title: "Service unavailable",
                    detail: "the server has \(limits.maxConnections) connections open, its limit; retry shortly",
                    extra: [.retryAfter: "1"])
                return
            }
            let loop = context.eventLoop.assumeIsolated()
            timers.bodyDeadline = loop.scheduleTask(in: limits.bodyTimeout) { [self] in
                timers.bodyDeadline = nil
                guard !closing else { return }
                let seconds = limits.bodyTimeout.nanoseconds / 1_000_000_000
                if responseStarted {
                    closing = true
                    context.fireErrorCaught(ConnectionRefused(status: .requestTimeout, detail: "body timeout"))
                    context.close(promise: nil)
                } else {
                    refuse(
                        context: context, status: .requestTimeout, code: "body-timeout", title: "Request timeout",
                        detail: "the request body did not arrive within \(seconds) s of its headers; send it at once")
                }
            }
        case .body:
            break
        case .end:
            timers.bodyDeadline?.cancel()
            timers.bodyDeadline = nil
            timers.awaitingHead = true
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { responseStarted = true }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once this handler has answered, the parser's complaint about the cut-off request
        // (`invalidEOFState`) is expected and already dealt with.
        if error is HTTPParserError, closing { return }
        if error is HTTPParserError, !responseStarted {
            refuse(
                context: context, status: .badRequest, code: "malformed-http", title: "Malformed HTTP request",
                detail:
                    "the request is not valid HTTP/1.1 (\(error)); header values must not hold control characters such as NUL"
            )
            return
        }
        context.fireErrorCaught(error)
    }

    /// Answers with a problem and closes the connection.
    private func refuse(
        context: ChannelHandlerContext, status: HTTPResponse.Status, code: String, title: String, detail: String,
        extra: HTTPFields = [:]
    ) {
        closing = true
        timers.cancelAll()
        let body: JSONValue = .object([
            "type": .string(Problem.typeBase + code), "title": .string(title), "status": .int(status.code),
            "detail": .string(detail), "instance": .string(path), "request_id": .null,
        ])
        let buffer = context.channel.allocator.buffer(string: body.serialized + "\n")
        var fields = extra
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(buffer.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        // Ends the request's body stream with an error, never with a short body that a handler
        // could take for the whole of it.
        context.fireErrorCaught(ConnectionRefused(status: status, detail: detail))
    }
}

/// Ends the body stream of a request that ``ConnectionGuard`` answered itself (the client has its
/// problem already; the handler that was reading the body stops with this).
struct ConnectionRefused: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var detail: String

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status)
    }
}

/// Sees a connection's raw bytes before the HTTP parser: the first byte of a request starts its
/// header deadline (a keep-alive connection waiting for its next request is left to the idle
/// timeout).
private final class RequestStartWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timers: ConnectionTimers
    private let timeout: TimeAmount

    init(timers: ConnectionTimers, timeout: TimeAmount) {
        self.timers = timers
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timers.awaitingHead, timers.headerDeadline == nil, unwrapInboundIn(data).readableBytes > 0 {
            timers.headerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [timers] in
                timers.headerDeadline = nil
                guard timers.awaitingHead else { return }
                context.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }
}
