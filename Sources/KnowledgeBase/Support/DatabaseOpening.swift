import Foundation
import GRDB

/// Opening SQLite files that other processes may be opening at the same moment.
public enum DatabaseOpening {
    /// Opens (creating its folder if needed) a WAL-mode connection pool whose writers wait up to
    /// 30 s for each other, retrying while another process holds the lock that switching a new
    /// file to WAL needs (SQLite reports that as "database is locked" at once, without waiting
    /// on the busy timeout).
    public static func pool(
        path: String, prepare: (@Sendable (Database) throws -> Void)? = nil, attempts: Int = 100
    ) throws -> DatabasePool {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        if let prepare { configuration.prepareDatabase(prepare) }
        var delay: UInt32 = 5_000
        for attempt in 1...attempts {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < attempts {
                usleep(delay)
                delay = min(delay * 2, 100_000)
            }
        }
        return try DatabasePool(path: path, configuration: configuration)
    }
}

extension DatabaseOpening {
    /// Runs `migrator`, tolerating another process migrating the same new file at the same
    /// time: GRDB checks which migrations are applied before it takes the write lock, so both
    /// may start the first one; the loser's transaction rolls back and a retry finds the work done.
    public static func migrate(_ migrator: DatabaseMigrator, _ writer: any DatabaseWriter, attempts: Int = 5) throws {
        for attempt in 1...attempts {
            do {
                try migrator.migrate(writer)
                return
            } catch  where attempt < attempts {
                usleep(UInt32(20_000 * attempt))
            }
        }
    }
}
