import Embeddings
import Foundation

/// Brings a folder (or one file) into the knowledge base: load, chunk, embed, store.
///
/// Incremental by design: a document whose bytes and pipeline are unchanged is skipped without
/// being parsed again; a changed one is replaced; with `prune`, documents whose files are gone
/// are removed. Each document is committed in its own transaction once its vectors exist, so an
/// interrupted run keeps everything finished so far and the next run picks up the rest.
/// Bad files are reported one by one and never stop the run.
public struct Ingestor: Sendable {
    public var store: KnowledgeBaseStore
    public var embedder: any Embedder
    public var chunker: Chunker
    public var loaders: [any DocumentLoader]
    /// Files larger than this many bytes are refused (a runaway log file is not documentation).
    public var maxFileSize: Int
    /// When set, documents and removals are gathered here instead of written to `store` (which
    /// then only answers what is there already); see ``CollectedChanges``.
    public var collector: CollectedChanges?

    /// Bumped whenever loading or chunking changes in a way that alters chunks, so re-ingest redoes them.
    /// v2: generator-aware HTML (headings, permalinks, table rows) and GFM Markdown.
    /// v3: every named HTML character reference decoded (`&sup1;` was left in the text).
    /// v4: an HTML page's "last modified" stamp left out (``HTMLLoader/isPageStamp(_:)``); a
    /// heading keeps the `<a name>` before it when the paragraph before that was left open; a chunk
    /// that starts inside an anchored reference entry (`<a name="round"></a><dt>…`) cites the entry;
    /// CRLF and CR line ends read as LF (a Windows-saved text file was one paragraph).
    /// v7: a `.txt` file written in AsciiDoc (and `.adoc`) is read as AsciiDoc
    /// (``AsciiDocLoader``), one written in reStructuredText (and `.rst`) as reStructuredText
    /// (``ReStructuredTextLoader``): section titles, code blocks and call-out lists instead of
    /// headingless paragraphs with the underlines and markup in the text.
    /// v8: what a page marks as code in its running text is kept as its code terms
    /// (``CodeTerms``); chunks are unchanged, so re-ingest re-reads pages but embeds nothing again.
    /// v9: an HTML page's `<body>`, `<main>` or `<article>` is never skipped as navigation for
    /// its class (Apache's `<body class="no-sidebar">` pages had no text), nor a block whose
    /// class names a layout (`no-sidebar`, `has-toc`).
    public static let pipelineVersion = "v9"

    /// A document's content fingerprint. A file that is one document is fingerprinted by its
    /// bytes; a document of a multi-document file (a corpus line, an exported article: its id is
    /// not the file's path) by its own text, so editing one re-embeds only that one however many
    /// the file has left; an export's `updated_at` counts too.
    public static func fingerprint(
        _ document: ParsedDocument, fileHash: String, relativePath: String, documentsInFile: Int
    ) -> String {
        if documentsInFile == 1 && document.docID == relativePath { return fileHash }
        return SHA256.hex((document.metadata["updated_at"] ?? "") + "\u{0}" + document.title + "\u{0}" + document.text)
    }

    public static let defaultLoaders: [any DocumentLoader] = [
        MarkdownLoader(), PlainTextLoader(), AsciiDocLoader(), ReStructuredTextLoader(), HTMLLoader(),
        BEIRCorpusLoader(), PDFLoader(),
        HelpCenterExportLoader(), DOCXLoader(),
    ]

    /// - Parameters:
    ///   - chunkTokens: chunk budget in embedder tokens; defaults to the embedder's limit minus room for
    ///     special tokens, capped at 200 (smaller chunks retrieve more precisely).
    public init(
        store: KnowledgeBaseStore, embedder: any Embedder, chunkTokens: Int? = nil, overlapTokens: Int = 32,
        loaders: [any DocumentLoader] = Ingestor.defaultLoaders, maxFileSize: Int = 64 << 20
    ) {
        self.store = store
        self.embedder = embedder
        let budget = min(chunkTokens ?? 200, embedder.maxTokens - 2)
        let counter: @Sendable (String) -> Int = { [embedder] in embedder.tokenCount(of: $0) }
        self.chunker = Chunker(maxTokens: budget, overlapTokens: overlapTokens, tokenCounter: counter)
        self.loaders = loaders
        self.maxFileSize = maxFileSize
    }

