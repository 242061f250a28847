import Foundation
import Metering

// A plan catalog parses or fails with one BillingError; alias bombs and deep nesting are refused
// quickly (libFuzzer's -timeout and -rss_limit_mb catch expansion).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if let catalog = try? PlanCatalog.parse(text, source: "plans.yaml") {
        for plan in catalog.plans { precondition(!plan.id.isEmpty, "a plan without an id") }
    }
    return 0
}
