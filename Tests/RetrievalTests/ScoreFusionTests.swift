import Testing

@testable import Retrieval

@Suite("Score fusion")
struct ScoreFusionTests {
    @Test("when the lists agree and one keyword hit stands out, keywords can lift it above the vector favourite")
    func peakyKeywordLifts() {
        let vector: [(id: Int64, score: Double)] = [(1, 0.62), (2, 0.60), (3, 0.55), (4, 0.50)]
        let keyword: [(id: Int64, score: Double)] = [(2, 12.0), (1, 3.0), (3, 2.5), (4, 2.0)]
        let fused = ScoreFusion().fuse(vector: vector, keyword: keyword)
        #expect(fused.first?.id == 2)
    }

    @Test("when the lists disagree, keywords are ignored and the vector order stands")
    func disagreementIgnoresKeywords() {
        let vector: [(id: Int64, score: Double)] = [(1, 0.62), (2, 0.60), (3, 0.55)]
        let keyword: [(id: Int64, score: Double)] = [(7, 20.0), (8, 3.0), (9, 2.0)]
        let fused = ScoreFusion().fuse(vector: vector, keyword: keyword, exactCosine: [7: 0.1, 8: 0.1, 9: 0.1])
        #expect(fused.map(\.id).prefix(3) == [1, 2, 3])
    }

    @Test("a keyword-only candidate competes with its exact cosine, not the list's floor")
    func exactCosineForKeywordOnly() {
        let vector: [(id: Int64, score: Double)] = [(1, 0.70), (2, 0.40), (3, 0.39)]
        let keyword: [(id: Int64, score: Double)] = [(9, 5.0), (1, 4.9), (2, 4.8), (3, 4.7)]
        let withExact = ScoreFusion().fuse(vector: vector, keyword: keyword, exactCosine: [9: 0.69])
        let withoutExact = ScoreFusion().fuse(vector: vector, keyword: keyword)
        #expect(withExact.map(\.id).firstIndex(of: 9)! < withoutExact.map(\.id).firstIndex(of: 9)!)
    }

    @Test("with no keyword hits, the ranking is the vector ranking")
    func vectorOnly() {
        let vector: [(id: Int64, score: Double)] = [(5, 0.9), (4, 0.8), (3, 0.1)]
        #expect(ScoreFusion().fuse(vector: vector, keyword: []).map(\.id) == [5, 4, 3])
    }
}
