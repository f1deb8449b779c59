import Foundation
import MovRDevTools
import NIOPosix

/// A small W3C WebDriver client for tests: it starts Debian's `chromedriver` on a free loopback
/// port and drives headless Chromium over plain HTTP to 127.0.0.1. Only what the web UI tests
/// use: navigation, finding and clicking elements, typing, scripts, screenshots, window size and
/// the browser console log.
public final class WebDriver: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// A found element (its WebDriver reference).
    public struct Element: Sendable {
        public let id: String
    }

    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"
    public static let chromium = "/usr/bin/chromium"
    public static let chromedriver = "/usr/bin/chromedriver"

    private let port: Int
    private let session: String
    private let driver: BackgroundProcess

    /// Starts chromedriver and a headless Chromium session (no sandbox: CI runs as root; a fresh
    /// profile in `workDirectory`; no background networking, so the browser talks only to the
    /// pages it is sent to). Certificates of `acceptInsecureCerts` hosts are not checked: the
    /// test stack's CA is its own.
    public static func start(workDirectory: String, width: Int = 1280, height: Int = 1000) async throws -> WebDriver {
        for binary in [chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw Failure("\(binary) is missing: `make test` installs Debian's chromium and chromium-driver")
        }
        let port = try TestPostgres.freePort()
        let profile = workDirectory + "/chromium-profile"
        try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        let driver = try await TestProcess.spawn(chromedriver, ["--port=\(port)", "--allowed-ips=127.0.0.1"],
                                        outputPath: workDirectory + "/chromedriver.log")
        // Wait for the driver to listen.
        var ready = false
        var lastError = ""
        for _ in 0..<200 {
            do {
                let status = try await Self.request(port, "GET", "/status", nil)
                if (status["value"] as? [String: Any])?["ready"] as? Bool == true {
                    ready = true
                    break
                }
            } catch {
                lastError = "\(error)"
            }
            if driver.exitStatus != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard ready else {
            driver.send(signal: SIGTERM)
            let log = (try? String(contentsOfFile: workDirectory + "/chromedriver.log", encoding: .utf8)) ?? ""
            throw Failure("chromedriver did not start (\(lastError)):\n\(log.suffix(2000))")
        }
        let arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--user-data-dir=\(profile)", "--window-size=\(width),\(height)", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps", "--lang=en-US",
            "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
        ]
        let capabilities: [String: Any] = [
            "capabilities": ["alwaysMatch": [
                "browserName": "chrome",
                "acceptInsecureCerts": true,
                "goog:chromeOptions": ["binary": chromium, "args": arguments],
                "goog:loggingPrefs": ["browser": "ALL"],
            ] as [String: Any]],
        ]
        let created: [String: Any]
        do {
            created = try await Self.request(port, "POST", "/session", capabilities)
        } catch {
            driver.send(signal: SIGTERM)
            throw Failure("Chromium did not start through chromedriver: \(error)")
        }
        guard let value = created["value"] as? [String: Any], let session = value["sessionId"] as? String else {
            driver.send(signal: SIGTERM)
            throw Failure("chromedriver answered no session: \(created)")
        }
        return WebDriver(port: port, session: session, driver: driver)
    }

    private init(port: Int, session: String, driver: BackgroundProcess) {
        self.port = port
        self.session = session
        self.driver = driver
    }

    /// Ends the browser session and chromedriver.
    public func quit() async {
        _ = try? await Self.request(port, "DELETE", "/session/\(session)", nil)
        driver.send(signal: SIGTERM)
        for _ in 0..<50 where driver.exitStatus == nil {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: Commands

    public func navigate(to url: String) async throws {
        _ = try await command("POST", "/url", ["url": url])
    }

    public func setWindowSize(width: Int, height: Int) async throws {
        _ = try await command("POST", "/window/rect", ["width": width, "height": height])
    }

    public func find(_ css: String) async throws -> Element {
        let value = try await command("POST", "/element", ["using": "css selector", "value": css])
        guard let reference = value as? [String: Any], let id = reference[Self.elementKey] as? String else {
            throw Failure("no element for \(css)")
        }
        return Element(id: id)
    }

    public func findAll(_ css: String) async throws -> [Element] {
        let value = try await command("POST", "/elements", ["using": "css selector", "value": css])
        return ((value as? [[String: Any]]) ?? []).compactMap { ($0[Self.elementKey] as? String).map(Element.init) }
    }

    public func click(_ element: Element) async throws {
        _ = try await command("POST", "/element/\(element.id)/click", [:])
    }

    public func click(_ css: String) async throws {
        try await click(try await find(css))
    }

    /// Clears the field, then types `text` into it.
    public func type(_ css: String, _ text: String) async throws {
        let element = try await find(css)
        _ = try await command("POST", "/element/\(element.id)/clear", [:])
        _ = try await command("POST", "/element/\(element.id)/value", ["text": text])
    }

    public func text(_ element: Element) async throws -> String {
        (try await command("GET", "/element/\(element.id)/text", nil) as? String) ?? ""
    }

    public func text(_ css: String) async throws -> String {
        try await text(try await find(css))
    }

    public func attribute(_ css: String, _ name: String) async throws -> String? {
        try await command("GET", "/element/\(try await find(css).id)/attribute/\(name)", nil) as? String
    }

    /// A DOM property (e.g. an input's current `value`, which its attribute does not follow).
    public func property(_ css: String, _ name: String) async throws -> Any? {
        try await command("GET", "/element/\(try await find(css).id)/property/\(name)", nil)
    }

    public func isDisplayed(_ css: String) async throws -> Bool {
        guard let element = try await findAll(css).first else { return false }
        return (try await command("GET", "/element/\(element.id)/displayed", nil) as? Bool) ?? false
    }

    /// Runs `script` (a function body) in the page and returns its JSON result.
    public func execute(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": script, "args": arguments])
    }

    /// Scrolls the element `css` to the middle of its scrolling box (clear of sticky headers).
    public func scrollIntoView(_ css: String) async throws {
        let element = try await find(css)
        _ = try await execute("arguments[0].scrollIntoView({block: 'center'})", [[Self.elementKey: element.id]])
    }

    /// Presses keys on the focused element (WebDriver key codes, e.g. "\u{E007}" for Enter).
    public func pressKeys(_ keys: String) async throws {
        var actions: [[String: Any]] = []
        for scalar in keys.unicodeScalars {
            actions.append(["type": "keyDown", "value": String(scalar)])
            actions.append(["type": "keyUp", "value": String(scalar)])
        }
        _ = try await command("POST", "/actions", ["actions": [["type": "key", "id": "keyboard", "actions": actions]]])
    }

    /// A PNG of the viewport.
    public func screenshot() async throws -> Data {
        guard let encoded = try await command("GET", "/screenshot", nil) as? String,
              let data = Data(base64Encoded: encoded) else {
            throw Failure("screenshot was not base64 PNG")
        }
        return data
    }

    /// The browser console since the last call: (level, message).
    public func consoleLog() async throws -> [(level: String, message: String)] {
        let value = try await command("POST", "/se/log", ["type": "browser"])
        return ((value as? [[String: Any]]) ?? []).map {
            (level: $0["level"] as? String ?? "", message: $0["message"] as? String ?? "")
        }
    }

    /// Polls `condition` until it holds; fails after `timeout` (a guard against hangs, not a
    /// performance bound) with `what` and the last error.
    public func waitUntil(_ what: String, timeout: Duration = .seconds(60),
                          _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure("timed out waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
    }

    /// Waits until the element `css` exists and shows text containing `fragment`; returns the text.
    @discardableResult
    public func waitForText(_ css: String, containing fragment: String, timeout: Duration = .seconds(60)) async throws -> String {
        var last = ""
        do {
            try await waitUntil("\(css) to contain \"\(fragment)\"", timeout: timeout) {
                last = try await text(css)
                return last.contains(fragment)
            }
        } catch {
            throw Failure("\(error); it showed: \"\(last)\"")
        }
        return last
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        let reply = try await Self.request(port, method, "/session/\(session)" + path, body)
        return reply["value"]
    }

    private static func request(_ port: Int, _ method: String, _ path: String,
                                _ body: [String: Any]?) async throws -> [String: Any] {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let data = try await LoopbackHTTP.exchange(port: port, method: method, path: path, body: payload)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure("\(method) \(path): not a JSON object")
        }
        if let value = object["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure("\(method) \(path): \(error): \((value["message"] as? String ?? "").prefix(500))")
        }
        return object
    }
}

/// One HTTP/1.1 exchange with a server on 127.0.0.1 (chromedriver): blocking socket calls on
/// NIO's blocking pool, the answer read up to its `Content-Length` (chromedriver keeps the
/// connection open and refuses HTTP/1.0). (FoundationNetworking's
/// URLSession fails on this toolchain with "Failed writing header".)
enum LoopbackHTTP {
    static func exchange(port: Int, method: String, path: String, body: Data) async throws -> Data {
        try await NIOThreadPool.singleton.runIfActive {
            try exchangeBlocking(port: port, method: method, path: path, body: body)
        }
    }

    private static func exchangeBlocking(port: Int, method: String, path: String, body: Data) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WebDriver.Failure("socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw WebDriver.Failure("cannot connect to 127.0.0.1:\(port) (errno \(errno))") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if !body.isEmpty || method == "POST" {
            head += "Content-Type: application/json; charset=utf-8\r\nContent-Length: \(body.count)\r\n"
        }
        let request = Array((head + "\r\n").utf8) + Array(body)
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw WebDriver.Failure("send failed (errno \(errno))") }
            sent += count
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var bodyStart: Int?
        var length: Int?
        while bodyStart == nil || answer.count < bodyStart! + length! {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw WebDriver.Failure("\(method) \(path): receive failed (errno \(errno))") }
            answer += buffer[..<count]
            if bodyStart == nil, let split = (0..<max(0, answer.count - 3)).first(where: {
                answer[$0] == 13 && answer[$0 + 1] == 10 && answer[$0 + 2] == 13 && answer[$0 + 3] == 10
            }) {
                let head = String(decoding: answer[..<split], as: UTF8.self).lowercased()
                guard let line = head.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                      let declared = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else {
                    throw WebDriver.Failure("\(method) \(path): answer without Content-Length")
                }
                bodyStart = split + 4
                length = declared
            }
        }
        guard let bodyStart, let length, answer.count >= bodyStart + length else {
            throw WebDriver.Failure("\(method) \(path): incomplete HTTP answer")
        }
        return Data(answer[bodyStart..<(bodyStart + length)])
    }
}
