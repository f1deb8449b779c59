@testable import MovRRPCTransport
import NIOCore
import Testing

/// The RPC client's hand-over of one exchange's outcome (`ReplyWaiter`): whichever comes first —
/// the reply, a failure from the connection, the caller's cancellation — is what the caller gets,
/// whether it came before or after the caller started waiting; later completions change nothing.
@Suite struct ReplyWaiterTests {
    static func reply(_ status: Int) -> ClientReply {
        ClientReply(status: status, body: ByteBuffer(string: "{}"), reusable: true)
    }

    @Test func aReplyThatArrivesBeforeTheCallerWaitsIsKept() async throws {
        let waiter = ReplyWaiter()
        waiter.succeed(Self.reply(200))
        waiter.fail(ClientTransportError.connectionClosed)  // the close after it: ignored
        #expect(try await waiter.wait().status == 200)
    }

    @Test func aReplyThatArrivesWhileTheCallerWaitsResumesIt() async throws {
        let waiter = ReplyWaiter()
        async let status = waiter.wait().status
        while !waiter.isAwaited { await Task.yield() }
        waiter.succeed(Self.reply(204))
        waiter.succeed(Self.reply(500))  // a second completion: ignored
        #expect(try await status == 204)
    }

    @Test func aFailureEndsTheWaitAndALateReplyIsIgnored() async {
        let waiter = ReplyWaiter()
        let waiting = Task { try await waiter.wait() }
        while !waiter.isAwaited { await Task.yield() }
        waiter.fail(ClientTransportError.timedOut)
        waiter.succeed(Self.reply(200))
        await #expect(throws: ClientTransportError.timedOut) { try await waiting.value }
    }

    /// The client's cancellation handler fails the waiter; a task cancelled before it waits runs
    /// the handler first, so the wait must still end (with the cancellation).
    @Test func aCallerCancelledBeforeItWaitsIsNotLeftWaiting() async {
        let waiter = ReplyWaiter()
        let task = Task {
            while !Task.isCancelled { await Task.yield() }
            // Already cancelled: the handler runs before the body, the body then waits.
            return try await withTaskCancellationHandler {
                try await waiter.wait()
            } onCancel: {
                waiter.fail(CancellationError())
            }
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }

        let second = ReplyWaiter()
        let waiting = Task {
            try await withTaskCancellationHandler {
                try await second.wait()
            } onCancel: {
                second.fail(CancellationError())
            }
        }
        while !second.isAwaited { await Task.yield() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        second.succeed(Self.reply(200))  // the connection's late reply: ignored
    }
}
