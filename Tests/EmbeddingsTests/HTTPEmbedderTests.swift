import Foundation
import TestSupport
import Testing
import VectorSearch

@testable import Embeddings

/// An OpenAI-compatible embeddings service on loopback: vectors derived from the text, so the
/// client's batching and ordering can be checked.
func embeddingsReply(_ request: LoopbackHTTPServer.Request, dimension: Int = 8, shuffle: Bool = false)
    -> LoopbackHTTPServer.Response
{
    guard let input = request.json()?["input"] as? [String] else { return .text("bad request", status: 400) }
    var data: [[String: Any]] = input.enumerated().map { i, text in
        var v = [Double](repeating: 0.1, count: dimension)
        v[text.count % dimension] = 2  // not normalised: the client must normalise
        return ["object": "embedding", "index": i, "embedding": v]
    }
    if shuffle { data.reverse() }
    return .json(["object": "list", "data": data, "model": "fake", "usage": ["prompt_tokens": 1, "total_tokens": 1]])
}

@Suite("HTTP embedder (OpenAI-compatible)", .serialized)
struct HTTPEmbedderTests {
    func configuration(_ server: LoopbackHTTPServer) -> HTTPEmbedder.Configuration {
        var c = HTTPEmbedder.Configuration(
            baseURL: server.baseURL.appendingPathComponent("v1"), model: "fake-embed", apiKey: "sk-test")
        c.batchSize = 3
        // Generous: a busy machine is slow, not wrong (the timeout test sets its own short one).
        c.timeoutSeconds = 60
        c.backoffSeconds = 0.05
        return c
    }

    @Test("probes the dimension, batches requests, keeps input order and normalises vectors")
    func normalReply() async throws {
        let server = try LoopbackHTTPServer { embeddingsReply($0, shuffle: true) }
        let embedder = try await HTTPEmbedder.connect(configuration(server))
        #expect(embedder.dimension == 8)
        #expect(embedder.modelID == "http:fake-embed")
        let texts = ["a", "bb", "ccc", "dddd", "eeeee", ""]
        let vectors = try await embedder.embed(texts)
        #expect(vectors.count == 6)
        for (text, vector) in zip(texts, vectors) {
            #expect(abs(VectorMath.dot(vector, vector) - 1) < 1e-5)
            let expected = (text.isEmpty ? 1 : text.count) % 8
            #expect(vector.indices.max { vector[$0] < vector[$1] } == expected)
        }
        let requests = server.requests
        #expect(requests.count == 3, "1 probe + 2 batches of at most 3")
        #expect(requests.allSatisfy { $0.path == "/v1/embeddings" && $0.method == "POST" })
        #expect(requests.allSatisfy { $0.headers["authorization"] == "Bearer sk-test" })
        #expect(requests.last?.json()?["model"] as? String == "fake-embed")
    }

    @Test("5xx and 429 are retried with backoff, then succeed")
    func retries() async throws {
        let calls = Counter()
        let server = try LoopbackHTTPServer { request in
            switch calls.next() {
            case 0: return .text("overloaded", status: 503)
            case 1: return .json(["error": ["message": "slow down"]], status: 429)
            default: return embeddingsReply(request)
            }
        }
        let embedder = HTTPEmbedder(configuration: configuration(server), dimension: 8)
        let vectors = try await embedder.embed(["hello"])
        #expect(vectors.count == 1)
        #expect(server.requests.count == 3)
    }

    @Test("a 401 is not retried and says to check the key")
    func unauthorized() async throws {
        let server = try LoopbackHTTPServer { _ in .json(["error": ["message": "Incorrect API key"]], status: 401) }
        let embedder = HTTPEmbedder(configuration: configuration(server), dimension: 8)
        await #expect {
            try await embedder.embed(["x"])
        } throws: { error in
            "\(error)".contains("HTTP 401") && "\(error)".contains("Incorrect API key")
                && "\(error)".contains("API_KEY")
        }
        #expect(server.requests.count == 1)
    }

    @Test("timeouts end in a clear error after the configured attempts")
    func timeout() async throws {
        // The server never answers while the test runs: every attempt times out, whatever the load.
        let gate = Gate()
        let server = try LoopbackHTTPServer { request in
            gate.wait()
            return embeddingsReply(request)
        }
        defer {
            gate.open()
            server.stop()
        }
        var c = configuration(server)
        c.timeoutSeconds = 1
        c.maxAttempts = 2
        let embedder = HTTPEmbedder(configuration: c, dimension: 8)
        await #expect {
            try await embedder.embed(["x"])
        } throws: { error in
            "\(error)".contains("timed out") && "\(error)".contains("2 attempts")
        }
    }

    @Test("malformed, short and wrong-dimension replies are refused, never stored")
    func badReplies() async throws {
        for body in [
            #"not json"#, #"{"data": []}"#, #"{"data": [{"embedding": [1, 2, 3], "index": 0}]}"#,
            #"{"object": "list"}"#,
        ] {
            let server = try LoopbackHTTPServer { _ in .init(body: Data(body.utf8)) }
            let embedder = HTTPEmbedder(configuration: configuration(server), dimension: 8)
            await #expect(throws: EmbeddingError.self, "\(body)") { try await embedder.embed(["x"]) }
        }
    }

    @Test("a missing endpoint configuration says which variables to set")
    func environment() {
        #expect {
            try HTTPEmbedder.Configuration.fromEnvironment([:])
        } throws: { error in
            "\(error)".contains("CASCADE_EMBEDDINGS_URL") && "\(error)".contains("CASCADE_EMBEDDINGS_MODEL")
        }
        let c = try? HTTPEmbedder.Configuration.fromEnvironment([
            "CASCADE_EMBEDDINGS_URL": "http://127.0.0.1:1/v1", "CASCADE_EMBEDDINGS_MODEL": "m", "OPENAI_API_KEY": "k",
        ])
        #expect(c?.apiKey == "k")
    }
}

/// A thread-safe call counter for handlers.
final class Counter: @unchecked Sendable {
    // Safe: `value` is only accessed while holding `lock`.
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.withLock {
            defer { value += 1 }
            return value
        }
    }
}

extension LoopbackHTTPServer.Response {
    func delayed(_ seconds: Double) -> Self {
        var copy = self
        copy.delay = seconds
        return copy
    }
}
