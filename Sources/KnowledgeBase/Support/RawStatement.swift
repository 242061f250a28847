import Foundation
import GRDB
import GRDBSQLite

/// Binds and steps a prepared GRDB statement through the SQLite C API, for bulk loops.
///
/// GRDB's argument handling (boxing each value, validating the count) costs a few microseconds
/// per execution; in an import of a million rows with four statements each, that is most of the
/// time. Only for statements whose argument count the caller controls.
struct RawStatement {
    let statement: Statement
    private var index: Int32 = 0

    init(_ statement: Statement) {
        self.statement = statement
    }

    private var handle: OpaquePointer { statement.sqliteStatement }

    mutating func bind(_ value: Int64) {
        index += 1
        sqlite3_bind_int64(handle, index, value)
    }

    mutating func bind(_ value: Int) { bind(Int64(value)) }

    mutating func bind(_ value: String) {
        index += 1
        var copy = value
        copy.withUTF8 { text in
            // SQLITE_TRANSIENT: SQLite copies the bytes before this call returns. An empty
            // string still needs a non-null pointer, or SQLite would bind NULL.
            let empty: CChar = 0
            withUnsafePointer(to: empty) { fallback in
                let pointer = UnsafeRawPointer(text.baseAddress)?.assumingMemoryBound(to: CChar.self) ?? fallback
                _ = sqlite3_bind_text(
                    handle, index, pointer, Int32(text.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
        }
    }

    /// Binds `count` bytes at `bytes` as a blob (copied by SQLite).
    mutating func bind(blob bytes: UnsafeRawPointer, count: Int) {
        index += 1
        sqlite3_bind_blob(handle, index, bytes, Int32(count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    /// Runs the statement once with the bound values, then clears them for the next row.
    /// - Returns: the number of rows changed.
    @discardableResult
    mutating func step(_ db: Database) throws -> Int {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            index = 0
        }
        let rc = sqlite3_step(handle)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: statement.sql)
        }
        return Int(sqlite3_changes(db.sqliteConnection))
    }

    /// Runs a query with the bound values and returns its first column as integers.
    mutating func int64Column(_ db: Database) throws -> [Int64] {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            index = 0
        }
        var values: [Int64] = []
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return values }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    sql: statement.sql)
            }
            values.append(sqlite3_column_int64(handle, 0))
        }
    }

    /// Runs a query with the bound values, calling `body` per row with an integer column reader.
    mutating func rows(_ db: Database, _ body: ((Int32) -> Int64) throws -> Void) throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            index = 0
        }
        let handle = self.handle
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    sql: statement.sql)
            }
            try body { sqlite3_column_int64(handle, $0) }
        }
    }
}
