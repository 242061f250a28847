import ArgumentParser
import Cascade
import Foundation
import Metering
import Server

/// What every billing command needs: the ledger, the plan catalog, and the tenant's month.
struct BillingOptions: ParsableArguments {
    @OptionGroup var ledgerOption: LedgerOption

    @Option(help: "Plan catalog (YAML). Default: <data>/plans.yaml when present, else the built-in plans.")
    var plans: String?

    @Option(help: "Tenant.")
    var tenant: String

    @OptionGroup var databaseOption: DatabaseOption

    /// Runs `body` with the ledger (`--database`, else the SQLite file, which must exist) and the
    /// plan catalog.
    func withLedger<Result: Sendable>(
        _ body: @Sendable (any LedgerStore, PlanCatalog) async throws -> Result
    ) async throws -> Result {
        let catalog = try catalog()
        if databaseOption.database == nil && !FileManager.default.fileExists(atPath: ledgerOption.ledger) {
            throw CommandError(
                "no ledger at \(ledgerOption.ledger); answer questions with `cascade ask` first, or pass --ledger or --database"
            )
        }
        return try await databaseOption.withLedger(ledgerOption) { ledger in try await body(ledger, catalog) }
    }

    /// --plans, else <data>/plans.yaml when it exists (what `cascade serve` uses), else the built-in plans.
    func catalog() throws -> PlanCatalog {
        try PlanCatalog.load(path: plans ?? ledgerOption.data.plansPath)
    }

    /// The tenant's time zone (its latest setting), UTC before it has one.
    func timeZone(_ ledger: any LedgerStore) async throws -> TimeZone {
        try await ledger.billingHistory(tenant: tenant).last?.zone ?? TimeZone(identifier: "UTC")!
    }

    /// Usage and invoice of `month`, on the tenant's plan or on `override`.
    func compute(
        ledger: any LedgerStore, catalog: PlanCatalog, month: BillingMonth,
        override: (plan: String, billing: BillingMode)? = nil
    ) async throws -> (MonthlyUsage, Invoice, TenantBilling) {
        let statement = try await BillingStatement.compute(
            ledger: ledger, catalog: catalog, tenant: tenant, month: month, override: override)
        return (statement.usage, statement.invoice, statement.setting)
    }
}

