import Foundation
import Testing

@testable import Cascade

@Suite("Junk screen and pricing")
struct ScreenAndPricingTests {
    @Test(
        "junk is rejected with a polite reply",
        arguments: [
            "", "   \n", "hello", "Thanks!", "asdfgh qwrtz", "!!!???###", "zzzzzzzz",
            String(repeating: "why ", count: 600), "asdkjh qwpoeiru zxmcnv", "lorem ipsum",
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit", "jkhsdf qwezxc",
        ])
    func junk(text: String) {
        guard case .reject(_, let reply) = QueryScreen.screen(text) else {
            Issue.record("\(text.prefix(30)) should be rejected")
            return
        }
        #expect(!reply.isEmpty)
    }

    @Test(
        "real questions pass, in any language",
        arguments: [
            "How do I enable WAL?", "why is my db locked", "¿Cómo activo el modo WAL?", "如何启用WAL模式", "SQLITE_BUSY?",
            "kubectl", "Qwen", "dns ttl", "nginx 502", "https", "vacuum", "pragma wal_checkpoint",
            "Reykjavik office hours",
            "Wie aktiviere ich den WAL-Modus?", "fsync", "html css", "ssh keys",
        ])
    func questions(text: String) {
        #expect(QueryScreen.screen(text) == .accept)
    }

    @Test("a question refused as too long is stored as a bounded prefix and its hash; a retry still matches")
    func boundedStorage() {
        let huge = String(repeating: "why is the database locked? ", count: 400_000)  // ~11 MB
        let stored = StoredQuestion.text(for: huge)
        #expect(stored.count < QueryScreen.maxCharacters + 120)
        #expect(stored.contains("sha256"))
        #expect(StoredQuestion.matches(stored: stored, question: huge))
        #expect(!StoredQuestion.matches(stored: stored, question: huge + "!"))
        #expect(StoredQuestion.text(for: "short") == "short")
    }

    @Test("costs are tokens × price per million, rounded up to a whole micro-dollar")
    func pricing() {
        let pricing = Pricing(prices: [
            "embed": .init(inputPerMillion: Decimal(string: "0.02")!),
            "chat": .init(inputPerMillion: Decimal(string: "0.15")!, outputPerMillion: Decimal(string: "0.60")!),
        ])
        #expect(pricing.costMicros(model: "embed", tokensIn: 0) == 0)
        #expect(pricing.costMicros(model: "embed", tokensIn: 1) == 1, "0.02 µ$ rounds up to 1")
        #expect(pricing.costMicros(model: "embed", tokensIn: 50) == 1)
        #expect(pricing.costMicros(model: "embed", tokensIn: 51) == 2, "1.02 µ$ rounds up to 2")
        #expect(pricing.costMicros(model: "chat", tokensIn: 1_000, tokensOut: 200) == 270)
        #expect(pricing.costMicros(model: "chat", tokensIn: 1_000_000, tokensOut: 1_000_000) == 750_000)
        #expect(pricing.costMicros(model: "unknown", tokensIn: 10) == 0)
    }

    @Test("passages are trimmed to the sentences that match the question")
    func trimming() {
        let passage =
            "SQLite has many pragmas. The journal_mode pragma selects WAL. WAL lets readers and writers run together. "
            + "Unrelated sentence about the VACUUM command and free pages. Another unrelated one about collations."
        let answer = PassageTrimmer.trim(passage, question: "how do I select WAL journal mode", maxCharacters: 110)
        #expect(answer.contains("The journal_mode pragma selects WAL."))
        #expect(!answer.contains("collations"))
        #expect(answer.count <= 110)
    }
}
