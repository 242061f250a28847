import ArgumentParser
import Cascade

/// `--data`: the folder of the service's data, shared by `cascade serve` and the admin commands.
struct DataOption: ParsableArguments {
    @Option(
        name: .customLong("data"),
        help:
            "Folder of the service's data (ledger, tenants, keys, knowledge bases); the same as `cascade serve --data`."
    )
    var root: String = DataDirectory.defaultRoot

    var directory: DataDirectory { DataDirectory(root) }
}
