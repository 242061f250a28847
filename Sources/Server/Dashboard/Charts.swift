import Foundation

/// Server-rendered SVG charts with axes, units and every value written on the chart (readable
/// without hovering, printable, no script). They scale to the page's width through `viewBox`.
public enum Charts {
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var values: [Double?]
        public init(name: String, color: String, values: [Double?]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    /// Colours of the tiers and of the outcomes that are not resolutions.
    public static let colors = [
        "rule": "#3f9b6a", "rag": "#2f6fdf", "llm": "#d9822b", "escalated": "#9aa3b1", "rejected": "#d0d4da",
    ]
    public static let tierNames = [
        "rule": "Rule", "rag": "RAG", "llm": "LLM", "escalated": "Escalated", "rejected": "Rejected",
    ]

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A round upper bound for an axis (1, 2, 5 × 10ⁿ) at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    static func legend(_ series: [(String, String, String)]) -> String {
        "<div class=\"legend\">"
            + series.map { name, color, extra in
                "<span><i style=\"background:\(color)\"></i>\(HTML.escape(name))\(extra.isEmpty ? "" : " " + HTML.escape(extra))</span>"
            }.joined() + "</div>"
    }

    /// Stacked bars, one per category, with the total written above each bar and the y axis
    /// labelled in `unit`.
    public static func stackedBars(
        id: String, title: String, categories: [String], series: [Series], unit: String, xLabel: String
    ) -> String {
        let width = 760.0
        let height = 260.0
        let left = 46.0
        let right = 10.0
        let top = 22.0
        let bottom = 40.0
        let plotW = width - left - right
        let plotH = height - top - bottom
        let totals = categories.indices.map { i in series.reduce(0.0) { $0 + ($1.values[i] ?? 0) } }
        let maxValue = niceCeiling(totals.max() ?? 0)
        let slot = plotW / Double(max(categories.count, 1))
        let barW = max(2, slot * 0.72)
        var svg = axes(
            left: left, top: top, plotW: plotW, plotH: plotH, maxValue: maxValue, unit: unit,
            format: { String(Int($0)) })
        for (i, category) in categories.enumerated() {
            let x = left + Double(i) * slot + (slot - barW) / 2
            var y = top + plotH
            for s in series {
                let v = s.values[i] ?? 0
                guard v > 0 else { continue }
                let h = v / maxValue * plotH
                y -= h
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barW))\" height=\"\(f(h))\" fill=\"\(s.color)\">"
                svg += "<title>\(HTML.escape(category)) \(HTML.escape(s.name)): \(Int(v))</title></rect>"
            }
            if totals[i] > 0 {
                svg +=
                    "<text x=\"\(f(x + barW / 2))\" y=\"\(f(y - 3))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#1d2430\" class=\"bar-total\" data-category=\"\(HTML.escape(category))\">\(Int(totals[i]))</text>"
            }
            svg +=
                "<text x=\"\(f(x + barW / 2))\" y=\"\(f(top + plotH + 13))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6472\">\(HTML.escape(category))</text>"
        }
        svg +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 6))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6472\">\(HTML.escape(xLabel))</text>"
        let legendItems = series.map { s in (s.name, s.color, "(\(Int(s.values.reduce(0) { $0 + ($1 ?? 0) })))") }
        return figure(id: id, title: title, width: width, height: height, svg: svg, legend: legend(legendItems))
    }

    /// Lines over categories (a nil value leaves a gap), the y axis from 0 to 100%, each point's
    /// value written next to it.
    public static func percentLines(id: String, title: String, categories: [String], series: [Series], xLabel: String)
        -> String
    {
        let width = 760.0
        let height = 240.0
        let left = 46.0
        let right = 24.0
        let top = 22.0
        let bottom = 40.0
        let plotW = width - left - right
        let plotH = height - top - bottom
        let slot = plotW / Double(max(categories.count, 1))
        var svg = axes(
            left: left, top: top, plotW: plotW, plotH: plotH, maxValue: 1, unit: "%",
            format: { "\(Int(($0 * 100).rounded()))%" })
        for (i, category) in categories.enumerated() {
            svg +=
                "<text x=\"\(f(left + (Double(i) + 0.5) * slot))\" y=\"\(f(top + plotH + 13))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6472\">\(HTML.escape(category))</text>"
        }
        for (index, s) in series.enumerated() {
            var path = ""
            var pen = false
            for (i, value) in s.values.enumerated() {
                guard let value, value.isFinite else {
                    pen = false
                    continue
                }
                let x = left + (Double(i) + 0.5) * slot
                let y = top + plotH - min(max(value, 0), 1) * plotH
                path += (pen ? " L" : " M") + "\(f(x)) \(f(y))"
                pen = true
                svg +=
                    "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"2.5\" fill=\"\(s.color)\"><title>\(HTML.escape(category(categories, i))) \(HTML.escape(s.name)): \(HTML.percent(value))</title></circle>"
                // Labels above for the first series, below for the second, so they do not collide.
                let dy = index == 0 ? -6.0 : 13.0
                svg +=
                    "<text x=\"\(f(x))\" y=\"\(f(y + dy))\" font-size=\"9\" text-anchor=\"middle\" fill=\"\(s.color)\">\(Int((value * 100).rounded()))</text>"
            }
            svg = "<path d=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"/>" + svg
        }
        svg +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 6))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6472\">\(HTML.escape(xLabel)) (values in %)</text>"
        return figure(
            id: id, title: title, width: width, height: height, svg: svg,
            legend: legend(series.map { ($0.name, $0.color, "") }))
    }

    static func category(_ categories: [String], _ i: Int) -> String { i < categories.count ? categories[i] : "" }

    /// For each row, two horizontal bars (share of cost, share of resolutions) with their
    /// percentages written at the bars' ends.
    public static func sharePairs(
        id: String, title: String, rows: [(name: String, color: String, first: Double, second: Double)],
        firstLabel: String, secondLabel: String
    ) -> String {
        let width = 760.0
        let rowH = 46.0
        let left = 70.0
        let plotW = width - left - 160  // room for the label at the end of a full bar
        let height = Double(max(rows.count, 1)) * rowH + 34
        var svg = ""
        for (i, row) in rows.enumerated() {
            let y = 8 + Double(i) * rowH
            svg += "<text x=\"0\" y=\"\(f(y + 20))\" font-size=\"12\" fill=\"#1d2430\">\(HTML.escape(row.name))</text>"
            for (j, (value, fill)) in [(row.first, "#9aa3b1"), (row.second, row.color)].enumerated() {
                let w = max(0, min(value, 1)) * plotW
                let by = y + Double(j) * 17
                svg += "<rect x=\"\(f(left))\" y=\"\(f(by))\" width=\"\(f(w))\" height=\"14\" fill=\"\(fill)\"/>"
                svg +=
                    "<text x=\"\(f(left + w + 4))\" y=\"\(f(by + 11))\" font-size=\"11\" fill=\"#1d2430\">\(HTML.percent(value)) \(j == 0 ? HTML.escape(firstLabel) : HTML.escape(secondLabel))</text>"
            }
        }
        // The axis: 0 to 100%.
        let axisY = height - 20
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(axisY))\" x2=\"\(f(left + plotW))\" y2=\"\(f(axisY))\" stroke=\"#8a93a1\"/>"
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let x = left + tick * plotW
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(axisY))\" x2=\"\(f(x))\" y2=\"\(f(axisY + 4))\" stroke=\"#8a93a1\"/>"
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(axisY + 15))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6472\">\(Int(tick * 100))%</text>"
        }
        return figure(
            id: id, title: title, width: width, height: height, svg: svg,
            legend: legend([("grey: " + firstLabel, "#9aa3b1", ""), ("colour: " + secondLabel, "#2f6fdf", "")]))
    }

    /// Grid lines and y tick labels from 0 to `maxValue`, and the unit at the top of the axis.
    static func axes(
        left: Double, top: Double, plotW: Double, plotH: Double, maxValue: Double, unit: String,
        format: (Double) -> String
    ) -> String {
        var svg = ""
        for step in 0...4 {
            let value = maxValue * Double(step) / 4
            // Integer axes skip fractional ticks (a maximum of 1 or 2 questions).
            if unit != "%", value != value.rounded() { continue }
            let y = top + plotH - Double(step) / 4 * plotH
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"\(step == 0 ? "#8a93a1" : "#e6e9ee")\"/>"
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y + 3))\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6472\">\(format(value))</text>"
        }
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"#8a93a1\"/>"
        svg +=
            "<text x=\"2\" y=\"\(f(top - 8))\" font-size=\"10\" text-anchor=\"start\" fill=\"#5b6472\">\(HTML.escape(unit))</text>"
        return svg
    }

    static func figure(id: String, title: String, width: Double, height: Double, svg: String, legend: String) -> String
    {
        """
        <figure class="card" id="\(id)" style="margin:10px 0 0"><figcaption><b>\(HTML.escape(title))</b></figcaption>\(legend)
        <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" role="img" aria-label="\(HTML.escape(title))">\(svg)</svg></figure>
        """
    }
}
