/// At most `limit` holders at once across async code, waiters served in order; nothing blocks a
/// thread while waiting.
actor AsyncSemaphore {
    let limit: Int
    private var held = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func withSlot<Result: Sendable>(_ body: @Sendable () async throws -> Result) async rethrows -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        guard held >= limit else {
            held += 1
            return
        }
        // `release` hands its slot straight to the first waiter (held stays the same).
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            held -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
