import GRDB

extension KnowledgeBaseStore {
    /// Relative BM25 weights of the keyword index columns (title, heading, body): a term in a
    /// page title or section heading says more about the chunk than one in running text.
    public static let keywordColumnWeights: (title: Double, heading: Double, body: Double) = (2.0, 2.0, 1.0)

    /// BM25 keyword search over chunk text, headings and titles.
    /// - Returns: chunk ids with their BM25 score (higher is better), best first; empty when the
    ///   query has no searchable word.
    public func keywordSearch(_ query: String, limit: Int, filter: SearchFilter? = nil) throws -> [(
        chunkID: Int64, score: Double
    )] {
        guard limit > 0, let expression = KeywordQuery.matchExpression(for: query) else { return [] }
        let w = Self.keywordColumnWeights
        var sql = """
            SELECT rowid, bm25(chunk_fts, \(w.title), \(w.heading), \(w.body)) AS rank
            FROM chunk_fts WHERE chunk_fts MATCH ?
            """
        var arguments: [any DatabaseValueConvertible] = [expression]
        if let filter, !filter.isEmpty {
            let condition = filter.sqlCondition()
            sql +=
                " AND rowid IN (SELECT c.id FROM chunk c JOIN document d ON d.id = c.document_id WHERE \(condition.sql))"
            arguments += condition.arguments as [any DatabaseValueConvertible]
        }
        sql += " ORDER BY rank LIMIT ?"
        arguments.append(limit)
        return try writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                (row[0], -(row[1] as Double))
            }
        }
    }
}
