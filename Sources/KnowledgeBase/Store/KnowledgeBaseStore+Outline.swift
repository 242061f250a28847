import Embeddings
import Foundation
import GRDB

extension KnowledgeBaseStore {
    /// One section of a document as the chunker found it: what a knowledge base says about its
    /// own structure (page titles, heading paths), read by label-free calibration to write
    /// questions the knowledge base answers.
    public struct OutlineEntry: Hashable, Sendable {
        public var collection: String
        public var docID: String
        public var title: String
        /// The heading path (`Part › Section`), empty before a page's first heading.
        public var heading: String
        /// The opening of the section's first chunk (at most 400 characters).
        public var opening: String
        /// The opening of the section's second chunk (at most 400 characters), nil when the
        /// section has one chunk: a first chunk that is only a table or a list of names is too
        /// short to be recognised in another form of the page, its continuation is not.
        public var continuation: String?

        public init(
            collection: String, docID: String, title: String, heading: String, opening: String,
            continuation: String? = nil
        ) {
            self.collection = collection
            self.docID = docID
            self.title = title
            self.heading = heading
            self.opening = opening
            self.continuation = continuation
        }
    }

    /// The first chunk of every (document, heading) pair, in document order, with the start of
    /// the section's second chunk.
    public func outline() throws -> [OutlineEntry] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.collection, d.doc_id, d.title, c.heading, substr(c.text, 1, 400) AS opening,
                        substr(n.text, 1, 400) AS continuation
                    FROM chunk c JOIN document d ON d.id = c.document_id
                    LEFT JOIN chunk n ON n.document_id = c.document_id AND n.ordinal = c.ordinal + 1
                        AND n.heading = c.heading
                    WHERE c.id IN (SELECT min(id) FROM chunk GROUP BY document_id, heading)
                    ORDER BY d.id, c.ordinal
                    """
            ).map {
                OutlineEntry(
                    collection: $0["collection"], docID: $0["doc_id"], title: $0["title"], heading: $0["heading"],
                    opening: $0["opening"], continuation: $0["continuation"])
            }
        }
    }

    /// Number of chunks whose text, heading or title contain every word of `term` (as the
    /// keyword index matches words: case-folded, stemmed), counted up to `limit`: 0 means the
    /// knowledge base never mentions it. 0 for a term with no searchable word.
    public func mentions(_ term: String, limit: Int = 1) throws -> Int {
        var seen = Set<String>()
        let words = TextSegmenter.words(term).filter { seen.insert($0).inserted }.prefix(KeywordQuery.maxTerms)
        guard !words.isEmpty, limit > 0 else { return 0 }
        let expression = words.map { "\"" + $0 + "\"" }.joined(separator: " AND ")
        return try writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM (SELECT rowid FROM chunk_fts WHERE chunk_fts MATCH ? LIMIT ?)",
                arguments: [expression, limit]) ?? 0
        }
    }

    /// Whether one chunk contains every word of `words`; false when they hold no searchable word.
    public func mentionsTogether(_ words: [String]) throws -> Bool {
        try mentions(words.joined(separator: " ")) > 0
    }

    /// A digest of what the knowledge base holds (every document's collection, id and content
    /// hash, the chunking pipeline, and the embedding model): equal digests mean equal content,
    /// so whatever was derived from the content (a label-free calibration) can be reused.
    public func contentVersion() throws -> String {
        try writer.read { db in
            var text = ""
            let model = try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'embedding_model'") ?? ""
            text += "model \(model)\n"
            let rows = try Row.fetchCursor(
                db, sql: "SELECT collection, doc_id, content_hash, pipeline FROM document ORDER BY collection, doc_id")
            while let row = try rows.next() {
                let collection: String = row["collection"]
                let docID: String = row["doc_id"]
                let hash: String = row["content_hash"]
                let pipeline: String = row["pipeline"]
                text += "\(collection)\t\(docID)\t\(hash)\t\(pipeline)\n"
            }
            return SHA256.hex(text)
        }
    }

    /// A value stored beside the content (`kb_meta`), nil when absent.
    public func metaValue(_ key: String) throws -> String? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = ?", arguments: [key])
        }
    }

    /// Stores a value beside the content (`kb_meta`); derived data only, never the content itself.
    public func setMetaValue(_ key: String, _ value: String) throws {
        try writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO kb_meta(key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }
}
