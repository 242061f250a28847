import ArgumentParser
import Cascade
import Foundation
import Metering

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Read and check the metering ledger.",
        subcommands: [Show.self, Verify.self, Checkpoint.self, Keygen.self, Reopen.self, Void.self, Feedback.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ledger rows (queries, attempts, corrections).")

        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Option(help: "Only this tenant.") var tenant: String?
        @Option(help: "Only events from this day on (YYYY-MM-DD, UTC).") var since: String?
        @Flag(help: "Print one JSON object per row.") var json = false

        func run() async throws {
            try await runReportingErrors {
                var sinceDate: Date?
                if let since {
                    let formatter = DateFormatter()
                    formatter.dateFormat = "yyyy-MM-dd"
                    formatter.timeZone = TimeZone(identifier: "UTC")
                    guard let date = formatter.date(from: since) else {
                        throw ValidationError("--since must be a date like 2026-11-01")
                    }
                    sinceDate = date
                }
                let tenant = self.tenant
                let since = sinceDate
                let entries = try await databaseOption.withLedger(ledgerOption) { ledger in
                    try await ledger.entries(tenant: tenant, since: since)
                }
                if json {
                    for entry in entries { try Terminal.printJSON(entry) }
                    return
                }
                let formatter = ISO8601DateFormatter()
                for e in entries {
                    let confidence = e.confidence.map { String(format: "%.2f", $0) } ?? "-"
                    print(
                        "\(e.sequence)\t\(formatter.string(from: e.occurredAt))\t\(e.tenant)\t\(e.queryID)\t\(e.kind.rawValue)\t\(e.tier)\t\(e.outcome)\t\(confidence)\t\(e.costMicros)µ$"
                    )
                }
                if entries.isEmpty { print("no ledger rows\(tenant.map { " for \($0)" } ?? "")") }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the ledger's hash chains; exit 1 and name the first broken or missing row.",
            discussion: """
                Checks SQLite's integrity, the hash chain of ledger rows, the chains of billing changes and final \
                invoices, and every checkpoint stored in the file. With --checkpoint (a file kept outside the \
                ledger: `cascade ledger checkpoint --out`, or a final invoice's JSON), also finds truncation, \
                rollback to an older copy and any rewrite of the rows the checkpoint vouches for.
                """)

        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Option(
            help: ArgumentHelp("A checkpoint file (or a final invoice's JSON) to check against.", valueName: "file"))
        var checkpoint: String?
        @Option(
            help: ArgumentHelp(
                "The public key the checkpoint must be signed with (base64, or the .pub file). Without it any valid signature is accepted.",
                valueName: "key"))
        var publicKey: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if publicKey != nil && checkpoint == nil { throw ValidationError("--public-key needs --checkpoint") }
        }

        func run() async throws {
            var ok = true
            try await runReportingErrors {
                if databaseOption.database == nil && !FileManager.default.fileExists(atPath: ledgerOption.ledger) {
                    throw LedgerError.cannotOpen(path: ledgerOption.ledger, reason: "no such file")
                }
                let anchor = try checkpoint.map { try Metering.Checkpoint.read(path: $0) }
                let trusted = try publicKey.map { try CheckpointSigningKey.publicKey($0) }
                let result = try await databaseOption.withLedger(ledgerOption) { ledger in
                    try await ledger.verify(against: anchor, trustedPublicKey: trusted)
                }
                ok = result.ok
                if json {
                    try Terminal.printJSON(result)
                } else if result.ok {
                    let chains =
                        databaseOption.database == nil ? "hash chains intact" : "every tenant's hash chain intact"
                    var line =
                        "ledger OK: \(result.rows) rows, \(result.billingChanges) billing changes, \(result.finalInvoices) final invoices, \(result.storedCheckpoints) stored checkpoints; \(chains)"
                    if let anchor {
                        line +=
                            "; matches the checkpoint of \(Metering.Checkpoint.timestamp(milliseconds: anchor.createdAtMilliseconds)) (key \(anchor.keyID)\(trusted == nil ? ", not pinned: pass --public-key" : ""))"
                    }
                    print(line)
                    if result.legacyHashRows > 0 {
                        print(
                            "note: \(result.legacyHashRows) rows use the legacy hash scheme 1; a checkpoint anchors them"
                        )
                    }
                } else {
                    let place = [
                        result.table.map { "in \($0)" }, result.tenant.map { "of \($0)" },
                        result.firstBrokenSequence.map { "at row \($0)" },
                    ].compactMap { $0 }.joined(separator: " ")
                    print("ledger BROKEN\(place.isEmpty ? "" : " " + place): \(result.problem ?? "")")
                }
            }
            if !ok { throw ExitStatus.partialFailure }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign the ledger's current heads (Ed25519) and print the checkpoint; keep it outside the ledger.",
            discussion: """
                The checkpoint is also stored in the ledger (file or database). It pins (sequence, head hash) of the ledger rows, \
                the billing changes and the final invoices at this moment: `cascade ledger verify --checkpoint FILE \
                --public-key KEY.pub` later proves those rows were neither removed, rolled back nor rewritten. It \
                proves nothing about rows written after it, nor against whoever holds the signing key.
                """)

        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @OptionGroup var signingKey: SigningKeyOption
        @Option(
            help:
                "With --database (one chain per tenant): pin only this tenant's chain. Default: every tenant's.")
        var tenant: String?
        @Option(
            help: ArgumentHelp("Also write the checkpoint to this file (refuses to replace one).", valueName: "file"))
        var out: String?
        @Flag(help: "Print JSON (the checkpoint itself).") var json = false

        func validate() throws {
            try TenantNameValidation.check(tenant)
            if tenant != nil && databaseOption.database == nil {
                throw ValidationError(
                    "--tenant needs --database: the SQLite ledger keeps one chain for all tenants, so its checkpoint covers them all"
                )
            }
        }

        func run() async throws {
            try await runReportingErrors {
                if let out {
                    try OutputFile.checkWritable(out, replace: false)
                }
                let key = try signingKey.load(data: ledgerOption.data)
                let tenant = self.tenant
                let checkpoint = try await databaseOption.withLedger(ledgerOption) { ledger in
                    try await ledger.checkpoint(signingKey: key, tenant: tenant, now: CommandClock.now())
                }
                let body = try JSONConvention.encoder().encode(checkpoint)
                if let out {
                    guard FileManager.default.createFile(atPath: out, contents: body + Data("\n".utf8)) else {
                        throw CommandError("cannot write \(out)")
                    }
                }
                if json {
                    try Terminal.printJSON(checkpoint)
                } else {
                    print(
                        "checkpoint signed by key \(checkpoint.keyID): \(checkpoint.ledger.map { "ledger row \($0.sequence)" } ?? "the chains of \(checkpoint.tenantLedgers?.count ?? 0) tenant(s)"), \(checkpoint.billing.sequence) billing changes, \(checkpoint.finalInvoices.sequence) final invoices\(out.map { "; written to \($0)" } ?? "")"
                    )
                }
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an Ed25519 key for signing checkpoints (FILE, and FILE.pub with the public key).")

        @Option(help: ArgumentHelp("Where to write the key; never replaces a file.", valueName: "file"))
        var out: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                try OutputFile.checkWritable(out, replace: false)
                let key = CheckpointSigningKey.generate()
                try key.write(to: out)
                if json {
                    struct Output: Encodable {
                        var path: String
                        var publicKeyPath: String
                        var keyID: String
                        var publicKey: String
                        enum CodingKeys: String, CodingKey {
                            case path
                            case publicKeyPath = "public_key_path"
                            case keyID = "key_id"
                            case publicKey = "public_key"
                        }
                    }
                    try Terminal.printJSON(
                        Output(path: out, publicKeyPath: out + ".pub", keyID: key.keyID, publicKey: key.publicKeyBase64)
                    )
                } else {
                    print(
                        "wrote \(out) (private: keep it off the ledger's machine if you can) and \(out).pub; key id \(key.keyID)"
                    )
                }
            }
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Record that a resolved question was reopened (voided if within the tenant's window, 72 h by default).")
        @Argument(help: "The query id.") var queryID: String
        @Option(help: "Tenant (needed when several tenants used the same query id).") var tenant: String?
        @Option(help: "Why, for the record.") var reason: String?
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print the appended row as JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let (tenant, queryID, reason) = (self.tenant, self.queryID, self.reason)
                let row = try await databaseOption.withLedger(ledgerOption) { ledger in
                    try await ledger.correct(
                        tenant: tenant, queryID: queryID, outcome: "reopened", answer: nil, note: reason,
                        now: CommandClock.now())
                }
                if json {
                    try Terminal.printJSON(row)
                } else {
                    print("reopened \(queryID) (ledger row \(row.sequence))")
                }
            }
        }
    }

    /// The customer's verdict, when it reached support another way than the widget (an email, a
    /// call): the same rules as `POST /v1/queries/{id}/feedback`.
    struct Feedback: AsyncParsableCommand {
        enum Verdict: String, EnumerableFlag {
            case helpful, notHelpful
        }

        static let configuration = CommandConfiguration(
            abstract:
                "Record the customer's verdict on a resolution: --helpful (confirmed) or --not-helpful (never billed; escalated to a person).",
            discussion: """
                Once per query: the same verdict again prints the recorded row; the other verdict is refused.
                """)
        @Argument(help: "The query id.") var queryID: String
        @Flag(exclusivity: .exclusive, help: "Whether the answer helped.") var verdict: Verdict
        @Option(help: "The customer's words, kept in the ledger.") var comment: String?
        @Option(help: "Tenant (needed when several tenants used the same query id).") var tenant: String?
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print the row as JSON.") var json = false

        func validate() throws {
            if let comment, comment.count > 2000 { throw ValidationError("--comment is at most 2,000 characters") }
        }

        func run() async throws {
            try await runReportingErrors {
                let (tenant, queryID, comment) = (self.tenant, self.queryID, self.comment)
                let wanted: Ledger.Verdict = verdict == .helpful ? .helpful : .notHelpful
                let (row, replayed) = try await databaseOption.withLedger(ledgerOption) { ledger in
                    let rows = try await ledger.entries(tenant: tenant, queryID: queryID)
                    if let recorded = rows.first(where: {
                        $0.kind == .correction && Ledger.Verdict(outcome: $0.outcome) != nil
                    }), recorded.outcome == wanted.outcome {
                        return (recorded, true)
                    }
                    let row = try await ledger.correct(
                        tenant: tenant, queryID: queryID, outcome: wanted.outcome, answer: nil,
                        note: comment.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 },
                        now: CommandClock.now())
                    return (row, false)
                }
                if json {
                    try Terminal.printJSON(row)
                } else {
                    let what =
                        wanted == .helpful
                        ? "confirmed" : "rejected by the customer (not billed; now in the escalation queue)"
                    print("\(queryID) \(what)\(replayed ? ", as already recorded" : "") (ledger row \(row.sequence))")
                }
            }
        }
    }

    struct Void: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Void a resolution: it is never billable (the reason is kept in the ledger).")
        @Argument(help: "The query id.") var queryID: String
        @Option(help: "Tenant (needed when several tenants used the same query id).") var tenant: String?
        @Option(help: "Why it is voided.") var reason: String
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print the appended row as JSON.") var json = false

        func validate() throws {
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why") }
        }

        func run() async throws {
            try await runReportingErrors {
                let (tenant, queryID, reason) = (self.tenant, self.queryID, self.reason)
                let row = try await databaseOption.withLedger(ledgerOption) { ledger in
                    try await ledger.correct(
                        tenant: tenant, queryID: queryID, outcome: "voided", answer: nil, note: reason,
                        now: CommandClock.now())
                }
                if json { try Terminal.printJSON(row) } else { print("voided \(queryID) (ledger row \(row.sequence))") }
            }
        }
    }
}
