import Cascade
import Evaluation
import Foundation
import KnowledgeBase
import Metering
import Retrieval

/// The JSON shapes of the API's objects (the same fields as the CLI's `--json`).
enum Presenter {
    static func result(_ r: SearchResult) -> JSONValue {
        [
            "rank": .int(r.rank), "doc_id": .string(r.chunk.docID), "source": .string(r.chunk.source),
            "title": .string(r.chunk.title), "chunk_id": .int(r.chunk.chunkID), "heading": .string(r.chunk.heading),
            "anchor": .string(r.chunk.anchor), "citation": .string(r.chunk.citation), "text": .string(r.chunk.text),
            "start_offset": .int(r.chunk.startOffset), "end_offset": .int(r.chunk.endOffset),
            "score": .double(r.score), "vector_score": .double(r.vectorScore),
            "keyword_score": .double(r.keywordScore),
        ]
    }

    static func resolution(_ r: Resolution) throws -> JSONValue { try JSONValue.encoding(r) }

    static func document(_ d: StoredDocument) -> JSONValue {
        [
            "doc_id": .string(d.docID), "collection": .string(d.collection), "source": .string(d.source),
            "title": .string(d.title), "format": .string(d.format), "byte_size": .int(d.byteSize),
            "chunk_count": .int(d.chunkCount), "ingested_at": .string(d.ingestedAt),
        ]
    }

    /// An open escalation: the question, who asked, when, why it is open (each tier's note, or the
    /// customer's verdict), and the answer a customer rejected with their comment.
    static func escalation(_ open: OpenEscalation) -> JSONValue {
        let e = open.query
        return [
            "query_id": .string(e.queryID), "question": .string(e.question),
            "conversation_id": .string(e.conversationID), "user_id": .string(e.userID),
            "occurred_at": .timestamp(e.occurredAt), "why": .string(open.why), "reason": .string(open.reason),
            "rejected_answer": .string(open.rejectedAnswer), "customer_comment": .string(open.customerComment),
            "answered_before": .array(
                open.answeredBefore.map {
                    ["query_id": .string($0.queryID), "question": .string($0.question), "answer": .string($0.answer)]
                }),
            "sources": .array(
                open.sources.map {
                    ["source": .string($0.source), "chunk_id": .int($0.chunkID), "score": .double($0.score)]
                }),
        ]
    }

    static func verdict(_ verdict: CustomerVerdict) -> JSONValue {
        let q = verdict.query
        return [
            "query_id": .string(q.queryID), "question": .string(q.question), "tier": .string(q.tier),
            "confidence": .double(q.confidence), "answer": .string(q.answer),
            "verdict": .string(verdict.verdict.outcome),
            "comment": .string(verdict.comment), "recorded_at": .timestamp(verdict.recordedAt),
        ]
    }

    static func verdictThreshold(_ r: VerdictThreshold.Recommendation, tenant: String) -> JSONValue {
        [
            "tenant": .string(tenant), "target": .double(r.target), "min_verdicts": .int(r.minimumVerdicts),
            "verdicts": .int(r.verdicts), "rag_verdicts_used": .int(r.used), "set_aside": .int(r.setAside),
            "current_threshold": .double(r.currentThreshold), "calibration": .string(r.calibration),
            "recommended_threshold": .double(r.recommendedThreshold), "reason": .string(r.reason),
            "table": .array(
                r.table.map {
                    [
                        "threshold": .double($0.threshold), "judged": .int($0.judged), "confirmed": .int($0.confirmed),
                        "rejected": .int($0.rejected), "rejected_share": .double($0.rejectedShare),
                    ]
                }),
        ]
    }

    /// A ledger row as `LedgerEntry` encodes itself (every field, citations nested).
    static func entry(_ e: LedgerEntry) throws -> JSONValue { try JSONValue.encoding(e) }

    static func invoice(_ invoice: Invoice) -> JSONValue {
        [
            "tenant": .string(invoice.tenant), "month": .string(invoice.month), "plan": .string(invoice.plan),
            "billing": .string(invoice.billing.rawValue), "status": .string(invoice.status),
            "currency": .string(invoice.currency), "total": .money(invoice.total),
            "lines": .array(
                invoice.lines.map { line in
                    [
                        "kind": .string(line.kind), "description": .string(line.description),
                        "quantity": .money(line.quantity), "unit_price": .money(line.unitPrice),
                        "amount": .money(line.amount), "currency": .string(invoice.currency),
                        "query_ids": .array(line.queryIDs.map { .string($0) }),
                    ]
                }),
            "verdicts": invoice.verdicts.map {
                .object([
                    "confirmed": .int(Int64($0.confirmed)), "assumed": .int(Int64($0.assumed)),
                    "rejected_by_customer": .int(Int64($0.rejectedByCustomer)), "bill": .string($0.bill.rawValue),
                ])
            } ?? .null,
            "ledger_head": invoice.ledgerHead.map {
                .object(["sequence": .int($0.sequence), "hash": .string($0.hash)])
            }
                ?? .null,
            "ledger_checkpoint": invoice.ledgerCheckpoint.flatMap { try? JSONValue.encoding($0) } ?? .null,
        ]
    }

    static func report(_ r: UsageReport, currency: String) -> JSONValue {
        [
            "tenant": .string(r.tenant), "month": .string(r.month), "queries": .int(r.queries),
            "resolutions": .int(r.resolutions), "billable_resolutions": .int(r.billableResolutions),
            "flagged_resolutions": .int(r.flaggedResolutions),
            "confirmed_resolutions": .int(r.confirmedResolutions), "assumed_resolutions": .int(r.assumedResolutions),
            "rejected_by_customer": .int(r.rejectedByCustomer), "escalated": .int(r.escalated),
            "rejected": .int(r.rejected), "duplicates": .int(r.duplicates), "reopened": .int(r.reopened),
            "voided": .int(r.voided), "resolution_rate": .double(r.resolutionRate),
            "total_cost_micros": .int(r.totalCostMicros),
            "total_cost": .money(Money.dollars(micros: r.totalCostMicros)),
            "blended_cost_per_resolution": .money(r.blendedCostPerResolution), "currency": .string(currency),
            "invoice_total": .money(r.invoiceTotal), "findings": .array(r.findings.map { .string($0) }),
            "tiers": .array(
                r.tiers.map { t in
                    [
                        "tier": .string(t.tier), "resolutions": .int(t.resolutions), "attempts": .int(t.attempts),
                        "tokens_in": .int(t.tokensIn), "tokens_out": .int(t.tokensOut),
                        "cost_micros": .int(t.costMicros),
                        "resolution_share": .double(t.resolutionShare), "cost_share": .double(t.costShare),
                        "billed": .money(t.billed), "margin": .money(t.margin),
                    ]
                }),
            "workflows": .array((try? r.workflows.map { try JSONValue.encoding($0) }) ?? []),
            "workflow_charge": .money(r.workflowCharge),
        ]
    }
}
