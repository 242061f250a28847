import Cascade
import Evaluation
import Foundation
import KnowledgeBase
import Logging
import MCP
import Metering
import Retrieval

/// The Model Context Protocol face of one tenant: the tools `search_knowledge_base`, `ask`,
/// `record_feedback`, `record_workflow_run` and (admin keys only) `list_escalations` and
/// `get_usage`, and the tenant's documents as resources.
///
/// Both transports use it: `cascade mcp` (stdio, one tenant) and `/mcp` on the service (the
/// tenant and scope of the request's key). Every tool calls the same code as the HTTP API, so an
/// `ask` here is resolved, metered and replayed exactly like `POST /v1/ask`.
struct MCPToolbox: Sendable {
    let service: CascadeService
    let tenant: String
    let scope: KeyScope

    static let serverName = "cascade"
    static let instructions = """
        Answers support questions from this tenant's knowledge base. Use search_knowledge_base to find \
        passages (each with a citation and a resource URI you can read), and ask to run the full resolution \
        cascade (rules, retrieval, LLM, human escalation); every ask is metered, so pass a stable query_id \
        when you retry.
        """

    /// A server with this toolbox's handlers, not yet started.
    func makeServer(version: String) async -> MCP.Server {
        let server = MCP.Server(
            name: Self.serverName, version: version, title: "cascade knowledge base (\(tenant))",
            instructions: Self.instructions,
            capabilities: .init(
                resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        let toolbox = self
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: toolbox.tools) }
        await server.withMethodHandler(CallTool.self) { params in
            await toolbox.call(params.name, arguments: params.arguments ?? [:])
        }
        await server.withMethodHandler(ListResources.self) { params in
            try toolbox.listResources(cursor: params.cursor)
        }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in
            ListResourceTemplates.Result(templates: [
                Resource.Template(
                    uriTemplate: DocumentURI.prefix + "{+source}", name: "document",
                    description: "A document of the knowledge base by its source (the part of a citation before '#'); "
                        + "add #anchor for one section", mimeType: "text/markdown")
            ])
        }
        await server.withMethodHandler(ReadResource.self) { params in try toolbox.read(params.uri) }
        return server
    }

    // MARK: - Tools

    var tools: [Tool] {
        var tools = [
            Tool(
                name: "search_knowledge_base", title: "Search the knowledge base",
                description: "Ranked passages of the knowledge base for a query, each with its citation "
                    + "(source#anchor) and a resource URI to read the whole document. Not metered.",
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "query": ["type": "string", "description": "What to look for, in words"],
                        "k": [
                            "type": "integer", "minimum": 1, "maximum": .int(service.configuration.maxK),
                            "default": 5, "description": "How many passages",
                        ],
                        "mode": [
                            "type": "string", "enum": .array(SearchMode.allCases.map { .string($0.rawValue) }),
                            "default": "hybrid",
                        ],
                    ],
                    "required": ["query"],
                    "additionalProperties": false,
                ],
                annotations: .init(readOnlyHint: true)),
            Tool(
                name: "ask", title: "Ask the support cascade",
                description: "Resolves a customer question through the full cascade (rules, retrieval answer, LLM "
                    + "with retrieved context, human escalation). Metered in the ledger like any question: the "
                    + "result says which tier answered, its citations and cost. Reusing a query_id replays the "
                    + "recorded outcome instead of billing again.",
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "question": ["type": "string", "description": "The customer's question"],
                        "query_id": ["type": "string", "description": "Idempotency key (1 to 200 bytes)"],
                        "conversation_id": ["type": "string"],
                        "user_id": ["type": "string"],
                    ],
                    "required": ["question"],
                    "additionalProperties": false,
                ],
                annotations: .init(destructiveHint: false, idempotentHint: true, openWorldHint: false)),
            Tool(
                name: "record_feedback", title: "Record the customer's verdict",
                description: "Records whether an answer helped the customer (once per query_id). helpful=true "
                    + "confirms the resolution; helpful=false means it is never billed and the question goes to a "
                    + "person at once. Sending the same verdict again changes nothing.",
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "query_id": ["type": "string", "description": "The query id the ask returned"],
                        "helpful": ["type": "boolean"],
                        "comment": [
                            "type": "string", "description": "The customer's words (at most 2,000 characters)",
                        ],
                    ],
                    "required": ["query_id", "helpful"],
                    "additionalProperties": false,
                ],
                annotations: .init(destructiveHint: false, idempotentHint: true, openWorldHint: false)),
            Tool(
                name: "record_workflow_run", title: "Record a workflow run",
                description: "Records a run of a workflow (a multi-step task this agent carried out) with its steps "
                    + "and how it ended, metered and billed per successful run. Idempotent by run_id: send it again "
                    + "with more steps or its end; steps are recorded once each by step_id. A run reported as "
                    + "succeeded is billable only if its output passes the workflow's declared check; handed_off "
                    + "(a person took over) is never billed.",
                inputSchema: [
                    "type": "object",
                    "properties": [
                        "run_id": ["type": "string", "description": "A stable id of this run (retries reuse it)"],
                        "workflow": ["type": "string", "description": "The workflow's name, e.g. refund-approval"],
                        "steps": [
                            "type": "array",
                            "items": [
                                "type": "object",
                                "properties": [
                                    "step_id": ["type": "string"], "name": ["type": "string"],
                                    "tier": [
                                        "type": "string", "enum": ["rule", "rag", "llm", "tool", "human", "other"],
                                    ],
                                    "model": ["type": "string"], "tokens_in": ["type": "integer"],
                                    "tokens_out": ["type": "integer"],
                                    "cost": ["type": "string", "description": "Dollars, as a decimal string"],
                                    "latency_ms": ["type": "integer"],
                                    "status": ["type": "string", "enum": ["completed", "failed"]],
                                ],
                                "required": ["name", "tier"],
                            ],
                        ],
                        "status": [
                            "type": "string", "enum": ["running", "succeeded", "failed", "handed_off"],
                            "description": "How the run ended (running: not yet)",
                        ],
                        "output": ["description": "The run's output (checked against the workflow's schema)"],
                        "reason": ["type": "string"],
                    ],
                    "required": ["run_id", "workflow"],
                    "additionalProperties": false,
                ],
                annotations: .init(destructiveHint: false, idempotentHint: true, openWorldHint: false)),
        ]
        if scope.allows(.admin) {
            tools.append(
                Tool(
                    name: "list_escalations", title: "Open escalations",
                    description: "Questions escalated to a human that no agent has answered yet, oldest first: "
                        + "those no tier could answer, with why each tier passed, and answers the customer said "
                        + "did not help, with the answer and the customer's comment.",
                    inputSchema: ["type": "object", "properties": [:], "additionalProperties": false],
                    annotations: .init(readOnlyHint: true)))
            tools.append(
                Tool(
                    name: "list_verdicts", title: "Customers' verdicts",
                    description: "The customers' verdicts on this tenant's answers (helpful: confirmed; not helpful: "
                        + "rejected_by_customer), latest last, with each answer's confidence and the customer's "
                        + "comment; and the RAG threshold they support (the lowest one whose judged answers are "
                        + "rejected at most max_false_resolution of the time, keeping at least min_verdicts).",
                    inputSchema: [
                        "type": "object",
                        "properties": [
                            "max_false_resolution": [
                                "type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.05,
                            ],
                            "min_verdicts": ["type": "integer", "minimum": 1, "default": 30],
                            "limit": [
                                "type": "integer", "minimum": 1, "maximum": 1000, "default": 50,
                                "description": "How many of the latest verdicts to list",
                            ],
                        ],
                        "additionalProperties": false,
                    ],
                    annotations: .init(readOnlyHint: true)))
            tools.append(
                Tool(
                    name: "get_usage", title: "The month's usage",
                    description: "Questions, resolutions by tier, workflow runs by workflow, model cost, the spend "
                        + "cap and the invoice so far, for a month (default: the current one).",
                    inputSchema: [
                        "type": "object",
                        "properties": ["month": ["type": "string", "description": "YYYY-MM"]],
                        "additionalProperties": false,
                    ],
                    annotations: .init(readOnlyHint: true)))
        }
        return tools
    }

    /// Runs a tool. Mistakes the caller can fix come back as a tool error (`isError`) whose text
    /// says what to change, so an agent can correct itself; nothing is recorded for them.
    func call(_ name: String, arguments: [String: Value]) async -> CallTool.Result {
        do {
            switch name {
            case "search_knowledge_base": return try await search(arguments)
            case "ask": return try await ask(arguments)
            case "record_feedback": return try await recordFeedback(arguments)
            case "record_workflow_run": return try await recordWorkflowRun(arguments)
            case "list_escalations" where scope.allows(.admin): return try await listEscalations(arguments)
            case "get_usage" where scope.allows(.admin): return try await usage(arguments)
            case "list_verdicts" where scope.allows(.admin): return try await listVerdicts(arguments)
            case "list_escalations", "get_usage", "list_verdicts":
                return Self.failure("\(name) needs an admin key; this key's scope is \(scope.rawValue)")
            default:
                return Self.failure(
                    "no tool named \(name.prefix(80)); the tools are \(tools.map(\.name).joined(separator: ", "))")
            }
        } catch let problem as Problem {
            return Self.failure(problem.detail)
        } catch let error as ToolArgumentError {
            return Self.failure(error.message)
        } catch {
            service.logger.error("mcp tool failed", metadata: ["tool": .string(name), "error": "\(error)"])
            return Self.failure(
                "the tool failed on the server; nothing was recorded unless its query id is in the ledger")
        }
    }

    private func search(_ arguments: [String: Value]) async throws -> CallTool.Result {
        let arguments = try ToolArguments(arguments, allowed: ["query", "k", "mode"])
        let query = try arguments.string("query", required: true) ?? ""
        let k = try arguments.int("k") ?? 5
        guard (1...service.configuration.maxK).contains(k) else {
            throw ToolArgumentError("\"k\" must be between 1 and \(service.configuration.maxK)")
        }
        let modeName = try arguments.string("mode") ?? SearchMode.hybrid.rawValue
        guard let mode = SearchMode(rawValue: modeName) else {
            throw ToolArgumentError(
                "\"mode\" must be one of \(SearchMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let results: [SearchResult]
        do {
            results = try await service.runtime(for: tenant).knowledgeBase.search(query, k: k, mode: mode, filter: nil)
        } catch let error as RetrievalError {
            throw ToolArgumentError(error.description)
        }
        let passages: [JSONValue] = results.map { r in
            var passage = Presenter.result(r)
            if case .object(var members) = passage {
                members["resource_uri"] = .string(DocumentURI(source: r.chunk.source, anchor: r.chunk.anchor).string)
                passage = .object(members)
            }
            return passage
        }
        var text = results.isEmpty ? "No passages found for \"\(query)\"." : ""
        for r in results {
            text += "[\(r.rank)] \(r.chunk.heading.isEmpty ? r.chunk.title : r.chunk.heading)\n"
            text += "citation: \(r.chunk.citation)\n\(r.chunk.text)\n\n"
        }
        let structured: JSONValue = [
            "query": .string(query), "mode": .string(mode.rawValue), "k": .int(k), "passages": .array(passages),
        ]
        return try CallTool.Result(content: [Self.text(text)], structuredContent: structured.mcpValue)
    }

    private func ask(_ arguments: [String: Value]) async throws -> CallTool.Result {
        let arguments = try ToolArguments(arguments, allowed: ["question", "query_id", "conversation_id", "user_id"])
        let resolution = try await service.ask(
            tenant: tenant, question: try arguments.string("question", required: true) ?? "",
            queryID: try arguments.string("query_id"), conversationID: try arguments.string("conversation_id"),
            userID: try arguments.string("user_id"))
        var json = try Presenter.resolution(resolution)
        if case .object(var members) = json {
            members["citation_uris"] = .array(
                resolution.citations.map { .string(DocumentURI(source: $0.source).string) })
            json = .object(members)
        }
        var text =
            resolution.tier == "escalated" || resolution.tier == "rejected"
            ? "Not resolved (\(resolution.tier)): \(resolution.answer)"
            : resolution.answer
        text += "\n\ntier: \(resolution.tier); query_id: \(resolution.queryID)"
        if resolution.replayed { text += " (replayed: already recorded)" }
        if !resolution.citations.isEmpty {
            text += "\nsources: " + resolution.citations.map(\.source).joined(separator: ", ")
        }
        return try CallTool.Result(content: [Self.text(text)], structuredContent: json.mcpValue)
    }

    private func recordFeedback(_ arguments: [String: Value]) async throws -> CallTool.Result {
        let arguments = try ToolArguments(arguments, allowed: ["query_id", "helpful", "comment"])
        let id = try arguments.string("query_id", required: true) ?? ""
        guard let helpful = try arguments.bool("helpful") else { throw ToolArgumentError("\"helpful\" is required") }
        let (row, replayed) = try await service.recordFeedback(
            tenant: tenant, queryID: id, helpful: helpful, comment: try arguments.string("comment"))
        let text =
            (helpful
                ? "Recorded: the answer to \(id) helped (confirmed)."
                : "Recorded: the answer to \(id) did not help; "
                    + "it will not be billed and a person will follow up.") + (replayed ? " (already recorded)" : "")
        var json = try Presenter.entry(row)
        if case .object(var members) = json {
            members["replayed"] = .bool(replayed)
            json = .object(members)
        }
        return try CallTool.Result(content: [Self.text(text)], structuredContent: json.mcpValue)
    }

    private func recordWorkflowRun(_ arguments: [String: Value]) async throws -> CallTool.Result {
        let arguments = try ToolArguments(
            arguments, allowed: ["run_id", "workflow", "steps", "status", "output", "reason"])
        let runID = try arguments.string("run_id", required: true) ?? ""
        let workflow = try arguments.string("workflow", required: true) ?? ""
        var steps: [CascadeService.WorkflowStep] = []
        switch arguments.values["steps"] {
        case .none, .some(.null): break
        case .some(.array(let items)):
            guard items.count <= 200 else { throw ToolArgumentError("at most 200 steps per call") }
            for item in items {
                guard case .object(let members) = item else { throw ToolArgumentError("each step is an object") }
                let step = JSONObject(members: members.mapValues(JSONValue.init(mcp:)))
                do {
                    steps.append(try WorkflowRoutes.step(step))
                } catch let problem as Problem {
                    throw ToolArgumentError("a step: \(problem.detail)")
                }
            }
        default: throw ToolArgumentError("\"steps\" is a list of steps")
        }
        let status = try arguments.string("status") ?? "running"
        _ = try await service.startWorkflowRun(tenant: tenant, runID: runID, workflow: workflow, userID: nil)
        for step in steps {
            do {
                _ = try await service.addWorkflowStep(tenant: tenant, runID: runID, step: step)
            } catch let error as LedgerError {
                throw ToolArgumentError(error.description)
            }
        }
        var rows = try await service.ledger.entries(tenant: tenant, queryID: runID)
        if status != "running" {
            let output = arguments.values["output"].map(JSONValue.init(mcp:)).flatMap { $0 == .null ? nil : $0 }
            rows = try await service.endWorkflowRun(
                tenant: tenant, runID: runID, status: status, output: output, reason: try arguments.string("reason")
            ).rows
        }
        let json = CascadeService.workflowRunJSON(rows)
        let text =
            "Run \(runID) of \(workflow): \(json["status"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "?")"
            + (json["billable"] == .bool(true) ? " (billable)" : "")
            + (json["check"].flatMap { if case .string(let s) = $0 { " — \(s)" } else { nil } } ?? "")
        return try CallTool.Result(content: [Self.text(text)], structuredContent: json.mcpValue)
    }

    private func usage(_ arguments: [String: Value]) async throws -> CallTool.Result {
        let arguments = try ToolArguments(arguments, allowed: ["month"])
        let zone =
            try await service.ledger.billingHistory(tenant: tenant).last?.zone ?? TimeZone(identifier: "UTC") ?? .gmt
        let current = BillingMonth.containing(service.configuration.clock.now(), in: zone)
        var month = current
        if let text = try arguments.string("month") {
            guard let chosen = try? BillingMonth(text) else { throw ToolArgumentError("\"month\" looks like 2026-11") }
            month = chosen
        }
        let statement: BillingStatement
        do {
            statement = try await BillingStatement.compute(
                ledger: service.ledger, catalog: try service.planCatalog(), tenant: tenant, month: month)
        } catch let error as BillingError {
            throw ToolArgumentError(error.description)
        }
        let report = UsageReport(usage: statement.usage, invoice: statement.invoice)
        var json = Presenter.report(report, currency: statement.invoice.currency)
        let status = try await service.spend.status(
            tenant: tenant,
            usage: SpendUsage(
                month: month.description, modelCostMicros: report.totalCostMicros, billedAmount: nil,
                billableResolutions: report.billableResolutions), current: month == current, zone: zone)
        if case .object(var members) = json {
            members["spend_cap"] = try status.map { try JSONValue.fromJSONObject($0.json) } ?? .null
            json = .object(members)
        }
        var text =
            "\(month): \(report.queries) question(s), \(report.billableResolutions) billable resolution(s), model cost "
            + "\(Money.format(Money.dollars(micros: report.totalCostMicros))), invoice so far \(Money.format(report.invoiceTotal))."
        for w in report.workflows {
            text +=
                "\nWorkflow \(w.workflow): \(w.runs) run(s) ended, \(w.succeeded) succeeded (billable), "
                + "\(w.failedCheck) failed the check, \(w.failed) failed, \(w.handedOff) handed off."
        }
        if let status {
            text +=
                "\nSpend cap \(Money.format(status.cap.amount)) (\(status.cap.mode.rawValue)): "
                + "\(Money.format(Money.dollars(micros: status.remainingMicros))) left."
        }
        return try CallTool.Result(content: [Self.text(text)], structuredContent: json.mcpValue)
    }

    private func listEscalations(_ arguments: [String: Value]) async throws -> CallTool.Result {
        _ = try ToolArguments(arguments, allowed: [])
        let open = try await service.ledger.escalationQueue(tenant: tenant)
        var text = open.isEmpty ? "No open escalations." : "\(open.count) open escalation(s), oldest first:\n"
        for item in open {
            let e = item.query
            text +=
                "- \(e.queryID) at \(JSONConvention.timestamp(e.occurredAt)): \(e.question ?? "")\n  why: \(item.why ?? "")\n"
            if let rejected = item.rejectedAnswer { text += "  rejected answer: \(rejected)\n" }
            for earlier in item.answeredBefore {
                text += "  answered before (\(earlier.queryID): \(earlier.question ?? "")): \(earlier.answer)\n"
            }
            if !item.sources.isEmpty {
                text += "  passages found: \(item.sources.map(\.source).joined(separator: ", "))\n"
            }
        }
        let structured: JSONValue = ["escalations": .array(open.map(Presenter.escalation))]
        return try CallTool.Result(content: [Self.text(text)], structuredContent: structured.mcpValue)
    }

    private func listVerdicts(_ arguments: [String: Value]) async throws -> CallTool.Result {
        let args = try ToolArguments(arguments, allowed: ["max_false_resolution", "min_verdicts", "limit"])
        let target = try args.number("max_false_resolution") ?? 0.05
        guard (0.0..<1.0).contains(target) else {
            throw ToolArgumentError("\"max_false_resolution\" must be a number in [0, 1), e.g. 0.05")
        }
        let minimum = try args.integer("min_verdicts", range: 1...1_000_000) ?? 30
        let limit = try args.integer("limit", range: 1...1000) ?? 50
        let verdicts = try await service.ledger.customerVerdicts(tenant: tenant)
        let r = VerdictThreshold.recommend(verdicts, target: target, minimumVerdicts: minimum)
        let shown = verdicts.suffix(limit)
        var text =
            "\(verdicts.count) verdict(s)" + (shown.count < verdicts.count ? ", the latest \(shown.count):\n" : ":\n")
        for v in shown {
            text +=
                "- \(v.query.queryID) \(v.verdict.outcome) (\(v.query.tier)"
                + (v.query.confidence.map { String(format: " %.2f", $0) } ?? "") + "): \(v.query.question ?? "")"
                + (v.comment.map { " — \($0)" } ?? "") + "\n"
        }
        text +=
            r.recommendedThreshold.map { String(format: "Recommended RAG threshold: %.3f (%@).", $0, r.reason) }
            ?? "No threshold recommended: \(r.reason)."
        let structured: JSONValue = [
            "verdicts": .array(shown.map(Presenter.verdict)),
            "threshold": Presenter.verdictThreshold(r, tenant: tenant),
        ]
        return try CallTool.Result(content: [Self.text(text)], structuredContent: structured.mcpValue)
    }

    static func text(_ text: String) -> Tool.Content { .text(text: text, annotations: nil, _meta: nil) }

    static func failure(_ message: String) -> CallTool.Result {
        CallTool.Result(content: [text(message)], isError: true)
    }

    // MARK: - Resources

    static let pageSize = 100

    func listResources(cursor: String?) throws -> ListResources.Result {
        let offset =
            try cursor.map { text -> Int in
                guard let value = Int(text), value >= 0, value < 10_000_000 else {
                    throw MCPError.invalidParams("invalid cursor")
                }
                return value
            } ?? 0
        guard let store = try service.runtime(for: tenant).knowledgeBase.currentStore else {
            return ListResources.Result(resources: [])
        }
        let documents = try store.documents(limit: Self.pageSize + 1, offset: offset)
        let resources = documents.prefix(Self.pageSize).map { d in
            Resource(
                name: d.source, uri: DocumentURI(source: d.source).string, title: d.title,
                description:
                    "\(d.format) document in collection \(d.collection), \(d.chunkCount) chunks, ingested \(d.ingestedAt)",
                mimeType: "text/markdown", size: d.byteSize)
        }
        return ListResources.Result(
            resources: Array(resources),
            nextCursor: documents.count > Self.pageSize ? String(offset + Self.pageSize) : nil)
    }

    /// The document (or, with `#anchor`, its section) as Markdown rebuilt from its chunks.
    func read(_ uri: String) throws -> ReadResource.Result {
        guard let parsed = DocumentURI(parsing: uri) else {
            throw MCPError.invalidParams(
                "not a document URI: resources look like \(DocumentURI.prefix)<source>[#anchor]")
        }
        let store = try service.runtime(for: tenant).knowledgeBase.currentStore
        var chunks = try store?.chunks(source: parsed.source) ?? []
        guard !chunks.isEmpty else {
            throw MCPError.invalidParams("no document \(parsed.source.prefix(200)) in this knowledge base")
        }
        if let anchor = parsed.anchor {
            chunks = chunks.filter { $0.anchor == anchor }
            guard !chunks.isEmpty else {
                throw MCPError.invalidParams(
                    "document \(parsed.source.prefix(200)) has no section #\(anchor.prefix(100))")
            }
        }
        var text = "# \(chunks[0].title)\n\nsource: \(parsed.source)\n"
        var heading: String?
        for chunk in chunks {
            if chunk.heading != heading {
                heading = chunk.heading
                if !chunk.heading.isEmpty { text += "\n## \(chunk.heading)\n" }
            }
            text += "\n\(chunk.text)\n"
        }
        return ReadResource.Result(contents: [.text(text, uri: uri, mimeType: "text/markdown")])
    }
}

/// A tool argument the caller must fix.
struct ToolArgumentError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// A tool's arguments, checked like an API body: unknown names and wrong types are refused.
struct ToolArguments {
    let values: [String: Value]

    init(_ values: [String: Value], allowed: Set<String>) throws {
        let unknown = Set(values.keys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw ToolArgumentError(
                "unknown argument(s) \(unknown.sorted().map { String($0.prefix(60)) }.joined(separator: ", ")); "
                    + (allowed.isEmpty
                        ? "this tool takes none" : "accepted: \(allowed.sorted().joined(separator: ", "))"))
        }
        self.values = values
    }

    func string(_ name: String, required: Bool = false) throws -> String? {
        switch values[name] {
        case .none, .some(.null):
            if required { throw ToolArgumentError("\"\(name)\" is required") }
            return nil
        case .some(.string(let text)): return text
        default: throw ToolArgumentError("\"\(name)\" must be a string")
        }
    }

    func bool(_ name: String) throws -> Bool? {
        switch values[name] {
        case .none, .some(.null): return nil
        case .some(.bool(let value)): return value
        default: throw ToolArgumentError("\"\(name)\" must be true or false")
        }
    }

    func int(_ name: String) throws -> Int? {
        switch values[name] {
        case .none, .some(.null): return nil
        case .some(.int(let value)): return value
        case .some(.double(let value)) where value == value.rounded() && abs(value) < 1e9: return Int(value)
        default: throw ToolArgumentError("\"\(name)\" must be an integer")
        }
    }

    func number(_ name: String) throws -> Double? {
        switch values[name] {
        case .none, .some(.null): return nil
        case .some(.int(let value)): return Double(value)
        case .some(.double(let value)) where value.isFinite: return value
        default: throw ToolArgumentError("\"\(name)\" must be a number")
        }
    }

    func integer(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value = try int(name) else { return nil }
        guard range.contains(value) else {
            throw ToolArgumentError("\"\(name)\" must be in \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }
}

extension JSONValue {
    /// An MCP value as JSON (binary data as its data URL text).
    init(mcp value: MCP.Value) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(Int64(i))
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .data(let mimeType, let data):
            self = .string("data:\(mimeType ?? "application/octet-stream");base64,\(data.base64EncodedString())")
        case .array(let items): self = .array(items.map(JSONValue.init(mcp:)))
        case .object(let members): self = .object(members.mapValues(JSONValue.init(mcp:)))
        }
    }

    /// The same JSON as an MCP value.
    var mcpValue: MCP.Value {
        switch self {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(Int(i))
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(\.mcpValue))
        case .object(let members): .object(members.mapValues(\.mcpValue))
        }
    }
}
