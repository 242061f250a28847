import Foundation

/// The syntax every endpoint URL must have before it is stored: `http` or `https`, a host, no
/// credentials in it (they would be logged and shown), no fragment, at most 2,048 characters.
/// Which *addresses* a host may resolve to is the sending node's policy (link-local and cloud
/// metadata addresses are refused there, at the moment of each delivery).
public enum WebhookURL {
    public static let maximumLength = 2048

    public static func check(_ text: String) throws {
        guard text.utf8.count <= maximumLength else {
            throw LedgerError.invalidInput("the URL is longer than \(maximumLength) bytes")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw LedgerError.invalidInput("the URL contains a space or a control character")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw LedgerError.invalidInput("\(text) is not a URL; give one like https://desk.example.com/hooks/cascade")
        }
        guard scheme == "https" || scheme == "http" else {
            throw LedgerError.invalidInput("the URL must start with https:// (or http://), not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw LedgerError.invalidInput("the URL \(text) has no host")
        }
        guard components.user == nil, components.password == nil else {
            throw LedgerError.invalidInput(
                "the URL must not contain credentials (user:password@); receivers verify the webhook signature instead")
        }
        guard components.fragment == nil else {
            throw LedgerError.invalidInput("the URL must not contain a fragment (#…)")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw LedgerError.invalidInput("the URL's port \(port) is not between 1 and 65535")
        }
    }
}
