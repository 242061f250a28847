/// A regular expression matched in time linear in the text (a Pike VM over Unicode scalars), so a
/// rule like `(a+)+b` costs microseconds on any question instead of backtracking for minutes.
///
/// Supported: literals and escapes (`\.` `\\` `\n` `\t`…), `.`, classes (`[a-z0-9_]`, `[^…]`),
/// `\d \w \s \D \W \S`, anchors `^ $`, word boundaries `\b \B`, groups `(…)` and `(?:…)`,
/// alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted; for "does it match"
/// they mean the same), and a leading `(?i)` (rules match folded, lower-case text anyway).
/// Not supported, refused at load with the reason: back-references, look-around, and other
/// constructs a linear-time engine cannot honour.
public struct LinearRegex: Sendable, Hashable {
    public let pattern: String
    private let program: [Instruction]

    /// Longest pattern accepted, in characters.
    public static let maxPatternLength = 1000
    /// Largest compiled program (counted repetitions are expanded into copies).
    public static let maxProgramSize = 5000

    /// Why a pattern cannot be used, worded for the rules file's author.
    public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(_ pattern: String) throws(SyntaxError) {
        guard pattern.count <= Self.maxPatternLength else {
            throw SyntaxError(message: "the regex is over \(Self.maxPatternLength) characters")
        }
        var parser = Parser(scalars: Array(pattern.unicodeScalars))
        let tree = try parser.parseWhole()
        var compiler = Compiler()
        try compiler.emit(tree)
        compiler.program.append(.match)
        guard compiler.program.count <= Self.maxProgramSize else {
            throw SyntaxError(message: "the regex expands to too large a program (repetition counts too high)")
        }
        self.pattern = pattern
        self.program = compiler.program
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: String) -> Bool {
        let input = Array(text.unicodeScalars)
        var current = ThreadList(size: program.count)
        var next = ThreadList(size: program.count)
        for position in 0...input.count {
            // A new thread starts at every position: an unanchored search.
            if addThread(&current, 0, position, input) { return true }
            if position == input.count { break }
            let scalar = input[position]
            next.clear()
            for pc in current.pcs {
                switch program[pc] {
                case .scalar(let expected) where expected == scalar:
                    if addThread(&next, pc + 1, position + 1, input) { return true }
                case .any where scalar != "\n":
                    if addThread(&next, pc + 1, position + 1, input) { return true }
                case .set(let set) where set.contains(scalar):
                    if addThread(&next, pc + 1, position + 1, input) { return true }
                default: break
                }
            }
            swap(&current, &next)
        }
        return false
    }

    /// Follows jumps, splits and assertions from `pc` (iteratively); true when `match` is reached.
    private func addThread(_ list: inout ThreadList, _ start: Int, _ position: Int, _ input: [Unicode.Scalar])
        -> Bool
    {
        var stack = [start]
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            switch program[pc] {
            case .match: return true
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .lineStart: if position == 0 { stack.append(pc + 1) }
            case .lineEnd: if position == input.count { stack.append(pc + 1) }
            case .wordBoundary(let wanted):
                let before = position > 0 && ScalarSet.word(input[position - 1])
                let after = position < input.count && ScalarSet.word(input[position])
                if (before != after) == wanted { stack.append(pc + 1) }
            case .scalar, .any, .set: list.pcs.append(pc)
            }
        }
        return false
    }

    public static func == (a: LinearRegex, b: LinearRegex) -> Bool { a.pattern == b.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}

// MARK: - Program

private enum Instruction: Sendable {
    case scalar(Unicode.Scalar)
    case any
    case set(ScalarSet)
    case split(Int, Int)
    case jump(Int)
    case lineStart
    case lineEnd
    case wordBoundary(Bool)
    case match
}

/// The threads alive at one position: each program counter at most once (what keeps it linear).
private struct ThreadList {
    var pcs: [Int] = []
    private var marked: [Int] = []
    private var seen: [Bool]

    init(size: Int) {
        seen = Array(repeating: false, count: size)
    }

    mutating func insert(_ pc: Int) -> Bool {
        if seen[pc] { return false }
        seen[pc] = true
        marked.append(pc)
        return true
    }

