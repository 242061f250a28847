/// Splits a parsed document into chunks that respect its structure and the embedder's limit.
///
/// Chunks never span a heading, so each chunk belongs to one section and cites one anchor: the
/// section's, or that of the anchored entry it starts in (a reference page's `round(X)`).
/// Within a section, whole paragraphs are packed until the token budget is reached; a paragraph
/// too long on its own is split at sentence ends, and a sentence too long at word boundaries.
/// Consecutive chunks of one section overlap by a few trailing sentences, so an answer that
/// straddles a split is still found whole in one of them.
public struct Chunker: Sendable {
    /// Largest chunk, in embedder tokens, including the title/heading context line.
    public var maxTokens: Int
    /// Tokens of trailing context repeated at the start of the next chunk in the same section.
    public var overlapTokens: Int
    /// Counts tokens the way the embedder will (word pieces for MiniLM).
    public var tokenCounter: @Sendable (String) -> Int

    /// - Parameters:
    ///   - maxTokens: the chunk budget; keep it below the embedder's own limit minus its special tokens.
    ///   - overlapTokens: overlap between consecutive chunks of one section.
    ///   - tokenCounter: the embedder's token counter.
    public init(maxTokens: Int = 200, overlapTokens: Int = 32, tokenCounter: @escaping @Sendable (String) -> Int) {
        self.maxTokens = max(16, maxTokens)
        self.overlapTokens = max(0, min(overlapTokens, maxTokens / 4))
        self.tokenCounter = tokenCounter
    }

    /// A piece of text that is never split further unless it alone exceeds the budget.
    struct Unit {
        var text: String
        var start: Int
        var end: Int
        var block: Int
        var tokens: Int
    }

    public func chunk(_ document: ParsedDocument) -> [ChunkDraft] {
        var chunks: [ChunkDraft] = []
        var headings: [(level: Int, text: String, anchor: String?)] = []
        var current: [Unit] = []
        var currentTokens = 0

        func headingPath() -> [String] { headings.map(\.text) }
        /// Anchored blocks of the current section (see ``TextBlock/anchor``), in order.
        var blockAnchors: [(block: Int, anchor: String)] = []
        /// The anchor a chunk starting in `block` cites: the last anchored block of the section
        /// at or before it, else the nearest heading's.
        func anchor(startingIn block: Int) -> String? {
            blockAnchors.last { $0.block <= block }?.anchor ?? headings.last { $0.anchor != nil }?.anchor
        }
        func budget() -> Int {
            let context = ChunkDraft.embeddingText(title: document.title, headingPath: headingPath(), text: "")
            return max(16, maxTokens - tokenCounter(context))
        }
        func emit(keepOverlap: Bool) {
            guard !current.isEmpty else { return }
            var text = ""
            for (i, unit) in current.enumerated() {
                if i > 0 { text += current[i - 1].block == unit.block ? " " : "\n\n" }
                text += unit.text
            }
            chunks.append(
                ChunkDraft(
                    ordinal: chunks.count, headingPath: headingPath(), anchor: anchor(startingIn: current.first!.block),
                    text: text,
                    startOffset: current.first!.start, endOffset: current.last!.end,
                    tokenCount: currentTokens))
            guard keepOverlap, overlapTokens > 0 else {
                current.removeAll()
                currentTokens = 0
                return
            }
            var carried: [Unit] = []
            var carriedTokens = 0
            for unit in current.reversed() {
                guard carriedTokens + unit.tokens <= overlapTokens else { break }
                carried.insert(unit, at: 0)
                carriedTokens += unit.tokens
            }
            // Never carry the whole chunk: that would emit it again.
            if carried.count == current.count { carried.removeFirst() }
            current = carried
            currentTokens = carried.reduce(0) { $0 + $1.tokens }
        }
        /// The code block call-outs explain: the last one, unless prose came after it.
        var attachedTo: Int?
        func add(_ unit: Unit, budget: Int, attached: Bool = false) {
            if currentTokens + unit.tokens > budget, !current.isEmpty {
                // A call-out that does not fit starts the next chunk with the code it explains
                // (when both fit), never alone.
                let explained = attached ? current.filter { $0.block == attachedTo } : []
                let explainedTokens = explained.reduce(0) { $0 + $1.tokens }
                emit(keepOverlap: true)
                if !explained.isEmpty, explainedTokens + unit.tokens <= budget {
                    current = explained
                    currentTokens = explainedTokens
                }
                // If the overlap plus this unit still does not fit, drop the overlap.
                if currentTokens + unit.tokens > budget {
                    current.removeAll()
                    currentTokens = 0
                }
            }
            current.append(unit)
            currentTokens += unit.tokens
        }

        for (blockIndex, block) in document.blocks.enumerated() {
            if case .heading(let level) = block.kind {
                emit(keepOverlap: false)
                headings.removeAll { $0.level >= level }
                headings.append((level, block.text, block.anchor))
                blockAnchors.removeAll()
                attachedTo = nil
                continue
            }
            // A block with no letter or digit ("*", a rule of dashes) says nothing on its own.
            guard block.text.contains(where: { $0.isLetter || $0.isNumber }) else { continue }
            if let anchor = block.anchor { blockAnchors.append((blockIndex, anchor)) }
            let attached = block.keepWithPrevious && attachedTo != nil
            if block.kind == .code { attachedTo = blockIndex } else if !block.keepWithPrevious { attachedTo = nil }
            let limit = budget()
            let whole = Unit(
                text: block.text, start: block.startOffset,
                end: block.startOffset + block.text.unicodeScalars.count, block: blockIndex,
                tokens: tokenCounter(block.text))
            if whole.tokens <= limit {
                add(whole, budget: limit, attached: attached)
                continue
            }
            for unit in split(block, blockIndex: blockIndex, limit: limit) {
                add(unit, budget: limit, attached: attached)
            }
        }
        emit(keepOverlap: false)
        return chunks
    }

