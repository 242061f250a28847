import Foundation
import KnowledgeBase
import Retrieval

/// A retrieval evaluation set in BEIR layout: `corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`.
///
/// The corpus may instead be a folder of documents named by a one-line `corpus-path` file
/// (relative to the set, or absolute), whose document ids are the files' relative paths; that is how the
/// shipped SQLite set points at its documentation. Nothing is ever written into the set's folder.
public struct BEIRDataset: Sendable {
    public struct Query: Sendable, Hashable {
        public var id: String
        public var text: String
    }

    public enum Corpus: Sendable, Hashable {
        /// A BEIR `corpus.jsonl` file.
        case jsonl(URL)
        /// A folder ingested like `cascade ingest` does.
        case folder(URL)

        public var url: URL {
            switch self {
            case .jsonl(let url), .folder(let url): url
            }
        }
    }

    public var name: String
    public var root: URL
    public var corpus: Corpus
    public var queries: [Query]
    /// query id → (document id → graded relevance > 0).
    public var qrels: [String: [String: Int]]
    /// query id → strings one of which an answer must quote to answer it (`answers.jsonl`, optional).
    public var answerKeys: [String: [String]] = [:]

    /// Queries that have at least one relevant document: the ones metrics count.
    public var judgedQueries: [Query] { queries.filter { !(qrels[$0.id]?.isEmpty ?? true) } }

    public init(name: String, root: URL, corpus: Corpus, queries: [Query], qrels: [String: [String: Int]]) {
        self.name = name
        self.root = root
        self.corpus = corpus
        self.queries = queries
        self.qrels = qrels
    }

