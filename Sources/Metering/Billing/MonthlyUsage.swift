import Foundation

/// One tenant's month of ledger rows, classified query by query into what is billable and why
/// not. This is the definition customers dispute, so every exclusion carries its reason:
///
/// - only resolved queries (rule, RAG or LLM tier) can be billable; escalated, rejected and
///   human-handled ones never are;
/// - at most one billable resolution per conversation per month (the first); without a
///   conversation id, the same user asking the same normalised question again that month is a
///   duplicate;
/// - a resolution reopened within the tenant's window (72 hours by default) is void, and a voided
///   one (`cascade ledger void`) is never billable;
/// - usage that looks like gaming (a day far above the month's other days, one user or one
///   question dominating, a burst of near-duplicates, by text or by meaning — the same question
///   in other words, see ``QuestionSignature``) is *flagged*: held out of the charge and listed,
///   for a person to decide. Nothing is silently billed or silently dropped.
public struct MonthlyUsage: Sendable {
    public enum Status: String, Sendable, Codable, Hashable {
        case billable
        case flagged
        case duplicate
        case reopened
        case voided
        case escalated
        case rejected
        case humanHandled = "human_handled"
        /// The customer said the answer did not help: never billable, handed to a person.
        case rejectedByCustomer = "rejected_by_customer"
    }

    /// What the customer said about a billable resolution: `confirmed` (helpful) or `assumed` (no
    /// verdict; no negative signal within the reopen window).
    public enum Verdict: String, Sendable, Codable, Hashable {
        case confirmed, assumed
    }

    public struct Query: Sendable, Codable, Hashable {
        public var queryID: String
        public var tier: String
        public var status: Status
        public var costMicros: Int64
        public var occurredAt: Date
        public var conversationID: String?
        public var userID: String?
        public var flags: [String]
        /// For resolutions: the customer's verdict (`confirmed`), or `assumed` when they gave none.
        public var verdict: Verdict? = nil
        /// The customer's comment with their verdict, if any.
        public var comment: String? = nil

        enum CodingKeys: String, CodingKey {
            case queryID = "query_id"
            case tier, status, verdict, comment
            case costMicros = "cost_micros"
            case occurredAt = "occurred_at"
            case conversationID = "conversation_id"
            case userID = "user_id"
            case flags
        }
    }

    public var tenant: String
    public var month: BillingMonth
    public var queries: [Query]
    /// Model cost per tier, from every attempt (failed ones and escalated queries included).
    public var costMicrosByTier: [String: Int64]
    /// Attempts and tokens per tier, every attempt counted (resolved or not, priced or not).
    public var attemptsByTier: [String: (attempts: Int, tokensIn: Int, tokensOut: Int)] = [:]
    /// LLM attempts recorded at cost 0 because their model had no price.
    public var unpricedAttempts = 0
    /// The words an attempt's note carries when its model had no price (the resolver writes them,
    /// the report counts them).
    public static let unpricedModelNote = "has no price: cost recorded as 0"
    /// Why usage was flagged, one line per finding.
    public var findings: [String]
    /// Workflow runs that ended this month (see ``WorkflowRuns``), oldest end first.
    public var workflowRuns: [WorkflowRunRecord] = []
    /// The model cost of workflow steps this month, per workflow (also in ``costMicrosByTier``).
    public var workflowCostMicros: [String: Int64] = [:]

    public var totalCostMicros: Int64 { costMicrosByTier.values.reduce(0, +) }
    public var billable: [Query] { queries.filter { $0.status == .billable } }
    /// Billable resolutions the customer confirmed, and those assumed (no verdict).
    public var confirmed: [Query] { billable.filter { $0.verdict == .confirmed } }
    public var assumed: [Query] { billable.filter { $0.verdict != .confirmed } }
    public var flagged: [Query] { queries.filter { $0.status == .flagged } }
    public func count(_ status: Status) -> Int { queries.filter { $0.status == status }.count }
    public var resolutions: [Query] { queries.filter { ["rule", "rag", "llm"].contains($0.tier) } }