    mutating func clear() {
        for pc in marked { seen[pc] = false }
        marked.removeAll(keepingCapacity: true)
        pcs.removeAll(keepingCapacity: true)
    }
}

/// A set of scalars: ranges, class escapes, possibly negated.
private struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var classes: [Character] = []  // d, w, s, D, W, S
    var negated = false

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        var found = ranges.contains { $0.contains(scalar.value) }
        if !found {
            found = classes.contains { Self.inClass($0, scalar) }
        }
        return found != negated
    }

    static func inClass(_ name: Character, _ scalar: Unicode.Scalar) -> Bool {
        switch name {
        case "d": return ("0"..."9").contains(scalar)
        case "D": return !("0"..."9").contains(scalar)
        case "w": return word(scalar)
        case "W": return !word(scalar)
        case "s": return scalar.properties.isWhitespace
        case "S": return !scalar.properties.isWhitespace
        default: return false
        }
    }

    static func word(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}

// MARK: - Parsing

private indirect enum Node {
    case empty
    case scalar(Unicode.Scalar)
    case any
    case set(ScalarSet)
    case lineStart
    case lineEnd
    case wordBoundary(Bool)
    case concat([Node])
    case alternation([Node])
    case repeated(Node, min: Int, max: Int?)
}

private struct Parser {
    let scalars: [Unicode.Scalar]
    var index = 0
    var depth = 0

    init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    func fail(_ message: String) -> LinearRegex.SyntaxError {
        LinearRegex.SyntaxError(message: "\(message) (at character \(index + 1))")
    }

    var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    mutating func parseWhole() throws(LinearRegex.SyntaxError) -> Node {
        if scalars.starts(with: Array("(?i)".unicodeScalars)) { index = 4 }
        let node = try alternation()
        guard index == scalars.count else { throw fail("unbalanced ')'") }
        return node
    }

