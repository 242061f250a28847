import Foundation
import Testing

@testable import Cascade

@Suite("Batch files of questions")
struct BatchLineTests {
    @Test("lines are numbered as an editor shows them, whether they end in LF, CRLF or CR; blank ones are skipped")
    func lineEnds() {
        for newline in ["\n", "\r\n", "\r"] {
            let file = ["{\"text\": \"one\"}", "", "{\"text\": \"three\"}", ""].joined(separator: newline)
            let lines = BatchLine.lines(of: Data(("\u{FEFF}" + file).utf8))
            #expect(lines.map(\.number) == [1, 3], "\(newline.debugDescription)")
            #expect(lines.map { String($0.text) } == ["{\"text\": \"one\"}", "{\"text\": \"three\"}"])
        }
    }
}
