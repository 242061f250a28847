import Foundation

/// Cuts a retrieved passage down to the sentences that answer the question: the sentence that
/// shares the most (stemmed) words with the question, plus its neighbours while they fit.
public enum PassageTrimmer {
    public static func trim(_ passage: String, question: String, maxCharacters: Int = 480) -> String {
        let sentences = split(passage)
        guard sentences.count > 1 else { return cut(passage, to: maxCharacters) }
        let questionWords = Set(words(question))
        let scores = sentences.map { sentence in
            Set(words(sentence)).intersection(questionWords).count
        }
        guard let best = scores.indices.max(by: { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) })
        else { return passage }
        var lower = best
        var upper = best
        var length = sentences[best].count
        // Grow around the best sentence, preferring what follows it, while the result fits.
        while true {
            if upper + 1 < sentences.count, length + sentences[upper + 1].count + 1 <= maxCharacters {
                upper += 1
                length += sentences[upper].count + 1
            } else if lower > 0, length + sentences[lower - 1].count + 1 <= maxCharacters {
                lower -= 1
                length += sentences[lower].count + 1
            } else {
                break
            }
        }
        return sentences[lower...upper].joined(separator: " ")
    }

    /// `text` shortened to at most `limit` characters at a word boundary, marked with "…" where
    /// it was cut: a quote never ends mid-word ("(including local r").
    public static func cut(_ text: String, to limit: Int) -> String {
        guard text.count > limit, limit > 1 else { return text }
        let head = text.prefix(limit - 1)
        // The last whitespace in the head, unless that would drop more than a third of it (one
        // enormous token: cut inside it rather than quote almost nothing).
        if let space = head.lastIndex(where: \.isWhitespace),
            head.distance(from: head.startIndex, to: space) >= (limit - 1) * 2 / 3
        {
            var kept = head[..<space]
            while let last = kept.last, last.isWhitespace || ",;:(".contains(last) { kept.removeLast() }
            return String(kept) + "…"
        }
        return String(head) + "…"
    }

    /// Sentences of `text`: runs ending in `.`, `?` or `!` before a space, or at a blank line (a
    /// heading, a label or a list item ends there even without a full stop).
    static func split(_ text: String) -> [String] {
        sentences(text).map(\.text)
    }

    /// ``split(_:)``'s sentences, each saying whether a paragraph ends with it (a blank line or the
    /// end of the text follows): a code block's lines ending in "." are sentences of one paragraph.
    static func sentences(_ text: String) -> [(text: String, endsParagraph: Bool)] {
        var sentences: [(text: String, endsParagraph: Bool)] = []
        var current = ""
        let characters = Array(text)
        var lastNewline = -2
        for (i, c) in characters.enumerated() {
            if c.isNewline {
                // A blank line: only spaces since the previous line break.
                if lastNewline >= 0, characters[(lastNewline + 1)..<i].allSatisfy(\.isWhitespace) {
                    let sentence = current.trimmingCharacters(in: .whitespacesAndNewlines)
                    if !sentence.isEmpty {
                        sentences.append((sentence, true))
                    } else if !sentences.isEmpty {
                        sentences[sentences.count - 1].endsParagraph = true
                    }
                    current = ""
                }
                lastNewline = i
            }
            current.append(c)
            let atEnd = i + 1 == characters.count || characters[i + 1].isWhitespace
            if (c == "." || c == "?" || c == "!") && atEnd {
                let sentence = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !sentence.isEmpty { sentences.append((sentence, false)) }
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { sentences.append((rest, true)) }
        if !sentences.isEmpty { sentences[sentences.count - 1].endsParagraph = true }
        return sentences
    }

    /// The folded words of `text` of three letters or more, each reduced by ``stem(_:)``; words in
    /// `excluded` (compared before stemming) are left out.
    static func words(_ text: String, excluding excluded: Set<String> = []) -> [String] {
        TextFolding.fold(text).split(separator: " ").map(String.init)
            .filter { $0.count > 2 && !excluded.contains($0) }.map(stem)
    }

    /// A light stemmer that gives a word's inflections one form, so "release", "releases",
    /// "released" and "releasing" all match: a plural's "s" ("es" after s, x, z, ch, sh; "ies"
    /// becomes "y"), or "ed" or "ing", is removed, then a final "e". Words of four letters or
    /// fewer are left alone ("uses", "file").
    static func stem(_ word: String) -> String {
        var w = word
        guard w.count > 4 else { return w }
        if w.hasSuffix("ies") {
            w.removeLast(3)
            w += "y"
        } else if w.hasSuffix("es"), ["s", "x", "z", "ch", "sh"].contains(where: { w.dropLast(2).hasSuffix($0) }) {
            w.removeLast(2)
        } else if w.hasSuffix("ing") {
            w.removeLast(3)
        } else if w.hasSuffix("ed") {
            w.removeLast(2)
        } else if w.hasSuffix("s"), !w.hasSuffix("ss"), !w.hasSuffix("us") {
            w.removeLast()
        }
        if w.count > 4, w.hasSuffix("e") { w.removeLast() }
        return w
    }
}
