import ArgumentParser
import Foundation
import VectorSearch

#if canImport(Glibc)
    import Glibc
#endif

/// Process entry: makes sure BLAS runs its best kernels, then hands over to the command parser.
@main
enum EntryPoint {
    static func main() async {
        reexecWithBetterBLASKernelIfNeeded()
        await Cascade.main()
    }

    /// See ``BLASCoreSelection``: OpenBLAS reads `OPENBLAS_CORETYPE` only when it loads, so the
    /// process sets it and replaces itself (same arguments, same pid) once.
    static func reexecWithBetterBLASKernelIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["CASCADE_BLAS_REEXEC"] == nil,
            let core = BLASCoreSelection.recommendedCoreType(environment: environment)
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("CASCADE_BLAS_REEXEC", "1", 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // exec failed: carry on with the kernel already loaded.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
