import ArgumentParser
import Cascade

/// The `--ledger` option shared by every command that reads or writes the metering ledger, with
/// the `--data` folder it defaults into.
struct LedgerOption: ParsableArguments {
    @OptionGroup var dataOption: DataOption

    @Option(name: .customLong("ledger"), help: "Path of the metering ledger file. Default: <data>/ledger.sqlite.")
    var explicitPath: String?

    var ledger: String { explicitPath ?? dataOption.directory.ledgerPath }
    var data: DataDirectory { dataOption.directory }
}
