import COpenSSL
import NIOCore

/// Runs TLS over a channel with OpenSSL, encrypting outbound and decrypting inbound
/// `ByteBuffer`s.
///
/// Writes are encrypted when they are flushed, not one by one: what a flush covers (an HTTP
/// head and body, say) goes out as one TLS record where it fits, in one socket write. Writes
/// made before the handshake completes are held back and sent afterwards. When the
/// handshake completes, `TLSEvent.handshakeCompleted(peer:)` is fired inbound. Any handshake or
/// protocol failure is fired as `errorCaught(TLSError)` and closes the channel; closing sends
/// `close_notify` first. Confined to its channel's event loop, like every NIO handler.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case handshaking
        case active
        case closed
    }

    private struct BufferedWrite {
        var data: ByteBuffer
        var promise: EventLoopPromise<Void>?
    }

    /// Size of each plaintext read: one maximal TLS record.
    private static let readChunkSize = 16 * 1024

    private let connection: SSLConnection?
    private let setupError: TLSError?
    private var state: State = .idle
    /// Plaintext written but not flushed yet (and, during the handshake, not sendable yet).
    private var bufferedWrites: CircularBuffer<BufferedWrite> = []
    /// Plaintext buffer reused by every read: its storage is allocated again only when the
    /// previous read's data is still held further up the pipeline.
    private var readBuffer: ByteBuffer?
    /// Scratch space for joining several writes into one record; reused across flushes.
    private var coalescingBuffer: ByteBuffer?
    /// Ciphertext buffer reused by every flush, as `readBuffer` is by reads: its storage is
    /// allocated again only while the previous flush's bytes still wait in the channel. Kept
    /// only up to ``maxRetainedCiphertext`` bytes, so an idle connection holds no more than a
    /// read chunk's worth after a large reply.
    private var ciphertextBuffer: ByteBuffer?
    private static let maxRetainedCiphertext = readChunkSize + 1024

    /// The peer's certificate names, once the handshake has completed.
    public private(set) var peerIdentity: PeerIdentity?

    /// Accepts TLS connections with `serverContext`.
    public convenience init(serverContext: TLSContext) {
        self.init(context: serverContext, serverHostname: nil)
    }

    /// Connects with `clientContext`. A non-nil `serverHostname` is sent as SNI (unless it is an
    /// IP address) and must match the server certificate; `nil` skips the name check.
    public convenience init(clientContext: TLSContext, serverHostname: String?) {
        self.init(context: clientContext, serverHostname: serverHostname)
    }

    private init(context: TLSContext, serverHostname: String?) {
        // Failures are reported once the handler is in a pipeline, where there is someone to tell.
        do {
            let connection = try SSLConnection(context: context)
            if let serverHostname {
                try connection.expectServerName(serverHostname)
            }
            self.connection = connection
            self.setupError = nil
        } catch {
            self.connection = nil
            self.setupError = error
        }
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            startHandshake(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        failBufferedWrites(with: ChannelError.ioOnClosedChannel)
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        startHandshake(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let closedDuringHandshake = state == .idle || state == .handshaking
        state = .closed
        failBufferedWrites(with: ChannelError.ioOnClosedChannel)
        if closedDuringHandshake {
            context.fireErrorCaught(TLSError(code: .handshakeFailed, message: "connection closed during the TLS handshake"))
        }
        context.fireChannelInactive()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let connection, state == .handshaking || state == .active else { return }
        let buffer = unwrapInboundIn(data)
        guard buffer.withUnsafeReadableBytes({ connection.feed($0) }) else {
            fail(context: context, error: .fromQueue(.io, "cannot buffer received bytes"))
            return
        }
        if state == .handshaking {
            continueHandshake(context: context, connection: connection)
        }
        if state == .active {
            readPlaintext(context: context, connection: connection)
        }
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        guard let connection else {
            fail(context: context, error: setupError ?? TLSError(code: .configuration, message: "no TLS connection"))
            return
        }
        state = .handshaking
        continueHandshake(context: context, connection: connection)
    }

    private func continueHandshake(context: ChannelHandlerContext, connection: SSLConnection) {
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(connection.ssl)
        if result == 1 {
            sendCiphertext(context: context, connection: connection, promise: nil)
            completeHandshake(context: context, connection: connection)
            return
        }
        switch SSL_get_error(connection.ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            sendCiphertext(context: context, connection: connection, promise: nil)
            context.flush()
        default:
            fail(context: context, error: handshakeError(connection: connection))
        }
    }

    private func completeHandshake(context: ChannelHandlerContext, connection: SSLConnection) {
        state = .active
        peerIdentity = connection.peerIdentity
        context.fireUserInboundEventTriggered(TLSEvent.handshakeCompleted(peer: peerIdentity))
        // The handshake's last flight was written above; it goes out with the held-back data,
        // which also honours any flush requested while the handshake was running.
        encryptBufferedWrites(context: context, connection: connection)
        context.flush()
    }

    private func handshakeError(connection: SSLConnection) -> TLSError {
        let queue = OpenSSLErrorQueue.drain()
        if let reason = connection.verificationFailure {
            return TLSError(code: .certificateVerifyFailed, message: "peer certificate rejected: \(reason)", openSSLErrors: queue)
        }
        return TLSError(code: .handshakeFailed, message: "TLS handshake failed", openSSLErrors: queue)
    }

    private func readPlaintext(context: ChannelHandlerContext, connection: SSLConnection) {
        while state == .active {
            var buffer = readBuffer ?? context.channel.allocator.buffer(capacity: Self.readChunkSize)
            readBuffer = nil
            buffer.clear()
            var result: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readChunkSize) { pointer in
                var count = 0
                OpenSSLErrorQueue.clear()
                result = SSL_read_ex(connection.ssl, pointer.baseAddress, pointer.count, &count)
                return result == 1 ? count : 0
            }
            if result == 1 {
                readBuffer = buffer
                context.fireChannelRead(wrapInboundOut(buffer))
                continue
            }
            readBuffer = buffer
            switch SSL_get_error(connection.ssl, result) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                // Post-handshake messages (key updates) may have produced a reply. A memory BIO
                // never refuses a write, so WANT_WRITE cannot repeat; the next read resumes.
                if connection.pendingOutputCount > 0 {
                    sendCiphertext(context: context, connection: connection, promise: nil)
                    context.flush()
                }
                return
            case SSL_ERROR_ZERO_RETURN:
                // The peer sent close_notify: answer it and close.
                sendCloseNotify(context: context, connection: connection)
                state = .closed
                failBufferedWrites(with: ChannelError.ioOnClosedChannel)
                context.close(promise: nil)
                return
            default:
                fail(context: context, error: .fromQueue(.io, "TLS session failed"))
                return
            }
        }
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking, .active:
            bufferedWrites.append(BufferedWrite(data: buffer, promise: promise))
        case .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            break  // Held-back writes are flushed when the handshake completes.
        case .active:
            if let connection { encryptBufferedWrites(context: context, connection: connection) }
            context.flush()
        case .closed:
            context.flush()
        }
    }

    /// Encrypts everything written since the last flush: one write as it is, several joined
    /// first so they share records. Their promises complete with the ciphertext's write.
    private func encryptBufferedWrites(context: ChannelHandlerContext, connection: SSLConnection) {
        guard state == .active, let first = bufferedWrites.popFirst() else { return }
        if bufferedWrites.isEmpty {
            encrypt(context: context, connection: connection, data: first.data, promise: first.promise)
            return
        }
        var joined = coalescingBuffer ?? context.channel.allocator.buffer(capacity: Self.readChunkSize)
        coalescingBuffer = nil
        joined.clear()
        var promises: [EventLoopPromise<Void>] = []
        var write: BufferedWrite? = first
        while var current = write {
            joined.writeBuffer(&current.data)
            if let promise = current.promise { promises.append(promise) }
            write = bufferedWrites.popFirst()
        }
        var combined: EventLoopPromise<Void>?
        if !promises.isEmpty {
            let promise = context.eventLoop.makePromise(of: Void.self)
            let waiters = promises
            promise.futureResult.whenComplete { result in
                for waiting in waiters { waiting.completeWith(result) }
            }
            combined = promise
        }
        encrypt(context: context, connection: connection, data: joined, promise: combined)
        coalescingBuffer = joined
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode != .input {
            if state == .active, let connection {
                sendCloseNotify(context: context, connection: connection)
            }
            state = .closed
            failBufferedWrites(with: ChannelError.ioOnClosedChannel)
        }
        context.close(mode: mode, promise: promise)
    }

    private func encrypt(context: ChannelHandlerContext, connection: SSLConnection, data: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard data.readableBytes > 0 else {
            // OpenSSL refuses empty writes; keep the promise in order with the others.
            context.write(wrapOutboundOut(data), promise: promise)
            return
        }
        let result = data.withUnsafeReadableBytes { bytes in
            var written = 0
            OpenSSLErrorQueue.clear()
            return SSL_write_ex(connection.ssl, bytes.baseAddress, bytes.count, &written)
        }
        guard result == 1 else {
            let error = TLSError.fromQueue(.io, "TLS write failed")
            promise?.fail(error)
            fail(context: context, error: error)
            return
        }
        sendCiphertext(context: context, connection: connection, promise: promise)
    }

    private func sendCloseNotify(context: ChannelHandlerContext, connection: SSLConnection) {
        // Unflushed data goes before the close_notify, as it would have on a flush.
        encryptBufferedWrites(context: context, connection: connection)
        // Best effort: one call queues our close_notify; the peer's answer is not awaited.
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(connection.ssl)
        OpenSSLErrorQueue.clear()
        sendCiphertext(context: context, connection: connection, promise: nil)
        context.flush()
    }

    /// Writes whatever ciphertext OpenSSL has produced, completing `promise` with that write.
    private func sendCiphertext(context: ChannelHandlerContext, connection: SSLConnection, promise: EventLoopPromise<Void>?) {
        let pending = connection.pendingOutputCount
        guard pending > 0 else {
            promise?.succeed(())
            return
        }
        var buffer = ciphertextBuffer ?? context.channel.allocator.buffer(capacity: pending)
        ciphertextBuffer = nil
        buffer.clear()
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { pointer in
            connection.takeOutput(into: UnsafeMutableRawBufferPointer(rebasing: pointer[..<pending]))
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
        if buffer.capacity <= Self.maxRetainedCiphertext { ciphertextBuffer = buffer }
    }

    // MARK: Failure

    private func fail(context: ChannelHandlerContext, error: TLSError) {
        guard state != .closed else { return }
        state = .closed
        // Delivers the alert OpenSSL queued, so the peer learns why.
        if let connection {
            sendCiphertext(context: context, connection: connection, promise: nil)
            context.flush()
        }
        failBufferedWrites(with: error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func failBufferedWrites(with error: any Error) {
        while let write = bufferedWrites.popFirst() {
            write.promise?.fail(error)
        }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
