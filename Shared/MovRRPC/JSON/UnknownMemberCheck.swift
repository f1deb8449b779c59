/// The members of one JSON object that the decoded type asked for (decode, decodeIfPresent,
/// contains, nested containers). Shared by every copy of the decoder and its keyed containers,
/// so what any of them asks for counts.
///
/// Every request's params are checked this way; the marks are an ``AskedMembers``, so an object
/// of up to 64 members costs nothing beyond this object.
final class RequestedMembers {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    private var asked = AskedMembers()
    /// Whether a check already covers this object; the first (outermost) one to open it does.
    fileprivate var isChecked = false

    init(members: [String: JSONValue], codingPath: [any CodingKey]) {
        self.members = members
        self.codingPath = codingPath
    }

    func request(_ name: String) {
        asked.mark(name, in: members)
    }

    /// The first member nobody asked for (see ``AskedMembers/firstUnknown(in:)``).
    var firstUnknown: String? { asked.firstUnknown(in: members) }
}

/// Which members of one object were asked for. Up to 64 members, bit `i` marks the `i`-th key
/// of the object (in its iteration order, fixed for that value), found by comparing the
/// object's few, short names: no allocation. Larger objects (not params anyone sends, but a
/// client may) keep the names asked for in a set.
struct AskedMembers {
    private var bits: UInt64 = 0
    private var names: Set<String> = []

    mutating func mark(_ name: String, in members: [String: JSONValue]) {
        if members.count > 64 {
            if members[name] != nil { names.insert(name) }
            return
        }
        var bit: UInt64 = 1
        for key in members.keys {
            if key == name {
                bits |= bit
                return
            }
            bit <<= 1
        }
    }

    /// The first member nobody asked for; the smallest name, so the report does not depend on
    /// dictionary order.
    func firstUnknown(in members: [String: JSONValue]) -> String? {
        if members.count > 64 {
            guard names.count < members.count else { return nil }
            return members.keys.filter { !names.contains($0) }.min()
        }
        guard bits.nonzeroBitCount < members.count else { return nil }
        var first: String?
        var bit: UInt64 = 1
        for key in members.keys {
            if bits & bit == 0, first.map({ key < $0 }) ?? true { first = key }
            bit <<= 1
        }
        return first
    }
}

/// The objects opened as keyed containers while one value decodes. Checked only once that value's
/// `init(from:)` has returned: before that, the type may still ask for more members.
final class UnknownMemberCheck {
    /// Says which member was refused; `APIValidationError` (MovRAPI) passes this message through.
    static let message = "unknown field"

    private var objects: [RequestedMembers] = []

    func cover(_ object: RequestedMembers) {
        guard !object.isChecked else { return }
        object.isChecked = true
        objects.append(object)
    }

    /// Throws for the first member a covered object's type never asked for, with the coding path
    /// ending at that member so the error names it (`location.altitude`).
    func verify() throws {
        for object in objects {
            if let name = object.firstUnknown {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: object.codingPath + [JSONNameKey(stringValue: name)], debugDescription: Self.message))
            }
        }
    }
}
