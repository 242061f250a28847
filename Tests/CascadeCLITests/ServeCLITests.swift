import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `cascade serve` as an operator runs it: a real process, real signals, the ledger read back by
/// the CLI afterwards.
@Suite(.serialized) struct ServeCLITests {
    /// A running `cascade serve` on a free port.
    struct Server {
        let process: Process
        let port: Int
        let key: String
        let data: String

        static func start(_ dir: TemporaryDirectory, llm: URL?) async throws -> Server {
            let data = dir.path("data")
            if try await CLIProcess.run(["tenants", "create", "acme", "--data", data]).status != 0 {
                // Created by an earlier start in the same folder.
            }
            let created = try await CLIProcess.run([
                "keys", "create", "--tenant", "acme", "--scope", "admin", "--json", "--data", data,
            ])
            let key = try #require(try created.json()["key"] as? String)
            if let llm {
                _ = try dir.write(
                    "data/tenants/acme.yaml", "llm:\n  url: \"\(llm.absoluteString)/v1\"\n  model: \"slow\"\n")
            }
            return try Server.launch(data: data, key: key)
        }

        /// A JSON object from a response body (empty when it is not one).
        static func object(_ text: String?) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data((text ?? "").utf8))) as? [String: Any] ?? [:]
        }

        /// Waits until job `id` has finished and returns it (the bound only ends a broken test).
        func finishedJob(_ id: String) async throws -> [String: Any] {
            for _ in 0..<4800 {
                let job = Self.object(await request("GET", "/v1/jobs/\(id)")?.body)
                if job["finished_at"] is String { return job }
                try await Task.sleep(for: .milliseconds(25))
            }
            throw CLIProcess.CLIError("job \(id) did not finish")
        }

        static func launch(
            data: String, key: String, embedder: String = "hashing", environment: [String: String] = [:]
        ) throws -> Server {
            let (process, out, _) = try CLIProcess.start(
                ["serve", "--data", data, "--port", "0", "--embedder", embedder], environment: environment)
            var text = ""
            let deadline = Date().addingTimeInterval(120)
            while !text.contains("listening on"), Date() < deadline, process.isRunning {
                text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            }
            guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = Int(text[range].split(separator: ":").last ?? "")
            else { throw CLIProcess.CLIError("serve did not start: \(text)") }
            return Server(process: process, port: port, key: key, data: data)
        }

        /// Many connections at once (URLSession's default is 6 per host).
        static let session: URLSession = {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 256
            return URLSession(configuration: configuration)
        }()

        func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async
            -> (status: Int, body: String)?
        {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            request.timeoutInterval = 30
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            guard let (data, response) = try? await Self.session.data(for: request),
                let http = response as? HTTPURLResponse
            else { return nil }
            return (http.statusCode, String(decoding: data, as: UTF8.self))
        }

        func ask(_ id: String) async -> Int? {
            await request(
                "POST", "/v1/ask", body: "{\"question\":\"What is the warranty on order \(id)?\"}",
                headers: ["Idempotency-Key": id])?.status
        }

        /// Query ids of the tenant's query rows, read by the CLI from the ledger file.
        func recordedQueryIDs() async throws -> Set<String> {
            let shown = try await CLIProcess.run(["ledger", "show", "--tenant", "acme", "--json", "--data", data])
            var ids = Set<String>()
            for line in shown.stdout.split(separator: "\n") {
                guard let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    continue
                }
                if row["kind"] as? String == "query", let id = (row["query_id"] ?? row["queryID"]) as? String {
                    ids.insert(id)
                }
            }
            return ids
        }
    }

    /// A model endpoint that holds every request until `gate` opens, so questions are surely in
    /// progress when the signal comes, however slow the machine.
    static func heldModel(_ gate: Gate) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { _ in
            gate.wait()
            return .init(body: Data("{\"choices\":[]}".utf8))
        }
    }

    @Test func sigtermFinishesInFlightQuestionsAndEveryAnsweredOneIsInTheLedger() async throws {
        let dir = try TemporaryDirectory()
        let gate = Gate()
        let llm = try Self.heldModel(gate)
        defer {
            gate.open()
            llm.stop()
        }
        let server = try await Server.start(dir, llm: llm.baseURL)
        let upload = await server.request(
            "POST", "/v1/documents?name=warranty.md",
            body: "# Warranty\n\nEvery order has a two-year warranty covering parts and labour.\n")
        #expect(upload?.status == 202)
        // The passages must be in before the questions (without them the model is never asked).
        func object(_ text: String?) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data((text ?? "").utf8))) as? [String: Any] ?? [:]
        }
        let job = object(upload?.body)["job_id"] as? String ?? ""
        for _ in 0..<4800 {
            if object(await server.request("GET", "/v1/jobs/\(job)")?.body)["finished_at"] is String { break }
            try await Task.sleep(for: .milliseconds(25))
        }

        let (answered, reachedModel) = try await withThrowingTaskGroup(of: (String, Int?).self) { group in
            for i in 0..<24 {
                group.addTask { ("term-\(i)", await server.ask("term-\(i)")) }
            }
            // Signal once several questions are held at the model, then let the model answer:
            // they are in progress at SIGTERM by construction, not by timing.
            for _ in 0..<4800 where llm.requests.count < 8 { try await Task.sleep(for: .milliseconds(25)) }
            let reachedModel = llm.requests.count
            kill(server.process.processIdentifier, SIGTERM)
            gate.open()
            var answered: [String] = []
            for try await (id, status) in group where status == 200 { answered.append(id) }
            return (answered, reachedModel)
        }
        await server.process.exited()
        #expect(server.process.terminationStatus == 0)
        #expect(reachedModel >= 8)
        #expect(answered.count >= reachedModel, "questions in progress at SIGTERM are finished, not dropped")
        let recorded = try await server.recordedQueryIDs()
        #expect(
            Set(answered).isSubset(of: recorded), "answered but not recorded: \(Set(answered).subtracting(recorded))")
    }

    @Test func killDashNineUnderLoadLosesNoAnsweredQuestion() async throws {
        let dir = try TemporaryDirectory()
        let server = try await Server.start(dir, llm: nil)
        let answered = try await withThrowingTaskGroup(of: (String, Int?).self) { group in
            for i in 0..<200 {
                group.addTask { ("kill-\(i)", await server.ask("kill-\(i)")) }
            }
            try await Task.sleep(for: .milliseconds(120))
            kill(server.process.processIdentifier, SIGKILL)
            var answered: [String] = []
            for try await (id, status) in group where status == 200 { answered.append(id) }
            return answered
        }
        await server.process.exited()
        let recorded = try await server.recordedQueryIDs()
        #expect(answered.count < 200, "the kill came under load")
        #expect(
            Set(answered).isSubset(of: recorded), "answered but not recorded: \(Set(answered).subtracting(recorded))")
        // The service comes back on the same data and replays what it had answered.
        let again = try Server.launch(data: server.data, key: server.key)
        defer {
            kill(again.process.processIdentifier, SIGTERM)
            again.process.waitUntilExit()
        }
        if let first = answered.first {
            let replay = await again.request(
                "POST", "/v1/ask", body: "{\"question\":\"What is the warranty on order \(first)?\"}",
                headers: ["Idempotency-Key": first])
            #expect(replay?.body.contains("\"replayed\":true") == true)
        }
        let verify = try await CLIProcess.run(["ledger", "verify", "--data", server.data])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }

    @Test("uploads accepted (202) before a kill -9 are ingested after the restart, and their job ids stay readable")
    func acceptedUploadsSurviveKillDashNine() async throws {
        let dir = try TemporaryDirectory()
        // An embeddings endpoint that holds the documents' texts until the test opens the gate:
        // the jobs are surely unfinished when the node is killed, however fast the machine.
        let gate = Gate()
        let embeddings = try LoopbackHTTPServer { request in
            let input = request.json()?["input"] as? [String] ?? []
            if input.contains(where: { $0.contains("Durable") }) { gate.wait() }
            let data = input.enumerated().map { index, text in
                var vector = [Double](repeating: 0.1, count: 8)
                vector[text.utf8.count % 8] = 2
                return ["object": "embedding", "index": index, "embedding": vector] as [String: Any]
            }
            return .json(["object": "list", "data": data, "model": "fake"])
        }
        defer {
            gate.open()
            embeddings.stop()
        }
        let environment = [
            "CASCADE_EMBEDDINGS_URL": embeddings.baseURL.appendingPathComponent("v1").absoluteString,
            "CASCADE_EMBEDDINGS_MODEL": "fake",
        ]
        let data = dir.path("data")
        _ = try await CLIProcess.run(["tenants", "create", "acme", "--data", data])
        let created = try await CLIProcess.run([
            "keys", "create", "--tenant", "acme", "--scope", "admin", "--json", "--data", data,
        ])
        let key = try #require(try created.json()["key"] as? String)
        let first = try Server.launch(data: data, key: key, embedder: "http", environment: environment)
        var jobs: [String] = []
        for topic in ["warranty", "returns"] {
            let upload = await first.request(
                "POST", "/v1/documents?name=\(topic).md",
                body: "# Durable \(topic)\n\nThe \(topic) policy covers every order for two years.\n")
            #expect(upload?.status == 202, "\(upload?.body ?? "no reply")")
            jobs.append(try #require(Server.object(upload?.body)["job_id"] as? String))
        }
        for _ in 0..<4800
        where !embeddings.requests.contains(where: { $0.json()?.description.contains("Durable") == true }) {
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(first.process.processIdentifier, SIGKILL)
        await first.process.exited()
        gate.open()

        let second = try Server.launch(data: data, key: key, embedder: "http", environment: environment)
        for id in jobs {
            let job = try await second.finishedJob(id)
            #expect(job["status"] as? String == "succeeded", "\(job)")
            #expect(job["resumed_after_restart"] as? Bool == true, "\(job)")
        }
        let listed = Server.object(await second.request("GET", "/v1/documents")?.body)
        #expect((listed["documents"] as? [Any])?.count == 2, "\(listed)")
        let staged =
            (try? FileManager.default.contentsOfDirectory(atPath: "\(data)/tenants/acme/uploads/.incoming")) ?? []
        #expect(staged.isEmpty, "nothing left staged: \(staged)")
        kill(second.process.processIdentifier, SIGTERM)
        await second.process.exited()

        // Finished jobs are still readable by id after another restart.
        let third = try Server.launch(data: data, key: key, embedder: "http", environment: environment)
        defer {
            kill(third.process.processIdentifier, SIGTERM)
            third.process.waitUntilExit()
        }
        for id in jobs {
            let shown = await third.request("GET", "/v1/jobs/\(id)")
            #expect(shown?.status == 200 && Server.object(shown?.body)["status"] as? String == "succeeded")
        }
        let listedJobs = Server.object(await third.request("GET", "/v1/jobs")?.body)
        #expect((listedJobs["jobs"] as? [[String: Any]])?.count == 2, "\(listedJobs)")
    }
}
