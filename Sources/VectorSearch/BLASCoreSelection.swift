#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Picks the OpenBLAS kernel family for CPUs that Debian's OpenBLAS does not recognise.
///
/// OpenBLAS 0.3.21 (Debian 12) falls back to its SSE3 "Prescott" kernels on CPUs newer than it
/// knows, even when they have AVX-512: single-precision GEMM then runs about 5× slower than it
/// could. The kernel is chosen once, when the library loads, from `OPENBLAS_CORETYPE`, so the
/// only fix from inside a program is to set that variable and re-execute itself; the CLI does
/// so at start-up. A value the user (or the machine) already set is always respected, and
/// `CASCADE_BLAS_CORETYPE=off` disables the choice.
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
