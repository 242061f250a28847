import ArgumentParser
import Foundation
import VectorSearch

/// Process entry: makes sure OpenBLAS starts with the right settings, then hands over to the
/// command parser.
@main
enum EntryPoint {
    static func main() async {
        // Ledgers, knowledge bases, uploads, keys and secrets are the operator's alone: files this
        // process creates are 0600 and folders 0700, whatever the shell's umask (issue 33 found
        // them world-readable).
        umask(0o077)
        // See BLASCoreSelection: OpenBLAS reads its settings only when it loads. Re-executing
        // costs about half of a short command's start-up, so only commands that compute with
        // BLAS (embedding, search, evaluation, the service) pay for it.
        if usesBLAS(CommandLine.arguments) {
            BLASCoreSelection.reexecIfNeeded(
                environment: ProcessInfo.processInfo.environment, arguments: CommandLine.arguments)
        }
        await Cascade.main()
    }

    /// Commands that never run a matrix product: ledger, billing, tenants and keys, help, version.
    static let withoutBLAS: Set<String> = [
        "ledger", "escalations", "report", "invoice", "simulate", "plans", "tenants", "keys", "help",
    ]

    static func usesBLAS(_ arguments: [String]) -> Bool {
        let rest = arguments.dropFirst()
        if rest.contains(where: { ["--help", "-h", "--version"].contains($0) }) { return false }
        guard let command = rest.first(where: { !$0.hasPrefix("-") }) else { return false }
        return !withoutBLAS.contains(command)
    }
}
