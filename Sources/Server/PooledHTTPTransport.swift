import AsyncHTTPClient
import Cascade
import Embeddings
import Foundation
import NIOCore
import NIOHTTP1

/// The service's HTTP client for model endpoints: AsyncHTTPClient's shared, pooled connections,
/// a timeout per request, and at most `maxPerEndpoint` requests in progress per endpoint — past
/// that a question escalates at once instead of queueing behind a slow model server.
struct PooledHTTPTransport: HTTPTransport {
    let client: HTTPClient
    let inFlight: InFlightLimiter

    init(client: HTTPClient = .shared, maxPerEndpoint: Int) {
        self.client = client
        self.inFlight = InFlightLimiter(limit: maxPerEndpoint)
    }

    func post(url: URL, headers: [String: String], body: Data, timeoutSeconds: Double, maxBytes: Int)
        async throws(TransportError) -> (status: Int, body: Data)
    {
        let endpoint = "\(url.scheme ?? "http")://\(url.host ?? ""):\(url.port ?? 0)"
        guard inFlight.enter(endpoint) else { throw .busy(limit: inFlight.limit) }
        defer { inFlight.leave(endpoint) }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            let reply = try await response.body.collect(upTo: maxBytes)
            return (Int(response.status.code), Data(reply.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .timedOut(seconds: timeoutSeconds)
        } catch is NIOTooManyBytesError {
            throw .tooLarge(limit: maxBytes)
        } catch {
            throw .connectionFailed("\(error)")
        }
    }
}
