import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// How model endpoints (chat completions, embeddings) are called. The CLI uses URLSession; the service plugs in
/// a pooled client with a cap on concurrent requests per endpoint, so a slow model server never
/// ties up more than its share of connections.
public protocol HTTPTransport: Sendable {
    /// POSTs `body` to `url` and returns the status and at most `maxBytes` of the reply.
    func post(url: URL, headers: [String: String], body: Data, timeoutSeconds: Double, maxBytes: Int)
        async throws(TransportError) -> (status: Int, body: Data)
}

/// Why a request got no HTTP answer.
public enum TransportError: Error, Hashable, Sendable {
    case timedOut(seconds: Double)
    case connectionFailed(String)
    /// The reply was larger than the limit (not read further).
    case tooLarge(limit: Int)
    /// The endpoint already has its maximum of requests in progress.
    case busy(limit: Int)
}

/// Foundation's URLSession (the CLI's transport).
public struct URLSessionTransport: HTTPTransport {
    public init() {}

    public func post(url: URL, headers: [String: String], body: Data, timeoutSeconds: Double, maxBytes: Int)
        async throws(TransportError) -> (status: Int, body: Data)
    {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.timeoutInterval = timeoutSeconds
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        do {
            let (reply, response) = try await URLSession.shared.data(for: request)
            guard reply.count <= maxBytes else { throw TransportError.tooLarge(limit: maxBytes) }
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, reply)
        } catch let error as TransportError {
            throw error
        } catch let error as URLError where error.code == .timedOut {
            throw .timedOut(seconds: timeoutSeconds)
        } catch {
            throw .connectionFailed("connection failed")
        }
    }
}