    /// Classifies `entries` (every row of the tenant; the month is cut in `timeZone`).
    public init(
        tenant: String, month: BillingMonth, entries: [LedgerEntry], timeZone: TimeZone, reopenWindowHours: Int = 72
    ) {
        self.tenant = tenant
        self.month = month
        let (start, end) = month.interval(in: timeZone)
        var corrections: [String: [LedgerEntry]] = [:]
        for entry in entries where entry.kind == .correction { corrections[entry.queryID, default: []].append(entry) }
        let rows = entries.filter { $0.tenant == tenant && $0.occurredAt >= start && $0.occurredAt < end }
        var costs: [String: Int64] = [:]
        var attempts: [String: (attempts: Int, tokensIn: Int, tokensOut: Int)] = [:]
        var unpriced = 0
        var workflowCosts: [String: Int64] = [:]
        for attempt in rows where attempt.kind == .attempt {
            costs[attempt.tier, default: 0] += attempt.costMicros
            // A workflow step carries its workflow's name; a question's attempt carries none.
            if let workflow = attempt.question { workflowCosts[workflow, default: 0] += attempt.costMicros }
            let before = attempts[attempt.tier] ?? (0, 0, 0)
            attempts[attempt.tier] = (
                before.attempts + 1, before.tokensIn + attempt.tokensIn, before.tokensOut + attempt.tokensOut
            )
            if attempt.note?.contains(Self.unpricedModelNote) == true { unpriced += 1 }
        }
        costMicrosByTier = costs
        workflowCostMicros = workflowCosts
        workflowRuns = Self.workflowRuns(entries: entries, tenant: tenant, start: start, end: end)
        attemptsByTier = attempts
        unpricedAttempts = unpriced

        var seenConversation = Set<String>()
        var classified: [Query] = []
        // Workflow runs are billed by their end (above), never as questions.
        for row in rows.filter({ $0.kind == .query && $0.tier != WorkflowRuns.tier }).sorted(by: {
            ($0.occurredAt, $0.sequence) < ($1.occurredAt, $1.sequence)
        }) {
            var status: Status
            switch row.tier {
            case "rule", "rag", "llm": status = .billable
            case "rejected": status = .rejected
            default: status = .escalated
            }
            let fixes = corrections[row.queryID] ?? []
            let verdictRow = fixes.first { Ledger.Verdict(outcome: $0.outcome) != nil }
            if status == .billable {
                if fixes.contains(where: { $0.outcome == "voided" }) {
                    status = .voided
                } else if verdictRow?.outcome == Ledger.Verdict.notHelpful.outcome {
                    status = .rejectedByCustomer
                } else if let reopen = fixes.first(where: { $0.outcome == "reopened" }),
                    reopen.occurredAt.timeIntervalSince(row.occurredAt) <= Double(reopenWindowHours) * 3600
                {
                    status = .reopened
                } else if fixes.contains(where: { $0.outcome == "answered_by_agent" || $0.outcome == "agent_answer" }) {
                    status = .humanHandled
                }
            }
            if status == .billable {
                let key =
                    row.conversationID.map { "c:" + $0 }
                    ?? row.userID.map { "u:\($0)|" + Self.normalized(row.question ?? "") }
                if let key, !seenConversation.insert(key).inserted { status = .duplicate }
            }
            var query = Query(
                queryID: row.queryID, tier: row.tier, status: status, costMicros: row.costMicros,
                occurredAt: row.occurredAt, conversationID: row.conversationID, userID: row.userID, flags: [])
            if ["rule", "rag", "llm"].contains(row.tier) {
                query.verdict = verdictRow?.outcome == Ledger.Verdict.helpful.outcome ? .confirmed : .assumed
                if verdictRow?.outcome == Ledger.Verdict.notHelpful.outcome { query.verdict = nil }
                query.comment = verdictRow?.note
            }
            classified.append(query)
        }
        queries = classified
        findings = []
        if unpriced > 0 {
            findings.append(
                "\(unpriced) LLM attempt(s) of a model without a price were recorded at cost 0: set llm.price_in and llm.price_out in the tenant's settings"
            )
        }
        var questions: [String: String] = [:]
        var signatures: [String: (model: String, signature: QuestionSignature)] = [:]
        for row in rows where row.kind == .query && row.tier != WorkflowRuns.tier {
            questions[row.queryID] = row.question ?? ""
            if let evidence = row.evidence.flatMap(Evidence.init(json:)),
                let signature = evidence.questionSignature.flatMap(QuestionSignature.init(hex:))
            {
                signatures[row.queryID] = (evidence.signatureModel ?? "", signature)
            }
        }
        flagAnomalies(questions: questions, timeZone: timeZone)
        flagSimilarQuestions(questions: questions, signatures: signatures)
    }

