import Foundation
import Testing

@testable import Metering

/// A plan catalog is read by every billing command: a hostile file gets an error, not hours of work.
@Suite("Plan catalog against hostile YAML")
struct PlanCatalogHostileTests {
    /// The "billion laughs": each level holds ten aliases of the one before (10⁹ leaves in 9 levels).
    static let aliasBomb: String = {
        var lines = [#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append(
                "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ",") + "]")
        }
        lines.append("plans: [*i]")
        return lines.joined(separator: "\n")
    }()

    @Test("an alias bomb is refused without expanding it")
    func aliasBomb() {
        #expect(Self.aliasBomb.utf8.count < 700)
        #expect {
            try PlanCatalog.parse(Self.aliasBomb, source: "bomb.yaml")
        } throws: { error in
            "\(error)".contains("bomb.yaml") && "\(error)".contains("nodes")
        }
    }

    @Test("ordinary aliases in a small catalog still work")
    func smallAliases() throws {
        let text = """
            defaults: &pro { base_fee: "79", billing: [resolution], resolution_price: "0.89" }
            plans:
              - { id: pro, name: Pro, base_fee: "79", billing: [resolution], resolution_price: "0.89" }
            """
        let catalog = try PlanCatalog.parse(text, source: "ok.yaml")
        #expect(catalog.plan("pro") != nil)
    }

    @Test(
        "a complex key (found by fuzzing: Yams' conversion stopped the process) and a misspelt key are errors with their line"
    )
    func complexAndMisspeltKeys() throws {
        let crash = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../tools/fuzz/seeds/FuzzPlans/crash-complex-key.yaml"), encoding: .utf8)
        #expect(throws: BillingError.self) { try PlanCatalog.parse(crash, source: "fuzz.yaml") }
        #expect {
            try PlanCatalog.parse("plans:\n  - id: pro\n    base_fe: \"79\"\n", source: "typo.yaml")
        } throws: { error in
            "\(error)".contains("line 3") && "\(error)".contains("base_fe")
        }
        #expect(throws: BillingError.self) {
            try PlanCatalog.parse(
                "plans:\n  - id: pro\n    base_fee: \"79\"\n    included_resolutions: -5\n", source: "neg.yaml")
        }
    }
}
