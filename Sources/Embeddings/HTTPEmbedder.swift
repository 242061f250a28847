import Foundation
import VectorSearch

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Embeddings from an OpenAI-compatible `POST {baseURL}/embeddings` endpoint (OpenAI, Azure,
/// vLLM, Ollama, text-embeddings-inference…), behind the same ``Embedder`` protocol as the local
/// models.
///
/// Requests carry at most ``batchSize`` texts; each request has a timeout and is retried with
/// exponential backoff on timeouts, connection errors, 429 and 5xx. Other 4xx answers (a wrong
/// key, an unknown model) are not retried: they will not fix themselves. Replies are validated
/// (count, order by `index`, dimension) and vectors are L2-normalised.
public struct HTTPEmbedder: Embedder {
    public struct Configuration: Hashable, Sendable {
        /// Base URL including the API version path, e.g. `https://api.openai.com/v1`.
        public var baseURL: URL
        public var model: String
        public var apiKey: String?
        public var batchSize = 64
        public var timeoutSeconds = 30.0
        public var maxAttempts = 3
        /// First retry delay; doubled for each further attempt.
        public var backoffSeconds = 0.5
        public var maxTokens = 512

        public init(baseURL: URL, model: String, apiKey: String? = nil) {
            self.baseURL = baseURL
            self.model = model
            self.apiKey = apiKey
        }

        /// Reads `CASCADE_EMBEDDINGS_URL`, `CASCADE_EMBEDDINGS_MODEL` and `CASCADE_EMBEDDINGS_API_KEY`
        /// (or `OPENAI_API_KEY`).
        public static func fromEnvironment(
            _ environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws(EmbeddingError) -> Configuration {
            guard let url = environment["CASCADE_EMBEDDINGS_URL"].flatMap(URL.init(string:)),
                let model = environment["CASCADE_EMBEDDINGS_MODEL"], !model.isEmpty
            else {
                throw .modelUnavailable(
                    model: "http",
                    reason: "set CASCADE_EMBEDDINGS_URL (e.g. https://api.openai.com/v1) and CASCADE_EMBEDDINGS_MODEL, "
                        + "and CASCADE_EMBEDDINGS_API_KEY if the service needs one")
            }
            return Configuration(
                baseURL: url, model: model,
                apiKey: environment["CASCADE_EMBEDDINGS_API_KEY"] ?? environment["OPENAI_API_KEY"])
        }
    }

    public let configuration: Configuration
    public let dimension: Int
    public var modelID: String { "http:\(configuration.model)" }
    public var maxTokens: Int { configuration.maxTokens }
    public var preferredBatchSize: Int { configuration.batchSize }

    /// How requests are sent (the service swaps in a pooled client).
    public var transport: any HTTPTransport = URLSessionTransport()

    /// An embedder for a service whose vector dimension is already known (e.g. from a store).
    public init(configuration: Configuration, dimension: Int) {
        self.configuration = configuration
        self.dimension = dimension
    }

    /// Connects to the service and learns its dimension by embedding a probe text.
    public static func connect(_ configuration: Configuration) async throws -> HTTPEmbedder {
        let vectors = try await request(["dimension probe"], configuration: configuration, expectedDimension: nil)
        guard let dimension = vectors.first?.count, dimension > 0 else {
            throw EmbeddingError.serviceFailed(reason: "the service returned an empty vector for a probe text")
        }
        return HTTPEmbedder(configuration: configuration, dimension: dimension)
    }

    public func tokenCount(of text: String) -> Int {
        TextSegmenter.estimatedWordPieces(text)
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        for start in stride(from: 0, to: texts.count, by: max(1, configuration.batchSize)) {
            let batch = Array(texts[start..<min(start + configuration.batchSize, texts.count)])
            out += try await Self.request(
                batch, configuration: configuration, expectedDimension: dimension, transport: transport)
        }
        return out
    }

    struct Reply: Decodable {
        struct Item: Decodable {
            var embedding: [Float]
            var index: Int?
        }
        var data: [Item]
    }

    struct ErrorReply: Decodable {
        struct Detail: Decodable { var message: String? }
        var error: Detail?
    }

    static func request(
        _ texts: [String], configuration c: Configuration, expectedDimension: Int?,
        transport: any HTTPTransport = URLSessionTransport()
    ) async throws -> [[Float]] {
        let url = c.baseURL.appendingPathComponent("embeddings")
        var headers = ["Content-Type": "application/json"]
        if let key = c.apiKey, !key.isEmpty { headers["Authorization"] = "Bearer \(key)" }
        // Empty strings are rejected by some services; a single space embeds the same "nothing".
        let input = texts.map { $0.isEmpty ? " " : $0 }
        let payload = try JSONSerialization.data(withJSONObject: ["model": c.model, "input": input])

        var lastError = "no attempt made"
        for attempt in 1...max(1, c.maxAttempts) {
            if attempt > 1 {
                try await Task.sleep(for: .seconds(c.backoffSeconds * pow(2, Double(attempt - 2))))
            }
            let data: Data
            let status: Int
            do throws(TransportError) {
                (status, data) = try await transport.post(
                    url: url, headers: headers, body: payload, timeoutSeconds: c.timeoutSeconds, maxBytes: 64 << 20)
            } catch {
                switch error {
                case .timedOut: lastError = "timed out after \(c.timeoutSeconds)s"
                case .connectionFailed(let why): lastError = "connection failed (\(why))"
                case .tooLarge(let limit):
                    throw EmbeddingError.serviceFailed(reason: "the reply is over \(limit) bytes")
                case .busy(let limit):
                    throw EmbeddingError.serviceFailed(
                        reason: "the embeddings endpoint already has \(limit) requests in progress")
                }
                continue
            }
            if status == 429 || status >= 500 {
                lastError = "HTTP \(status)\(message(data).map { ": \($0)" } ?? "")"
                continue
            }
            guard (200..<300).contains(status) else {
                throw EmbeddingError.serviceFailed(
                    reason: "HTTP \(status) from \(c.baseURL.absoluteString)\(message(data).map { ": \($0)" } ?? "")"
                        + (status == 401 || status == 403 ? "; check CASCADE_EMBEDDINGS_API_KEY" : ""))
            }
            guard let reply = try? JSONDecoder().decode(Reply.self, from: data) else {
                throw EmbeddingError.serviceFailed(reason: "the reply is not an embeddings response (no \"data\" list)")
            }
            guard reply.data.count == texts.count else {
                throw EmbeddingError.serviceFailed(
                    reason: "asked for \(texts.count) embeddings, got \(reply.data.count)")
            }
            let ordered = reply.data.enumerated().sorted {
                ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset)
            }
            var vectors: [[Float]] = []
            for (_, item) in ordered {
                var vector = item.embedding
                let expected = expectedDimension ?? vectors.first?.count ?? vector.count
                guard vector.count == expected, !vector.isEmpty, vector.allSatisfy(\.isFinite) else {
                    throw EmbeddingError.serviceFailed(
                        reason:
                            "an embedding has \(vector.count) components (expected \(expected)) or non-finite values")
                }
                VectorMath.normalize(&vector)
                vectors.append(vector)
            }
            return vectors
        }
        throw EmbeddingError.serviceFailed(
            reason: "\(lastError), after \(c.maxAttempts) attempts to \(c.baseURL.absoluteString)")
    }

    static func message(_ data: Data) -> String? {
        if let reply = try? JSONDecoder().decode(ErrorReply.self, from: data), let message = reply.error?.message {
            return String(message.prefix(200))
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