func printInvoice(_ invoice: Invoice) {
    if invoice.status == BillingStatement.noPlanStatus {
        print(
            "No invoice: tenant \(invoice.tenant) has no plan in \(invoice.month) (`cascade tenants set \(invoice.tenant) --plan PLAN`)"
        )
        return
    }
    print(
        "Invoice \(invoice.status): tenant \(invoice.tenant), \(invoice.month), plan \(invoice.plan), \(invoice.billing.rawValue) billing"
    )
    for line in invoice.lines {
        var exact = line.quantity
        var shown = Decimal()
        NSDecimalRound(&shown, &exact, 4, .plain)
        let quantity = NSDecimalNumber(decimal: shown).stringValue
        print(
            "  \(line.description.padding(toLength: 58, withPad: " ", startingAt: 0)) \(quantity.padding(toLength: 10, withPad: " ", startingAt: 0)) × \(NSDecimalNumber(decimal: line.unitPrice).stringValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(Money.format(line.amount))"
        )
    }
    print("  \("Total".padding(toLength: 83, withPad: " ", startingAt: 0)) \(Money.format(invoice.total))")
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Resolutions by tier, resolution rate, cost per resolution, cost attribution and margin per month.",
        discussion: "Months are cut in the tenant's time zone (cascade tenants set --timezone)."
    )

    @OptionGroup var options: BillingOptions

    @Option(help: "One month, YYYY-MM. Default: the current month.")
    var month: String?

    @Option(help: "A range for the trend, YYYY-MM..YYYY-MM.")
    var months: String?

    @Flag(help: "Print as JSON.") var json = false
    @Flag(help: "Print as CSV (one row per month and tier).") var csv = false
    @Option(help: "Write a self-contained HTML page with charts to this file.") var html: String?

    func validate() throws {
        if month != nil && months != nil { throw ValidationError("use --month or --months, not both") }
        if json && csv { throw ValidationError("use --json or --csv, not both") }
    }

    func run() async throws {
        try await runReportingErrors {
            if let html { try OutputFile.checkWritable(html, replace: true) }
            let statements = try await options.withLedger { ledger, catalog in
                let zone = try await options.timeZone(ledger)
                let range =
                    try months.map { try BillingMonth.range($0) } ?? [
                        try month.map { try BillingMonth($0) } ?? BillingMonth.containing(CommandClock.now(), in: zone)
                    ]
                var statements: [BillingStatement] = []
                for m in range {
                    statements.append(
                        try await BillingStatement.compute(
                            ledger: ledger, catalog: catalog, tenant: options.tenant, month: m))
                }
                return statements
            }
            let reports = statements.map { UsageReport(usage: $0.usage, invoice: $0.invoice) }
            if let html {
                try ReportHTML.page(tenant: options.tenant, statements: statements, today: CommandClock.now())
                    .write(toFile: html, atomically: true, encoding: .utf8)
            }
            if json {
                for r in reports { try Terminal.printJSON(r) }  // one object per month (JSON Lines for a range)
            } else if csv {
                print(
                    "tenant,month,tier,resolutions,resolution_share,cost_usd,cost_share,billed_usd,margin_usd,queries,billable_resolutions,resolution_rate,blended_cost_per_resolution_usd"
                )
                for r in reports {
                    // A month without resolutions or cost keeps its row (tier "none"), so the months line up.
                    let tiers =
                        r.tiers.isEmpty
                        ? [
                            UsageReport.TierLine(
                                tier: "none", resolutions: 0, costMicros: 0, resolutionShare: 0, costShare: 0,
                                billed: 0, margin: 0)
                        ] : r.tiers
                    for t in tiers {
                        print(
                            [
                                r.tenant, r.month, t.tier, "\(t.resolutions)",
                                String(format: "%.4f", t.resolutionShare),
                                "\(Money.dollars(micros: t.costMicros))", String(format: "%.4f", t.costShare),
                                "\(t.billed)", "\(t.margin)",
                                "\(r.queries)", "\(r.billableResolutions)",
                                r.resolutionRate.map { String(format: "%.4f", $0) } ?? "",
                                r.blendedCostPerResolution.map { "\($0)" } ?? "",
                            ].joined(separator: ","))
                    }
                }
            } else {
                var previous: UsageReport?
                for r in reports {
                    printText(r)
                    if let p = previous { printTrend(from: p, to: r) }
                    previous = r
                }
                if let html { print("HTML report written to \(html)") }
            }
        }
    }

    /// Month-over-month change, printed under each month of a --months range.
    func printTrend(from p: UsageReport, to r: UsageReport) {
        var line = String(
            format: "  trend vs %@: billable resolutions %+d", p.month, r.billableResolutions - p.billableResolutions)
        if let before = p.resolutionRate, let after = r.resolutionRate {
            line += String(format: ", resolution rate %+.1f points", (after - before) * 100)
        }
        if let a = p.blendedCostPerResolution, let b = r.blendedCostPerResolution, a > 0 {
            let change = NSDecimalNumber(decimal: (b - a) / a * 100).doubleValue
            line += String(format: ", cost per resolution %+.1f%%", change)
        }
        print(line)
    }

    func printText(_ r: UsageReport) {
        func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        print("Report \(r.tenant) \(r.month)")
        guard r.queries > 0 else {
            print("  no questions this month\(r.invoiceTotal > 0 ? "; invoice \(Money.format(r.invoiceTotal))" : "")")
            return
        }
        print(
            "  queries \(r.queries), resolutions \(r.resolutions) (rate \(r.resolutionRate.map(pct) ?? "n/a: only junk")), billable \(r.billableResolutions), flagged \(r.flaggedResolutions)"
        )
        print(
            "  escalated \(r.escalated), rejected \(r.rejected), duplicates \(r.duplicates), reopened \(r.reopened), voided \(r.voided)"
        )
        let blended =
            r.blendedCostPerResolution.map { String(format: "$%.6f", NSDecimalNumber(decimal: $0).doubleValue) } ?? "-"
        print(
            "  model cost \(Money.format(Money.dollars(micros: r.totalCostMicros))) (\(r.totalCostMicros) µ$), blended cost per billable resolution \(blended), invoice \(Money.format(r.invoiceTotal))"
        )
        print("  tier       resolutions  share   cost µ$   cost share  billed      margin")
        for t in r.tiers {
            print(
                "  \(t.tier.padding(toLength: 10, withPad: " ", startingAt: 0)) \(String(t.resolutions).padding(toLength: 12, withPad: " ", startingAt: 0)) \(pct(t.resolutionShare).padding(toLength: 7, withPad: " ", startingAt: 0)) \(String(t.costMicros).padding(toLength: 9, withPad: " ", startingAt: 0)) \(pct(t.costShare).padding(toLength: 11, withPad: " ", startingAt: 0)) \(Money.format(t.billed).padding(toLength: 11, withPad: " ", startingAt: 0)) \(Money.format(t.margin))"
            )
        }
        for finding in r.findings { print("  flagged: \(finding)") }
        if !r.workflows.isEmpty {
            print("  workflow runs (billed when they end):")
            for w in r.workflows {
                print(
                    "  \(w.workflow): \(w.runs) ended, \(w.succeeded) succeeded (billable), \(w.failedCheck) failed the output check, \(w.failed) failed, \(w.handedOff) handed off; steps cost \(Money.format(Money.dollars(micros: w.costMicros)))"
                )
            }
            print("  workflow charge: \(Money.format(r.workflowCharge))")
        }
    }
}

