import Evaluation
import Foundation
import Metering

/// The month-to-date page of a tenant (`/dashboard`), and the same sections for
/// `cascade report --html`: questions and resolutions per tier per day, resolution rate and its
/// trend, blended cost per billable resolution, each tier's share of cost against its share of
/// resolutions, margin per tier, usage held for review with the reasons, the invoice.
///
/// Numbers carry ids (`id="queries"`…) so a test can read them off the page and compare them
/// with the API's report for the same month.
public enum UsagePage {
    static let outcomeOrder = ["rule", "rag", "llm", "escalated", "rejected"]

    /// The sections of one month (no page around them).
    /// - Parameter through: the last day to chart (today for the current month).
    public static func sections(statement: BillingStatement, through: Int?) -> String {
        let usage = statement.usage
        let report = UsageReport(usage: usage, invoice: statement.invoice)
        let setting = statement.setting
        var html = ""
        let plan = setting.plan.isEmpty ? "no plan yet" : "\(setting.plan) (billed by \(setting.billing.rawValue))"
        html += """
            <p class="sub">Plan <b id="plan">\(HTML.escape(plan))</b> · time zone <b id="time-zone">\(HTML.escape(setting.timeZone))</b> \
            (days and months are cut there) · invoice <b id="invoice-status">\(HTML.escape(statement.invoice.status))</b></p>
            """
        let rate = report.resolutionRate.map(HTML.percent) ?? "–"
        let blended = report.blendedCostPerResolution.map(HTML.dollars) ?? "–"
        html += "<div class=\"tiles\">"
        for (id, label, value) in [
            ("queries", "Questions", "\(report.queries)"), ("resolutions", "Resolutions", "\(report.resolutions)"),
            ("billable-resolutions", "Billable resolutions", "\(report.billableResolutions)"),
            ("confirmed-resolutions", "Confirmed by the customer", "\(report.confirmedResolutions)"),
            ("assumed-resolutions", "Assumed (no verdict)", "\(report.assumedResolutions)"),
            ("rejected-by-customer", "Not helpful (not billed)", "\(report.rejectedByCustomer)"),
            ("resolution-rate", "Resolution rate", rate), ("escalated", "Escalated", "\(report.escalated)"),
            ("total-cost", "Model cost", HTML.dollars(micros: report.totalCostMicros)),
            ("blended-cost", "Cost per billable resolution", blended),
            (
                "invoice-total", statement.invoice.status == "final" ? "Invoice" : "Invoice preview",
                HTML.money(report.invoiceTotal)
            ),
        ] {
            html +=
                "<div class=\"tile\"><div class=\"label\">\(label)</div><div class=\"value\" id=\"\(id)\">\(HTML.escape(value))</div></div>"
        }
        html += "</div>"
        guard report.queries > 0 else {
            html += "<p class=\"card empty\" id=\"no-usage\">No questions in \(usage.month) yet: nothing to chart.</p>"
            html += workflowSection(report)
            html += invoiceSection(statement.invoice)
            return html
        }
        let days = DailyUsage.days(of: usage, timeZone: setting.zone, through: through)
        let labels = days.map { String($0.day) }
        html += "<h2>Questions per day, by the tier that ended them</h2>"
        html += Charts.stackedBars(
            id: "chart-questions", title: "Questions per day (\(usage.month), \(setting.timeZone))", categories: labels,
            series: outcomeOrder.map { tier in
                Charts.Series(
                    name: Charts.tierNames[tier] ?? tier, color: Charts.colors[tier] ?? "#888",
                    values: days.map { Double($0.questionsByTier[tier] ?? 0) })
            }, unit: "questions", xLabel: "day of month")
        // Daily rate (questions that day) and the month-to-date rate (the trend).
        var askedSoFar = 0
        var resolvedSoFar = 0
        var daily: [Double?] = []
        var toDate: [Double?] = []
        for day in days {
            let asked = day.questions - (day.questionsByTier["rejected"] ?? 0)
            askedSoFar += asked
            resolvedSoFar += day.resolutions
            daily.append(asked > 0 ? Double(day.resolutions) / Double(asked) : nil)
            toDate.append(askedSoFar > 0 ? Double(resolvedSoFar) / Double(askedSoFar) : nil)
        }
        html += "<h2>Resolution rate</h2>"
        html += Charts.percentLines(
            id: "chart-rate", title: "Resolved share of questions (rejected ones excluded)", categories: labels,
            series: [
                Charts.Series(name: "that day", color: "#2f6fdf", values: daily),
                Charts.Series(name: "month to date", color: "#1d2430", values: toDate),
            ], xLabel: "day of month")
        html += "<h2>Tiers: share of cost against share of resolutions</h2>"
        let tiers = report.tiers.filter { $0.resolutions > 0 || $0.costMicros > 0 }
        html += Charts.sharePairs(
            id: "chart-shares", title: "Where the money goes and where the resolutions come from",
            rows: tiers.map {
                (
                    Charts.tierNames[$0.tier] ?? $0.tier, Charts.colors[$0.tier] ?? "#888", $0.costShare,
                    $0.resolutionShare
                )
            },
            firstLabel: "of cost", secondLabel: "of resolutions")
        html +=
            "<div class=\"card\"><table id=\"tiers\"><tr><th>Tier</th><th class=\"num\">Resolutions</th><th class=\"num\">Attempts</th><th class=\"num\">Tokens in / out</th><th class=\"num\">Model cost</th><th class=\"num\">Billed</th><th class=\"num\">Margin</th></tr>"
        for tier in report.tiers {
            html += """
                <tr data-tier="\(HTML.escape(tier.tier))"><td>\(HTML.escape(Charts.tierNames[tier.tier] ?? tier.tier))</td>\
                <td class="num resolutions">\(tier.resolutions)</td><td class="num">\(tier.attempts)</td>\
                <td class="num">\(tier.tokensIn) / \(tier.tokensOut)</td><td class="num cost">\(HTML.dollars(micros: tier.costMicros))</td>\
                <td class="num">\(HTML.dollars(tier.billed))</td><td class="num margin">\(HTML.dollars(tier.margin))</td></tr>
                """
        }
        html += "</table></div>"
        html += "<h2>Held for review</h2>"
        let flagged = usage.flagged
        if flagged.isEmpty && report.findings.isEmpty {
            html += "<p class=\"card empty\" id=\"flagged-none\">Nothing held for review this month.</p>"
        } else {
            html += "<div class=\"card\">"
            if !report.findings.isEmpty {
                html +=
                    "<ul id=\"findings\">" + report.findings.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
            }
            if !flagged.isEmpty {
                html += "<table id=\"flagged\"><tr><th>Query</th><th>When</th><th>Tier</th><th>Why it is held</th></tr>"
                for q in flagged {
                    html += """
                        <tr><td>\(HTML.escape(q.queryID))</td><td>\(JSONConvention.timestamp(q.occurredAt))</td>\
                        <td>\(HTML.escape(q.tier))</td><td>\(HTML.escape(q.flags.joined(separator: "; ")))</td></tr>
                        """
                }
                html += "</table>"
            }
            html += "</div>"
        }
        html += workflowSection(report)
        html += "<h2>What customers said</h2>"
        let rated = usage.queries.filter { $0.comment != nil }.sorted { $0.occurredAt > $1.occurredAt }.prefix(50)
        if rated.isEmpty {
            html += "<p class=\"card empty\" id=\"comments-none\">No customer comments this month.</p>"
        } else {
            html +=
                "<div class=\"card\"><table id=\"comments\"><tr><th>Query</th><th>When</th><th>Verdict</th><th>Comment</th></tr>"
            for q in rated {
                let verdict =
                    q.status == .rejectedByCustomer ? "not helpful" : (q.verdict == .confirmed ? "helpful" : "–")
                html +=
                    "<tr><td>\(HTML.escape(q.queryID))</td><td>\(JSONConvention.timestamp(q.occurredAt))</td>"
                    + "<td>\(verdict)</td><td>\(HTML.escape(q.comment ?? ""))</td></tr>"
            }
            html += "</table></div>"
        }
        html += invoiceSection(statement.invoice)
        return html
    }

