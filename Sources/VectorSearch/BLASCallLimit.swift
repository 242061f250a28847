import Dispatch
import Foundation

/// How many threads may be inside an OpenBLAS level-2/3 routine (`sgemm`, `sgemv`) at once.
///
/// OpenBLAS 0.3.21 (Debian 12) keeps a fixed table of work buffers, about two per CPU it was
/// built for, and takes one for every call in progress. Past that it falls back to an overflow
/// path that corrupts the heap when many threads enter at once: 200 tenants uploading at the
/// same moment put ~160 threads into `sgemm` and the server died with SIGSEGV in `malloc`.
/// Every `sgemm`/`sgemv` in cascade goes through ``run(_:)``, so the number of callers stays far
/// below the table's size whatever the load; the rest wait their turn (a few milliseconds: one
/// call is one layer of one batch).
///
/// The wait blocks the calling thread, like the BLAS call it guards would; callers never hold it
/// across an `await`.
public enum BLASCallLimit {
    /// The limit: twice the cores this process may use, at least 2 and at most 32 (Debian's
    /// OpenBLAS is built for 64 CPUs: 128 buffers).
    public static let limit = min(32, max(2, 2 * ProcessInfo.processInfo.activeProcessorCount))

    private static let slots = DispatchSemaphore(value: limit)

    /// Runs `body` (one BLAS call) once fewer than ``limit`` threads are inside one.
    @inline(__always)
    public static func run<T>(_ body: () throws -> T) rethrows -> T {
        slots.wait()
        defer { slots.signal() }
        return try body()
    }
}
