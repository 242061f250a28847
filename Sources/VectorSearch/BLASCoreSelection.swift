#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Start-up settings for OpenBLAS that can only be given through the environment, because the
/// library reads them once, when it loads.
///
/// - `OPENBLAS_CORETYPE`: OpenBLAS 0.3.21 (Debian 12) falls back to its SSE3 "Prescott" kernels
///   on CPUs newer than it knows, even when they have AVX-512: single-precision GEMM then runs
///   about 5× slower than it could. When that happened, the best kernel family the CPU supports
///   is chosen (SkylakeX with AVX-512, else Haswell with AVX2).
/// - `OPENBLAS_THREAD_TIMEOUT`: after each call OpenBLAS's worker threads spin for a while
///   waiting for the next one; between BLAS calls cascade runs its own parallel kernels
///   (attention, GELU), and spinning workers would steal those cores. A short timeout (2⁴ cycles)
///   lets them sleep at once; measured +10% embedding throughput on two cores.
///
/// A value the user (or the machine) already set is always respected, and
/// `CASCADE_BLAS_CORETYPE=off` disables the kernel choice.
public enum BLASCoreSelection {
    /// The core type to run with, or nil when the loaded kernel should be kept.
    public static func recommendedCoreType(environment: [String: String]) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil else { return nil }
        if let forced = environment["CASCADE_BLAS_CORETYPE"] {
            return forced == "off" || forced.isEmpty ? nil : forced
        }
        guard let config = BLASLibrary.openBLASConfig, config.contains("Prescott") else { return nil }
        let flags = cpuFlags()
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// Environment variables to add before OpenBLAS loads (empty when nothing needs changing).
    public static func recommendedEnvironment(environment: [String: String]) -> [String: String] {
        guard BLASLibrary.openBLASConfig != nil else { return [:] }
        var add: [String: String] = [:]
        if let core = recommendedCoreType(environment: environment) { add["OPENBLAS_CORETYPE"] = core }
        if environment["OPENBLAS_THREAD_TIMEOUT"] == nil && environment["GOTO_THREAD_TIMEOUT"] == nil {
            add["OPENBLAS_THREAD_TIMEOUT"] = "4"
        }
        return add
    }

    /// Sets ``recommendedEnvironment(environment:)`` and replaces the process with a fresh copy
    /// of itself (same arguments, same pid) so OpenBLAS loads with it. Does nothing when no
    /// variable needs setting or the process already re-executed once; if `exec` fails the
    /// process simply continues with the settings it has.
    public static func reexecIfNeeded(environment: [String: String], arguments: [String]) {
        guard environment["CASCADE_BLAS_REEXEC"] == nil else { return }
        let add = recommendedEnvironment(environment: environment)
        guard !add.isEmpty else { return }
        for (name, value) in add { setenv(name, value, 1) }
        setenv("CASCADE_BLAS_REEXEC", "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        for name in add.keys { unsetenv(name) }
    }

    /// The CPU feature flags from `/proc/cpuinfo` (empty where that file does not exist).
    public static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard line.hasPrefix("flags") else { continue }
            let value = line.split(separator: ":", maxSplits: 1).dropFirst().first ?? ""
            return Set(value.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        return []
    }
}