    /// What the customers' verdicts say of the RAG threshold (``VerdictThreshold``): the share
    /// rejected among judged answers at or above a few thresholds, and the recommendation.
    public static func verdictSection(_ r: VerdictThreshold.Recommendation) -> String {
        var html = "<h2>What the verdicts say about the threshold</h2>"
        guard !r.table.isEmpty else {
            return html
                + "<p class=\"card empty\" id=\"verdict-threshold-none\">No verdicts on RAG answers under the threshold in force yet.</p>"
        }
        let current = r.currentThreshold.map { String(format: "%.2f", $0) } ?? "unknown"
        html +=
            "<div class=\"card\" id=\"verdict-threshold\"><p>\(r.used) judged RAG answers under the threshold in force (\(current), \(HTML.escape(r.calibration ?? "unknown")))"
            + (r.setAside > 0 ? "; \(r.setAside) older ones set aside" : "") + ". "
            + (r.recommendedThreshold.map {
                "Recommended threshold: <b id=\"recommended-threshold\">\(String(format: "%.3f", $0))</b> (\(HTML.escape(r.reason)))."
            } ?? "No recommendation: \(HTML.escape(r.reason)).")
            + " <code>cascade verdicts threshold --write-config</code> stores it.</p>"
            + "<table><tr><th>Threshold</th><th>Judged answers at or above</th><th>Rejected</th></tr>"
        let lowest = r.table.first?.threshold ?? 0
        var cuts = [lowest] + [0.5, 0.6, 0.7, 0.8, 0.9, 0.95].filter { $0 > lowest }
        if let recommended = r.recommendedThreshold, !cuts.contains(recommended) { cuts.append(recommended) }
        for cut in cuts.sorted() {
            guard let row = r.table.first(where: { $0.threshold >= cut }) else { continue }
            html +=
                "<tr><td>\(String(format: "%.3f", cut))</td><td class=\"num\">\(row.judged)</td>"
                + "<td class=\"num\">\(row.rejected) (\(String(format: "%.1f%%", row.rejectedShare * 100)))</td></tr>"
        }
        return html + "</table></div>"
    }

