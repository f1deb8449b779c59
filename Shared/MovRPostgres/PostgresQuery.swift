/// A SQL statement whose interpolated values become `$n` binds.
///
///     let query: PostgresQuery = "SELECT * FROM users WHERE id = \(id) AND city = \(city)"
///     // sql: "SELECT * FROM users WHERE id = $1 AND city = $2", two binds
///
/// Raw SQL can only be spliced in explicitly with `\(unsafeSQL: ...)`.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The SQL text with `$n` placeholders.
    public var sql: String
    public var binds: PostgresBindings
    /// How the server sends the result's values. Binary spares both ends a conversion per value
    /// (the server's `uuid_out`, `float8out`, `timestamptz_out`; our parsing of that text) for the
    /// types whose `PostgresDecodable` reads binary; decode other columns from text results.
    public var resultFormat: PostgresResultFormat = .text
    /// Whether the server plans this statement for each execution's values (sent as an unnamed
    /// statement) instead of once per connection (a cached prepared statement, the default).
    /// For statements whose best plan depends on the values: after five executions PostgreSQL
    /// may switch a prepared statement to a generic plan, costed for an average value, and for
    /// a rider with 1 656 rides among thousands of riders with a few, `rides.list`'s generic
    /// plan read and sorted all 1 656 (2.9 ms) where the plan for the rider's own id reads 11
    /// from the index in order (0.2 ms). Planning each time costs the server a little CPU per
    /// execution; the hot paths stay prepared.
    public var plansEachExecution = false

    public init(unsafeSQL sql: String, binds: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.binds = binds
    }

    /// This query with its result in `format`.
    public func result(_ format: PostgresResultFormat) -> PostgresQuery {
        var query = self
        query.resultFormat = format
        return query
    }

    /// This query planned for each execution's values (``plansEachExecution``).
    public func plannedEachExecution() -> PostgresQuery {
        var query = self
        query.plansEachExecution = true
        return query
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// Redacted: the number of binds only. Log `sql` at debug level when needed.
    public var description: String { "PostgresQuery(\(binds.count) binds)" }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: PostgresBindings

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = PostgresBindings(capacity: interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        /// `nil` binds SQL NULL typed as `Value`.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        /// Splices raw SQL (identifiers, keywords). Never pass user input here.
        public mutating func appendInterpolation(unsafeSQL raw: String) {
            sql += raw
        }
    }
}

/// The bound values of a query in libpq's text format, with their type OIDs.
public struct PostgresBindings: Sendable, Hashable {
    /// Text representation per parameter; `nil` is SQL NULL.
    public private(set) var values: [String?] = []
    public private(set) var types: [PostgresDataType] = []

    public init() {}

    /// Room for `capacity` binds up front: a statement's binds are appended one by one, and
    /// arrays grown from empty reallocate at 1, 2, 4 and 8 elements (about a dozen allocations
    /// per ride request in the rides service, measured, before this).
    public init(capacity: Int) {
        values.reserveCapacity(capacity)
        types.reserveCapacity(capacity)
    }

    public var count: Int { values.count }

    public mutating func append<Value: PostgresEncodable>(_ value: Value) {
        values.append(value.postgresText)
        types.append(Value.postgresType)
    }
}

/// The wire format of a result's values (libpq's `resultFormat`).
public enum PostgresResultFormat: Sendable, Hashable {
    /// Every value as text (what `psql` shows); every `PostgresDecodable` reads it.
    case text
    /// Every value in the type's binary send format: big-endian integers and floats, 16-byte
    /// UUIDs, timestamps as microseconds since 2000-01-01. Read by the decoders of `String`
    /// (text-like types), integers, `Bool`, `Double`, `UUID` and `Date`; others refuse it.
    case binary
}
