import Foundation
import Testing
import VectorSearch

@testable import Embeddings

/// The int8 encoder's quality gate: every vector within cosine 0.99 of the f32 reference (the
/// reference implementation's vectors, not cascade's own f32), on the 20 reference sentences
/// and on chunk-sized texts; its model id differs, so stores never mix the two.
@Suite("all-MiniLM-L6-v2, int8", .enabled(if: requireModel, "run tools/fetch-model first"))
struct MiniLMInt8Tests {
    static let int8: MiniLMEmbedder? = try? MiniLMEmbedder(directory: modelDirectory, precision: .int8)

    @Test func vectorsStayWithinCosine099OfTheReference() async throws {
        let reference = try JSONDecoder().decode(ReferenceVectors.self, from: fixture("minilm-vectors.json"))
        let model = try #require(Self.int8)
        let vectors = try await model.embed(reference.sentences)
        let cosines = zip(vectors, reference.vectors).map { VectorMath.dot($0, $1) }
        let mean = cosines.reduce(0, +) / Float(cosines.count)
        print("int8 vs reference on 20 sentences: min cosine \(cosines.min()!), mean \(mean)")
        for (i, cosine) in cosines.enumerated() { #expect(cosine >= 0.99, "sentence \(i): cosine \(cosine)") }
        #expect(mean >= 0.995)
    }

    @Test func longTextsAgreeWithF32Too() async throws {
        let int8 = try #require(Self.int8)
        let f32 = try #require(sharedMiniLM)
        let texts = [
            String(repeating: "The write-ahead log lets readers continue while a writer appends pages. ", count: 20),
            "CREATE INDEX idx ON t(a, b); -- a two-column index used for AND-connected terms in WHERE clauses.",
            "Refunds are issued within 14 days of receiving the returned item, to the original payment method.",
        ]
        let a = try await int8.embed(texts)
        let b = try await f32.embed(texts)
        for (x, y) in zip(a, b) { #expect(VectorMath.dot(x, y) >= 0.99) }
    }

    @Test func itIsAnotherModel() throws {
        let model = try #require(Self.int8)
        #expect(model.modelID == MiniLMEmbedder.int8ModelID)
        #expect(model.modelID != MiniLMEmbedder.defaultModelID)
        #expect(model.encoder.precision == .int8)
        #expect(
            try EmbedderRegistry.embedder(forModelID: MiniLMEmbedder.int8ModelID).modelID == MiniLMEmbedder.int8ModelID)
    }
}
