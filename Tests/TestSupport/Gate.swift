import Foundation
import Synchronization

/// A gate a fake server's handler thread waits at until the test opens it, so a test can hold a
/// request "in flight" for exactly as long as it needs and assert what happens meanwhile by order,
/// not by a stopwatch. Waiting threads are real threads (the loopback server's), never the
/// cooperative pool's.
public final class Gate: Sendable {
    private let state = Mutex(false)
    private let condition = NSCondition()

    public init() {}

    public var isOpen: Bool { state.withLock { $0 } }

    /// Blocks the calling thread until ``open()`` (or `limit`, so a failed test never hangs the run).
    public func wait(limit: TimeInterval = 600) {
        let deadline = Date().addingTimeInterval(limit)
        condition.lock()
        defer { condition.unlock() }
        while !isOpen, condition.wait(until: deadline) {}
    }

    public func open() {
        condition.lock()
        state.withLock { $0 = true }
        condition.broadcast()
        condition.unlock()
    }
}
