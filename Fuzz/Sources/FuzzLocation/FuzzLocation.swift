import MovRAPI
import MovRLocality

/// Text fields that reach the services as they are: page cursors, `X-City` / `X-Place`
/// headers and RFC 3339 times. Each must be accepted or refused, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLocation(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    if let cursor = try? PageCursor(decoding: text) {
        // Anything accepted is in range and spelled canonically.
        guard PageCursor.validSortKeys.contains(cursor.sortKeyMicroseconds), cursor.encoded == text else {
            fatalError("an accepted cursor is out of range or not canonical")
        }
        _ = cursor.time
    }
    if let date = RFC3339.date(from: text) {
        _ = RFC3339.string(from: date)
    }
    let locality = Fuzzed.locality
    _ = try? locality.resolve(explicitCity: nil, xCity: nil, xPlace: text, userCity: nil, gatewayRegion: "us-east1")
    _ = try? locality.resolve(explicitCity: text, xCity: text, xPlace: nil, userCity: nil, gatewayRegion: "us-east1")
    return 0
}

enum Fuzzed {
    static let locality: Locality = {
        do {
            return try Locality.loadDefault()
        } catch {
            fatalError("run from the repository so config/locality.json is found: \(error)")
        }
    }()
}
