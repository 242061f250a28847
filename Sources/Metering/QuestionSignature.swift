import Foundation

/// A 256-bit SimHash of a question's embedding: bit `i` is the sign of the vector's projection on
/// a fixed random ±1 direction. Two questions' signatures differ in about θ/π of their bits, θ
/// being the angle between their vectors, so near-duplicates ("How long do refunds take?" with
/// two random words added: cosine 0.65–0.88 with MiniLM) differ in far fewer bits than different
/// questions (cosine below 0.4: over 100 bits). Stored in each resolution's evidence so billing
/// can tell the same question asked again in other words without keeping the vectors.
public struct QuestionSignature: Hashable, Sendable {
    public var words: (UInt64, UInt64, UInt64, UInt64)

    public static func == (a: Self, b: Self) -> Bool { a.words == b.words }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Signatures this many bits apart or fewer are the same question in other words (about
    /// cosine ≥ 0.62; measured on MiniLM: a question and itself with two random words added,
    /// 0.68–0.88; unrelated support questions, at most 0.37).
    public static let nearDuplicateBits = 72

    /// The signature of `vector` (any length; not necessarily normalised).
    public init(vector: [Float]) {
        var sums = [Float](repeating: 0, count: 256)
        var state: UInt64 = 0x6361_7363_6164_6531 ^ UInt64(vector.count)  // fixed: every node agrees
        for value in vector {
            for word in 0..<4 {
                let signs = Self.next(&state)
                for bit in 0..<64 {
                    sums[word * 64 + bit] += (signs >> UInt64(bit)) & 1 == 1 ? value : -value
                }
            }
        }
        var packed: [UInt64] = [0, 0, 0, 0]
        for i in 0..<256 where sums[i] > 0 { packed[i / 64] |= 1 << UInt64(i % 64) }
        words = (packed[0], packed[1], packed[2], packed[3])
    }

    /// Parses 64 hex digits; nil otherwise (read as bytes: a string of 64 UTF-8 bytes may hold
    /// fewer characters, which the fuzz target found).
    public init?(hex: String) {
        let bytes = Array(hex.utf8)
        guard bytes.count == 64 else { return nil }
        var parsed: [UInt64] = [0, 0, 0, 0]
        for (i, byte) in bytes.enumerated() {
            let digit: UInt64
            switch byte {
            case 0x30...0x39: digit = UInt64(byte - 0x30)
            case 0x61...0x66: digit = UInt64(byte - 0x61 + 10)
            case 0x41...0x46: digit = UInt64(byte - 0x41 + 10)
            default: return nil
            }
            parsed[i / 16] = parsed[i / 16] << 4 | digit
        }
        words = (parsed[0], parsed[1], parsed[2], parsed[3])
    }

    public var hex: String {
        [words.0, words.1, words.2, words.3].map {
            let digits = String($0, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// Bits that differ.
    public func distance(to other: Self) -> Int {
        (words.0 ^ other.words.0).nonzeroBitCount + (words.1 ^ other.words.1).nonzeroBitCount
            + (words.2 ^ other.words.2).nonzeroBitCount + (words.3 ^ other.words.3).nonzeroBitCount
    }

    /// Byte `band` (0…31) of the signature: near-duplicates share at least one band with high
    /// probability, which finds candidate pairs without comparing every pair.
    func band(_ band: Int) -> UInt8 {
        let word = [words.0, words.1, words.2, words.3][band / 8]
        return UInt8(truncatingIfNeeded: word >> UInt64((band % 8) * 8))
    }

    /// SplitMix64.
    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Groups `signatures` (by index) into sets of near-duplicates, chaining (a ~ b and b ~ c put
    /// a, b and c together). Candidate pairs come from equal bands, so the work grows with the
    /// number of near pairs, not with the square of the count.
    public static func groups(_ signatures: [QuestionSignature]) -> [[Int]] {
        var parent = Array(signatures.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i {
                parent[i] = parent[parent[i]]
                i = parent[i]
            }
            return i
        }
        for band in 0..<32 {
            var buckets: [UInt8: [Int]] = [:]
            for (i, signature) in signatures.enumerated() { buckets[signature.band(band), default: []].append(i) }
            for members in buckets.values where members.count > 1 {
                for (a, i) in members.enumerated() {
                    for j in members[(a + 1)...] where root(i) != root(j) {
                        if signatures[i].distance(to: signatures[j]) <= nearDuplicateBits { parent[root(j)] = root(i) }
                    }
                }
            }
        }
        return Dictionary(grouping: signatures.indices, by: root).values.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }
}
