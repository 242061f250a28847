import Foundation
import KnowledgeBase
import Metering

/// One line of a batch file (`cascade ask --batch`): a JSON object with `text` and optionally
/// `query_id` (or BEIR's `_id`), `conversation_id`, `user_id`, `occurred_at`.
///
/// The parser is what fuzzing exercises: any bytes give a ``Question`` or one ``LedgerError``
/// naming the line, in time linear in the line's length.
public struct BatchLine: Decodable, Sendable {
    public var query_id: String?
    public var _id: String?
    public var text: String?
    public var conversation_id: String?
    public var user_id: String?
    public var occurred_at: String?

    /// The question on `raw` (line `number`, counted from 1), for `tenant`.
    /// - Parameter conversation: the conversation of lines that name none.
    public static func parse(
        _ raw: some StringProtocol, number: Int, tenant: String, conversation: String? = nil, now: Date = Date()
    ) throws(LedgerError) -> Question {
        guard let line = try? JSONDecoder().decode(BatchLine.self, from: Data(raw.utf8)) else {
            throw .invalidInput("line \(number): not a JSON object with \"query_id\" and \"text\"")
        }
        guard let text = line.text else { throw .invalidInput("line \(number): missing \"text\"") }
        var occurred = now
        if let stamp = line.occurred_at {
            guard let date = Timestamp.parse(stamp) else {
                throw .invalidInput(
                    "line \(number): occurred_at must be an existing ISO 8601 time, e.g. 2026-11-26T10:00:00Z or 2026-11-26T11:00:00.250+01:00"
                )
            }
            occurred = date
        }
        return Question(
            queryID: line.query_id ?? line._id ?? UUID().uuidString.lowercased(), tenant: tenant,
            conversationID: line.conversation_id ?? conversation, userID: line.user_id, text: text,
            occurredAt: occurred)
    }

    /// The lines of a batch file that hold something (blank lines are not questions), with their
    /// line numbers.
    public static func lines(of data: Data) -> [(number: Int, text: Substring)] {
        String(decoding: LineEndings.normalized([UInt8](data)), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
            .filter { !$0.element.allSatisfy(\.isWhitespace) }
            .map { ($0.offset + 1, $0.element) }
    }
}
