import Foundation

/// The events a webhook endpoint can subscribe to (`--events`), named as the Standard Webhooks
/// convention does: `resource.action`.
public enum WebhookEventType: String, Sendable, CaseIterable, Codable, Comparable {
    /// A question went to a person (every tier passed, or the customer rejected the answer): a
    /// help desk opens a ticket from it.
    case escalationCreated = "escalation.created"
    /// A person answered an escalation (`cascade escalations resolve`, `POST /v1/escalations/{id}/resolve`).
    case escalationResolved = "escalation.resolved"
    /// A question was resolved by a tier (rule, rag, llm): a billable outcome.
    case resolutionCreated = "resolution.created"
    /// The customer said whether an answer helped (`POST /v1/queries/{id}/feedback`).
    case queryFeedback = "query.feedback"
    /// A spend or usage alert crossed its threshold.
    case alertTriggered = "alert.triggered"
    /// Usage fell back below an alert's threshold.
    case alertResolved = "alert.resolved"
    /// A month's invoice became final.
    case invoiceFinalized = "invoice.finalized"
    /// A workflow run ended (succeeded, failed or handed off).
    case workflowRunCompleted = "workflow_run.completed"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses a comma-separated list (`escalation.created,alert.triggered`); `*` means every type.
    public static func parseList(_ text: String) throws -> [WebhookEventType] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else {
            throw LedgerError.invalidInput("name at least one event type (\(allNames)) or * for all")
        }
        if names == ["*"] { return allCases.sorted() }
        var types = Set<WebhookEventType>()
        for name in names {
            guard let type = WebhookEventType(rawValue: name) else {
                throw LedgerError.invalidInput("unknown event type \(name); the types are \(allNames)")
            }
            types.insert(type)
        }
        return types.sorted()
    }

    static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
