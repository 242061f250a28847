import Foundation
import KnowledgeBase
import Testing

/// Loaders are linear: a page sixteen times as long takes about sixteen times as long to parse; a
/// quadratic parser would take 256 times as long. The test allows 64, the geometric middle, so a
/// busy machine's noise (a loaded CI run once measured 23 for an eightfold page, whose quadratic
/// ratio would have been 64) cannot be mistaken for the wrong growth. The two sizes are timed in
/// turn, five times each, and each size's fastest run counts: a burst of load from another
/// process then slows runs of both sizes rather than only the large page's (timed apart, three
/// times each, a run beside a release build once measured 82).
@Suite("Loaders are linear on adversarial input", .serialized)
struct LoaderLinearityTests {
    static let context = LoadContext(fileURL: URL(fileURLWithPath: "/dev/null"), relativePath: "page.html")

    static func elapsed(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The fastest of five runs of `small` and of `large`, timed in turn.
    static func seconds(small: () throws -> Void, large: () throws -> Void) rethrows -> (Double, Double) {
        var best = (Double.infinity, Double.infinity)
        for _ in 0..<5 {
            best.0 = min(best.0, try elapsed(small))
            best.1 = min(best.1, try elapsed(large))
        }
        return best
    }

    /// Patterns that once sent a lookahead to the end of the page for every repetition.
    static let patterns: [(String, String)] = [
        ("empty heads", "<head></head>"),
        ("heads with an unclosed title", "<head><title>x</head>"),
        ("unclosed heads", "<head><p>x"),
        ("unclosed tags", "<a href='x' "),
        ("unclosed comments", "<!-- x "),
        ("headings and anchors", "<h2 id=a><a name=b>x</a></h2><p>y</p>"),
    ]

    @Test("HTML: sixteen times the page takes about sixteen times the time", arguments: patterns)
    func html(_ pattern: (String, String)) throws {
        let (name, unit) = pattern
        let repeats = max(1, 40_000 / unit.utf8.count)
        let small = Data(("<html><body>" + String(repeating: unit, count: repeats)).utf8)
        let large = Data(("<html><body>" + String(repeating: unit, count: repeats * 16)).utf8)
        let loader = HTMLLoader()
        let (t1, t2) = try Self.seconds(
            small: { _ = try? loader.load(small, context: Self.context) },
            large: { _ = try? loader.load(large, context: Self.context) })
        #expect(
            t2 / max(t1, 1e-4) < 64.0, "\(name): \(t1) s for \(small.count) bytes, \(t2) s for \(large.count) bytes")
    }
}

extension LoaderLinearityTests {
    /// AsciiDoc constructs that look ahead: fences searched for their close, cross references for
    /// their `>>`, macros for their `[…]`, titles for their underline.
    static let asciiDocPatterns: [(String, String)] = [
        ("unclosed cross references", "<<x "),
        ("listing fences", "----\nx\n"),
        ("an unclosed fence per line", "....\n"),
        ("macros without brackets", "linkgit:x link:y "),
        ("underlined titles", "Title\n-----\n"),
        ("labelled lists and call-outs", "term::\n<1> x\n"),
    ]

    @Test("AsciiDoc: sixteen times the page takes about sixteen times the time", arguments: asciiDocPatterns)
    func asciiDoc(_ pattern: (String, String)) throws {
        let (name, unit) = pattern
        let repeats = max(1, 40_000 / unit.utf8.count)
        let small = Data(("= Page\n\n" + String(repeating: unit, count: repeats)).utf8)
        let large = Data(("= Page\n\n" + String(repeating: unit, count: repeats * 16)).utf8)
        let loader = AsciiDocLoader()
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/dev/null"), relativePath: "page.adoc")
        let (t1, t2) = try Self.seconds(
            small: { _ = try? loader.load(small, context: context) },
            large: { _ = try? loader.load(large, context: context) })
        #expect(
            t2 / max(t1, 1e-4) < 64.0, "\(name): \(t1) s for \(small.count) bytes, \(t2) s for \(large.count) bytes")
    }
}

extension LoaderLinearityTests {
    /// reStructuredText constructs that look ahead: indented blocks, literals, roles and titles.
    static let reStructuredTextPatterns: [(String, String)] = [
        ("unclosed literals and roles", "``x :meth:`y "),
        ("directives with blocks", ".. note::\n   x\n"),
        ("literal paragraphs", "Like this::\n\n    code\n\n"),
        ("underlined titles", "Title\n=====\n\n"),
    ]

    @Test(
        "reStructuredText: sixteen times the page takes about sixteen times the time",
        arguments: reStructuredTextPatterns)
    func reStructuredText(_ pattern: (String, String)) throws {
        let (name, unit) = pattern
        let repeats = max(1, 40_000 / unit.utf8.count)
        let small = Data(("Page\n====\n\n" + String(repeating: unit, count: repeats)).utf8)
        let large = Data(("Page\n====\n\n" + String(repeating: unit, count: repeats * 16)).utf8)
        let loader = ReStructuredTextLoader()
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/dev/null"), relativePath: "page.rst")
        let (t1, t2) = try Self.seconds(
            small: { _ = try? loader.load(small, context: context) },
            large: { _ = try? loader.load(large, context: context) })
        #expect(
            t2 / max(t1, 1e-4) < 64.0, "\(name): \(t1) s for \(small.count) bytes, \(t2) s for \(large.count) bytes")
    }
}
