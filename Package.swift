// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "cascade",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cascade", targets: ["cascade"]),
        .executable(name: "cascade-bench-embed", targets: ["EmbeddingBenchmark"]),
        .executable(name: "cascade-bench-vectors", targets: ["VectorBenchmark"]),
        .executable(name: "cascade-bench-billing", targets: ["BillingBenchmark"]),
        .executable(name: "cascade-bench-ledger", targets: ["LedgerBenchmark"]),
        .library(name: "VectorSearch", targets: ["VectorSearch"]),
        .library(name: "Embeddings", targets: ["Embeddings"]),
        .library(name: "KnowledgeBase", targets: ["KnowledgeBase"]),
        .library(name: "Retrieval", targets: ["Retrieval"]),
        .library(name: "Metering", targets: ["Metering"]),
        .library(name: "Cascade", targets: ["Cascade"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libblas-dev", "libopenblas-dev"])]
        ),
        .target(
            name: "VectorSearch",
            dependencies: ["CBLAS", "CKernels"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CKernels",
            cSettings: [
                // Vectorised kernels even in debug builds; no fast-math (see kernels.c).
                .unsafeFlags(["-O3", "-ffp-contract=fast", "-fno-math-errno"])
            ]
        ),
        .target(
            name: "Embeddings",
            dependencies: ["VectorSearch", "CBLAS", "CKernels"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KnowledgeBase",
            dependencies: [
                "Embeddings",
                "VectorSearch",
                // XXH64 of stored vector packs.
                "CKernels",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API, for incremental blob reads of single vectors.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Retrieval",
            dependencies: ["KnowledgeBase", "Embeddings", "VectorSearch"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Metering",
            dependencies: [
                "KnowledgeBase", "Yams", .product(name: "GRDB", package: "GRDB.swift"),
                // Ed25519 signatures for ledger checkpoints.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL backend of the stores (several nodes, one database); its own module so
        // the core modules and their tests do not depend on postgres-nio.
        .target(
            name: "PostgresStorage",
            dependencies: [
                "Metering", "KnowledgeBase", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Cascade",
            dependencies: ["Retrieval", "KnowledgeBase", "Embeddings", "VectorSearch", "Metering", "Yams"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Evaluation",
            dependencies: ["Cascade", "Retrieval", "KnowledgeBase", "Embeddings", "Metering", "VectorSearch"],
            swiftSettings: swiftSettings
        ),
        // The HTTP service: routes, API keys, tenants, limits, metrics. Only the CLI and its own
        // tests depend on it, so the core modules' test targets never build the server stack.
        .target(
            name: "Server",
            dependencies: [
                "Cascade", "Metering", "Retrieval", "KnowledgeBase", "Embeddings", "PostgresStorage", "Evaluation",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The Model Context Protocol server (`/mcp` and `cascade mcp`).
                .product(name: "MCP", package: "swift-sdk"),
                // HMAC-signed dashboard sessions and CSRF tokens.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cascade",
            dependencies: [
                "Server", "PostgresStorage",
                "Cascade", "Evaluation", "Metering", "Retrieval", "KnowledgeBase", "Embeddings", "VectorSearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "LedgerBenchmark",
            dependencies: ["Metering", "PostgresStorage"],
            path: "Benchmarks/LedgerBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "EmbeddingBenchmark",
            dependencies: ["Embeddings", "KnowledgeBase", "VectorSearch", "CBLAS"],
            path: "Benchmarks/EmbeddingBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "VectorBenchmark",
            dependencies: ["KnowledgeBase", "VectorSearch", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Benchmarks/VectorBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "BillingBenchmark",
            dependencies: ["Metering"],
            path: "Benchmarks/BillingBenchmark",
            swiftSettings: swiftSettings
        ),
        // A real HTTP server on loopback for tests of clients of outside services (test-only).
        .target(
            name: "TestSupport",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VectorSearchTests",
            dependencies: ["VectorSearch", "CBLAS"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmbeddingsTests",
            dependencies: ["Embeddings", "VectorSearch", "TestSupport", "CKernels"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KnowledgeBaseTests",
            dependencies: [
                "KnowledgeBase", "Embeddings", "VectorSearch", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CascadeCLITests",
            dependencies: ["TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CascadeTests",
            dependencies: ["Cascade", "Metering", "Retrieval", "KnowledgeBase", "Embeddings", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        // Every LedgerStore promise, run against SQLite and PostgreSQL alike.
        .testTarget(
            name: "LedgerStoreTests",
            dependencies: [
                "Metering", "PostgresStorage", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeteringTests",
            dependencies: [
                "Metering", "KnowledgeBase", "VectorSearch", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: [
                "Evaluation", "Cascade", "Metering", "Retrieval", "KnowledgeBase", "Embeddings", "TestSupport",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Cascade", "Metering", "KnowledgeBase", "Embeddings", "TestSupport", "PostgresStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RetrievalTests",
            dependencies: ["Retrieval", "KnowledgeBase", "Embeddings"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
