/// Decodes HTML character references: numeric (`&#38;`, `&#x26;`) and every named one of the
/// HTML standard (`&sup1;`, `&frac12;`, `&alpha;`; ``table``). Unknown names are left as written.
/// References must end with `;`: HTML's legacy forms without it (`&copy 2024`) are ambiguous
/// with text such as `&copy=` in a URL and are left alone.
enum HTMLEntities {
    /// Spacing and invisible characters written as plain text: a no-break space is a space to a
    /// reader and to the tokenizer, a soft hyphen or zero-width joiner is nothing.
    static let normalised: [String: String] = [
        "nbsp": " ", "NonBreakingSpace": " ", "ensp": " ", "emsp": " ", "emsp13": " ", "emsp14": " ", "thinsp": " ",
        "ThinSpace": " ", "hairsp": " ", "VeryThinSpace": " ", "numsp": " ", "puncsp": " ", "MediumSpace": " ",
        "shy": "", "zwj": "", "zwnj": "", "ZeroWidthSpace": "", "NegativeVeryThinSpace": "",
        "NegativeThinSpace": "", "NegativeMediumSpace": "", "NegativeThickSpace": "", "NoBreak": "",
        "InvisibleTimes": "", "InvisibleComma": "", "it": "", "ic": "", "af": "", "ApplyFunction": "",
    ]

    /// Every named reference of the HTML standard (``table``), parsed once.
    static let named: [String: String] = {
        var named: [String: String] = [:]
        named.reserveCapacity(2_200)
        for word in table.split(whereSeparator: \.isWhitespace) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            var value = ""
            for hex in word[word.index(after: equals)...].split(separator: "+") {
                if let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) {
                    value.unicodeScalars.append(scalar)
                }
            }
            named[String(word[..<equals])] = value
        }
        return named.merging(normalised) { _, plain in plain }
    }()

    /// Longest reference name (`CounterClockwiseContourIntegral`) plus its `&` and `;`.
    static let longestReference = 33

    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            guard c == "&", let semicolon = text[index...].prefix(longestReference).firstIndex(of: ";") else {
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
