import ArgumentParser
import Cascade
import Foundation
import Metering

/// The `--ledger` option shared by every command that reads or writes the metering ledger, with
/// the `--data` folder it defaults into.
struct LedgerOption: ParsableArguments {
    @OptionGroup var dataOption: DataOption

    @Option(name: .customLong("ledger"), help: "Path of the metering ledger file. Default: <data>/ledger.sqlite.")
    var explicitPath: String?

    var ledger: String { explicitPath ?? dataOption.directory.ledgerPath }
    var data: DataDirectory { dataOption.directory }

    /// The ledger, for commands that only read it or correct rows in it: a missing file is an
    /// error naming the path (a typo must not create an empty ledger and answer "no rows").
    func openExisting() throws -> Ledger {
        guard FileManager.default.fileExists(atPath: ledger) else {
            throw LedgerError.cannotOpen(
                path: ledger,
                reason:
                    "no such file; check --ledger/--data (the ledger is created by `cascade ask` or `cascade serve`)")
        }
        return try Ledger(path: ledger)
    }
}
