// swift-tools-version:6.1
import PackageDescription

// One package, one build: shared modules under Shared/, one library + thin executable per
// service under Services/, the operator tool under Tools/, tests under Tests/.
let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
]
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")

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
    ],
    targets: [
        // C system libraries with shim headers for what Swift cannot import (macros).
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Shared/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // Shared platform.
        .target(name: "MovRPostgres", dependencies: ["CLibPQ", logging] + nio, path: "Shared/MovRPostgres"),
        .target(name: "MovRTLS", dependencies: ["COpenSSL", logging] + nio, path: "Shared/MovRTLS"),
        .target(name: "MovRRPC", dependencies: [logging, .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], path: "Shared/MovRRPC"),
        .target(name: "MovRRPCTransport",
                dependencies: ["MovRRPC", "MovRTLS", logging, metrics,
                               .product(name: "NIOHTTP1", package: "swift-nio")] + nio,
                path: "Shared/MovRRPCTransport"),
        .target(name: "MovRLocality", path: "Shared/MovRLocality"),
        .target(name: "MovRAPI", dependencies: ["MovRRPC"], path: "Shared/MovRAPI"),
        .target(name: "MovRInternalAPI", dependencies: ["MovRAPI"], path: "Shared/MovRInternalAPI"),
        .target(name: "MovRService",
                dependencies: ["MovRRPC", "MovRRPCTransport", "MovRTLS", "MovRPostgres", "MovRLocality", "MovRAPI", "MovRInternalAPI",
                               logging, metrics,
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                path: "Shared/MovRService"),

        // Services: domain logic in a library, a thin @main executable each.
        .target(name: "MovRVehicles", dependencies: ["MovRService"], path: "Services/Vehicles/Sources"),
        .executableTarget(name: "movr-vehicles", dependencies: ["MovRVehicles"], path: "Services/Vehicles/Main"),
        .target(name: "MovRUsers", dependencies: ["MovRService", "COpenSSL"] + nio, path: "Services/Users/Sources"),
        .executableTarget(name: "movr-users", dependencies: ["MovRUsers"], path: "Services/Users/Main"),
        .target(name: "MovRRides", dependencies: ["MovRService", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], path: "Services/Rides/Sources"),
        .executableTarget(name: "movr-rides", dependencies: ["MovRRides"], path: "Services/Rides/Main"),
        .target(name: "MovRGateway", dependencies: ["MovRService", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                path: "Services/Gateway/Sources"),
        .executableTarget(name: "movr-gateway", dependencies: ["MovRGateway"], path: "Services/Gateway/Main"),

        // WAN simulator: latency-injecting TCP proxies for `movr up --wan`.
        .target(name: "MovRWAN", dependencies: nio, path: "Tools/MovRWAN"),

        // Operator tool.
        .target(name: "MovRTool",
                dependencies: ["MovRService", "MovRWAN", "MovRVehicles", "MovRUsers", "MovRRides", "MovRGateway",
                               .product(name: "ArgumentParser", package: "swift-argument-parser"),
                               .product(name: "Histogram", package: "hdrhistogram-swift")],
                path: "Tools/MovRTool"),
        .executableTarget(name: "movr", dependencies: ["MovRTool"], path: "Tools/movr"),

        // Tests.
        .target(name: "MovRTestSupport", dependencies: ["MovRPostgres", "MovRTLS", logging] + nio,
                path: "Tests/MovRTestSupport"),
        .testTarget(name: "MovRPostgresTests", dependencies: ["MovRPostgres", "MovRTestSupport"]),
        .testTarget(name: "MovRTLSTests", dependencies: ["MovRTLS", "MovRTestSupport"]),
        .testTarget(name: "MovRRPCTests", dependencies: ["MovRRPC"]),
        .testTarget(name: "MovRRPCTransportTests", dependencies: ["MovRRPCTransport", "MovRTestSupport"]),
        .testTarget(name: "MovRLocalityTests", dependencies: ["MovRLocality"]),
        .testTarget(name: "MovRAPITests", dependencies: ["MovRAPI", "MovRInternalAPI", "MovRRPC",
                                                         .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "MovRUsersTests", dependencies: ["MovRUsers", "MovRTestSupport"]),
        .testTarget(name: "MovRVehiclesTests", dependencies: ["MovRVehicles", "MovRAPI", "MovRLocality", "MovRPostgres", "MovRRPC", "MovRTestSupport"]),
        .testTarget(name: "MovRRidesTests", dependencies: ["MovRRides", "MovRTestSupport"]),
        .testTarget(name: "MovRToolTests", dependencies: ["MovRTool", "MovRWAN", "MovRGateway", "MovRTestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["MovRService", "MovRTestSupport", "MovRAPI", "MovRInternalAPI", "MovRTool"]),
    ],
    swiftLanguageModes: [.v6]
)
