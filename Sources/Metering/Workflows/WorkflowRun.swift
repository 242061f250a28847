import Foundation

/// Workflow runs in the ledger: "a workflow task that was completed without human escalation",
/// priced per successful run. A run is three kinds of rows on the same chain as questions:
///
/// - its **start**: a `query` row with tier `workflow`, outcome `running`, the run id as query id
///   (so a retried start with the same id is recorded once, like a question) and the workflow's
///   name as its `question`;
/// - its **steps**: `attempt` rows metered like a question's tier attempts (tier, model in the
///   note, tokens, cost), carrying the workflow's name as `question` (a question's attempts have
///   none) and the step's id as `conversation_id` (a retried step is recorded once);
/// - its **end**: a `correction` row, once, with the outcome — `succeeded` (its output passed the
///   workflow's declared check, or it declares none), `failed_check` (declared successful, but the
///   output failed the check: not billable), `failed`, or `handed_off` (a person took over: never
///   billable) — the output as `answer`, the check's verdict as `note`, the workflow's name as
///   `question`. A run is billed in the month it ended.
public enum WorkflowRuns {
    /// The tier of a run's start row.
    public static let tier = "workflow"
    /// The outcome of a start row until the run ends.
    public static let running = "running"
    /// The longest workflow name and output accepted.
    public static let maximumNameLength = 100
    public static let maximumOutputBytes = 256 << 10

    /// A start row for `runID` of `workflow`.
    public static func startRow(tenant: String, runID: String, workflow: String, userID: String?, at date: Date)
        -> LedgerEntry
    {
        LedgerEntry(
            kind: .query, queryID: runID, tenant: tenant, userID: userID, tier: tier, outcome: running,
            question: workflow, occurredAt: date)
    }

    /// Whether a correction of `original` carries the workflow's name (a run's end does).
    public static func endCarriesName(_ original: LedgerEntry) -> Bool { original.tier == tier }

    /// The rules for a step, given the rows of its run: the run exists, is a workflow run, has not
    /// ended. Returns the stored row when the step's id (kept in the row's `conversation_id`: a
    /// step belongs to no conversation) was recorded already, else nil (append it).
    public static func checkStep(_ step: LedgerEntry, rows: [LedgerEntry]) throws -> LedgerEntry? {
        guard step.kind == .attempt else { throw LedgerError.invalidInput("a workflow step is an attempt row") }
        guard let run = rows.first(where: { $0.kind == .query }) else {
            throw LedgerError.unknownQuery(step.queryID)
        }
        guard run.tier == tier else {
            throw LedgerError.invalidInput("\(step.queryID) is a question, not a workflow run; nothing written")
        }
        if let ended = rows.first(where: { $0.kind == .correction && WorkflowOutcome(rawValue: $0.outcome) != nil }) {
            throw LedgerError.invalidInput(
                "workflow run \(step.queryID) already ended (\(ended.outcome)); its steps can no longer change")
        }
        if let stepID = step.conversationID,
            let stored = rows.first(where: { $0.kind == .attempt && $0.conversationID == stepID })
        {
            return stored
        }
        return nil
    }

    /// Checks a workflow name: letters, digits, `-`, `_`, `.`, 1 to 100 characters.
    public static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= maximumNameLength,
            name.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "-_.".unicodeScalars.contains($0)
            })
        else {
            throw LedgerError.invalidInput(
                "a workflow name uses letters, digits, '-', '_' and '.' (1 to \(maximumNameLength) characters)")
        }
    }
}

/// How a run ended.
public enum WorkflowOutcome: String, Sendable, CaseIterable, Codable {
    /// It produced the expected output (the declared check passed, or none is declared): billable.
    case succeeded
    /// Reported successful, but the output failed the workflow's declared check: not billable.
    case failedCheck = "failed_check"
    case failed
    /// A person took over: never billable.
    case handedOff = "handed_off"

    public var billable: Bool { self == .succeeded }
}

/// One workflow run that ended in a month, as billing reads it.
public struct WorkflowRunRecord: Sendable, Codable, Hashable {
    public var runID: String
    public var workflow: String
    public var outcome: WorkflowOutcome
    public var endedAt: Date

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case workflow, outcome
        case endedAt = "ended_at"
    }
}

/// Runs of one workflow in a month (reports, the dashboard).
public struct WorkflowSummary: Sendable, Hashable, Encodable {
    public var workflow: String
    public var runs: Int
    public var succeeded: Int
    public var failedCheck: Int
    public var failed: Int
    public var handedOff: Int
    /// Steps' model cost in the month.
    public var costMicros: Int64

    enum CodingKeys: String, CodingKey {
        case workflow, runs, succeeded, failed
        case failedCheck = "failed_check"
        case handedOff = "handed_off"
        case costMicros = "cost_micros"
        case cost
        case billableRuns = "billable_runs"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(workflow, forKey: .workflow)
        try c.encode(runs, forKey: .runs)
        try c.encode(succeeded, forKey: .succeeded)
        try c.encode(succeeded, forKey: .billableRuns)
        try c.encode(failedCheck, forKey: .failedCheck)
        try c.encode(failed, forKey: .failed)
        try c.encode(handedOff, forKey: .handedOff)
        try c.encode(costMicros, forKey: .costMicros)
        try c.encode(Money.string(Money.dollars(micros: costMicros)), forKey: .cost)
    }
}

extension MonthlyUsage {
    /// Workflow runs that ended in the month, from the tenant's end rows (every correction is in
    /// the rows billing reads).
    static func workflowRuns(entries: [LedgerEntry], tenant: String, start: Date, end: Date) -> [WorkflowRunRecord] {
        var seen = Set<String>()
        var runs: [WorkflowRunRecord] = []
        for row in entries
        where row.kind == .correction && row.tenant == tenant && row.tier == WorkflowRuns.tier
            && row.occurredAt >= start && row.occurredAt < end
        {
            guard let outcome = WorkflowOutcome(rawValue: row.outcome), seen.insert(row.queryID).inserted else {
                continue
            }
            runs.append(
                WorkflowRunRecord(
                    runID: row.queryID, workflow: row.question ?? "", outcome: outcome, endedAt: row.occurredAt))
        }
        return runs.sorted { ($0.endedAt, $0.runID) < ($1.endedAt, $1.runID) }
    }

    /// Runs and step costs per workflow, by name.
    public var workflowSummaries: [WorkflowSummary] {
        var byName: [String: WorkflowSummary] = [:]
        func summary(_ name: String) -> WorkflowSummary {
            byName[name]
                ?? WorkflowSummary(
                    workflow: name, runs: 0, succeeded: 0, failedCheck: 0, failed: 0, handedOff: 0, costMicros: 0)
        }
        for run in workflowRuns {
            var s = summary(run.workflow)
            s.runs += 1
            switch run.outcome {
            case .succeeded: s.succeeded += 1
            case .failedCheck: s.failedCheck += 1
            case .failed: s.failed += 1
            case .handedOff: s.handedOff += 1
            }
            byName[run.workflow] = s
        }
        for (name, cost) in workflowCostMicros {
            var s = summary(name)
            s.costMicros += cost
            byName[name] = s
        }
        return byName.values.sorted { $0.workflow < $1.workflow }
    }
}
