import Foundation
import KnowledgeBase

/// What a key may do. `query` keys ask and search; `admin` keys also manage documents, void and
/// reopen queries, resolve escalations and read usage and invoices.
public enum KeyScope: String, Hashable, Sendable, Codable, CaseIterable {
    case query
    case admin

    /// Whether a key of this scope may call a route that needs `required`.
    public func allows(_ required: KeyScope) -> Bool { self == .admin || required == .query }
}

/// An API key as stored: never the key itself, only the SHA-256 of it.
public struct APIKeyRecord: Hashable, Sendable {
    /// Public identifier (shown in listings and logs; part of the key).
    public var keyID: String
    public var tenant: String
    public var scope: KeyScope
    public var name: String?
    public var createdAt: Date
    public var revokedAt: Date?
    /// Hex SHA-256 of the whole key.
    var secretHash: String

    init(
        keyID: String, tenant: String, scope: KeyScope, name: String?, createdAt: Date, revokedAt: Date?,
        secretHash: String
    ) {
        self.keyID = keyID
        self.tenant = tenant
        self.scope = scope
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.secretHash = secretHash
    }
}

/// The format of keys: `csk_<key id>_<secret>`, with a 12-hex-digit key id (48 random bits,
/// public) and a 43-character base64url secret (256 random bits).
///
/// The key id lets the server find the one candidate row by primary key; the secret is then
/// checked by comparing hashes in constant time, so neither a lookup nor a comparison leaks how
/// much of a guessed key was right.
public enum APIKeyFormat {
    static let prefix = "csk_"

    /// A new random key and its id (from the system's cryptographic generator).
    static func generate() -> (keyID: String, key: String) {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let keyID = idBytes.map { String(format: "%02x", $0) }.joined()
        let secret = Data(secretBytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (keyID, prefix + keyID + "_" + secret)
    }

    /// The key id inside `key`, or nil when `key` does not have the shape of a cascade key.
    static func keyID(of key: String) -> String? {
        let parts = key.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "csk", parts[1].utf8.count == 12,
            parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            (40...64).contains(parts[2].utf8.count)
        else { return nil }
        return String(parts[1])
    }

    static func hash(_ key: String) -> String { SHA256.hex(key) }

    /// `record` when `key` is its key (hashes compared in constant time) and it is not revoked.
    static func verify(_ key: String, against record: APIKeyRecord?) -> APIKeyRecord? {
        guard let record, constantTimeEqual(record.secretHash, hash(key)), record.revokedAt == nil else { return nil }
        return record
    }

    /// Compares two equal-length strings without stopping at the first difference.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
