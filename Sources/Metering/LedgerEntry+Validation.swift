import Foundation

extension LedgerEntry {
    /// Refuses what the ledger could not store exactly: SQLite binds text up to its first NUL, so a
    /// NUL would make the stored row differ from the hashed one (a false tampering alarm) and make
    /// `a\u{0}-1` and `a\u{0}-2` the same query id. Identifiers (query, tenant, conversation and
    /// user ids) may hold no control character at all.
    /// - Throws: ``LedgerError/invalidInput(_:)`` naming the field.
    public func validate() throws {
        let identifiers: [(String, String?)] = [
            ("query_id", queryID), ("tenant", tenant), ("conversation_id", conversationID), ("user_id", userID),
        ]
        for (name, value) in identifiers {
            guard let value else { continue }
            if value.isEmpty && name != "conversation_id" && name != "user_id" {
                throw LedgerError.invalidInput("\(name) is empty")
            }
            if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw LedgerError.invalidInput(
                    "\(name) contains a control character (such as NUL or a newline); ids must be printable")
            }
        }
        let texts: [(String, String?)] = [
            ("question", question), ("answer", answer), ("note", note), ("citations", citations), ("tier", tier),
            ("outcome", outcome),
        ]
        for (name, value) in texts where value?.utf8.contains(0) == true {
            throw LedgerError.invalidInput("\(name) contains a NUL character, which the ledger cannot store exactly")
        }
        if let evidence {
            guard evidence.utf8.count <= Evidence.maxBytes, Evidence(json: evidence) != nil else {
                throw LedgerError.invalidInput(
                    "evidence must be a JSON object of at most \(Evidence.maxBytes) bytes without NUL characters")
            }
        }
    }
}
