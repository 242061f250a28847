import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs a statement and reads its whole answer.
    ///
    /// Why not `query` alone: its answer is a stream that starts before the statement finishes,
    /// so an error the server sends after the row description (a lock timeout while waiting in
    /// `pg_advisory_xact_lock`, a statement timeout) sits unread in a discarded stream. The
    /// transaction is then aborted without anyone knowing, and the next statement fails with
    /// "current transaction is aborted" (25P02) instead of the real cause.
    @discardableResult
    public func run(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }
}
