import Foundation
import Testing

/// `Package.swift` tells the truth: every target lists exactly the modules its sources import,
/// so nothing reaches a dependency through another module and no dead edge stays. Read from the
/// manifest's text (running SwiftPM here would contend for the build directory's lock).
@Suite struct PackageManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Modules of the toolchain and platform, which no manifest lists.
    static let platformModules: Set<String> = [
        "Foundation", "FoundationEssentials", "Glibc", "Musl", "Darwin", "Dispatch", "Testing", "XCTest",
        "Synchronization", "_Concurrency", "os",
        // Apple platforms' own System; on Linux the manifest lists swift-system's SystemPackage.
        "System",
    ]

    struct Target {
        var name: String
        var kind: String
        var dependencies: Set<String>
        var path: String
    }

    /// The targets of the manifest: `.target(`, `.executableTarget(`, `.testTarget(` calls, their
    /// `name:`, the names in `dependencies: [...]` (a `.product(name:)` counts by its name) and
    /// `path:` (a test target's default: Tests/<name>).
    static func targets() throws -> [Target] {
        let text = try String(contentsOfFile: root + "/Package.swift", encoding: .utf8)
        let body = text[text.range(of: "targets: [")!.upperBound...]
        var targets: [Target] = []
        for kind in [".target(", ".executableTarget(", ".testTarget("] {
            var rest = body[...]
            while let start = rest.range(of: kind) {
                let call = balanced(rest[start.upperBound...], open: "(", close: ")")
                rest = rest[start.upperBound...]
                let name = firstQuoted(after: "name:", in: call) ?? ""
                var dependencies: Set<String> = []
                if let list = call.range(of: "dependencies: [") {
                    let inner = balanced(call[list.upperBound...], open: "[", close: "]")
                    var scan = inner[...]
                    while let open = scan.firstIndex(of: "\"") {
                        let after = scan[scan.index(after: open)...]
                        guard let close = after.firstIndex(of: "\"") else { break }
                        let word = String(after[..<close])
                        // `.product(name: "X", package: "y")`: X is the module; skip the package.
                        let before = scan[..<open]
                        if !before.hasSuffix("package: ") { dependencies.insert(word) }
                        scan = after[after.index(after: close)...]
                    }
                }
                let defaultPath = kind == ".testTarget(" ? "Tests/\(name)" : "Sources/\(name)"
                targets.append(Target(name: name, kind: kind, dependencies: dependencies,
                                      path: firstQuoted(after: "path:", in: call) ?? defaultPath))
            }
        }
        return targets
    }

    /// `text` up to the `close` that balances an `open` just before it.
    static func balanced(_ text: Substring, open: Character, close: Character) -> Substring {
        var depth = 1
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == open { depth += 1 }
            if text[index] == close { depth -= 1; if depth == 0 { return text[..<index] } }
            index = text.index(after: index)
        }
        return text
    }

    static func firstQuoted(after label: String, in text: Substring) -> String? {
        guard let found = text.range(of: label) else { return nil }
        let after = text[found.upperBound...]
        guard let open = after.firstIndex(of: "\"") else { return nil }
        let inner = after[after.index(after: open)...]
        return inner.firstIndex(of: "\"").map { String(inner[..<$0]) }
    }

    /// Modules imported by the Swift files under `path`.
    static func imports(under path: String) throws -> Set<String> {
        var found: Set<String> = []
        let directory = root + "/" + path
        guard let files = FileManager.default.enumerator(atPath: directory) else { return found }
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                var words = line.split(separator: " ").map(String.init)
                while let first = words.first, first.hasPrefix("@") || ["public", "package", "internal"].contains(first) {
                    words.removeFirst()
                }
                guard words.count >= 2, words[0] == "import" else { continue }
                let module = ["struct", "enum", "class", "func", "protocol", "typealias"].contains(words[1]) && words.count >= 3
                    ? words[2] : words[1]
                found.insert(String(module.prefix { $0 != "." }))
            }
        }
        return found
    }

    @Test func everyTargetListsExactlyWhatItImports() throws {
        let targets = try Self.targets()
        #expect(targets.count > 20, "the manifest's targets were not found")
        for target in targets where target.kind != ".systemLibrary(" {
            let imported = try Self.imports(under: target.path).subtracting(Self.platformModules)
            let listed = target.dependencies
            #expect(imported.subtracting(listed).isEmpty,
                    "\(target.name) imports \(imported.subtracting(listed).sorted()) without listing them")
            #expect(listed.subtracting(imported).isEmpty,
                    "\(target.name) lists \(listed.subtracting(imported).sorted()) but imports none of them")
        }
    }

    /// The targets `root` reaches through `dependencies`, itself included.
    static func closure(of root: String) throws -> Set<String> {
        let byName = Dictionary(try targets().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var seen: Set<String> = []
        var queue = [root]
        while let next = queue.popLast() {
            guard seen.insert(next).inserted, let target = byName[next] else { continue }
            queue += target.dependencies
        }
        return seen
    }

    @Test func theGatewayDoesNotLinkLibPQ() throws {
        // Its library and every module it lists, transitively, stay clear of MovRPostgres.
        let seen = try Self.closure(of: "movr-gateway")
        #expect(seen.contains("MovRGateway"))
        #expect(!seen.contains("MovRPostgres") && !seen.contains("CLibPQ"), "\(seen.sorted())")
    }

    /// The services use FoundationEssentials, never the whole of Foundation (CoreFoundation, ICU:
    /// ~6 MB more resident per process); only the tooling (`movr`, tests) imports Foundation.
    @Test(arguments: ["movr-gateway", "movr-users", "movr-vehicles", "movr-rides"])
    func serviceExecutablesDoNotImportFoundation(_ executable: String) throws {
        let byName = Dictionary(try Self.targets().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let modules = try Self.closure(of: executable).compactMap { byName[$0] }
        #expect(modules.count > 5)
        for module in modules {
            #expect(!(try Self.imports(under: module.path)).contains("Foundation"), "\(module.name) imports Foundation")
        }
    }
}
