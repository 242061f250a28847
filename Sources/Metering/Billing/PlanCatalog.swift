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
            workflows:
              "*": { per_successful_run: "0.99", included_runs: 20 }
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
            workflows:
              "*":
                included_runs: 100
                run_tiers:
                  - { up_to: 2000, price: "0.89" }
                  - { price: "0.69" }
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

    /// Keys a catalog may use; anything else (a misspelt `base_fe`) is an error with its line.
    static let planKeys: Set<String> = [
        "id", "name", "base_fee", "token_margin", "included_resolutions", "resolution_tiers", "resolution_price",
        "billing", "minimum", "cap", "negotiated", "bill", "workflows",
    ]
    static let tierKeys: Set<String> = ["up_to", "price"]
    static let workflowKeys: Set<String> = ["per_successful_run", "run_tiers", "included_runs"]

    /// The composed YAML as plain values (String, Int, Bool, arrays, string-keyed dictionaries),
    /// checking the shape on the way: mapping keys must be plain text (Yams' own conversion stops
    /// the process on a complex key such as `? [a]: b`), a key appears once, and keys are the
    /// catalog's own.
    static func plain(_ node: Node, source: String, path: [String] = []) throws(BillingError) -> Any {
        func line(_ node: Node) -> String { node.mark.map { " (line \($0.line))" } ?? "" }
        switch node {
        case .scalar:
            if let int = node.int { return int }
            if let bool = node.bool { return bool }
            return node.string ?? ""
        case .sequence(let sequence):
            var items: [Any] = []
            for item in sequence { items.append(try plain(item, source: source, path: path)) }
            return items
        case .mapping(let mapping):
            var dictionary: [String: Any] = [:]
            let allowed: Set<String>? =
                switch path.last {
                case nil: ["plans"]  // and anchor holders, below
                case "plans": planKeys
                case "resolution_tiers", "run_tiers": tierKeys
                case "workflows": nil  // workflow names
                default: path.dropLast().last == "workflows" ? workflowKeys : nil
                }
            for (keyNode, value) in mapping {
                guard case .scalar = keyNode, let key = keyNode.string else {
                    throw .invalidCatalog("\(source)\(line(keyNode)): a key must be plain text")
                }
                // At the top, `defaults` and `x-…` keys may hold anchors for the plans to reuse.
                let anchorHolder = path.isEmpty && (key == "defaults" || key.hasPrefix("x-"))
                if let allowed, !allowed.contains(key), !anchorHolder {
                    throw .invalidCatalog(
                        "\(source)\(line(keyNode)): unknown key `\(key)` (expected one of \(allowed.sorted().joined(separator: ", ")))"
                    )
                }
                guard dictionary[key] == nil else {
                    throw .invalidCatalog("\(source)\(line(keyNode)): `\(key)` appears twice")
                }
                dictionary[key] = try plain(value, source: source, path: path + [key])
            }
            return dictionary
        case .alias:
            throw .invalidCatalog("\(source)\(line(node)): an alias that does not resolve")
        }
    }

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
            root = try Yams.compose(yaml: text).map { try plain($0, source: source) }
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
                    let upTo = tier["up_to"] as? Int
                    if tier["up_to"] != nil, (upTo ?? 0) <= (tiers.last?.upTo ?? 0) {
                        throw .invalidCatalog(
                            "\(source): plan \(id): `up_to` must be a whole number above the previous tier's")
                    }
                    tiers.append(Plan.Tier(upTo: upTo, price: price))
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
            if let raw = entry["included_resolutions"], (raw as? Int).map({ $0 < 0 }) ?? true {
                throw .invalidCatalog("\(source): plan \(id): `included_resolutions` must be a whole number ≥ 0")
            }
            guard let base = try money("base_fee") else {
                throw .invalidCatalog("\(source): plan \(id): `base_fee` is required")
            }
            var basis = ResolutionBasis.confirmedAndAssumed
            if let raw = entry["bill"] {
                guard let name = raw as? String, let parsed = ResolutionBasis(rawValue: name) else {
                    throw .invalidCatalog(
                        "\(source): plan \(id): `bill` must be confirmed_only or confirmed_and_assumed")
                }
                basis = parsed
            }
            plans.append(
                Plan(
                    id: id, name: entry["name"] as? String ?? id, baseFee: base, tokenMargin: try money("token_margin"),
                    resolutionTiers: tiers, includedResolutions: entry["included_resolutions"] as? Int ?? 0,
                    monthlyMinimum: try money("minimum"), monthlyCap: try money("cap"), billingModes: modes,
                    negotiated: entry["negotiated"] as? Bool ?? false))
            plans[plans.count - 1].bill = basis
            plans[plans.count - 1].workflowPrices = try workflowPrices(entry["workflows"], plan: id, source: source)
        }
        return PlanCatalog(plans: plans)
    }

    /// A plan's `workflows:` mapping: per workflow name (or `*`), `per_successful_run` or
    /// `run_tiers`, and `included_runs`.
    static func workflowPrices(_ raw: Any?, plan id: String, source: String) throws(BillingError) -> [String: Plan
        .WorkflowPrice]
    {
        guard let raw else { return [:] }
        guard let mapping = raw as? [String: Any] else {
            throw .invalidCatalog("\(source): plan \(id): `workflows` maps workflow names to their prices")
        }
        var prices: [String: Plan.WorkflowPrice] = [:]
        for (name, value) in mapping {
            guard let entry = value as? [String: Any] else {
                throw .invalidCatalog(
                    "\(source): plan \(id): workflow \(name) needs `per_successful_run` or `run_tiers`")
            }
            var tiers: [Plan.Tier] = []
            if let rawTiers = entry["run_tiers"] as? [[String: Any]] {
                for tier in rawTiers {
                    guard let price = tier["price"].flatMap({ Money.parse("\($0)") }), price >= 0 else {
                        throw .invalidCatalog("\(source): plan \(id): every run tier of \(name) needs a `price`")
                    }
                    let upTo = tier["up_to"] as? Int
                    if tier["up_to"] != nil, (upTo ?? 0) <= (tiers.last?.upTo ?? 0) {
                        throw .invalidCatalog(
                            "\(source): plan \(id): workflow \(name): `up_to` must be a whole number above the previous tier's"
                        )
                    }
                    tiers.append(Plan.Tier(upTo: upTo, price: price))
                }
            } else if let rawPrice = entry["per_successful_run"] {
                guard let price = Money.parse("\(rawPrice)"), price >= 0 else {
                    throw .invalidCatalog(
                        "\(source): plan \(id): workflow \(name): `per_successful_run` must be a non-negative amount, got \(rawPrice)"
                    )
                }
                tiers = [Plan.Tier(upTo: nil, price: price)]
            } else {
                throw .invalidCatalog(
                    "\(source): plan \(id): workflow \(name) needs `per_successful_run` or `run_tiers`")
            }
            let included = entry["included_runs"] ?? 0
            guard let includedRuns = included as? Int, includedRuns >= 0 else {
                throw .invalidCatalog(
                    "\(source): plan \(id): workflow \(name): `included_runs` must be a whole number ≥ 0")
            }
            prices[name] = Plan.WorkflowPrice(tiers: tiers, includedRuns: includedRuns)
        }
        return prices
    }

    /// The catalog at `path`, or the built-in one when `path` is nil. Callers pass
    /// `<data>/plans.yaml` when it exists (``DataDirectory``); nothing here depends on the working
    /// directory.
    public static func load(path: String?) throws(BillingError) -> PlanCatalog {
        guard let chosen = path else { return standard }
        guard let text = try? String(contentsOfFile: chosen, encoding: .utf8) else {
            throw .invalidCatalog("\(chosen): cannot read the plan catalog")
        }
        return try parse(text, source: chosen)
    }
}
