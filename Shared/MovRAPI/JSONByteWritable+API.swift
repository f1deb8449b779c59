import FoundationEssentials
import MovRRPC

// Hand-written JSON writers for the objects of the hot paths (listings, rides, sign-in). Each
// writes exactly what its `Encodable` conformance writes, member for member and in the same
// order; ByteEncoderShapeTests compares the two for every type here.

extension Location: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("latitude"); try object.double(latitude)
            object.key("longitude"); try object.double(longitude)
        }
    }
}

extension Vehicle: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("id"); object.lowercaseUUID(id)
            object.key("type"); object.string(type.rawValue)
            object.key("city"); object.string(city)
            object.key("region"); object.string(region)
            object.key("owner_id"); object.lowercaseUUID(ownerID)
            object.key("status"); object.string(status.rawValue)
            object.key("battery"); object.integer(battery)
            object.key("location"); try location.writeJSON(into: &object)
            object.key("color"); object.string(color)
            object.key("brand"); object.string(brand)
            object.key("created_at"); RFC3339.write(createdAt, into: &object)
        }
    }
}

extension VehicleResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.wrapped("vehicle", vehicle)
    }
}

extension VehiclesListResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.page("vehicles", vehicles, nextCursor: nextCursor)
    }
}

extension Ride: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("id"); object.lowercaseUUID(id)
            object.key("vehicle_id"); object.lowercaseUUID(vehicleID)
            object.key("rider_id"); object.lowercaseUUID(riderID)
            object.key("city"); object.string(city)
            object.key("region"); object.string(region)
            object.key("start_location"); try startLocation.writeJSON(into: &object)
            object.key("end_location")
            if let endLocation { try endLocation.writeJSON(into: &object) } else { object.null() }
            object.key("start_time"); RFC3339.write(startTime, into: &object)
            object.key("end_time")
            if let endTime { RFC3339.write(endTime, into: &object) } else { object.null() }
            object.key("duration_seconds"); object.integer(durationSeconds)
            object.key("revenue"); object.string(revenue)
            object.key("currency"); object.string(currency)
            object.key("promo_code"); object.string(promoCode)
        }
    }
}

extension RideResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.wrapped("ride", ride)
    }
}

extension RidesListResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.page("rides", rides, nextCursor: nextCursor)
    }
}

extension User: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        writer.object { object in
            object.key("id"); object.lowercaseUUID(id)
            object.key("username"); object.string(username)
            object.key("email"); object.string(email)
            object.key("first_name"); object.string(firstName)
            object.key("last_name"); object.string(lastName)
            object.key("city"); object.string(city)
            object.key("region"); object.string(region)
            object.key("created_at"); RFC3339.write(createdAt, into: &object)
        }
    }
}

extension UserResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.wrapped("user", user)
    }
}

extension JSONByteWriter {
    /// `{"<key>": value}`, the shape of every single-object result.
    fileprivate mutating func wrapped(_ key: StaticString, _ value: some JSONByteWritable) throws {
        try object { object in
            object.key(key); try value.writeJSON(into: &object)
        }
    }

    /// `{"<key>": [items], "next_cursor": ...}`, the shape of every page of a listing.
    fileprivate mutating func page(_ key: StaticString, _ items: [some JSONByteWritable], nextCursor: String?) throws {
        try object { object in
            object.key(key); try object.array(items) { try $1.writeJSON(into: &$0) }
            object.key("next_cursor"); object.string(nextCursor)
        }
    }
}
