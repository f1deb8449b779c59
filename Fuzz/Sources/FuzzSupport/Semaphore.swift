import Foundation

/// A blocking wait for one signal: libFuzzer calls the target synchronously, the dispatcher is
/// async. The fuzzing thread is not one of Swift's cooperative threads, so blocking it is safe.
public final class DispatchSemaphoreLite: @unchecked Sendable {
    private let condition = NSCondition()
    private var signalled = false

    public init() {}

    public func signal() {
        condition.lock()
        signalled = true
        condition.signal()
        condition.unlock()
    }

    public func wait() {
        condition.lock()
        while !signalled { condition.wait() }
        condition.unlock()
    }
}
