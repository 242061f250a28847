import Foundation
import GRDB

/// Which cascade file a SQLite database is, recorded in its header (`PRAGMA application_id`) when
/// it is created, so that a knowledge base passed as `--ledger`, another application's database or
/// a file from a newer cascade is refused before anything is written to it.
public struct StoreKind: Hashable, Sendable {
    /// Words for messages ("knowledge base", "ledger"…).
    public let name: String
    /// The header value marking this kind.
    public let applicationID: Int32
    /// A table every store of this kind has: files made before kinds were recorded are recognised by it.
    public let signatureTable: String

    public static let knowledgeBase = StoreKind(
        name: "knowledge base", applicationID: 0x4341_4B42, signatureTable: "chunk")
    public static let ledger = StoreKind(name: "ledger", applicationID: 0x4341_4C47, signatureTable: "ledger_entry")
    public static let control = StoreKind(
        name: "tenants and keys store", applicationID: 0x4341_4354, signatureTable: "api_key")

    static let all: [StoreKind] = [.knowledgeBase, .ledger, .control]
}

/// A database that is not the store a command expected, worded for the user.
public struct StoreKindError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension DatabaseOpening {
    /// Checks that `writer` is a store of `kind` (or an empty database), refuses a newer schema than
    /// `migrator` knows, then migrates and marks the file with its kind.
    /// - Throws: ``StoreKindError`` without writing anything when the file is of another kind,
    ///   another application's, or newer.
    public static func open(_ writer: any DatabaseWriter, as kind: StoreKind, migrator: DatabaseMigrator) throws {
        let (applicationID, tables) = try writer.read(header)
        try check(applicationID: applicationID, tables: tables, as: kind)
        if tables.contains("grdb_migrations"), try writer.read({ db in try migrator.hasBeenSuperseded(db) }) {
            throw StoreKindError(
                message:
                    "this \(kind.name) was written by a newer cascade (its schema has migrations this one does not know); upgrade cascade"
            )
        }
        try migrate(migrator, writer)
        if applicationID != kind.applicationID {
            try writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA application_id = \(kind.applicationID)")
            }
        }
    }
}

extension DatabaseOpening {
    /// Checks an existing file's kind through a read-only connection before anything opens it for
    /// writing (opening a pool switches the file to WAL, which would already change a foreign file).
    /// A file that cannot be opened read-only is left to the normal open and its checks.
    public static func checkExistingFile(at path: String, is kind: StoreKind, migrator: DatabaseMigrator) throws {
        guard let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber,
            size.intValue > 0
        else { return }
        var configuration = Configuration()
        configuration.readonly = true
        guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return }
        let (applicationID, tables): (Int32, Set<String>)
        do {
            (applicationID, tables) = try queue.read(header)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreKindError(message: "this file is not a SQLite database, so not a cascade \(kind.name)")
        } catch {
            return
        }
        try check(applicationID: applicationID, tables: tables, as: kind)
        if tables.contains("grdb_migrations"), try queue.read({ db in try migrator.hasBeenSuperseded(db) }) {
            throw StoreKindError(
                message:
                    "this \(kind.name) was written by a newer cascade (its schema has migrations this one does not know); upgrade cascade"
            )
        }
    }

    /// The header's kind mark and the database's table names.
    static func header(_ db: Database) throws -> (Int32, Set<String>) {
        (
            try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
            Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
        )
    }

    static func check(applicationID: Int32, tables: Set<String>, as kind: StoreKind) throws {
        guard applicationID != kind.applicationID else { return }
        if let other = StoreKind.all.first(where: { $0.applicationID == applicationID }) {
            throw StoreKindError(message: "this file is a cascade \(other.name), not a \(kind.name)")
        }
        if applicationID != 0 {
            throw StoreKindError(
                message: "this file belongs to another application (SQLite application_id \(applicationID)), "
                    + "not a cascade \(kind.name); nothing was changed")
        }
        let own = tables.filter { !$0.hasPrefix("sqlite_") }
        // Only GRDB's migration table: another process is creating this store right now (the table
        // is committed before the first migration); its migrations are ours to wait for.
        if own == ["grdb_migrations"] { return }
        if !own.isEmpty, !(own.contains(kind.signatureTable) && own.contains("grdb_migrations")) {
            let other = StoreKind.all.first { own.contains($0.signatureTable) }
            throw StoreKindError(
                message: other.map { "this file is a cascade \($0.name), not a \(kind.name)" }
                    ?? "this file is another application's database (tables \(own.sorted().prefix(5).joined(separator: ", "))), "
                    + "not a cascade \(kind.name); nothing was changed")
        }
    }
}
