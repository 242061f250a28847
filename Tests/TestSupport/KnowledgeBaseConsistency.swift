import GRDB

/// What is wrong with a knowledge base file, read directly with SQL (empty when consistent):
/// SQLite's integrity check, documents whose chunk count disagrees with their chunks (a partly
/// written document), keyword rows out of step with chunks, and chunks without a vector of the
/// store's model.
public func knowledgeBaseConsistencyProblems(_ reader: any DatabaseReader) throws -> [String] {
    try reader.read { db in
        var problems: [String] = []
        let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        if integrity != ["ok"] { problems.append("integrity_check: \(integrity)") }
        let partial =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM document d
                    WHERE d.chunk_count != (SELECT COUNT(*) FROM chunk c WHERE c.document_id = d.id)
                    """) ?? -1
        if partial != 0 { problems.append("\(partial) documents with a wrong chunk count") }
        let chunks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk") ?? -1
        let keywordRows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk_fts") ?? -2
        if chunks != keywordRows { problems.append("\(chunks) chunks but \(keywordRows) keyword rows") }
        let missing =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM chunk c JOIN kb_meta m ON m.key = 'embedding_model'
                    WHERE NOT EXISTS (SELECT 1 FROM embedding e WHERE e.model = m.value AND e.text_hash = c.text_hash)
                    """) ?? -1
        if missing != 0 { problems.append("\(missing) chunks without a vector") }
        let orphans =
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM embedding e WHERE NOT EXISTS (SELECT 1 FROM chunk c WHERE c.text_hash = e.text_hash)"
            ) ?? -1
        if orphans != 0 { problems.append("\(orphans) vectors no chunk uses") }
        let badPacks =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM vector_pack p
                    WHERE length(p.vectors) != p.row_count * p.dimension * 4
                       OR p.row_count - p.dead_rows != (SELECT COUNT(*) FROM embedding e WHERE e.pack_id = p.id)
                       OR EXISTS (SELECT 1 FROM embedding e WHERE e.pack_id = p.id AND e.slot >= p.row_count)
                    """) ?? -1
        if badPacks != 0 { problems.append("\(badPacks) vector packs whose size or live rows are wrong") }
        let dangling =
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM embedding e WHERE NOT EXISTS (SELECT 1 FROM vector_pack p WHERE p.id = e.pack_id)"
            ) ?? -1
        if dangling != 0 { problems.append("\(dangling) vectors pointing at a missing pack") }
        return problems
    }
}
