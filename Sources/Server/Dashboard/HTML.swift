import Foundation
import Metering

/// Building blocks of the dashboard's server-rendered pages. Every value that came from a user,
/// a document or the ledger goes through ``HTML/escape(_:)``: a question containing `<script>`
/// renders as text.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Exact dollars of a micro-dollar amount, with as many decimals as it takes to show it
    /// (at least two, at most six): `$0.000123`, `$0.0125`, `$1.50`. Costs of single questions are
    /// fractions of a cent; rounding them to cents would show zeros.
    public static func dollars(micros: Int64) -> String {
        let negative = micros < 0
        let magnitude = micros.magnitude
        let whole = magnitude / 1_000_000
        var fraction = String(magnitude % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        return (negative ? "-$" : "$") + grouped(whole) + "." + fraction
    }

    /// A decimal amount of dollars (a cost per resolution, a margin) with three significant
    /// digits and at least two decimals, rounded half-to-even: `$13.17`, `$0.0125`,
    /// `$0.0000008`. Averages of micro-dollar costs are smaller than a micro-dollar; a fixed
    /// number of decimals would show them as zero.
    public static func dollars(_ amount: Decimal) -> String {
        guard amount != 0 else { return "$0.00" }
        let magnitude = amount < 0 ? -amount : amount
        let exponent = Int(floor(log10(NSDecimalNumber(decimal: magnitude).doubleValue)))
        let decimals = min(max(2, 2 - exponent), 12)
        var value = magnitude
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, decimals, .bankers)
        var text = NSDecimalNumber(decimal: rounded).stringValue
        if !text.contains(".") { text += "." }
        var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        while parts[1].count < 2 { parts[1] += "0" }
        let whole = UInt64(parts[0]) ?? 0
        return (amount < 0 ? "-$" : "$") + grouped(whole) + "." + parts[1]
    }

    /// An invoice amount (already in cents): `$1,234.50`.
    public static func money(_ amount: Decimal) -> String { Money.format(amount) }

    static func grouped(_ value: UInt64) -> String {
        let digits = String(value)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    /// `0.8765` → `87.7%`.
    public static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

    static let style = """
        *{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
        header{background:#1d2430;color:#fff;padding:10px 20px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center}
        header a{color:#cfe0ff;text-decoration:none}header a.here{color:#fff;font-weight:600;border-bottom:2px solid #7fb0ff}
        header .who{margin-left:auto;font-size:13px;color:#c8ccd4}header form{display:inline}
        header button{background:none;border:1px solid #7a8394;color:#fff;border-radius:4px;padding:2px 8px;cursor:pointer}
        main{max-width:1180px;margin:0 auto;padding:16px 20px 40px}
        h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:26px 0 8px}.sub{color:#5b6472;margin:0 0 12px}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
        .tile{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 12px}
        .tile .label{font-size:12px;color:#5b6472;text-transform:uppercase;letter-spacing:.03em}.tile .value{font-size:22px;font-weight:600}
        .card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px;margin-top:10px;overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid #e6e9ee;padding:6px 8px;text-align:left;vertical-align:top}
        th{font-size:12px;color:#5b6472;text-transform:uppercase;letter-spacing:.03em}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .empty{color:#5b6472;font-style:italic;padding:12px}.flash{background:#e7f6ec;border:1px solid #9ad3ad;padding:8px 12px;border-radius:6px}
        .error{background:#fdecec;border:1px solid #f2a9a9;padding:8px 12px;border-radius:6px}
        textarea{width:100%;min-height:60px;font:inherit}input[type=password],input[type=text]{font:inherit;padding:6px;width:100%;max-width:420px}
        button.primary{background:#2f6fdf;color:#fff;border:0;border-radius:5px;padding:6px 14px;font:inherit;cursor:pointer}
        .legend span{display:inline-block;margin-right:14px;font-size:13px}.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
        svg{width:100%;min-width:560px;height:auto;display:block}.nav-month a{margin:0 6px}
        .question{white-space:pre-wrap;word-break:break-word}td.when{white-space:nowrap}.why{color:#5b6472;font-size:13px}.rejected-answer{margin-top:4px;padding:4px 8px;border-left:3px solid #b42318;font-size:13px;white-space:pre-wrap;word-break:break-word}
        @media (max-width:600px){main{padding:10px}td,th{padding:5px 4px}.tile .value{font-size:18px}}
        """

    /// The page around `body`: header with the tenant and navigation, inline CSS, no network.
    public static func page(
        title: String, tenant: String?, current: String? = nil, csrf: String? = nil, body: String,
        refreshSeconds: Int? = nil
    ) -> String {
        var nav = ""
        if let tenant {
            for (path, label) in [
                ("/dashboard", "Usage"), ("/dashboard/escalations", "Escalations"),
                ("/dashboard/knowledge-base", "Knowledge base"),
            ] {
                nav += "<a href=\"\(path)\"\(current == path ? " class=\"here\"" : "")>\(label)</a>"
            }
            nav += "<span class=\"who\">tenant <b id=\"tenant\">\(escape(tenant))</b>"
            if let csrf {
                nav += """
                     <form method="post" action="/dashboard/logout"><input type="hidden" name="csrf" value="\(csrf)"><button>Log out</button></form>
                    """
            }
            nav += "</span>"
        }
        let refresh = refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width,initial-scale=1">\(refresh)
            <title>\(escape(title)) · cascade</title><style>\(style)</style></head>
            <body><header><b>cascade</b>\(nav)</header><main>\(body)</main></body></html>
            """
    }
}
