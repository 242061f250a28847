import Foundation

/// The words of a question that name something, for checking that the knowledge base mentions
/// them at all.
///
/// A near miss (how to protect a branch *on a hosting service*, the merge view *of an editor*,
/// a setting *in Photoshop*) retrieves a passage about the words the knowledge base does know,
/// often at high similarity, and its answer is about the wrong thing. When a word the question
/// names appears nowhere in the knowledge base, no passage can be about it: the RAG tier refuses
/// (`unknown_term`) and the question goes on to the LLM tier or a person. A misspelt word is
/// unknown too; that costs an escalation, never a wrong bill.
///
/// Absence means something only in a knowledge base large enough to use everyday English
/// (``minimumChunks``): a ten-page FAQ never says "keep" or "going", and its questions must
/// not be refused for that. Smaller ones get the specificity weights alone.
public enum KnownTerms {
    /// Knowledge bases with fewer chunks are not checked for unknown words.
    public static let minimumChunks = 100

    /// Words that carry no subject even when a knowledge base never uses them: pronouns,
    /// comparatives and everyday verbs of asking.
    static let everyday: Set<String> = [
        "somebody", "someone", "anybody", "anyone", "everybody", "everyone", "nobody", "mine", "yours", "myself",
        "yourself", "ourselves", "themselves", "itself", "biggest", "smallest", "largest", "fastest", "slowest",
        "easiest", "hardest", "simplest", "best", "worst", "better", "worse", "bigger", "smaller", "faster",
        "slower", "easier", "simpler", "really", "actually", "basically", "somehow", "anyway", "thanks", "thank",
        "hello", "hi", "hey", "please", "stuff", "things", "thing", "okay", "guys", "folks", "wondering",
        "trying", "tried", "wanted", "wants", "needs", "needed", "getting", "doing", "done", "going", "happen",
        "happens", "happened", "figure", "possible", "able", "correct", "correctly", "properly", "right", "wrong",
        "instead", "already", "still", "again", "without", "within", "anymore", "whenever", "whatever",
        "whichever", "however", "though", "although", "since", "during", "every", "ever", "never", "always",
        "sometimes", "often", "usually", "quickly", "easily", "safely", "somewhere", "anywhere", "everywhere",
        "nowhere", "someplace", "seem", "seems", "seemed", "keeps", "kept",
    ]

    /// The question's candidate subject words, folded, each once, in order: three characters or
    /// more, not function, question or everyday words. Not stemmed: the keyword index stems.
    public static func candidates(_ question: String) -> [String] {
        var seen = Set<String>()
        return TextFolding.fold(question).split(separator: " ").map(String.init).filter { word in
            word.count >= 3 && word.count <= 40 && !AnswerCheck.questionWords.contains(word)
                && !everyday.contains(word) && word.contains(where: \.isLetter) && seen.insert(word).inserted
        }
    }

    /// Chunk frequencies are counted up to this many chunks.
    public static let frequencyCap = 1000

    /// What the knowledge base says about a question's words.
    public struct Statistics: Sendable, Hashable {
        /// Candidate words no chunk contains.
        public var unknown: [String]
        /// How specific each candidate word is in this knowledge base, in [0, 1]: 1 for a word
        /// one chunk holds, about 0 for one a thousand chunks hold (an inverse chunk frequency,
        /// `log((cap + 1) / (n + 1)) / log(cap + 1)`). Keyed by the folded word.
        public var specificity: [String: Double]

        public init(unknown: [String] = [], specificity: [String: Double] = [:]) {
            self.unknown = unknown
            self.specificity = specificity
        }
    }

    /// The statistics of `question`'s candidate words; `frequency(word, cap)` counts the chunks
    /// holding a word, up to `cap`; `chunks` is the knowledge base's size (no word is called
    /// unknown below ``minimumChunks``).
    public static func statistics(_ question: String, chunks: Int, frequency: (String, Int) throws -> Int) rethrows
        -> Statistics
    {
        var statistics = Statistics()
        let scale = log(Double(frequencyCap + 1))
        for word in candidates(question) {
            let count = min(try frequency(word, frequencyCap), frequencyCap)
            if count == 0 && chunks >= minimumChunks { statistics.unknown.append(word) }
            statistics.specificity[word] = log(Double(frequencyCap + 1) / Double(count + 1)) / scale
        }
        return statistics
    }
}