    /// The month against the spend cap: spent, left, the projection to the month's end.
    public static func spendCap(_ status: SpendStatus) -> String {
        let cap = status.cap
        let what =
            cap.mode == .hard
            ? (cap.stops == .llm ? "hard: the LLM tier stops at it" : "hard: the LLM and RAG tiers stop at it")
            : "soft: nothing stops"
        let projected = status.projectedMicros.map { HTML.dollars(micros: $0) } ?? "–"
        var warning = ""
        if status.reached {
            warning =
                "<p class=\"error\" id=\"spend-cap-reached\">The spend cap is reached"
                + (cap.mode == .hard ? ": questions that need the stopped tiers go to a person" : "") + ".</p>"
        } else if let projectedMicros = status.projectedMicros, projectedMicros > cap.capMicros {
            warning =
                "<p class=\"sub\" id=\"spend-cap-projection-warning\">At this pace the month's model cost passes the cap before the month ends.</p>"
        }
        var html = "<h2>Spend cap</h2><div class=\"tiles\" id=\"spend-cap\">"
        for (id, label, value) in [
            ("spend-cap-amount", "Cap (\(what))", HTML.dollars(micros: cap.capMicros)),
            ("spend-cap-spent", "Spent", HTML.dollars(micros: status.spentMicros)),
            ("spend-cap-remaining", "Left", HTML.dollars(micros: status.remainingMicros)),
            ("spend-cap-projected", "Projected at month end", projected),
        ] {
            html +=
                "<div class=\"tile\"><div class=\"label\">\(HTML.escape(label))</div><div class=\"value\" id=\"\(id)\">\(HTML.escape(value))</div></div>"
        }
        return html + "</div>" + warning
    }

