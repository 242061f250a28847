import Foundation

/// all-MiniLM-L6-v2 (sentence-transformers), run natively: WordPiece tokenizer, 6-layer BERT on
/// BLAS, mean pooling, L2 normalisation; 384-dimensional vectors; inputs truncated at 256
/// word pieces as the reference does.
///
/// Loading maps the safetensors file and checks every tensor against `config.json`; nothing
/// is downloaded at run time. Texts of a call are sorted by length and encoded in packed
/// batches, so short and long texts never pad each other.
public struct MiniLMEmbedder: Embedder {
    public static let defaultModelID = "sentence-transformers/all-MiniLM-L6-v2"
    /// The same model with int8 dense layers: another model id, so a knowledge base never mixes
    /// vectors of both (`cascade reindex --embedder minilm-int8` moves a store over).
    /// (`-v2`: inputs smoothed by calibration ranges; the first int8 encoder's vectors differ slightly.)
    public static let int8ModelID = "sentence-transformers/all-MiniLM-L6-v2#int8-v2"
    /// Ids of earlier int8 encoders, whose stores must be re-embedded (`cascade reindex`) to be searched.
    public static let retiredInt8ModelIDs: Set<String> = ["sentence-transformers/all-MiniLM-L6-v2#int8"]
    /// Where `tools/fetch-model` puts the model, relative to the working directory.
    public static let defaultDirectoryName = "models/all-MiniLM-L6-v2"

    public let modelID: String
    public let dimension: Int
    public let maxTokens: Int
    public var preferredBatchSize: Int { 64 }
    public let tokenizer: WordPieceTokenizer
    public let encoder: BertEncoder
    /// Largest number of tokens packed into one forward pass (bounds working memory). The int8
    /// encoder passes 1,024: its products are quick enough that the f32 activations between
    /// them (6 MB for 1,024 tokens' feed-forward block, 50 MB for 8,192) decide its speed, and
    /// at this size they stay near the cores' caches (about 10% more chunks/s on these machines
    /// than 8,192); f32 is bound by its products and keeps the larger passes (2–3% faster).
    public var maxTokensPerPass: Int

    /// Loads the model from a folder holding `config.json`, `vocab.txt` and `model.safetensors`.
    public init(directory: URL, maxSequenceLength: Int = 256, precision: BertEncoder.Precision = .f32)
        throws(EmbeddingError)
    {
        let fileManager = FileManager.default
        for name in ["config.json", "vocab.txt", "model.safetensors"]
        where !fileManager.fileExists(atPath: directory.appendingPathComponent(name).path) {
            throw .modelUnavailable(
                model: Self.defaultModelID,
                reason: "\(name) not found in \(directory.path); run tools/fetch-model to install it, "
                    + "or set CASCADE_MODEL_DIR to the folder that holds it")
        }
        let configuration = try BertConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let weights = try SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
        guard tokenizer.vocabulary.count <= configuration.vocabSize else {
            throw .invalidModelFile(path: directory.path, reason: "vocab.txt has more tokens than config.json allows")
        }
        self.tokenizer = tokenizer
        let calibration =
            precision == .int8
            ? CalibrationText.passages.map { tokenizer.encode($0, maxLength: maxSequenceLength) } : []
        self.encoder = try BertEncoder(
            configuration: configuration, weights: weights, precision: precision, calibration: calibration)
        self.modelID = precision == .int8 ? Self.int8ModelID : Self.defaultModelID
        self.maxTokensPerPass = precision == .int8 ? 1_024 : 8_192
        self.dimension = configuration.hiddenSize
        self.maxTokens = min(maxSequenceLength, configuration.maxPositionEmbeddings)
    }

    /// The model folder to use, searched in this order (also in `cascade --help`):
    /// 1. `$CASCADE_MODEL_DIR`;
    /// 2. `models/all-MiniLM-L6-v2` in the working directory or any parent of it;
    /// 3. `models/all-MiniLM-L6-v2` beside the executable or in any parent of its folder (a
    ///    binary built in the repository finds the repository's model from anywhere).
    /// When none holds the files, the first candidate of step 2 is returned (errors name it).
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    ) -> URL {
        if let explicit = environment["CASCADE_MODEL_DIR"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        let workingDirectory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for start in [workingDirectory, executable.deletingLastPathComponent()] {
            var directory = start
            for _ in 0..<8 {
                let candidate = directory.appendingPathComponent(defaultDirectoryName)
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("model.safetensors").path) {
                    return candidate
                }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return workingDirectory.appendingPathComponent(defaultDirectoryName)
    }

    /// Whether the model files are present where ``defaultDirectory(environment:)`` looks.
    public static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: defaultDirectory().appendingPathComponent("model.safetensors").path)
    }

    public func tokenCount(of text: String) -> Int {
        tokenizer.tokenize(text).count
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        let tokenizer = self.tokenizer
        let encoder = self.encoder
        let maxTokens = self.maxTokens
        let perPass = maxTokensPerPass
        return await Self.runOffCooperativePool {
            let sequences = texts.map { tokenizer.encode($0, maxLength: maxTokens) }
            return Self.encodeInBatches(sequences, encoder: encoder, maxTokensPerPass: perPass)
        }
    }

    /// Synchronous embedding, for callers already on their own thread (benchmarks).
    public func embedSynchronously(_ texts: [String]) -> [[Float]] {
        let sequences = texts.map { tokenizer.encode($0, maxLength: maxTokens) }
        return Self.encodeInBatches(sequences, encoder: encoder, maxTokensPerPass: maxTokensPerPass)
    }

    /// Sorts by length (so neighbours have similar lengths), packs up to `maxTokensPerPass`
    /// tokens per forward pass, and returns vectors in input order.
    static func encodeInBatches(_ sequences: [[Int32]], encoder: BertEncoder, maxTokensPerPass: Int) -> [[Float]] {
        let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
        var vectors = [[Float]](repeating: [], count: sequences.count)
        var batch: [Int] = []
        var batchTokens = 0
        func flush() {
            guard !batch.isEmpty else { return }
            let encoded = encoder.encode(batch.map { sequences[$0] })
            for (index, vector) in zip(batch, encoded) { vectors[index] = vector }
            batch.removeAll()
            batchTokens = 0
        }
        for index in order {
            if batchTokens + sequences[index].count > maxTokensPerPass { flush() }
            batch.append(index)
            batchTokens += sequences[index].count
        }
        flush()
        return vectors
    }

    /// Runs CPU-heavy work on a dedicated thread so it does not occupy one of the few threads of
    /// Swift's cooperative pool (which would stall unrelated tasks, e.g. a server's requests).
    static func runOffCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
