import Foundation
import Testing
import VectorSearch

@testable import Embeddings

/// The model folder fetched by tools/fetch-model (CI fetches it before the tests).
let modelDirectory = MiniLMEmbedder.defaultDirectory()
let modelPresent = FileManager.default.fileExists(
    atPath: modelDirectory.appendingPathComponent("model.safetensors").path)

struct ReferenceVectors: Decodable {
    var sentences: [String]
    var token_counts: [Int]
    var vectors: [[Float]]
}

struct TokenizerCase: Decodable {
    var text: String
    var ids: [Int32]
    var encoded_256: [Int32]
}

func fixture(_ name: String) throws -> Data {
    let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return try Data(contentsOf: url.appendingPathComponent(name))
}

/// Shared so the suite loads the model once.
let sharedMiniLM: MiniLMEmbedder? = try? MiniLMEmbedder(directory: modelDirectory)

/// In CI the model must be there (.ci/run fetches it): the suite then runs, and fails if it is missing.
let requireModel = modelPresent || ProcessInfo.processInfo.environment["CI"] != nil

@Suite("all-MiniLM-L6-v2", .enabled(if: requireModel, "run tools/fetch-model first"))
struct MiniLMTests {
    @Test("WordPiece ids match the reference tokenizer on tricky text")
    func tokenizerMatchesReference() throws {
        struct File: Decodable { var cases: [TokenizerCase] }
        let cases = try JSONDecoder().decode(File.self, from: fixture("tokenizer-reference.json")).cases
        let tokenizer = try #require(sharedMiniLM).tokenizer
        #expect(cases.count >= 20)
        for c in cases {
            #expect(tokenizer.tokenize(c.text) == c.ids, "text: \(c.text.prefix(60))")
            #expect(tokenizer.encode(c.text, maxLength: 256) == c.encoded_256, "text: \(c.text.prefix(60))")
        }
    }

    @Test("every reference vector is matched: cosine ≥ 0.9999 and max |Δ| ≤ 1e-4")
    func vectorsMatchReference() async throws {
        let reference = try JSONDecoder().decode(ReferenceVectors.self, from: fixture("minilm-vectors.json"))
        let model = try #require(sharedMiniLM)
        #expect(reference.sentences.count == 20)
        for (sentence, count) in zip(reference.sentences, reference.token_counts) {
            #expect(model.tokenizer.encode(sentence, maxLength: 256).count == count)
        }
        let vectors = try await model.embed(reference.sentences)
        for (i, (got, want)) in zip(vectors, reference.vectors).enumerated() {
            #expect(got.count == 384)
            let cosine = VectorMath.dot(got, want)
            let maxDiff = zip(got, want).map { abs($0 - $1) }.max() ?? 1
            #expect(cosine >= 0.9999, "sentence \(i): cosine \(cosine)")
            #expect(maxDiff <= 1e-4, "sentence \(i): max abs diff \(maxDiff)")
        }
    }

    @Test("a batch gives the same vectors as one text at a time, in input order")
    func batchingIsTransparent() async throws {
        let model = try #require(sharedMiniLM)
        let texts = [
            "short", "a somewhat longer sentence about databases", "", "WAL mode",
            String(repeating: "long ", count: 300),
        ]
        let batched = try await model.embed(texts)
        for (text, vector) in zip(texts, batched) {
            let single = try await model.embed(text)
            #expect(zip(single, vector).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }

    @Test("similar questions are closer than unrelated ones")
    func semantics() async throws {
        let model = try #require(sharedMiniLM)
        let v = try await model.embed([
            "How do I turn on write-ahead logging?", "Enable WAL journal mode", "My cat likes fish",
        ])
        #expect(VectorMath.dot(v[0], v[1]) > VectorMath.dot(v[0], v[2]) + 0.2)
    }

    @Test("token counts exclude special tokens")
    func tokenCount() throws {
        let model = try #require(sharedMiniLM)
        #expect(model.tokenCount(of: "This is an example sentence") == 5)
    }
}

@Suite("Model files")
struct ModelFileTests {
    @Test("a missing model folder says how to get the model")
    func missingModel() {
        let missing = URL(fileURLWithPath: "/nonexistent/model")
        #expect {
            try MiniLMEmbedder(directory: missing)
        } throws: { error in
            "\(error)".contains("tools/fetch-model") && "\(error)".contains("CASCADE_MODEL_DIR")
        }
    }

    @Test("a damaged safetensors file is refused with the reason")
    func damagedWeights() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ header: String, payload: Int) throws -> String {
            var data = Data()
            var length = UInt64(header.utf8.count).littleEndian
            data.append(Data(bytes: &length, count: 8))
            data.append(Data(header.utf8))
            data.append(Data(count: payload))
            let path = dir.appendingPathComponent("m\(UUID().uuidString).safetensors").path
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let truncated = try write(#"{"a":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}"#, payload: 16)
        #expect(throws: EmbeddingError.self) { try SafeTensorsFile(path: truncated) }
        let wrongSize = try write(#"{"a":{"dtype":"F32","shape":[4,4],"data_offsets":[0,32]}}"#, payload: 32)
        #expect(throws: EmbeddingError.self) { try SafeTensorsFile(path: wrongSize) }
        let notJSON = try write("not json at all", payload: 8)
        #expect(throws: EmbeddingError.self) { try SafeTensorsFile(path: notJSON) }
        let good = try write(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}   "#, payload: 16)
        let file = try SafeTensorsFile(path: good)
        #expect(try file.floats("a", shape: [2, 2]).count == 4)
        #expect(throws: EmbeddingError.self) { try file.floats("a", shape: [4]) }
        #expect(throws: EmbeddingError.self) { try file.floats("missing", shape: [2, 2]) }
    }
}

@Suite("all-MiniLM-L6-v2 under concurrency", .enabled(if: requireModel, "run tools/fetch-model first"))
struct MiniLMConcurrencyTests {
    @Test("concurrent callers of one embedder get the same vectors as a serial caller")
    func concurrentEmbedding() async throws {
        let model = try #require(sharedMiniLM)
        let texts = (0..<12).map { "Question number \($0): how do I configure feature \($0)?" }
        let serial = try await model.embed(texts)
        let concurrent = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() { group.addTask { (i, try await model.embed(text)) } }
            var out = [[Float]](repeating: [], count: texts.count)
            for try await (i, v) in group { out[i] = v }
            return out
        }
        for (a, b) in zip(serial, concurrent) {
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }
}
