import Foundation
import HTTPTypes

/// A question as the service stores it: NFC-normalised, and within the length limit counted three
/// ways.
///
/// Counting characters alone let a question of one letter and 300,000 combining marks pass a
/// 2,000-character limit as 57 "characters" and be stored whole (600–900 KB) in the append-only
/// ledger. So the limit holds for characters (what a person sees), Unicode scalars (at most
/// twice the character limit: enough for any accented or emoji-rich text) and UTF-8 bytes (at
/// most eight times: four-byte scripts and emoji sequences fit), all measured after
/// normalisation, which is also what is stored (so `é` typed two ways is one question).
enum QuestionText {
    static func checked(_ raw: String, maxCharacters limit: Int) throws -> String {
        // Measure before normalising too: normalising a huge input costs time in proportion to it.
        let (scalarLimit, byteLimit) = (2 * limit, 8 * limit)
        guard raw.utf8.count <= 2 * byteLimit else { throw tooLong(raw, limit: limit) }
        let text = raw.precomposedStringWithCanonicalMapping
        guard text.count <= limit, text.unicodeScalars.count <= scalarLimit, text.utf8.count <= byteLimit else {
            throw tooLong(text, limit: limit)
        }
        if text.unicodeScalars.contains("\u{0}") {
            throw Problem.unprocessable("\"question\" must not contain NUL characters")
        }
        return text
    }

    private static func tooLong(_ text: String, limit: Int) -> Problem {
        Problem(
            .unprocessableContent, code: "question-too-long", title: "Question too long",
            detail:
                "the question has \(text.count) characters, \(text.unicodeScalars.count) Unicode scalars and "
                + "\(text.utf8.count) bytes; the limits are \(limit) characters, \(2 * limit) scalars and "
                + "\(8 * limit) bytes. Nothing was recorded.")
    }
}
