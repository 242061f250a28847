import Crypto
import Foundation
import KnowledgeBase

/// A signed statement of how far the ledger's chains reached at a moment: the ledger's last
/// sequence and hash, and the same for billing changes and final invoices.
///
/// Two formats, one per chain layout. `cascade-ledger-checkpoint/1` (the SQLite ledger: one
/// chain for all tenants) pins ``ledger``. `cascade-ledger-checkpoint/2` (the PostgreSQL ledger:
/// one chain per tenant, so nodes never queue behind each other) pins ``tenantLedgers`` instead:
/// the head of each tenant's chain it names, all of them or only one (a final invoice's
/// checkpoint names only its own tenant, so an invoice never shows a customer who else is billed).
///
/// Why: a hash chain proves only that the file agrees with itself. Someone who can write the
/// file can drop the triggers, delete the last rows, restore an older copy or rewrite rows and
/// re-hash everything after them, and the chain still verifies. A checkpoint kept outside the
/// file (the signing key too) pins the heads: `ledger verify --checkpoint` then finds any
/// truncation, rollback or rewrite of the rows it vouches for. It proves nothing about rows
/// written after it, and nothing against whoever holds the signing key.
public struct Checkpoint: Sendable, Hashable, Codable {
    public static let currentFormat = "cascade-ledger-checkpoint/1"
    /// The format of a ledger with one chain per tenant.
    public static let perTenantFormat = "cascade-ledger-checkpoint/2"

