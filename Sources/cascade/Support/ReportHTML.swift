import Foundation
import Metering

/// A self-contained HTML page (inline CSS and SVG, no network) with the report's charts:
/// resolutions by tier stacked per month, cost per resolution over time, tier cost attribution.
enum ReportHTML {
    static let colors = ["rule": "#4c9f70", "rag": "#3a7bd5", "llm": "#d58c3a"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func page(_ reports: [UsageReport]) -> String {
        let tenant = escape(reports.first?.tenant ?? "")
        let width = 640.0
        let height = 220.0
        // Stacked bars: resolutions by tier per month.
        let maxResolutions = Double(max(1, reports.map(\.resolutions).max() ?? 1))
        let barWidth = width / Double(max(reports.count, 1))
        var bars = ""
        for (i, r) in reports.enumerated() {
            var y = height
            for tier in ["rule", "rag", "llm"] {
                let count = Double(r.tiers.first { $0.tier == tier }?.resolutions ?? 0)
                let h = count / maxResolutions * (height - 20)
                y -= h
                bars += String(
                    format:
                        "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%@'><title>%@ %@: %d</title></rect>",
                    Double(i) * barWidth + 8, y, barWidth - 16, h, colors[tier]!, r.month, tier, Int(count))
            }
            bars += String(
                format: "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%@</text>",
                Double(i) * barWidth + barWidth / 2, height + 14, r.month)
        }
        // Line: blended cost per billable resolution.
        let costs = reports.map { $0.blendedCostPerResolution.map { NSDecimalNumber(decimal: $0).doubleValue } ?? 0 }
        let maxCost = max(costs.max() ?? 0, 1e-9)
        let points = costs.enumerated().map { i, c in
            String(format: "%.1f,%.1f", Double(i) * barWidth + barWidth / 2, height - c / maxCost * (height - 20))
        }.joined(separator: " ")
        // Attribution of the latest month: cost share vs resolution share per tier.
        var attribution = ""
        if let last = reports.last {
            for (i, t) in last.tiers.enumerated() {
                let y = Double(i) * 34 + 10
                attribution += String(
                    format:
                        "<text x='0' y='%.1f' font-size='12'>%@</text><rect x='70' y='%.1f' width='%.1f' height='12' fill='#999'><title>cost share %.1f%%</title></rect><rect x='70' y='%.1f' width='%.1f' height='12' fill='%@'><title>resolution share %.1f%%</title></rect>",
                    y + 12, t.tier, y, t.costShare * 500, t.costShare * 100, y + 14, t.resolutionShare * 500,
                    colors[t.tier] ?? "#666", t.resolutionShare * 100)
            }
        }
        var rows = ""
        for r in reports {
            rows +=
                "<tr><td>\(r.month)</td><td>\(r.queries)</td><td>\(r.resolutions)</td><td>\(r.billableResolutions)</td><td>\(r.resolutionRate.map { String(format: "%.1f%%", $0 * 100) } ?? (r.queries == 0 ? "no questions" : "n/a"))</td><td>\(Money.format(Money.dollars(micros: r.totalCostMicros)))</td><td>\(Money.format(r.invoiceTotal))</td></tr>"
        }
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>cascade report: \(tenant)</title>
            <style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}h2{margin-top:1.5em}</style>
            </head><body><h1>Outcome report: \(tenant)</h1>
            <table><tr><th>month</th><th>queries</th><th>resolutions</th><th>billable</th><th>resolution rate</th><th>model cost</th><th>invoice</th></tr>\(rows)</table>
            <h2>Resolutions by tier</h2><p><span style="color:#4c9f70">■ rule</span> <span style="color:#3a7bd5">■ RAG</span> <span style="color:#d58c3a">■ LLM</span></p>
            <svg width="\(Int(width))" height="\(Int(height + 20))" role="img">\(bars)</svg>
            <h2>Blended cost per billable resolution</h2>
            <svg width="\(Int(width))" height="\(Int(height + 20))" role="img"><polyline fill="none" stroke="#3a7bd5" stroke-width="2" points="\(points)"/></svg>
            <h2>Cost attribution, \(escape(reports.last?.month ?? "")) (grey: share of cost; colour: share of resolutions)</h2>
            <svg width="600" height="\(max(40, (reports.last?.tiers.count ?? 0) * 34 + 20))" role="img">\(attribution)</svg>
            </body></html>
            """
    }
}
