import Foundation

/// The accounts `movr load init` created, for `movr load run` to sign in as (default
/// `.movr/load-users.json`, mode 0600: it holds a password).
public struct LoadUsersFile: Codable, Sendable {
    public enum Role: String, Codable, Sendable {
        case rider, fleet, admin
    }

    public struct Account: Codable, Sendable, Hashable {
        public var username: String
        public var city: String
        public var role: Role
    }

    public static let defaultPath = ".movr/load-users.json"

    /// Every username starts with it; a re-run of init with the same file reuses it, so the same
    /// names (and vehicle idempotency keys) come out and nothing is created twice.
    public var prefix: String
    /// One password for every load account (throwaway accounts on a test deployment).
    public var password: String
    public var createdAt: String
    public var accounts: [Account]

    /// A fresh prefix and password.
    public static func new() -> LoadUsersFile {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var random = SystemRandomNumberGenerator()
        func token(_ count: Int) -> String {
            String((0..<count).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        }
        return LoadUsersFile(prefix: "ld" + token(6), password: "load-" + token(16),
                             createdAt: ISO8601DateFormatter().string(from: Date()), accounts: [])
    }

    public static func load(_ path: String) throws -> LoadUsersFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StackError("cannot read \(path); run `movr load init` first")
        }
        do {
            return try JSONDecoder.snakeCase.decode(LoadUsersFile.self, from: data)
        } catch {
            throw StackError("\(path) is not a load users file: \(error)")
        }
    }

    /// Writes the file readable by its owner only, replacing any previous one atomically.
    public func save(_ path: String) throws {
        let data = try JSONEncoder.snakeCase.encode(self)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Created 0600 from the start: never readable by others, not even for a moment.
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw StackError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == data.count else {
            unlink(temporary)
            throw StackError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StackError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}

extension JSONEncoder {
    /// The files and reports of `movr load`: snake_case keys like the API, stable and readable.
    static var snakeCase: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
