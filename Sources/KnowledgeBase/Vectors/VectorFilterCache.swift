import Foundation
import VectorSearch

/// Remembers, per ``SearchFilter``, which index rows and chunks it allows.
///
/// Resolving a filter is a SQL join over documents, chunks and vectors; a server sees the same
/// few filters (a tenant's collections, a product's pages) again and again, and the index is an
/// immutable snapshot, so the answer can be kept for the index's lifetime.
final class VectorFilterCache: @unchecked Sendable {
    // Safe: `entries` is only touched while holding `lock`.
    private let lock = NSLock()
    private var entries: [SearchFilter: Entry] = [:]
    static let capacity = 64

    struct Entry {
        var rows: RowFilter
        var chunks: Set<Int64>
    }

    func entry(for filter: SearchFilter, compute: () throws -> Entry) rethrows -> Entry {
        lock.lock()
        if let hit = entries[filter] {
            lock.unlock()
            return hit
        }
        lock.unlock()
        let fresh = try compute()
        lock.lock()
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[filter] = fresh
        lock.unlock()
        return fresh
    }
}
