import Foundation

/// One change of a knowledge base as several nodes share it: the documents written (with their
/// chunks and the chunks' vectors) and the documents removed, with the embedding model the vectors
/// come from. Appended to a log in the shared database (the source of truth); every node replays
/// the log, in order, into its own local store and index, so all nodes serve the same knowledge.
///
/// Only what a store writes is kept: a document's parsed blocks and full text are not needed to
/// replay it (its chunks carry the text that is searched).
///
/// Two kinds: format 1, documents written and removed; format 2, a switch of the whole knowledge
/// base to another embedding model (`reindex`), carrying every chunk's vector under the new model
/// and the version it was computed on. A node that only knows format 1 refuses a switch with a
/// clear error instead of applying it as something else.
public struct KnowledgeBaseLogRecord: Codable, Sendable, Equatable {
    public static let changesFormat = 1
    public static let modelSwitchFormat = 2
    /// The whole knowledge base as of ``baseVersion``: a node with nothing yet starts from the
    /// newest snapshot instead of replaying every change since the first.
    public static let snapshotFormat = 3

    public var format = KnowledgeBaseLogRecord.changesFormat
    public var model: String
    public var dimension: Int
    public var writes: [Document]
    public var removals: [Removal]
    /// Text hash → little-endian float32 vector, base64.
    public var vectors: [String: Data]
    /// A model switch: the log version whose chunks ``vectors`` cover (the switch is refused when
    /// the log has moved on since). Nil for changes.
    public var baseVersion: Int64?

    /// Whether this record switches the knowledge base to ``model`` (format 2).
    public var isModelSwitch: Bool { format == Self.modelSwitchFormat }

    /// Whether this record is a snapshot of the whole knowledge base (format 3).
    public var isSnapshot: Bool { format == Self.snapshotFormat }

