/// Billing problems, each saying what to fix.
public enum BillingError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidCatalog(String)
    case unknownPlan(String, known: [String])
    case modeNotOffered(plan: String, mode: String)
    case invalidMonth(String)
    case invalidTimeZone(String)
    case noBillingSettings(tenant: String)
    case invoiceFinalized(tenant: String, month: String)

    public var description: String {
        switch self {
        case .invalidCatalog(let message): message
        case .unknownPlan(let id, let known): "unknown plan '\(id)'; plans: \(known.joined(separator: ", "))"
        case .modeNotOffered(let plan, let mode): "plan \(plan) does not offer \(mode) billing"
        case .invalidMonth(let text): "invalid month '\(text)': use YYYY-MM (e.g. 2026-11) or a range YYYY-MM..YYYY-MM"
        case .invalidTimeZone(let text): "unknown time zone '\(text)': use an IANA name such as Europe/Berlin or UTC"
        case .noBillingSettings(let tenant):
            "tenant \(tenant) has no plan yet: run `cascade tenants set \(tenant) --plan pro --billing resolution`"
        case .invoiceFinalized(let tenant, let month):
            "the invoice of \(tenant) for \(month) is final and never changes; corrections go onto the next invoice"
        }
    }
}
