import Foundation
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
        migrator.registerMigration("v2-vector-packs") { db in
            // Vectors move from one row each into packs of many rows per blob (see
            // VectorPacking); vectors no chunk uses any more are dropped on the way.
            try db.execute(
                sql: """
                    ALTER TABLE embedding RENAME TO embedding_v1;
                    CREATE TABLE vector_pack (
                        id INTEGER PRIMARY KEY,
                        model TEXT NOT NULL,
                        dimension INTEGER NOT NULL,
                        row_count INTEGER NOT NULL,
                        dead_rows INTEGER NOT NULL DEFAULT 0,
                        vectors BLOB NOT NULL,
                        checksum INTEGER -- added by v3 to stores migrated before it; packing writes it
                    );
                    CREATE INDEX vector_pack_by_model ON vector_pack(model, dimension, id);
                    CREATE TABLE embedding (
                        model TEXT NOT NULL,
                        text_hash TEXT NOT NULL,
                        pack_id INTEGER NOT NULL,
                        slot INTEGER NOT NULL,
                        PRIMARY KEY (model, text_hash)
                    ) WITHOUT ROWID;
                    CREATE INDEX embedding_by_pack ON embedding(pack_id, slot);
                    """)
            let models = try String.fetchAll(db, sql: "SELECT DISTINCT model FROM embedding_v1 ORDER BY model")
            for model in models {
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT e.text_hash, e.vector FROM embedding_v1 e
                        WHERE e.model = ? AND EXISTS (SELECT 1 FROM chunk c WHERE c.text_hash = e.text_hash)
                        ORDER BY e.text_hash
                        """, arguments: [model])
                var batch: [(String, [Float])] = []
                while let row = try rows.next() {
                    batch.append((row[0], VectorBlob.decode(row[1])))
                    if batch.count == VectorPacking.rowsPerPack {
                        try VectorPacking.append(db, model: model, vectors: batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                try VectorPacking.append(db, model: model, vectors: batch)
            }
            try db.execute(sql: "DROP TABLE embedding_v1")
        }
        migrator.registerMigration("v3-pack-checksums") { db in
            // Each pack's vectors carry their XXH64, checked whenever an index loads: bytes
            // flipped inside a blob once gave a search score of 249.9 and an answer billed at
            // confidence 1.0.
            if try !db.columns(in: "vector_pack").contains(where: { $0.name == "checksum" }) {
                try db.execute(sql: "ALTER TABLE vector_pack ADD COLUMN checksum INTEGER")
            }
            let packs = try Row.fetchCursor(
                db, sql: "SELECT id, vectors FROM vector_pack WHERE checksum IS NULL ORDER BY id")
            let update = try db.makeStatement(sql: "UPDATE vector_pack SET checksum = ? WHERE id = ?")
            while let pack = try packs.next() {
                let id: Int64 = pack[0]
                let vectors: Data = pack[1]
                try update.execute(arguments: [VectorPacking.checksum(vectors), id])
            }
        }
        return migrator
    }
}
