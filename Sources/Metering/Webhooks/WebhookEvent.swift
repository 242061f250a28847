import Foundation

/// One event as it is sent: its id (the `webhook-id` header, the same on every retry so a
/// receiver can drop duplicates), its type and the exact body bytes that are signed.
public struct WebhookEvent: Sendable, Hashable {
    /// `msg_` and 24 hex digits.
    public var id: String
    public var tenant: String
    public var type: WebhookEventType
    /// `{"type", "timestamp", "data"}` as UTF-8 JSON, stored and sent byte for byte.
    public var body: Data
    public var createdAt: Date

    public init(id: String, tenant: String, type: WebhookEventType, body: Data, createdAt: Date) {
        self.id = id
        self.tenant = tenant
        self.type = type
        self.body = body
        self.createdAt = createdAt
    }

    /// A new event with a fresh id: `data` is a JSON object (see ``WebhookPayload``).
    public static func make(tenant: String, type: WebhookEventType, data: [String: Any], at date: Date) throws
        -> WebhookEvent
    {
        let envelope: [String: Any] = [
            "type": type.rawValue, "timestamp": JSONConvention.timestamp(date), "data": data,
        ]
        let body = try JSONSerialization.data(
            withJSONObject: envelope, options: [.sortedKeys, .withoutEscapingSlashes])
        return WebhookEvent(
            id: "msg_" + WebhookRandom.hex(bytes: 12), tenant: tenant, type: type, body: body, createdAt: date)
    }
}
