import FoundationEssentials
import MovRCrypto
import MovRLocality
import MovRRPCTransport

/// The gateway's browser app: the files of `Services/Gateway/WebApp` (plain HTML, CSS and
/// JavaScript modules), read once at start and served from memory.
///
/// - `GET /` (and `/index.html`) is the page: `Cache-Control: no-store` and a strict
///   `Content-Security-Policy` (only this origin's scripts, styles and connections; nothing inline;
///   no framing).
/// - Every other file is under `/assets/<version>/<name>`, where `<version>` is a hash of all the
///   files: its URL changes whenever any file does, so it is cached for a year as `immutable`.
///   Modules import each other by relative paths and so stay within one version.
/// - Anything else, including another version or an unknown name, is 404.
public struct WebUI: Sendable {
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    static let immutable = "public, max-age=31536000, immutable"

    /// The hash of every file, naming this set of assets.
    public let version: String
    private let page: HTTPPlainResponse
    private let assets: [String: HTTPPlainResponse]

    /// Reads every file of `directory` (which must hold `index.html`).
    public init(directory: String) throws {
        let base = URL(fileURLWithPath: directory, isDirectory: true)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: base.path).sorted()
        } catch {
            throw WebUIError(message: "cannot read the web app directory \(base.path): \(error)")
        }
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names where !name.hasPrefix(".") {
            guard Self.contentType(of: name) != nil else { continue }
            let bytes = try Array(Data(contentsOf: base.appendingPathComponent(name)))
            files.append((name, bytes))
        }
        guard let index = files.first(where: { $0.name == "index.html" }) else {
            throw WebUIError(message: "the web app directory \(base.path) has no index.html")
        }
        var digestInput: [UInt8] = []
        for file in files {
            digestInput += Array(file.name.utf8) + [0] + (try SHA256.hash(file.bytes))
        }
        version = Hex.encode(try SHA256.hash(digestInput).prefix(6))

        let html = String(decoding: index.bytes, as: UTF8.self).replacing("{{VERSION}}", with: version)
        page = HTTPPlainResponse(
            status: 200, contentType: "text/html; charset=utf-8", body: Array(html.utf8), cacheControl: "no-store",
            headers: [("content-security-policy", Self.contentSecurityPolicy), ("x-frame-options", "DENY")])
        var assets: [String: HTTPPlainResponse] = [:]
        for file in files where file.name != "index.html" {
            guard let type = Self.contentType(of: file.name) else { continue }
            assets["/assets/\(version)/\(file.name)"] = HTTPPlainResponse(
                status: 200, contentType: type, body: file.bytes, cacheControl: Self.immutable)
        }
        self.assets = assets
    }

    /// The answer for `GET path`; nil (404) for anything that is not the page or a current asset.
    public func response(for path: String) -> HTTPPlainResponse? {
        if path == "/" || path == "/index.html" { return page }
        return assets[path]
    }

    /// Content types of the files served; other files in the directory are ignored.
    static func contentType(of name: String) -> String? {
        let pathExtension = name.contains(".") ? name.split(separator: ".").last.map(String.init) ?? "" : ""
        return switch pathExtension.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json"
        default: nil
        }
    }

    /// Where the app's files are: `--web-dir` / `MOVR_WEB_DIR` when set; otherwise
    /// `Services/Gateway/WebApp` of the source tree the executable was built in (found by walking
    /// up from the executable, as `.build/release/movr-gateway` and `.build/debug/movr-gateway`
    /// are), then from the working directory. Containers set `MOVR_WEB_DIR`.
    public static func locate(configured: String?) -> String? {
        if let configured { return configured }
        let relative = "Services/Gateway/WebApp"
        var starts: [URL] = []
        if let executable = ConfigFile.executablePath.map({ URL(fileURLWithPath: $0) }) {
            starts.append(executable.deletingLastPathComponent())
            starts.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        starts.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
        for start in starts {
            var directory = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = directory.appendingPathComponent(relative)
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("index.html").path) {
                    return candidate.path
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        return nil
    }
}

public struct WebUIError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
