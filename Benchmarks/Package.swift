// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks (ordo-one/benchmark) of the MovR libraries, in a package of their own so the
// main package never depends on the benchmark framework and `make test` stays lean.
// Run: `make bench-micro` (= `swift package --allow-writing-to-package-directory benchmark` here).
let package = Package(
    name: "movr-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The name, not the folder (a checkout may be called anything), is what products refer to.
        .package(name: "movr", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Only the malloc interposer: allocation counts are what these benchmarks are for.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PostgresDecoding",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MovRPostgres", package: "movr"),
                .product(name: "MovRRPC", package: "movr"),
                .product(name: "MovRVehicles", package: "movr"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/PostgresDecoding",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RequestPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MovRAPI", package: "movr"),
                .product(name: "MovRInternalAPI", package: "movr"),
                .product(name: "MovRRPC", package: "movr"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/RequestPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// As in the main package (../Package.swift): its modules are built with this setting, and a
// closure parameter's type, so the symbol a caller links against, depends on it.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
}
