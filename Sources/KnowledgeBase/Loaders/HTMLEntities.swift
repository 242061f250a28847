/// Decodes HTML character references: numeric (`&#38;`, `&#x26;`) and the named ones that occur
/// in documentation prose. Unknown names are left as written.
enum HTMLEntities {
    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "mdash": "—", "ndash": "–",
        "hellip": "…", "rarr": "→", "larr": "←", "harr": "↔", "uarr": "↑", "darr": "↓", "copy": "©", "reg": "®",
        "trade": "™", "rsquo": "’", "lsquo": "‘", "ldquo": "“", "rdquo": "”", "times": "×", "divide": "÷",
        "le": "≤", "ge": "≥", "ne": "≠", "middot": "·", "bull": "•", "deg": "°", "plusmn": "±", "para": "¶",
        "sect": "§", "laquo": "«", "raquo": "»", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "shy": "",
        "zwj": "", "zwnj": "", "ensp": " ", "emsp": " ", "thinsp": " ", "iexcl": "¡", "iquest": "¿",
        "eacute": "é", "egrave": "è", "aacute": "á", "agrave": "à", "uuml": "ü", "ouml": "ö", "auml": "ä",
        "ccedil": "ç", "ntilde": "ñ", "szlig": "ß", "oslash": "ø", "aring": "å", "infin": "∞", "minus": "−",
    ]

    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            guard c == "&", let semicolon = text[index...].prefix(12).firstIndex(of: ";") else {
                out.append(c)
                index = text.index(after: index)
                continue
            }
            let name = text[text.index(after: index)..<semicolon]
            if let replacement = decodeReference(name) {
                out += replacement
                index = text.index(after: semicolon)
            } else {
                out.append(c)
                index = text.index(after: index)
            }
        }
        return out
    }

    private static func decodeReference(_ name: Substring) -> String? {
        // `&#0;` becomes U+FFFD, as HTML parsers do (a NUL would cut the stored text).
        func scalar(_ value: UInt32?) -> String? {
            guard let value else { return nil }
            if value == 0 { return "\u{FFFD}" }
            return Unicode.Scalar(value).map { String($0) }
        }
        if name.hasPrefix("#x") || name.hasPrefix("#X") { return scalar(UInt32(name.dropFirst(2), radix: 16)) }
        if name.hasPrefix("#") { return scalar(UInt32(name.dropFirst())) }
        return named[String(name)]
    }
}
