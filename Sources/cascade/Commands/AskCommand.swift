import ArgumentParser
import Cascade
import Evaluation
import Foundation
import KnowledgeBase
import Metering
import Retrieval

struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Resolve a question through the cascade (rules → RAG → LLM → human) and record it in the ledger.",
        discussion: """
            With --batch, reads JSON lines {"query_id","text"} (or BEIR {"_id","text"}; optional conversation_id, \
            user_id, occurred_at) and prints one JSON line per input line. A query id already in the ledger \
            returns the recorded outcome and writes nothing.
            """
    )

    @Argument(help: "The question (omit with --batch).")
    var question: String?

    @Option(help: "The tenant asking.")
    var tenant: String

    @Option(help: "Conversation id, to link follow-up questions.")
    var conversation: String?

    @Option(help: "Idempotency key: a retry with the same id returns the recorded outcome.")
    var queryID: String?

    @Option(help: "JSONL file of questions to resolve.")
    var batch: String?

    @OptionGroup var store: KnowledgeBaseOption
    @OptionGroup var ledgerOption: LedgerOption
    @OptionGroup var databaseOption: DatabaseOption

    @Option(help: "Rules file (YAML). Default: the tenant's (`rules:` in <data>/tenants/<tenant>.yaml), else none.")
    var rules: String?

    @Option(help: "Minimum confidence to answer without a human, in [0, 1]. Default: the tenant's, else 0.6.")
    var threshold: Double?

    @Option(help: "Folder of per-tenant settings (<tenant>.yaml: rules, threshold, llm). Default: <data>/tenants.")
    var tenantsDir: String?

    /// The knowledge base: --kb, else the tenant's own under <data>.
    var kbPath: String { (try? store.path(tenant: tenant, data: ledgerOption.data)) ?? "" }

    @Flag(
        name: .customLong("no-kb"),
        help: "The tenant has no knowledge base: skip the RAG tier (else a missing --kb is an error).")
    var noKB = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard (question == nil) != (batch == nil) else {
            throw ValidationError("give either a question or --batch FILE")
        }
        if let threshold, !(0...1).contains(threshold) {
            throw ValidationError("--threshold must be between 0 and 1")
        }
        try TenantNameValidation.check(tenant)
    }

    func run() async throws {
        var failures = 0
        try await runReportingErrors {
            guard databaseOption.database != nil else {
                failures = try await answer(with: try await makeResolver())
                return
            }
            if store.explicitPath != nil || noKB {
                throw ValidationError("--database uses the tenant's shared knowledge base: leave out --kb and --no-kb")
            }
            failures = try await databaseOption.withShared(ledger: ledgerOption.explicitPath) { ledger, log in
                // The tenant's knowledge base is the shared log; <data> keeps this machine's copy.
                let path = try ledgerOption.data.knowledgeBasePath(tenant: tenant)
                var retriever: Retriever?
                if try await !log.entries(tenant: tenant, after: 0, limit: 1).isEmpty {
                    try FileManager.default.createDirectory(
                        atPath: try ledgerOption.data.tenantDirectory(tenant), withIntermediateDirectories: true)
                    let copy = try KnowledgeBaseStore(path: path)
                    try await copy.replay(log, tenant: tenant)
                    retriever = try Retriever(store: copy)
                } else {
                    Terminal.note(
                        "note: \(tenant) has no documents in the shared knowledge base: the RAG tier is skipped")
                }
                // This machine's copy is replayed from the shared log, so it may be written.
                let calibration = try await retriever.asyncMap {
                    try await SelfCalibration.current(retriever: $0, write: true)
                }
                return try await answer(
                    with: try Resolver.forTenant(
                        tenant, settingsDirectory: tenantsDir ?? ledgerOption.data.tenantsDirectory,
                        retriever: retriever, ledger: ledger, rulesPath: rules, threshold: threshold,
                        calibration: calibration ?? nil))
            }
        }
        if failures > 0 { throw ExitStatus.partialFailure }
    }

    /// Answers the question (or the batch) with `resolver`; returns the batch's failures.
    func answer(with resolver: Resolver) async throws -> Int {
        for warning in resolver.warnings { Terminal.note("warning: \(warning)") }
        var resolver = resolver
        resolver.clock = try CommandClock.clock()
        if let question {
            let resolution = try await resolver.resolve(
                Question(
                    queryID: queryID ?? UUID().uuidString.lowercased(), tenant: tenant, conversationID: conversation,
                    text: question, occurredAt: resolver.clock.now()))
            if json { try Terminal.printJSON(resolution) } else { printHuman(resolution) }
            return 0
        }
        return try await runBatch(resolver)
    }

    /// The same resolver `cascade serve` builds for the tenant (its settings, rules and threshold),
    /// with --rules and --threshold overriding them.
    func makeResolver() async throws -> Resolver {
        var retriever: Retriever?
        if noKB {
            return try Resolver.forTenant(
                tenant, settingsDirectory: tenantsDir ?? ledgerOption.data.tenantsDirectory, retriever: nil,
                ledger: try Ledger(path: ledgerOption.ledger), rulesPath: rules, threshold: threshold)
        }
        if store.explicitPath != nil, !FileManager.default.fileExists(atPath: kbPath) {
            // A mistyped --kb must not quietly send every question to a human.
            throw StoreError.cannotOpen(
                path: kbPath, reason: "no such file; check --kb (leave it out to use the tenant's)")
        }
        var calibration: KnowledgeBaseCalibration?
        if FileManager.default.fileExists(atPath: kbPath) {
            let opened = try Retriever(store: try KnowledgeBaseStore(existingAt: kbPath))
            retriever = opened
            // Stored by ingest; a knowledge base ingested before it existed is calibrated in
            // memory (a question never writes the knowledge base).
            calibration = try SelfCalibration.cached(in: opened.store)
            if calibration == nil {
                calibration = try await SelfCalibration.current(retriever: opened, write: false)
                if calibration != nil {
                    Terminal.note(
                        "note: the label-free calibration of \(kbPath) is not stored: run `cascade self-calibrate --kb \(kbPath)` once to skip this step"
                    )
                }
            }
        } else {
            Terminal.note("note: no knowledge base at \(kbPath): the RAG tier is skipped")
        }
        return try Resolver.forTenant(
            tenant, settingsDirectory: tenantsDir ?? ledgerOption.data.tenantsDirectory, retriever: retriever,
            ledger: try Ledger(path: ledgerOption.ledger), rulesPath: rules, threshold: threshold,
            calibration: calibration)
    }

    /// Resolves every line; bad lines are reported on their own output line and counted.
    func runBatch(_ resolver: Resolver) async throws -> Int {
        guard let data = FileManager.default.contents(atPath: batch ?? "") else {
            throw CommandError("cannot read batch file \(batch ?? "")")
        }
        let lines = BatchLine.lines(of: data)
        // Drawn only when the answers go elsewhere than the terminal the bar is drawn on.
        let bar = ProgressBar(enabled: Terminal.stderrIsTTY && !Terminal.stdoutIsTTY)
        var failures = 0
        for (position, (number, raw)) in lines.enumerated() {
            bar.update(done: position, total: lines.count, detail: "questions")
            do {
                let question = try BatchLine.parse(
                    raw, number: number, tenant: tenant, conversation: conversation, now: resolver.clock.now())
                let resolution = try await resolver.resolve(question)
                if json { try Terminal.printJSON(resolution) } else { printHuman(resolution) }
            } catch {
                failures += 1
                let message = String(describing: error)
                if json {
                    struct LineError: Encodable {
                        var line: Int
                        var error: String
                    }
                    try Terminal.printJSON(LineError(line: number, error: message))
                } else {
                    Terminal.error(message.hasPrefix("line ") ? message : "line \(number): \(message)")
                }
            }
        }
        bar.finish()
        return failures
    }

    func printHuman(_ r: Resolution) {
        print("[\(r.tier)] \(r.answer)")
        for c in r.citations { print("  source: \(c.source)\(c.heading.isEmpty ? "" : " (\(c.heading))")") }
        let confidence = r.confidence.map { String(format: "%.2f", $0) } ?? "n/a"
        print(
            "  query \(r.queryID) · confidence \(confidence) · cost \(r.costMicros) µ$\(r.replayed ? " · replayed from the ledger" : "")"
        )
        for a in r.attempts {
            print("    \(a.tier): \(a.outcome)\(a.note.map { " (\($0))" } ?? "")")
        }
    }
}

extension Optional {
    /// `map` for an asynchronous transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