    public var format: String
    /// The head of the one ledger chain (format 1); null in format 2.
    public var ledger: ChainHead?
    /// The heads of the tenants' chains it vouches for, sorted by tenant (format 2); null in format 1.
    public var tenantLedgers: [TenantChainHead]?
    public var billing: ChainHead
    public var finalInvoices: ChainHead
    /// When it was signed, in whole milliseconds since 1970 (what the signature covers; kept as an
    /// integer so that a round trip through JSON text cannot change it).
    public var createdAtMilliseconds: Int64
    /// When it was signed (UTC).
    public var createdAt: Date { LedgerEntry.date(milliseconds: createdAtMilliseconds) }
    /// The first 16 hex digits of the SHA-256 of the public key: names the key in messages.
    public var keyID: String
    /// The Ed25519 public key (32 bytes, base64).
    public var publicKey: String
    /// The Ed25519 signature of ``signedBytes`` (base64).
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case format, ledger, billing
        case tenantLedgers = "tenant_ledgers"
        case finalInvoices = "final_invoices"
        case createdAt = "created_at"
        case keyID = "key_id"
        case publicKey = "public_key"
        case signature
    }

    /// What the signature covers: every field but the signature.
    var signedBytes: [UInt8] {
        var e = CanonicalEncoding(domain: format)
        if let tenantLedgers {
            e.append(tenantLedgers.count)
            for head in tenantLedgers {
                e.append(head.tenant)
                e.append(head.sequence)
                e.append(head.hash)
            }
        } else {
            e.append(ledger?.sequence)
            e.append(ledger?.hash)
        }
        for head in [billing, finalInvoices] {
            e.append(head.sequence)
            e.append(head.hash)
        }
        e.append(createdAtMilliseconds)
        e.append(publicKey)
        return e.bytes
    }

    /// Signs the heads of a ledger with one chain (format 1) with `key`.
    static func sign(
        ledger: ChainHead, billing: ChainHead, finalInvoices: ChainHead, at now: Date, with key: CheckpointSigningKey
    ) throws -> Checkpoint {
        try sign(
            Checkpoint(
                format: currentFormat, ledger: ledger, tenantLedgers: nil, billing: billing,
                finalInvoices: finalInvoices, createdAtMilliseconds: LedgerEntry.milliseconds(now), keyID: key.keyID,
                publicKey: key.publicKeyBase64, signature: ""), with: key)
    }

    /// Signs the heads of a ledger with one chain per tenant (format 2) with `key`.
    public static func sign(
        tenantLedgers: [TenantChainHead], billing: ChainHead, finalInvoices: ChainHead, at now: Date,
        with key: CheckpointSigningKey
    ) throws -> Checkpoint {
        try sign(
            Checkpoint(
                format: perTenantFormat, ledger: nil, tenantLedgers: tenantLedgers.sorted { $0.tenant < $1.tenant },
                billing: billing, finalInvoices: finalInvoices, createdAtMilliseconds: LedgerEntry.milliseconds(now),
                keyID: key.keyID, publicKey: key.publicKeyBase64, signature: ""), with: key)
    }

    private static func sign(_ unsigned: Checkpoint, with key: CheckpointSigningKey) throws -> Checkpoint {
        var checkpoint = unsigned
        checkpoint.signature = try key.key.signature(for: checkpoint.signedBytes).base64EncodedString()
        return checkpoint
    }

    /// Checks the format and the signature; with `trustedPublicKey`, also that this key signed it
    /// (without it, any key's valid signature passes: pin the key to rule out a forged checkpoint).
    public func checkSignature(trustedPublicKey: String? = nil) throws {
        switch format {
        case Self.currentFormat:
            guard ledger != nil, tenantLedgers == nil else {
                throw CheckpointError.invalid("a \(format) checkpoint has a ledger head and no tenant_ledgers")
            }
        case Self.perTenantFormat:
            guard ledger == nil, let tenantLedgers else {
                throw CheckpointError.invalid("a \(format) checkpoint has tenant_ledgers and no single ledger head")
            }
            let names = tenantLedgers.map(\.tenant)
            guard names == names.sorted(), Set(names).count == names.count else {
                throw CheckpointError.invalid("tenant_ledgers must name each tenant once, sorted")
            }
        default:
            throw CheckpointError.invalid(
                "unknown checkpoint format \"\(format)\" (this version reads \(Self.currentFormat) and \(Self.perTenantFormat))"
            )
        }
        guard let keyBytes = Data(base64Encoded: publicKey), keyBytes.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { throw CheckpointError.invalid("public_key is not a base64 Ed25519 key") }
        if let trustedPublicKey, trustedPublicKey != publicKey {
            throw CheckpointError.untrustedKey(keyID: keyID)
        }
        guard keyID == CheckpointSigningKey.keyID(of: keyBytes) else {
            throw CheckpointError.invalid("key_id does not belong to public_key")
        }
        guard let signatureBytes = Data(base64Encoded: signature),
            key.isValidSignature(signatureBytes, for: signedBytes)
        else { throw CheckpointError.badSignature }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(ledger, forKey: .ledger)
        try c.encode(tenantLedgers, forKey: .tenantLedgers)
        try c.encode(billing, forKey: .billing)
        try c.encode(finalInvoices, forKey: .finalInvoices)
        try c.encode(Self.timestamp(milliseconds: createdAtMilliseconds), forKey: .createdAt)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(publicKey, forKey: .publicKey)
        try c.encode(signature, forKey: .signature)
    }

    /// The convention's timestamp written from whole milliseconds (formatting a `Date` could
    /// print .122 for a time stored as .123 in binary floating point).
    public static func timestamp(milliseconds: Int64) -> String {
        let seconds = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let (whole, fraction) = seconds.remainder < 0 ? (seconds.quotient - 1, seconds.remainder + 1000) : seconds
        let text = JSONConvention.timestamp(Date(timeIntervalSince1970: Double(whole)))
        return text.replacingOccurrences(of: ".000Z", with: String(format: ".%03dZ", Int(fraction)))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        ledger = try c.decodeIfPresent(ChainHead.self, forKey: .ledger)
        tenantLedgers = try c.decodeIfPresent([TenantChainHead].self, forKey: .tenantLedgers)
        billing = try c.decode(ChainHead.self, forKey: .billing)
        finalInvoices = try c.decode(ChainHead.self, forKey: .finalInvoices)
        let created = try c.decode(String.self, forKey: .createdAt)
        guard let date = Timestamp.parse(created) else {
            throw DecodingError.dataCorruptedError(
                forKey: .createdAt, in: c, debugDescription: "created_at is not an ISO-8601 time")
        }
        createdAtMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        keyID = try c.decode(String.self, forKey: .keyID)
        publicKey = try c.decode(String.self, forKey: .publicKey)
        signature = try c.decode(String.self, forKey: .signature)
    }

    init(
        format: String, ledger: ChainHead?, tenantLedgers: [TenantChainHead]?, billing: ChainHead,
        finalInvoices: ChainHead, createdAtMilliseconds: Int64, keyID: String, publicKey: String, signature: String
    ) {
        self.format = format
        self.ledger = ledger
        self.tenantLedgers = tenantLedgers
        self.billing = billing
        self.finalInvoices = finalInvoices
        self.createdAtMilliseconds = createdAtMilliseconds
        self.keyID = keyID
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Reads a checkpoint file (as `ledger checkpoint` writes it, or an invoice's `ledger_checkpoint`).
    public static func read(path: String) throws -> Checkpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError.invalid("cannot read checkpoint file \(path)")
        }
        return try decode(data, source: path)
    }

    /// Reads a checkpoint from its JSON (or from a final invoice's, which carries one).
    public static func decode(_ data: Data, source: String) throws -> Checkpoint {
        struct Wrapped: Decodable {
            var ledgerCheckpoint: Checkpoint?
            enum CodingKeys: String, CodingKey { case ledgerCheckpoint = "ledger_checkpoint" }
        }
        if let checkpoint = try? JSONDecoder().decode(Checkpoint.self, from: data) { return checkpoint }
        // A finalized invoice carries its checkpoint: accept the invoice file as well.
        if let wrapped = try? JSONDecoder().decode(Wrapped.self, from: data), let checkpoint = wrapped.ledgerCheckpoint
        {
            return checkpoint
        }
        throw CheckpointError.invalid(
            "\(source) is not a cascade checkpoint (expected the JSON `cascade ledger checkpoint` prints, or a final invoice)"
        )
    }
}