    /// Identifies everything that shapes chunks and vectors; part of each document's fingerprint.
    public var pipeline: String {
        "\(Self.pipelineVersion)/chunk\(chunker.maxTokens)-\(chunker.overlapTokens)/\(embedder.modelID)"
    }

    /// Ingests `path` (a folder, searched recursively, or a single file).
    /// - Parameters:
    ///   - prune: remove documents of this collection whose files no longer exist.
    ///   - progress: called after each file and each embedded batch.
    /// - Throws: ``IngestError/pathNotFound(_:)``, ``StoreError`` (wrong model, unwritable store),
    ///   embedding errors, or `CancellationError`; per-file problems are reported, not thrown.
    public func ingest(
        _ path: String, prune: Bool = false, progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws -> IngestReport {
        let started = Date()
        let rootURL = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rootURL.path, isDirectory: &isDirectory) else {
            throw IngestError.pathNotFound(path)
        }
        let files: [(url: URL, relative: String)]
        var walkSkipped: [(relative: String, reason: String)] = []
        let collection: String
        if isDirectory.boolValue {
            collection = rootURL.lastPathComponent
            let listing = Self.enumerateFiles(root: rootURL)
            files = listing.files
            walkSkipped = listing.skipped
        } else {
            collection = rootURL.deletingLastPathComponent().lastPathComponent
            files = [(rootURL, rootURL.lastPathComponent)]
        }

        try store.claimEmbeddingModel(id: embedder.modelID, dimension: embedder.dimension)
        let existing = try store.fingerprints(collection: collection)
        var report = IngestReport()
        report.collection = collection
        report.embeddingModel = embedder.modelID
        report.skipped += walkSkipped.map { .init(source: "\(collection)/\($0.relative)", error: $0.reason) }
        var seenDocIDs = Set<String>()
        var failedFiles = Set<String>()
        var pending: [PreparedDocument] = []
        var pendingChunks = 0
        var repeated = try RepeatedSections(store: store, collection: collection)

        for (index, file) in files.enumerated() {
            try Task.checkCancellation()
            progress?(
                IngestProgress(
                    filesDone: index, filesTotal: files.count, chunksEmbedded: report.chunksEmbedded,
                    currentSource: file.relative))
            let documents: [ParsedDocument]
            let data: Data
            do {
                (documents, data) = try await loadOffCooperativePool(
                    file.url, relativePath: file.relative, collection: collection)
            } catch {
                if case .unsupportedType = error {
                    report.skipped.append(.init(source: "\(collection)/\(file.relative)", error: error.description))
                } else {
                    report.failures.append(.init(source: "\(collection)/\(file.relative)", error: error.description))
                    report.documentsFailed += 1
                    failedFiles.insert("\(collection)/\(file.relative)")
                }
                continue
            }
            let contentHash = SHA256.hex(data)
            for document in documents {
                guard seenDocIDs.insert(document.docID).inserted else {
                    report.failures.append(
                        .init(
                            source: document.source, error: "duplicate document id '\(document.docID)'; kept the first")
                    )
                    report.documentsFailed += 1
                    continue
                }
                let hash = Self.fingerprint(
                    document, fileHash: contentHash, relativePath: file.relative, documentsInFile: documents.count)
                if let old = existing[document.docID], old.contentHash == hash, old.pipeline == pipeline {
                    report.documentsUnchanged += 1
                    continue
                }
                let prepared = repeated.filter(
                    prepare(document, collection: collection, contentHash: hash, byteSize: data.count))
                pending.append(prepared)
                pendingChunks += prepared.chunks.count
                if pendingChunks >= embedder.preferredBatchSize * 4 {
                    try await embedAndWrite(pending, existing: existing, into: &report)
                    pending.removeAll()
                    pendingChunks = 0
                    progress?(
                        IngestProgress(
                            filesDone: index, filesTotal: files.count, chunksEmbedded: report.chunksEmbedded,
                            currentSource: file.relative))
                }
            }
        }
        try await embedAndWrite(pending, existing: existing, into: &report)

        if prune {
            let scope = isDirectory.boolValue ? nil : "\(collection)/\(rootURL.lastPathComponent)"
            // What could not be read (an unreadable folder, a link) is not gone: keep its documents.
            let unread = walkSkipped.map { "\(collection)/\($0.relative)" }
            let gone = existing.filter { docID, fingerprint in
                !seenDocIDs.contains(docID) && !failedFiles.contains(fingerprint.sourceFile)
                    && (scope == nil || fingerprint.sourceFile == scope)
                    && !unread.contains { fingerprint.sourceFile == $0 || fingerprint.sourceFile.hasPrefix($0 + "/") }
            }.keys
            if let collector {
                collector.remove(gone.map { DocumentKey(collection: collection, docID: $0) })
                report.documentsRemoved = gone.count
            } else {
                report.documentsRemoved = try store.removeDocuments(collection: collection, docIDs: gone)
            }
        }
        progress?(
            IngestProgress(
                filesDone: files.count, filesTotal: files.count, chunksEmbedded: report.chunksEmbedded,
                currentSource: ""))
        report.elapsedMilliseconds = (Date().timeIntervalSince(started) * 1000).rounded()
        return report
    }

