import GRDB

/// The knowledge base schema, as GRDB migrations. A shipped migration is never edited: changes
/// come as new migrations (`v2`, `v3`…) so existing stores upgrade in place.
enum KnowledgeBaseSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kb_meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    );
                    CREATE TABLE document (
                        id INTEGER PRIMARY KEY,
                        collection TEXT NOT NULL,
                        doc_id TEXT NOT NULL,
                        source TEXT NOT NULL,
                        title TEXT NOT NULL,
                        format TEXT NOT NULL,
                        content_hash TEXT NOT NULL,
                        pipeline TEXT NOT NULL,
                        metadata TEXT NOT NULL DEFAULT '{}',
                        byte_size INTEGER NOT NULL,
                        chunk_count INTEGER NOT NULL,
                        ingested_at TEXT NOT NULL,
                        UNIQUE (collection, doc_id)
                    );
                    CREATE TABLE chunk (
                        id INTEGER PRIMARY KEY,
                        document_id INTEGER NOT NULL REFERENCES document(id) ON DELETE CASCADE,
                        ordinal INTEGER NOT NULL,
                        heading TEXT NOT NULL,
                        anchor TEXT,
                        text TEXT NOT NULL,
                        start_offset INTEGER NOT NULL,
                        end_offset INTEGER NOT NULL,
                        token_count INTEGER NOT NULL,
                        text_hash TEXT NOT NULL
                    );
                    CREATE INDEX chunk_by_document ON chunk(document_id, ordinal);
                    CREATE INDEX chunk_by_text_hash ON chunk(text_hash);
                    CREATE TABLE embedding (
                        model TEXT NOT NULL,
                        text_hash TEXT NOT NULL,
                        vector BLOB NOT NULL,
                        PRIMARY KEY (model, text_hash)
                    ) WITHOUT ROWID;
                    CREATE VIRTUAL TABLE chunk_fts USING fts5(
                        title, heading, body,
                        tokenize = 'porter unicode61 remove_diacritics 2'
                    );
                    CREATE TRIGGER chunk_fts_delete AFTER DELETE ON chunk BEGIN
                        DELETE FROM chunk_fts WHERE rowid = old.id;
                    END;
                    """)
        }
        return migrator
    }
}
