import Foundation

/// The events a ledger write produces, and their `data`. Derived from the rows themselves, so
/// every backend emits the same events in the same transaction as the rows (nothing is sent for
/// a write that rolled back, and nothing written is left without its event).
///
/// - a query row resolved by a tier → `resolution.created`;
/// - a query row escalated → `escalation.created` (with the conversation's earlier turns and why
///   each tier passed);
/// - a customer's verdict → `query.feedback`, and when it is "not helpful" also
///   `escalation.created` (the question goes to a person at once);
/// - an agent's answer → `escalation.resolved`;
/// - a workflow run's end → `workflow_run.completed`.
/// Voids and reopens are billing corrections and produce no event. Imports and backfills
/// (``Ledger/record(batch:now:)``, history imports) produce none either: they are not news.
public enum WebhookPayload {
    /// The events of one `record` (the query row and its attempts, as written).
    /// - Parameter conversation: the tenant's earlier query rows of the same conversation, oldest first.
    public static func events(recorded rows: [LedgerEntry], conversation: [LedgerEntry], at now: Date) throws
        -> [WebhookEvent]
    {
        guard let query = rows.first(where: { $0.kind == .query }) else { return [] }
        let attempts = rows.filter { $0.kind == .attempt }
        if ["rule", "rag", "llm"].contains(query.tier) {
            return [
                try WebhookEvent.make(
                    tenant: query.tenant, type: .resolutionCreated, data: resolutionData(query, attempts: attempts),
                    at: now)
            ]
        }
        if query.tier == "escalated" {
            var data = resolutionData(query, attempts: attempts)
            data["reason"] = "no tier could answer with enough confidence"
            data["conversation"] = conversation.suffix(20).map(turn)
            return [try WebhookEvent.make(tenant: query.tenant, type: .escalationCreated, data: data, at: now)]
        }
        return []
    }

    /// The events of one correction (`original` is the query row it corrects).
    public static func events(
        correction: LedgerEntry, original: LedgerEntry, conversation: [LedgerEntry], at now: Date
    ) throws -> [WebhookEvent] {
        switch correction.outcome {
        case Ledger.Verdict.helpful.outcome, Ledger.Verdict.notHelpful.outcome:
            let helpful = correction.outcome == Ledger.Verdict.helpful.outcome
            var feedback = base(original)
            feedback["helpful"] = helpful
            feedback["outcome"] = correction.outcome
            feedback["comment"] = correction.note ?? NSNull()
            feedback["answer"] = original.answer ?? NSNull()
            feedback["recorded_at"] = JSONConvention.timestamp(correction.recordedAt)
            var events = [
                try WebhookEvent.make(tenant: original.tenant, type: .queryFeedback, data: feedback, at: now)
            ]
            if !helpful {
                var data = resolutionData(original, attempts: [])
                data["reason"] = "the customer said the answer did not help"
                data["comment"] = correction.note ?? NSNull()
                data["conversation"] = conversation.suffix(20).map(turn)
                events.append(
                    try WebhookEvent.make(tenant: original.tenant, type: .escalationCreated, data: data, at: now))
            }
            return events
        case _ where WorkflowOutcome(rawValue: correction.outcome) != nil:
            let outcome = WorkflowOutcome(rawValue: correction.outcome) ?? .failed
            let data: [String: Any] = [
                "tenant": original.tenant, "run_id": original.queryID, "workflow": original.question ?? NSNull(),
                "status": outcome.rawValue, "billable": outcome.billable,
                "output": correction.answer.flatMap(jsonObject) ?? correction.answer ?? NSNull(),
                "check": correction.note ?? NSNull(), "started_at": JSONConvention.timestamp(original.occurredAt),
                "ended_at": JSONConvention.timestamp(correction.occurredAt),
            ]
            return [try WebhookEvent.make(tenant: original.tenant, type: .workflowRunCompleted, data: data, at: now)]
        case "agent_answer":
            var data = base(original)
            data["agent_answer"] = correction.answer ?? NSNull()
            data["note"] = correction.note ?? NSNull()
            data["resolved_at"] = JSONConvention.timestamp(correction.recordedAt)
            return [try WebhookEvent.make(tenant: original.tenant, type: .escalationResolved, data: data, at: now)]
        default:
            return []
        }
    }

    /// `invoice.finalized`: the invoice as `cascade invoice --json` prints it.
    public static func event(finalized invoice: Invoice, at now: Date) throws -> WebhookEvent {
        let encoded = try JSONConvention.encoder().encode(invoice)
        guard let data = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
            throw LedgerError.invalidInput("an invoice did not encode as a JSON object")
        }
        return try WebhookEvent.make(tenant: invoice.tenant, type: .invoiceFinalized, data: data, at: now)
    }

    // MARK: - Parts

    static func base(_ query: LedgerEntry) -> [String: Any] {
        [
            "tenant": query.tenant, "query_id": query.queryID, "conversation_id": query.conversationID ?? NSNull(),
            "user_id": query.userID ?? NSNull(), "question": query.question ?? NSNull(),
            "occurred_at": JSONConvention.timestamp(query.occurredAt),
        ]
    }

    static func resolutionData(_ query: LedgerEntry, attempts: [LedgerEntry]) -> [String: Any] {
        var data = base(query)
        data["tier"] = query.tier
        data["outcome"] = query.outcome
        data["answer"] = query.answer ?? NSNull()
        data["confidence"] = query.confidence ?? NSNull()
        data["cost"] = Money.string(Money.dollars(micros: query.costMicros))
        data["citations"] = query.citations.flatMap(jsonObject) ?? []
        data["evidence"] = query.evidence.flatMap(jsonObject) ?? NSNull()
        // Why each tier passed the question on (or answered it), in the order they ran.
        data["tiers"] = attempts.map { attempt -> [String: Any] in
            [
                "tier": attempt.tier, "outcome": attempt.outcome, "confidence": attempt.confidence ?? NSNull(),
                "note": attempt.note ?? NSNull(), "cost": Money.string(Money.dollars(micros: attempt.costMicros)),
            ]
        }
        return data
    }

    static func turn(_ query: LedgerEntry) -> [String: Any] {
        [
            "query_id": query.queryID, "question": query.question ?? NSNull(), "answer": query.answer ?? NSNull(),
            "tier": query.tier, "occurred_at": JSONConvention.timestamp(query.occurredAt),
        ]
    }

    static func jsonObject(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }
}
