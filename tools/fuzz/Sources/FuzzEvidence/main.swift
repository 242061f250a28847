import Foundation
import Metering

// Stored evidence and signatures come back from ledgers, archives and other nodes: any text gives
// evidence or nil, a signature or nil; what parses re-encodes to what parses the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: Data(bytes: start, count: count), as: UTF8.self)
    if let evidence = Evidence(json: text) {
        precondition(Evidence(json: evidence.json) == evidence, "evidence does not round-trip")
    }
    if let signature = QuestionSignature(hex: text) {
        precondition(QuestionSignature(hex: signature.hex) == signature, "signature does not round-trip")
        precondition(signature.distance(to: signature) == 0)
    }
    return 0
}
