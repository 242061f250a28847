import Foundation
import GRDB

/// Short sections that many documents of a collection repeat word for word under the same
/// heading: a man page's "GIT — Part of the git(1) suite", a generated page's "License — MIT".
///
/// Each would be a chunk of its own, retrieved for any question about its words and quoted as an
/// answer. The first ``keptCopies`` copies are kept (one page may be asked about its licence); the
/// rest are not chunked. The same short text under different headings (an FAQ's "Yes." under
/// each question) is not repetition and is kept.
struct RepeatedSections {
    /// Longest section text, in characters, that counts as boilerplate.
    static let maxCharacters = 80
    /// Copies kept in a collection.
    static let keptCopies = 2

    /// Documents of the collection (ids) holding each (heading, text) short section.
    private var documents: [String: Set<String>] = [:]

    static func key(_ chunk: ChunkDraft) -> String? {
        guard chunk.text.count <= maxCharacters, let leaf = chunk.headingPath.last else { return nil }
        return leaf + "\u{1F}" + chunk.text
    }

    /// The counts already in the store for `collection`.
    init(store: KnowledgeBaseStore, collection: String) throws {
        let rows = try store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.doc_id, c.heading, c.text
                    FROM chunk c JOIN document d ON d.id = c.document_id
                    WHERE d.collection = ? AND length(c.text) <= ?
                    """, arguments: [collection, Self.maxCharacters])
        }
        for row in rows {
            let heading: String = row["heading"]
            let text: String = row["text"]
            let docID: String = row["doc_id"]
            guard let leaf = heading.components(separatedBy: " › ").last, !leaf.isEmpty else { continue }
            documents[leaf + "\u{1F}" + text, default: []].insert(docID)
        }
    }

    /// `document` without the sections other documents already repeat ``keptCopies`` times
    /// (never all of its chunks), renumbered; its own sections are counted for the next one (a
    /// new version of a stored document replaces that document's copies).
    mutating func filter(_ document: PreparedDocument) -> PreparedDocument {
        let docID = document.parsed.docID
        let keys = document.chunks.map(Self.key)
        var keep = keys.map { key in
            guard let key else { return true }
            return (documents[key] ?? []).subtracting([docID]).count < Self.keptCopies
        }
        if !keep.contains(true) { keep = keys.map { _ in true } }
        for (key, kept) in zip(keys, keep) {
            guard let key else { continue }
            if kept { documents[key, default: []].insert(docID) } else { documents[key]?.remove(docID) }
        }
        var filtered = document
        filtered.chunks = []
        filtered.textHashes = []
        filtered.embeddingTexts = []
        for i in document.chunks.indices where keep[i] {
            var chunk = document.chunks[i]
            chunk.ordinal = filtered.chunks.count
            filtered.chunks.append(chunk)
            filtered.textHashes.append(document.textHashes[i])
            filtered.embeddingTexts.append(document.embeddingTexts[i])
        }
        return filtered
    }
}