struct InvoiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice",
        abstract: "The month's invoice (a preview while the month is open): line items with the query ids behind them.",
        discussion: "Each line is rounded half-to-even to cents once; the total is the sum of the rounded lines."
    )

    @OptionGroup var options: BillingOptions
    @Option(help: "Month, YYYY-MM. Default: the current month.") var month: String?
    @Flag(
        help:
            "Make a closed month's invoice final: stored, never changed; running it again returns it. It carries the ledger head and a signed checkpoint."
    )
    var finalize = false
    @OptionGroup var signingKey: SigningKeyOption
    @Flag(help: "Print as JSON (each line lists its query_ids).") var json = false

    func run() async throws {
        try await runReportingErrors {
            let invoice = try await options.withLedger { ledger, catalog in
                let zone = try await options.timeZone(ledger)
                let chosen =
                    try month.map { try BillingMonth($0) } ?? BillingMonth.containing(CommandClock.now(), in: zone)
                let sequence = try await ledger.billingSequence(tenant: options.tenant)
                var (_, invoice, setting) = try await options.compute(ledger: ledger, catalog: catalog, month: chosen)
                guard finalize && invoice.status != "final" else { return invoice }
                let (start, end) = chosen.interval(in: setting.zone)
                guard try end <= CommandClock.now() else {
                    throw CommandError(
                        "\(chosen) is not over yet in \(setting.timeZone): only a closed month's invoice can be finalized"
                    )
                }
                guard invoice.status != BillingStatement.noPlanStatus else {
                    throw CommandError(
                        setting.effectiveMonth.isEmpty
                            ? "\(options.tenant) has no plan yet (`cascade tenants set \(options.tenant) --plan PLAN`): there is nothing to finalize"
                            : "\(options.tenant) had no plan in \(chosen) (its first plan starts in \(setting.effectiveMonth)): there is nothing to finalize"
                    )
                }
                let key = try signingKey.load(data: options.ledgerOption.data)
                invoice = try await ledger.finalize(
                    invoice, computedAt: (sequence, start, end), signingKey: key, now: CommandClock.now())
                return invoice
            }
            if json { try Terminal.printJSON(invoice) } else { printInvoice(invoice) }
        }
    }
}

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "What the same month's usage would cost on another plan or billing mode."
    )

    @OptionGroup var options: BillingOptions
    @Option(help: "Month, YYYY-MM. Default: the current month.") var month: String?
    @Option(help: "Plan to price the usage on.") var plan: String
    @Option(help: "Billing mode: token, resolution or both.") var billing: String
    @Flag(help: "Print as JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            guard let mode = BillingMode(rawValue: billing) else {
                throw ValidationError("--billing must be token, resolution or both")
            }
            var (actual, simulated) = try await options.withLedger { ledger, catalog in
                guard let target = catalog.plan(plan) else {
                    throw BillingError.unknownPlan(plan, known: catalog.plans.map(\.id))
                }
                guard target.billingModes.contains(mode) else {
                    throw BillingError.modeNotOffered(plan: plan, mode: billing)
                }
                let zone = try await options.timeZone(ledger)
                let chosen =
                    try month.map { try BillingMonth($0) } ?? BillingMonth.containing(CommandClock.now(), in: zone)
                let (_, actual, _) = try await options.compute(ledger: ledger, catalog: catalog, month: chosen)
                let (_, simulated, _) = try await options.compute(
                    ledger: ledger, catalog: catalog, month: chosen, override: (target.id, mode))
                return (actual, simulated)
            }
            simulated.status = "simulation"
            if json {
                struct Output: Encodable {
                    var actual: Invoice
                    var simulated: Invoice
                    var difference: String
                }
                try Terminal.printJSON(
                    Output(
                        actual: actual, simulated: simulated, difference: Money.string(simulated.total - actual.total)))
            } else {
                printInvoice(simulated)
                print(
                    "Current plan (\(actual.plan), \(actual.billing.rawValue)): \(Money.format(actual.total)); difference \(Money.format(simulated.total - actual.total))"
                )
            }
        }
    }
}

