/// The members of one JSON object that the decoded type asked for (decode, decodeIfPresent,
/// contains, nested containers). Shared by every copy of the decoder and its keyed containers,
/// so what any of them asks for counts.
final class RequestedMembers {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    private var requested: Set<String> = []
    /// Whether a check already covers this object; the first (outermost) one to open it does.
    fileprivate var isChecked = false

    init(members: [String: JSONValue], codingPath: [any CodingKey]) {
        self.members = members
        self.codingPath = codingPath
    }

    func request(_ name: String) {
        requested.insert(name)
    }

    /// The first member nobody asked for; the smallest name, so the report does not depend on
    /// dictionary order.
    var firstUnknown: String? {
        members.keys.filter { !requested.contains($0) }.min()
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