    /// Workflow runs that ended this month, by workflow, beside the chat resolutions.
    static func workflowSection(_ report: UsageReport) -> String {
        guard !report.workflows.isEmpty else { return "" }
        var html =
            "<h2>Workflow runs</h2><div class=\"card\"><table id=\"workflows\"><tr><th>Workflow</th><th>Ended</th>"
            + "<th>Succeeded (billable)</th><th>Failed the check</th><th>Failed</th><th>Handed off</th><th>Steps' cost</th></tr>"
        for w in report.workflows {
            html +=
                "<tr><td>\(HTML.escape(w.workflow))</td><td>\(w.runs)</td><td>\(w.succeeded)</td><td>\(w.failedCheck)</td>"
                + "<td>\(w.failed)</td><td>\(w.handedOff)</td><td>\(HTML.dollars(micros: w.costMicros))</td></tr>"
        }
        return html + "</table></div><p class=\"sub\">Charged for successful runs this month: "
            + "<b id=\"workflow-charge\">\(HTML.escape(HTML.money(report.workflowCharge)))</b></p>"
    }

    static func invoiceSection(_ invoice: Invoice) -> String {
        var html = "<h2>Invoice \(invoice.status == "final" ? "" : "preview ")\(HTML.escape(invoice.month))</h2>"
        guard invoice.status != BillingStatement.noPlanStatus else {
            return html + "<p class=\"card empty\">No plan yet: usage is counted, but there is nothing to invoice.</p>"
        }
        html +=
            "<div class=\"card\"><table id=\"invoice-lines\"><tr><th>Line</th><th class=\"num\">Quantity</th><th class=\"num\">Unit price</th><th class=\"num\">Amount</th></tr>"
        for line in invoice.lines {
            html += """
                <tr><td>\(HTML.escape(line.description))</td><td class="num">\(HTML.escape(quantity(line.quantity)))</td>\
                <td class="num">\(HTML.dollars(line.unitPrice))</td><td class="num">\(HTML.money(line.amount))</td></tr>
                """
        }
        html +=
            "<tr><th colspan=\"3\">Total (\(HTML.escape(invoice.currency)))</th><th class=\"num\">\(HTML.money(invoice.total))</th></tr></table></div>"
        return html
    }

    /// A line's quantity: whole counts as they are, fractions (a prorated month) to four decimals.
    static func quantity(_ value: Decimal) -> String {
        var exact = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 4, .bankers)
        return (rounded == value ? "" : "≈") + Money.string(rounded)
    }

    /// Finalized invoices, newest first.
    public static func finalInvoices(_ invoices: [Invoice]) -> String {
        var html = "<h2>Finalized invoices</h2>"
        guard !invoices.isEmpty else { return html + "<p class=\"card empty\">No finalized invoices yet.</p>" }
        html +=
            "<div class=\"card\"><table id=\"final-invoices\"><tr><th>Month</th><th>Plan</th><th class=\"num\">Total</th><th>Ledger head</th></tr>"
        for invoice in invoices.reversed() {
            html += """
                <tr><td><a href="/dashboard?month=\(HTML.escape(invoice.month))">\(HTML.escape(invoice.month))</a></td>\
                <td>\(HTML.escape(invoice.plan))</td><td class="num">\(HTML.money(invoice.total))</td>\
                <td>\(invoice.ledgerHead.map { "#\($0.sequence) \(HTML.escape(String($0.hash.prefix(16))))…" } ?? "–")</td></tr>
                """
        }
        return html + "</table></div>"
    }
}
