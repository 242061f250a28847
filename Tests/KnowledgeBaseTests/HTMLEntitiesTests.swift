import Testing

@testable import KnowledgeBase

/// Documentation writes footnote marks, fractions, Greek letters and arrows as named references;
/// a loader that knows only a few dozen leaves `&sup1;` in the text a customer is quoted.
@Suite struct HTMLEntitiesTests {
    @Test func everyNamedReferenceOfTheStandardIsDecoded() {
        #expect(HTMLEntities.named.count >= 2_125)
        #expect(HTMLEntities.decode("35% faster&sup1; than files") == "35% faster¹ than files")
        #expect(HTMLEntities.decode("&frac12; &alpha;&beta; &rarr; &hearts; &Sigma;") == "½ αβ → ♥ Σ")
        #expect(HTMLEntities.decode("&CounterClockwiseContourIntegral;") == "∳")
        // Two code points for one name.
        #expect(HTMLEntities.decode("&NotEqualTilde;") == "\u{2242}\u{338}")
        #expect(HTMLEntities.decode("&#38; &#x26; &amp;") == "& & &")
    }

    @Test func spacingIsPlainAndUnknownOrUnterminatedNamesStayAsWritten() {
        #expect(HTMLEntities.decode("a&nbsp;b&shy;c&ensp;d") == "a bc d")
        #expect(HTMLEntities.decode("&notaname; &copy 2024 &") == "&notaname; &copy 2024 &")
        #expect(HTMLEntities.decode("?a=1&b=2;") == "?a=1&b=2;")
        #expect(HTMLEntities.decode("&#0;") == "\u{FFFD}")
        // Hostile: ampersands without an end, a NUL reference, and a name longer than any real one.
        let noEnd = String(repeating: "&amp", count: 50_000)
        #expect(HTMLEntities.decode(noEnd) == noEnd)
        let tooLong = "&" + String(repeating: "a", count: 40) + ";"
        #expect(HTMLEntities.decode(tooLong) == tooLong)
        #expect(HTMLEntities.decode("a\u{0}&lt;b") == "a\u{0}<b")
    }
}