struct PlansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plans", abstract: "The plan catalog.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the plans and their prices.")
        @Option(help: "Plan catalog (YAML). Default: <data>/plans.yaml when present, else the built-in plans.")
        var plans: String?
        @OptionGroup var dataOption: DataOption
        @Flag(help: "Print as JSON.") var json = false

        /// One plan as JSON: money as decimal strings, every field written (null when absent).
        struct Row: Encodable {
            var plan: Plan

            enum CodingKeys: String, CodingKey {
                case id, name, base_fee, token_margin, included_resolutions, resolution_tiers, minimum, cap, billing,
                    negotiated
            }
            struct Tier: Encodable {
                var upTo: Int?
                var price: Decimal
                enum CodingKeys: String, CodingKey { case up_to, price }
                func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(upTo, forKey: .up_to)
                    try c.encode(Money.string(price), forKey: .price)
                }
            }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(plan.id, forKey: .id)
                try c.encode(plan.name, forKey: .name)
                try c.encode(Money.string(plan.baseFee), forKey: .base_fee)
                try c.encode(plan.tokenMargin.map(Money.string), forKey: .token_margin)
                try c.encode(plan.includedResolutions, forKey: .included_resolutions)
                try c.encode(
                    plan.resolutionTiers.map { Tier(upTo: $0.upTo, price: $0.price) }, forKey: .resolution_tiers)
                try c.encode(plan.monthlyMinimum.map(Money.string), forKey: .minimum)
                try c.encode(plan.monthlyCap.map(Money.string), forKey: .cap)
                try c.encode(plan.billingModes.map(\.rawValue).sorted(), forKey: .billing)
                try c.encode(plan.negotiated, forKey: .negotiated)
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let catalog = try PlanCatalog.load(path: plans ?? dataOption.directory.plansPath)
                if json {
                    for plan in catalog.plans { try Terminal.printJSON(Row(plan: plan)) }  // JSON Lines
                    return
                }
                for p in catalog.plans {
                    let tiers = p.resolutionTiers.map { t in
                        "\(Money.format(t.price))\(t.upTo.map { " up to \($0)" } ?? "")"
                    }
                    .joined(separator: ", then ")
                    print(
                        "\(p.id.padding(toLength: 11, withPad: " ", startingAt: 0)) \(Money.format(p.baseFee))/month"
                            + (p.tokenMargin.map { ", tokens at cost × \($0)" } ?? "")
                            + (tiers.isEmpty ? "" : ", resolutions \(tiers)")
                            + (p.includedResolutions > 0 ? " (\(p.includedResolutions) included)" : "")
                            + (p.monthlyMinimum.map { ", minimum \(Money.format($0))" } ?? "")
                            + (p.monthlyCap.map { ", cap \(Money.format($0))" } ?? "")
                            + (p.negotiated ? " — negotiated terms" : ""))
                }
            }
        }
    }
}