    /// Lower-cased letters and digits, single spaces: "How do I… VACUUM?" → "how do i vacuum".
    public static func normalized(_ text: String) -> String {
        // Fast path for plain ASCII, the common case.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var out: [UInt8] = []
            out.reserveCapacity(text.utf8.count)
            var pendingSpace = false
            for byte in text.utf8 {
                let lower = (byte >= 65 && byte <= 90) ? byte + 32 : byte
                let alnum = (lower >= 97 && lower <= 122) || (lower >= 48 && lower <= 57)
                if alnum {
                    if pendingSpace && !out.isEmpty { out.append(32) }
                    pendingSpace = false
                    out.append(lower)
                } else {
                    pendingSpace = true
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
        var words: [String] = []
        var current = ""
        for scalar in text.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words.joined(separator: " ")
    }

    /// Flags thresholds: documented in the README ("What counts as a billable resolution").
    public static let spikeFactor = 3.0
    public static let spikeMinimum = 20
    public static let dominanceShare = 0.5
    public static let dominanceMinimum = 20
    public static let burstSize = 5
    public static let burstWindow: TimeInterval = 3600

    /// The same question in other words (a few words added or changed, a new user id each time):
    /// resolutions whose question signatures are near-duplicates (``QuestionSignature``) and
    /// whose texts differ are grouped, and a group is flagged like one question would be: a
    /// burst (``burstSize`` within ``burstWindow``) is `similar_burst`, a group over
    /// ``dominanceShare`` of the month's resolutions is `similar_dominates`. Exact repeats are
    /// already caught by the text rules.
    private mutating func flagSimilarQuestions(
        questions: [String: String], signatures: [String: (model: String, signature: QuestionSignature)]
    ) {
        let candidates = queries.indices.filter {
            [.billable, .flagged].contains(queries[$0].status) && signatures[queries[$0].queryID] != nil
        }
        let total = queries.indices.filter { [.billable, .flagged].contains(queries[$0].status) }.count
        let byModel = Dictionary(grouping: candidates) { signatures[queries[$0].queryID]?.model ?? "" }
        var flaggedAny = false
        for members in byModel.values {
            let groups = QuestionSignature.groups(members.map { signatures[queries[$0].queryID]!.signature })
            for group in groups where group.count >= Self.burstSize {
                let indices = group.map { members[$0] }
                let texts = Set(indices.map { Self.normalized(questions[queries[$0].queryID] ?? "") })
                guard texts.count > 1 else { continue }
                let example = questions[queries[indices[0]].queryID].map { String($0.prefix(60)) } ?? ""
                func flag(_ subset: [Int], _ reason: String) {
                    for i in subset where !queries[i].flags.contains(reason) {
                        queries[i].flags.append(reason)
                        flaggedAny = true
                    }
                }
                let times = indices.sorted { queries[$0].occurredAt < queries[$1].occurredAt }
                var burst = false
                for i in 0...(times.count - Self.burstSize) {
                    let window = Array(times[i..<(i + Self.burstSize)])
                    if queries[window.last!].occurredAt.timeIntervalSince(queries[window.first!].occurredAt)
                        <= Self.burstWindow
                    {
                        flag(window, "similar_burst")
                        burst = true
                    }
                }
                if burst {
                    findings.append(
                        "similar_burst: \(indices.count) resolutions of one question in \(texts.count) wordings (e.g. \"\(example)\"), \(Self.burstSize)+ within an hour"
                    )
                }
                if indices.count >= Self.dominanceMinimum && Double(indices.count) > Self.dominanceShare * Double(total)
                {
                    flag(indices, "similar_dominates")
                    findings.append(
                        "similar_dominates: one question in \(texts.count) wordings (e.g. \"\(example)\") is \(indices.count) of \(total) resolutions"
                    )
                }
            }
        }
        guard flaggedAny else { return }
        for i in queries.indices where queries[i].status == .billable && !queries[i].flags.isEmpty {
            queries[i].status = .flagged
        }
    }

    private mutating func flagAnomalies(questions: [String: String], timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let candidates = queries.indices.filter { queries[$0].status == .billable }
        func flag(_ indices: [Int], _ reason: String) {
            for i in indices where !queries[i].flags.contains(reason) { queries[i].flags.append(reason) }
        }
        // A day far above the month's other days.
        let byDay = Dictionary(grouping: candidates) { calendar.component(.day, from: queries[$0].occurredAt) }
        if byDay.count > 1 {
            for (day, members) in byDay {
                let others = byDay.filter { $0.key != day }.values.map(\.count)
                let mean = Double(others.reduce(0, +)) / Double(others.count)
                if members.count >= Self.spikeMinimum && Double(members.count) > Self.spikeFactor * max(mean, 1) {
                    flag(members, "day_spike")
                    findings.append(
                        "day \(month)-\(String(format: "%02d", day)): \(members.count) resolutions, more than \(Int(Self.spikeFactor))× the other days' mean (\(String(format: "%.1f", mean)))"
                    )
                }
            }
        }
        // One end-user or one normalised question dominating.
        let total = candidates.count
        let byUser = Dictionary(grouping: candidates.filter { queries[$0].userID != nil }) { queries[$0].userID ?? "" }
        for (user, members) in byUser
        where members.count >= Self.dominanceMinimum && Double(members.count) > Self.dominanceShare * Double(total) {
            flag(members, "user_dominates")
            findings.append("user \(user): \(members.count) of \(total) resolutions")
        }
        let byQuestion = Dictionary(grouping: candidates) { Self.normalized(questions[queries[$0].queryID] ?? "") }
        for (question, members) in byQuestion
        where members.count >= Self.dominanceMinimum && Double(members.count) > Self.dominanceShare * Double(total) {
            flag(members, "question_dominates")
            findings.append("question \"\(question.prefix(60))\": \(members.count) of \(total) resolutions")
        }
        // A burst of near-duplicates: the same normalised question many times within an hour.
        for (question, members) in byQuestion where members.count >= Self.burstSize {
            let times = members.sorted { queries[$0].occurredAt < queries[$1].occurredAt }
            for i in 0...(times.count - Self.burstSize) {
                let window = Array(times[i..<(i + Self.burstSize)])
                if queries[window.last!].occurredAt.timeIntervalSince(queries[window.first!].occurredAt)
                    <= Self.burstWindow
                {
                    flag(window, "burst")
                    if !findings.contains(where: { $0.hasPrefix("burst: \"\(question.prefix(60))\"") }) {
                        findings.append(
                            "burst: \"\(question.prefix(60))\" asked \(Self.burstSize)+ times within an hour")
                    }
                }
            }
        }
        for i in queries.indices where queries[i].status == .billable && !queries[i].flags.isEmpty {
            queries[i].status = .flagged
        }
    }
}