    mutating func alternation() throws(LinearRegex.SyntaxError) -> Node {
        var branches = [try concatenation()]
        while peek == "|" {
            index += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func concatenation() throws(LinearRegex.SyntaxError) -> Node {
        var items: [Node] = []
        while let c = peek, c != "|", c != ")" {
            var atom = try self.atom()
            atom = try quantified(atom)
            items.append(atom)
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    mutating func quantified(_ atom: Node) throws(LinearRegex.SyntaxError) -> Node {
        var node = atom
        while let c = peek {
            let bounds: (Int, Int?)
            switch c {
            case "*": bounds = (0, nil)
            case "+": bounds = (1, nil)
            case "?": bounds = (0, 1)
            case "{":
                guard let counted = try counts() else { return node }
                bounds = counted
            default: return node
            }
            if c != "{" { index += 1 }
            if peek == "?" { index += 1 }  // lazy: the same for a yes/no match
            if peek == "+" { throw fail("possessive quantifiers are not supported") }
            switch node {
            case .lineStart, .lineEnd, .wordBoundary, .empty: throw fail("nothing to repeat")
            default: break
            }
            node = .repeated(node, min: bounds.0, max: bounds.1)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}`; nil (a literal `{`) when it is not a valid count.
    mutating func counts() throws(LinearRegex.SyntaxError) -> (Int, Int?)? {
        var i = index + 1
        func number() -> Int? {
            let start = i
            while i < scalars.count, ("0"..."9").contains(scalars[i]) { i += 1 }
            guard i > start, i - start <= 4 else { return nil }
            return Int(String(String.UnicodeScalarView(scalars[start..<i])))
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if i < scalars.count, scalars[i] == "," {
            i += 1
            high = number()
        }
        guard i < scalars.count, scalars[i] == "}" else { return nil }
        if let high, high < low { throw fail("repetition {\(low),\(high)} has its bounds reversed") }
        guard low <= 100, (high ?? 0) <= 100 else { throw fail("repetition counts above 100 are not supported") }
        index = i + 1
        return (low, high)
    }

    mutating func atom() throws(LinearRegex.SyntaxError) -> Node {
        guard let c = peek else { throw fail("unexpected end") }
        index += 1
        switch c {
        case ".": return .any
        case "^": return .lineStart
        case "$": return .lineEnd
        case "(":
            if peek == "?" {
                if index + 1 < scalars.count, scalars[index + 1] == ":" {
                    index += 2
                } else {
                    throw fail("look-around and other (?…) groups are not supported; use (?:…) or a plain group")
                }
            }
            depth += 1
            guard depth <= 50 else { throw fail("groups nested deeper than 50") }
            let inner = try alternation()
            depth -= 1
            guard peek == ")" else { throw fail("missing ')'") }
            index += 1
            return inner
        case ")": throw fail("unbalanced ')'")
        case "[": return .set(try characterClass())
        case "*", "+", "?": throw fail("nothing to repeat")
        case "\\": return try escape(inClass: false)
        default: return .scalar(c)
        }
    }

    mutating func escape(inClass: Bool) throws(LinearRegex.SyntaxError) -> Node {
        guard let e = peek else { throw fail("pattern ends with '\\'") }
        index += 1
        switch e {
        case "d", "w", "s", "D", "W", "S": return .set(ScalarSet(classes: [Character(e)]))
        case "b" where !inClass: return .wordBoundary(true)
        case "B" where !inClass: return .wordBoundary(false)
        case "n": return .scalar("\n")
        case "t": return .scalar("\t")
        case "r": return .scalar("\r")
        case "1"..."9": throw fail("back-references are not supported (they need backtracking)")
        case "k": throw fail("named back-references are not supported")
        default:
            if e.properties.isAlphabetic || ("0"..."9").contains(e) {
                throw fail("unknown escape \\\(e)")
            }
            return .scalar(e)
        }
    }

    mutating func characterClass() throws(LinearRegex.SyntaxError) -> ScalarSet {
        var set = ScalarSet()
        if peek == "^" {
            set.negated = true
            index += 1
        }
        var first = true
        while true {
            guard let c = peek else { throw fail("missing ']'") }
            if c == "]" && !first {
                index += 1
                return set
            }
            first = false
            index += 1
            var low: Unicode.Scalar
            if c == "\\" {
                switch try escape(inClass: true) {
                case .scalar(let s): low = s
                case .set(let inner):
                    set.classes += inner.classes
                    continue
                default: throw fail("invalid escape in a class")
                }
            } else if c == "[" && peek == ":" {
                throw fail("POSIX classes like [:alpha:] are not supported; use \\w, \\d or \\s")
            } else {
                low = c
            }
            if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                index += 1
                guard var high = peek else { throw fail("missing ']'") }
                index += 1
                if high == "\\" {
                    guard case .scalar(let s) = try escape(inClass: true) else { throw fail("invalid range") }
                    high = s
                }
                guard low.value <= high.value else { throw fail("class range \(low)-\(high) is reversed") }
                set.ranges.append(low.value...high.value)
            } else {
                set.ranges.append(low.value...low.value)
            }
        }
    }
}

// MARK: - Compiling

private struct Compiler {
    var program: [Instruction] = []

    mutating func emit(_ node: Node) throws(LinearRegex.SyntaxError) {
        guard program.count <= LinearRegex.maxProgramSize else {
            throw LinearRegex.SyntaxError(
                message: "the regex expands to too large a program (repetition counts too high)")
        }
        switch node {
        case .empty: break
        case .scalar(let s): program.append(.scalar(s))
        case .any: program.append(.any)
        case .set(let set): program.append(.set(set))
        case .lineStart: program.append(.lineStart)
        case .lineEnd: program.append(.lineEnd)
        case .wordBoundary(let wanted): program.append(.wordBoundary(wanted))
        case .concat(let items): for item in items { try emit(item) }
        case .alternation(let branches):
            // split L1, next; L1: branch; jump end; next: split L2, … ; last branch
            var jumps: [Int] = []
            for (i, branch) in branches.enumerated() {
                if i < branches.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    try emit(branch)
                    jumps.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case .repeated(let inner, let min, let max):
            for _ in 0..<min { try emit(inner) }
            if let max {
                // Up to (max - min) optional copies: split in, skip.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    program.append(.split(program.count + 1, 0))
                    try emit(inner)
                }
                for s in splits { program[s] = .split(s + 1, program.count) }
            } else {
                // L: split body, end; body; jump L
                let loop = program.count
                program.append(.split(loop + 1, 0))
                try emit(inner)
                program.append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}