    /// Reads and parses one file, enforcing the size limit and picking the loader by extension.
    /// ``load(_:relativePath:collection:)`` on a thread of its own.
    ///
    /// Loading blocks: a large page takes a while to parse, and a PDF or Word file waits for its
    /// extraction tool (up to its 60 s deadline). On one of Swift's cooperative threads — as many
    /// as the machine has cores — two uploads of that kind on a two-core node stopped every other
    /// request, and a PostgreSQL transaction of another request sat idle until its lock or idle
    /// timeout ended it.
    func loadOffCooperativePool(_ url: URL, relativePath: String, collection: String) async throws(IngestError)
        -> ([ParsedDocument], Data)
    {
        let outcome: Result<([ParsedDocument], Data), IngestError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    returning: Result { () throws(IngestError) in
                        try load(url, relativePath: relativePath, collection: collection)
                    })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        return try outcome.get()
    }

    public func load(_ url: URL, relativePath: String, collection: String) throws(IngestError) -> (
        [ParsedDocument], Data
    ) {
        let source = "\(collection)/\(relativePath)"
        let ext = url.pathExtension.lowercased()
        guard let loader = loaders.first(where: { $0.fileExtensions.contains(ext) }) else {
            throw .unsupportedType(source: source, fileExtension: ext)
        }
        let size: Int
        do {
            // An explicitly named link is followed; a FIFO or device is never opened (it can block).
            let attributes = try FileManager.default.attributesOfItem(atPath: url.resolvingSymlinksInPath().path)
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                throw IngestError.unreadable(source: source, reason: "not a regular file (FIFO, socket or device)")
            }
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch let error as IngestError {
            throw error
        } catch {
            throw .unreadable(source: source, reason: "cannot stat: \(error.localizedDescription)")
        }
        guard size <= maxFileSize else { throw .tooLarge(source: source, bytes: size, limit: maxFileSize) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadable(source: source, reason: "permission denied or I/O error")
        }
        let context = LoadContext(fileURL: url, relativePath: relativePath)
        var documents = try loader.load(data, context: context)
        for i in documents.indices {
            documents[i].source = "\(collection)/\(documents[i].source)"
        }
        return (documents, data)
    }

    public func prepare(_ document: ParsedDocument, collection: String, contentHash: String, byteSize: Int)
        -> PreparedDocument
    {
        var chunks = chunker.chunk(document)
        if chunks.isEmpty {
            // A document with only a title (a BEIR entry with empty text) still gets one chunk.
            chunks = [
                ChunkDraft(
                    ordinal: 0, headingPath: [], anchor: nil, text: document.title, startOffset: 0, endOffset: 0,
                    tokenCount: embedder.tokenCount(of: document.title))
            ]
        }
        let texts = chunks.map { $0.embeddingText(title: document.title) }
        return PreparedDocument(
            collection: collection, parsed: document, contentHash: contentHash, pipeline: pipeline,
            byteSize: byteSize, chunks: chunks, textHashes: texts.map { SHA256.hex($0) }, embeddingTexts: texts)
    }

    /// Embeds the chunk texts that have no cached vector, then writes each document in its own
    /// transaction, counting what it did into `report`.
    func embedAndWrite(
        _ documents: [PreparedDocument], existing: [String: DocumentFingerprint], into report: inout IngestReport
    ) async throws {
        guard !documents.isEmpty else { return }
        let (fresh, embedded) = try await embedMissing(documents)
        for document in documents {
            if let collector {
                collector.write(document, vectors: fresh)
            } else {
                try store.write(document, model: embedder.modelID, vectors: fresh)
            }
            if existing[document.parsed.docID] == nil {
                report.documentsAdded += 1
            } else {
                report.documentsUpdated += 1
            }
            report.chunksWritten += document.chunks.count
        }
        report.chunksEmbedded += embedded
    }

    /// Embeds the chunk texts of `documents` that have no cached vector in the store yet.
    /// - Returns: the new vectors by text hash, and how many texts were embedded.
    /// - Parameter progress: called after each batch with the texts embedded so far and how many
    ///   need embedding (texts with a stored vector are not embedded again).
    public func embedMissing(
        _ documents: [PreparedDocument], progress: (@Sendable (_ done: Int, _ missing: Int) async -> Void)? = nil
    ) async throws -> (
        vectors: [String: [Float]], embedded: Int
    ) {
        var textByHash: [String: String] = [:]
        for document in documents {
            for (hash, text) in zip(document.textHashes, document.embeddingTexts) { textByHash[hash] = text }
        }
        let cached = try store.cachedVectors(model: embedder.modelID, textHashes: textByHash.keys)
        let missing = textByHash.keys.filter { cached[$0] == nil }.sorted()
        var fresh: [String: [Float]] = [:]
        let batchSize = max(1, embedder.preferredBatchSize)
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            try Task.checkCancellation()
            let hashes = Array(missing[start..<min(start + batchSize, missing.count)])
            let vectors = try await embedder.embed(hashes.map { textByHash[$0] ?? "" })
            for (hash, vector) in zip(hashes, vectors) {
                guard vector.count == embedder.dimension else {
                    throw StoreError.dimensionMismatch(expected: embedder.dimension, actual: vector.count)
                }
                guard vector.allSatisfy(\.isFinite) else {
                    throw EmbeddingError.serviceFailed(
                        reason: "model \(embedder.modelID) returned a vector with NaN or infinite values")
                }
                fresh[hash] = vector
            }
            await progress?(min(start + batchSize, missing.count), missing.count)
        }
        return (fresh, missing.count)
    }

    /// Regular, non-hidden files under `root`, sorted by relative path, minus `.cascadeignore`
    /// matches; and what was passed over with the reason (symbolic links are not followed, since
    /// they can point outside the folder or in a loop; FIFOs, sockets and devices are never
    /// opened, since reading one can block forever; folders that cannot be read are named).
    public static func enumerateFiles(root: URL) -> (
        files: [(url: URL, relative: String)], skipped: [(relative: String, reason: String)]
    ) {
        let ignore = IgnoreRules(root: root)
        let fm = FileManager.default
        var files: [(URL, String)] = []
        var skipped: [(String, String)] = []
        var folders: [String] = [""]
        while let folder = folders.popLast() {
            let folderPath = folder.isEmpty ? root.path : root.appendingPathComponent(folder).path
            guard let names = try? fm.contentsOfDirectory(atPath: folderPath) else {
                skipped.append(
                    (
                        folder.isEmpty ? "." : folder,
                        "folder cannot be read (permission denied?); nothing in it was ingested"
                    ))
                continue
            }
            for name in names where !name.hasPrefix(".") {
                let relative = folder.isEmpty ? name : folder + "/" + name
                if ignore.ignores(relative) { continue }
                let path = folderPath + "/" + name
                // attributesOfItem does not follow symbolic links (lstat).
                let type = (try? fm.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
                switch type {
                case .typeRegular?:
                    files.append((URL(fileURLWithPath: path), relative))
                case .typeDirectory?:
                    folders.append(relative)
                case .typeSymbolicLink?:
                    skipped.append((relative, "symbolic link; not followed (copy the file in to ingest it)"))
                case nil:
                    skipped.append((relative, "cannot be read (permission denied?)"))
                default:
                    skipped.append((relative, "not a regular file (FIFO, socket or device); not opened"))
                }
            }
        }
        return (files.sorted { $0.1 < $1.1 }, skipped.sorted { $0.0 < $1.0 })
    }
}
