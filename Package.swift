// swift-tools-version:6.1
import PackageDescription

// One package, one build: shared modules under Shared/, one library + thin executable per
// service under Services/, the operator tool under Tools/, tests under Tests/.
// Every target lists exactly the modules its sources import (nothing reaches a dependency
// through another module); the executables' libraries pull in what they run.
// How the deployed executables (the four services) are linked in release builds on Linux,
// to keep what each process maps at start small (docs/benchmarks.md, "Idle RSS: linking"):
// LLVM's lld instead of gold, so relative relocations are packed (`-z pack-relative-relocs`,
// DT_RELR: 11 KB instead of 1.4 MB the loader reads at start) and nothing is exported to the
// dynamic symbol table (`--no-export-dynamic`; no plugin loads symbols from the executable,
// and Swift's backtracer reads the file's own symbol table).
let deployedExecutableLinking: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
         "-Xlinker", "--no-export-dynamic"],
        .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "movr",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "movr-gateway", targets: ["movr-gateway"]),
        .executable(name: "movr-users", targets: ["movr-users"]),
        .executable(name: "movr-vehicles", targets: ["movr-vehicles"]),
        .executable(name: "movr-rides", targets: ["movr-rides"]),
        .executable(name: "movr", targets: ["movr"]),
        // For the separate packages under Benchmarks/ (micro-benchmarks) and Fuzz/ (libFuzzer).
        .library(name: "MovRPostgres", targets: ["MovRPostgres"]),
        .library(name: "MovRRPC", targets: ["MovRRPC"]),
        .library(name: "MovRAPI", targets: ["MovRAPI"]),
        .library(name: "MovRLocality", targets: ["MovRLocality"]),
        .library(name: "MovRInternalAPI", targets: ["MovRInternalAPI"]),
        .library(name: "MovRRPCTransport", targets: ["MovRRPCTransport"]),
        .library(name: "MovRService", targets: ["MovRService"]),
        // For the micro-benchmarks (Benchmarks/): the listing's page writer.
        .library(name: "MovRVehicles", targets: ["MovRVehicles"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Latency histograms of `movr load` (MovRTool only).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // Child processes of the development tooling (MovRDevTools only; no service links them).
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // FileDescriptor and FilePath for swift-subprocess's API (Apple platforms: System).
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        // C system libraries with shim headers for what Swift cannot import (macros).
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Shared/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // Shared platform.
        // Civil dates <-> days and epoch counts under RFC 3339 (MovRAPI) and PostgreSQL timestamps.
        .target(name: "MovRCalendar", dependencies: [], path: "Shared/MovRCalendar"),
        .target(name: "MovRUUID", dependencies: [], path: "Shared/MovRUUID"),
        // The decisions of a bounded connection pool, without IO (database and RPC pools).
        .target(name: "MovRPool", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                path: "Shared/MovRPool"),
        .target(
            name: "MovRPostgres",
            dependencies: [
                "CLibPQ",
                "MovRCalendar",
                "MovRPool",
                "MovRUUID",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/MovRPostgres"),
        .target(
            name: "MovRTLS",
            dependencies: [
                "COpenSSL",
                "MovRCrypto",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/MovRTLS"),
        .target(
            name: "MovRRPC",
            dependencies: [
                "MovRUUID",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/MovRRPC"),
        .target(
            name: "MovRRPCTransport",
            dependencies: [
                "MovRCrypto",
                "MovRPool",
                "MovRRPC",
                "MovRTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/MovRRPCTransport"),
        .target(name: "MovRCrypto", dependencies: ["COpenSSL"], path: "Shared/MovRCrypto"),
        .target(name: "MovRLocality", dependencies: [], path: "Shared/MovRLocality"),
        .target(name: "MovRAPI", dependencies: ["MovRCalendar", "MovRRPC", "MovRUUID"], path: "Shared/MovRAPI"),
        .target(name: "MovRInternalAPI", dependencies: ["MovRAPI", "MovRCrypto", "MovRRPC", "MovRUUID"], path: "Shared/MovRInternalAPI"),
        .target(
            name: "MovRService",
            dependencies: [
                "MovRCrypto",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/MovRService"),

        // Database access for the services that own a database; the gateway does not link libpq.
        .target(
            name: "MovRServiceDatabase",
            dependencies: [
                "MovRInternalAPI",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Shared/MovRServiceDatabase"),

        // Services: domain logic in a library, a thin @main executable each.
        .target(
            name: "MovRVehicles",
            dependencies: [
                "MovRAPI",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRServiceDatabase",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Vehicles/Sources"),
        .executableTarget(
            name: "movr-vehicles",
            dependencies: ["MovRService", "MovRVehicles"],
            path: "Services/Vehicles/Main",
            linkerSettings: deployedExecutableLinking),
        .target(
            name: "MovRUsers",
            dependencies: [
                "MovRAPI",
                "MovRCrypto",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRServiceDatabase",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Users/Sources"),
        .executableTarget(
            name: "movr-users",
            dependencies: ["MovRService", "MovRUsers"],
            path: "Services/Users/Main",
            linkerSettings: deployedExecutableLinking),
        .target(
            name: "MovRRides",
            dependencies: [
                "MovRAPI",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRServiceDatabase",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Rides/Sources"),
        .executableTarget(
            name: "movr-rides",
            dependencies: ["MovRRides", "MovRService"],
            path: "Services/Rides/Main",
            linkerSettings: deployedExecutableLinking),
        .target(
            name: "MovRGateway",
            dependencies: [
                "MovRAPI",
                "MovRCrypto",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRTLS",
                "MovRUUID",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Services/Gateway/Sources"),
        .executableTarget(
            name: "movr-gateway",
            dependencies: ["MovRGateway", "MovRService"],
            path: "Services/Gateway/Main",
            linkerSettings: deployedExecutableLinking),

        // WAN simulator: latency-injecting TCP proxies for `movr up --wan`.
        .target(
            name: "MovRWAN",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tools/MovRWAN"),

        // Development tooling for `movr` and the tests, never linked by a service: the local
        // PostgreSQL cluster, certificate generation and child processes.
        .target(
            name: "MovRDevTools",
            dependencies: [
                "COpenSSL",
                "MovRPostgres",
                "MovRTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system", condition: .when(platforms: [.linux])),
            ],
            path: "Tools/MovRDevTools"),

        // Operator tool.
        .target(
            name: "MovRTool",
            dependencies: [
                "MovRAPI",
                "MovRCrypto",
                "MovRDevTools",
                "MovRGateway",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRRides",
                "MovRService",
                "MovRServiceDatabase",
                "MovRTLS",
                "MovRUsers",
                "MovRUUID",
                "MovRVehicles",
                "MovRWAN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tools/MovRTool"),
        .executableTarget(name: "movr", dependencies: ["MovRCrypto", "MovRTool"], path: "Tools/movr"),

        // Tests.
        .target(
            name: "MovRTestSupport",
            dependencies: [
                "MovRDevTools",
                "MovRPostgres",
                "MovRTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/MovRTestSupport"),
        .testTarget(name: "MovRPoolTests", dependencies: ["MovRPool"]),
        .testTarget(name: "MovRPostgresTests", dependencies: [
            "MovRPool", "MovRPostgres", "MovRTestSupport", .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(
            name: "MovRTLSTests",
            dependencies: [
                "COpenSSL",
                "MovRDevTools",
                "MovRTLS",
                "MovRTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "MovRRPCTests",
            dependencies: [
                "MovRRPC",
                "MovRUUID",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(
            name: "MovRRPCTransportTests",
            dependencies: [
                "MovRRPC",
                "MovRRPCTransport",
                "MovRTLS",
                "MovRTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(name: "MovRCalendarTests", dependencies: ["MovRCalendar"]),
        .testTarget(name: "MovRLocalityTests", dependencies: ["MovRLocality"]),
        .testTarget(
            name: "MovRAPITests",
            dependencies: [
                "MovRAPI",
                "MovRInternalAPI",
                "MovRRPC",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(
            name: "MovRUsersTests",
            dependencies: [
                "MovRAPI",
                "MovRCrypto",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRTLS",
                "MovRTestSupport",
                "MovRUsers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "MovRGatewayTests",
            dependencies: [
                "MovRAPI",
                "MovRGateway",
                "MovRInternalAPI",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "MovRVehiclesTests",
            dependencies: [
                "MovRAPI",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRService",
                "MovRServiceDatabase",
                "MovRTestSupport",
                "MovRVehicles",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "MovRRidesTests",
            dependencies: [
                "MovRAPI",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRRides",
                "MovRService",
                "MovRTLS",
                "MovRTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "MovRToolTests",
            dependencies: [
                "MovRAPI",
                "MovRDevTools",
                "MovRGateway",
                "MovRInternalAPI",
                "MovRLocality",
                "MovRPostgres",
                "MovRRPC",
                "MovRRPCTransport",
                "MovRService",
                "MovRServiceDatabase",
                "MovRTLS",
                "MovRTestSupport",
                "MovRTool",
                "MovRVehicles",
                "MovRWAN",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MovRAPI",
                "MovRDevTools",
                "MovRGateway",
                "MovRInternalAPI",
                "MovRPostgres",
                "MovRRPC",
                "MovRService",
                "MovRTestSupport",
                "MovRTool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)

// Every module: a nonisolated async function runs on its caller's executor
// (SE-0461, `nonisolated(nonsending)` by default). MovR has no actors: its handlers and their
// callees run on the connection's event loop (its task executor), and without this every
// call into a nonisolated async function asked the runtime whether to switch executors
// (`swift_task_switch`, reading the task's executor preference under its status lock).
// Tests too: a closure parameter's type (and so a function's symbol) depends on the setting.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
}