    /// Reads the set in `directory`, scored against `qrels/<split>.tsv` (BEIR's MS MARCO, for
    /// one, ships its judgments as `dev`).
    public static func load(_ directory: String, split: String = "test") throws(EvaluationError) -> BEIRDataset {
        guard !split.isEmpty, split.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw .invalidArgument(
                "--split is the name of a file in qrels/ without .tsv (test, dev, train), not \(split)")
        }
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingFile(
                path: directory, hint: "give a folder with corpus.jsonl, queries.jsonl and qrels/test.tsv")
        }
        let corpus: Corpus
        let jsonl = root.appendingPathComponent("corpus.jsonl")
        let pointer = root.appendingPathComponent("corpus-path")
        if FileManager.default.fileExists(atPath: jsonl.path) {
            corpus = .jsonl(jsonl)
        } else if let line = try? String(contentsOf: pointer, encoding: .utf8) {
            let path = line.trimmingCharacters(in: .whitespacesAndNewlines)
            // Empty, it would name the set's own folder: its queries and judgments, not a corpus.
            guard !path.isEmpty, !path.contains(where: \.isNewline) else {
                throw .missingFile(
                    path: pointer.path,
                    hint: "corpus-path must hold one line: the corpus folder, relative to the set or absolute")
            }
            let folder = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
            corpus = .folder(folder.standardizedFileURL)
        } else {
            throw .missingFile(
                path: jsonl.path, hint: "a BEIR set needs corpus.jsonl (or a corpus-path file naming a folder)")
        }
        let queries = try readQueries(root.appendingPathComponent("queries.jsonl"))
        let judgments = root.appendingPathComponent("qrels/\(split).tsv")
        if !FileManager.default.fileExists(atPath: judgments.path) {
            // Name the splits the set does have, rather than only the one it lacks.
            let others =
                ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("qrels").path))
                ?? []).filter { $0.hasSuffix(".tsv") }.map { String($0.dropLast(4)) }.sorted()
            if let other = others.first {
                throw .missingFile(
                    path: judgments.path,
                    hint:
                        "this set's judgments are \(others.map { "qrels/\($0).tsv" }.joined(separator: ", ")): pass --split \(other)"
                )
            }
        }
        let qrels = try readQrels(judgments)
        let name =
            root.lastPathComponent == "eval"
            ? root.deletingLastPathComponent().lastPathComponent : root.lastPathComponent
        var set = BEIRDataset(name: name, root: root, corpus: corpus, queries: queries, qrels: qrels)
        // A judged query that search refuses (empty, or longer than it takes) would stop a run
        // part-way, after the corpus is ingested: name it now.
        for query in set.judgedQueries {
            do { _ = try Retriever.validated(query: query.text, k: 10) } catch {
                throw .invalidArgument(
                    "\(root.appendingPathComponent("queries.jsonl").path): query \(query.id) cannot be searched: \(error.description)"
                )
            }
        }
        let answers = root.appendingPathComponent("answers.jsonl")
        if FileManager.default.fileExists(atPath: answers.path) { set.answerKeys = try readAnswerKeys(answers) }
        return set
    }

    /// Reads `answers.jsonl`: `{"_id": "q01", "contains": ["busy_timeout", …]}` per line.
    public static func readAnswerKeys(_ url: URL) throws(EvaluationError) -> [String: [String]] {
        struct Line: Decodable {
            var _id: String
            var contains: [String]
        }
        guard let data = try? Data(contentsOf: url), let text = LineEndings.text(data) else {
            throw .missingFile(path: url.path, hint: "answers.jsonl must be readable UTF-8")
        }
        var keys: [String: [String]] = [:]
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains(where: { !$0.isWhitespace }) {
            guard let entry = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)), !entry.contains.isEmpty,
                entry.contains.allSatisfy({ !$0.isEmpty })
            else {
                throw .malformed(
                    path: url.path, line: offset + 1, reason: "expected {\"_id\": …, \"contains\": [non-empty strings]}"
                )
            }
            keys[entry._id] = entry.contains
        }
        return keys
    }

    /// Reads a JSONL file of `{"_id", "text"}` questions (queries, or unanswerable ones).
    public static func readQueries(_ url: URL) throws(EvaluationError) -> [Query] {
        guard let data = try? Data(contentsOf: url), let text = LineEndings.text(data) else {
            throw .missingFile(path: url.path, hint: "expected one JSON object per line with _id and text")
        }
        var queries: [Query] = []
        var seen = Set<String>()
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { !$0.isWhitespace }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = (object["_id"] as? String) ?? (object["_id"] as? Int).map(String.init),
                let body = object["text"] as? String
            else {
                throw .malformed(
                    path: url.path, line: offset + 1, reason: "not a JSON object with \"_id\" and \"text\"")
            }
            guard seen.insert(id).inserted else {
                throw .malformed(path: url.path, line: offset + 1, reason: "duplicate _id \(id)")
            }
            queries.append(Query(id: id, text: body))
        }
        guard !queries.isEmpty else { throw .empty(path: url.path, what: "questions") }
        return queries
    }

    static func readQrels(_ url: URL) throws(EvaluationError) -> [String: [String: Int]] {
        guard let data = try? Data(contentsOf: url), let text = LineEndings.text(data) else {
            throw .missingFile(path: url.path, hint: "expected a TSV with header query-id, corpus-id, score")
        }
        var qrels: [String: [String: Int]] = [:]
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
            if fields.isEmpty || fields.allSatisfy(\.isEmpty) { continue }
            if offset == 0, fields.first == "query-id" { continue }
            guard fields.count >= 3, let score = Int(fields[2]) else {
                throw .malformed(path: url.path, line: offset + 1, reason: "expected query-id<TAB>corpus-id<TAB>score")
            }
            if score > 0 { qrels[fields[0], default: [:]][fields[1]] = score }
        }
        guard !qrels.isEmpty else { throw .empty(path: url.path, what: "relevance judgements") }
        return qrels
    }

    /// A stable fingerprint of the corpus's bytes (the eval cache key).
    public func corpusFingerprint() throws -> String {
        switch corpus {
        case .jsonl(let url):
            return SHA256.hex(try Data(contentsOf: url, options: .alwaysMapped))
        case .folder(let url):
            var parts: [String] = []
            let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey])
            while let file = enumerator?.nextObject() as? URL {
                let relative = String(file.standardizedFileURL.path.dropFirst(url.path.count))
                if let data = try? Data(contentsOf: file, options: .alwaysMapped) {
                    parts.append(relative + ":" + SHA256.hex(data))
                }
            }
            return SHA256.hex(parts.sorted().joined(separator: "\n"))
        }
    }
}
