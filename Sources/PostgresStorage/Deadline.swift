import Synchronization

/// Runs work with a deadline without waiting for the work to notice it: at the deadline the
/// caller gets the timeout error at once, and the work is cancelled and left to finish (a
/// database call that does not react to cancellation ends by the server's own timeouts and
/// returns its connection then). A task group would instead wait for the work before returning.
enum Deadline {
    /// The caller's continuation and the two racing tasks; whoever finishes first resumes the
    /// caller, the others find nothing left to resume.
    private final class Race<Result: Sendable>: Sendable {
        let pending = Mutex<CheckedContinuation<Result, any Error>?>(nil)
        let tasks = Mutex<(work: Task<Void, Never>?, timer: Task<Void, Never>?)>((nil, nil))

        func finish(_ outcome: Swift.Result<Result, any Error>) {
            let continuation = pending.withLock { value -> CheckedContinuation<Result, any Error>? in
                defer { value = nil }
                return value
            }
            continuation?.resume(with: outcome)
        }
    }

    static func run<Result: Sendable>(
        _ limit: Duration, _ work: @escaping @Sendable () async throws -> Result,
        timeout: @escaping @Sendable () -> any Error
    ) async throws -> Result {
        let race = Race<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.pending.withLock { $0 = continuation }
                let workTask = Task {
                    do {
                        race.finish(.success(try await work()))
                    } catch {
                        race.finish(.failure(error))
                    }
                    race.tasks.withLock { $0.timer?.cancel() }
                }
                let timerTask = Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    race.finish(.failure(timeout()))
                    race.tasks.withLock { $0.work?.cancel() }
                }
                race.tasks.withLock { $0 = (workTask, timerTask) }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
            race.tasks.withLock {
                $0.work?.cancel()
                $0.timer?.cancel()
            }
        }
    }
}
