import ArgumentParser
import KnowledgeBase

/// `--vector-encoding`: how the knowledge base's vectors are held in memory for search.
struct VectorEncodingOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "In-memory vector encoding: auto, f32 (exact) or int8 (4× smaller, float32 re-rank). Saved in the knowledge base.",
            discussion: "auto uses f32 below \(VectorEncoding.int8Threshold) vectors and int8 above."))
    var vectorEncoding: String?

    func validate() throws {
        if let vectorEncoding, vectorEncoding != "auto", VectorEncoding(rawValue: vectorEncoding) == nil {
            throw ValidationError("--vector-encoding must be auto, f32 or int8 (got '\(vectorEncoding)')")
        }
    }

    /// Saves the choice, when one was given.
    func apply(to store: KnowledgeBaseStore) throws {
        guard let vectorEncoding else { return }
        try store.setVectorEncoding(VectorEncoding(rawValue: vectorEncoding))
    }
}
