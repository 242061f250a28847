import Foundation

/// Where a tenant's events are sent: a URL the tenant's admin configured, the event types it
/// wants, and the secrets its deliveries are signed with.
public struct WebhookEndpoint: Sendable, Hashable {
    /// `ep_` and 24 hex digits.
    public var id: String
    public var tenant: String
    public var url: String
    public var eventTypes: [WebhookEventType]
    public var description: String?
    /// The signing secrets, newest first. After a rotation the previous one stays until its
    /// `expiresAt`, and deliveries carry a signature for each (receivers roll over without a gap).
    public var secrets: [WebhookSecret]
    public var createdAt: Date
    /// Set when the receiver answered 410 Gone, or an admin disabled it; nothing is sent while set.
    public var disabledAt: Date?
    public var disabledReason: String?

    public init(
        id: String, tenant: String, url: String, eventTypes: [WebhookEventType], description: String?,
        secrets: [WebhookSecret], createdAt: Date, disabledAt: Date? = nil, disabledReason: String? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.url = url
        self.eventTypes = eventTypes
        self.description = description
        self.secrets = secrets
        self.createdAt = createdAt
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
    }

    /// The secrets that sign a delivery at `now` (the current one and any not yet expired).
    public func signingSecrets(at now: Date) -> [WebhookSecret] {
        secrets.filter { $0.expiresAt.map { $0 > now } ?? true }
    }

    public func subscribes(to type: WebhookEventType) -> Bool { eventTypes.contains(type) }

    /// A new endpoint id.
    public static func newID() -> String { "ep_" + WebhookRandom.hex(bytes: 12) }

    /// Checks what an admin gives before anything is stored.
    public static func check(url: String, description: String?) throws {
        try WebhookURL.check(url)
        if let description,
            description.count > 200
                || description.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        {
            throw LedgerError.invalidInput("a description is at most 200 characters, without control characters")
        }
    }
}

/// A signing secret in the Standard Webhooks form: `whsec_` and the base64 of 32 random bytes.
public struct WebhookSecret: Sendable, Hashable, Codable {
    public var secret: String
    /// When a rotated-out secret stops signing; nil for the current one.
    public var expiresAt: Date?

    public init(secret: String, expiresAt: Date? = nil) {
        self.secret = secret
        self.expiresAt = expiresAt
    }

    /// A new random secret.
    public static func generate() -> WebhookSecret {
        WebhookSecret(secret: "whsec_" + Data(WebhookRandom.bytes(32)).base64EncodedString())
    }

    /// The key bytes (the base64 after `whsec_`), nil for a malformed secret.
    public var keyBytes: Data? {
        guard secret.hasPrefix("whsec_") else { return nil }
        return Data(base64Encoded: String(secret.dropFirst("whsec_".count)))
    }

    enum CodingKeys: String, CodingKey {
        case secret
        case expiresAtMs = "expires_at_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        secret = try c.decode(String.self, forKey: .secret)
        expiresAt = try c.decodeIfPresent(Int64.self, forKey: .expiresAtMs).map(LedgerEntry.date(milliseconds:))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(secret, forKey: .secret)
        try c.encode(expiresAt.map(LedgerEntry.milliseconds), forKey: .expiresAtMs)
    }

    /// The stored form of a list of secrets (a JSON array).
    static func stored(_ secrets: [WebhookSecret]) throws -> String {
        String(decoding: try JSONEncoder().encode(secrets), as: UTF8.self)
    }

    public static func decodeStored(_ text: String) throws -> [WebhookSecret] {
        do {
            return try JSONDecoder().decode([WebhookSecret].self, from: Data(text.utf8))
        } catch {
            throw LedgerError.invalidInput("a stored webhook endpoint's secrets are damaged")
        }
    }
}

/// Random bytes from the system's generator (secrets and ids).
enum WebhookRandom {
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func hex(bytes count: Int) -> String {
        bytes(count).map { String(format: "%02x", $0) }.joined()
    }
}
