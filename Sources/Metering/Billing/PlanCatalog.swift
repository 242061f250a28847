import Foundation
import Yams

/// The plans a deployment sells, from YAML. Shipped defaults (``defaultYAML``) can be replaced by
/// a file (`cascade plans list --plans FILE`, default `.cascade/plans.yaml` when present).
public struct PlanCatalog: Hashable, Sendable {
    public var plans: [Plan]

    public func plan(_ id: String) -> Plan? { plans.first { $0.id == id.lowercased() } }

    /// Self-serve plans from $0 to $149 a month, and Enterprise on negotiated terms.
    public static let defaultYAML = """
        # cascade plan catalog. Amounts in US dollars (exact decimals, quote them to be safe).
        plans:
          - id: free
            name: Free
            base_fee: "0"
            billing: [resolution]
            included_resolutions: 25
            resolution_price: "0.99"
            cap: "25.00"
          - id: starter
            name: Starter
            base_fee: "29"
            billing: [token, resolution]
            token_margin: "3.00"
            included_resolutions: 50
            resolution_price: "0.99"
          - id: pro
            name: Pro
            base_fee: "79"
            billing: [token, resolution, both]
            token_margin: "2.70"
            included_resolutions: 100
            resolution_tiers:
              - { up_to: 1000, price: "0.89" }
              - { price: "0.69" }
          - id: team
            name: Team
            base_fee: "149"
            billing: [token, resolution, both]
            token_margin: "2.70"
            included_resolutions: 300
            resolution_tiers:
              - { up_to: 5000, price: "0.79" }
              - { price: "0.59" }
            minimum: "49.00"
          - id: enterprise
            name: Enterprise
            base_fee: "0"
            billing: [token, resolution, both]
            token_margin: "2.70"
            resolution_price: "0.49"
            negotiated: true
        """

    public static let standard: PlanCatalog =
        (try? parse(defaultYAML, source: "built-in catalog")) ?? PlanCatalog(plans: [])

    /// Largest plan catalog accepted, in YAML nodes after expanding aliases.
    static let maxNodes = 20_000

    /// Nodes in `node` with aliases expanded, counting no further than just past `budget`.
    static func expandedSize(of node: Node, budget: Int) -> Int {
        var count = 0
        var stack = [node]
        while let next = stack.popLast() {
            count += 1
            if count > budget { return count }
            switch next {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append(key)
                    stack.append(value)
                }
            case .sequence(let sequence): stack.append(contentsOf: sequence)
            case .scalar, .alias: break
            }
        }
        return count
    }

    /// Reads a catalog; errors name the file, the plan and the field.
    public static func parse(_ text: String, source: String) throws(BillingError) -> PlanCatalog {
        let root: Any?
        do {
            // Aliases are shared, not copied, by the composer; expanding them (Yams.load) is
            // exponential in a hostile file (an alias bomb), so the expanded size is bounded first.
            if let composed = try Yams.compose(yaml: text) {
                guard Self.expandedSize(of: composed, budget: maxNodes) <= maxNodes else {
                    throw BillingError.invalidCatalog(
                        "\(source): expands to more than \(maxNodes) YAML nodes (aliases?); a plan catalog needs far fewer"
                    )
                }
            }
            root = try Yams.load(yaml: text)
        } catch let error as BillingError {
            throw error
        } catch {
            throw .invalidCatalog("\(source): not valid YAML (\(error))")
        }
        guard let top = root as? [String: Any], let list = top["plans"] as? [[String: Any]], !list.isEmpty else {
            throw .invalidCatalog("\(source): expected a `plans:` list")
        }
        var plans: [Plan] = []
        for entry in list {
            guard let id = (entry["id"] as? String)?.lowercased(), !id.isEmpty else {
                throw .invalidCatalog("\(source): every plan needs an `id`")
            }
            func money(_ key: String) throws(BillingError) -> Decimal? {
                guard let raw = entry[key] else { return nil }
                guard let value = Money.parse("\(raw)"), value >= 0 else {
                    throw .invalidCatalog("\(source): plan \(id): `\(key)` must be a non-negative amount, got \(raw)")
                }
                return value
            }
            var tiers: [Plan.Tier] = []
            if let raw = entry["resolution_tiers"] as? [[String: Any]] {
                for tier in raw {
                    guard let price = tier["price"].flatMap({ Money.parse("\($0)") }) else {
                        throw .invalidCatalog("\(source): plan \(id): every resolution tier needs a `price`")
                    }
                    tiers.append(Plan.Tier(upTo: tier["up_to"] as? Int, price: price))
                }
            } else if let price = try money("resolution_price") {
                tiers = [Plan.Tier(upTo: nil, price: price)]
            }
            var modes = Set<BillingMode>()
            for name in (entry["billing"] as? [String]) ?? ["token", "resolution"] {
                guard let mode = BillingMode(rawValue: name) else {
                    throw .invalidCatalog(
                        "\(source): plan \(id): unknown billing mode \(name) (token, resolution, both)")
                }
                modes.insert(mode)
            }
            guard let base = try money("base_fee") else {
                throw .invalidCatalog("\(source): plan \(id): `base_fee` is required")
            }
            plans.append(
                Plan(
                    id: id, name: entry["name"] as? String ?? id, baseFee: base, tokenMargin: try money("token_margin"),
                    resolutionTiers: tiers, includedResolutions: entry["included_resolutions"] as? Int ?? 0,
                    monthlyMinimum: try money("minimum"), monthlyCap: try money("cap"), billingModes: modes,
                    negotiated: entry["negotiated"] as? Bool ?? false))
        }
        return PlanCatalog(plans: plans)
    }

    /// The catalog at `path`, or the built-in one when `path` is nil and no default file exists.
    public static func load(path: String?) throws(BillingError) -> PlanCatalog {
        let chosen =
            path ?? (FileManager.default.fileExists(atPath: ".cascade/plans.yaml") ? ".cascade/plans.yaml" : nil)
        guard let chosen else { return standard }
        guard let text = try? String(contentsOfFile: chosen, encoding: .utf8) else {
            throw .invalidCatalog("\(chosen): cannot read the plan catalog")
        }
        return try parse(text, source: chosen)
    }
}
