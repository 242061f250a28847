/// Word-trigram overlap between texts: how the engine recognises one passage shipped twice.
///
/// Documentation packages often ship each page in two forms (Git's manual as HTML next to its
/// AsciiDoc `.txt` sources, Sphinx's HTML next to `_sources/*.rst.txt`). The two forms differ in
/// markup words, links and line breaks, which cost a few trigrams; two different passages on one
/// subject share far fewer than half of theirs. Text is folded to lower-case letters and digits
/// first, so punctuation and markup characters do not count.
public enum PassageOverlap {
    /// Share of a passage's word trigrams that must appear in another text for it to count as
    /// the same text.
    public static let samePassageShare = 0.6

    /// Fewest word trigrams a passage needs to be recognised elsewhere: a short line ("See
    /// git-config(1).", a copyright notice) is found in many pages that are not the same page.
    public static let minimumTrigrams = 8

    /// The set of word trigrams of `text`, folded (empty under three words), each as a hash: a
    /// trigram is compared, never read back, and hashing three words' hashes allocates nothing
    /// where joining them into a string allocates one per trigram (this runs for every result
    /// of every question, and for every pseudo-question of a calibration).
    public static func trigrams(_ text: String) -> Set<Int> {
        let words = text.lowercased().split { !$0.isLetter && !$0.isNumber }.map { $0.hashValue }
        guard words.count >= 3 else { return [] }
        var set = Set<Int>(minimumCapacity: words.count - 2)
        for i in 0..<(words.count - 2) {
            var hasher = Hasher()
            hasher.combine(words[i])
            hasher.combine(words[i + 1])
            hasher.combine(words[i + 2])
            set.insert(hasher.finalize())
        }
        return set
    }

    /// Lower-case words of letters and digits, one space apart.
    public static func fold(_ text: String) -> String {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.joined(separator: " ")
    }

    /// Whether `text` holds `passage`: ``samePassageShare`` of the passage's trigrams appear in it.
    /// A passage of fewer than three words holds nothing recognisable.
    public static func holds(_ text: String, passage: String) -> Bool {
        holds(trigrams(text), passage: trigrams(passage))
    }

    /// ``holds(_:passage:)`` on trigram sets already computed.
    public static func holds(_ text: Set<Int>, passage: Set<Int>) -> Bool {
        guard !passage.isEmpty else { return false }
        let shared = passage.lazy.filter(text.contains).count
        return Double(shared) / Double(passage.count) >= samePassageShare
    }

    /// Whether two passages are the same text in two forms: each holds the other, and both are
    /// long enough to be recognised (``minimumTrigrams``). Symmetric, so a one-line passage is
    /// not "the same" as a long section quoting it.
    public static func sameText(_ a: Set<Int>, _ b: Set<Int>) -> Bool {
        guard a.count >= minimumTrigrams, b.count >= minimumTrigrams else { return false }
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        let shared = small.lazy.filter(large.contains).count
        return Double(shared) / Double(large.count) >= samePassageShare
    }
}
