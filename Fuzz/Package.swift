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
    ],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
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
    ],
    swiftLanguageModes: [.v6]
)