    /// Splits an oversized block into sentence (or line, for code) units, and any unit still over
    /// the limit into word runs that fit.
    func split(_ block: TextBlock, blockIndex: Int, limit: Int) -> [Unit] {
        let scalars = Array(block.text.unicodeScalars)
        var pieces: [(start: Int, end: Int)] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            let isBoundary: Bool
            if block.kind == .code {
                isBoundary = c == "\n"
            } else {
                isBoundary =
                    (c == "." || c == "?" || c == "!" || c == ";") && i + 1 < scalars.count
                    && scalars[i + 1].properties.isWhitespace
            }
            if isBoundary {
                pieces.append((start, i + 1))
                start = i + 1
                while start < scalars.count, scalars[start].properties.isWhitespace, block.kind != .code { start += 1 }
                i = start
                continue
            }
            i += 1
        }
        if start < scalars.count { pieces.append((start, scalars.count)) }

        var units: [Unit] = []
        for piece in pieces {
            let text = String(String.UnicodeScalarView(scalars[piece.start..<piece.end]))
            let trimmed = block.kind == .code ? text : text.collapsingWhitespace()
            guard !trimmed.allSatisfy(\.isWhitespace) else { continue }
            let tokens = tokenCounter(trimmed)
            if tokens <= limit {
                units.append(
                    Unit(
                        text: trimmed, start: block.startOffset + piece.start, end: block.startOffset + piece.end,
                        block: blockIndex, tokens: tokens))
            } else {
                units.append(contentsOf: splitWords(scalars, piece, block: block, blockIndex: blockIndex, limit: limit))
            }
        }
        return units
    }

    private func splitWords(
        _ scalars: [Unicode.Scalar], _ piece: (start: Int, end: Int), block: TextBlock, blockIndex: Int, limit: Int
    ) -> [Unit] {
        var units: [Unit] = []
        var wordStart = piece.start
        var runStart = piece.start
        var runEnd = piece.start
        var runTokens = 0
        func flushRun() {
            guard runEnd > runStart else { return }
            let text = String(String.UnicodeScalarView(scalars[runStart..<runEnd])).collapsingWhitespace()
            if !text.isEmpty {
                units.append(
                    Unit(
                        text: text, start: block.startOffset + runStart, end: block.startOffset + runEnd,
                        block: blockIndex, tokens: tokenCounter(text)))
            }
            runStart = runEnd
            runTokens = 0
        }
        var i = piece.start
        while i <= piece.end {
            if i == piece.end || scalars[i].properties.isWhitespace {
                if i > wordStart {
                    let word = String(String.UnicodeScalarView(scalars[wordStart..<i]))
                    var wordTokens = tokenCounter(word)
                    if runTokens + wordTokens > limit {
                        flushRun()
                        runStart = wordStart
                    }
                    // A single "word" longer than the budget (a minified blob) is cut hard.
                    if wordTokens > limit {
                        let step = max(1, (i - wordStart) * limit / wordTokens)
                        var s = wordStart
                        while s < i {
                            runStart = s
                            runEnd = min(i, s + step)
                            runTokens = limit
                            flushRun()
                            s += step
                        }
                        wordTokens = 0
                        runStart = i
                    }
                    runEnd = i
                    runTokens += wordTokens
                }
                wordStart = i + 1
            }
            i += 1
        }
        flushRun()
        return units
    }
}