/// The head of one tenant's chain, in a checkpoint of a ledger with one chain per tenant.
public struct TenantChainHead: Sendable, Hashable, Codable {
    public var tenant: String
    public var sequence: Int64
    public var hash: String

    public init(tenant: String, sequence: Int64, hash: String) {
        self.tenant = tenant
        self.sequence = sequence
        self.hash = hash
    }
}

/// Why a checkpoint was refused.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case badSignature
    case untrustedKey(keyID: String)
    case keyFile(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .badSignature: "the checkpoint's signature is not valid: it was altered or forged"
        case .untrustedKey(let id):
            "the checkpoint was signed by key \(id), not by the trusted public key: it may be forged"
        case .keyFile(let reason): reason
        }
    }
}

/// The Ed25519 key that signs checkpoints. Keep it outside the ledger's folder (and off the
/// machine for the strongest guarantee): whoever holds it can sign a checkpoint for any state.
public struct CheckpointSigningKey: Sendable {
    static let header = "cascade-ed25519-signing-key"
    let key: Curve25519.Signing.PrivateKey

    public static func generate() -> CheckpointSigningKey { CheckpointSigningKey(key: .init()) }

    public var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }
    public var keyID: String { Self.keyID(of: key.publicKey.rawRepresentation) }

    static func keyID(of publicKey: Data) -> String { String(SHA256.hex(Array(publicKey)).prefix(16)) }

    /// Reads a key file written by ``write(to:)``.
    public static func read(path: String) throws -> CheckpointSigningKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError.keyFile("cannot read signing key \(path)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard lines.count == 2, lines[0] == header, let raw = Data(base64Encoded: String(lines[1])), raw.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else {
            throw CheckpointError.keyFile(
                "\(path) is not a cascade signing key (create one with `cascade ledger keygen --out FILE`)")
        }
        return CheckpointSigningKey(key: key)
    }

    /// Writes the key (readable by its owner only) and `<path>.pub` with the public key; refuses
    /// to replace an existing file, since checkpoints signed by a lost key cannot be checked
    /// against a pinned key any more.
    public func write(to path: String) throws {
        let fm = FileManager.default
        for file in [path, path + ".pub"] where fm.fileExists(atPath: file) {
            throw CheckpointError.keyFile("\(file) already exists; not replacing a signing key")
        }
        let body = "\(Self.header)\n\(key.rawRepresentation.base64EncodedString())\n"
        guard fm.createFile(atPath: path, contents: Data(body.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CheckpointError.keyFile("cannot write signing key \(path)")
        }
        guard fm.createFile(atPath: path + ".pub", contents: Data((publicKeyBase64 + "\n").utf8)) else {
            throw CheckpointError.keyFile("cannot write public key \(path).pub")
        }
    }

    /// A public key given as base64 text or as a file holding it (a `.pub` file).
    public static func publicKey(_ given: String) throws -> String {
        var text = given
        if FileManager.default.fileExists(atPath: given), let data = FileManager.default.contents(atPath: given) {
            text = String(decoding: data, as: UTF8.self)
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text), raw.count == 32 else {
            throw CheckpointError.keyFile("\(given) is not an Ed25519 public key (base64, or a .pub file)")
        }
        return raw.base64EncodedString()
    }
}
