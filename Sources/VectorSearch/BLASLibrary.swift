import CBLAS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which BLAS implementation the process actually loaded.
///
/// Debian's `-lblas` resolves through the alternatives system at run time, so the library a
/// binary uses can differ from the one it was built against; the reference BLAS is many times
/// slower than OpenBLAS. This reports what is really mapped, so `cascade stats` can say it.
public enum BLASLibrary {
    /// Path of the BLAS shared object mapped into this process, resolved through symlinks.
    ///
    /// Read from `/proc/self/maps` (Linux), which lists the files really mapped, whatever the
    /// alternatives system pointed `libblas.so.3` at.
    public static var loadedPath: String? {
        // Touch BLAS so a lazily bound library is certainly mapped.
        var x: Float = 1
        _ = cblas_sdot(1, &x, 1, &x, 1)
        guard let file = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        var candidates: [String] = []
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = String(line[slash...]).filter { $0 != "\n" }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            if name.contains("blas"), !candidates.contains(path) { candidates.append(path) }
        }
        // Prefer the implementation (libopenblas…) over a thin libblas wrapper when both are mapped.
        return candidates.first { $0.contains("openblas") } ?? candidates.first
    }

    /// OpenBLAS's own configuration string (version, kernel, threads), when OpenBLAS is loaded.
    public static var openBLASConfig: String? {
        guard let handle = dlopen(nil, RTLD_NOW), let fn = dlsym(handle, "openblas_get_config") else { return nil }
        typealias GetConfig = @convention(c) () -> UnsafePointer<CChar>?
        guard let cString = unsafeBitCast(fn, to: GetConfig.self)() else { return nil }
        return String(cString: cString).trimmingCharacters(in: .whitespaces)
    }

    /// A one-line human description, e.g. `OpenBLAS 0.3.21 … (/usr/lib/…/libblas.so.3)`.
    public static var summary: String {
        let path = loadedPath ?? "unknown library"
        if let config = openBLASConfig { return "\(config) (\(path))" }
        if path.contains("openblas") { return "OpenBLAS (\(path))" }
        return "reference BLAS, not optimised: install libopenblas-dev (\(path))"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s.removeFirst() }
        while let last = s.last, set.contains(last) { s.removeLast() }
        return String(s)
    }
}

extension Set where Element == Character {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t", "\n"]
}
