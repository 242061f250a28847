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

    /// The calibration the embedder runs at load is what keeps int8 close: the same encoder
    /// without it (inputs quantised as they are) strays further from the reference.
    @Test func calibratedSmoothingLosesLessThanPlainQuantising() async throws {
        let reference = try JSONDecoder().decode(ReferenceVectors.self, from: fixture("minilm-vectors.json"))
        let model = try #require(Self.int8)
        let plain = try BertEncoder(
            configuration: model.encoder.configuration,
            weights: SafeTensorsFile(path: modelDirectory.appendingPathComponent("model.safetensors").path),
            precision: .int8)
        let sequences = reference.sentences.map { model.tokenizer.encode($0, maxLength: model.maxTokens) }
        func meanLoss(_ vectors: [[Float]]) -> Float {
            zip(vectors, reference.vectors).map { 1 - VectorMath.dot($0, $1) }.reduce(0, +) / Float(vectors.count)
        }
        let calibrated = meanLoss(model.encoder.encode(sequences))
        let unsmoothed = meanLoss(plain.encode(sequences))
        print("int8 mean 1 − cosine on 20 sentences: calibrated \(calibrated), unsmoothed \(unsmoothed)")
        #expect(calibrated < unsmoothed * 0.8)
    }

    /// A store embedded by the first int8 encoder (before smoothing) is not searched with
    /// today's slightly different vectors: opening its embedder says how to re-embed.
    @Test func storesOfTheRetiredInt8EncoderAskForAReindex() throws {
        let retired = try #require(MiniLMEmbedder.retiredInt8ModelIDs.first)
        #expect(retired != MiniLMEmbedder.int8ModelID)
        do {
            _ = try EmbedderRegistry.embedder(forModelID: retired)
            Issue.record("the retired int8 model id opened an embedder")
        } catch {
            #expect("\(error)".contains("cascade reindex --embedder minilm-int8"))
        }
    }
}
