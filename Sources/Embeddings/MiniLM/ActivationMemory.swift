import CKernels
import Foundation

/// Keeps the encoder's activation buffers mapped between passes.
///
/// Every pass allocates its activations afresh: a few MB for an int8 pass of 1,024 tokens, tens
/// of MB for f32. By default glibc serves the larger ones with `mmap` and hands freed heap tops
/// back to the kernel, so each pass page-faults its buffers in again, and the kernel zeroes every
/// page (perf on an int8 ingest: page faults, cgroup charging and page clearing). Raising the
/// mmap threshold above the largest buffer of a pass (an f32 pass of 8,192 tokens: 50 MB for the
/// feed-forward activations) and the trim threshold well above a pass's needs keeps that memory
/// in the heap for the next pass: int8 chunks/s rose by about a quarter in an
/// interleaved A/B on these machines (docs/benchmarks.md). The cost is that the process keeps its
/// peak heap instead of returning it between passes; the peak itself does not change.
///
/// Applied once per process, and not at all when the user tunes glibc's allocator themselves
/// (`GLIBC_TUNABLES` or the `MALLOC_*_` variables), which then decide.
enum ActivationMemory {
    /// Largest allocation glibc takes from the heap rather than mapping on its own.
    static let mmapThreshold: Int32 = 64 << 20
    /// Free memory at the heap's top that glibc keeps rather than returns to the kernel.
    static let trimThreshold: Int32 = 512 << 20

    /// Whether the thresholds were applied (false on other C libraries, or when the user set their own).
    static let retained: Bool = {
        let environment = ProcessInfo.processInfo.environment
        guard
            environment["GLIBC_TUNABLES"] == nil, environment["MALLOC_MMAP_THRESHOLD_"] == nil,
            environment["MALLOC_TRIM_THRESHOLD_"] == nil
        else { return false }
        return ck_keep_heap(mmapThreshold, trimThreshold) == 1
    }()
}
