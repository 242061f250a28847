import Foundation
import Metering
import Server

/// `cascade report --html`: a self-contained page (inline CSS and SVG, no script, no network)
/// with the dashboard's charts for each month, and, for a range, the months side by side.
enum ReportHTML {
    static func page(tenant: String, statements: [BillingStatement], today: Date = Date()) -> String {
        let reports = statements.map { UsageReport(usage: $0.usage, invoice: $0.invoice) }
        var body = "<h1>Outcome report: \(HTML.escape(tenant))</h1>"
        if statements.count > 1 {
            body +=
                "<h2>Months</h2><div class=\"card\"><table id=\"months\"><tr><th>Month</th><th class=\"num\">Questions</th>"
            body +=
                "<th class=\"num\">Resolutions</th><th class=\"num\">Billable</th><th class=\"num\">Resolution rate</th>"
            body +=
                "<th class=\"num\">Model cost</th><th class=\"num\">Cost per billable resolution</th><th class=\"num\">Invoice</th></tr>"
            for r in reports {
                body += """
                    <tr><td>\(r.month)</td><td class="num">\(r.queries)</td><td class="num">\(r.resolutions)</td>\
                    <td class="num">\(r.billableResolutions)</td><td class="num">\(r.resolutionRate.map(HTML.percent) ?? "–")</td>\
                    <td class="num">\(HTML.dollars(micros: r.totalCostMicros))</td>\
                    <td class="num">\(r.blendedCostPerResolution.map(HTML.dollars) ?? "–")</td><td class="num">\(HTML.money(r.invoiceTotal))</td></tr>
                    """
            }
            body += "</table></div>"
            body += Charts.stackedBars(
                id: "chart-months", title: "Resolutions per month by tier", categories: reports.map(\.month),
                series: ["rule", "rag", "llm"].map { tier in
                    Charts.Series(
                        name: Charts.tierNames[tier] ?? tier, color: Charts.colors[tier] ?? "#888",
                        values: reports.map { r in Double(r.tiers.first { $0.tier == tier }?.resolutions ?? 0) })
                }, unit: "resolutions", xLabel: "month")
        }
        for statement in statements {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = statement.setting.zone
            let current = BillingMonth.containing(today, in: statement.setting.zone)
            let through = statement.usage.month == current ? calendar.component(.day, from: today) : nil
            body +=
                "<h2 style=\"margin-top:36px;border-top:1px solid #dde1e7;padding-top:14px\">\(statement.usage.month)</h2>"
            body += UsagePage.sections(statement: statement, through: through)
        }
        return HTML.page(title: "Outcome report: \(tenant)", tenant: nil, body: body)
    }
}
