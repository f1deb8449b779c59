import FuzzSupport
import MovRRPC
import NIOCore

/// Every public and every internal method's params type behind the real dispatcher, fed
/// arbitrary request bodies: the reply is always one valid JSON document (or none, for
/// notifications), never a crash. Each input goes to both dispatchers (their method names overlap).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDispatcher(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let body = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: count))
    for dispatcher in [FuzzDispatchers.publicAPI, FuzzDispatchers.internalAPI] {
        let box = ReplyBox()
        let done = DispatchSemaphoreLite()
        Task {
            box.reply = await dispatcher.handle(body: body, context: RPCContext(requestID: "fuzz"))
            done.signal()
        }
        done.wait()
        if let reply = box.reply {
            guard (try? JSONValue.parse(reply.readableBytesView)) != nil else {
                fatalError("the dispatcher answered with invalid JSON")
            }
        }
    }
    return 0
}

/// The reply, handed from the task to the fuzzing thread (ordered by the semaphore).
final class ReplyBox: @unchecked Sendable {
    var reply: ByteBuffer?
}
