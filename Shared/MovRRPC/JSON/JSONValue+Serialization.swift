import NIOCore

extension JSONValue {
    /// The value as compact JSON text: numbers as their literal, object keys sorted so equal
    /// values serialize to equal bytes. (One writer: ``write(to:)`` into a `ByteBuffer`.)
    public func serialized() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        write(to: &buffer)
        return Array(buffer.readableBytesView)
    }
}
