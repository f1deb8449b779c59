import FoundationEssentials

/// Finds and reads the JSON configuration files shared by every executable: the locality file
/// here, and the files of the domains that own them (the rides service's `pricing.json`).
public enum ConfigFile {
    /// This executable's path (Linux: `/proc/self/exe`; elsewhere the first argument).
    public static var executablePath: String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
    }

    /// How many directories above the executable's own directory are searched: enough to reach
    /// the repository root from `.build/<triple>/debug/`, and `<prefix>` from `<prefix>/bin/`.
    static let executableSearchDepth = 4

    /// Where to look for `config/<fileName>`, in order: the environment variable, the current
    /// directory, then the executable's directory and its ancestors.
    static func candidates(fileName: String, environmentVariable: String,
                           environment: [String: String], currentDirectory: String,
                           executablePath: String?) -> [String] {
        if let explicit = environment[environmentVariable], !explicit.isEmpty {
            // An operator who names a file means that file; falling back would hide a typo.
            return [explicit]
        }
        var result = [URL(fileURLWithPath: currentDirectory).appendingPathComponent("config/\(fileName)").path]
        if let executablePath {
            var directory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0...executableSearchDepth {
                let candidate = directory.appendingPathComponent("config/\(fileName)").path
                if !result.contains(candidate) { result.append(candidate) }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return result
    }

    /// The first candidate that exists as a regular file.
    public static func locate(fileName: String, environmentVariable: String,
                       environment: [String: String] = ProcessInfo.processInfo.environment,
                       currentDirectory: String = FileManager.default.currentDirectoryPath,
                       executablePath: String? = ConfigFile.executablePath) throws(LocalityError) -> String {
        let searched = candidates(fileName: fileName, environmentVariable: environmentVariable,
                                  environment: environment, currentDirectory: currentDirectory,
                                  executablePath: executablePath)
        var isDirectory = false
        for path in searched where FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if !isDirectory { return path }
        }
        throw .configurationNotFound(searched: searched)
    }

    /// Decodes a JSON file, turning I/O and decoding failures into readable configuration errors.
    public static func decode<T: Decodable>(_ type: T.Type, from path: String) throws(LocalityError) -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .invalidConfiguration(path: path, reason: "cannot read file")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw .invalidConfiguration(path: path, reason: describe(error))
        } catch {
            throw .invalidConfiguration(path: path, reason: "not valid JSON")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func location(_ path: [any CodingKey]) -> String {
            let rendered = path.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            return rendered.isEmpty ? "top level" : String(rendered.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \"\(key.stringValue)\" at \(location(context.codingPath))"
        case .typeMismatch(let type, let context):
            return "expected \(type) at \(location(context.codingPath))"
        case .valueNotFound(let type, let context):
            return "expected \(type) at \(location(context.codingPath)), found null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "invalid value at \(location(context.codingPath))"
        @unknown default:
            return "cannot decode"
        }
    }
}
