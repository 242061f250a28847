import ArgumentParser
import Cascade
import Foundation
import Metering

/// `--signing-key`: the Ed25519 key that signs ledger checkpoints.
struct SigningKeyOption: ParsableArguments {
    static let environmentVariable = "CASCADE_SIGNING_KEY"

    @Option(
        name: .customLong("signing-key"),
        help: ArgumentHelp(
            "Ed25519 key that signs ledger checkpoints. Default: $CASCADE_SIGNING_KEY, else <data>/signing.key (created on first use; keep a copy of its .pub where the ledger's writers cannot change it).",
            valueName: "file"))
    var explicitPath: String?

    /// The key: the one named, or the default one, created (with a note on stderr) when missing.
    func load(data: DataDirectory) throws -> CheckpointSigningKey {
        if let path = explicitPath ?? ProcessInfo.processInfo.environment[Self.environmentVariable] {
            return try CheckpointSigningKey.read(path: path)
        }
        let path = data.signingKeyPath
        if FileManager.default.fileExists(atPath: path) { return try CheckpointSigningKey.read(path: path) }
        try FileManager.default.createDirectory(atPath: data.root, withIntermediateDirectories: true)
        let key = CheckpointSigningKey.generate()
        try key.write(to: path)
        Terminal.note(
            "created checkpoint signing key \(path) (key id \(key.keyID)); copy \(path).pub somewhere safe and pass it to `cascade ledger verify --public-key`"
        )
        return key
    }
}
