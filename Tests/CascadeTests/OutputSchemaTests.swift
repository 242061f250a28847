import Foundation
import Testing

@testable import Cascade

/// The output check of workflow runs: the JSON Schema keywords it supports, the ones it refuses,
/// and hostile schemas and outputs.
@Suite("Workflow output schemas")
struct OutputSchemaTests {
    static func value(_ json: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
    }

    static let refund = """
        {"type": "object", "required": ["decision", "amount"], "additionalProperties": false,
         "properties": {"decision": {"enum": ["approve", "decline"]}, "amount": {"type": "number", "minimum": 0},
                        "note": {"type": "string", "maxLength": 10, "pattern": "^[a-z ]+$"},
                        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 3}}}
        """

    @Test("objects, enums, numbers, strings, arrays and their limits are checked, naming where it fails")
    func keywords() throws {
        let schema = try OutputSchema(json: Self.refund)
        #expect(schema.failure(of: try Self.value(#"{"decision": "approve", "amount": 42.5}"#)) == nil)
        #expect(
            schema.failure(
                of: try Self.value(#"{"decision": "approve", "amount": 0, "note": "ok", "tags": ["a", "b"]}"#)) == nil)
        let cases: [(String, String)] = [
            (#"{"decision": "maybe", "amount": 1}"#, "$.decision"),
            (#"{"decision": "approve"}"#, "missing required property amount"),
            (#"{"decision": "approve", "amount": -1}"#, "$.amount: below the minimum"),
            (#"{"decision": "approve", "amount": "1"}"#, "$.amount: expected number, got string"),
            (#"{"decision": "approve", "amount": true}"#, "expected number, got boolean"),
            (#"{"decision": "approve", "amount": 1, "extra": 1}"#, "$.extra: property not allowed"),
            (#"{"decision": "approve", "amount": 1, "note": "Not Lower"}"#, "$.note: does not match the pattern"),
            (#"{"decision": "approve", "amount": 1, "note": "much too long here"}"#, "longer than 10"),
            (#"{"decision": "approve", "amount": 1, "tags": ["a", "a"]}"#, "not unique"),
            (#"{"decision": "approve", "amount": 1, "tags": ["a", 2]}"#, "$.tags[1]"),
            (#"[1, 2]"#, "expected object, got array"),
            (#"null"#, "expected object, got null"),
        ]
        for (output, why) in cases {
            let failure = schema.failure(of: try Self.value(output))
            #expect(failure?.contains(why) == true, "\(output): \(failure ?? "passed")")
        }
        let integer = try OutputSchema(json: #"{"type": "integer", "multipleOf": 5}"#)
        #expect(integer.failure(of: try Self.value("10")) == nil)
        #expect(integer.failure(of: try Self.value("10.5")) != nil)
        #expect(integer.failure(of: try Self.value("12")) != nil)
        let choice = try OutputSchema(
            json: #"{"oneOf": [{"type": "string"}, {"type": "integer"}], "not": {"const": "x"}}"#)
        #expect(choice.failure(of: try Self.value(#""y""#)) == nil)
        #expect(choice.failure(of: try Self.value(#""x""#)) != nil)
        #expect(choice.failure(of: try Self.value("1.5")) != nil)
    }

    @Test("keywords it cannot check are refused when the settings load, never skipped")
    func unsupportedKeywordsAreRefused() {
        for schema in [
            ##"{"$ref": "#/defs/x"}"##, #"{"if": {"type": "string"}, "then": {}}"#, #"{"format": "email"}"#,
            #"{"type": "decimal"}"#, #"{"minimum": "3"}"#, #"{"properties": {"a": {"patternProperties": {}}}}"#, "[]",
            "nope",
        ] {
            #expect(throws: OutputSchemaError.self, "\(schema)") { try OutputSchema(json: schema) }
        }
        // Nesting is bounded.
        let deep = String(repeating: #"{"items": "#, count: 40) + "true" + String(repeating: "}", count: 40)
        #expect(throws: OutputSchemaError.self) { try OutputSchema(json: deep) }
    }

    @Test("a pathological pattern and a huge output are checked in linear time")
    func hostileInput() throws {
        let schema = try OutputSchema(json: #"{"type": "string", "pattern": "^(a+)+$"}"#)
        let text = String(repeating: "a", count: 100_000) + "!"
        #expect(schema.failure(of: text) != nil)
        let list = try OutputSchema(json: #"{"type": "array", "items": {"type": "integer"}}"#)
        #expect(list.failure(of: Array(repeating: 1, count: 200_000) as [Any]) == nil)
    }

    @Test("workflow settings load from YAML or JSON text; unknown settings and bad schemas are refused")
    func settings() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ text: String) throws {
            try Data(text.utf8).write(to: folder.appendingPathComponent("acme.yaml"))
        }
        try write(
            """
            workflows:
              refund-approval:
                description: Refunds
                output_schema:
                  type: object
                  required: [decision]
                  properties:
                    decision: { enum: [approve, decline] }
                    amount: { type: number, minimum: 0 }
              kyc:
                output_schema: '{"type": "object", "required": ["verified"]}'
            """)
        let loaded = try TenantConfiguration.load(tenant: "acme", directory: folder.path)
        let refund = try #require(try loaded.workflows?["refund-approval"]?.check())
        #expect(refund.failure(of: try Self.value(#"{"decision": "approve", "amount": 3}"#)) == nil)
        #expect(refund.failure(of: try Self.value(#"{"decision": "nope"}"#)) != nil)
        #expect(try loaded.workflows?["kyc"]?.check()?.failure(of: try Self.value("{}")) != nil)
        // Written back and read again: the same checks.
        try loaded.save(tenant: "acme", directory: folder.path)
        let again = try TenantConfiguration.load(tenant: "acme", directory: folder.path)
        #expect(
            try again.workflows?["refund-approval"]?.check()?.failure(of: try Self.value(#"{"decision": "x"}"#)) != nil)

        try write("workflows:\n  refund-approval:\n    output_schem: {}\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "acme", directory: folder.path) }
        try write("workflows:\n  refund-approval:\n    output_schema: { type: object, format: uuid }\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "acme", directory: folder.path) }
    }
}
