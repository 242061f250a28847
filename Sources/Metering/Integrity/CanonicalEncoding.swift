import Foundation
import KnowledgeBase

/// The byte encoding hash scheme 2 hashes and checkpoints sign: a domain string naming what is
/// encoded, then every field tagged by type and length-prefixed.
///
/// Why: scheme 1 joined fields with `|` and wrote NULL as the text "∅", so a NULL and the literal
/// "∅" hashed alike and a rewrite between them passed `ledger verify`. Here a NULL is `N`, a text
/// is `S<byte count>:<bytes>` and an integer `I<decimal>;`: two different rows never share an
/// encoding, and the domain string keeps a row of one table from passing as a row of another.
struct CanonicalEncoding {
    private(set) var bytes: [UInt8] = []

    init(domain: String) { append(domain) }

    mutating func append(_ text: String?) {
        guard let text else { return bytes.append(UInt8(ascii: "N")) }
        let utf8 = Array(text.utf8)
        bytes += Array("S\(utf8.count):".utf8)
        bytes += utf8
    }

    mutating func append(_ value: Int64?) {
        guard let value else { return bytes.append(UInt8(ascii: "N")) }
        bytes += Array("I\(value);".utf8)
    }

    mutating func append(_ value: Int) { append(Int64(value)) }

    /// Hex SHA-256 of the encoding.
    var sha256Hex: String { SHA256.hex(bytes) }
}

/// How a ledger row's hash was computed. Rows keep the scheme they were written with; new rows
/// use the latest, and the chain never goes back to an older one.
public enum HashScheme: Int, Sendable, Codable {
    /// `|`-joined text with "∅" for NULL (rows written before the ledger schema v4): ambiguous
    /// between NULL and "∅"; anchored by a checkpoint, not by the encoding.
    case legacy = 1
    /// ``CanonicalEncoding``: tagged, length-prefixed fields.
    case canonical = 2
    /// Scheme 2 plus the row's `evidence` (ledger schema v5): what a resolution was decided on is
    /// as tamper-evident as the resolution.
    case evidence = 3

    public static let current = HashScheme.evidence
}
