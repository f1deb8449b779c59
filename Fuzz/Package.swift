// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for what parses untrusted input, in a package of their own: they are built
// with `-sanitize=fuzzer,address` (see `make test-fuzz`), which the main build must not be.
// Each target defines `LLVMFuzzerTestOneInput`; libFuzzer supplies `main`.
let package = Package(
    name: "movr-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The name, not the folder (a checkout may be called anything), is what products refer to.
        .package(name: "movr", path: ".."),
        // NIOEmbedded only (FuzzHTTP's EmbeddedChannel); the same checkout the main package uses.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "MovRRPC", package: "movr"), .product(name: "MovRAPI", package: "movr"),
                           .product(name: "MovRInternalAPI", package: "movr")],
            path: "Sources/FuzzSupport"),
        .executableTarget(
            name: "FuzzJSON",
            dependencies: ["FuzzSupport", .product(name: "MovRRPC", package: "movr")],
            path: "Sources/FuzzJSON"),
        .executableTarget(
            name: "FuzzDispatcher",
            dependencies: ["FuzzSupport", .product(name: "MovRRPC", package: "movr"), .product(name: "MovRAPI", package: "movr")],
            path: "Sources/FuzzDispatcher"),
        .executableTarget(
            name: "FuzzLocation",
            dependencies: ["FuzzSupport", .product(name: "MovRAPI", package: "movr"), .product(name: "MovRLocality", package: "movr")],
            path: "Sources/FuzzLocation"),
        .executableTarget(
            name: "FuzzHTTP",
            dependencies: ["FuzzSupport", .product(name: "MovRRPCTransport", package: "movr"),
                           .product(name: "NIOEmbedded", package: "swift-nio")],
            path: "Sources/FuzzHTTP"),
        .executableTarget(
            name: "FuzzHeaders",
            dependencies: ["FuzzSupport", .product(name: "MovRRPCTransport", package: "movr"),
                           .product(name: "MovRService", package: "movr")],
            path: "Sources/FuzzHeaders"),
    ],
    swiftLanguageModes: [.v6]
)

// As in the main package (../Package.swift): its modules are built with this setting, and a
// closure parameter's type, so the symbol a caller links against, depends on it.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
}
