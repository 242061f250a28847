import GRDB

extension KnowledgeBaseStore {
    /// The chunks of the document stored under `source`, in reading order, so a client that holds
    /// a citation (`source#anchor`) can read the whole document or the cited section.
    ///
    /// Sources are unique per collection, not across collections, so every document with that
    /// source is returned, grouped by document and in order within each.
    /// - Parameter limit: at most this many chunks (a bound on a huge document's response).
    public func chunks(source: String, limit: Int = 10_000) throws -> [StoredChunk] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.heading, c.anchor, c.text, c.start_offset, c.end_offset,
                           d.doc_id, d.collection, d.source, d.title
                    FROM document d JOIN chunk c ON c.document_id = d.id
                    WHERE d.source = ?
                    ORDER BY d.id, c.ordinal
                    LIMIT ?
                    """, arguments: [source, limit]
            ).map { row in
                StoredChunk(
                    chunkID: row["id"], docID: row["doc_id"], collection: row["collection"], source: row["source"],
                    title: row["title"], heading: row["heading"], anchor: row["anchor"], text: row["text"],
                    startOffset: row["start_offset"], endOffset: row["end_offset"])
            }
        }
    }
}