struct TenantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants", abstract: "Tenants of the service, their plans and billing.",
        subcommands: [Create.self, List.self, Set.self, Show.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant (its knowledge base, ledger rows and keys are its own); optionally set its plan."
        )
        @Argument(help: "Tenant name: letters, digits, '-', '_' and '.'.") var tenant: String
        @Option(help: "Plan id (see `cascade plans list`).") var plan: String?
        @Option(help: "token, resolution or both.") var billing: String = "resolution"
        @Option(help: "IANA time zone months are cut in.") var timezone: String = "UTC"
        @Option(help: "Plan catalog (YAML).") var plans: String?
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print as JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let mode = BillingMode(rawValue: billing)
                guard let mode else { throw ValidationError("--billing must be token, resolution or both") }
                let catalog = try PlanCatalog.load(path: plans ?? ledgerOption.data.plansPath)
                let chosen = try plan.map { id in
                    guard let found = catalog.plan(id) else {
                        throw BillingError.unknownPlan(id, known: catalog.plans.map(\.id))
                    }
                    return found
                }
                guard TimeZone(identifier: timezone) != nil else {
                    throw ValidationError("--timezone: unknown time zone \(timezone) (e.g. Europe/Berlin, UTC)")
                }
                let (created, setting) = try await databaseOption.withControlAndLedger(
                    ledgerOption, createControl: true, createLedger: true
                ) { control, ledger -> (Tenant, TenantBilling?) in
                    let created = try await control!.createTenant(tenant, now: CommandClock.now())
                    guard let chosen else { return (created, nil) }
                    return (
                        created,
                        try await ledger.setBilling(
                            tenant: tenant, plan: chosen, billing: mode, timeZone: timezone, reopenWindowHours: 72,
                            immediately: false, now: CommandClock.now())
                    )
                }
                if json {
                    try Terminal.printJSON(
                        TenantLine(
                            tenant: created.id, created_at: ISO8601DateFormatter().string(from: created.createdAt),
                            plan: setting?.plan, billing: setting?.billing.rawValue, timezone: setting?.timeZone))
                } else {
                    print(
                        "created tenant \(created.id)\(setting.map { ": plan \($0.plan), \($0.billing.rawValue) billing, \($0.timeZone)" } ?? "")"
                    )
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The service's tenants.")
        @OptionGroup var dataOption: DataOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let tenants = try await databaseOption.withControl(data: dataOption.directory, create: false) {
                    try await $0.tenants()
                }
                for tenant in tenants {
                    let created = ISO8601DateFormatter().string(from: tenant.createdAt)
                    if json {
                        try Terminal.printJSON(
                            TenantLine(tenant: tenant.id, created_at: created, plan: nil, billing: nil, timezone: nil))
                    } else {
                        print("\(tenant.id)\tcreated \(created)")
                    }
                }
            }
        }
    }

    /// One tenant as printed with --json (nulls written).
    struct TenantLine: Encodable {
        var tenant: String
        var created_at: String
        var plan: String?
        var billing: String?
        var timezone: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tenant, forKey: .tenant)
            try c.encode(created_at, forKey: .created_at)
            try c.encode(plan, forKey: .plan)
            try c.encode(billing, forKey: .billing)
            try c.encode(timezone, forKey: .timezone)
        }

        enum CodingKeys: String, CodingKey { case tenant, created_at, plan, billing, timezone }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Choose a tenant's plan, billing mode and time zone (a change applies from the next month).")
        @Argument(help: "Tenant.") var tenant: String
        @Option(help: "Plan id (see `cascade plans list`). Default: the current plan.") var plan: String?
        @Option(help: "token, resolution or both. Default: the current mode, else resolution.") var billing: String?
        @Option(help: "IANA time zone months are cut in. Default: the current one, else UTC.") var timezone: String?
        @Option(help: "Hours within which a reopened resolution is voided. Default: the current window, else 72.")
        var reopenWindow: Int?
        @Flag(help: "Change now instead of next month; this month's base fee is prorated by day.")
        var immediately = false
        @Option(
            help:
                "Cap on the month's model cost in dollars (e.g. 200), or none to remove it; applies at once (a running service reads it within seconds)."
        )
        var spendCap: String?
        @Option(help: "soft (alerts and usage show it) or hard (the LLM tier, then optionally RAG, stop at the cap).")
        var capMode: String?
        @Option(help: "What a hard cap stops: llm, or llm-and-rag (rules keep answering).") var capStops: String?
        @Option(help: "Plan catalog (YAML).") var plans: String?
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print as JSON.") var json = false

        /// Whether any billing flag was given (a cap alone leaves the billing settings alone).
        var changesBilling: Bool {
            plan != nil || billing != nil || timezone != nil || reopenWindow != nil || immediately
        }

        func run() async throws {
            try await runReportingErrors {
                let cap = try capChange()
                guard changesBilling || cap == nil else {
                    try await databaseOption.withControlAndLedger(
                        ledgerOption, createControl: false, createLedger: true
                    ) { control, ledger in
                        if let control, try await control.tenant(tenant) == nil {
                            throw ControlError.unknownTenant(tenant)
                        }
                        try await applyCap(cap, ledger: ledger)
                    }
                    return
                }
                // Only the flags given change; the rest keeps the tenant's current setting.
                try await databaseOption.withLedger(ledgerOption, create: true) { ledger in
                    try await change(ledger)
                    if cap != nil { try await applyCap(cap, ledger: ledger) }
                }
            }
        }

        /// The cap the flags ask for: nil (no cap flag), `.some(nil)` (remove), or a cap. Mode and
        /// stops not given keep the current ones (else soft, llm).
        func capChange() throws -> SpendCap?? {
            guard spendCap != nil || capMode != nil || capStops != nil else { return nil }
            if spendCap == "none" {
                guard capMode == nil, capStops == nil else {
                    throw ValidationError("--spend-cap none removes the cap; --cap-mode and --cap-stops do not apply")
                }
                return .some(nil)
            }
            if let capMode, SpendCap.Mode(rawValue: capMode) == nil {
                throw ValidationError("--cap-mode must be soft or hard")
            }
            if let capStops, SpendCap.Stops(rawValue: capStops.replacingOccurrences(of: "-", with: "_")) == nil {
                throw ValidationError("--cap-stops must be llm or llm-and-rag")
            }
            let micros: Int64? = try spendCap.map { text in
                do { return try SpendCap.parseAmount(text) } catch let error as LedgerError {
                    throw ValidationError("--spend-cap: \(error.description)")
                }
            }
            // A placeholder amount of 0 means "keep the current amount" (checked in applyCap).
            return .some(
                SpendCap(
                    capMicros: micros ?? 0, mode: capMode.flatMap(SpendCap.Mode.init(rawValue:)) ?? .soft,
                    stops: capStops.flatMap { SpendCap.Stops(rawValue: $0.replacingOccurrences(of: "-", with: "_")) }
                        ?? .llm, updatedAt: try CommandClock.now()))
        }

        func applyCap(_ change: SpendCap??, ledger: any LedgerStore) async throws {
            guard let change else { return }
            guard let store = ledger as? any SpendControlStore else {
                throw ValidationError("this ledger keeps no spend caps")
            }
            guard var cap = change else {
                try await store.setSpendCap(tenant: tenant, cap: nil)
                if json {
                    try Terminal.printJSON(["tenant": tenant, "spend_cap": nil as String?])
                } else {
                    print("\(tenant): no spend cap")
                }
                return
            }
            let current = try await store.spendCap(tenant: tenant)
            if spendCap == nil {
                guard let current else {
                    throw ValidationError("\(tenant) has no spend cap yet: give --spend-cap AMOUNT")
                }
                cap.capMicros = current.capMicros
            }
            if capMode == nil, let current { cap.mode = current.mode }
            if capStops == nil, let current { cap.stops = current.stops }
            try await store.setSpendCap(tenant: tenant, cap: cap)
            if json {
                try Terminal.printJSON(SpendCapLine(tenant: tenant, cap: cap))
            } else {
                print(
                    "\(tenant): spend cap $\(Money.string(cap.amount)) of model cost a month, \(cap.mode.rawValue)\(cap.mode == .hard ? " (stops \(cap.stops == .llm ? "the LLM tier" : "the LLM and RAG tiers"))" : "")"
                )
            }
        }

        func change(_ ledger: any LedgerStore) async throws {
            let current = try await ledger.billingHistory(tenant: tenant).last
            guard let planID = plan ?? current?.plan else {
                throw ValidationError("\(tenant) has no plan yet: give --plan")
            }
            let modeName = billing ?? current?.billing.rawValue ?? "resolution"
            guard let mode = BillingMode(rawValue: modeName) else {
                throw ValidationError("--billing must be token, resolution or both")
            }
            let window = reopenWindow ?? current?.reopenWindowHours ?? 72
            guard (1...24 * 90).contains(window) else {
                throw ValidationError("--reopen-window must be 1…2160 hours")
            }
            let catalog = try PlanCatalog.load(path: plans ?? ledgerOption.data.plansPath)
            guard let chosen = catalog.plan(planID) else {
                throw BillingError.unknownPlan(planID, known: catalog.plans.map(\.id))
            }
            let setting = try await ledger.setBilling(
                tenant: tenant, plan: chosen, billing: mode, timeZone: timezone ?? current?.timeZone ?? "UTC",
                reopenWindowHours: window, immediately: immediately, now: CommandClock.now())
            if json { try Terminal.printJSON(setting); return }
            print(
                "\(tenant): plan \(setting.plan), \(setting.billing.rawValue) billing, months in \(setting.timeZone), from \(setting.effectiveMonth)"
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A tenant's billing settings, oldest first (--json: the one in force now and the history).")
        @Argument(help: "Tenant.") var tenant: String
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print as JSON.") var json = false

        func run() async throws {
            try await runReportingErrors {
                let history = try await databaseOption.withLedger(ledgerOption) {
                    try await $0.billingHistory(tenant: tenant)
                }
                if json {
                    /// One tenant, one object: the setting in force this month and every change.
                    struct Output: Encodable {
                        var tenant: String
                        var current: TenantBilling?
                        var history: [TenantBilling]
                        func encode(to encoder: any Encoder) throws {
                            var c = encoder.container(keyedBy: CodingKeys.self)
                            try c.encode(tenant, forKey: .tenant)
                            try c.encode(current, forKey: .current)
                            try c.encode(history, forKey: .history)
                        }
                        enum CodingKeys: String, CodingKey { case tenant, current, history }
                    }
                    let zone = history.last?.zone ?? TimeZone(identifier: "UTC")!
                    let current = try TenantBilling.inForce(
                        history, month: BillingMonth.containing(CommandClock.now(), in: zone))
                    try Terminal.printJSON(Output(tenant: tenant, current: current, history: history))
                    return
                }
                if history.isEmpty { print("\(tenant) has no plan yet") }
                for s in history {
                    print(
                        "from \(s.effectiveMonth): plan \(s.plan), \(s.billing.rawValue) billing, \(s.timeZone), reopen window \(s.reopenWindowHours) h"
                    )
                }
            }
        }
    }
}

/// A tenant's spend cap as printed by `tenants set --json`.
struct SpendCapLine: Encodable {
    var tenant: String
    var cap: SpendCap

    enum CodingKeys: String, CodingKey {
        case tenant
        case spendCap = "spend_cap"
    }

    enum CapKeys: String, CodingKey {
        case cap, mode, stops, metric, currency
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tenant, forKey: .tenant)
        var nested = c.nestedContainer(keyedBy: CapKeys.self, forKey: .spendCap)
        try nested.encode(Money.string(cap.amount), forKey: .cap)
        try nested.encode(cap.mode.rawValue, forKey: .mode)
        try nested.encode(cap.stops.rawValue, forKey: .stops)
        try nested.encode("model_cost", forKey: .metric)
        try nested.encode("USD", forKey: .currency)
        try nested.encode(JSONConvention.timestamp(cap.updatedAt), forKey: .updatedAt)
    }
}
