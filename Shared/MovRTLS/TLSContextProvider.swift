import FoundationEssentials
import NIOConcurrencyHelpers

/// Holds the current `TLSContext` and replaces it when the certificate files change, so a
/// re-issued certificate is used for new connections without a restart. Connections already
/// established keep the context they were made with.
public final class TLSContextProvider: Sendable {
    private struct State {
        var context: TLSContext
        var fingerprint: [FileFingerprint]
    }

    private let configuration: TLSConfiguration
    private let role: TLSRole
    private let state: LockedBox<State>

    /// Loads the context once; throws `TLSError` if the files are unusable.
    public init(configuration: TLSConfiguration, role: TLSRole) throws {
        self.configuration = configuration
        self.role = role
        let fingerprint = FileFingerprint.of(configuration.filePaths)
        let context = try Self.makeContext(configuration, role: role)
        self.state = LockedBox(State(context: context, fingerprint: fingerprint))
    }

    /// The context to use for a new connection.
    public var current: TLSContext {
        state.withLock { $0.context }
    }

    /// Re-reads the files. On error the previous context stays in use and the error is thrown.
    public func reload() throws {
        // Fingerprint before reading: a write racing with the load shows up as a change next time.
        let fingerprint = FileFingerprint.of(configuration.filePaths)
        let context = try Self.makeContext(configuration, role: role)
        state.withLock { $0 = State(context: context, fingerprint: fingerprint) }
    }

    /// Reloads if any file's modification time or size changed since the last successful load.
    /// Returns whether a new context was installed.
    public func reloadIfChanged() throws -> Bool {
        let fingerprint = FileFingerprint.of(configuration.filePaths)
        guard state.withLock({ $0.fingerprint != fingerprint }) else { return false }
        try reload()
        return true
    }

    private static func makeContext(_ configuration: TLSConfiguration, role: TLSRole) throws(TLSError) -> TLSContext {
        switch role {
        case .server: try TLSContext.makeServer(configuration)
        case .client: try TLSContext.makeClient(configuration)
        }
    }
}

/// What `reloadIfChanged` compares: enough to notice a rewritten file without reading it.
struct FileFingerprint: Equatable, Sendable {
    var path: String
    var modificationDate: Date?
    var size: UInt64?

    static func of(_ paths: [String]) -> [FileFingerprint] {
        paths.map { path in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            return FileFingerprint(
                path: path,
                modificationDate: attributes?[.modificationDate] as? Date,
                // FoundationEssentials reports the size as `UInt` (Foundation on Darwin: a number).
                size: (attributes?[.size] as? UInt).map(UInt64.init) ?? (attributes?[.size] as? UInt64)
            )
        }
    }
}

/// A value guarded by an `NIOLock`.
///
/// `@unchecked Sendable` is safe because `value` is only read or written inside `withLock`.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NIOLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