    /// What the log calls this kind of record (a column beside it, so the newest snapshot is
    /// found without reading every record).
    public var kind: String {
        switch format {
        case Self.modelSwitchFormat: "model_switch"
        case Self.snapshotFormat: "snapshot"
        default: "changes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, model, dimension, writes, removals, vectors
        case baseVersion = "base_version"
    }

    public struct Document: Codable, Sendable, Equatable {
        public var collection: String
        public var docID: String
        public var source: String
        public var title: String
        public var metadata: [String: String]
        public var contentHash: String
        public var pipeline: String
        public var byteSize: Int
        public var chunks: [Chunk]

        enum CodingKeys: String, CodingKey {
            case collection, source, title, metadata, pipeline, chunks
            case docID = "doc_id"
            case contentHash = "content_hash"
            case byteSize = "byte_size"
        }
    }

    public struct Chunk: Codable, Sendable, Equatable {
        public var ordinal: Int
        public var headingPath: [String]
        public var anchor: String?
        public var text: String
        public var startOffset: Int
        public var endOffset: Int
        public var tokenCount: Int
        public var textHash: String

        enum CodingKeys: String, CodingKey {
            case ordinal, anchor, text
            case headingPath = "heading_path"
            case startOffset = "start_offset"
            case endOffset = "end_offset"
            case tokenCount = "token_count"
            case textHash = "text_hash"
        }
    }

    public struct Removal: Codable, Sendable, Equatable {
        public var collection: String
        public var docID: String
        enum CodingKeys: String, CodingKey {
            case collection
            case docID = "doc_id"
        }
    }

    /// The record of `changes`, with the vectors of the written chunks (from `vectors`, else from
    /// `cached`, the store's own vectors for text it already had).
    public init(
        changes: KnowledgeBaseChanges, vectors: [String: [Float]], model: String, dimension: Int,
        cached: (Set<String>) throws -> [String: [Float]] = { _ in [:] }
    ) throws {
        self.model = model
        self.dimension = dimension
        writes = changes.writes.map { document in
            Document(
                collection: document.collection, docID: document.parsed.docID, source: document.parsed.source,
                title: document.parsed.title, metadata: document.parsed.metadata, contentHash: document.contentHash,
                pipeline: document.pipeline, byteSize: document.byteSize,
                chunks: zip(document.chunks, document.textHashes).map { chunk, hash in
                    Chunk(
                        ordinal: chunk.ordinal, headingPath: chunk.headingPath, anchor: chunk.anchor, text: chunk.text,
                        startOffset: chunk.startOffset, endOffset: chunk.endOffset, tokenCount: chunk.tokenCount,
                        textHash: hash)
                })
        }
        removals = changes.removals.map { Removal(collection: $0.collection, docID: $0.docID) }
        let needed = Set(changes.writes.flatMap(\.textHashes))
        var found = vectors.filter { needed.contains($0.key) }
        let missing = needed.subtracting(found.keys)
        if !missing.isEmpty { found.merge(try cached(missing)) { new, _ in new } }
        guard found.count == needed.count else {
            throw StoreError.corrupted(
                table: "kb_log", row: 0, reason: "\(needed.count - found.count) chunk(s) have no vector to share")
        }
        self.vectors = try found.mapValues { vector in
            guard vector.count == dimension else {
                throw StoreError.dimensionMismatch(expected: dimension, actual: vector.count)
            }
            return VectorBlob.encode(vector)
        }
    }

    /// A switch of the knowledge base at log version `baseVersion` to `model`, with the vector of
    /// every chunk text under it.
    public init(switchingTo model: String, dimension: Int, vectors: [String: [Float]], baseVersion: Int64) throws {
        self.format = Self.modelSwitchFormat
        self.model = model
        self.dimension = dimension
        self.writes = []
        self.removals = []
        self.baseVersion = baseVersion
        self.vectors = try vectors.mapValues { vector in
            guard vector.count == dimension else {
                throw StoreError.dimensionMismatch(expected: dimension, actual: vector.count)
            }
            return VectorBlob.encode(vector)
        }
    }

    /// The changes and vectors to apply, checked first: every chunk has a finite vector of the
    /// record's dimension (a damaged record is refused whole, never applied in part).
    public func changes() throws -> (KnowledgeBaseChanges, [String: [Float]]) {
        switch format {
        case Self.changesFormat: break
        case Self.snapshotFormat:
            guard removals.isEmpty, baseVersion != nil else {
                throw StoreError.corrupted(
                    table: "kb_log", row: 0, reason: "a snapshot that removes documents or has no base version")
            }
        case Self.modelSwitchFormat:
            guard writes.isEmpty, removals.isEmpty, baseVersion != nil else {
                throw StoreError.corrupted(
                    table: "kb_log", row: 0, reason: "a model switch that also writes documents or has no base version")
            }
        default:
            throw StoreError.corrupted(
                table: "kb_log", row: 0, reason: "record format \(format) is newer than this cascade")
        }
        guard dimension > 0, dimension <= 8192 else {
            throw StoreError.corrupted(table: "kb_log", row: 0, reason: "dimension \(dimension)")
        }
        var decoded: [String: [Float]] = [:]
        for (hash, data) in vectors {
            guard data.count == dimension * MemoryLayout<Float>.size else {
                throw StoreError.dimensionMismatch(expected: dimension, actual: data.count / MemoryLayout<Float>.size)
            }
            let vector = VectorBlob.decode(data)
            guard vector.allSatisfy(\.isFinite) else {
                throw StoreError.corrupted(table: "kb_log", row: 0, reason: "a vector holds NaN or infinity")
            }
            decoded[hash] = vector
        }
        let documents = try writes.map { document -> PreparedDocument in
            for chunk in document.chunks where decoded[chunk.textHash] == nil {
                throw StoreError.corrupted(
                    table: "kb_log", row: 0, reason: "chunk \(chunk.ordinal) of \(document.docID) has no vector")
            }
            return PreparedDocument(
                collection: document.collection,
                parsed: ParsedDocument(
                    docID: document.docID, source: document.source, title: document.title, text: "", blocks: [],
                    metadata: document.metadata),
                contentHash: document.contentHash, pipeline: document.pipeline, byteSize: document.byteSize,
                chunks: document.chunks.map { chunk in
                    ChunkDraft(
                        ordinal: chunk.ordinal, headingPath: chunk.headingPath, anchor: chunk.anchor, text: chunk.text,
                        startOffset: chunk.startOffset, endOffset: chunk.endOffset, tokenCount: chunk.tokenCount)
                },
                textHashes: document.chunks.map(\.textHash), embeddingTexts: [])
        }
        let removals = removals.map { DocumentKey(collection: $0.collection, docID: $0.docID) }
        return (KnowledgeBaseChanges(writes: documents, removals: removals), decoded)
    }

    /// The record as stored (JSON; vectors in base64).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data, version: Int64) throws -> KnowledgeBaseLogRecord {
        do {
            return try JSONDecoder().decode(KnowledgeBaseLogRecord.self, from: data)
        } catch {
            throw StoreError.corrupted(table: "kb_log", row: version, reason: "not a knowledge base change (\(error))")
        }
    }
}
