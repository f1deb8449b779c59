import MovRAPI
import MovRRPC
import NIOCore

/// Every public method's params type behind the real dispatcher, fed arbitrary request bodies:
/// the reply is always one valid JSON document (or none, for notifications), never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDispatcher(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let body = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: count))
    let box = ReplyBox()
    let done = DispatchSemaphoreLite()
    Task {
        box.reply = await FuzzTarget.dispatcher.handle(body: body, context: RPCContext(requestID: "fuzz"))
        done.signal()
    }
    done.wait()
    if let reply = box.reply {
        guard (try? JSONValue.parse(reply.readableBytesView)) != nil else {
            fatalError("the dispatcher answered with invalid JSON")
        }
    }
    return 0
}

enum FuzzTarget {
    static let dispatcher: RPCDispatcher = {
        var dispatcher = RPCDispatcher()
        for method in PublicMethod.allCases {
            register(method.paramsType, as: method.rawValue, in: &dispatcher)
        }
        return dispatcher
    }()

    static func register<P: APIParams>(_ type: P.Type, as name: String, in dispatcher: inout RPCDispatcher) {
        dispatcher.register(name, params: P.self) { params, _ in
            do throws(APIValidationError) {
                try params.validate()
            } catch {
                throw RPCError.invalidParams(field: error.field, message: error.message)
            }
            return params
        }
    }
}

/// The reply, handed from the task to the fuzzing thread (ordered by the semaphore).
final class ReplyBox: @unchecked Sendable {
    var reply: ByteBuffer?
}
