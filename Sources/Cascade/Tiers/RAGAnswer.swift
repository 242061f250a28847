import KnowledgeBase
import Retrieval

/// What the RAG tier answers with: the best passage, cited, plus up to two further documents
/// from the same result list as "see also" citations.
///
/// A support answer that quotes one passage and links the next best pages is what users expect
/// from a help desk; it also means a question whose best page ranked second is still pointed at
/// it. Evaluation counts a resolution as correct when any cited document is relevant, so the
/// calibration labels use the same selection (``citedResults(_:)``).
public enum RAGAnswer {
    /// Most documents cited by one answer.
    public static let maxCitedDocuments = 3

    /// The results an answer cites: the first chunk of each of the first few distinct documents.
    public static func citedResults(_ results: [SearchResult]) -> [SearchResult] {
        var seen = Set<String>()
        var cited: [SearchResult] = []
        for result in results where seen.insert(result.chunk.docID).inserted {
            cited.append(result)
            if cited.count == maxCitedDocuments { break }
        }
        return cited
    }

    /// The answer text: the trimmed best passage, then the other cited pages.
    public static func text(question: String, cited: [SearchResult]) -> String {
        guard let top = cited.first else { return "" }
        var text = PassageTrimmer.trim(top.chunk.text, question: question)
        let others = cited.dropFirst().map { "\($0.chunk.title) (\($0.chunk.citation))" }
        if !others.isEmpty { text += "\n\nSee also: " + others.joined(separator: "; ") }
        return text
    }
}
