import Cascade
import Foundation
import KnowledgeBase
import Metering

/// One tenant as a folder of files, to move it between the SQLite default and PostgreSQL
/// (`cascade export` / `cascade import`): its tenant record and keys (hashes only), its ledger
/// rows, billing changes and final invoices, and its knowledge base (documents with chunks and
/// vectors). `manifest.json` lists every file with its SHA-256; an import checks everything —
/// hashes, every row's own hash, every vector — before it writes anything, and writes only into
/// stores that have nothing of the tenant.
public enum TenantArchive {
    public static let manifestFile = "manifest.json"
    public static let tenantFile = "tenant.json"
    public static let knowledgeFile = "knowledge.jsonl"

    /// Where a tenant's knowledge base is kept.
    public enum KnowledgeStore: Sendable {
        /// `<data>/tenants/<tenant>/kb.sqlite` (one node).
        case local(DataDirectory)
        /// The shared log (several nodes).
        case shared(any KnowledgeBaseLog)
    }

    /// The stores an export reads or an import writes.
    public struct Stores: Sendable {
        public var control: any ControlStoring
        public var ledger: any LedgerStore
        public var knowledge: KnowledgeStore

        public init(control: any ControlStoring, ledger: any LedgerStore, knowledge: KnowledgeStore) {
            self.control = control
            self.ledger = ledger
            self.knowledge = knowledge
        }
    }

    /// What an archive holds (`manifest.json`).
    public struct Manifest: Codable, Sendable, Equatable {
        public var format = 1
        public var tenant: String
        public var exportedAt: String
        public var files: [String: String]
        public var ledgerRows: Int
        public var billingChanges: Int
        public var finalInvoices: Int
        public var keys: Int
        public var knowledgeChanges: Int
        public var documents: Int

        enum CodingKeys: String, CodingKey {
            case format, tenant, files, keys, documents
            case exportedAt = "exported_at"
            case ledgerRows = "ledger_rows"
            case billingChanges = "billing_changes"
            case finalInvoices = "final_invoices"
            case knowledgeChanges = "knowledge_changes"
        }
    }

    struct TenantFile: Codable {
        var tenant: String
        var created_at_ms: Int64
        var keys: [Key]
        struct Key: Codable {
            var key_id: String
            var scope: String
            var name: String?
            var secret_hash: String
            var created_at_ms: Int64
            var revoked_at_ms: Int64?
        }
    }

    public enum ArchiveError: Error, CustomStringConvertible, Equatable {
        case invalid(String)
        public var description: String {
            switch self {
            case .invalid(let message): message
            }
        }
    }

    // MARK: - Export

    /// Writes `tenant` into `directory` (created; it must not exist or be empty).
    @discardableResult
    public static func export(tenant: String, from stores: Stores, to directory: String, now: Date = Date())
        async throws -> Manifest
    {
        guard let record = try await stores.control.tenant(tenant) else { throw ControlError.unknownTenant(tenant) }
        let fileManager = FileManager.default
        if let existing = try? fileManager.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw ArchiveError.invalid("\(directory) is not empty: export into a new folder")
        }
        let keys = try await stores.control.keys(tenant: tenant)
        let history = try await stores.ledger.history(tenant: tenant)
        let knowledge = try await knowledgeRecords(tenant: tenant, in: stores.knowledge)

