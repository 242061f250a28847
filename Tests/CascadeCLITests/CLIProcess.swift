import Foundation
@_exported import TestSupport

/// Runs the real `cascade` binary, as a script or a user would, and captures what it prints.
struct CLIProcess {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw CLIError("stdout is not a JSON object: \(stdout.prefix(200))")
            }
            return object
        }
    }

    struct CLIError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `cascade` executable built beside this test bundle.
    static var binary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("cascade")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/cascade")
    }

    static func start(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws
        -> (Process, Pipe, Pipe)
    {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs the binary to its end and returns what it printed.
    ///
    /// Async, and the waiting happens on a thread of its own: a child can run for many seconds
    /// (an ingest, an evaluation), and a test that blocked one of the two cooperative threads of a
    /// two-core machine for that long stalled every other test's async work in the process (the
    /// PostgreSQL suites' transactions sat idle until the server's timeouts ended them).
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:])
        async throws -> Output
    {
        let (process, out, err) = try start(arguments, in: directory, environment: environment)
        let waiter = ProcessWaiter(process: process, out: out, err: err)
        return await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: waiter.wait()) }.start()
        }
    }
}

extension Process {
    /// Waits for the process to exit on a thread of its own, never blocking a cooperative thread.
    func exited() async {
        let process = UncheckedProcess(process: self)
        await withCheckedContinuation { continuation in
            Thread {
                process.process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }
}

private struct UncheckedProcess: @unchecked Sendable {
    // Safe: only `waitUntilExit` is called on it from the other thread.
    let process: Process
}

/// Reads a child's two pipes to the end and waits for it to exit, blocking the calling thread
/// (never a cooperative one: ``CLIProcess/run(_:in:environment:)`` gives it a thread).
private struct ProcessWaiter: @unchecked Sendable {
    // Safe: used by one thread at a time, after the process has been started.
    let process: Process
    let out: Pipe
    let err: Pipe

    func wait() -> CLIProcess.Output {
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        let errData = Locked(Data())
        let errDone = NSCondition()
        let errReader = Thread {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            errDone.lock()
            errDone.signal()
            errDone.unlock()
        }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errDone.lock()
        while !errData.isSet { errDone.wait() }
        errDone.unlock()
        return CLIProcess.Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

/// A value written by one thread and read by another.
final class Locked<T>: @unchecked Sendable {
    // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var stored: T
    private var wasSet = false

    init(_ value: T) { stored = value }

    var value: T { lock.withLock { stored } }
    var isSet: Bool { lock.withLock { wasSet } }

    func set(_ value: T) {
        lock.withLock {
            stored = value
            wasSet = true
        }
    }
}

/// A PostgreSQL URL for one test: the server `tools/postgres` starts (or
/// `$CASCADE_TEST_DATABASE_URL`), in a schema of the test's own.
func testSchemaURL() -> String {
    let base =
        ProcessInfo.processInfo.environment["CASCADE_TEST_DATABASE_URL"]
        ?? "postgres://cascade:cascade@127.0.0.1:5432/cascade_test"
    let schema = "cli_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    return base + (base.contains("?") ? "&" : "?") + "search_path=\(schema)"
}
