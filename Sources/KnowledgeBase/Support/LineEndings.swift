import Foundation

/// Line endings as Windows tools write them (CRLF) or old Mac ones (CR), made LF, before any
/// reader splits a user's file into lines.
///
/// Swift reads "\r\n" as one `Character`, so splitting a CRLF file on "\n" finds no line break at
/// all: a corpus.jsonl saved on Windows was one malformed "line", a text file one paragraph, a
/// qrels file its header alone. Every reader of user files normalises first.
public enum LineEndings {
    /// `bytes` without a leading UTF-8 byte-order mark, with every CRLF and lone CR made LF.
    public static func normalized(_ bytes: [UInt8]) -> [UInt8] {
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard bytes[start...].contains(0x0D) else { return start == 0 ? bytes : Array(bytes[start...]) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count - start)
        var i = start
        while i < bytes.count {
            if bytes[i] == 0x0D {
                out.append(0x0A)
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
            } else {
                out.append(bytes[i])
            }
            i += 1
        }
        return out
    }

    /// The text of a UTF-8 file, normalised; nil when it is not valid UTF-8.
    public static func text(_ data: Data) -> String? {
        String(validating: normalized([UInt8](data)), as: UTF8.self)
    }
}