        var files = try history.archiveFiles()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        files[tenantFile] = try encoder.encode(
            TenantFile(
                tenant: tenant, created_at_ms: ControlStore.ms(record.createdAt),
                keys: keys.map {
                    TenantFile.Key(
                        key_id: $0.keyID, scope: $0.scope.rawValue, name: $0.name, secret_hash: $0.secretHash,
                        created_at_ms: ControlStore.ms($0.createdAt), revoked_at_ms: $0.revokedAt.map(ControlStore.ms))
                }))
        var lines = Data()
        for record in knowledge {
            lines.append(try record.encoded())
            lines.append(0x0A)
        }
        files[knowledgeFile] = lines

        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, data) in files {
            try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name), options: .atomic)
        }
        let manifest = Manifest(
            tenant: tenant, exportedAt: JSONConvention.timestamp(now), files: files.mapValues { SHA256.hex($0) },
            ledgerRows: history.entries.count, billingChanges: history.billing.count,
            finalInvoices: history.finalInvoices.count, keys: keys.count, knowledgeChanges: knowledge.count,
            documents: Set(knowledge.flatMap { $0.writes.map { "\($0.collection)/\($0.docID)" } }).count)
        // Written last: a folder without a manifest is an export that did not finish.
        try encoder.encode(manifest).write(
            to: URL(fileURLWithPath: directory).appendingPathComponent(manifestFile), options: .atomic)
        return manifest
    }

    /// Documents per knowledge-base line of an archive.
    static let documentsPerRecord = 8192

    /// The tenant's knowledge base as it is now, as changes of at most ``documentsPerRecord``
    /// documents. A shared one is replayed into a scratch copy first: the archive holds the
    /// documents, not the log's history (which may switch models, and whose versions mean nothing
    /// in another store), so it imports the same way into SQLite and into a shared log.
    static func knowledgeRecords(tenant: String, in store: KnowledgeStore) async throws -> [KnowledgeBaseLogRecord] {
        switch store {
        case .local(let data):
            let path = try data.knowledgeBasePath(tenant: tenant)
            guard FileManager.default.fileExists(atPath: path) else { return [] }
            return try KnowledgeBaseStore(path: path).exportRecords(maxDocuments: documentsPerRecord)
        case .shared(let log):
            guard try await !log.entries(tenant: tenant, after: 0, limit: 1).isEmpty else { return [] }
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "cascade-export-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let copy = try KnowledgeBaseStore(path: scratch.appendingPathComponent("kb.sqlite").path)
            try await copy.replay(log, tenant: tenant)
            return try copy.exportRecords(maxDocuments: documentsPerRecord)
        }
    }

    // MARK: - Import

    /// An archive read and checked, ready to be written (``read(from:)``).
    public struct Contents: Sendable {
        public var manifest: Manifest
        var tenant: Tenant
        var keys: [APIKeyRecord]
        var history: TenantHistory
        var knowledge: [KnowledgeBaseLogRecord]
    }

    /// Reads the archive in `directory` and checks all of it; nothing is opened or written.
    public static func read(from directory: String) throws -> Contents {
        let base = URL(fileURLWithPath: directory)
        guard let manifestData = try? Data(contentsOf: base.appendingPathComponent(manifestFile)) else {
            throw ArchiveError.invalid(
                "\(directory) has no \(manifestFile): not a cascade export, or an unfinished one")
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: manifestData), manifest.format == 1 else {
            throw ArchiveError.invalid("\(directory)/\(manifestFile) is not a cascade export manifest (format 1)")
        }
        let expected: Set<String> = [
            tenantFile, knowledgeFile, TenantHistory.ledgerFile, TenantHistory.billingFile,
            TenantHistory.finalInvoicesFile,
        ]
        guard Set(manifest.files.keys) == expected else {
            throw ArchiveError.invalid(
                "the manifest lists \(manifest.files.keys.sorted()), expected \(expected.sorted())")
        }
        var files: [String: Data] = [:]
        for (name, hash) in manifest.files {
            guard let data = try? Data(contentsOf: base.appendingPathComponent(name)) else {
                throw ArchiveError.invalid("\(name) is missing from \(directory)")
            }
            guard SHA256.hex(data) == hash else {
                throw ArchiveError.invalid("\(name) does not match its SHA-256 in the manifest: it was changed")
            }
            files[name] = data
        }
        // Everything is decoded and checked before anything is written.
        guard let tenantFile = try? JSONDecoder().decode(TenantFile.self, from: files[Self.tenantFile]!),
            tenantFile.tenant == manifest.tenant
        else { throw ArchiveError.invalid("\(Self.tenantFile) does not describe tenant \(manifest.tenant)") }
        let tenant = try TenantConfiguration.validatedName(manifest.tenant)
        let keys = try tenantFile.keys.map { key -> APIKeyRecord in
            guard let scope = KeyScope(rawValue: key.scope), key.secret_hash.count == 64 else {
                throw ArchiveError.invalid("key \(key.key_id) in \(Self.tenantFile) is not a valid key record")
            }
            return APIKeyRecord(
                keyID: key.key_id, tenant: tenant, scope: scope, name: key.name,
                createdAt: ControlStore.date(key.created_at_ms), revokedAt: key.revoked_at_ms.map(ControlStore.date),
                secretHash: key.secret_hash)
        }
        let history = try TenantHistory(tenant: tenant, archiveFiles: files)
        try history.check()
        var records: [KnowledgeBaseLogRecord] = []
        for (index, line) in files[knowledgeFile]!.split(separator: 0x0A).enumerated() {
            let record = try KnowledgeBaseLogRecord.decode(Data(line), version: Int64(index + 1))
            _ = try record.changes()
            records.append(record)
        }

        return Contents(
            manifest: manifest, tenant: Tenant(id: tenant, createdAt: ControlStore.date(tenantFile.created_at_ms)),
            keys: keys, history: history, knowledge: records)
    }

    /// Writes a checked archive into `stores`, which must have nothing of its tenant.
    @discardableResult
    public static func write(_ contents: Contents, into stores: Stores) async throws -> Manifest {
        let tenant = contents.tenant.id
        let (keys, history, records) = (contents.keys, contents.history, contents.knowledge)
        // Only into stores that have nothing of the tenant.
        if try await stores.control.tenant(tenant) != nil { throw ControlError.tenantExists(tenant) }
        let present = try await stores.ledger.history(tenant: tenant)
        guard present.entries.isEmpty && present.billing.isEmpty && present.finalInvoices.isEmpty else {
            throw ArchiveError.invalid("the ledger already has rows of \(tenant): an import never merges")
        }
        switch stores.knowledge {
        case .local(let data):
            if FileManager.default.fileExists(atPath: try data.knowledgeBasePath(tenant: tenant)) {
                throw ArchiveError.invalid("\(tenant) already has a knowledge base in \(data.root)")
            }
        case .shared(let log):
            if try await !log.entries(tenant: tenant, after: 0, limit: 1).isEmpty {
                throw ArchiveError.invalid("\(tenant) already has a knowledge base in the database")
            }
        }

        try await stores.control.importTenant(contents.tenant, keys: keys)
        try await stores.ledger.importHistory(history)
        switch stores.knowledge {
        case .local(let data):
            guard !records.isEmpty else { break }
            try FileManager.default.createDirectory(
                atPath: try data.tenantDirectory(tenant), withIntermediateDirectories: true)
            let store = try KnowledgeBaseStore(path: try data.knowledgeBasePath(tenant: tenant))
            for record in records {
                let (changes, vectors) = try record.changes()
                try store.apply(changes, model: record.model, dimension: record.dimension, vectors: vectors) {
                    _, commit in try commit()
                }
            }
        case .shared(let log):
            for record in records { _ = try await log.append(tenant: tenant, record: record, now: Date()) }
        }
        return contents.manifest
    }
}
