import ArgumentParser

/// The `--ledger` option shared by every command that reads or writes the metering ledger.
struct LedgerOption: ParsableArguments {
    @Option(name: .long, help: "Path of the metering ledger file.")
    var ledger: String = ".cascade/ledger.sqlite"
}
