import Foundation

/// A delivery a node took to send: the event, where to, and which attempt this is. The node holds
/// it under a lease (``WebhookStore/claimDeliveries(owner:limit:lease:now:)``) so no other node
/// sends it meanwhile; a node that dies mid-send loses the lease and another node sends it again
/// (at-least-once: receivers drop repeats by `webhook-id`).
public struct ClaimedDelivery: Sendable, Hashable {
    public var event: WebhookEvent
    public var endpoint: WebhookEndpoint
    /// 1 for the first attempt.
    public var attempt: Int

    public init(event: WebhookEvent, endpoint: WebhookEndpoint, attempt: Int) {
        self.event = event
        self.endpoint = endpoint
        self.attempt = attempt
    }
}

/// What one attempt got back.
public struct WebhookAttemptResult: Sendable, Hashable {
    /// The HTTP status, nil when no response came (refused address, timeout, connection error).
    public var status: Int?
    /// Why it failed, nil on success.
    public var error: String?
    /// The receiver's `Retry-After`, in seconds.
    public var retryAfter: TimeInterval?
    public var durationMs: Int
    /// `scheduled` (the dispatcher) or `replay` (an admin's manual replay).
    public var trigger: String

    public init(
        status: Int?, error: String?, retryAfter: TimeInterval? = nil, durationMs: Int, trigger: String = "scheduled"
    ) {
        self.status = status
        self.error = error
        self.retryAfter = retryAfter
        self.durationMs = durationMs
        self.trigger = trigger
    }

    /// Any 2xx is a delivery.
    public var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }
    /// 410 Gone: the receiver asks for no more; the endpoint is disabled.
    public var gone: Bool { status == 410 }
}

/// A delivery's state in the log (`cascade webhooks deliveries`, `GET /v1/webhooks/{id}/deliveries`).
public struct WebhookDeliveryRecord: Sendable, Hashable, Encodable {
    public var eventID: String
    public var endpointID: String
    public var eventType: String
    /// `pending` (waiting for its next attempt), `delivered`, or `failed` (schedule used up,
    /// or the endpoint answered 410 or was removed).
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var deliveredAt: Date?
    public var createdAt: Date
    /// Every attempt, oldest first.
    public var log: [Attempt]

    public struct Attempt: Sendable, Hashable, Encodable {
        public var attemptedAt: Date
        public var status: Int?
        public var error: String?
        public var durationMs: Int
        public var trigger: String

        public init(attemptedAt: Date, status: Int?, error: String?, durationMs: Int, trigger: String) {
            self.attemptedAt = attemptedAt
            self.status = status
            self.error = error
            self.durationMs = durationMs
            self.trigger = trigger
        }

        enum CodingKeys: String, CodingKey {
            case attemptedAt = "attempted_at"
            case status, error
            case durationMs = "duration_ms"
            case trigger
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(JSONConvention.timestamp(attemptedAt), forKey: .attemptedAt)
            try c.encode(status, forKey: .status)
            try c.encode(error, forKey: .error)
            try c.encode(durationMs, forKey: .durationMs)
            try c.encode(trigger, forKey: .trigger)
        }
    }

    public init(
        eventID: String, endpointID: String, eventType: String, state: String, attempts: Int, nextAttemptAt: Date?,
        lastStatus: Int?, lastError: String?, deliveredAt: Date?, createdAt: Date, log: [Attempt]
    ) {
        self.eventID = eventID
        self.endpointID = endpointID
        self.eventType = eventType
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.createdAt = createdAt
        self.log = log
    }

    /// When a delivery is tried next: nil unless pending, and nil for "as soon as a node polls"
    /// (new events are due at once: stored as 0, whatever clock dated them).
    public static func nextAttempt(state: String, milliseconds: Int64) -> Date? {
        state == "pending" && milliseconds > 0 ? LedgerEntry.date(milliseconds: milliseconds) : nil
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case endpointID = "endpoint_id"
        case eventType = "event_type"
        case state, attempts
        case nextAttemptAt = "next_attempt_at"
        case lastStatus = "last_status"
        case lastError = "last_error"
        case deliveredAt = "delivered_at"
        case createdAt = "created_at"
        case log = "attempt_log"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(eventID, forKey: .eventID)
        try c.encode(endpointID, forKey: .endpointID)
        try c.encode(eventType, forKey: .eventType)
        try c.encode(state, forKey: .state)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(nextAttemptAt.map(JSONConvention.timestamp), forKey: .nextAttemptAt)
        try c.encode(lastStatus, forKey: .lastStatus)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(deliveredAt.map(JSONConvention.timestamp), forKey: .deliveredAt)
        try c.encode(JSONConvention.timestamp(createdAt), forKey: .createdAt)
        try c.encode(log, forKey: .log)
    }
}

extension WebhookEndpoint: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, tenant, url
        case eventTypes = "event_types"
        case description
        case createdAt = "created_at"
        case disabledAt = "disabled_at"
        case disabledReason = "disabled_reason"
        case secretCount = "signing_secrets"
        case enabled
    }

    /// The endpoint as listed: never its secrets (only how many sign deliveries now).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(url, forKey: .url)
        try c.encode(eventTypes.map(\.rawValue), forKey: .eventTypes)
        try c.encode(description, forKey: .description)
        try c.encode(JSONConvention.timestamp(createdAt), forKey: .createdAt)
        try c.encode(disabledAt == nil, forKey: .enabled)
        try c.encode(disabledAt.map(JSONConvention.timestamp), forKey: .disabledAt)
        try c.encode(disabledReason, forKey: .disabledReason)
        try c.encode(secrets.count, forKey: .secretCount)
    }
}
