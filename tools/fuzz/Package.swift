// swift-tools-version: 6.0
// Fuzz targets for cascade's parsers (libFuzzer). Not part of the main build: `tools/fuzz/run`
// builds them with --sanitize=fuzzer --sanitize=address and runs each for a bounded time.
import Foundation
import PackageDescription

// The main package is this folder's grandparent; SwiftPM names a path dependency after its folder.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

func target(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name, dependencies: products.map { .product(name: $0, package: rootIdentity) },
        swiftSettings: [.swiftLanguageMode(.v6)])
}

let package = Package(
    name: "cascade-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: root.path)],
    targets: [
        target("FuzzHTML", ["KnowledgeBase"]),
        target("FuzzMarkdown", ["KnowledgeBase"]),
        target("FuzzJSONL", ["KnowledgeBase"]),
        target("FuzzRules", ["Cascade"]),
        target("FuzzPlans", ["Metering"]),
        target("FuzzBatchLine", ["Cascade"]),
        target("FuzzZIPDirectory", ["KnowledgeBase"]),
        target("FuzzEvidence", ["Metering"]),
    ]
)
